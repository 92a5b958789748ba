import Histogram

/// HdrHistogram's portable encodings, so latency histograms leave a run
/// without loss and are read back exactly (`latency.hlog`, `lockstorm merge`).
///
/// `encode` writes the compressed V2 form that HdrHistogram's own libraries
/// (Java, C, Go, Rust, Python) decode: a 40-byte header (cookie, payload
/// length, normalizing offset, significant digits, lowest and highest
/// trackable value, conversion ratio) and the counts array as ZigZag
/// LEB128 numbers, a negative one standing for that many zero counts; then
/// wrapped in zlib behind its own cookie and length.
public enum HistogramEncoding {
    static let cookie: UInt32 = 0x1C84_9303 | 0x10
    static let compressedCookie: UInt32 = 0x1C84_9304 | 0x10

    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var message: String
        init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// The layout constants HdrHistogram derives from a histogram's settings
    /// (the same arithmetic as every implementation), to map counts-array
    /// indices to values and back.
    struct Layout {
        let unitMagnitude: Int
        let subBucketHalfCountMagnitude: Int
        let subBucketHalfCount: Int
        let subBucketMask: UInt64
        let leadingZeroCountBase: Int

        init(lowest: UInt64, digits: Int) {
            let largest = 2 * Int64(Self.pow10(digits))
            unitMagnitude = 63 - lowest.leadingZeroBitCount
            var magnitude = 0
            while (Int64(1) << magnitude) < largest { magnitude += 1 }
            subBucketHalfCountMagnitude = max(magnitude, 1) - 1
            subBucketHalfCount = 1 << subBucketHalfCountMagnitude
            subBucketMask = UInt64((1 << magnitude) - 1) << UInt64(unitMagnitude)
            leadingZeroCountBase = 64 - unitMagnitude - magnitude
        }

        private static func pow10(_ digits: Int) -> Int { (0..<digits).reduce(1) { value, _ in value * 10 } }

        func index(of value: UInt64) -> Int {
            let bucket = leadingZeroCountBase - (value | subBucketMask).leadingZeroBitCount
            let subBucket = Int(value >> UInt64(bucket + unitMagnitude))
            return ((bucket + 1) << subBucketHalfCountMagnitude) + (subBucket - subBucketHalfCount)
        }

        func value(at index: Int) -> UInt64 {
            var bucket = (index >> subBucketHalfCountMagnitude) - 1
            var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
            if bucket < 0 {
                subBucket -= subBucketHalfCount
                bucket = 0
            }
            return UInt64(subBucket) << UInt64(bucket + unitMagnitude)
        }
    }

    /// The compressed V2 encoding of `histogram`.
    public static func encode(_ histogram: Histogram<UInt64>) -> [UInt8] {
        let digits = Int(histogram.numberOfSignificantValueDigits.rawValue)
        let layout = Layout(lowest: histogram.lowestDiscernibleValue, digits: digits)
        var counts: [(index: Int, count: UInt64)] = []
        for bucket in histogram.recordedValues() { counts.append((layout.index(of: bucket.value), bucket.count)) }
        var payload: [UInt8] = []
        var next = 0
        for (index, count) in counts {
            let zeros = index - next
            if zeros == 1 { putZigZag(&payload, 0) } else if zeros > 1 { putZigZag(&payload, -Int64(zeros)) }
            putZigZag(&payload, Int64(count))
            next = index + 1
        }
        var plain: [UInt8] = []
        put32(&plain, cookie)
        put32(&plain, UInt32(payload.count))
        put32(&plain, 0)
        put32(&plain, UInt32(digits))
        put64(&plain, histogram.lowestDiscernibleValue)
        put64(&plain, histogram.highestTrackableValue)
        put64(&plain, (1.0).bitPattern)
        plain += payload
        let compressed = Zlib.wrap(plain)
        var out: [UInt8] = []
        put32(&out, compressedCookie)
        put32(&out, UInt32(compressed.count))
        return out + compressed
    }

    /// Decodes the compressed (or plain) V2 encoding into a histogram with
    /// the settings it was encoded with.
    public static func decode(_ bytes: [UInt8]) throws(Error) -> Histogram<UInt64> {
        guard bytes.count >= 8 else { throw Error("a histogram encoding of \(bytes.count) bytes is too short") }
        var plain = bytes
        if read32(bytes, 0) == compressedCookie {
            let length = Int(read32(bytes, 4))
            guard 8 + length <= bytes.count else { throw Error("the compressed histogram is cut short (\(bytes.count - 8) of \(length) bytes)") }
            do {
                plain = try Zlib.unwrap(Array(bytes[8..<(8 + length)]))
            } catch {
                throw Error("the compressed histogram cannot be inflated: \(error)")
            }
        }
        guard plain.count >= 40 else { throw Error("a histogram encoding of \(plain.count) bytes is too short") }
        let found = read32(plain, 0)
        guard found == cookie else { throw Error("not an HdrHistogram V2 encoding (cookie 0x\(String(found, radix: 16)))") }
        let payloadLength = Int(read32(plain, 4))
        guard read32(plain, 8) == 0 else { throw Error("a normalizing index offset is not supported") }
        let digits = Int(read32(plain, 12))
        let lowest = read64(plain, 16)
        let highest = read64(plain, 24)
        guard let significant = SignificantDigits(rawValue: Int8(truncatingIfNeeded: digits)), digits <= 5, lowest >= 1, highest >= 2 * lowest else {
            throw Error("unusable histogram settings: \(digits) significant digits, values \(lowest) to \(highest)")
        }
        guard 40 + payloadLength <= plain.count else { throw Error("the histogram payload is cut short") }
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: lowest, highestTrackableValue: highest, numberOfSignificantValueDigits: significant)
        let layout = Layout(lowest: lowest, digits: digits)
        var position = 40
        let end = 40 + payloadLength
        var index = 0
        while position < end {
            let number = try getZigZag(plain, &position, end: end)
            if number < 0 {
                index += Int(-number)
            } else {
                if number > 0 {
                    let value = layout.value(at: index)
                    guard value <= highest, histogram.record(value, count: UInt64(number)) else {
                        throw Error("a count at \(value) lies beyond the histogram's highest trackable value \(highest)")
                    }
                }
                index += 1
            }
        }
        return histogram
    }

    private static func putZigZag(_ out: inout [UInt8], _ value: Int64) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        // LEB128-64b9B: at most 9 bytes, the ninth carrying 8 bits.
        for _ in 0..<8 {
            if zigzag < 0x80 {
                out.append(UInt8(zigzag))
                return
            }
            out.append(UInt8(zigzag & 0x7F) | 0x80)
            zigzag >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: zigzag))
    }

    private static func getZigZag(_ bytes: [UInt8], _ position: inout Int, end: Int) throws(Error) -> Int64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for byteIndex in 0..<9 {
            guard position < end else { throw Error("the histogram payload ends inside a number") }
            let byte = bytes[position]
            position += 1
            if byteIndex == 8 {
                value |= UInt64(byte) << 56
                break
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    private static func put32(_ out: inout [UInt8], _ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    private static func put64(_ out: inout [UInt8], _ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }

    private static func read32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[at + $1]) }
    }

    private static func read64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[at + $1]) }
    }
}

/// `latency.hlog`: HdrHistogram's interval log (format 1.3), readable by
/// its `HistogramLogProcessor` and the other languages' log readers.
///
/// Values are microseconds. Untagged lines are the run's time series: one
/// histogram per interval (all transaction types), timestamps in seconds
/// after `StartTime`, the measurement start. Tagged lines hold the whole
/// window: `Tag=tx:NAME` one per transaction type (3 significant digits,
/// the summary's histograms), `Tag=schedule-lag` the `-R` start lag.
/// `Interval_Max` is in milliseconds.
public struct HistogramLog: Sendable {
    public struct Entry: Sendable {
        public var tag: String?
        public var startSeconds: Double
        public var lengthSeconds: Double
        public var histogram: Histogram<UInt64>

        public init(tag: String?, startSeconds: Double, lengthSeconds: Double, histogram: Histogram<UInt64>) {
            self.tag = tag
            self.startSeconds = startSeconds
            self.lengthSeconds = lengthSeconds
            self.histogram = histogram
        }
    }

    /// Seconds since 1970 of the measurement start.
    public var startTime: Double
    public var entries: [Entry]

    public init(startTime: Double, entries: [Entry] = []) {
        self.startTime = startTime
        self.entries = entries
    }

    public static let transactionTagPrefix = "tx:"
    public static let scheduleLagTag = "schedule-lag"

    /// `tx:NAME` with `,`, whitespace and `%` percent-escaped (a tag ends at the first comma).
    public static func transactionTag(_ name: String) -> String {
        var escaped = transactionTagPrefix
        for scalar in name.unicodeScalars {
            if scalar == "%" || scalar == "," || scalar.properties.isWhitespace {
                escaped += "%" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16, uppercase: true)
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// The untagged (time-series) entries.
    public var intervals: [Entry] { entries.filter { $0.tag == nil } }

    public func entry(tag: String) -> Entry? { entries.first { $0.tag == tag } }

    public func text() -> String {
        var lines = [
            "#[Histogram log format version 1.3]",
            "#[StartTime: \(Format.fixed(startTime, digits: 3)) (seconds since epoch)]",
            "#[BaseTime: \(Format.fixed(startTime, digits: 3)) (seconds since epoch)]",
            "#[lockstorm: values in microseconds; untagged lines are the time series, Tag=tx:NAME lines each transaction type's whole window]",
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"",
        ]
        for entry in entries {
            let max = entry.histogram.totalCount == 0 ? 0 : Double(entry.histogram.max) / 1_000
            let fields = [Format.fixed(entry.startSeconds, digits: 3), Format.fixed(entry.lengthSeconds, digits: 3), Format.fixed(max, digits: 3), Base64.encode(HistogramEncoding.encode(entry.histogram))]
            lines.append((entry.tag.map { "Tag=\($0)," } ?? "") + fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads a log; a problem names the line.
    public static func parse(_ text: String) throws(HistogramEncoding.Error) -> HistogramLog {
        var log = HistogramLog(startTime: 0)
        var baseTime: Double?
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            if line.isEmpty || line.hasPrefix("\"StartTimestamp\"") { continue }
            if line.hasPrefix("#[StartTime: ") {
                log.startTime = Double(line.dropFirst("#[StartTime: ".count).prefix { $0 != " " && $0 != "]" }) ?? 0
                continue
            }
            if line.hasPrefix("#[BaseTime: ") {
                baseTime = Double(line.dropFirst("#[BaseTime: ".count).prefix { $0 != " " && $0 != "]" })
                continue
            }
            if line.hasPrefix("#") { continue }
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            var tag: String?
            if let first = fields.first, first.hasPrefix("Tag=") {
                tag = String(first.dropFirst(4))
                fields.removeFirst()
            }
            guard fields.count == 4, let start = Double(fields[0]), let length = Double(fields[1]) else {
                throw HistogramEncoding.Error("line \(number + 1): expected [Tag=…,]start,length,max,histogram")
            }
            guard let bytes = Base64.decode(fields[3]) else { throw HistogramEncoding.Error("line \(number + 1): the histogram is not base64") }
            let histogram: Histogram<UInt64>
            do {
                histogram = try HistogramEncoding.decode(bytes)
            } catch {
                throw HistogramEncoding.Error("line \(number + 1): \(error.message)")
            }
            log.entries.append(Entry(tag: tag, startSeconds: start, lengthSeconds: length, histogram: histogram))
        }
        // Timestamps are relative to BaseTime when there is one; without it,
        // as HdrHistogram's readers guess, values above a year are absolute
        // and smaller ones relative to StartTime.
        let yearSeconds = 365.25 * 24 * 3600
        let firstStart = log.entries.first?.startSeconds ?? 0
        let base = baseTime ?? (firstStart > yearSeconds ? 0 : log.startTime)
        if log.startTime == 0 { log.startTime = base + (log.entries.map(\.startSeconds).min() ?? 0) }
        for index in log.entries.indices { log.entries[index].startSeconds += base - log.startTime }
        return log
    }
}

/// Base64 (RFC 4648, with padding) without Foundation: LockstormCore does no I/O and needs no more.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = Int(bytes[index]), b1 = index + 1 < bytes.count ? Int(bytes[index + 1]) : 0, b2 = index + 2 < bytes.count ? Int(bytes[index + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[(b0 & 3) << 4 | b1 >> 4])
            out.append(index + 1 < bytes.count ? alphabet[(b1 & 15) << 2 | b2 >> 6] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[b2 & 63] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="), UInt8(ascii: " "): continue
            default: return nil
            }
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index + 1 < values.count {
            out.append(values[index] << 2 | values[index + 1] >> 4)
            if index + 2 < values.count { out.append((values[index + 1] & 15) << 4 | values[index + 2] >> 2) }
            if index + 3 < values.count { out.append((values[index + 2] & 3) << 6 | values[index + 3]) }
            index += 4
        }
        return out
    }
}

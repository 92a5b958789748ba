/// The zlib stream format (RFC 1950 around RFC 1951's DEFLATE), in Swift, for
/// HdrHistogram's compressed encoding: no library beyond the toolchain.
///
/// `wrap` writes stored (uncompressed) DEFLATE blocks, which every inflater
/// reads; the histogram encoding inside is already compact (runs of zeros
/// are one number). `unwrap` reads any zlib stream: stored, fixed and
/// dynamic Huffman blocks, so files compressed by HdrHistogram's Java, C or
/// Go tools read too.
public enum Zlib {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var message: String
        init(_ message: String) { self.message = message }
        public var description: String { "zlib: \(message)" }
    }

    /// `bytes` as a zlib stream of stored blocks.
    public static func wrap(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, bytes.count - offset)
            let final = offset + length == bytes.count
            out.append(final ? 1 : 0)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += bytes[offset..<(offset + length)]
            offset += length
        } while offset < bytes.count
        let checksum = adler32(bytes)
        out += [UInt8(checksum >> 24), UInt8((checksum >> 16) & 0xFF), UInt8((checksum >> 8) & 0xFF), UInt8(checksum & 0xFF)]
        return out
    }

    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }

    /// The bytes a zlib stream holds; the checksum is verified.
    public static func unwrap(_ stream: [UInt8]) throws(Error) -> [UInt8] {
        guard stream.count >= 6 else { throw Error("stream of \(stream.count) bytes is too short") }
        guard stream[0] & 0x0F == 8, (UInt16(stream[0]) << 8 | UInt16(stream[1])) % 31 == 0 else { throw Error("not a zlib stream (header \(stream[0]), \(stream[1]))") }
        guard stream[1] & 0x20 == 0 else { throw Error("preset dictionaries are not supported") }
        var inflater = Inflater(input: stream, position: 2)
        let out = try inflater.run()
        // Fewer than 8 bits are ever left over, all of the last byte read:
        // the checksum starts at the next byte.
        let start = inflater.position
        guard start + 4 <= stream.count else { throw Error("the checksum is missing") }
        let stored = UInt32(stream[start]) << 24 | UInt32(stream[start + 1]) << 16 | UInt32(stream[start + 2]) << 8 | UInt32(stream[start + 3])
        guard stored == adler32(out) else { throw Error("checksum mismatch: the data is damaged") }
        return out
    }

    /// A DEFLATE decoder after zlib's `puff.c`: canonical Huffman codes
    /// decoded bit by bit (small inputs; speed is not the point).
    struct Inflater {
        let input: [UInt8]
        var position: Int
        var bitBuffer: UInt32 = 0
        var bitCount = 0
        var out: [UInt8] = []

        init(input: [UInt8], position: Int) {
            self.input = input
            self.position = position
        }

        struct Huffman {
            var counts = [Int](repeating: 0, count: 16)
            var symbols: [Int]

            init(lengths: [Int]) {
                symbols = Array(repeating: 0, count: lengths.count)
                for length in lengths { counts[length] += 1 }
                var offsets = [Int](repeating: 0, count: 16)
                for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
                for (symbol, length) in lengths.enumerated() where length != 0 {
                    symbols[offsets[length]] = symbol
                    offsets[length] += 1
                }
                counts[0] = 0
            }
        }

        mutating func bits(_ need: Int) throws(Error) -> Int {
            var value = bitBuffer
            while bitCount < need {
                guard position < input.count else { throw Error("the stream ends early") }
                value |= UInt32(input[position]) << UInt32(bitCount)
                position += 1
                bitCount += 8
            }
            bitBuffer = need == 32 ? 0 : value >> UInt32(need)
            bitCount -= need
            return Int(value & ((1 << UInt32(need)) - 1))
        }

        mutating func decode(_ huffman: Huffman) throws(Error) -> Int {
            var code = 0, first = 0, index = 0
            for length in 1...15 {
                code |= try bits(1)
                let count = huffman.counts[length]
                if code - count < first { return huffman.symbols[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw Error("an invalid Huffman code")
        }

        static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
        static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
        static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
        static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

        mutating func run() throws(Error) -> [UInt8] {
            var last = 0
            repeat {
                last = try bits(1)
                switch try bits(2) {
                case 0: try stored()
                case 1:
                    var lengths = [Int](repeating: 8, count: 288)
                    for symbol in 144..<256 { lengths[symbol] = 9 }
                    for symbol in 256..<280 { lengths[symbol] = 7 }
                    try codes(Huffman(lengths: lengths), Huffman(lengths: [Int](repeating: 5, count: 30)))
                case 2: try dynamic()
                default: throw Error("an invalid block type")
                }
            } while last == 0
            return out
        }

        mutating func stored() throws(Error) {
            bitBuffer = 0
            bitCount = 0
            guard position + 4 <= input.count else { throw Error("the stream ends early") }
            let length = Int(input[position]) | Int(input[position + 1]) << 8
            let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
            guard length == ~complement & 0xFFFF else { throw Error("a stored block's length does not match its complement") }
            position += 4
            guard position + length <= input.count else { throw Error("the stream ends early") }
            out += input[position..<(position + length)]
            position += length
        }

        mutating func codes(_ lengthCodes: Huffman, _ distanceCodes: Huffman) throws(Error) {
            while true {
                let symbol = try decode(lengthCodes)
                if symbol < 256 {
                    out.append(UInt8(symbol))
                } else if symbol == 256 {
                    return
                } else {
                    let index = symbol - 257
                    guard index < 29 else { throw Error("an invalid length code") }
                    let length = Self.lengthBase[index] + (try bits(Self.lengthExtra[index]))
                    let distanceSymbol = try decode(distanceCodes)
                    guard distanceSymbol < 30 else { throw Error("an invalid distance code") }
                    let distance = Self.distanceBase[distanceSymbol] + (try bits(Self.distanceExtra[distanceSymbol]))
                    guard distance <= out.count else { throw Error("a distance reaches before the start") }
                    for _ in 0..<length { out.append(out[out.count - distance]) }
                }
            }
        }

        mutating func dynamic() throws(Error) {
            let literalCount = try bits(5) + 257
            let distanceCount = try bits(5) + 1
            let codeCount = try bits(4) + 4
            guard literalCount <= 286, distanceCount <= 30 else { throw Error("too many codes") }
            let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
            var codeLengths = [Int](repeating: 0, count: 19)
            for index in 0..<codeCount { codeLengths[order[index]] = try bits(3) }
            let lengthCode = Huffman(lengths: codeLengths)
            var lengths: [Int] = []
            while lengths.count < literalCount + distanceCount {
                let symbol = try decode(lengthCode)
                if symbol < 16 {
                    lengths.append(symbol)
                } else {
                    var repeated = 0, times = 0
                    switch symbol {
                    case 16:
                        guard let previous = lengths.last else { throw Error("a repeat with no previous length") }
                        repeated = previous
                        times = 3 + (try bits(2))
                    case 17: times = 3 + (try bits(3))
                    default: times = 11 + (try bits(7))
                    }
                    guard lengths.count + times <= literalCount + distanceCount else { throw Error("too many lengths") }
                    lengths += Array(repeating: repeated, count: times)
                }
            }
            try codes(Huffman(lengths: Array(lengths[0..<literalCount])), Huffman(lengths: Array(lengths[literalCount...])))
        }
    }
}

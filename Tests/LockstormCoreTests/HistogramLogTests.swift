import Histogram
import Testing
@testable import LockstormCore

/// `latency.hlog` must carry histograms without loss: what `merge` reads back
/// is exactly what the shards recorded, and the union is exact.
@Suite struct HistogramLogTests {
    /// splitmix64, so the samples are the same on every run.
    typealias Seeded = HistogramStatisticsTests.Seeded

    static func latencyHistogram() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: TransactionStats.highestTrackableMicroseconds, numberOfSignificantValueDigits: .three)
    }

    /// Latency-like samples: mostly small, a long tail up to minutes.
    static func samples(seed: UInt64, count: Int) -> [UInt64] {
        var random = Seeded(state: seed)
        return (0..<count).map { _ in
            let magnitude = random.next() % 28
            return max(1, random.next() % (UInt64(1) << magnitude))
        }
    }

    @Test("a histogram survives the compressed V2 encoding exactly, at 2 and 3 significant digits")
    func roundTrip() throws {
        for digits in [SignificantDigits.two, .three] {
            var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: TransactionStats.highestTrackableMicroseconds, numberOfSignificantValueDigits: digits)
            for value in Self.samples(seed: 42, count: 20_000) { histogram.record(value) }
            histogram.record(TransactionStats.highestTrackableMicroseconds)
            let bytes = HistogramEncoding.encode(histogram)
            // The compressed V2 cookie: base64 "HISTF…", as HdrHistogram's own logs begin.
            #expect(Base64.encode(bytes).hasPrefix("HISTF"))
            let decoded = try HistogramEncoding.decode(bytes)
            #expect(decoded == histogram)
            #expect(decoded.totalCount == 20_001)
            #expect(decoded.valueAtPercentile(99.9) == histogram.valueAtPercentile(99.9))
            #expect(decoded.highestTrackableValue == histogram.highestTrackableValue)
        }
    }

    @Test("a histogram encoded by HdrHistogram's Python implementation (hdrh, zlib-compressed) decodes to the same figures")
    func decodesReferenceEncoding() throws {
        // hdrh 0.10: HdrHistogram(1, 3_600_000_000, 3), values (i * 7919) % 250000 + 1
        // for i in 1...5000, then 3_000_000; its encode(); and its own figures.
        let text = "HISTFAAAAXd4nM1TUU7DMAxtXK8w9WNC04SQ+EXAB9ovf5wBcQDEXZA4wK6AxMeOwR04B0cgabOlTtzWSbay1Ynj1xf7Oemu3zfLoljcFe2vtF6Z6WfzWTz9tsBWwRV8RU/fMeQPBTU86/Fm/YvAvw6+P4NbmNlRwr0ea+t9nIvXQp4ZD0LeLnarG1BwoccStO2WBFrxMLNpNZrLLi9HU51QfQ5fgL5cZ/PGPISEWPvAnL724jDdsQswJQ9ZoP73/CFCE86wdA+Yi98bBzhm2bORje2TWAx7i52Syv5iCthMWSqHqh3oTMg+/5CyZQ5WS9wXXGWHyCcaq4YK9dSawjZq/D6ScAi3sarDoTvpi3xOKNgRJIIjmhII9um8YEnKaMFVSlOBmHTBR2kq4NBC2qb5ynhOICZe8LRN0cPWf9MK8RzROLu0oQTpuE4SCWKWaYhFE5BJmgrPU4JkNcUIliC0+V4kuymvtARJVxDfVOQhpn+4iU3B9hH+AAdqWes="
        let histogram = try HistogramEncoding.decode(try #require(Base64.decode(text)))
        #expect(histogram.totalCount == 5_001)
        #expect(histogram.valueAtPercentile(50) == 124_799)
        #expect(histogram.valueAtPercentile(99) == 247_679)
        #expect(histogram.max == 3_000_319)
        #expect(histogram.min == 86)
        // And the same samples recorded here encode to what decodes identically.
        var own = Self.latencyHistogram()
        for i in 1...5_000 { own.record(UInt64((i * 7_919) % 250_000 + 1)) }
        own.record(3_000_000)
        #expect(histogram == own)
    }

    @Test("an empty histogram round-trips")
    func empty() throws {
        let decoded = try HistogramEncoding.decode(HistogramEncoding.encode(Self.latencyHistogram()))
        #expect(decoded.totalCount == 0)
        #expect(decoded == Self.latencyHistogram())
    }

    @Test("the union of shards' logs read back equals the histogram of all their samples")
    func mergedEqualsAllSamples() throws {
        var all = Self.latencyHistogram()
        var merged = Self.latencyHistogram()
        for shard in 0..<3 {
            var own = Self.latencyHistogram()
            for value in Self.samples(seed: UInt64(shard + 1), count: 5_000) {
                own.record(value)
                all.record(value)
            }
            let log = HistogramLog(startTime: 1_796_000_000.5 + Double(shard), entries: [.init(tag: HistogramLog.transactionTag("pay, now"), startSeconds: 0, lengthSeconds: 10, histogram: own)])
            let read = try HistogramLog.parse(log.text())
            let entry = try #require(read.entry(tag: HistogramLog.transactionTag("pay, now")))
            merged.add(entry.histogram)
        }
        #expect(merged == all)
        #expect(merged.valueAtPercentile(99) == all.valueAtPercentile(99))
    }

    @Test("the log has HdrHistogram's header lines; interval timestamps are relative to StartTime")
    func logFormat() throws {
        var histogram = Self.latencyHistogram()
        histogram.record(1_500)
        let log = HistogramLog(startTime: 1_796_326_318.294, entries: [
            .init(tag: nil, startSeconds: 0, lengthSeconds: 1, histogram: histogram),
            .init(tag: nil, startSeconds: 1, lengthSeconds: 0.5, histogram: histogram),
        ])
        let text = log.text()
        #expect(text.contains("#[StartTime: 1796326318.294 (seconds since epoch)]"))
        #expect(text.contains("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""))
        #expect(text.contains("\n1.000,0.500,1.500,HISTF"))
        let read = try HistogramLog.parse(text)
        #expect(read.intervals.map(\.startSeconds) == [0, 1])
        #expect(read.intervals.map(\.lengthSeconds) == [1, 0.5])
        #expect(read.startTime == 1_796_326_318.294)
    }

    @Test("a damaged histogram is refused with the line named")
    func damaged() {
        let text = "#[StartTime: 10.000 (seconds since epoch)]\n0.000,1.000,1.0,HISTFAAAACB4nJNpmSzMwMDAxAABzFCaEUIzQWgWCM0GoVlB\n"
        #expect(throws: HistogramEncoding.Error.self) { try HistogramLog.parse(text) }
        do {
            _ = try HistogramLog.parse(text)
        } catch {
            #expect(error.message.hasPrefix("line 2:"))
        }
    }

    @Test("zlib streams of other compressors inflate: dynamic and fixed Huffman blocks")
    func inflatesRealZlib() throws {
        // Python's zlib.compress(data, 9): dynamic Huffman codes and back-references.
        let data = (0..<3000).map { UInt8($0 * 7 % 13) } + Array(String(repeating: "lockstorm ", count: 50).utf8)
        let dynamic = try #require(Base64.decode("eNrtx8kJwCAUQEH3vYj0lqPKB7V/bCOQd5tRUSeTbXHVt6AIIYQQQgghX8yQt+8jaz7oL7rfSQ33"))
        #expect(try Zlib.unwrap(dynamic) == data)
        // zlib with strategy Z_FIXED.
        let fixed = try #require(Base64.decode("eAFLTEpOhCGFjNScnHwImUiiOADYYxsB"))
        #expect(try Zlib.unwrap(fixed) == Array(String(repeating: "abcabcabcabc hello hello", count: 3).utf8))
        // And our own stored blocks, across the 64 KB block limit.
        let large = (0..<150_000).map { UInt8($0 % 251) }
        #expect(try Zlib.unwrap(Zlib.wrap(large)) == large)
        var corrupted = Zlib.wrap(large)
        corrupted[1000] ^= 0xFF
        #expect(throws: Zlib.Error.self) { try Zlib.unwrap(corrupted) }
    }
}

/// `--shard K/N`: which clients a shard runs.
@Suite struct ShardTests {
    @Test("shards split the clients disjointly and completely, dedicated ones each on one shard")
    func split() {
        for count in 1...5 {
            let shards = (0..<count).map { Shard(index: $0, count: count) }
            let all = shards.flatMap { $0.clients(of: 13) }.sorted()
            #expect(all == Array(0..<13))
        }
        #expect(Shard(index: 1, count: 3).clients(of: 8) == [1, 4, 7])
    }

    @Test("K/N is parsed, and mistakes say what is allowed")
    func parse() throws {
        #expect(try Shard.parse("2/3").get() == Shard(index: 2, count: 3))
        let messages = ["3/3", "-1/3", "1", "a/b", "0/0"].map { text -> String in
            if case .failure(let error) = Shard.parse(text) { return error.message }
            return "accepted"
        }
        #expect(messages[0].contains("0-based and must be below N (0 to 2)"))
        #expect(messages[1].contains("0-based"))
        #expect(messages[2].contains("is not K/N"))
        #expect(messages[3].contains("is not K/N"))
        #expect(messages[4].contains("number of shards must be 1 to 10000"))
    }
}

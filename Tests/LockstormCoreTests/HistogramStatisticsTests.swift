import Histogram
import Testing
@testable import LockstormCore

/// `HistogramStatistics` answers from one walk what the reports used to ask
/// `Histogram` for walk by walk; every answer must be exactly `Histogram`'s own.
@Suite struct HistogramStatisticsTests {
    /// A small seeded generator (splitmix64) so the histograms are the same on every run.
    struct Seeded {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: UInt64) -> UInt64 { next() % Swift.max(bound, 1) }
        /// Spread over many orders of magnitude, as latencies are.
        mutating func logUniform(upTo limit: UInt64) -> UInt64 {
            let bits = below(UInt64(64 - limit.leadingZeroBitCount) + 1)
            return Swift.min(bits == 0 ? 0 : below(UInt64(1) << (bits - 1)) + (UInt64(1) << (bits - 1)), limit)
        }
    }

    static let percentiles: [Double] = LatencySpectrum.percentiles + [
        1e-12, 0.001, 0.5, 1, 25, 33.333, 49.99, 50.01, 66.6667, 99.0001, 99.999, 99.9999, 100 - 1e-12, 100.5, 150, -1, .nan,
    ]

    /// Named histograms of varied shapes, resolutions and sizes (made once).
    static let cases = histograms()

    static func histograms() -> [(String, Histogram<UInt64>)] {
        var cases: [(String, Histogram<UInt64>)] = []
        func latency(_ digits: SignificantDigits = .three) -> Histogram<UInt64> {
            Histogram(lowestDiscernibleValue: 1, highestTrackableValue: TransactionStats.highestTrackableMicroseconds, numberOfSignificantValueDigits: digits)
        }
        var random = Seeded(state: 42)

        cases.append(("empty", latency()))
        var one = latency()
        _ = one.record(1_234)
        cases.append(("one value", one))
        var same = latency()
        for _ in 0..<1_000 { _ = same.record(777_777) }
        cases.append(("one value many times", same))
        var two = latency()
        _ = two.record(3)
        _ = two.record(3_000_000_000)
        cases.append(("two values far apart", two))
        var edges = latency()
        for shift in 0..<31 {
            let power = UInt64(1) << shift
            for value in [power - 1, power, power + 1] where value > 0 { _ = edges.record(value, count: UInt64(shift + 1)) }
        }
        _ = edges.record(2_047)
        _ = edges.record(2_048)
        _ = edges.record(4_095)
        cases.append(("bucket edges", edges))
        var zeros = latency()
        for _ in 0..<5 { _ = zeros.record(0) }
        for value in [1, 2, 500, 70_000] as [UInt64] { _ = zeros.record(value) }
        cases.append(("with zeros", zeros))
        var onlyZero = latency()
        _ = onlyZero.record(0, count: 3)
        cases.append(("only zeros", onlyZero))

        for (index, size) in [10, 137, 5_000, 40_000].enumerated() {
            var uniform = latency()
            for _ in 0..<size { _ = uniform.record(500 + random.below(20_000)) }
            cases.append(("uniform \(size)", uniform))
            var spread = latency(index % 2 == 0 ? .three : .two)
            for _ in 0..<size { _ = spread.record(random.logUniform(upTo: TransactionStats.highestTrackableMicroseconds)) }
            cases.append(("log-uniform \(size)", spread))
        }
        var tail = latency()
        for _ in 0..<10_000 { _ = tail.record(900 + random.below(300)) }
        for _ in 0..<7 { _ = tail.record(2_000_000 + random.below(1_000_000)) }
        cases.append(("long tail", tail))
        var weighted = latency()
        for _ in 0..<300 { _ = weighted.record(1 + random.below(1_000_000), count: 1 + random.below(10_000)) }
        cases.append(("large counts", weighted))

        // Other layouts: coarse and fine resolution, a unit above 1, a small range.
        for digits in [SignificantDigits.zero, .one, .four, .five] {
            var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: digits)
            for _ in 0..<2_000 { _ = histogram.record(random.logUniform(upTo: 10_000_000)) }
            cases.append(("digits \(digits.rawValue)", histogram))
        }
        var coarseUnit = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
        for _ in 0..<3_000 { _ = coarseUnit.record(random.logUniform(upTo: 3_600_000_000_000)) }
        cases.append(("unit 1000", coarseUnit))
        var small = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 2, numberOfSignificantValueDigits: .one)
        _ = small.record(1, count: 4)
        _ = small.record(2, count: 9)
        cases.append(("tiny range", small))
        // Merged from parts, as the total row is.
        var merged = latency()
        for part in [tail, weighted, one] { merged.add(part) }
        cases.append(("merged", merged))
        return cases
    }

    @Test func agreesExactlyWithTheHistogram() {
        for (name, histogram) in Self.cases {
            let statistics = HistogramStatistics(histogram)
            #expect(statistics.totalCount == histogram.totalCount, "\(name)")
            #expect(statistics.min == histogram.min, "\(name)")
            #expect(statistics.max == histogram.max, "\(name)")
            #expect(statistics.maxRecorded == histogram.maxRecorded, "\(name)")
            // Bit for bit, not within a tolerance.
            #expect(statistics.mean.bitPattern == histogram.mean.bitPattern, "\(name): mean \(statistics.mean) vs \(histogram.mean)")
            for percentile in Self.percentiles {
                #expect(statistics.valueAtPercentile(percentile) == histogram.valueAtPercentile(percentile), "\(name): p\(percentile)")
            }
        }
    }

    @Test func countsAtOrBelowAgreeWithTheHistogram() {
        var random = Seeded(state: 7)
        for (name, histogram) in Self.cases {
            let statistics = HistogramStatistics(histogram)
            var probes: [UInt64] = [0, 1, 2, 3, histogram.min, histogram.max, histogram.maxRecorded, histogram.highestTrackableValue]
            probes += Self.percentiles.map { histogram.valueAtPercentile($0) }
            probes += histogram.recordedValues().map(\.value).prefix(60)
            probes += histogram.recordedValues().map { histogram.lowestEquivalentForValue($0.value) }.prefix(60)
            probes += (0..<40).map { _ in random.logUniform(upTo: histogram.highestTrackableValue) }
            for value in probes {
                #expect(statistics.countAtOrBelow(value) == histogram.count(within: 0...value), "\(name): ≤ \(value)")
                // The form `latency.csv` used.
                #expect(statistics.countAtOrBelow(value) == histogram.count(within: 0...histogram.highestEquivalentForValue(value)), "\(name): ≤ \(value)")
            }
            #expect(statistics.countAtOrBelow(UInt64.max / 2) == histogram.totalCount, "\(name)")
        }
    }

    // MARK: The reports' rows are byte for byte what they were

    /// `SummaryRow.values` as it was computed before, straight from the histogram.
    static func referenceValues(_ row: SummaryRow) -> [String] {
        let latency = row.stats.latency
        let has = latency.totalCount > 0
        func fixed(_ value: Double, _ digits: Int) -> String { Format.fixed(value, digits: digits) }
        func ms(_ percentile: Double) -> String { fixed(has ? Double(latency.valueAtPercentile(percentile)) / 1_000 : 0, 3) }
        let stats = row.stats
        return [
            row.workload, row.variant, row.transaction, String(row.clients), fixed(row.durationSeconds, 3), String(stats.attempts), String(stats.committed),
            String(stats.graceCommitted), String(stats.rolledBack), String(stats.endedEarly),
            String(stats.failed), String(stats.expectedErrors), String(stats.unexpectedErrors), String(stats.retries), String(stats.exhaustedRetries),
            String(stats.count(.deadlock)), String(stats.count(.lockNotAvailable)), String(stats.count(.serializationFailure)),
            String(stats.count(.statementTimeout)), String(stats.count(.connection)), String(stats.count(.other)),
            fixed(row.durationSeconds > 0 ? Double(stats.committed) / row.durationSeconds : 0, 2), fixed(has ? latency.mean / 1_000 : 0, 3),
            ms(50), ms(90), ms(95), ms(99), ms(99.9), fixed(has ? Double(latency.max) / 1_000 : 0, 3), String(row.invariantFailures),
        ]
    }

    /// `LatencySpectrum.rows` as it was computed before, straight from the histogram.
    static func referenceSpectrum(transaction: String, histogram: Histogram<UInt64>) -> [[String]] {
        guard histogram.totalCount > 0 else { return [] }
        return LatencySpectrum.percentiles.map { percentile in
            let micros: UInt64 = switch percentile {
            case 0: histogram.min
            case 100: histogram.max
            default: histogram.valueAtPercentile(percentile)
            }
            let count = histogram.count(within: 0...histogram.highestEquivalentForValue(micros))
            return [transaction, Format.fixed(percentile, digits: 2), Format.fixed(Double(micros) / 1_000, digits: 3), String(count)]
        }
    }

    @Test func summaryRowsAndSpectrumMatchTheDirectComputation() {
        let latencies = Self.cases.filter { $0.1.highestTrackableValue == TransactionStats.highestTrackableMicroseconds && $0.1.lowestDiscernibleValue == 1 && $0.1.numberOfSignificantValueDigits == .three }
        var stats = RunStats(transactionCount: latencies.count)
        for (index, (_, histogram)) in latencies.enumerated() {
            stats.transactions[index].latency.add(histogram)
            stats.transactions[index].committed = Int(histogram.totalCount)
            stats.transactions[index].attempts = Int(histogram.totalCount) + index
            stats.transactions[index].failed = index
        }
        let summary = RunSummary(
            workload: "w", variant: "v", clients: 3, threads: 1, durationSeconds: 2.5, seed: 1,
            transactionNames: latencies.map(\.0), stats: stats, invariants: [], partial: false
        )
        #expect(summary.rows.count == latencies.count + 1)
        for row in summary.rows {
            #expect(row.values == Self.referenceValues(row), "\(row.transaction)")
            #expect(LatencySpectrum.rows(transaction: row.transaction, stats: row.stats) == Self.referenceSpectrum(transaction: row.transaction, histogram: row.stats.latency), "\(row.transaction)")
            #expect(LatencySpectrum.rows(transaction: row.transaction, statistics: row.latency) == Self.referenceSpectrum(transaction: row.transaction, histogram: row.stats.latency), "\(row.transaction)")
        }
    }

    @Test func aRowFollowsChangesToItsFields() {
        var row = SummaryRow(workload: "w", variant: "v", transaction: "t", clients: 1, durationSeconds: 1, stats: TransactionStats(), invariantFailures: 0)
        #expect(row.values[23] == "0.000")
        var stats = TransactionStats()
        stats.recordCommit(latencyNanoseconds: 5_000_000)
        row.stats = stats
        row.transaction = "u"
        row.invariantFailures = 2
        #expect(row.latency.totalCount == 1)
        #expect(row.values == Self.referenceValues(row))
        #expect(row.values[2] == "u" && row.values[23] == "5.000" && row.values[29] == "2")
    }

    @Test func aSummaryFollowsChangesToItsFields() {
        var summary = RunSummary(workload: "w", variant: "v", clients: 1, threads: 1, durationSeconds: 1, seed: 1, transactionNames: ["t"], stats: RunStats(transactionCount: 1), invariants: [], partial: false)
        #expect(summary.rows.last?.stats.committed == 0)
        summary.stats.transactions[0].recordCommit(latencyNanoseconds: 3_000_000)
        summary.invariants = [InvariantResult(name: "i", expected: .int(1), actual: "2")]
        summary.durationSeconds = 4
        #expect(summary.rows.map(\.stats.committed) == [1, 1])
        #expect(summary.rows.map(\.invariantFailures) == [1, 1])
        #expect(summary.rows.allSatisfy { $0.values == Self.referenceValues($0) })
        #expect(summary.rows[0].values[21] == "0.25")
    }
}

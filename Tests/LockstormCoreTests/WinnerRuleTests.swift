import Testing
@testable import LockstormCore

/// The rule that names compare's best values: failures and throughput
/// disqualify, noise and overlapping repeat ranges leave no winner.
@Suite("WinnerRule: compare's best values")
struct WinnerRuleTests {
    /// One run's totals: throughput, p50/p99 and how many of 1,000 attempts failed.
    static func run(tps: Double, p50: Double = 1, p99: Double, failed: Double = 0, deadlocks: Double = 0) -> MetricSample {
        MetricSample(total: MetricRow(columns: [
            "tps": tps, "lat_p50_ms": p50, "lat_p99_ms": p99, "attempts": 1_000, "committed": 1_000 - failed, "failed": failed,
            "deadlocks": deadlocks, "retries": 0,
        ]), transactions: [])
    }

    static func cell(_ variant: String, clients: Int = 64, _ runs: MetricSample...) -> ComparisonCell {
        ComparisonCell(variant: variant, point: [SweepValue(name: "clients", value: String(clients))], runs: runs, invariantsHeld: runs.map { _ in true })
    }

    static func metric(_ name: String) throws -> Metric { try #require(MetricCatalogue.metric(named: name)) }

    /// The 64-client row: NOWAIT's 34 ms p99 came with 99 % failures at
    /// 1/40 of SKIP LOCKED's throughput; FOR UPDATE's low p50 with a 5.2 s p99 and little throughput.
    static let queueAt64 = [
        cell("skip-locked", run(tps: 2_000, p50: 20, p99: 60)),
        cell("nowait", run(tps: 50, p50: 5, p99: 34, failed: 990)),
        cell("blocking", run(tps: 300, p50: 3, p99: 5_242)),
    ]

    @Test("a latency of a cell that failed most attempts or whose throughput collapsed is never best")
    func failuresAndCollapsedThroughputDisqualify() throws {
        let rule = WinnerRule()
        let p99 = try rule.verdicts(Self.queueAt64, metric: Self.metric("p99_ms"))
        #expect(p99.count == 1)
        // NOWAIT (34 ms, 99 % failed) and blocking (tps 15 % of the best) are out: SKIP LOCKED is the one that did the work.
        #expect(p99[0].winner == 0)
        #expect(p99[0].reason == .onlyEligible)
        #expect(Set(p99[0].excluded.map(\.cell)) == [1, 2])
        #expect(p99[0].excluded.first { $0.cell == 1 }?.reason.contains("failed 99.0 %") == true)
        #expect(p99[0].excluded.first { $0.cell == 2 }?.reason.contains("throughput 300.0") == true)
        // The lowest p50 is blocking's, but it collapsed: not bold either.
        #expect(try rule.winners(Self.queueAt64, metric: Self.metric("p50_ms")) == [0])
        // Throughput is compared across every cell.
        #expect(try rule.winners(Self.queueAt64, metric: Self.metric("tps")) == [0])
        // The failure rate too: skip-locked's and blocking's 0 % tie, so nothing is marked.
        #expect(try rule.winners(Self.queueAt64, metric: Self.metric("failed_rate")).isEmpty == true)
        // The one eligible cell's rates are not wins: its 0 retries are no better than the excluded cells' 0.
        let retries = try rule.verdicts(Self.queueAt64, metric: Self.metric("retries_per_1k"))
        #expect(retries.map(\.winner) == [nil])
        #expect(retries.map(\.reason) == [.onlyEligible])
    }

    @Test("without the rule's exclusions the naive minimum would have been NOWAIT's p99")
    func exclusionsChangeTheAnswer() throws {
        var rule = WinnerRule()
        rule.maxFailedRate = 1
        rule.minThroughputShare = 0
        #expect(try rule.winners(Self.queueAt64, metric: Self.metric("p99_ms")) == [1])
    }

    @Test("349.0 vs 346.8 tps in single runs is within noise: nothing is bold")
    func singleRunNoise() throws {
        let cells = [Self.cell("skip-locked", clients: 1, Self.run(tps: 349.0, p99: 4)), Self.cell("blocking", clients: 1, Self.run(tps: 346.8, p99: 4.1))]
        let verdicts = try WinnerRule().verdicts(cells, metric: Self.metric("tps"))
        #expect(verdicts.map(\.winner) == [nil])
        #expect(verdicts.map(\.reason) == [.withinNoise])
        #expect(verdicts.map(\.runnerUp) == [1])
        // A 20 % lead is clear.
        let clear = [Self.cell("a", clients: 1, Self.run(tps: 420, p99: 4)), Self.cell("b", clients: 1, Self.run(tps: 349, p99: 4))]
        #expect(try WinnerRule().winners(clear, metric: Self.metric("tps")) == [0])
    }

    @Test("with repeats a lead inside the runner-up's range is not bold; separated ranges are")
    func repeatRanges() throws {
        let overlapping = [
            Self.cell("a", Self.run(tps: 500, p99: 5), Self.run(tps: 560, p99: 5), Self.run(tps: 610, p99: 5)),
            Self.cell("b", Self.run(tps: 400, p99: 5), Self.run(tps: 450, p99: 5), Self.run(tps: 520, p99: 5)),
        ]
        let verdict = try WinnerRule().verdicts(overlapping, metric: Self.metric("tps"))
        #expect(verdict.map(\.reason) == [.rangesOverlap])
        #expect(verdict.map(\.winner) == [nil])
        let separated = [
            Self.cell("a", Self.run(tps: 530, p99: 5), Self.run(tps: 560, p99: 5), Self.run(tps: 610, p99: 5)),
            Self.cell("b", Self.run(tps: 400, p99: 5), Self.run(tps: 450, p99: 5), Self.run(tps: 520, p99: 5)),
        ]
        #expect(try WinnerRule().winners(separated, metric: Self.metric("tps")) == [0])
        // Lower is better for latency: b's whole range lies under a's.
        let latency = [
            Self.cell("a", Self.run(tps: 500, p99: 12), Self.run(tps: 500, p99: 14)),
            Self.cell("b", Self.run(tps: 500, p99: 8), Self.run(tps: 500, p99: 9)),
        ]
        #expect(try WinnerRule().winners(latency, metric: Self.metric("p99_ms")) == [1])
    }

    @Test("each sweep point has its own verdict; a point with one cell has no winner")
    func perPoint() throws {
        let cells = [
            Self.cell("a", clients: 1, Self.run(tps: 100, p99: 5)), Self.cell("b", clients: 1, Self.run(tps: 200, p99: 5)),
            Self.cell("a", clients: 4, Self.run(tps: 300, p99: 5)),
        ]
        let verdicts = try WinnerRule().verdicts(cells, metric: Self.metric("tps"))
        #expect(verdicts.map(\.point.first?.value) == ["1", "4"])
        #expect(verdicts.map(\.winner) == [1, nil])
        #expect(verdicts.map(\.reason) == [.clear, .alone])
    }

    @Test("rates need an absolute gap too: 0.05 % against none is noise, 2 % against none is not")
    func rateFloor() throws {
        let tiny = [Self.cell("a", Self.run(tps: 500, p99: 5, deadlocks: 0.5)), Self.cell("b", Self.run(tps: 500, p99: 5))]
        #expect(try WinnerRule().winners(tiny, metric: Self.metric("deadlocks_rate")).isEmpty)
        let real = [Self.cell("a", Self.run(tps: 500, p99: 5, deadlocks: 20)), Self.cell("b", Self.run(tps: 500, p99: 5))]
        #expect(try WinnerRule().winners(real, metric: Self.metric("deadlocks_rate")) == [1])
    }
}

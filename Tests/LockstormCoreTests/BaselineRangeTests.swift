import LockstormCore
import Testing

/// A baseline made of several runs: median, range, and gates measured from the range's edge.
@Suite struct BaselineRangeTests {
    static func sample(tps: Double, p99: Double) -> MetricSample {
        MetricSample(total: MetricRow(columns: ["tps": tps, "lat_p99_ms": p99, "committed": 1_000, "attempts": 1_000, "deadlocks": 0]), transactions: [])
    }

    let runs = [sample(tps: 900, p99: 12), sample(tps: 1_000, p99: 10), sample(tps: 1_200, p99: 8)]

    func compare(tps: Double, p99: Double, limits text: String) throws -> [String: BaselineDelta] {
        let limits = try RegressionLimit.parseList(text, transactions: [])
        let deltas = BaselineComparison.compare(baselines: runs, current: Self.sample(tps: tps, p99: p99), limits: limits)
        return Dictionary(uniqueKeysWithValues: deltas.map { ($0.reference.description, $0) })
    }

    @Test("the baseline is the runs' median, with their lowest and highest value")
    func medianAndRange() throws {
        let tps = try #require(try compare(tps: 1_000, p99: 10, limits: "tps=10%")["tps"])
        #expect(tps.baseline == 1_000 && tps.baselineLow == 900 && tps.baselineHigh == 1_200 && tps.baselineRuns == 3)
        #expect(tps.edge == 900)
        let p99 = try #require(try compare(tps: 1_000, p99: 10, limits: "p99_ms=10%")["p99_ms"])
        #expect(p99.edge == 12)
        #expect(BaselineDelta.median([1, 2, 3, 10]) == 2.5)
        #expect(BaselineDelta.median([]) == nil)
    }

    @Test("a value inside the range passes a zero limit; a gate fails only beyond the worse edge by more than the limit")
    func gateFromTheEdge() throws {
        // 905 tx/s is 9.5 % below the median but inside the range: passes even tps=0.
        #expect(try compare(tps: 905, p99: 10, limits: "tps=0")["tps"]?.verdict == .pass)
        // 10 % below the lowest run (900) is 810: 811 passes, 809 fails.
        #expect(try compare(tps: 811, p99: 10, limits: "tps=10%")["tps"]?.verdict == .pass)
        #expect(try compare(tps: 809, p99: 10, limits: "tps=10%")["tps"]?.verdict == .fail)
        // p99 may rise 2 ms above the highest run (12): 13.9 passes, 14.1 fails.
        #expect(try compare(tps: 1_000, p99: 13.9, limits: "p99_ms=2")["p99_ms"]?.verdict == .pass)
        #expect(try compare(tps: 1_000, p99: 14.1, limits: "p99_ms=2")["p99_ms"]?.verdict == .fail)
        // One baseline run: the plain rule (the same numbers against 1000 tx/s alone fail).
        let single = BaselineComparison.compare(baseline: Self.sample(tps: 1_000, p99: 10), current: Self.sample(tps: 905, p99: 10), limits: try RegressionLimit.parseList("tps=5%", transactions: []))
        #expect(single.first { $0.reference.description == "tps" }?.verdict == .fail)
    }

    @Test("the gate's words say where the limit starts")
    func limitWords() throws {
        let deltas = try compare(tps: 1_000, p99: 10, limits: "tps=10%,p99_ms=0")
        #expect(deltas["tps"]?.limitDescription == "at most 10% lower than the baseline's lowest")
        #expect(deltas["p99_ms"]?.limitDescription == "no rise above the baseline's highest")
        let tps = try #require(deltas["tps"])
        let row = try #require(BaselineComparison.rows([tps]).first)
        #expect(Array(row.suffix(3)) == ["900.00", "1200.00", "3"])
    }
}

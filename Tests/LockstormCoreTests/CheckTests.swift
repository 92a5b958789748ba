import Testing
@testable import LockstormCore

@Suite struct CheckTests {
    /// 1,000 attempts: 900 committed, 100 failed (40 deadlocks, 50 lock not
    /// available, 10 serialization failures), 30 retries, 4 s.
    static let total = MetricRow(columns: [
        "attempts": 1_000, "committed": 900, "failed": 100, "retries": 30, "deadlocks": 40, "lock_not_available": 50,
        "serialization_failures": 10, "statement_timeouts": 0, "connection_errors": 0, "other_errors": 0, "tps": 225,
        "lat_mean_ms": 3.5, "lat_p50_ms": 2, "lat_p90_ms": 6, "lat_p95_ms": 8, "lat_p99_ms": 12.5, "lat_p999_ms": 20, "lat_max_ms": 40,
        "invariant_failures": 0,
    ])
    /// A transaction type that never committed.
    static let idle = MetricRow(columns: ["attempts": 5, "committed": 0, "failed": 5, "retries": 0, "deadlocks": 5, "tps": 0, "lat_p99_ms": 0, "invariant_failures": 0])
    static let sample = MetricSample(total: total, transactions: [("transfer", total), ("audit", idle)])
    static let parser = CheckParser(transactions: ["transfer", "audit"])

    func value(_ text: String) throws -> Double? {
        let check = try Self.parser.parse(text)
        return check.evaluate(Self.sample).measurements.first?.value
    }

    @Test("every kind of metric reads the right column or derivation")
    func metricKinds() throws {
        #expect(try value("tps > 0") == 225)
        #expect(try value("committed > 0") == 900)
        #expect(try value("attempts > 0") == 1_000)
        #expect(try value("failed > 0") == 100)
        #expect(try value("retries > 0") == 30)
        #expect(try value("p50_ms > 0") == 2)
        #expect(try value("p90_ms > 0") == 6)
        #expect(try value("p95_ms > 0") == 8)
        #expect(try value("p99_ms > 0") == 12.5)
        #expect(try value("p999_ms > 0") == 20)
        #expect(try value("max_ms > 0") == 40)
        #expect(try value("mean_ms > 0") == 3.5)
        #expect(try value("deadlocks > 0") == 40)
        #expect(try value("lock_not_available > 0") == 50)
        #expect(try value("serialization_failures > 0") == 10)
        #expect(try value("statement_timeouts > 0") == 0)
        #expect(try value("deadlocks_rate > 0") == 0.04)
        #expect(try value("deadlocks_per_1k > 0") == 40)
        #expect(try value("lock_not_available_rate > 0") == 0.05)
        #expect(try value("failed_rate > 0") == 0.1)
        #expect(try value("retries_per_1k > 0") == 30)
        #expect(try value("invariant_failures > 0") == 0)
        #expect(try value("transfer.tps > 0") == 225)
        #expect(try value("audit.deadlocks_rate > 0") == 1)
    }

    @Test("a latency of a transaction that never committed is not measured, and its check fails")
    func unmeasuredLatencyFails() throws {
        let result = try Self.parser.parse("audit.p99_ms < 50").evaluate(Self.sample)
        #expect(result.passed == false)
        #expect(result.measurements.first?.value == nil)
        #expect(result.measured.hasPrefix("audit.p99_ms not measured"))
    }

    @Test("rates are 0 when there were no attempts")
    func noAttempts() {
        let empty = MetricRow(columns: ["attempts": 0, "deadlocks": 0])
        #expect(MetricCatalogue.metric(named: "deadlocks_rate")?.value(in: empty) == 0)
        #expect(MetricCatalogue.metric(named: "deadlocks_per_1k")?.value(in: empty) == 0)
    }

    @Test("every comparison operator, percentages, && binding tighter than ||, parentheses")
    func evaluation() throws {
        func passes(_ text: String) throws -> Bool { try Self.parser.parse(text).evaluate(Self.sample).passed }
        #expect(try passes("deadlocks == 40"))
        #expect(try passes("deadlocks != 41"))
        #expect(try passes("deadlocks < 41") && !(try passes("deadlocks < 40")))
        #expect(try passes("deadlocks <= 40") && !(try passes("deadlocks <= 39")))
        #expect(try passes("deadlocks > 39") && !(try passes("deadlocks > 40")))
        #expect(try passes("deadlocks >= 40") && !(try passes("deadlocks >= 41")))
        #expect(try passes("lock_not_available_rate <= 5%") && !(try passes("lock_not_available_rate < 5%")))
        #expect(try passes("tps >= 1_0e1"))
        #expect(try passes("tps > 1000 || deadlocks == 40 && p99_ms < 13"))
        #expect(!(try passes("(tps > 1000 || deadlocks == 40) && p99_ms < 12")))
        #expect(try passes("tps>=225&&deadlocks==40"))
    }

    @Test("a compound check reports every value it looked at")
    func compoundMeasurements() throws {
        let result = try Self.parser.parse("transfer.p99_ms < 50 && tps >= 500").evaluate(Self.sample)
        #expect(result.passed == false)
        #expect(result.measured == "transfer.p99_ms = 12.500 ms, tps = 225.00 tx/s")
        #expect(result.measurements.map(\.passed) == [true, false])
    }

    /// The message and where the caret points (0-based character offset).
    func failure(_ text: String) -> (String, Int)? {
        do {
            _ = try Self.parser.parse(text)
            return nil
        } catch {
            return (error.message, error.offset)
        }
    }

    @Test("every error has its message and points at the offending character")
    func errors() {
        let cases: [(String, String, Int)] = [
            ("", "empty check; write a comparison such as 'deadlocks == 0'", 0),
            ("   ", "empty check; write a comparison such as 'deadlocks == 0'", 3),
            ("tps >= ", "expected a number after '>=', found the end of the check", 7),
            ("tps 500", "expected a comparison (==, !=, <, <=, >, >=) after 'tps', found '500'", 4),
            ("tps = 500", "'=' is not a comparison; write '==' for equal", 4),
            ("tps ! 500", "'!' is not an operator; write '!=' for not equal", 4),
            ("tps > 5 & deadlocks == 0", "'&' is not an operator; write '&&' for and", 8),
            ("tps > 5 | deadlocks == 0", "'|' is not an operator; write '||' for or", 8),
            ("tsp > 5", "unknown metric 'tsp'; did you mean 'tps'?", 0),
            ("transfer.p99 < 5", "unknown metric 'p99'; did you mean 'p99_ms'?", 9),
            ("trasnfer.p99_ms < 50", "unknown transaction 'trasnfer' in 'trasnfer.p99_ms'; did you mean 'transfer'?", 0),
            ("transfer.invariant_failures == 0", "'invariant_failures' belongs to the whole run, not to one transaction: write 'invariant_failures' alone", 0),
            ("transfer < 5", "unknown metric 'transfer'; 'transfer' is a transaction: write 'transfer.p99_ms' or another metric after it", 0),
            ("a.b.c > 1", "'a.b.c' is not a metric name; write 'metric' or 'transaction.metric'", 0),
            ("500 <= tps", "expected a metric name before the number; write the metric first, as in 'tps >= 500'", 0),
            ("tps > 1.2.3", "'1.2.3' is not a number", 6),
            ("p99_ms < 50ms", "unexpected 'ms' after the number; thresholds are plain numbers in the metric's unit (p99_ms < 50, not 50ms)", 11),
            ("tps > 5 deadlocks == 0", "unexpected 'deadlocks' after a complete check; join comparisons with && or ||", 8),
            ("(tps > 5", "expected ')' to close the '(' at column 1, found the end of the check", 8),
            ("tps > 5)", "unexpected ')' after a complete check", 7),
            ("tps > 5 && ", "expected a metric name such as 'deadlocks' or 'transfer.p99_ms', found the end of the check", 11),
            ("tps > 5 # note", "unexpected character '#'", 8),
            ("tps > < 5", "expected a number after '>', found '<'", 6),
        ]
        for (text, message, offset) in cases {
            let got = failure(text)
            #expect(got?.0 == message, "\(text)")
            #expect(got?.1 == offset, "\(text)")
        }
    }

    @Test("the caret line sits under the offending character")
    func pointer() {
        let error = CheckError(source: "tps >= ", offset: 7, message: "")
        #expect(error.pointer() == "  tps >= \n         ^")
    }

    @Test("workload checks are validated with their file position")
    func workloadChecks() throws {
        let yaml = """
            name: w
            transactions:
              t:
                steps: [SELECT 1]
            checks:
              - deadlocks == 0
              - "t.p99_ms < "
              - tsp > 5
            """
        do {
            _ = try WorkloadParser.parse(yaml, file: "w.yaml")
            Issue.record("expected diagnostics")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "w.yaml:7:17: check 't.p99_ms < ': expected a number after '<', found the end of the check",
                "w.yaml:8:5: check 'tsp > 5': unknown metric 'tsp'; did you mean 'tps'?",
            ])
        }
    }
}

@Suite struct BaselineTests {
    static func sample(tps: Double, p99: Double, deadlocks: Double, attempts: Double = 1_000) -> MetricSample {
        MetricSample(total: MetricRow(columns: ["tps": tps, "lat_p99_ms": p99, "committed": attempts - deadlocks, "attempts": attempts, "deadlocks": deadlocks]), transactions: [])
    }

    func limits(_ text: String) throws(CheckError) -> [RegressionLimit] { try RegressionLimit.parseList(text, transactions: ["transfer"]) }

    @Test("limits parse as percentages or amounts and print back")
    func parseLimits() throws {
        let parsed = try limits("tps=10%, p99_ms=20%,deadlocks_per_1k=0,transfer.p50_ms=2.5")
        #expect(parsed.map(\.description) == ["tps=10%", "p99_ms=20%", "deadlocks_per_1k=0", "transfer.p50_ms=2.5"])
        #expect(parsed[0].amount == .percent(10))
        #expect(parsed[3].amount == .absolute(2.5))
    }

    @Test("bad limits say what and where")
    func limitErrors() {
        let cases: [(String, String, Int)] = [
            ("tps", "expected '=' and a limit after 'tps', such as tps=10%", 3),
            ("tps=10%,,p99_ms=1", "empty item; write metric=limit, such as tps=10% or deadlocks_per_1k=0", 8),
            ("tps=10%,tsp=5", "unknown metric 'tsp'; did you mean 'tps'?", 8),
            ("tps=ten", "'ten' is not a limit; write a percentage (10%) or an amount in the metric's unit (5), at least 0", 4),
            ("tps=-5", "'-5' is not a limit; write a percentage (10%) or an amount in the metric's unit (5), at least 0", 4),
            ("attempts=5", "'attempts' is neither better higher nor lower, so it cannot regress; gate on another metric", 0),
            ("p99 ms=5", "'p99 ms' is not a metric name; write metric=limit, such as tps=10%", 3),
        ]
        for (text, message, offset) in cases {
            do {
                _ = try limits(text)
                Issue.record("expected an error for \(text)")
            } catch {
                #expect(error.message == message, "\(text)")
                #expect(error.offset == offset, "\(text)")
            }
        }
    }

    @Test("deltas, relative change and verdicts follow each metric's direction")
    func math() throws {
        let baseline = Self.sample(tps: 1_000, p99: 10, deadlocks: 0)
        let current = Self.sample(tps: 880, p99: 11.5, deadlocks: 2)
        let deltas = BaselineComparison.compare(baseline: baseline, current: current, limits: try limits("tps=10%,p99_ms=20%,deadlocks_per_1k=0"))
        func row(_ name: String) throws -> BaselineDelta { try #require(deltas.first { $0.reference.description == name }) }
        let tps = try row("tps")
        #expect(tps.delta == -120)
        #expect(tps.relativeChange == -0.12)
        #expect(tps.worsening == 120)
        #expect(tps.verdict == .fail)
        #expect(tps.relativeText == "-12.0%")
        let p99 = try row("p99_ms")
        #expect(p99.relativeChange == 0.15)
        #expect(p99.verdict == .pass)
        let deadlocks = try row("deadlocks_per_1k")
        #expect(deadlocks.baseline == 0 && deadlocks.current == 2)
        #expect(deadlocks.relativeChange == .infinity)
        #expect(deadlocks.relativeText == "+inf%")
        #expect(deadlocks.verdict == .fail)
        // Ungated rows say which way they moved.
        let p50Absent = try row("p50_ms")
        #expect(p50Absent.verdict == .unknown)
        #expect(BaselineComparison.rows([tps]) == [["tps", "1000.00", "880.00", "-120.00", "-12.00", "tps=10%", "fail", "1000.00", "1000.00", "1"]])
    }

    @Test("improvements pass any gate; a limit of exactly the change passes")
    func edges() throws {
        let baseline = Self.sample(tps: 1_000, p99: 10, deadlocks: 5)
        let better = Self.sample(tps: 2_000, p99: 5, deadlocks: 0)
        let deltas = BaselineComparison.compare(baseline: baseline, current: better, limits: try limits("tps=0,p99_ms=0%,deadlocks_per_1k=0"))
        #expect(deltas.filter { $0.limit != nil }.allSatisfy { $0.verdict == .pass })
        let exact = BaselineComparison.compare(baseline: baseline, current: Self.sample(tps: 900, p99: 12, deadlocks: 5), limits: try limits("tps=10%,p99_ms=2"))
        #expect(exact.filter { $0.limit != nil }.map(\.verdict) == [.pass, .pass])
        let ungated = BaselineComparison.compare(baseline: baseline, current: Self.sample(tps: 900, p99: 10, deadlocks: 6), limits: [])
        #expect(ungated.first { $0.reference.description == "tps" }?.verdict == .worse)
        #expect(ungated.first { $0.reference.description == "deadlocks_per_1k" }?.verdict == .worse)
    }
}

@Suite struct ComparisonTests {
    @Test("sweeps parse, reject bad input, and multiply into points")
    func sweeps() throws {
        let clients = try Sweep.parse("clients=1,4,16").get()
        let accounts = try Sweep.parse("accounts = 10, 100").get()
        #expect(clients.isClients && accounts.values == ["10", "100"])
        #expect(Sweep.points([clients, accounts]).map { $0.map(\.description).joined(separator: " ") } == [
            "clients=1 accounts=10", "clients=1 accounts=100", "clients=4 accounts=10", "clients=4 accounts=100",
            "clients=16 accounts=10", "clients=16 accounts=100",
        ])
        #expect(Sweep.points([]).count == 1)
        for (bad, message) in [
            ("clients", "--sweep 'clients' must look like name=v1,v2,… (e.g. clients=1,4,16,64)"),
            ("clients=1,,4", "--sweep 'clients=1,,4': empty value; separate values with single commas"),
            ("clients=0,4", "--sweep clients: '0' is not a client count (a whole number of at least 1)"),
            ("accounts=1,1", "--sweep 'accounts=1,1': a value appears twice"),
        ] {
            guard case .failure(let error) = Sweep.parse(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect(error.description == message)
        }
    }

    @Test("the spread is the median and range; an even count averages the middle two")
    func spread() throws {
        let odd = try #require(Spread([5, 1, 3]))
        #expect(odd.median == 3 && odd.min == 1 && odd.max == 5)
        #expect(Spread([4, 1, 3, 10])?.median == 3.5)
        #expect(Spread([]) == nil)
    }

    @Test("comparison.csv has one row per cell with median, min and max")
    func rows() {
        func run(_ tps: Double) -> MetricSample { MetricSample(total: MetricRow(columns: ["tps": tps, "attempts": 10, "committed": 10, "retries": 1]), transactions: []) }
        let cell = ComparisonCell(variant: "ordered", point: [SweepValue(name: "clients", value: "4")], runs: [run(100), run(300), run(200)], invariantsHeld: [true, false, true])
        let columns = ComparisonTable.columns(sweeps: ["clients"])
        let row = ComparisonTable.rows([cell], sweeps: ["clients"])[0]
        #expect(row.count == columns.count)
        let values = Dictionary(uniqueKeysWithValues: zip(columns, row))
        #expect(values["variant"] == "ordered" && values["clients"] == "4" && values["runs"] == "3")
        #expect(values["tps"] == "200.00" && values["tps_min"] == "100.00" && values["tps_max"] == "300.00")
        #expect(values["retries_per_1k"] == "100.000")
        #expect(values["p99_ms"] == "")
        #expect(values["invariants"] == "FAIL 1/3")
    }
}

/// Issue 16: the outcome columns and the workload's units of work are metrics.
@Suite struct OutcomeAndUnitMetricTests {
    /// 1,000 attempts: 700 committed (20 in the grace period), 150 rolled back,
    /// 50 ended early, 100 failed (90 expected, 10 not declared); 400 jobs in 4 s.
    static let total = MetricRow(columns: [
        "attempts": 1_000, "committed": 700, "committed_in_grace": 20, "rolled_back": 150, "ended_early": 50, "failed": 100,
        "expected_errors": 90, "unexpected_errors": 10, "retries": 0, "tps": 175, "jobs": 400, "jobs_per_s": 100,
    ])
    static let work = MetricRow(columns: ["attempts": 600, "committed": 600, "jobs": 400, "jobs_per_s": 100])
    static let sample = MetricSample(total: total, transactions: [("work", work), ("reap", MetricRow(columns: ["attempts": 400, "jobs": 0, "jobs_per_s": 0]))])
    static let parser = CheckParser(transactions: ["work", "reap"], counters: ["jobs"])

    func value(_ text: String) throws -> Double? {
        try Self.parser.parse(text).evaluate(Self.sample).measurements.first?.value
    }

    @Test("the new outcome columns and their rates are metrics")
    func outcomeMetrics() throws {
        #expect(try value("committed_in_grace >= 0") == 20)
        #expect(try value("rolled_back >= 0") == 150)
        #expect(try value("ended_early >= 0") == 50)
        #expect(try value("expected_errors >= 0") == 90)
        #expect(try value("unexpected_errors == 0") == 10)
        #expect(try value("unexpected_errors_rate < 1") == 0.01)
        #expect(try value("rolled_back_rate < 1") == 0.15)
        #expect(try value("ended_early_per_1k < 1000") == 50)
        #expect(MetricCatalogue.metric(named: "unexpected_errors")?.better == .lower)
        #expect(MetricCatalogue.metric(named: "rolled_back_rate")?.better == .neither)
    }

    @Test("a counter's N and N_per_s are higher-is-better metrics, for the run and per transaction")
    func unitMetrics() throws {
        #expect(try value("jobs >= 100") == 400)
        #expect(try value("jobs_per_s >= 100") == 100)
        #expect(try value("work.jobs_per_s > 0") == 100)
        #expect(try value("reap.jobs == 0") == 0)
        #expect(try Self.parser.parse("jobs_per_s >= 100").evaluate(Self.sample).passed)
        #expect(try !Self.parser.parse("jobs_per_s > 100").evaluate(Self.sample).passed)
        let rate = try #require(MetricCatalogue.metric(named: "jobs_per_s", counters: ["jobs"]))
        #expect(rate.better == .higher)
        #expect(rate.format(312.4) == "312.40 /s")
        #expect(MetricCatalogue.metric(named: "jobs", counters: ["jobs"])?.better == .higher)
    }

    @Test("a counter the workload does not count is an unknown metric, with a suggestion")
    func unknownCounter() {
        #expect(MetricCatalogue.metric(named: "jobs_per_s") == nil)
        #expect(throws: CheckError.self) { try CheckParser(transactions: ["work"]).parse("jobs_per_s >= 100") }
        do {
            _ = try Self.parser.parse("job_per_s >= 1")
            Issue.record("job_per_s parsed")
        } catch {
            #expect(error.message.contains("did you mean 'jobs_per_s'?"), "\(error.message)")
        }
    }

    @Test("a run's sample carries the unit columns as summary.csv records them")
    func sampleFromSummary() throws {
        var stats = RunStats(transactionCount: 1)
        stats.transactions[0].recordCommit(latencyNanoseconds: 1_000_000)
        stats.recordUnits(transaction: 0, [7])
        let summary = RunSummary(
            workload: "queue", variant: "v", clients: 1, threads: 1, durationSeconds: 3, seed: 1, transactionNames: ["work"], stats: stats,
            invariants: [], partial: false, counterNames: ["jobs"])
        let sample = MetricSample(summary)
        #expect(sample.total["jobs"] == 7)
        #expect(sample.total["jobs_per_s"] == 2.33)
        #expect(sample.row("work")?["jobs"] == 7)
    }
}

extension OutcomeAndUnitMetricTests {
    @Test("a regression limit can gate a counter's rate, and the queue workload's counters are known before it runs")
    func regressionLimitOnUnits() throws {
        let limits = try RegressionLimit.parseList("jobs_per_s=10%", transactions: ["work"], counters: ["jobs"])
        #expect(limits.map(\.reference.description) == ["jobs_per_s"])
        #expect(throws: CheckError.self) { try RegressionLimit.parseList("jobs_per_s=10%", transactions: ["work"]) }
    }
}

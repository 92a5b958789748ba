import Foundation
import Testing
@testable import LockstormCore
@testable import Reports

/// Every result file written from a model and read back gives the model's
/// typed values (numbers as the file rounds them), and run.json files of
/// older versions still load.
@Suite struct ResultSchemaRoundTripTests {
    /// Two transaction types with spread latencies, every error class, retries, and text that needs quoting.
    static func summary() -> RunSummary {
        var stats = RunStats(transactionCount: 2)
        for index in 0..<500 { stats.transactions[0].recordCommit(latencyNanoseconds: UInt64(1_000_000 + index * 7_919)) }
        for index in 0..<37 { stats.transactions[1].recordCommit(latencyNanoseconds: UInt64(250_000 + index * 123_457)) }
        for (index, errorClass) in ErrorClass.allCases.enumerated() {
            for _ in 0...index { stats.transactions[index % 2].recordFailure(errorClass) }
        }
        stats.transactions[0].retries = 3
        // Version 2: every outcome, and two unit-of-work counters.
        stats.transactions[0].graceCommitted = 4
        stats.recordRolledBack(transaction: 1)
        stats.recordEndedEarly(transaction: 0)
        stats.transactions[1].unexpectedErrors = 2
        stats.recordUnits(transaction: 0, [1_234, 5])
        stats.recordUnits(transaction: 1, [0, 3])
        stats.errors["40P01"] = ErrorRecord(sqlState: "40P01", errorClass: .deadlock, count: 1, sampleMessage: "deadlock detected", sampleDetail: "Process 1 waits for ShareLock; blocked by process 2.\nProcess 2 waits, \"too\".")
        stats.errors["55P03"] = ErrorRecord(sqlState: "55P03", errorClass: .lockNotAvailable, count: 2, sampleMessage: "could not obtain lock on row in relation \"accounts\"")
        return RunSummary(
            workload: "transfers, \"quoted\"", variant: "unordered", clients: 16, threads: 2, durationSeconds: 9.876_543_21, seed: 42,
            transactionNames: ["transfer", "audit,read"], stats: stats,
            invariants: [InvariantResult(name: "money is conserved", expected: .int(100), actual: "99")], partial: false,
            counterNames: ["jobs", "rows_moved"])
    }

    @Test func summaryCSVReadsBackAsTheRowsRecordedValues() throws {
        let summary = Self.summary()
        let files = try ResultFiles.parse(summary: SummaryReport.csv(summary))
        #expect(files.summary.count == summary.rows.count)
        for (line, row) in zip(files.summary, summary.rows) {
            #expect(line.values == row.recordedValues, "\(row.transaction)")
            #expect(Set(line.values.keys) == Set(SummaryColumn.allCases))
            #expect(line.unitValues == row.recordedUnitValues, "\(row.transaction)")
            #expect(line.counterNames == ["jobs", "rows_moved"])
        }
        let total = try #require(files.summary.last)
        #expect(total.units.map(\.total) == [1_234, 8])
        #expect(total.units.map(\.perSecond) == [Format.rounded(1_234 / 9.876_543_21, digits: 2), Format.rounded(8 / 9.876_543_21, digits: 2)])
        #expect(total.attempts == total.committed + (total.rolledBack ?? -1) + (total.endedEarly ?? -1) + total.failed)
        #expect(total.committedInGrace == 4)
        #expect(total.unexpectedErrors == 2)
        #expect(files.summary.last?.isTotal == true)
        #expect(files.summary[1].transaction == "audit,read")
        #expect(files.summary[0].workload == "transfers, \"quoted\"")
        #expect(files.summary[0].invariantFailures == 1)
        // What the checks see is what a baseline read back from the file gives.
        #expect(BaselineFiles.sample(files) == MetricSample(summary))
    }

    @Test func aVersion1SummaryStillLoads() throws {
        let header = "workload,variant,transaction,clients,duration_s,attempts,committed,failed,retries,deadlocks,lock_not_available,serialization_failures,statement_timeouts,connection_errors,other_errors,tps,lat_mean_ms,lat_p50_ms,lat_p90_ms,lat_p95_ms,lat_p99_ms,lat_p999_ms,lat_max_ms,invariant_failures"
        let line = "transfers,ordered,total,8,2.000,6,4,2,1,1,0,0,0,0,1,2.00,2.000,2.000,2.000,2.000,2.000,2.000,2.000,0"
        let files = try ResultFiles.parse(summary: header + "\n" + line + "\n")
        let total = try #require(files.summary.first)
        #expect(total.committed == 4)
        #expect(total.rolledBack == nil && total.endedEarly == nil && total.unexpectedErrors == nil && total.committedInGrace == nil)
        #expect(total.counterNames.isEmpty && total.units.isEmpty)
        let sample = BaselineFiles.sample(files)
        #expect(sample.total["tps"] == 2)
        #expect(sample.total["rolled_back"] == nil)
    }

    @Test func metricsAreTypedValuesRoundedAsTheFileRecordsThem() throws {
        let summary = Self.summary()
        let total = try #require(summary.rows.last)
        let sample = MetricSample(summary)
        let tps = try #require(MetricCatalogue.metric(named: "tps"))
        let p99 = try #require(MetricCatalogue.metric(named: "p99_ms"))
        #expect(sample.value(MetricReference(transaction: nil, metric: tps)) == Format.rounded(total.tps, digits: 2))
        #expect(sample.value(MetricReference(transaction: nil, metric: tps)) == Double(Format.fixed(total.tps, digits: 2)))
        #expect(sample.value(MetricReference(transaction: "transfer", metric: p99)) == Double(Format.fixed(summary.rows[0].latencyMilliseconds(99), digits: 3)))
    }

    @Test func roundingWithoutTextMatchesParsingTheFormattedText() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let value = Double.random(in: -1e7...1e7, using: &generator) / Double([1, 7, 1_000, 3_333][Int.random(in: 0..<4, using: &generator)])
            for digits in 0...4 {
                #expect(Format.rounded(value, digits: digits) == Double(Format.fixed(value, digits: digits)), "\(value) to \(digits)")
            }
        }
        for value in [0.0005, 0.0015, 2.675, 1.005, -0.0004, 1e15 + 0.5, 0.125, 5002.0] {
            #expect(Format.rounded(value, digits: 3) == Double(Format.fixed(value, digits: 3)), "\(value)")
        }
    }

    @Test func timeseriesCSVReadsBack() throws {
        var rows: [TimeseriesRow] = []
        for interval in 0..<4 {
            var stats = IntervalStats()
            stats.attempts = 10 + interval
            stats.committed = 8 + interval
            stats.failed = 2
            stats.retries = 1
            stats.errorCounts[ErrorClass.allCases[interval].rawValue] = 2
            stats.rolledBack = interval
            stats.endedEarly = 2 * interval
            stats.unexpectedErrors = interval % 2
            stats.units = [10 * interval, 3]
            for micros in [1_200, 3_400, 88_000] { stats.latency.record(UInt64(micros * (interval + 1))) }
            var row = TimeseriesRow(interval: interval, startSeconds: Double(interval), endSeconds: interval == 3 ? 3.333_7 : Double(interval + 1), stats: stats)
            if interval != 2 {
                var waits = LockWaitSummary()
                waits.samples = 5
                waits.waitingSum = 7
                waits.waitingMax = 3
                waits.longestChain = 2
                waits.longestWaitMilliseconds = 12.34
                waits.longestStatementWaitMilliseconds = 1_500.06
                row.lockWaits = waits
            }
            rows.append(row)
        }
        let counters = ["jobs", "rows_moved"]
        let document = CSV.document(header: TimeseriesRow.columns(counterNames: counters), rows: rows.map { $0.values(counters: counters.count) })
        let files = try ResultFiles.parse(summary: SummaryReport.csv(Self.summary()), timeseries: document)
        let lines = try #require(files.timeseries)
        #expect(lines.count == rows.count)
        for (line, row) in zip(lines, rows) {
            #expect(line.interval == row.interval)
            #expect(line.startSeconds == Format.rounded(row.startSeconds, digits: 3))
            #expect(line.endSeconds == Format.rounded(row.endSeconds, digits: 3))
            #expect(line.tps == Format.rounded(row.tps, digits: 2))
            #expect(line.attempts == row.attempts)
            #expect(line.committed == row.committed)
            #expect(line.failed == row.failed)
            #expect(line.retries == row.retries)
            #expect(line.errorCounts == Dictionary(uniqueKeysWithValues: ErrorClass.allCases.map { ($0, row.count($0)) }))
            #expect(line.p50Milliseconds == Format.rounded(row.p50Milliseconds, digits: 3))
            #expect(line.p99Milliseconds == Format.rounded(row.p99Milliseconds, digits: 3))
            #expect(line.waitingMean == row.lockWaits.map { Format.rounded($0.waitingMean, digits: 2) })
            #expect(line.waitingMax == row.lockWaits?.waitingMax)
            #expect(line.longestChain == row.lockWaits?.longestChain)
            #expect(line.rolledBack == row.rolledBack)
            #expect(line.endedEarly == row.endedEarly)
            #expect(line.unexpectedErrors == row.unexpectedErrors)
            #expect(line.longestWaitMilliseconds == row.lockWaits.map { Format.rounded($0.longestWaitMilliseconds, digits: 1) })
            #expect(line.longestStatementWaitMilliseconds == row.lockWaits.map { Format.rounded($0.longestStatementWaitMilliseconds, digits: 1) })
            #expect(line.unitsPerSecond == ["jobs": Format.rounded(row.unitsPerSecond(0), digits: 2), "rows_moved": Format.rounded(row.unitsPerSecond(1), digits: 2)])
        }
        #expect(TimeseriesRow.columns(counterNames: counters).suffix(4) == ["longest_wait_ms", "longest_statement_wait_ms", "longest_chain", "jobs_per_s"].suffix(3) + ["rows_moved_per_s"])
    }

    @Test func latencyCSVReadsBack() throws {
        let summary = Self.summary()
        var spectrum: [[String]] = []
        for row in summary.rows { spectrum += LatencySpectrum.rows(transaction: row.transaction, statistics: row.latency) }
        let files = try ResultFiles.parse(summary: SummaryReport.csv(summary), latency: CSV.document(header: LatencySpectrum.columns, rows: spectrum))
        let points = try #require(files.latency)
        #expect(points.count == summary.rows.count * LatencySpectrum.percentiles.count)
        for row in summary.rows {
            let mine = points.filter { $0.transaction == row.transaction }
            #expect(mine.map(\.percentile) == LatencySpectrum.percentiles.map { Format.rounded($0, digits: 2) })
            for point in mine {
                let micros: UInt64 = switch point.percentile {
                case 0: row.latency.min
                case 100: row.latency.max
                default: row.latency.valueAtPercentile(point.percentile)
                }
                #expect(point.latencyMilliseconds == Format.rounded(Double(micros) / 1_000, digits: 3))
                #expect(point.count.map(UInt64.init) == UInt64(row.latency.countAtOrBelow(micros)))
            }
            #expect(mine.last?.latencyMilliseconds == Format.rounded(row.maxMilliseconds, digits: 3))
        }
    }

    @Test func errorsCSVReadsBack() throws {
        let summary = Self.summary()
        let files = try ResultFiles.parse(summary: SummaryReport.csv(summary), errors: CSV.document(header: ErrorTable.columns, rows: ErrorTable.rows(summary)))
        let lines = try #require(files.errors)
        #expect(lines.count == summary.errorsByFrequency.count)
        for (line, record) in zip(lines, summary.errorsByFrequency) {
            #expect(line.sqlState == record.sqlState)
            #expect(line.errorClass == record.errorClass)
            #expect(line.count == record.count)
            #expect(line.sampleMessage == record.sampleMessage)
            #expect(line.sampleDetail == (record.sampleDetail ?? ""))
        }
    }

    @Test func deadlocksCSVReadsBack() throws {
        let signature = DeadlockSignature(participants: [
            .init(template: "transfer", step: 2, lockKind: "transaction", mode: "ShareLock"),
            .init(template: "transfer", step: 0, lockKind: "tuple", mode: "ExclusiveLock"),
        ])
        let participants = [
            CycleParticipant(pid: 11, template: "transfer", step: 2, sql: "UPDATE accounts SET balance = balance + $1 WHERE id = $2", parameters: ["7", "80"], parameterNames: ["amount", "dst"], waitsFor: "ShareLock on transaction"),
            CycleParticipant(pid: 12, template: "transfer", step: 0, sql: "UPDATE a, b", parameters: ["1", nil], waitsFor: "ExclusiveLock on tuple"),
        ]
        let cycles = [
            CycleRecord(signature: signature, count: 36, firstSeenSeconds: 0.123_456, sampleDetail: "Process 11 waits for ShareLock.\nProcess 12 waits, \"too\".", sampleParticipants: participants),
            CycleRecord(signature: DeadlockSignature(participants: Array(signature.participants.reversed())), count: 1, firstSeenSeconds: 4, sampleDetail: "", sampleParticipants: []),
        ]
        let directory = try Self.directory([
            ResultFiles.summaryFile: SummaryReport.csv(Self.summary()),
            ResultFiles.deadlocksFile: CSV.document(header: DeadlockTable.columns, rows: DeadlockTable.rows(cycles)),
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try ResultFiles.load(directory: directory)
        let lines = try #require(files.deadlocks)
        #expect(lines.count == cycles.count)
        for (line, record) in zip(lines, cycles) {
            #expect(line.signature == record.signature.text)
            #expect(line.count == record.count)
            #expect(line.cycleLength == record.signature.participants.count)
            #expect(line.summary == record.signature.summary)
            #expect(line.sampleParticipants == record.sampleParticipants.map(\.label).joined(separator: " -> "))
            #expect(line.firstSeenSeconds == Format.rounded(record.firstSeenSeconds, digits: 3))
        }
    }

    // MARK: run.json

    static func record(schedule: Bool, lost: Int) -> RunRecord {
        var summary = summary()
        summary.separateBegin = true
        summary.invariants[0].during = DuringCheck(checks: 12, failures: 1, firstFailureSeconds: 1.25, firstFailureValue: "99", due: 15, reconnects: 1)
        var scheduleStats = ScheduleStats()
        scheduleStats.scheduled = 1_000
        scheduleStats.skipped = 3
        scheduleStats.unstarted = 2
        for micros in [150, 900, 12_000] { scheduleStats.lag.record(UInt64(micros)) }
        return RunRecord(
            version: "0.1.0", commandLine: "lockstorm run transfers -R 100 -L 50 --dsn 'postgresql://u:****@h/db'",
            workload: .init(name: "transfers", file: "workloads/transfers.yaml", sha256: String(repeating: "ab", count: 32)),
            variant: "unordered",
            parameters: [("accounts", .int(100)), ("skew", .double(0.8)), ("label", .string("a \"b\"")), ("on", .bool(true)), ("none", .null)],
            summary: summary, requestedDurationSeconds: 10, transactionsPerClient: nil, warmupSeconds: 2,
            schedule: schedule ? RunRecord.Schedule(rate: 100, latencyLimitMilliseconds: 50, stats: scheduleStats) : nil,
            connections: RunRecord.Connections(lost: lost, reconnected: lost), intervalSeconds: 0.5,
            startedAt: Date(timeIntervalSince1970: 1_795_459_512.004), endedAt: Date(timeIntervalSince1970: 1_795_459_522.512),
            server: .init(version: "17.2", settings: ["deadlock_timeout": "100ms", "max_connections": "26"]),
            serverDeadlocksDelta: 4, peakRSSBytes: 50_593_792, ended: RunRecord.endedDeadline, lockSampling: Coverage(made: 25, due: 61, reconnects: 2))
    }

    @Test(arguments: [false, true]) func runJSONReadsBackAsTheRecord(schedule: Bool) throws {
        let record = Self.record(schedule: schedule, lost: schedule ? 3 : 0)
        let text = try record.json()
        let decoded = try RunRecord.decode(text)
        #expect(decoded == record)
        #expect(try decoded.json() == text, "encoding what was decoded gives the same bytes")
        let files = try ResultFiles.parse(summary: SummaryReport.csv(Self.summary()), run: text)
        #expect(files.run == record)
        #expect(files.run?.schedule?.scheduled == (schedule ? 1_000 : nil))
        #expect(files.run?.invariants?.first?.during?.firstFailureSeconds == 1.25)
        // Version 2 fields.
        #expect(decoded.schemaVersion == 2)
        #expect(decoded.invariants?.first?.during?.coverage == Coverage(made: 12, due: 15, reconnects: 1))
        #expect(decoded.lockSampling?.coverage == Coverage(made: 25, due: 61, reconnects: 2))
        #expect(decoded.ended == "deadline")
        #expect(decoded.windowSeconds == decoded.measuredDurationSeconds)
        let outcomes = try #require(decoded.outcomes)
        #expect(outcomes.attempts == outcomes.committed + outcomes.rolledBack + outcomes.endedEarly + outcomes.failed)
        #expect(outcomes.failed == outcomes.expectedErrors + outcomes.unexpectedErrors)
        #expect(outcomes.committedInGrace == 4 && outcomes.unexpectedErrors == 2 && outcomes.rolledBack == 1 && outcomes.endedEarly == 1)
        #expect(decoded.orderedUnits.map(\.name) == ["jobs", "rows_moved"])
        #expect(decoded.orderedUnits.map(\.units.total) == [1_234, 8])
        #expect(text.contains("\"per_s\" : 124.94"))
    }

    @Test func aVersion1RunJSONDecodesWithoutTheNewFields() throws {
        let text = #"{"schema_version": 1, "measured_duration_s": 2.5, "invariants": [{"name": "i", "passed": true, "during": {"checks": 3, "failures": 0}}]}"#
        let record = try RunRecord.decode(text)
        #expect(record.schemaVersion == 1)
        #expect(record.outcomes == nil && record.units == nil && record.windowSeconds == nil && record.ended == nil && record.lockSampling == nil)
        #expect(record.orderedUnits.isEmpty)
        #expect(record.invariants?.first?.during?.coverage.isComplete == true)
    }

    static let examples: [URL] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("results/examples")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }.filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("run.json").path) }
    }()

    @Test func theExamplesRunJSONDecodesAndEncodesToTheSameBytes() throws {
        #expect(Self.examples.count >= 2)
        for directory in Self.examples {
            let text = try String(contentsOf: directory.appendingPathComponent("run.json"), encoding: .utf8)
            let record = try RunRecord.decode(text)
            #expect(record.schemaVersion == 1)
            #expect(record.workloadName == "transfers")
            #expect(record.seed == 42)
            #expect(record.begin == nil, "written before BEGIN's mode was recorded")
            #expect(record.connections == RunRecord.Connections(lost: 0, reconnected: 0))
            #expect(try record.json() == text, "\(directory.lastPathComponent)")
        }
    }

    @Test func theExampleDirectoriesLoadAndTheirSummaryMatchesRunJSON() throws {
        for directory in Self.examples {
            let files = try ResultFiles.load(directory: directory)
            let total = try #require(files.summary.last)
            #expect(total.isTotal)
            #expect(total.clients == files.run?.clients)
            #expect(total.durationSeconds == files.run?.measuredDurationSeconds)
            #expect(total.count(.deadlocks) == files.run?.deadlocks?.client)
            #expect(files.timeseries?.isEmpty == false)
            #expect(files.latency?.isEmpty == false)
            #expect(files.deadlocks != nil)
        }
    }

    @Test func aRecordWithScheduleAndLostConnectionsShowsTheirLinesInTheReport() throws {
        let record = Self.record(schedule: true, lost: 3)
        let html = HTMLReport.render(try ResultFiles.parse(summary: SummaryReport.csv(Self.summary()), run: try record.json()))
        let schedule = try #require(record.schedule?.line)
        let connections = try #require(record.connections?.line)
        #expect(schedule.hasPrefix("schedule (-R 100.0 tx/s): 1000 starts scheduled, 995 started, 3 skipped as later than 50.0 ms (-L), 2 not started when the run ended; start lag mean"))
        #expect(connections == "connections: 3 broke during the run (counted as connection errors), 3 reopened")
        #expect(html.contains("<p class=\"check\" id=\"schedule\">\(HTMLText.escape(schedule))</p>"))
        #expect(html.contains("<p class=\"check\" id=\"connections\">\(HTMLText.escape(connections))</p>"))
        let table = SummaryReport.table(Self.summary(), deadlocks: record.deadlocks, record: record)
        #expect(table.contains("\n" + schedule + "\n"))
        #expect(table.contains("\n" + connections + "\n"))
        let quiet = HTMLReport.render(try ResultFiles.parse(summary: SummaryReport.csv(Self.summary()), run: try Self.record(schedule: false, lost: 0).json()))
        #expect(!quiet.contains("id=\"schedule\""))
        #expect(!quiet.contains("id=\"connections\""))
    }

    /// Writes `files` into a fresh temporary directory.
    static func directory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockstorm-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        return directory
    }
}

extension ResultSchemaRoundTripTests {
    @Test func theExamplesReportHTMLRendersAsStored() throws {
        for directory in Self.examples {
            let stored = try String(contentsOf: directory.appendingPathComponent(HTMLReport.fileName), encoding: .utf8)
            let rendered = HTMLReport.render(try ResultFiles.load(directory: directory))
            #expect(rendered == stored, "\(directory.lastPathComponent)")
        }
    }
}

/// The result-file docs list what the schema defines, no more and no less.
@Suite struct ResultSchemaDocsTests {
    static let readme: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("results/README.md"), encoding: .utf8)) ?? ""
    }()

    static func section(_ title: String) -> String {
        guard let start = readme.range(of: "## \(title)\n") else { return "" }
        let rest = readme[start.upperBound...]
        return String(rest[..<(rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex)])
    }

    @Test func theSummaryTableIsSummaryColumnsDocs() {
        let table = SummaryColumn.allCases.map { "| `\($0.name)` | \($0.doc) |" }.joined(separator: "\n")
        #expect(Self.section("summary.csv").contains("| column | meaning |\n| --- | --- |\n" + table + "\n"))
    }

    @Test func everyRunJSONKeyIsDocumented() throws {
        let record = ResultSchemaRoundTripTests.record(schedule: true, lost: 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try record.json().utf8)) as? [String: Any])
        let section = Self.section("run.json")
        #expect(!section.isEmpty)
        for key in object.keys { #expect(section.contains("`\(key)`"), "run.json key \(key) is not in results/README.md") }
        for key in ["server_delta", "latency_limit_ms", "lag_mean_ms", "lag_p99_ms", "lag_max_ms", "first_failure_seconds", "first_failure_value"] {
            #expect(section.contains("`\(key)`"), "\(key)")
        }
    }

    @Test func everyMetricNameListedElsewhereIsInTheCatalogue() {
        for name in MetricCatalogue.headline + ComparisonTable.metrics { #expect(MetricCatalogue.metric(named: name) != nil, "\(name)") }
        for column in SummaryColumn.allCases {
            guard let metric = column.metric else { continue }
            #expect(MetricCatalogue.metric(named: metric.name) != nil, "\(column.name)")
        }
        #expect(Set(MetricCatalogue.names).count == MetricCatalogue.names.count)
    }

    @Test func everyColumnMetricIsInTheCIGuide() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/ci.md"), encoding: .utf8)
        for column in SummaryColumn.allCases {
            guard let metric = column.metric else { continue }
            #expect(guide.contains("`\(metric.name)`"), "\(metric.name) is not in docs/ci.md")
        }
    }
}

extension ResultSchemaRoundTripTests {
    /// `--format json`'s summary rows before the schema was typed: each CSV cell parsed back from its text.
    static func rowsFromText(_ summary: RunSummary) throws -> String {
        let rows: [[String: JSONScalar]] = summary.rows.map { row in
            var object: [String: JSONScalar] = [:]
            for (column, value) in zip(summary.columns, row.values) {
                if let int = Int64(value) { object[column] = .int(int) } else if let double = Double(value), column != "variant", column != "transaction", column != "workload" { object[column] = .double(double) } else { object[column] = .string(value) }
            }
            return object
        }
        return try encoded(rows)
    }

    static func encoded(_ rows: [[String: JSONScalar]]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    @Test func theJSONSummaryIsByteIdenticalToParsingTheCSVText() throws {
        let summary = Self.summary()
        let typed = try Self.encoded(RunJSON.Run.rows(summary))
        #expect(typed == (try Self.rowsFromText(summary)))
        #expect(typed.contains("\"lat_p99_ms\" : "))
    }
}

/// Schema version 2 in report.html, `--format json` and comparison.csv.
@Suite struct SchemaVersion2OutputsTests {
    @Test func reportHTMLShowsOutcomesUnitsWaitsAndCoverage() throws {
        let summary = ResultSchemaRoundTripTests.summary()
        let record = ResultSchemaRoundTripTests.record(schedule: false, lost: 0)
        var waits = LockWaitSummary()
        waits.samples = 3
        waits.longestWaitMilliseconds = 45
        waits.longestStatementWaitMilliseconds = 1_500
        var row = TimeseriesRow(interval: 0, startSeconds: 0, endSeconds: 1, stats: IntervalStats())
        row.lockWaits = waits
        let counters = summary.counterNames
        let series = CSV.document(header: TimeseriesRow.columns(counterNames: counters), rows: [row.values(counters: counters.count)])
        let html = HTMLReport.render(try ResultFiles.parse(summary: SummaryReport.csv(summary), timeseries: series, run: try record.json()))
        #expect(html.contains("<th scope=\"col\" class=\"num\">rolled back</th>"))
        #expect(html.contains("<th scope=\"colgroup\" colspan=\"4\">units of work</th>"))
        #expect(html.contains("<th scope=\"col\" class=\"num\">jobs/s</th>"))
        #expect(html.contains("attempts = committed + rolled back + ended early + failed"))
        #expect(html.contains("id=\"outcomes\">Attempts: "))
        #expect(html.contains("id=\"units\">units of work: jobs 1\u{202F}234 (124.9/s), rows_moved 8 (0.8/s)</p>"))
        #expect(html.contains("id=\"longest-wait\">Longest wait on locks: 1\u{202F}500.0 ms (one statement, across every lock it queued behind); longest single lock wait 45.0 ms.</p>"))
        #expect(html.contains("id=\"lock-sampling\">Lock-wait sampling: 25 of 61 samples: the sampler lost its connection 2 times"))
        #expect(html.contains(">PASS*<") == false, "the invariant failed: FAIL, not PASS*")
    }

    @Test func aPassingDuringInvariantWithAGapIsPassStarInTheReport() throws {
        var record = RunRecord()
        record.invariants = [RunRecord.InvariantOutcome(name: "i", expected: "0", actual: "0", passed: true, during: .init(checks: 8, failures: 0, due: 12, reconnects: 1))]
        let html = HTMLReport.render(try ResultFiles.parse(summary: SummaryReport.csv(ResultSchemaRoundTripTests.summary()), run: try record.json()))
        #expect(html.contains(">PASS*</span>"))
        #expect(html.contains("* during the run: 8 of 12 checks: its monitor lost its connection 1 time: not watched the whole run"))
    }

    @Test func theJSONSummaryHasUnitColumnsAndLockWaits() throws {
        let summary = ResultSchemaRoundTripTests.summary()
        let record = ResultSchemaRoundTripTests.record(schedule: false, lost: 0)
        var waits = LockWaitSummary()
        waits.samples = 4
        waits.longestWaitMilliseconds = 45
        waits.longestStatementWaitMilliseconds = 1_500.04
        var row = TimeseriesRow(interval: 0, startSeconds: 0, endSeconds: 1, stats: IntervalStats())
        row.lockWaits = waits
        func text(_ timeseries: [TimeseriesRow]) throws -> String {
            try RunJSON(tool: "lockstorm", verdict: .pass, exitStatus: 0, runs: [RunJSON.Run(record: record, summary: summary, timeseries: timeseries, gate: nil, directory: nil)]).json()
        }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(try text([row]).utf8)) as? [String: Any])
        let object = try #require((document["runs"] as? [[String: Any]])?.first)
        let rows = try #require(object["summary"] as? [[String: Any]])
        #expect((rows.last?["jobs"] as? NSNumber)?.intValue == 1_234)
        #expect((rows.last?["unexpected_errors"] as? NSNumber)?.intValue == 2)
        let lockWaits = try #require(object["lock_waits"] as? [String: Any])
        #expect((lockWaits["longest_statement_wait_ms"] as? NSNumber)?.doubleValue == 1_500)
        #expect((lockWaits["longest_wait_ms"] as? NSNumber)?.doubleValue == 45)
        #expect(object["outcomes"] != nil && object["units"] != nil)
        #expect(!(try text([])).contains("lock_waits"))
    }

    @Test func comparisonCSVLeadsWithTheUnitRateAndHasTheWindow() throws {
        let run = MetricSample(ResultSchemaRoundTripTests.summary())
        let cell = ComparisonCell(variant: "skip-locked", point: [SweepValue(name: "clients", value: "4")], runs: [run], invariantsHeld: [true])
        let csv = ComparisonReport.csv([cell], sweeps: [Sweep(name: "clients", values: ["4"])], counters: ["jobs"])
        let lines = csv.split(separator: "\n")
        #expect(lines[0].hasPrefix("variant,clients,runs,duration_s,jobs_per_s,jobs_per_s_min,jobs_per_s_max,jobs,jobs_min,jobs_max,tps,"))
        #expect(lines[1].hasPrefix("skip-locked,4,1,9.877,124.94,124.94,124.94,1234.00,1234.00,1234.00,"))
        let info = ComparisonInfo(
            workload: "queue", variants: ["skip-locked"], sweeps: [Sweep(name: "clients", values: ["4"])], repeats: 1, length: "2 s", server: nil, commandLine: "",
            partial: false, counters: ["jobs"])
        let table = ComparisonReport.table([cell], info: info)
        let header = try #require(table.split(separator: "\n").first { $0.hasPrefix("clients") })
        let columns = header.split(separator: " ")
        #expect(Array(columns.prefix(4)) == ["clients", "variant", "jobs/s", "tps"])
        // Each figure is followed by its winner mark or a space (one cell: nothing is marked).
        let row = try #require(table.split(separator: "\n").first { $0.contains("skip-locked") })
        #expect(Array(row.split(separator: " ").prefix(4)) == ["4", "skip-locked", "124.9", "54.4"])
        #expect(!row.contains("*"))
        #expect(ComparisonReport.html([cell], info: info).contains("id=\"chart-jobs-per-s\""))
    }
}

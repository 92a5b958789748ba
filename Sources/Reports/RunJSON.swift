import Foundation
import LockstormCore

/// `lockstorm run --format json`: one object on stdout for the whole
/// invocation, the interface scripts and CI read instead of the table.
///
/// The one definition of the schema (`lockstorm.run`, version 1), documented
/// in `results/README.md`: `RunPipeline` encodes it, tests decode it. Keys are
/// snake_case and spelled only in the `CodingKeys` here; summary rows use
/// `summary.csv`'s column names (`SummaryColumn`), errors `errors.csv`'s
/// (`ErrorTable`), deadlock groups `deadlocks.csv`'s (`DeadlockTable`), and
/// outcomes and units run.json's (`RunRecord`), so a name means one thing in
/// every file. A key's value that is unknown is left out. New keys may be added
/// within a version; a rename, removal or change of meaning bumps it.
public struct RunJSON: Codable, Sendable, Hashable {
    public static let schemaName = "lockstorm.run"
    public static let currentVersion = 1

    /// The overall verdict, as the exit status says it.
    public enum Verdict: String, Codable, Sendable, Hashable {
        /// Every check, gate and invariant held (exit 0).
        case pass
        /// A check, gate or invariant failed, or errors the workload does not declare (exit 1).
        case fail
        /// The run could not be carried out or its results written (exit 3).
        case error
        /// Stopped by a signal (exit 130/143); results so far are in the object.
        case interrupted
    }

    /// `lockstorm.run`.
    public var schema: String
    public var version: Int
    /// lockstorm's version.
    public var tool: String
    public var verdict: Verdict
    /// The process's exit status (0, 1, 3, 130, 143).
    public var exitStatus: Int
    /// One per variant run, in the order they ran.
    public var runs: [Run]
    /// Why the run failed as a whole (`checks failed: …`), when it did.
    public var message: String?

    enum CodingKeys: String, CodingKey {
        case schema, version, tool, verdict, runs, message
        case exitStatus = "exit_status"
    }

    public init(tool: String, verdict: Verdict, exitStatus: Int, runs: [Run], message: String? = nil) {
        schema = Self.schemaName
        version = Self.currentVersion
        self.tool = tool
        self.verdict = verdict
        self.exitStatus = exitStatus
        self.runs = runs
        self.message = message.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Pretty, key-sorted JSON with a final newline.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// One variant's run: what ran, what it measured, and the gate's verdict
    /// on it. `compare --format json` embeds the same object per cell.
    public struct Run: Codable, Sendable, Hashable {
        public var workload: RunRecord.WorkloadInfo?
        public var variant: String
        public var settings: Settings
        /// The run's result directory; absent when it could not be written.
        public var resultDirectory: String?
        /// `pass` when its checks, gates and invariants held and it met no
        /// error the workload does not declare (unless allowed); else `fail`.
        public var verdict: Verdict
        public var partial: Bool
        /// How the window ended (run.json's `ended`).
        public var ended: String?
        public var windowSeconds: Double?
        public var startedAt: String?
        public var endedAt: String?
        /// `summary.csv`'s rows with typed values, the same keys: one per
        /// transaction type, then `total`.
        public var summary: [[String: JSONScalar]]
        /// run.json's `outcomes` (the `total` row's).
        public var outcomes: RunRecord.Outcomes?
        /// run.json's `units`, by counter; absent when the workload counts nothing.
        public var units: [String: RunRecord.Units]?
        /// `errors.csv`'s rows, most frequent first.
        public var errors: [ErrorGroup]
        /// Checks (the workload's and `--check`), regression gates and invariants, each with its verdict.
        public var checks: [CheckOutcome]
        /// Absent without `--baseline`/`--baseline-if-exists`.
        public var baseline: Baseline?
        public var deadlocks: Deadlocks
        /// The lock-wait sampler's figures over the run; absent when it took no sample.
        public var lockWaits: LockWaits?

        enum CodingKeys: String, CodingKey {
            case workload, variant, settings, verdict, partial, ended, summary, outcomes, units, errors, checks, baseline, deadlocks
            case resultDirectory = "result_directory"
            case windowSeconds = "window_s"
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case lockWaits = "lock_waits"
        }

        /// The object for one run. `gate` is `nil` where nothing was gated
        /// (a compare cell); `passed` overrides the gate's own verdict (a run
        /// that met undeclared errors fails although its checks held).
        public init(record: RunRecord, summary: RunSummary, timeseries: [TimeseriesRow], gate: GateReport?, directory: String?, passed: Bool? = nil) {
            workload = record.workload
            variant = record.variant ?? summary.variant
            settings = Settings(record)
            resultDirectory = directory
            verdict = (passed ?? gate?.passed ?? true) ? .pass : .fail
            partial = summary.partial
            ended = record.ended
            windowSeconds = record.windowSeconds
            startedAt = record.startedAt
            endedAt = record.endedAt
            self.summary = Self.rows(summary)
            outcomes = record.outcomes
            units = record.units
            errors = summary.errorsByFrequency.map { ErrorGroup(sqlState: $0.sqlState, errorClass: $0.errorClass.columnName, count: $0.count, sampleMessage: $0.sampleMessage, sampleDetail: $0.sampleDetail) }
            checks = gate.map(CheckOutcome.all) ?? []
            baseline = gate.flatMap(Baseline.init)
            deadlocks = Deadlocks(check: record.deadlocks, cycles: summary.stats.cyclesByFrequency)
            lockWaits = LockWaits(timeseries)
        }

        /// `summary.csv`'s rows as typed JSON values, rounded as the file records them.
        public static func rows(_ summary: RunSummary) -> [[String: JSONScalar]] {
            summary.rows.map { row in
                var object: [String: JSONScalar] = [:]
                for (name, value) in row.recordedUnitValues { object[name] = JSONScalar(value) }
                for (column, value) in row.recordedValues { object[column.name] = JSONScalar(value) }
                return object
            }
        }
    }

    /// What decides whether two runs are comparable: run.json's fields.
    public struct Settings: Codable, Sendable, Hashable {
        public var clients: Int?
        public var threads: Int?
        public var seed: UInt64?
        public var requestedDurationSeconds: Double?
        public var transactionsPerClient: Int?
        public var warmupSeconds: Double?
        /// `-R`, starts per second; absent for a closed-loop run.
        public var rate: Double?
        public var latencyLimitMilliseconds: Double?
        public var begin: String?
        /// `-M` (run.json's `protocol`).
        public var protocolMode: String?
        public var parameters: [String: JSONScalar]?
        public var serverVersion: String?

        enum CodingKeys: String, CodingKey {
            case clients, threads, seed, rate, begin, parameters
            case protocolMode = "protocol"
            case requestedDurationSeconds = "requested_duration_s"
            case transactionsPerClient = "transactions_per_client"
            case warmupSeconds = "warmup_s"
            case latencyLimitMilliseconds = "latency_limit_ms"
            case serverVersion = "server_version"
        }

        public init(_ record: RunRecord) {
            clients = record.clients
            threads = record.threads
            seed = record.seed
            requestedDurationSeconds = record.requestedDurationSeconds
            transactionsPerClient = record.transactionsPerClient
            warmupSeconds = record.warmupSeconds
            rate = record.schedule?.rate
            latencyLimitMilliseconds = record.schedule?.latencyLimitMilliseconds
            begin = record.begin
            protocolMode = record.protocolMode
            parameters = record.parameters
            serverVersion = record.server?.version
        }
    }

    /// One row of `errors.csv`.
    public struct ErrorGroup: Codable, Sendable, Hashable {
        public var sqlState: String
        public var errorClass: String
        public var count: Int
        public var sampleMessage: String
        public var sampleDetail: String?

        enum CodingKeys: String, CodingKey {
            case count
            case sqlState = "sqlstate"
            case errorClass = "class"
            case sampleMessage = "sample_message"
            case sampleDetail = "sample_detail"
        }
    }

    /// One check, regression gate or invariant, with its verdict.
    public struct CheckOutcome: Codable, Sendable, Hashable {
        /// `check`, `regression` or `invariant` (the JUnit classname's last part).
        public var kind: String
        /// The check as written, `tps=10%`, or the invariant's name.
        public var name: String
        /// `pass` or `fail`.
        public var verdict: String
        /// What was measured, for people: `tps = 812.40 tx/s`.
        public var measured: String
        /// For a check: each metric it read and its value (`null` when not measured).
        public var values: [String: Double?]?

        public static func all(_ report: GateReport) -> [CheckOutcome] {
            var values: [String: [String: Double?]] = [:]
            for result in report.checks {
                var byMetric: [String: Double?] = [:]
                for measurement in result.measurements { byMetric[measurement.reference.description] = .some(measurement.value) }
                values[result.check.source] = byMetric
            }
            return report.cases.map { item in
                CheckOutcome(kind: item.kind.rawValue, name: item.name, verdict: item.passed ? "pass" : "fail", measured: item.measured, values: item.kind == .check ? values[item.name] : nil)
            }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kind, forKey: .kind)
            try container.encode(name, forKey: .name)
            try container.encode(verdict, forKey: .verdict)
            try container.encode(measured, forKey: .measured)
            if let values {
                // An unmeasured value is `null`, not a missing key: the check read it.
                var nested = container.nestedContainer(keyedBy: AnyKey.self, forKey: .values)
                for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                    if let value { try nested.encode(value, forKey: AnyKey(name)) } else { try nested.encodeNil(forKey: AnyKey(name)) }
                }
            }
        }

        enum CodingKeys: String, CodingKey {
            case kind, name, verdict, measured, values
        }
    }

    /// The run against its baseline: where it came from and every metric compared.
    public struct Baseline: Codable, Sendable, Hashable {
        /// The baseline as given (a result directory, or the folder holding the repeats).
        public var source: String?
        /// The result directories it was made of.
        public var runs: [String]
        /// Settings that differ from this run's, compared anyway (`--force-baseline`).
        public var mismatches: [String]
        /// Set when no baseline existed yet (`--baseline-if-exists`); then `metrics` is empty.
        public var note: String?
        /// `baseline.csv`'s rows, the same keys.
        public var metrics: [Metric]

        public struct Metric: Codable, Sendable, Hashable {
            public var metric: String
            /// The median of the baseline runs.
            public var baseline: Double?
            public var baselineMin: Double?
            public var baselineMax: Double?
            public var baselineRuns: Int
            public var current: Double?
            public var delta: Double?
            /// `null` when the baseline is 0 and the value moved (infinite).
            public var relativeChangePercent: Double?
            public var limit: String?
            /// `pass`/`fail` when gated; else `better`, `worse`, `same`, `n/a`.
            public var verdict: String

            enum CodingKeys: String, CodingKey {
                case metric, baseline, current, delta, limit, verdict
                case baselineMin = "baseline_min"
                case baselineMax = "baseline_max"
                case baselineRuns = "baseline_runs"
                case relativeChangePercent = "relative_change_pct"
            }
        }

        init?(_ report: GateReport) {
            guard !report.baseline.isEmpty || report.baselineNote != nil else { return nil }
            source = report.baselineSource
            runs = report.baselineRuns
            mismatches = report.baselineMismatches
            note = report.baselineNote
            metrics = report.baseline.map { delta in
                let digits = delta.reference.metric.digits
                func rounded(_ value: Double?) -> Double? { value.map { Format.rounded($0, digits: digits) } }
                let relative = delta.relativeChange.flatMap { $0.isFinite ? Format.rounded($0 * 100, digits: 2) : nil }
                return Metric(
                    metric: delta.reference.description, baseline: rounded(delta.baseline), baselineMin: rounded(delta.baselineLow), baselineMax: rounded(delta.baselineHigh),
                    baselineRuns: delta.baselineRuns, current: rounded(delta.current), delta: rounded(delta.delta), relativeChangePercent: relative,
                    limit: delta.limit?.description, verdict: delta.verdict.rawValue)
            }
        }
    }

    /// Deadlocks: the client/server cross-check, one entry per distinct cycle
    /// (`groups`, deadlocks.csv's rows) and the cycles grouped by statement
    /// (`statement_groups`).
    public struct Deadlocks: Codable, Sendable, Hashable {
        /// 40P01 errors the clients received.
        public var client: Int
        /// `pg_stat_database.deadlocks` after minus before; absent when unreadable.
        public var serverDelta: Int?
        public var agree: Bool?
        /// `deadlocks.csv`'s rows, in its order (by statement group, then count), the same keys.
        public var groups: [Group]
        /// The cycles grouped by statements and tables, most deadlocks first.
        public var statementGroups: [StatementGroup]?
        /// Names of the relations the DETAILs give by OID (OID as text → name).
        public var relations: [String: String]?

        enum CodingKeys: String, CodingKey {
            case client, agree, groups, relations
            case serverDelta = "server_delta"
            case statementGroups = "statement_groups"
        }

        public struct Group: Codable, Sendable, Hashable {
            public var signature: String
            public var count: Int
            public var group: String?
            public var groupReason: String?
            public var cycleLength: Int
            public var participants: String
            public var lockKinds: String
            public var summary: String
            public var sampleParticipants: String
            public var sampleWaits: String?
            public var sampleHolds: String?
            public var sampleDetail: String
            public var firstSeenSeconds: Double

            enum CodingKeys: String, CodingKey {
                case signature, count, group, participants, summary
                case groupReason = "group_reason"
                case cycleLength = "cycle_length"
                case lockKinds = "lock_kinds"
                case sampleParticipants = "sample_participants"
                case sampleWaits = "sample_waits"
                case sampleHolds = "sample_holds"
                case sampleDetail = "sample_detail"
                case firstSeenSeconds = "first_seen_s"
            }
        }

        /// One group of like deadlocks: `UPDATE inventory ↔ UPDATE inventory`.
        public struct StatementGroup: Codable, Sendable, Hashable {
            public var group: String
            public var reason: String
            public var count: Int
            /// Its exact shapes (deadlocks.csv's `signature`), most frequent first.
            public var signatures: [String]
            public var cycleLengths: [Int]

            enum CodingKeys: String, CodingKey {
                case group, reason, count, signatures
                case cycleLengths = "cycle_lengths"
            }
        }

        init(check: RunRecord.DeadlockCheck?, cycles: [CycleRecord]) {
            client = check?.client ?? cycles.map(\.count).reduce(0, +)
            serverDelta = check?.serverDelta
            agree = check?.agree
            // deadlocks.csv's own rows, so the two never say different things.
            typealias Column = DeadlockTable.Column
            let columns = DeadlockTable.columns
            groups = zip(DeadlockTable.ordered(cycles), DeadlockTable.rows(cycles)).map { entry, row in
                func cell(_ column: Column) -> String { columns.firstIndex(of: column.rawValue).map { row[$0] } ?? "" }
                let record = entry.record
                return Group(
                    signature: cell(.signature), count: record.count, group: cell(.group), groupReason: cell(.groupReason),
                    cycleLength: record.signature.participants.count, participants: cell(.participants), lockKinds: cell(.lockKinds),
                    summary: cell(.summary), sampleParticipants: cell(.sampleParticipants), sampleWaits: cell(.sampleWaits),
                    sampleHolds: cell(.sampleHolds), sampleDetail: cell(.sampleDetail), firstSeenSeconds: Format.rounded(record.firstSeenSeconds, digits: 3))
            }
            statementGroups = DeadlockGroup.groups(cycles).map {
                StatementGroup(group: $0.key, reason: $0.reason, count: $0.count, signatures: $0.records.map(\.signature.text), cycleLengths: $0.cycleLengths)
            }
            var names: [String: String] = [:]
            for record in cycles { for (oid, name) in record.relationNames { names[String(oid)] = name } }
            relations = names.isEmpty ? nil : names
        }
    }

    /// The lock-wait sampler's figures over the whole run (timeseries.csv's columns, their maxima).
    public struct LockWaits: Codable, Sendable, Hashable {
        public var samples: Int
        public var waitingMax: Int
        /// The longest one statement waited, across every lock it queued behind: the summary's "longest wait".
        public var longestStatementWaitMilliseconds: Double
        /// The longest wait on a single lock.
        public var longestWaitMilliseconds: Double
        public var longestChain: Int

        enum CodingKeys: String, CodingKey {
            case samples
            case waitingMax = "waiting_max"
            case longestStatementWaitMilliseconds = "longest_statement_wait_ms"
            case longestWaitMilliseconds = "longest_wait_ms"
            case longestChain = "longest_chain"
        }

        public init?(_ timeseries: [TimeseriesRow]) {
            let sampled = timeseries.compactMap(\.lockWaits).filter { $0.samples > 0 }
            guard !sampled.isEmpty else { return nil }
            samples = sampled.map(\.samples).reduce(0, +)
            waitingMax = sampled.map(\.waitingMax).max() ?? 0
            longestStatementWaitMilliseconds = Format.rounded(sampled.map(\.longestStatementWaitMilliseconds).max() ?? 0, digits: 1)
            longestWaitMilliseconds = Format.rounded(sampled.map(\.longestWaitMilliseconds).max() ?? 0, digits: 1)
            longestChain = sampled.map(\.longestChain).max() ?? 0
        }
    }
}

/// A coding key made from a string (metric names as keys).
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

import Foundation
import LockstormCore

/// `run.json`: everything needed to reproduce a run and judge its numbers.
///
/// The one definition of the file: `lockstorm run` encodes it, `lockstorm
/// report` and `--baseline` decode it. Version 2 of the schema; keys are
/// snake_case (`CodingKeys`, the only place they are spelled) and documented
/// in `results/README.md`. Every top-level field is optional when decoding,
/// so files written by older versions, which lack some keys, still load;
/// keys whose value is unknown are left out when encoding.
public struct RunRecord: Codable, Sendable, Hashable {
    public static let currentSchemaVersion = 2

    /// How every attempt of the run ended (the `total` row's counting rules,
    /// `TransactionStats`): `attempts = committed + rolled_back + ended_early + failed`.
    public struct Outcomes: Codable, Sendable, Hashable {
        public var attempts: Int
        public var committed: Int
        /// Of `committed`, those whose COMMIT returned in the grace period.
        public var committedInGrace: Int
        public var rolledBack: Int
        public var endedEarly: Int
        public var failed: Int
        public var expectedErrors: Int
        public var unexpectedErrors: Int
        /// Failed attempts that were a transaction's last retryable one.
        public var exhaustedRetries: Int?

        public init(_ stats: TransactionStats) {
            attempts = stats.attempts
            committed = stats.committed
            committedInGrace = stats.graceCommitted
            rolledBack = stats.rolledBack
            endedEarly = stats.endedEarly
            failed = stats.failed
            expectedErrors = stats.expectedErrors
            unexpectedErrors = stats.unexpectedErrors
            exhaustedRetries = stats.exhaustedRetries
        }

        enum CodingKeys: String, CodingKey {
            case attempts, committed, failed
            case committedInGrace = "committed_in_grace"
            case rolledBack = "rolled_back"
            case endedEarly = "ended_early"
            case expectedErrors = "expected_errors"
            case unexpectedErrors = "unexpected_errors"
            case exhaustedRetries = "exhausted_retries"
        }
    }

    /// One unit-of-work counter's figures for the whole run.
    public struct Units: Codable, Sendable, Hashable {
        public var total: Int
        /// `total / window_s`, rounded as `summary.csv`'s `N_per_s`.
        public var perSecond: Double

        public init(total: Int, perSecond: Double) {
            self.total = total
            self.perSecond = perSecond
        }

        enum CodingKeys: String, CodingKey {
            case total
            case perSecond = "per_s"
        }
    }

    /// Looks a background monitor made against those due (`Coverage`).
    public struct CoverageRecord: Codable, Sendable, Hashable {
        public var made: Int
        public var due: Int
        public var reconnects: Int

        public init(_ coverage: Coverage) {
            made = coverage.made
            due = coverage.due
            reconnects = coverage.reconnects
        }

        public var coverage: Coverage { Coverage(made: made, due: due, reconnects: reconnects) }
    }

    /// How the measurement window ended (`ended`): text, so a value from a
    /// newer version still loads.
    public static let endedDeadline = "deadline"
    public static let endedFinished = "finished"
    public static let endedStopped = "stopped"
    public static let endedBrokenWorkload = "broken_workload"
    public static let endedServerLost = "server_lost"

    public struct WorkloadInfo: Codable, Sendable, Hashable {
        public var name: String?
        public var file: String?
        public var sha256: String?

        public init(name: String, file: String, sha256: String) {
            self.name = name
            self.file = file
            self.sha256 = sha256
        }
    }

    public struct ServerInfo: Codable, Sendable, Hashable {
        public var version: String?
        public var settings: [String: String]?

        public init(version: String, settings: [String: String]) {
            self.version = version
            self.settings = settings
        }
    }

    /// Deadlocks seen by the clients (40P01 errors) against the server's
    /// own counter (`pg_stat_database.deadlocks`, after minus before).
    public struct DeadlockCheck: Codable, Sendable, Hashable {
        public var client: Int
        public var serverDelta: Int?
        public var agree: Bool?

        public init(client: Int, serverDelta: Int?, agree: Bool?) {
            self.client = client
            self.serverDelta = serverDelta
            self.agree = agree
        }

        enum CodingKeys: String, CodingKey {
            case client
            case serverDelta = "server_delta"
            case agree
        }
    }

    /// Open-loop figures (`-R`): how well the schedule was kept.
    public struct Schedule: Codable, Sendable, Hashable {
        public var rate: Double
        public var latencyLimitMilliseconds: Double?
        public var scheduled: Int
        public var skipped: Int
        /// Due or pending when the run ended, so never started.
        public var unstarted: Int
        public var lagMeanMilliseconds: Double
        public var lagP99Milliseconds: Double
        public var lagMaxMilliseconds: Double

        enum CodingKeys: String, CodingKey {
            case rate, scheduled, skipped, unstarted
            case latencyLimitMilliseconds = "latency_limit_ms"
            case lagMeanMilliseconds = "lag_mean_ms"
            case lagP99Milliseconds = "lag_p99_ms"
            case lagMaxMilliseconds = "lag_max_ms"
        }

        public init(rate: Double, latencyLimitMilliseconds: Double?, stats: ScheduleStats) {
            self.rate = rate
            self.latencyLimitMilliseconds = latencyLimitMilliseconds
            scheduled = stats.scheduled
            skipped = stats.skipped
            unstarted = stats.unstarted
            let lag = HistogramStatistics(stats.lag)
            let has = lag.totalCount > 0
            lagMeanMilliseconds = has ? (lag.mean / 1_000 * 1_000).rounded() / 1_000 : 0
            lagP99Milliseconds = has ? Double(lag.valueAtPercentile(99)) / 1_000 : 0
            lagMaxMilliseconds = has ? Double(lag.max) / 1_000 : 0
        }

        /// The line the terminal summary and report.html print:
        /// "schedule (-R 100.0 tx/s): 1000 starts scheduled, 998 started, …".
        public var line: String {
            var line = "schedule (-R \(Format.fixed(rate, digits: 1)) tx/s): \(scheduled) starts scheduled, \(scheduled - skipped - unstarted) started"
            if let limit = latencyLimitMilliseconds { line += ", \(skipped) skipped as later than \(Format.fixed(limit, digits: 1)) ms (-L)" }
            if unstarted > 0 { line += ", \(unstarted) not started when the run ended" }
            line += "; start lag mean \(Format.fixed(lagMeanMilliseconds, digits: 2)) ms, p99 \(Format.fixed(lagP99Milliseconds, digits: 2)) ms, max \(Format.fixed(lagMaxMilliseconds, digits: 2)) ms"
            return line
        }
    }

    /// Connections that broke during the run, and how many were reopened.
    public struct Connections: Codable, Sendable, Hashable {
        public var lost: Int
        public var reconnected: Int

        public init(lost: Int, reconnected: Int) {
            self.lost = lost
            self.reconnected = reconnected
        }

        /// The line the terminal summary and report.html print; `nil` when no connection broke.
        public var line: String? {
            guard lost > 0 else { return nil }
            return "connections: \(lost) broke during the run (counted as connection errors), \(reconnected) reopened"
        }
    }

    public struct InvariantOutcome: Codable, Sendable, Hashable {
        public var name: String
        public var expected: String?
        public var actual: String?
        public var passed: Bool
        public var error: String?
        /// Checks while the load ran (`during:`).
        public var during: During?

        public struct During: Codable, Sendable, Hashable {
            public var checks: Int
            public var failures: Int
            public var firstFailureSeconds: Double?
            public var firstFailureValue: String?
            /// Checks due on the invariant's grid and monitor reconnects
            /// (`Coverage`); absent in version 1 files.
            public var due: Int? = nil
            public var reconnects: Int? = nil

            /// Checks made against checks due; complete when `due` is unknown.
            public var coverage: Coverage { Coverage(made: checks, due: due ?? checks, reconnects: reconnects ?? 0) }

            enum CodingKeys: String, CodingKey {
                case checks, failures, due, reconnects
                case firstFailureSeconds = "first_failure_seconds"
                case firstFailureValue = "first_failure_value"
            }
        }
    }

    public var schemaVersion: Int? = RunRecord.currentSchemaVersion
    public var tool: String? = "lockstorm"
    public var version: String?
    /// The command line, any password replaced by `****` (the caller redacts it).
    public var commandLine: String?
    public var workload: WorkloadInfo?
    public var variant: String?
    public var parameters: [String: JSONScalar]?
    public var seed: UInt64?
    public var clients: Int?
    public var threads: Int?
    /// How BEGIN went out: `beginWithFirstStatement` (the default) or
    /// `beginSeparate` (`--separate-begin`); absent in run.json files written
    /// before it was recorded. Text, so a value from a newer version still loads.
    public var begin: String?
    public static let beginWithFirstStatement = "with_first_statement"
    public static let beginSeparate = "separate"
    /// How statements went out (`-M`): `simple`, `extended` or `prepared`;
    /// absent in run.json files written before it was recorded (they were
    /// all `extended`). Text, so a value from a newer version still loads.
    public var protocolMode: String?
    public var requestedDurationSeconds: Double?
    public var transactionsPerClient: Int?
    public var measuredDurationSeconds: Double?
    public var warmupSeconds: Double?
    public var intervalSeconds: Double?
    /// With `-R` only.
    public var schedule: Schedule?
    public var connections: Connections?
    public var startedAt: String?
    public var endedAt: String?
    public var partial: Bool?
    public var server: ServerInfo?
    public var deadlocks: DeadlockCheck?
    public var peakRSSBytes: Int?
    public var invariants: [InvariantOutcome]?
    /// Version 2: how the attempts ended, the units of work by counter,
    /// the measurement window and how it ended, and the lock sampler's coverage.
    public var outcomes: Outcomes?
    public var units: [String: Units]?
    /// The counters in the plan's order (`units` is keyed by name).
    public var counterNames: [String]?
    public var windowSeconds: Double?
    public var ended: String?
    public var lockSampling: CoverageRecord?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case tool, version
        case commandLine = "command_line"
        case workload, variant, parameters, seed, clients, threads, begin
        case protocolMode = "protocol"
        case requestedDurationSeconds = "requested_duration_s"
        case transactionsPerClient = "transactions_per_client"
        case measuredDurationSeconds = "measured_duration_s"
        case warmupSeconds = "warmup_s"
        case intervalSeconds = "interval_s"
        case schedule, connections
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case partial, server, deadlocks
        case peakRSSBytes = "peak_rss_bytes"
        case invariants, outcomes, units, ended
        case counterNames = "counter_names"
        case windowSeconds = "window_s"
        case lockSampling = "lock_sampling"
    }

    /// The name of the workload that ran.
    public var workloadName: String? { workload?.name }

    /// A record with no field known: what an empty `{}` decodes to.
    public init() {}

    public init(
        version: String, commandLine: String, workload: WorkloadInfo, variant: String, parameters: [(name: String, value: Value)],
        summary: RunSummary, requestedDurationSeconds: Double?, transactionsPerClient: Int?, warmupSeconds: Double = 0,
        schedule: Schedule? = nil, connections: Connections = Connections(lost: 0, reconnected: 0), intervalSeconds: Double,
        startedAt: Date, endedAt: Date, server: ServerInfo, serverDeadlocksDelta: Int?, peakRSSBytes: Int,
        ended: String? = nil, lockSampling: Coverage? = nil
    ) {
        self.version = version
        self.commandLine = commandLine
        self.workload = workload
        self.variant = variant
        var values: [String: JSONScalar] = [:]
        for parameter in parameters { values[parameter.name] = JSONScalar(parameter.value) }
        self.parameters = values
        seed = summary.seed
        clients = summary.clients
        threads = summary.threads
        begin = summary.separateBegin ? Self.beginSeparate : Self.beginWithFirstStatement
        protocolMode = summary.protocolMode.rawValue
        self.requestedDurationSeconds = requestedDurationSeconds
        self.transactionsPerClient = transactionsPerClient
        measuredDurationSeconds = (summary.durationSeconds * 1_000).rounded() / 1_000
        self.intervalSeconds = intervalSeconds
        self.warmupSeconds = warmupSeconds
        self.schedule = schedule
        self.connections = connections
        self.startedAt = Self.iso8601(startedAt)
        self.endedAt = Self.iso8601(endedAt)
        partial = summary.partial
        self.server = server
        let client = summary.stats.count(.deadlock)
        deadlocks = DeadlockCheck(client: client, serverDelta: serverDeadlocksDelta, agree: serverDeadlocksDelta.map { $0 == client })
        self.peakRSSBytes = peakRSSBytes
        invariants = summary.invariants.map {
            InvariantOutcome(
                name: $0.name, expected: $0.expected.bindText, actual: $0.actual, passed: $0.passed, error: $0.error,
                during: $0.during.map {
                    .init(checks: $0.checks, failures: $0.failures, firstFailureSeconds: $0.firstFailureSeconds, firstFailureValue: $0.firstFailureValue, due: $0.due, reconnects: $0.reconnects)
                }
            )
        }
        outcomes = Outcomes(summary.stats.total)
        if let total = summary.rows.last, !total.units.isEmpty {
            counterNames = summary.counterNames
            units = Dictionary(total.units.map { ($0.name, Units(total: $0.total, perSecond: Format.rounded($0.perSecond, digits: UnitColumn.rateDigits))) }, uniquingKeysWith: { first, _ in first })
        }
        windowSeconds = measuredDurationSeconds
        self.ended = ended
        self.lockSampling = lockSampling.map(CoverageRecord.init)
    }

    /// Units of work by counter in the plan's order (`counter_names`, else by name).
    public var orderedUnits: [(name: String, units: Units)] {
        guard let units else { return [] }
        let names = counterNames ?? units.keys.sorted()
        return names.compactMap { name in units[name].map { (name, $0) } }
    }

    /// Pretty, key-sorted JSON with a final newline.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// Decodes the text of a `run.json`; a problem is a `ResultFilesError`
    /// naming `file`, and the key for a value of the wrong type.
    public static func decode(_ text: String, file: String = ResultFiles.runFile) throws -> RunRecord {
        do {
            return try JSONDecoder().decode(RunRecord.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw ResultFilesError(file: file, decoding: error)
        }
    }

    /// `2026-11-23T18:45:12.345Z`: what `ISO8601DateFormatter` with
    /// `.withInternetDateTime, .withFractionalSeconds` writes (milliseconds
    /// rounded to the nearest), from the C library's calendar: each such formatter call
    /// cost ~1.6 M instructions, 2% of a short run.
    static func iso8601(_ date: Date) -> String {
        // As CFDateFormatter: milliseconds since 1970 plus a half, then ICU truncates.
        let millis = ((date.timeIntervalSinceReferenceDate + 978_307_200) * 1_000 + 0.5).rounded(.down)
        let seconds = (millis / 1_000).rounded(.down)
        var clock = time_t(seconds)
        var parts = tm()
        gmtime_r(&clock, &parts)
        func padded(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return text.count < width ? String(repeating: "0", count: width - text.count) + text : text
        }
        let day = "\(padded(Int(parts.tm_year) + 1900, 4))-\(padded(Int(parts.tm_mon) + 1, 2))-\(padded(Int(parts.tm_mday), 2))"
        let clock24 = "\(padded(Int(parts.tm_hour), 2)):\(padded(Int(parts.tm_min), 2)):\(padded(Int(parts.tm_sec), 2)).\(padded(Int(millis - seconds * 1_000), 3))"
        return day + "T" + clock24 + "Z"
    }
}

/// A JSON scalar: a parameter value in run.json, a cell of the JSON summary.
public enum JSONScalar: Codable, Sendable, Hashable, CustomStringConvertible {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null

    init(_ value: Value) {
        switch value {
        case .int(let int): self = .int(int)
        case .double(let double): self = .double(double)
        case .string(let string): self = .string(string)
        case .bool(let bool): self = .bool(bool)
        case .null: self = .null
        // Parameters are scalars; only `let` computes a list (`sorted(…)`): kept as its array literal.
        case .list: self = .string(value.bindText ?? "{}")
        }
    }

    init(_ value: SummaryValue) {
        switch value {
        case .text(let text): self = .string(text)
        case .count(let count): self = .int(Int64(count))
        case .number(let number): self = .double(number)
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
        else if let int = try? container.decode(Int64.self) { self = .int(int) }
        else if let double = try? container.decode(Double.self) { self = .double(double) }
        else { self = .string(try container.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let int): try container.encode(int)
        case .double(let double): try container.encode(double)
        case .string(let string): try container.encode(string)
        case .bool(let bool): try container.encode(bool)
        case .null: try container.encodeNil()
        }
    }

    /// The value as a person reads it: strings bare, `null` as `NULL`, whole doubles without a fraction.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .bool(let value): value ? "true" : "false"
        case .int(let value): String(value)
        case .double(let value): Format.number(value)
        case .string(let value): value
        }
    }
}

import Foundation
import LockstormCore

/// `shard.json`: what `lockstorm merge` needs from one process's run beyond
/// the files every run has — its place among the shards, the counts behind
/// its summary exactly (histograms are in `latency.hlog`), its intervals,
/// deadlock cycles, backend PIDs and the server's counters at its start and
/// end. Written by every run (a whole run is shard 0/1). Schema
/// `lockstorm.shard` version 1, keys snake_case, documented in results/README.md.
public struct ShardFile: Codable, Sendable {
    public static let fileName = "shard.json"
    public static let hlogFileName = "latency.hlog"
    public static let currentSchemaVersion = 1

    public var schema = "lockstorm.shard"
    public var schemaVersion = ShardFile.currentSchemaVersion
    public var shard: Int
    public var shards: Int
    public var runID: String?
    public var workloadSHA256: String
    public var variant: String
    public var seed: UInt64
    /// Clients of the whole run (this shard ran `client % shards == shard` of them).
    public var clients: Int
    public var threads: Int
    public var transactionNames: [String]
    public var counterNames: [String]
    /// Measurement start, seconds since 1970 (the server's clock when sharded).
    public var measurementStart: Double
    public var windowSeconds: Double
    /// The common start (`--start-at`), seconds since 1970 on the server's clock.
    public var startAt: Double?
    /// How late this shard began after the common start.
    public var lateSeconds: Double
    public var ranSetup: Bool
    public var ranTeardown: Bool
    public var checkedInvariants: Bool
    public var note: String?
    public var countersStart: ServerCountersRecord?
    public var countersEnd: ServerCountersRecord?
    /// Backend PID → the client's global index, for every connection the shard opened.
    public var sessions: [Session]
    public var transactions: [Transaction]
    public var errors: [ErrorEntry]
    public var schedule: Schedule
    public var cycles: [Cycle]
    public var intervals: [Interval]

    public struct ServerCountersRecord: Codable, Sendable, Hashable {
        public var at: Double
        public var xactCommit: Int
        public var xactRollback: Int
        public var deadlocks: Int

        public init(at: Double, xactCommit: Int, xactRollback: Int, deadlocks: Int) {
            (self.at, self.xactCommit, self.xactRollback, self.deadlocks) = (at, xactCommit, xactRollback, deadlocks)
        }

        enum CodingKeys: String, CodingKey {
            case at, deadlocks
            case xactCommit = "xact_commit"
            case xactRollback = "xact_rollback"
        }
    }

    public struct Session: Codable, Sendable, Hashable {
        public var pid: Int32
        public var client: Int
        /// The transaction the client is dedicated to (`clients: N`), if any.
        public var dedicated: String?
    }

    public struct Transaction: Codable, Sendable, Hashable {
        public var attempts, committed, failed, rolledBack, endedEarly, unexpectedErrors, graceCommitted, retries, exhaustedRetries: Int
        public var errorCounts: [Int]
        public var units: [Int]

        enum CodingKeys: String, CodingKey {
            case attempts, committed, failed, retries, units
            case rolledBack = "rolled_back"
            case endedEarly = "ended_early"
            case unexpectedErrors = "unexpected_errors"
            case graceCommitted = "grace_committed"
            case exhaustedRetries = "exhausted_retries"
            case errorCounts = "error_counts"
        }

        init(_ stats: TransactionStats) {
            (attempts, committed, failed, rolledBack, endedEarly) = (stats.attempts, stats.committed, stats.failed, stats.rolledBack, stats.endedEarly)
            (unexpectedErrors, graceCommitted, retries, exhaustedRetries) = (stats.unexpectedErrors, stats.graceCommitted, stats.retries, stats.exhaustedRetries)
            errorCounts = stats.errorCounts
            units = stats.units
        }

        /// The counts into `stats` (whose histogram comes from `latency.hlog`).
        func apply(to stats: inout TransactionStats) {
            stats.attempts = attempts
            stats.committed = committed
            stats.failed = failed
            stats.rolledBack = rolledBack
            stats.endedEarly = endedEarly
            stats.unexpectedErrors = unexpectedErrors
            stats.graceCommitted = graceCommitted
            stats.retries = retries
            stats.exhaustedRetries = exhaustedRetries
            for index in stats.errorCounts.indices where index < errorCounts.count { stats.errorCounts[index] = errorCounts[index] }
            stats.units = units
        }
    }

    public struct ErrorEntry: Codable, Sendable, Hashable {
        public var sqlState: String
        public var errorClass: Int
        public var count: Int
        public var unexpected: Int
        public var sampleMessage: String
        public var sampleDetail: String?
        public var sampleTransaction: Int?
        public var sampleStep: Int?

        enum CodingKeys: String, CodingKey {
            case count, unexpected
            case sqlState = "sql_state"
            case errorClass = "error_class"
            case sampleMessage = "sample_message"
            case sampleDetail = "sample_detail"
            case sampleTransaction = "sample_transaction"
            case sampleStep = "sample_step"
        }
    }

    public struct Schedule: Codable, Sendable, Hashable {
        public var scheduled, skipped, unstarted: Int
    }

    public struct Cycle: Codable, Sendable, Hashable {
        public var count: Int
        public var firstSeenSeconds: Double
        public var sampleDetail: String
        /// Around the cycle, as the signature orders them.
        public var signature: [SignatureParticipant]
        public var participants: [Participant]

        enum CodingKeys: String, CodingKey {
            case count, signature, participants
            case firstSeenSeconds = "first_seen_s"
            case sampleDetail = "sample_detail"
        }
    }

    public struct SignatureParticipant: Codable, Sendable, Hashable {
        public var template: String?
        public var step: Int?
        public var lockKind: String
        public var mode: String

        enum CodingKeys: String, CodingKey {
            case template, step, mode
            case lockKind = "lock_kind"
        }
    }

    public struct Participant: Codable, Sendable, Hashable {
        public var pid: Int32
        public var template: String?
        public var step: Int?
        public var sql: String?
        public var parameters: [String?]
        public var parameterNames: [String]
        public var waitsFor: String
        /// `CycleParticipant.Certainty`'s raw value; absent in files written before it.
        public var certainty: String? = nil
        /// What it held: its transaction as sent so far; absent in older files.
        public var transaction: [Statement]? = nil

        public struct Statement: Codable, Sendable, Hashable {
            public var step: Int?
            public var sql: String
            public var parameters: [String?]
        }

        enum CodingKeys: String, CodingKey {
            case pid, template, step, sql, parameters, certainty, transaction
            case parameterNames = "parameter_names"
            case waitsFor = "waits_for"
        }

        init(_ participant: CycleParticipant) {
            pid = participant.pid
            template = participant.template
            step = participant.step
            sql = participant.sql
            parameters = participant.parameters
            parameterNames = participant.parameterNames
            waitsFor = participant.waitsFor
            certainty = participant.certainty.rawValue
            transaction = participant.transaction.map { Statement(step: $0.step, sql: $0.sql, parameters: $0.parameters) }
        }

        /// The participant as the run recorded it (its statements' send times are not kept).
        var cycleParticipant: CycleParticipant {
            var participant = CycleParticipant(pid: pid, template: template, step: step, sql: sql, parameters: parameters, parameterNames: parameterNames, waitsFor: waitsFor)
            if let certainty = certainty.flatMap(CycleParticipant.Certainty.init(rawValue:)) { participant.certainty = certainty }
            participant.transaction = (transaction ?? []).map { CycleParticipant.Statement(step: $0.step, sql: $0.sql, parameters: $0.parameters) }
            return participant
        }
    }

    public struct Interval: Codable, Sendable, Hashable {
        public var interval: Int
        public var startSeconds: Double
        public var endSeconds: Double
        public var attempts, committed, rolledBack, endedEarly, failed, unexpectedErrors, retries: Int
        public var errorCounts: [Int]
        public var units: [Int]
        public var lockWaits: LockWaits?

        enum CodingKeys: String, CodingKey {
            case interval, attempts, committed, failed, retries, units
            case startSeconds = "start_s"
            case endSeconds = "end_s"
            case rolledBack = "rolled_back"
            case endedEarly = "ended_early"
            case unexpectedErrors = "unexpected_errors"
            case errorCounts = "error_counts"
            case lockWaits = "lock_waits"
        }
    }

    public struct LockWaits: Codable, Sendable, Hashable {
        public var samples, waitingSum, waitingMax, longestChain: Int
        public var byKindMax: [Int]
        public var longestWaitMilliseconds, longestStatementWaitMilliseconds: Double

        enum CodingKeys: String, CodingKey {
            case samples
            case waitingSum = "waiting_sum"
            case waitingMax = "waiting_max"
            case longestChain = "longest_chain"
            case byKindMax = "by_kind_max"
            case longestWaitMilliseconds = "longest_wait_ms"
            case longestStatementWaitMilliseconds = "longest_statement_wait_ms"
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, shard, shards, seed, clients, threads, variant, note, sessions, transactions, errors, schedule, cycles, intervals
        case schemaVersion = "schema_version"
        case runID = "run_id"
        case workloadSHA256 = "workload_sha256"
        case transactionNames = "transaction_names"
        case counterNames = "counter_names"
        case measurementStart = "measurement_start"
        case windowSeconds = "window_s"
        case startAt = "start_at"
        case lateSeconds = "late_s"
        case ranSetup = "ran_setup"
        case ranTeardown = "ran_teardown"
        case checkedInvariants = "checked_invariants"
        case countersStart = "server_counters_start"
        case countersEnd = "server_counters_end"
    }
}

extension ShardFile {
    /// What one run's figures and facts become in `shard.json`.
    public struct Facts: Sendable {
        public var shard: Int = 0
        public var shards: Int = 1
        public var runID: String?
        public var workloadSHA256: String
        public var clients: Int
        public var measurementStart: Double
        public var startAt: Double?
        public var lateSeconds: Double = 0
        public var ranSetup = true
        public var ranTeardown = true
        public var checkedInvariants = true
        public var note: String?
        public var countersStart: ServerCountersRecord?
        public var countersEnd: ServerCountersRecord?
        public var sessions: [Int32: Int] = [:]
        /// Transaction index a client is dedicated to, by global client index.
        public var dedicated: @Sendable (Int) -> String? = { _ in nil }

        public init(workloadSHA256: String, clients: Int, measurementStart: Double) {
            self.workloadSHA256 = workloadSHA256
            self.clients = clients
            self.measurementStart = measurementStart
        }
    }

    public init(summary: RunSummary, timeseries: [TimeseriesRow], facts: Facts) {
        shard = facts.shard
        shards = facts.shards
        runID = facts.runID
        workloadSHA256 = facts.workloadSHA256
        variant = summary.variant
        seed = summary.seed
        clients = facts.clients
        threads = summary.threads
        transactionNames = summary.transactionNames
        counterNames = summary.counterNames
        measurementStart = facts.measurementStart
        windowSeconds = summary.durationSeconds
        startAt = facts.startAt
        lateSeconds = facts.lateSeconds
        ranSetup = facts.ranSetup
        ranTeardown = facts.ranTeardown
        checkedInvariants = facts.checkedInvariants
        note = facts.note
        countersStart = facts.countersStart
        countersEnd = facts.countersEnd
        sessions = facts.sessions.sorted { $0.key < $1.key }.map { Session(pid: $0.key, client: $0.value, dedicated: facts.dedicated($0.value)) }
        let stats = summary.stats
        transactions = stats.transactions.map(Transaction.init)
        errors = stats.errors.values.sorted { $0.sqlState < $1.sqlState }.map {
            ErrorEntry(sqlState: $0.sqlState, errorClass: $0.errorClass.rawValue, count: $0.count, unexpected: $0.unexpected, sampleMessage: $0.sampleMessage,
                       sampleDetail: $0.sampleDetail, sampleTransaction: $0.sampleTransaction, sampleStep: $0.sampleStep)
        }
        schedule = Schedule(scheduled: stats.schedule.scheduled, skipped: stats.schedule.skipped, unstarted: stats.schedule.unstarted)
        cycles = stats.cyclesByFrequency.map { record in
            Cycle(
                count: record.count, firstSeenSeconds: record.firstSeenSeconds, sampleDetail: record.sampleDetail,
                signature: record.signature.participants.map { SignatureParticipant(template: $0.template, step: $0.step, lockKind: $0.lockKind, mode: $0.mode) },
                participants: record.sampleParticipants.map(Participant.init)
            )
        }
        intervals = timeseries.map { row in
            Interval(
                interval: row.interval, startSeconds: row.startSeconds, endSeconds: row.endSeconds, attempts: row.attempts, committed: row.committed,
                rolledBack: row.rolledBack, endedEarly: row.endedEarly, failed: row.failed, unexpectedErrors: row.unexpectedErrors, retries: row.retries,
                errorCounts: row.errorCounts, units: row.units,
                lockWaits: row.lockWaits.map {
                    LockWaits(samples: $0.samples, waitingSum: $0.waitingSum, waitingMax: $0.waitingMax, longestChain: $0.longestChain, byKindMax: $0.byKindMax,
                              longestWaitMilliseconds: $0.longestWaitMilliseconds, longestStatementWaitMilliseconds: $0.longestStatementWaitMilliseconds)
                }
            )
        }
    }

    /// `latency.hlog` of a run: its intervals' histograms and each transaction type's whole window.
    public static func histogramLog(summary: RunSummary, measurementStart: Double, intervals: [(interval: Int, start: Double, end: Double, encoded: [UInt8])]) -> HistogramLog {
        var log = HistogramLog(startTime: measurementStart)
        for interval in intervals {
            guard let histogram = try? HistogramEncoding.decode(interval.encoded) else { continue }
            log.entries.append(.init(tag: nil, startSeconds: interval.start, lengthSeconds: interval.end - interval.start, histogram: histogram))
        }
        for (name, stats) in zip(summary.transactionNames, summary.stats.transactions) {
            log.entries.append(.init(tag: HistogramLog.transactionTag(name), startSeconds: 0, lengthSeconds: summary.durationSeconds, histogram: stats.latency))
        }
        log.entries.append(.init(tag: HistogramLog.scheduleLagTag, startSeconds: 0, lengthSeconds: summary.durationSeconds, histogram: summary.stats.schedule.lag))
        return log
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    public static func decode(_ text: String, file: String) throws -> ShardFile {
        do {
            return try JSONDecoder().decode(ShardFile.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw ResultFilesError(file: file, decoding: error)
        }
    }
}

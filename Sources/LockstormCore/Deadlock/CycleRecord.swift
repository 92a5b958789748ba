/// One participant of a deadlock as lockstorm saw it: which of its sessions
/// (or an outside one), running what, with which values.
public struct CycleParticipant: Sendable, Hashable {
    public var pid: Int32
    /// The transaction template; `nil` for a session that is not lockstorm's.
    public var template: String?
    /// The step index (0-based) it was executing, when it was a step.
    public var step: Int?
    public var sql: String?
    public var parameters: [String?]
    /// The `:name` of each parameter, when known.
    public var parameterNames: [String]
    /// What it waited for, in PostgreSQL's words (`ShareLock on transaction 731`).
    public var waitsFor: String
    /// Its transaction as sent so far, from BEGIN through the statement it
    /// waited in (what fuzz needs to write a reproduction); empty when unknown.
    public var transaction: [Statement] = []
    public var certainty: Certainty = .inferred
    public enum Certainty: String, Sendable, Hashable { case serverLog = "server-log", inferred, uncertain }

    /// One statement a participant sent: the step (nil for BEGIN and settings), SQL and values.
    public struct Statement: Sendable, Hashable {
        public var step: Int?
        public var sql: String
        public var parameters: [String?]
        /// When it was sent (monotonic nanoseconds; 0 when unknown), to order statements across participants.
        public var sentAt: UInt64

        public init(step: Int?, sql: String, parameters: [String?], sentAt: UInt64 = 0) {
            self.step = step
            self.sql = sql
            self.parameters = parameters
            self.sentAt = sentAt
        }
    }

    public init(pid: Int32, template: String?, step: Int?, sql: String?, parameters: [String?], parameterNames: [String] = [], waitsFor: String) {
        self.pid = pid
        self.template = template
        self.step = step
        self.sql = sql
        self.parameters = parameters
        self.parameterNames = parameterNames
        self.waitsFor = waitsFor
    }

    /// `transfer step 3 (amount=4, dst=7)`-style label, 1-based step.
    public var label: String {
        guard let template else { return "outside session \(pid)" }
        let stepText = step.map { " step \($0 + 1)" } ?? (certainty == .uncertain ? " step ?" : "")
        let values = parameters.enumerated().map { index, value in
            let text = value ?? "NULL"
            return index < parameterNames.count ? "\(parameterNames[index])=\(text)" : text
        }.joined(separator: ", ")
        return "\(template)\(stepText)" + (values.isEmpty ? "" : " (\(values))")
    }
}

/// Every deadlock of one shape (signature) seen during a run.
public struct CycleRecord: Sendable {
    public var signature: DeadlockSignature
    public var count: Int
    /// Seconds after the measurement started when it was first seen.
    public var firstSeenSeconds: Double
    /// The first occurrence, as an example.
    public var sampleDetail: String
    public var sampleParticipants: [CycleParticipant]
    /// Names of the relations the sample's DETAIL names by OID, looked up on
    /// the run's database when the run ended (`RunStats.nameRelations`);
    /// empty when they were not looked up.
    public var relationNames: [UInt32: String] = [:]

    public init(signature: DeadlockSignature, count: Int, firstSeenSeconds: Double, sampleDetail: String, sampleParticipants: [CycleParticipant]) {
        self.signature = signature
        self.count = count
        self.firstSeenSeconds = firstSeenSeconds
        self.sampleDetail = sampleDetail
        self.sampleParticipants = sampleParticipants
    }

    mutating func add(_ other: CycleRecord) {
        count += other.count
        if other.firstSeenSeconds < firstSeenSeconds {
            firstSeenSeconds = other.firstSeenSeconds
            sampleDetail = other.sampleDetail
            sampleParticipants = other.sampleParticipants
        }
    }
}

/// `deadlocks.csv`: one row per distinct cycle (signature), grouped: the
/// group with most deadlocks first (`DeadlockGroup`), and within it the most
/// frequent signature first.
///
/// Version 3 of the schema (results/README.md, "Schema version 3"; the
/// other result files are at 2): `signature, count, group, group_reason,
/// cycle_length, participants, lock_kinds, summary, sample_participants,
/// sample_waits, sample_holds, sample_detail, first_seen_s`.
/// `participants` lists `template:step` (1-based) around the cycle;
/// `sample_participants` the first occurrence's sessions with their SQL
/// values; `sample_waits` the lock each waited for (tables by name) and the
/// statement with its row or key; `sample_holds` what each had already run
/// in its transaction. Earlier versions had no `group`, `group_reason`,
/// `sample_waits` or `sample_holds`, and listed rows by count alone.
public enum DeadlockTable {
    public static let schemaVersion = 3

    public enum Column: String, CaseIterable, Sendable {
        case signature, count, group
        case groupReason = "group_reason"
        case cycleLength = "cycle_length"
        case participants
        case lockKinds = "lock_kinds"
        case summary
        case sampleParticipants = "sample_participants"
        case sampleWaits = "sample_waits"
        case sampleHolds = "sample_holds"
        case sampleDetail = "sample_detail"
        case firstSeenSeconds = "first_seen_s"
    }

    public static let columns = Column.allCases.map(\.rawValue)

    /// The cycles in the file's order: by group, then by count.
    public static func ordered(_ cycles: [CycleRecord]) -> [(record: CycleRecord, group: DeadlockGroup)] {
        DeadlockGroup.groups(cycles).flatMap { group in group.records.map { (record: $0, group: group) } }
    }

    public static func rows(_ cycles: [CycleRecord]) -> [[String]] {
        ordered(cycles).map { record, group in
            let participants = record.signature.participants.map { participant -> String in
                guard let template = participant.template else { return "outside" }
                return "\(template):" + (participant.step.map { String($0 + 1) } ?? "?")
            }
            let explained = record.explainedParticipants
            return [
                record.signature.text, String(record.count), group.key, group.reason, String(record.signature.participants.count),
                participants.joined(separator: " -> "),
                record.signature.participants.map(\.wants).joined(separator: " -> "),
                record.signature.summary,
                record.sampleParticipants.map(\.label).joined(separator: " -> "),
                explained.map(\.wants).joined(separator: " -> "),
                explained.map { "\($0.name): \($0.holdsText)" }.joined(separator: " -> "),
                record.sampleDetail,
                Format.fixed(record.firstSeenSeconds, digits: 3),
            ]
        }
    }
}

extension RunStats {
    /// Distinct deadlock cycles, most frequent first.
    public var cyclesByFrequency: [CycleRecord] {
        cycles.values.sorted { ($0.count, $1.signature.text) > ($1.count, $0.signature.text) }
    }

    /// Distinct cycles grouped by their statements and tables, most deadlocks first.
    public var deadlockGroups: [DeadlockGroup] { DeadlockGroup.groups(cyclesByFrequency) }

    /// The relation OIDs the sample DETAILs name, with their database, in a
    /// stable order: what `nameRelations` needs looked up.
    public var relationOIDs: [(relation: UInt32, database: UInt32)] {
        var seen: Set<UInt64> = []
        var found: [(relation: UInt32, database: UInt32)] = []
        for record in cyclesByFrequency {
            for edge in DeadlockReport.parse(detail: record.sampleDetail, context: nil)?.edges ?? [] {
                for pair in edge.lock.relations where seen.insert(UInt64(pair.database) << 32 | UInt64(pair.relation)).inserted {
                    found.append(pair)
                }
            }
        }
        return found
    }

    /// Gives every cycle the relation names looked up on the run's database
    /// (OID → `oid::regclass` text), so every output shows tables by name.
    public mutating func nameRelations(_ names: [UInt32: String]) {
        guard !names.isEmpty else { return }
        for key in cycles.keys { cycles[key]?.relationNames = names }
    }

    /// A deadlock this worker's client was the victim of.
    public mutating func recordCycle(_ record: CycleRecord) {
        if cycles[record.signature.text] != nil {
            cycles[record.signature.text]?.add(record)
        } else {
            cycles[record.signature.text] = record
        }
    }
}

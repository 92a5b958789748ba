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

/// `deadlocks.csv`: one row per distinct cycle (signature), most frequent first.
///
/// Version 1 of the schema: `signature, count, cycle_length, participants,
/// lock_kinds, summary, sample_participants, sample_detail, first_seen_s`.
/// `participants` lists `template:step` (1-based) around the cycle;
/// `sample_participants` the first occurrence's sessions with their SQL values.
public enum DeadlockTable {
    public enum Column: String, CaseIterable, Sendable {
        case signature, count
        case cycleLength = "cycle_length"
        case participants
        case lockKinds = "lock_kinds"
        case summary
        case sampleParticipants = "sample_participants"
        case sampleDetail = "sample_detail"
        case firstSeenSeconds = "first_seen_s"
    }

    public static let columns = Column.allCases.map(\.rawValue)

    public static func rows(_ cycles: [CycleRecord]) -> [[String]] {
        cycles.map { record in
            let participants = record.signature.participants.map { participant -> String in
                guard let template = participant.template else { return "outside" }
                return participant.step.map { "\(template):\($0 + 1)" } ?? template
            }
            return [
                record.signature.text, String(record.count), String(record.signature.participants.count),
                participants.joined(separator: " -> "),
                record.signature.participants.map(\.wants).joined(separator: " -> "),
                record.signature.summary,
                record.sampleParticipants.map(\.label).joined(separator: " -> "),
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

    /// A deadlock this worker's client was the victim of.
    public mutating func recordCycle(_ record: CycleRecord) {
        if cycles[record.signature.text] != nil {
            cycles[record.signature.text]?.add(record)
        } else {
            cycles[record.signature.text] = record
        }
    }
}

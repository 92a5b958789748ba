/// Which statement each backend of a deadlock was waiting in, decided from
/// what the client side saw when the victim got its error and, when lockstorm
/// can read the server's log, from the server's own report.
///
/// What the client side knows: the victim's statement window (sent, error
/// received) and, for every session of the run in the cycle, its recent
/// statements with their send and completion times (the session board,
/// copied when the error arrived). The deadlock check ran at some moment
/// `D` inside the victim's window, and every backend in the cycle was
/// blocked in one statement from before `D` until the victim's transaction
/// aborted, after `D`. So a participant's statement is one that was sent
/// before the error was received and had not completed when the victim's
/// statement was sent: those are its *candidates*. No estimate of `D` is
/// made (a statement can wait on a tuple lock, then a transaction lock; a
/// deadlock can be found the moment a lock is requested).
///
/// - With the server's report (`.serverLog`): the candidate whose text is
///   the query the report names for that PID. Identical text at several
///   steps is told apart by the lock it waits for, then by the latest sent
///   (the earlier one completed before the later was sent, so it was not
///   blocked at the check unless the check came before its completion).
/// - Client side only (`.inferred`): the one candidate whose statement can
///   wait for the lock the DETAIL names (`StatementLockFit`). With none or
///   several, the participant is `.uncertain`: its step is nil, never guessed.
public enum DeadlockAttribution {
    /// One statement a session sent, as kept when the error arrived.
    public struct SessionStatement: Sendable, Hashable {
        /// Index of its transaction template in the plan.
        public var transaction: Int
        /// Step index (0-based); nil for BEGIN, settings, COMMIT, ROLLBACK.
        public var step: Int?
        public var sql: String
        public var parameters: [String?]
        public var sentAt: UInt64
        /// nil while in flight.
        public var completedAt: UInt64?

        public init(transaction: Int, step: Int?, sql: String, parameters: [String?], sentAt: UInt64, completedAt: UInt64?) {
            self.transaction = transaction
            self.step = step
            self.sql = sql
            self.parameters = parameters
            self.sentAt = sentAt
            self.completedAt = completedAt
        }
    }

    /// What the client side saw of one deadlock when its victim got 40P01.
    public struct Witness: Sendable {
        public var report: DeadlockReport
        /// When the victim's failing statement was sent, and when its error
        /// was received (monotonic nanoseconds).
        public var victimSentAt: UInt64
        public var errorAt: UInt64
        /// Each of the run's sessions among the PIDs: its statements, oldest first.
        public var sessions: [Int32: [SessionStatement]]

        public init(report: DeadlockReport, victimSentAt: UInt64, errorAt: UInt64, sessions: [Int32: [SessionStatement]]) {
            self.report = report
            self.victimSentAt = victimSentAt
            self.errorAt = errorAt
            self.sessions = sessions
        }
    }

    /// The statements of `statements` that may be the one the session was
    /// blocked in at the check (see the type's comment).
    static func candidates(_ statements: [SessionStatement], witness: Witness) -> [Int] {
        statements.indices.filter { index in
            let statement = statements[index]
            guard statement.sentAt <= witness.errorAt else { return false }
            // A completion is timed when its result was read, after the
            // server finished it; a statement that completed at the very
            // time the victim's was sent (one clock reading for both) was
            // done before the victim's even went out.
            if let completed = statement.completedAt, completed <= witness.victimSentAt { return false }
            return true
        }
    }

    /// The participants of `witness`'s cycle, in DETAIL order, each with its
    /// template, step, statement and values, and how certain that is.
    /// `log` is the server's report of this deadlock, when there is one.
    public static func participants(_ witness: Witness, log: ServerLogDeadlock?, plan: RunPlan) -> [CycleParticipant] {
        // A pipelined transaction's statements go on the board when the one
        // before is read back, later than the server starts them: their
        // times bound nothing, and the client side decides nothing.
        let timesHold = !witness.sessions.values.contains { statements in
            statements.contains { $0.transaction < plan.transactions.count && plan.transactions[$0.transaction].pipeline }
        }
        return witness.report.edges.map { edge in
            participant(edge: edge, witness: witness, log: log, plan: plan, timesHold: timesHold)
        }
    }

    static func participant(edge: DeadlockEdge, witness: Witness, log: ServerLogDeadlock?, plan: RunPlan, timesHold: Bool) -> CycleParticipant {
        let waitsFor = "\(edge.mode) on \(edge.lock.summary)"
        guard let statements = witness.sessions[edge.waiter] else {
            // Not one of the run's sessions: the log may still say what it ran.
            var outside = CycleParticipant(pid: edge.waiter, template: nil, step: nil, sql: log?.queries[edge.waiter], parameters: [], waitsFor: waitsFor)
            outside.certainty = log?.queries[edge.waiter] != nil ? .serverLog : .uncertain
            return outside
        }
        let candidates = candidates(statements, witness: witness)
        if let query = log?.queries[edge.waiter] {
            let matching = candidates.filter { statements[$0].step != nil && textMatches(sent: statements[$0].sql, logged: query) }
            let fitting = matching.filter { StatementLockFit.fits(sql: statements[$0].sql, edge: edge) }
            if let chosen = (fitting.isEmpty ? matching : fitting).last {
                return make(statements, chosen, edge: edge, waitsFor: waitsFor, certainty: .serverLog, plan: plan)
            }
        }
        let fitting = candidates.filter { StatementLockFit.fits(sql: statements[$0].sql, edge: edge) }
        // Several candidates that are the same step of the same attempt's template are one answer.
        let distinct = Set(fitting.map { StepKey(transaction: statements[$0].transaction, step: statements[$0].step) })
        if timesHold, distinct.count == 1, let chosen = fitting.last, statements[chosen].step != nil {
            return make(statements, chosen, edge: edge, waitsFor: waitsFor, certainty: .inferred, plan: plan)
        }
        // Uncertain: the template when every candidate agrees on it, never a step.
        let templates = Set((fitting.isEmpty ? candidates : fitting).map { statements[$0].transaction })
        let transaction = templates.count == 1 ? templates.first : nil
        let name = transaction.flatMap { $0 < plan.transactions.count ? plan.transactions[$0].name : nil }
        var uncertain = CycleParticipant(pid: edge.waiter, template: name ?? unknownTemplate, step: nil, sql: nil, parameters: [], waitsFor: waitsFor)
        uncertain.certainty = .uncertain
        return uncertain
    }

    /// The template shown for a session of the run whose transaction could
    /// not be told (its candidates span templates): still not an outside session.
    public static let unknownTemplate = "?"

    private struct StepKey: Hashable {
        var transaction: Int
        var step: Int?
    }

    private static func make(_ statements: [SessionStatement], _ index: Int, edge: DeadlockEdge, waitsFor: String, certainty: CycleParticipant.Certainty, plan: RunPlan) -> CycleParticipant {
        let statement = statements[index]
        let template = statement.transaction < plan.transactions.count ? plan.transactions[statement.transaction] : nil
        var names: [String] = []
        if let template, let step = statement.step, step < template.stepParameterNames.count { names = template.stepParameterNames[step] }
        var participant = CycleParticipant(
            pid: edge.waiter, template: template?.name ?? unknownTemplate, step: statement.step, sql: statement.sql,
            parameters: statement.parameters, parameterNames: names, waitsFor: waitsFor
        )
        participant.certainty = certainty
        participant.transaction = attempt(statements, through: index)
        return participant
    }

    /// The statements from the attempt's BEGIN through `index`; empty when
    /// the BEGIN is no longer kept.
    static func attempt(_ statements: [SessionStatement], through index: Int) -> [CycleParticipant.Statement] {
        guard let begin = statements[...index].lastIndex(where: {
            $0.step == nil && ($0.sql.hasPrefix("BEGIN") || $0.sql.hasPrefix("START"))
        }) else { return [] }
        return statements[begin...index].map { CycleParticipant.Statement(step: $0.step, sql: $0.sql, parameters: $0.parameters, sentAt: $0.sentAt) }
    }

    /// Whether the query the server logged is the text lockstorm sent: equal
    /// once trimmed, or its beginning when the server cut it at
    /// `track_activity_query_size`.
    public static func textMatches(sent: String, logged: String) -> Bool {
        let sentText = trim(sent), loggedText = trim(logged)
        if sentText == loggedText { return true }
        return loggedText.utf8.count >= 1_000 && sentText.hasPrefix(loggedText)
    }

    private static func trim(_ text: String) -> Substring {
        var slice = Substring(text)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace || last == ";" { slice = slice.dropLast() }
        return slice
    }
}

extension CycleRecord {
    /// One deadlock from its attributed participants (`DeadlockAttribution`):
    /// the signature names each participant's template and step, with no
    /// step for an uncertain one.
    public init(participants: [CycleParticipant], report: DeadlockReport, detail: String, firstSeenSeconds: Double) {
        let signature = DeadlockSignature(participants: zip(report.edges, participants).map { edge, participant in
            DeadlockSignature.Participant(template: participant.template, step: participant.step, lockKind: edge.lock.kind, mode: edge.mode)
        })
        self.init(signature: signature, count: 1, firstSeenSeconds: firstSeenSeconds, sampleDetail: detail, sampleParticipants: participants)
    }
}

/// One deadlock as attributed, for `deadlock-events.csv` and for checking
/// the attribution against the server's log.
public struct DeadlockEventRecord: Sendable {
    /// Seconds after the measurement started.
    public var seconds: Double
    public var victimPID: Int32
    public var report: DeadlockReport
    /// The attribution the run's results use.
    public var participants: [CycleParticipant]
    /// The client-side method's answer alone (no server log), for comparison.
    public var clientSide: [CycleParticipant]
    /// The server's report was found in its log.
    public var logFound: Bool

    public init(seconds: Double, victimPID: Int32, report: DeadlockReport, participants: [CycleParticipant], clientSide: [CycleParticipant], logFound: Bool) {
        self.seconds = seconds
        self.victimPID = victimPID
        self.report = report
        self.participants = participants
        self.clientSide = clientSide
        self.logFound = logFound
    }
}

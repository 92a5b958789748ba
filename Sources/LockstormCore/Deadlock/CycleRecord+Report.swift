/// What lockstorm knew of one of its sessions in a deadlock cycle: the
/// statement it was running when the server detected the deadlock, and its
/// transaction from BEGIN through that statement.
public struct CycleSession: Sendable, Hashable {
    /// Index of the transaction template in the run's plan.
    public var transaction: Int
    public var statement: CycleParticipant.Statement
    /// Its attempt so far (`CycleParticipant.transaction`); empty when unknown.
    public var attempt: [CycleParticipant.Statement]

    public init(transaction: Int, statement: CycleParticipant.Statement, attempt: [CycleParticipant.Statement]) {
        self.transaction = transaction
        self.statement = statement
        self.attempt = attempt
    }
}

extension CycleRecord {
    /// One deadlock, rebuilt from the victim's report: every PID in the cycle
    /// becomes a participant with the template, step, statement and values
    /// `session` knows for it (`nil`: an outside session, or none running),
    /// and the shape's signature names the templates and steps.
    public init(
        report: DeadlockReport, detail: String, plan: RunPlan, firstSeenSeconds: Double, session: (Int32) -> CycleSession?
    ) {
        var participants: [CycleParticipant] = []
        var sessions: [Int32: (template: String, step: Int?)] = [:]
        for edge in report.edges {
            let known = session(edge.waiter)
            let template = known.map { plan.transactions[$0.transaction].name }
            let step = known?.statement.step
            if let template { sessions[edge.waiter] = (template, step) }
            var names: [String] = []
            if let known, let step, step < plan.transactions[known.transaction].stepParameterNames.count {
                names = plan.transactions[known.transaction].stepParameterNames[step]
            }
            var participant = CycleParticipant(
                pid: edge.waiter, template: template, step: step, sql: known?.statement.sql,
                parameters: known?.statement.parameters ?? [], parameterNames: names, waitsFor: "\(edge.mode) on \(edge.lock.summary)"
            )
            if let known { participant.transaction = known.attempt }
            participants.append(participant)
        }
        let signature = DeadlockSignature(report: report) { sessions[$0] }
        self.init(signature: signature, count: 1, firstSeenSeconds: firstSeenSeconds, sampleDetail: detail, sampleParticipants: participants)
    }
}

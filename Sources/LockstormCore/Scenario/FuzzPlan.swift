/// The decisions `lockstorm fuzz` makes for one round, drawn from the fuzz
/// seed and the round number only: the same seed makes the same decisions.
public struct FuzzRound: Sendable, Hashable {
    public var index: Int
    /// Concurrent clients this round.
    public var clients: Int
    /// Every integer `uniform`, `zipf` or `hotspot` draw over `lower…upper`
    /// becomes `uniform(lower, lower + hotSetSize - 1)` (its lowest values,
    /// where zipf and hotspot put their hot keys); `choice` is left alone,
    /// so that transactions collide on a few keys. Never below what a
    /// `!=` draw needs.
    public var hotSetSize: Int64
    /// A pause `uniform(0, pauseNanoseconds)` is added between consecutive
    /// SQL steps (0: none added), widening the windows between locks.
    public var pauseNanoseconds: Int64
    /// The seed of the round's load (every client's draws and pauses).
    public var loadSeed: UInt64

    public static let clientChoices = 2...8
    public static let hotSetChoices: [Int64] = [2, 3, 4, 8, 16]
    public static let pauseChoices: [Int64] = [0, 200_000, 1_000_000, 3_000_000]

    public init(index: Int, clients: Int, hotSetSize: Int64, pauseNanoseconds: Int64, loadSeed: UInt64) {
        self.index = index
        self.clients = clients
        self.hotSetSize = hotSetSize
        self.pauseNanoseconds = pauseNanoseconds
        self.loadSeed = loadSeed
    }

    /// Round `index`'s decisions under `seed`.
    public init(seed: UInt64, index: Int) {
        var random = RandomSource(seed: seed ^ 0xF022_F022_0000_0001, stream: index)
        let clients = Int(random.uniform(Int64(Self.clientChoices.lowerBound), Int64(Self.clientChoices.upperBound)))
        let hot = Self.hotSetChoices[Int(random.uniform(0, Int64(Self.hotSetChoices.count - 1)))]
        let pause = Self.pauseChoices[Int(random.uniform(0, Int64(Self.pauseChoices.count - 1)))]
        self.init(index: index, clients: clients, hotSetSize: hot, pauseNanoseconds: pause, loadSeed: random.next())
    }

    /// `5 clients, hot set 4, pauses ≤ 1 ms`.
    public var label: String {
        let pause = pauseNanoseconds == 0 ? "no added pauses" : "pauses ≤ \(Format.fixed(Double(pauseNanoseconds) / 1e6, digits: pauseNanoseconds < 1_000_000 ? 1 : 0)) ms"
        return "\(clients) clients, hot set \(hotSetSize), \(pause)"
    }
}

/// A plan perturbed for one fuzz round, and how its steps map back.
public struct PerturbedPlan: Sendable {
    public var plan: RunPlan
    /// For each transaction, the original step index of each perturbed step
    /// (`nil` for a pause fuzz added).
    public var originalSteps: [[Int?]]

    /// Applies `round`'s hot set and pauses to `plan`.
    public init(_ plan: RunPlan, round: FuzzRound) {
        var perturbed = plan
        var maps: [[Int?]] = []
        for index in perturbed.transactions.indices {
            var transaction = perturbed.transactions[index]
            transaction.draws = transaction.draws.map { draw in
                let lower: Int64, upper: Int64
                switch draw.distribution {
                case .uniform(let low, let high), .hotspot(let low, let high, _, _):
                    (lower, upper) = (low, high)
                case .zipf(let low, let sampler):
                    (lower, upper) = (low, low &+ Int64(sampler.count) &- 1)
                case .constant, .choice, .computed:
                    return draw
                }
                let size = max(round.hotSetSize, Int64(draw.distinctFrom.count + 1))
                if upper - lower + 1 <= size { return draw }
                var narrowed = draw
                narrowed.distribution = .uniform(lower, lower + size - 1)
                return narrowed
            }
            var steps: [CompiledStep] = []
            var names: [[String]] = []
            var map: [Int?] = []
            let sqlIndices = transaction.steps.indices.filter { if case .sql = transaction.steps[$0] { true } else { false } }
            for (position, step) in transaction.steps.enumerated() {
                steps.append(step)
                names.append(position < transaction.stepParameterNames.count ? transaction.stepParameterNames[position] : [])
                map.append(position)
                if round.pauseNanoseconds > 0, case .sql = step, let last = sqlIndices.last, position < last {
                    steps.append(.pause(.uniform(0, round.pauseNanoseconds)))
                    names.append([])
                    map.append(nil)
                }
            }
            transaction.steps = steps
            transaction.stepParameterNames = names
            perturbed.transactions[index] = transaction
            maps.append(map)
        }
        self.plan = perturbed
        self.originalSteps = maps
    }

    /// A cycle seen under the perturbed plan, with steps mapped back to the
    /// original plan's (so signatures read as in `lockstorm run`).
    public func original(_ record: CycleRecord) -> CycleRecord {
        func map(template: String?, step: Int?) -> Int? {
            guard let template, let step, let transaction = plan.transactions.firstIndex(where: { $0.name == template }) else { return step }
            let steps = originalSteps[transaction]
            return step < steps.count ? steps[step] : step
        }
        let signature = DeadlockSignature(participants: record.signature.participants.map { participant in
            var mapped = participant
            mapped.step = map(template: participant.template, step: participant.step)
            return mapped
        })
        let participants = record.sampleParticipants.map { participant -> CycleParticipant in
            var mapped = participant
            mapped.step = map(template: participant.template, step: participant.step)
            mapped.transaction = participant.transaction.map { statement in
                var copy = statement
                copy.step = map(template: participant.template, step: statement.step)
                return copy
            }
            return mapped
        }
        return CycleRecord(signature: signature, count: record.count, firstSeenSeconds: record.firstSeenSeconds, sampleDetail: record.sampleDetail, sampleParticipants: participants)
    }
}

extension Reproduction {
    /// Why a cycle could not be turned into a reproduction.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// No replay of it ran: the time budget was spent first.
        public var notReplayed = false

        public init(description: String) {
            self.description = description
        }
    }

    /// The reproduction of `record` (steps already mapped to `plan`'s):
    /// one session per participant, in cycle order, each with its
    /// transaction's statements up to the one it waited in.
    ///
    /// Drawn values (and parameters) are fixed as the values they were sent
    /// with. A value a step captured (`into:`) is not: it may be a key the
    /// server generates (`INSERT … RETURNING order_id`), different on every
    /// run, so a capture whose variable a later statement uses is re-run and
    /// its first row kept in a temporary table for the transaction
    /// (`CREATE TEMP TABLE lockstorm_into_N (order_id) ON COMMIT DROP AS
    /// WITH captured AS (…) SELECT * FROM captured`), and the later
    /// statements read it from there (`(SELECT "order_id" FROM
    /// lockstorm_into_N LIMIT 1)`), typed as the server returned it. The
    /// temporary table is the session's own: it takes no lock another
    /// session could wait for.
    public static func from(
        _ record: CycleRecord, plan: RunPlan, workload: Workload, deadlockTimeoutMilliseconds: Int?
    ) throws(Unavailable) -> Reproduction {
        var sessions: [Session] = []
        for (index, participant) in record.sampleParticipants.enumerated() {
            guard let template = participant.template, let transaction = plan.transactions.first(where: { $0.name == template }) else {
                throw Unavailable(description: "participant \(index + 1) (backend \(participant.pid)) is not one of lockstorm's sessions")
            }
            let statements = participant.transaction.filter { $0.step.map { $0 < transaction.stepParameterNames.count && $0 < transaction.steps.count } ?? false }
            guard !statements.isEmpty, participant.transaction.first?.step == nil else {
                throw Unavailable(description: "the statements of \(template)'s transaction (backend \(participant.pid)) were not recorded")
            }
            var steps: [(text: String, templateStep: Int?)] = []
            var values: [(name: String, value: String?)] = []
            /// Variable → the temporary table holding what its capture returned.
            var captured: [String: String] = [:]
            for (position, statement) in statements.enumerated() {
                guard let step = statement.step else { continue }
                let names = transaction.stepParameterNames[step]
                var replacements: [String: String] = [:]
                for name in names {
                    if let table = captured[name] { replacements[name] = "(SELECT \(quotedIdentifier(name)) FROM \(table) LIMIT 1)" }
                }
                var text = restoringNames(statement.sql, names: names, replacing: replacements)
                if case .sql(_, _, let options) = transaction.steps[step], !options.captureSlots.isEmpty {
                    let into = options.captureSlots.compactMap { $0 < transaction.variableNames.count ? transaction.variableNames[$0] : nil }
                    let usedLater = statements[(position + 1)...].contains { later in
                        later.step.map { transaction.stepParameterNames[$0].contains(where: into.contains) } ?? false
                    }
                    for name in into { captured[name] = nil }
                    if usedLater {
                        let table = "lockstorm_into_\(step + 1)"
                        let query = text.trimmingWhitespace().trimmingSuffix(";")
                        text = "CREATE TEMP TABLE \(table) (\(into.map(quotedIdentifier).joined(separator: ", "))) ON COMMIT DROP AS "
                            + "WITH captured AS (\(query)) SELECT * FROM captured"
                        for name in into { captured[name] = table }
                    }
                }
                steps.append((text, step))
                for (name, value) in zip(names, statement.parameters) where replacements[name] == nil && !values.contains(where: { $0.name == name }) {
                    values.append((name, value))
                }
            }
        let isolation = IsolationLevel.allCases.first { $0.sql == transaction.begin }
            let settings = transaction.settings.compactMap { setting -> Setting? in
                guard setting.parameters.count == 2, let name = setting.parameters[0], let value = setting.parameters[1] else { return nil }
                return Setting(name: name, value: value)
            }
            sessions.append(Session(name: "\(template)_\(index + 1)", template: template, isolation: isolation, settings: settings, steps: steps, parameters: values))
        }
        let variant = plan.variantName.map { "/\($0)" } ?? ""
        var reproduction = Reproduction(
            name: "\(plan.workloadName)\(variant)-deadlock",
            description: record.signature.summary,
            parameters: plan.parameters,
            setup: workload.setup?.text, teardown: workload.teardown?.text,
            deadlockTimeoutMilliseconds: deadlockTimeoutMilliseconds, sessions: sessions, signature: record.signature.text
        )
        reproduction.recordedOrder = recordedOrder(record)
        return reproduction
    }

    /// The participants' steps in the order they were sent during the run,
    /// as session indices; nil when a send time is missing or two tie.
    static func recordedOrder(_ record: CycleRecord) -> [Int]? {
        var sends: [(at: UInt64, session: Int)] = []
        for (index, participant) in record.sampleParticipants.enumerated() {
            for statement in participant.transaction where statement.step != nil {
                guard statement.sentAt > 0 else { return nil }
                sends.append((statement.sentAt, index))
            }
        }
        guard Set(sends.map(\.at)).count == sends.count else { return nil }
        return sends.sorted { $0.at < $1.at }.map(\.session)
    }
}

extension CycleRecord {
    /// Why the cycle cannot be filed under `plan`'s steps, or nil when it can:
    /// every participant is one of lockstorm's sessions, runs a transaction of
    /// the plan, sits at one of its SQL steps, and was not left uncertain by
    /// the attribution. Fuzz reports only attributed cycles as found; a shape
    /// with a guessed or missing step is one the workload may not produce.
    public func unattributedReason(in plan: RunPlan) -> String? {
        for (index, participant) in sampleParticipants.enumerated() {
            let who = "participant \(index + 1) (backend \(participant.pid))"
            if participant.certainty == .uncertain { return "\(who): which statement it waited in is uncertain" }
            guard let template = participant.template else { return "\(who) is not one of lockstorm's sessions" }
            guard let transaction = plan.transactions.first(where: { $0.name == template }) else { return "\(who) runs '\(template)', not a transaction of the workload" }
            guard let step = participant.step else { return "\(who) (\(template)) waited outside any step" }
            guard step < transaction.steps.count, case .sql = transaction.steps[step] else { return "\(who): \(template) step \(step + 1) is not a SQL step" }
        }
        for participant in signature.participants where participant.template == nil || participant.step == nil {
            return "the cycle names \(participant.name) without a step"
        }
        return nil
    }
}

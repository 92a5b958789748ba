import Foundation
import LockstormCore
import PostgresClient

/// How long and how `lockstorm fuzz` runs.
public struct FuzzOptions: Sendable {
    public var seed: UInt64
    /// Stop after this many rounds (`--iterations`).
    public var rounds: Int?
    /// The budget of the whole command in seconds (`-T`), verification
    /// included, counted from `startedAt`: no round starts and no replay runs
    /// once it is spent, and the round that runs into it is cut short.
    public var durationSeconds: Double?
    /// When the budget started (monotonic nanoseconds); nil: when `Fuzzer.run` starts.
    public var startedAt: UInt64?
    /// Stop at the first cycle whose reproduction is verified.
    public var stopOnFirst = false
    /// Transactions each client runs per round.
    public var transactionsPerClient = 25
    /// The deadlock_timeout the sessions run with (written into reproductions).
    public var deadlockTimeoutMilliseconds: Int?
    /// `SET LOCAL deadlock_timeout` in every fuzzed transaction: a server that
    /// is not lockstorm's, whose role may lower it (see `DeadlockTimeoutProbe`).
    public var sessionDeadlockTimeoutMilliseconds: Int?
    /// Replays in a row that must all deadlock with the same signature before a reproduction is saved.
    public var verifyAttempts = 3
    public var scenarioOptions = ScenarioRunOptions()
    /// The server's log, for deadlock attribution (`LoadOptions.serverLogPath`).
    public var serverLogPath: String?

    public init(seed: UInt64) {
        self.seed = seed
    }
}

/// One distinct cycle fuzz found.
public struct FuzzFinding: Sendable {
    public var record: CycleRecord
    /// Seconds from the start of fuzzing to the first occurrence.
    public var firstFoundSeconds: Double
    public var round: Int
    /// The reproduction's text once verified by a replay; nil when none could be made.
    public var reproduction: Reproduction?
    /// Why there is no reproduction.
    public var reproductionProblem: String?
    /// The reproduction was not tried: the budget was spent first.
    public var notReplayed = false
}

/// What a fuzz session did.
public struct FuzzOutcome: Sendable {
    /// Why fuzzing ended.
    public enum End: Sendable, Hashable {
        case rounds, budget, firstVerified, signal
    }

    public var rounds: [(round: FuzzRound, transactions: Int, deadlocks: Int)]
    /// Distinct cycles in the order found (counts up to date); attributed ones only.
    public var findings: [FuzzFinding]
    public var seconds: Double
    /// Deadlocks whose cycle could not be filed under the workload's steps
    /// (`CycleRecord.unattributedReason`): counted, never reported as found.
    public var unattributedDeadlocks = 0
    /// Their distinct signatures.
    public var unattributedShapes = 0
    /// New cycles of the last round left unexamined once `--stop-on-first` had its verified cycle.
    public var leftAfterFirst = 0
    public var end: End = .rounds
    /// Seconds from the start of the budget to the first verified reproduction.
    public var firstVerifiedSeconds: Double?
}

/// What the server's deadlock_timeout is, and whether lockstorm's sessions
/// may lower it: on a server that is not lockstorm's, a plain role gets
/// "permission denied to set parameter" (the setting is superuser-only
/// unless granted), and then every deadlock costs the server's timeout.
public struct DeadlockTimeoutProbe: Sendable, Hashable {
    /// `SHOW deadlock_timeout` as the server says it (`1s`).
    public var serverText: String
    public var serverMilliseconds: Int?
    /// The value asked for.
    public var wantedMilliseconds: Int
    /// Whether a session may set it to `wantedMilliseconds`.
    public var lowered: Bool
    /// The server's answer when it refused.
    public var refusal: String?

    public init(serverText: String, serverMilliseconds: Int?, wantedMilliseconds: Int, lowered: Bool, refusal: String? = nil) {
        self.serverText = serverText
        self.serverMilliseconds = serverMilliseconds
        self.wantedMilliseconds = wantedMilliseconds
        self.lowered = lowered
        self.refusal = refusal
    }

    /// The value the sessions run with.
    public var effectiveMilliseconds: Int? { lowered ? wantedMilliseconds : serverMilliseconds }

    /// Asks the server on a connection of its own.
    public static func probe(dsn: ConnectionString, wantedMilliseconds: Int, connectTimeout: Int = 10) throws(RunError) -> DeadlockTimeoutProbe {
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection(dsn: dsn, connectTimeout: connectTimeout, applicationName: "lockstorm-admin")
        } catch {
            throw RunError(.connect, "cannot connect to \(dsn): \(error)")
        }
        let text: String
        do {
            text = try connection.execute("SHOW deadlock_timeout").scalar ?? ""
        } catch {
            throw RunError(.connect, "cannot read deadlock_timeout on \(dsn): \(error)")
        }
        let server = LoadRunner.nanoseconds(postgresSetting: text).map { Int($0 / 1_000_000) }
        var probe = DeadlockTimeoutProbe(serverText: text, serverMilliseconds: server, wantedMilliseconds: wantedMilliseconds, lowered: false)
        if server == wantedMilliseconds { return probe }
        do {
            try connection.execute("SELECT set_config('deadlock_timeout', $1, false)", ["\(wantedMilliseconds)ms"])
            probe.lowered = true
        } catch {
            probe.refusal = (error as? PostgresError)?.message ?? "\(error)"
        }
        return probe
    }

    /// `1 s`, `20 ms`.
    public static func format(milliseconds: Int) -> String {
        milliseconds >= 1000 && milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}

/// Runs a workload round after round under seeded perturbations (see
/// `FuzzRound`), collects distinct deadlock signatures, and for each new one
/// builds a reproduction and verifies it by replaying it before handing it on.
public enum Fuzzer {
    public static func run(
        plan: RunPlan, workload: Workload, dsn: ConnectionString, options: FuzzOptions, stop: StopSignal,
        onRound: (FuzzRound, Int, Int) -> Void = { _, _, _ in }, onFinding: (FuzzFinding) -> Void = { _ in }
    ) throws(RunError) -> FuzzOutcome {
        let start = options.startedAt ?? MonotonicClock.now()
        var outcome = FuzzOutcome(rounds: [], findings: [], seconds: 0)
        var unattributed: Set<String> = []
        var index = 0
        func elapsed() -> Double { Double(MonotonicClock.now() &- start) / 1e9 }
        let deadline = options.durationSeconds.map { start &+ UInt64($0 * 1e9) }
        func remaining() -> Double? { options.durationSeconds.map { $0 - elapsed() } }
        rounds: while true {
            if stop.isSet {
                outcome.end = .signal
                break
            }
            if let rounds = options.rounds, index >= rounds { break }
            if let left = remaining(), left <= 0 {
                outcome.end = .budget
                break
            }
            let round = FuzzRound(seed: options.seed, index: index)
            var perturbed = PerturbedPlan(plan, round: round)
            if let milliseconds = options.sessionDeadlockTimeoutMilliseconds {
                for transaction in perturbed.plan.transactions.indices {
                    let local = perturbed.plan.transactions[transaction].autocommit ? "false" : "true"
                    perturbed.plan.transactions[transaction].settings.append(
                        BoundStatement(sql: "SELECT set_config($1, $2, \(local))", parameters: ["deadlock_timeout", "\(milliseconds)ms"]))
                }
            }
            var load = LoadOptions(clients: round.clients, threads: min(round.clients, 2), transactionsPerClient: options.transactionsPerClient, seed: round.loadSeed, graceSeconds: 2)
            load.sampleIntervalSeconds = 0
            // The round that runs into the budget is cut short there: what is
            // in flight then gets half a second to finish (a deadlock found
            // then is still counted), then it is canceled.
            if let left = remaining() {
                load.durationSeconds = left
                load.graceSeconds = 0.5
            }
            load.serverLogPath = options.serverLogPath
            let roundStart = elapsed()
            let result = try LoadRunner.run(plan: perturbed.plan, dsn: dsn, options: load, stop: stop)
            let total = result.summary.rows.last?.stats ?? result.summary.stats.total  // the summary made it already
            outcome.rounds.append((round, total.attempts, total.count(.deadlock)))
            onRound(round, total.attempts, total.count(.deadlock))
            let cycles = result.summary.stats.cyclesByFrequency.sorted(by: { $0.firstSeenSeconds < $1.firstSeenSeconds })
            for (position, cycle) in cycles.enumerated() {
                let record = perturbed.original(cycle)
                if record.unattributedReason(in: plan) != nil {
                    outcome.unattributedDeadlocks += record.count
                    unattributed.insert(record.signature.text)
                    outcome.unattributedShapes = unattributed.count
                    continue
                }
                if let known = outcome.findings.firstIndex(where: { $0.record.signature == record.signature }) {
                    outcome.findings[known].record.count += record.count
                    continue
                }
                var finding = FuzzFinding(record: record, firstFoundSeconds: roundStart + record.firstSeenSeconds, round: index)
                if stop.isSet {
                    finding.reproductionProblem = "not replayed: interrupted"
                    finding.notReplayed = true
                } else {
                    do {
                        finding.reproduction = try reproduce(record, plan: plan, workload: workload, dsn: dsn, options: options, deadline: deadline)
                    } catch {
                        finding.reproductionProblem = error.description
                        finding.notReplayed = error.notReplayed
                    }
                }
                outcome.findings.append(finding)
                onFinding(finding)
                if finding.reproduction != nil, outcome.firstVerifiedSeconds == nil { outcome.firstVerifiedSeconds = elapsed() }
                if options.stopOnFirst, finding.reproduction != nil {
                    // The rest of the round's new, attributed cycles are left alone.
                    outcome.leftAfterFirst = cycles[(position + 1)...].filter { cycle in
                        let other = perturbed.original(cycle)
                        return other.unattributedReason(in: plan) == nil && !outcome.findings.contains { $0.record.signature == other.signature }
                    }.count
                    outcome.end = .firstVerified
                    break rounds
                }
            }
            index += 1
        }
        outcome.seconds = elapsed()
        return outcome
    }

    /// Builds the reproduction of `record` and replays it: an order is kept
    /// when every one of `verifyAttempts` replays deadlocks with the same
    /// signature (one that reproduces only now and then is not a
    /// reproduction). First the order the statements were sent in during
    /// the run, then the order that takes every earlier lock first and
    /// closes the cycle last. No replay starts after `deadline`.
    static func reproduce(
        _ record: CycleRecord, plan: RunPlan, workload: Workload, dsn: ConnectionString, options: FuzzOptions, deadline: UInt64? = nil
    ) throws(Reproduction.Unavailable) -> Reproduction {
        let recorded = try Reproduction.from(record, plan: plan, workload: workload, deadlockTimeoutMilliseconds: options.deadlockTimeoutMilliseconds)
        var closing = recorded
        closing.recordedOrder = nil
        var candidates = [recorded]
        if recorded.order != closing.order { candidates.append(closing) }
        var last = "no replay ran"
        var replays = 0
        for reproduction in candidates {
            let scenario: Scenario
            do {
                scenario = try ScenarioParser.parse(reproduction.yaml, file: "reproduction")
            } catch {
                throw Reproduction.Unavailable(description: "the reproduction does not parse: \(error)")
            }
            guard let order = scenario.order else { throw Reproduction.Unavailable(description: "the reproduction has no order") }
            do {
                let runner = try ScenarioRunner(scenario: scenario, dsn: dsn, options: options.scenarioOptions)
                defer { runner.finish() }
                var matched = 0
                for _ in 0..<max(options.verifyAttempts, 1) {
                    if let deadline, MonotonicClock.now() >= deadline {
                        var spent = Reproduction.Unavailable(description: replays == 0 ? "not replayed: the time budget (-T) was spent" : "not verified: the time budget (-T) was spent after \(replays) replay\(replays == 1 ? "" : "s") (\(last))")
                        spent.notReplayed = replays == 0
                        throw spent
                    }
                    let result = try runner.run(order)
                    replays += 1
                    guard result.deadlock?.signature.text == record.signature.text else {
                        last = describe(result, scenario: scenario)
                        break
                    }
                    matched += 1
                }
                if matched == max(options.verifyAttempts, 1) { return reproduction }
            } catch let error as Reproduction.Unavailable {
                throw error
            } catch {
                throw Reproduction.Unavailable(description: "the replay could not run: \(error)")
            }
        }
        throw Reproduction.Unavailable(description: "replaying it did not deadlock the same way: \(last)")
    }

    /// What a replay that did not reproduce did instead, with the failing
    /// statement's SQLSTATE and message (`checkout_2 step 3 failed: 23503 …`).
    static func describe(_ result: InterleavingResult, scenario: Scenario) -> String {
        if let deadlock = result.deadlock { return "it deadlocked with another signature, \(deadlock.signature.text)" }
        if let session = result.outcome.session, let failure = result.sessions[session].failure {
            let definition = scenario.sessions[session]
            let step = failure.step < definition.steps.count ? definition.steps[failure.step].templateStep.map { $0 + 1 } : nil
            let state = failure.sqlState.map { "\($0.code) " } ?? ""
            return "\(definition.name)\(step.map { " step \($0)" } ?? "") failed: \(state)\(failure.message)"
        }
        return "it ended with \(result.outcome.kind.label)"
    }
}

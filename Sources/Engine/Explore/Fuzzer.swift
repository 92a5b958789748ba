import Foundation
import LockstormCore
import PostgresClient

/// How long and how `lockstorm fuzz` runs.
public struct FuzzOptions: Sendable {
    public var seed: UInt64
    /// Stop after this many rounds (`--iterations`).
    public var rounds: Int?
    /// Stop starting rounds after this many seconds (`-T`).
    public var durationSeconds: Double?
    public var stopOnFirst = false
    /// Transactions each client runs per round.
    public var transactionsPerClient = 25
    /// The server's deadlock_timeout (written into reproductions).
    public var deadlockTimeoutMilliseconds: Int?
    /// Replays a reproduction gets to deadlock with the same signature before it is saved.
    public var verifyAttempts = 2
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
}

/// What a fuzz session did.
public struct FuzzOutcome: Sendable {
    public var rounds: [(round: FuzzRound, transactions: Int, deadlocks: Int)]
    /// Distinct cycles in the order found (counts up to date).
    public var findings: [FuzzFinding]
    public var seconds: Double
}

/// Runs a workload round after round under seeded perturbations (see
/// `FuzzRound`), collects distinct deadlock signatures, and for each new one
/// builds a reproduction and verifies it by replaying it before handing it on.
public enum Fuzzer {
    public static func run(
        plan: RunPlan, workload: Workload, dsn: ConnectionString, options: FuzzOptions, stop: StopSignal,
        onRound: (FuzzRound, Int, Int) -> Void = { _, _, _ in }, onFinding: (FuzzFinding) -> Void = { _ in }
    ) throws(RunError) -> FuzzOutcome {
        let start = MonotonicClock.now()
        var outcome = FuzzOutcome(rounds: [], findings: [], seconds: 0)
        var index = 0
        func elapsed() -> Double { Double(MonotonicClock.now() &- start) / 1e9 }
        while !stop.isSet {
            if let rounds = options.rounds, index >= rounds { break }
            if let duration = options.durationSeconds, elapsed() >= duration { break }
            if options.stopOnFirst && !outcome.findings.isEmpty { break }
            let round = FuzzRound(seed: options.seed, index: index)
            let perturbed = PerturbedPlan(plan, round: round)
            var load = LoadOptions(clients: round.clients, threads: min(round.clients, 2), transactionsPerClient: options.transactionsPerClient, seed: round.loadSeed, graceSeconds: 2)
            load.sampleIntervalSeconds = 0
            load.serverLogPath = options.serverLogPath
            let roundStart = elapsed()
            let result = try LoadRunner.run(plan: perturbed.plan, dsn: dsn, options: load, stop: stop)
            let total = result.summary.rows.last?.stats ?? result.summary.stats.total  // the summary made it already
            outcome.rounds.append((round, total.attempts, total.count(.deadlock)))
            onRound(round, total.attempts, total.count(.deadlock))
            for cycle in result.summary.stats.cyclesByFrequency.sorted(by: { $0.firstSeenSeconds < $1.firstSeenSeconds }) {
                let record = perturbed.original(cycle)
                if let known = outcome.findings.firstIndex(where: { $0.record.signature == record.signature }) {
                    outcome.findings[known].record.count += record.count
                    continue
                }
                var finding = FuzzFinding(record: record, firstFoundSeconds: roundStart + record.firstSeenSeconds, round: index)
                do {
                    finding.reproduction = try reproduce(record, plan: plan, workload: workload, dsn: dsn, options: options)
                } catch {
                    finding.reproductionProblem = error.description
                }
                outcome.findings.append(finding)
                onFinding(finding)
            }
            index += 1
        }
        outcome.seconds = elapsed()
        return outcome
    }

    /// Builds the reproduction of `record` and replays it until it deadlocks
    /// with the same signature (up to `verifyAttempts` times per order): first
    /// in the order the statements were sent during the run, then in the
    /// order that takes every earlier lock first and closes the cycle last.
    static func reproduce(_ record: CycleRecord, plan: RunPlan, workload: Workload, dsn: ConnectionString, options: FuzzOptions) throws(Reproduction.Unavailable) -> Reproduction {
        let recorded = try Reproduction.from(record, plan: plan, workload: workload, deadlockTimeoutMilliseconds: options.deadlockTimeoutMilliseconds)
        var closing = recorded
        closing.recordedOrder = nil
        var candidates = [recorded]
        if recorded.order != closing.order { candidates.append(closing) }
        var last = "no replay ran"
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
                for _ in 0..<max(options.verifyAttempts, 1) {
                    let result = try runner.run(order)
                    if result.deadlock?.signature.text == record.signature.text { return reproduction }
                    last = result.deadlock.map { "it deadlocked with another signature, \($0.signature.text)" } ?? "it ended with \(result.outcome.kind.label)"
                }
            } catch {
                throw Reproduction.Unavailable(description: "the replay could not run: \(error)")
            }
        }
        throw Reproduction.Unavailable(description: "replaying it did not deadlock the same way: \(last)")
    }
}

import Engine
import Foundation
import LockstormCore
import Reports

/// What `lockstorm fuzz` was asked to do, parsed.
public struct FuzzRequest: Sendable {
    public var workload: String
    /// The variant to fuzz; nil for the workload's default.
    public var variant: String?
    /// Fuzz for this long (30 s when neither this nor `iterations` is given).
    public var time: TimeSpan?
    /// Fuzz for this many rounds instead of a time.
    public var iterations: Int?
    /// Seed of every fuzzing decision; random (and printed) when nil.
    public var seed: UInt64?
    public var stopOnFirst = false
    /// Transactions each client runs per round.
    public var roundTransactions = 25
    public var overrides: [ParameterOverride] = []
    /// Directory the fuzz-… folder of reproductions goes under.
    public var resultsRoot = "results"
    public var database = DatabaseTarget()

    public init(workload: String) {
        self.workload = workload
    }
}

/// `lockstorm fuzz`: short rounds under perturbed schedules; each new cycle
/// is printed and its verified reproduction saved.
public struct FuzzPipeline {
    public let output: any OutputSink
    /// The clock the reproductions' folder is named by.
    public var now: @Sendable () -> Date = { Date() }

    /// Lower than explore's: fuzz wants as many deadlocks per second as it can get.
    public static let defaultDeadlockTimeoutMilliseconds = 20

    public init(output: any OutputSink = StandardOutput()) {
        self.output = output
    }

    /// Fuzzes; throws a ``Failure``: 1 when a cycle was found, 2 for a
    /// workload mistake, 3 on a run error, 130/143 on a signal. The time
    /// budget (`-T`) counts from here: starting the server, the rounds and
    /// the replays that verify reproductions all spend it.
    public func execute(_ request: FuzzRequest) throws {
        let started = MonotonicClock.now()
        let (workload, _, _) = try WorkloadLoader.load(request.workload)
        let plan: RunPlan
        do {
            plan = try workload.plan(variant: request.variant, overrides: ParameterOverride.pairs(request.overrides), file: request.workload)
        } catch {
            throw Failure(.usage, error.description)
        }
        let seed = request.seed ?? LoadSettings.randomSeed()
        var options = FuzzOptions(seed: seed)
        options.rounds = request.iterations
        options.durationSeconds = request.iterations == nil ? (request.time?.seconds ?? 30) : nil
        options.startedAt = started
        options.stopOnFirst = request.stopOnFirst
        options.transactionsPerClient = request.roundTransactions

        let session = Session(output: output) { _ in "interrupted: finishing the current round" }
        defer { session.close() }
        let wanted = request.database.deadlockTimeout?.milliseconds ?? Self.defaultDeadlockTimeoutMilliseconds
        let database = try session.scenarioDatabase(request.database, deadlockTimeoutMilliseconds: wanted, connections: FuzzRound.clientChoices.upperBound + 4)
        // What the sessions really run with: the server's setting, lowered
        // per session where the role may.
        let probe: DeadlockTimeoutProbe
        do {
            probe = try DeadlockTimeoutProbe.probe(dsn: database.dsn, wantedMilliseconds: wanted)
        } catch {
            throw Failure(.runError, "lockstorm: \(error)")
        }
        options.scenarioOptions = database.scenarioOptions
        options.scenarioOptions.sessionDeadlockTimeoutMilliseconds = probe.lowered ? wanted : nil
        options.sessionDeadlockTimeoutMilliseconds = probe.lowered && !database.isEmbedded ? wanted : nil
        options.deadlockTimeoutMilliseconds = probe.effectiveMilliseconds ?? wanted
        options.serverLogPath = database.serverLog

        let budget = request.iterations.map { "\($0) rounds" } ?? "\(Format.fixed(options.durationSeconds ?? 0, digits: 0)) s"
        output.line("fuzzing \(plan.workloadName)/\(plan.variantLabel): seed \(seed), budget \(budget), deadlock_timeout \(Self.timeoutText(probe, embedded: database.isEmbedded))\(request.stopOnFirst ? ", stop on first verified cycle" : "")\n")
        if probe.refusal != nil, let server = probe.serverMilliseconds, server > wanted {
            output.note("each deadlock takes \(DeadlockTimeoutProbe.format(milliseconds: server)) to detect on \(database.dsn); a superuser can lower deadlock_timeout, or GRANT SET ON PARAMETER deadlock_timeout to this role")
        }
        var directory: URL?
        var saved: [String: String] = [:]
        var numbered = 0
        let outcome: FuzzOutcome
        do {
            outcome = try Fuzzer.run(plan: plan, workload: workload, dsn: database.dsn, options: options, stop: session.stop, onRound: { round, transactions, deadlocks in
                output.line("round \(TextLayout.pad(String(round.index + 1), 3, right: true)): \(round.label): \(transactions) transactions, \(deadlocks) deadlock\(deadlocks == 1 ? "" : "s")")
            }, onFinding: { finding in
                numbered += 1
                output.line("  NEW cycle #\(numbered) at \(Format.fixed(finding.firstFoundSeconds, digits: 2)) s: \(finding.record.signature.summary)")
                output.line("      \(finding.record.sampleParticipants.map(\.label).joined(separator: " → "))")
                guard let reproduction = finding.reproduction else {
                    saved[finding.record.signature.text] = ""
                    output.line("      no reproduction: \(finding.reproductionProblem ?? "unknown reason")")
                    return
                }
                do {
                    let folder = try directory ?? ResultDirectory.create(.fuzz(workload: plan.workloadName, variant: plan.variantLabel), root: URL(fileURLWithPath: request.resultsRoot), date: now())
                    directory = folder
                    let file = folder.appendingPathComponent("cycle-\(numbered).yaml")
                    try Data(reproduction.yaml.utf8).write(to: file, options: .atomic)
                    saved[finding.record.signature.text] = DisplayPath.relative(file.path)
                    output.line("      reproduction (replayed: same cycle): \(DisplayPath.relative(file.path))")
                } catch {
                    saved[finding.record.signature.text] = ""
                    output.note("could not write the reproduction: \(error.localizedDescription)")
                }
            })
        } catch {
            throw Failure(.runError, "lockstorm: \(error)")
        }
        show(outcome, saved: saved, budget: options.durationSeconds)
        try session.throwIfSignalled()
        if !outcome.findings.isEmpty { throw Failure(.checksFailed, "") }
    }

    /// `20 ms`; on a server not lockstorm's, what became of lowering it:
    /// `20 ms (lowered per session; the server's is 1 s)` or `1 s (the
    /// server's: the role may not change it: permission denied …)`.
    static func timeoutText(_ probe: DeadlockTimeoutProbe, embedded: Bool) -> String {
        let server = probe.serverMilliseconds.map { DeadlockTimeoutProbe.format(milliseconds: $0) } ?? probe.serverText
        if probe.lowered {
            let wanted = DeadlockTimeoutProbe.format(milliseconds: probe.wantedMilliseconds)
            return embedded ? wanted : "lowered to \(wanted) per session (the server's is \(server))"
        }
        if let refusal = probe.refusal { return "\(server): the role may not change it (\(refusal)): using the server's \(server)" }
        return server
    }

    /// The totals and a table of the distinct cycles with their reproductions.
    private func show(_ outcome: FuzzOutcome, saved: [String: String], budget: Double?) {
        let transactions = outcome.rounds.reduce(0) { $0 + $1.transactions }
        let deadlocks = outcome.rounds.reduce(0) { $0 + $1.deadlocks }
        output.line("\n\(outcome.rounds.count) round\(outcome.rounds.count == 1 ? "" : "s") in \(Format.fixed(outcome.seconds, digits: 1)) s: \(transactions) transactions, \(deadlocks) deadlocks, \(outcome.findings.count) distinct cycle\(outcome.findings.count == 1 ? "" : "s")")
        if outcome.unattributedDeadlocks > 0 {
            let shapes = outcome.unattributedShapes == 1 ? "1 shape" : "\(outcome.unattributedShapes) shapes"
            output.line("\(outcome.unattributedDeadlocks) unattributed cycle\(outcome.unattributedDeadlocks == 1 ? "" : "s") not reported (\(shapes)): a participant's statement could not be told, so its shape may not be one the workload produces")
        }
        let skipped = outcome.findings.filter(\.notReplayed).count
        switch outcome.end {
        case .budget:
            let budgetText = budget.map { "\(Format.fixed($0, digits: 0)) s " } ?? ""
            output.line("the \(budgetText)budget was spent: no further round" + (skipped > 0 ? "; \(skipped) cycle\(skipped == 1 ? "" : "s") not replayed" : ""))
        case .firstVerified:
            let seconds = outcome.firstVerifiedSeconds.map { " at \(Format.fixed($0, digits: 2)) s" } ?? ""
            output.line("stopped at the first verified cycle\(seconds)" + (outcome.leftAfterFirst > 0 ? "; \(outcome.leftAfterFirst) other new cycle\(outcome.leftAfterFirst == 1 ? "" : "s") of the round not replayed" : ""))
        case .rounds, .signal:
            if skipped > 0 { output.line("\(skipped) cycle\(skipped == 1 ? "" : "s") not replayed") }
        }
        guard !outcome.findings.isEmpty else { return }
        let rows = outcome.findings.enumerated().map { index, finding in
            [String(index + 1), String(finding.record.count), Format.fixed(finding.firstFoundSeconds, digits: 2) + " s", TextLayout.truncated(finding.record.signature.summary, 100), saved[finding.record.signature.text].flatMap { $0.isEmpty ? nil : $0 } ?? "-"]
        }
        output.line()
        output.write(TextTable.render(header: ["#", "count", "first found", "cycle", "reproduction"], rows: rows, rightAlignFrom: 0, rightAlignTo: 2))
    }
}

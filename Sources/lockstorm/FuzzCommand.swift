import ArgumentParser
import Engine
import Foundation
import LockstormCore
import PostgresClient
import Reports

struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Hunt for deadlocks: run a workload under perturbed schedules and write a reproduction of each distinct cycle.",
        discussion: """
            Fuzzing runs in short rounds (each client runs --round-transactions transactions). Each round draws, \
            from the seed and its number only: 2-8 clients; a hot set of 2, 3, 4, 8 or 16 (every integer \
            uniform(lo, hi) draw becomes uniform(lo, lo+size-1), never fewer values than a != draw needs); and a \
            pause of uniform(0, 0 / 0.2 / 1 / 3 ms) added between consecutive SQL steps. The same --seed makes \
            the same decisions and the same draws; how the server interleaves them still varies from run to run.

            Each new cycle is printed when found, with a reproduction (a scenario file with an order) verified by \
            replaying it before it is saved in the output directory. Replay it with 'lockstorm replay FILE'.

            Exit codes: 0 no deadlock found, 1 at least one found, 2 usage or workload error, 3 run error.
            """
    )

    @Argument(help: "Workload file or shipped workload name.")
    var workload: String

    @Option(name: .long, help: "Variant to fuzz (default: the workload's default variant).")
    var variant: String?

    @Option(name: [.customShort("T"), .long], help: ArgumentHelp("Fuzz for this long (seconds or a duration such as 30s); default 30s.", valueName: "duration"))
    var time: String?

    @Option(name: .long, help: "Fuzz for this many rounds instead of a time.")
    var iterations: Int?

    @Option(name: .long, help: "Seed of every fuzzing decision (default: random, printed).")
    var seed: UInt64?

    @Flag(name: .customLong("stop-on-first"), help: "Stop after the round that finds the first cycle.")
    var stopOnFirst = false

    @Option(name: .customLong("round-transactions"), help: "Transactions each client runs per round.")
    var roundTransactions = 25

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a workload parameter (repeatable).", valueName: "name=value"))
    var overrides: [String] = []

    @Option(name: .long, help: ArgumentHelp("Directory under which a fuzz-WORKLOAD-VARIANT-TIME folder receives the reproductions.", valueName: "dir"))
    var out: String = "results"

    @OptionGroup var database: DatabaseOptions

    /// Lower than explore's: fuzz wants as many deadlocks per second as it can get.
    static let defaultDeadlockTimeoutMilliseconds = 20

    func validate() throws {
        if time != nil && iterations != nil { throw ValidationError("give either -T (duration) or --iterations (rounds), not both") }
        if let time, (Durations.parseSeconds(time) ?? 0) <= 0 { throw ValidationError("-T '\(time)' is not a duration: give seconds (10) or a duration (30s)") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if roundTransactions < 1 { throw ValidationError("--round-transactions must be at least 1") }
        for override in overrides where !override.contains("=") || override.hasPrefix("=") {
            throw ValidationError("--set '\(override)' must look like name=value")
        }
    }

    func run() throws {
        let (workload, _, _) = try WorkloadLoader.load(self.workload)
        let parameters = overrides.compactMap { pair -> (name: String, value: Value)? in
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            return (String(pair[..<equals]).trimmingCharacters(in: .whitespaces), Value.parse(text: String(pair[pair.index(after: equals)...])))
        }
        let plan: RunPlan
        do {
            plan = try workload.plan(variant: variant, overrides: parameters, file: self.workload)
        } catch {
            throw Failure(.usage, error.description)
        }
        let seed = self.seed ?? UInt64.random(in: 1...UInt64(Int64.max))
        var options = FuzzOptions(seed: seed)
        options.rounds = iterations
        options.durationSeconds = iterations == nil ? (time.flatMap(Durations.parseSeconds) ?? 30) : nil
        options.stopOnFirst = stopOnFirst
        options.transactionsPerClient = roundTransactions

        let stop = StopSignal()
        let trap = SignalTrap(stop: stop) { _ in Console.note("interrupted: finishing the current round") }
        defer { withExtendedLifetime(trap) {} }
        let timeout = database.deadlockTimeoutMilliseconds ?? Self.defaultDeadlockTimeoutMilliseconds
        options.deadlockTimeoutMilliseconds = timeout
        let maxClients = FuzzRound.clientChoices.upperBound
        let (dsn, server, scenarioOptions) = try ScenarioLoader.database(database, deadlockTimeoutMilliseconds: timeout, connections: maxClients + 4)
        options.scenarioOptions = scenarioOptions
        defer { server?.stop() }
        if server == nil { Console.note("fuzzing \(dsn): deadlock_timeout is the server's; lower it (e.g. 20ms) so each deadlock costs milliseconds") }

        let budget = iterations.map { "\($0) rounds" } ?? "\(Format.fixed(options.durationSeconds ?? 0, digits: 0)) s"
        print("fuzzing \(plan.workloadName)/\(plan.variantLabel): seed \(seed), budget \(budget), deadlock_timeout \(timeout) ms\(stopOnFirst ? ", stop on first" : "")\n")
        var directory: URL?
        var saved: [String: String] = [:]
        let outcome: FuzzOutcome
        do {
            outcome = try Fuzzer.run(plan: plan, workload: workload, dsn: dsn, options: options, stop: stop, onRound: { round, transactions, deadlocks in
                print("round \(Self.pad(String(round.index + 1), 3)): \(round.label): \(transactions) transactions, \(deadlocks) deadlock\(deadlocks == 1 ? "" : "s")")
            }, onFinding: { finding in
                print("  NEW cycle #\(saved.count + 1) at \(Format.fixed(finding.firstFoundSeconds, digits: 2)) s: \(finding.record.signature.summary)")
                print("      \(finding.record.sampleParticipants.map(\.label).joined(separator: " → "))")
                if let reproduction = finding.reproduction {
                    do {
                        let folder = try directory ?? Self.makeDirectory(root: out, workload: plan.workloadName, variant: plan.variantLabel)
                        directory = folder
                        let file = folder.appendingPathComponent("cycle-\(saved.count + 1).yaml")
                        try Data(reproduction.yaml.utf8).write(to: file, options: .atomic)
                        saved[finding.record.signature.text] = Self.relativePath(file.path)
                        print("      reproduction (replayed: same cycle): \(Self.relativePath(file.path))")
                    } catch {
                        saved[finding.record.signature.text] = ""
                        Console.note("could not write the reproduction: \(error.localizedDescription)")
                    }
                } else {
                    saved[finding.record.signature.text] = ""
                    print("      no reproduction: \(finding.reproductionProblem ?? "unknown reason")")
                }
            })
        } catch {
            throw Failure(.runError, "lockstorm: \(error)")
        }

        let transactions = outcome.rounds.reduce(0) { $0 + $1.transactions }
        let deadlocks = outcome.rounds.reduce(0) { $0 + $1.deadlocks }
        print("\n\(outcome.rounds.count) rounds in \(Format.fixed(outcome.seconds, digits: 1)) s: \(transactions) transactions, \(deadlocks) deadlocks, \(outcome.findings.count) distinct cycle\(outcome.findings.count == 1 ? "" : "s")")
        if !outcome.findings.isEmpty {
            let rows = outcome.findings.enumerated().map { index, finding in
                [String(index + 1), String(finding.record.count), Format.fixed(finding.firstFoundSeconds, digits: 2) + " s", Self.truncated(finding.record.signature.summary, 100), saved[finding.record.signature.text].flatMap { $0.isEmpty ? nil : $0 } ?? "-"]
            }
            print("")
            print(TextTable.render(header: ["#", "count", "first found", "cycle", "reproduction"], rows: rows, rightAlignFrom: 0, rightAlignTo: 2), terminator: "")
        }
        if let signal = trap.firstSignal { throw Failure(signal == SIGINT ? .interrupted : .terminated, "") }
        if !outcome.findings.isEmpty { throw Failure(.checksFailed, "") }
    }

    static func makeDirectory(root: String, workload: String, variant: String) throws -> URL {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let base = URL(fileURLWithPath: root).appendingPathComponent("fuzz-\(workload)-\(variant)-\(formatter.string(from: Date()))")
        var candidate = base
        var suffix = 2
        while FileManager.default.fileExists(atPath: candidate.path) {
            candidate = URL(fileURLWithPath: base.path + "-\(suffix)")
            suffix += 1
        }
        try FileManager.default.createDirectory(at: candidate, withIntermediateDirectories: true)
        return candidate
    }

    static func truncated(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    static func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }

    static func relativePath(_ path: String) -> String {
        let current = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(current) ? String(path.dropFirst(current.count)) : path
    }
}

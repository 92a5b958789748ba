import ArgumentParser
import Engine
import Foundation
import LockstormCore
import PostgresClient
import Reports

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Run every interleaving of a scenario's sessions and show which deadlock, block, commit or fail.",
        discussion: """
            SCENARIO is a scenario file (see workloads/scenarios/README.md) or the name of a shipped one \
            (transfer-unordered, transfer-ordered, nowait). Each interleaving starts from a fresh setup; a step \
            counts as blocked when the server lists its session in pg_blocking_pids.

            Exit codes: 0 no interleaving deadlocked, 1 at least one deadlocked, 2 usage or scenario error \
            (including more interleavings than --limit), 3 run error.
            """
    )

    @Argument(help: "Scenario file or shipped scenario name.")
    var scenario: String

    @Option(name: .long, help: "Refuse scenarios with more interleavings than this.")
    var limit = 1000

    @Option(name: .long, help: ArgumentHelp("Also write one row per interleaving to this CSV file.", valueName: "file"))
    var csv: String?

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let scenario = try ScenarioLoader.load(self.scenario)
        let counts = scenario.stepCounts
        let interleavings: [Interleaving]
        if let listed = scenario.interleavings {
            interleavings = listed
        } else {
            let total = Interleavings.count(stepCounts: counts)
            guard let total, total <= limit else {
                let shape = scenario.sessions.map { "\($0.name): \($0.steps.count)" }.joined(separator: ", ")
                let amount = total.map { Self.grouped($0) } ?? "more than \(Self.grouped(Int.max))"
                throw Failure(.usage, "lockstorm: \(self.scenario) has \(amount) interleavings (steps per session, COMMIT included: \(shape)), more than --limit \(Self.grouped(limit)); raise --limit or list the ones to run under 'interleavings:'")
            }
            interleavings = Interleavings.all(stepCounts: counts)
        }

        let stop = StopSignal()
        let trap = SignalTrap(stop: stop) { _ in Console.note("interrupted: finishing the current interleaving") }
        defer { withExtendedLifetime(trap) {} }
        let timeout = database.deadlockTimeoutMilliseconds ?? scenario.deadlockTimeoutMilliseconds ?? ScenarioLoader.defaultDeadlockTimeoutMilliseconds
        let (dsn, server, options) = try ScenarioLoader.database(database, deadlockTimeoutMilliseconds: timeout, connections: scenario.sessions.count + 1)
        defer { server?.stop() }

        let names = scenario.sessions.map(\.name)
        let steps = scenario.sessions.map { "\($0.name) \($0.steps.count)" }.joined(separator: ", ")
        print("\(scenario.name): \(scenario.sessions.count) sessions (steps: \(steps); the last of each is its COMMIT), \(interleavings.count) interleavings\n")
        let numberWidth = max(1, String(interleavings.count).count)
        let orderWidth = max(5, interleavings.map { $0.label(names: names).count }.max() ?? 0)
        let outcomeWidth = OutcomeKind.allCases.map(\.label.count).max() ?? 0
        func row(_ cells: [String]) -> String {
            let line = [Self.pad(cells[0], numberWidth, right: true), Self.pad(cells[1], orderWidth), Self.pad(cells[2], 8, right: true), Self.pad(cells[3], outcomeWidth), cells[4]]
                .joined(separator: "  ")
            return String(line.reversed().drop(while: { $0 == " " }).reversed())
        }
        print(row(["#", "order", "time", "outcome", "detail"]))
        print(row([String(repeating: "-", count: numberWidth), String(repeating: "-", count: orderWidth), String(repeating: "-", count: 8), String(repeating: "-", count: outcomeWidth), "------"]))

        let runner: ScenarioRunner
        do {
            runner = try ScenarioRunner(scenario: scenario, dsn: dsn, options: options)
        } catch {
            throw Failure(.runError, "lockstorm: \(error)")
        }
        defer { runner.finish() }
        var results: [InterleavingResult] = []
        for (index, interleaving) in interleavings.enumerated() {
            if stop.isSet { break }
            let result: InterleavingResult
            do {
                result = try runner.run(interleaving)
            } catch {
                throw Failure(.runError, "lockstorm: interleaving \(index + 1) (\(interleaving.label(names: names))): \(error)")
            }
            if index == 0, let refused = runner.deadlockTimeoutRefused {
                Console.note("could not lower deadlock_timeout on \(dsn) (\(refused)); each deadlock takes the server's deadlock_timeout to detect")
            }
            results.append(result)
            print(row([String(index + 1), interleaving.label(names: names), Format.fixed(Double(result.nanoseconds) / 1e6, digits: 1) + " ms", result.outcome.kind.label, ScenarioText.detail(result, scenario: scenario)]))
        }

        print("")
        var summaryRows: [[String]] = []
        for kind in OutcomeKind.allCases {
            let count = results.filter { $0.outcome.kind == kind }.count
            if count > 0 { summaryRows.append([kind.label, String(count)]) }
        }
        summaryRows.append(["total", String(results.count)])
        print(TextTable.render(header: ["outcome", "interleavings"], rows: summaryRows, separatorBeforeLast: true), terminator: "")
        var cycles: [String: (count: Int, summary: String)] = [:]
        for result in results {
            guard let deadlock = result.deadlock else { continue }
            cycles[deadlock.sessionSignature.text, default: (0, deadlock.sessionSignature.summary)].count += 1
        }
        if !cycles.isEmpty {
            print("\ndistinct cycles:")
            for (_, cycle) in cycles.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
                print("  \(cycle.count) × \(cycle.summary)")
            }
        }
        let deadlocked = results.filter { $0.outcome.kind == .deadlock }.count
        print(deadlocked == 0 ? "\nno interleaving deadlocks." : "\n\(deadlocked) of \(results.count) interleavings deadlock.")

        if let csv {
            let rows = results.enumerated().map { index, result -> [String] in
                [
                    String(index + 1), result.interleaving.label(names: names), result.outcome.kind.rawValue,
                    result.outcome.session.map { names[$0] } ?? "", result.outcome.sqlState?.code ?? "",
                    result.deadlock?.sessionSignature.text ?? "", ScenarioText.detail(result, scenario: scenario),
                    Format.fixed(Double(result.nanoseconds) / 1e6, digits: 3),
                ]
            }
            let text = CSV.document(header: ["interleaving", "order", "outcome", "session", "sqlstate", "signature", "detail", "time_ms"], rows: rows)
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: csv), options: .atomic)
            } catch {
                throw Failure(.runError, "lockstorm: cannot write \(csv): \(error.localizedDescription)")
            }
        }
        if let signal = trap.firstSignal { throw Failure(signal == SIGINT ? .interrupted : .terminated, "") }
        if deadlocked > 0 { throw Failure(.checksFailed, "") }
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }
}

import ArgumentParser
import Engine
import Foundation
import LockstormCore
import PostgresClient
import Reports

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run a reproduction's recorded order and say whether the deadlock happened again.",
        discussion: """
            FILE is a scenario with an 'order:' (fuzz writes these). Each step is issued in that order; lockstorm \
            waits until it has completed or the server shows it blocked (pg_blocking_pids), then issues the next.

            Exit codes: 0 every run reproduced the expected outcome ('expect:', a deadlock by default, with the \
            recorded signature when one is given), 1 some run did not, 2 usage or scenario error, 3 run error.
            """
    )

    @Argument(help: "Reproduction (scenario) file.")
    var file: String

    @Option(name: .long, help: "Replay this many times in a row.")
    var runs = 1

    @Flag(name: .shortAndLong, help: "Show every step of every run (default: of the first).")
    var verbose = false

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let scenario = try ScenarioLoader.load(file)
        guard let order = scenario.order else {
            throw Failure(.usage, "lockstorm: \(file) has no 'order:'; replay runs one recorded order (explore runs them all)")
        }
        let expectation = scenario.expectation ?? ScenarioExpectation(outcome: .deadlock)
        let stop = StopSignal()
        let trap = SignalTrap(stop: stop) { _ in Console.note("interrupted: finishing the current run") }
        defer { withExtendedLifetime(trap) {} }
        let timeout = database.deadlockTimeoutMilliseconds ?? scenario.deadlockTimeoutMilliseconds ?? ScenarioLoader.defaultDeadlockTimeoutMilliseconds
        let (dsn, server, options) = try ScenarioLoader.database(database, deadlockTimeoutMilliseconds: timeout, connections: scenario.sessions.count + 1)
        defer { server?.stop() }
        let runner: ScenarioRunner
        do {
            runner = try ScenarioRunner(scenario: scenario, dsn: dsn, options: options)
        } catch {
            throw Failure(.runError, "lockstorm: \(error)")
        }
        defer { runner.finish() }

        let names = scenario.sessions.map(\.name)
        print("\(scenario.name): order \(order.label(names: names))")
        print("expect: \(expectation.outcome.label)" + (expectation.signature.map { " with signature \($0)" } ?? "") + "\n")
        var reproduced = 0
        var completed = 0
        for run in 1...runs {
            if stop.isSet { break }
            let result: InterleavingResult
            do {
                result = try runner.run(order)
            } catch {
                throw Failure(.runError, "lockstorm: run \(run): \(error)")
            }
            completed += 1
            if verbose || run == 1 { print(Self.trace(result, scenario: scenario)) }
            let matched = Self.matches(result, expectation)
            if matched { reproduced += 1 }
            var line = "run \(run): \(result.outcome.kind.label)"
            if let deadlock = result.deadlock {
                line += " — victim \(names[deadlock.victim]); \(deadlock.sessionSignature.summary)"
                line += "\n       signature \(deadlock.signature.text)"
            } else {
                let detail = ScenarioText.detail(result, scenario: scenario)
                if !detail.isEmpty { line += " — \(detail)" }
            }
            print(line + (matched ? "" : "\n       NOT REPRODUCED"))
        }
        print("\nreproduced \(reproduced) of \(completed) run\(completed == 1 ? "" : "s").")
        if let signal = trap.firstSignal { throw Failure(signal == SIGINT ? .interrupted : .terminated, "") }
        if reproduced < completed { throw Failure(.checksFailed, "") }
    }

    static func matches(_ result: InterleavingResult, _ expectation: ScenarioExpectation) -> Bool {
        guard result.outcome.kind == expectation.outcome else { return false }
        guard let signature = expectation.signature else { return true }
        return result.deadlock?.signature.text == signature
    }

    /// Every step as it happened: issued, blocked (and by whom), completed or failed.
    static func trace(_ result: InterleavingResult, scenario: Scenario) -> String {
        var rows: [[String]] = []
        for event in result.events {
            let session = scenario.sessions[event.session]
            let label = "\(session.name).\(event.step + 1)"
            let time = Format.fixed(Double(event.at) / 1e6, digits: 1) + " ms"
            switch event.kind {
            case .issued:
                rows.append([time, label, "issued", ScenarioParserText.oneLine(session.steps[event.step].text)])
            case .blocked(let by):
                rows.append([time, label, "blocked", "waits for backend " + by.map(String.init).joined(separator: ", ")])
            case .completed:
                rows.append([time, label, "completed", ""])
            case .failed(let state, let message):
                rows.append([time, label, "failed", "\(state.map { "\($0) " } ?? "")\(message)"])
            }
        }
        return TextTable.render(header: ["time", "step", "event", "statement / detail"], rows: rows, indent: "  ", rightAlignFrom: 0, rightAlignTo: 0)
    }
}

enum ScenarioParserText {
    static func oneLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return line.count > 80 ? String(line.prefix(79)) + "…" : line
    }
}

import Engine
import Foundation
import LockstormCore
import Reports

/// What `lockstorm replay` was asked to do, parsed.
public struct ReplayRequest: Sendable {
    /// The reproduction (scenario with an `order:`).
    public var file: String
    /// Replays in a row.
    public var runs = 1
    /// Show every step of every run, not only the first's.
    public var verbose = false
    public var database = DatabaseTarget()

    public init(file: String) {
        self.file = file
    }
}

/// `lockstorm replay`: runs a reproduction's recorded order and says whether
/// the expected outcome happened again.
public struct ReplayPipeline {
    public let output: any OutputSink

    public init(output: any OutputSink = StandardOutput()) {
        self.output = output
    }

    /// Replays `request.runs` times; throws a ``Failure``: 1 when a run did
    /// not reproduce, 3 on a run error, 130/143 on a signal.
    public func execute(_ request: ReplayRequest) throws {
        let scenario = try ScenarioLoader.load(request.file)
        guard let order = scenario.order else {
            throw Failure(.usage, "lockstorm: \(request.file) has no 'order:'; replay runs one recorded order (explore runs them all)")
        }
        let expectation = scenario.expectation ?? ScenarioExpectation(outcome: .deadlock)
        let session = Session(output: output) { _ in "interrupted: finishing the current run" }
        defer { session.close() }
        let timeout = request.database.deadlockTimeout?.milliseconds ?? scenario.deadlockTimeoutMilliseconds ?? ScenarioLoader.defaultDeadlockTimeoutMilliseconds
        let database = try session.scenarioDatabase(request.database, deadlockTimeoutMilliseconds: timeout, connections: scenario.sessions.count + 1)
        let runner: ScenarioRunner
        do {
            runner = try ScenarioRunner(scenario: scenario, dsn: database.dsn, options: database.scenarioOptions)
        } catch {
            throw Failure(.runError, "lockstorm: \(error)")
        }
        defer { runner.finish() }

        let names = scenario.sessions.map(\.name)
        output.line("\(scenario.name): order \(order.label(names: names))")
        output.line("expect: \(expectation.outcome.label)" + (expectation.signature.map { " with signature \($0)" } ?? "") + "\n")
        var reproduced = 0
        var completed = 0
        for run in 1...max(1, request.runs) {
            if session.stop.isSet { break }
            let result: InterleavingResult
            do {
                result = try runner.run(order)
            } catch {
                throw Failure(.runError, "lockstorm: run \(run): \(error)")
            }
            completed += 1
            if request.verbose || run == 1 { output.line(Self.trace(result, scenario: scenario)) }
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
            output.line(line + (matched ? "" : "\n       NOT REPRODUCED"))
        }
        output.line("\nreproduced \(reproduced) of \(completed) run\(completed == 1 ? "" : "s").")
        try session.throwIfSignalled()
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
                rows.append([time, label, "issued", oneLine(session.steps[event.step].text)])
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

    /// A statement on one line of at most 80 characters.
    static func oneLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return line.count > 80 ? String(line.prefix(79)) + "…" : line
    }
}

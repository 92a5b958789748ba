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
        output.line("\(scenario.name): order \(Self.orderLabel(order, scenario: scenario))")
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
            if run == 1, let refused = runner.deadlockTimeoutRefused {
                output.note("could not lower deadlock_timeout on \(database.dsn) (\(refused)); each deadlock takes the server's deadlock_timeout to detect")
            }
            if request.verbose || run == 1 { output.line(Self.trace(result, scenario: scenario)) }
            let matched = Self.matches(result, expectation)
            if matched { reproduced += 1 }
            var line = "run \(run): \(result.outcome.kind.label)"
            if let deadlock = result.deadlock {
                line += " — victim \(names[deadlock.victim]); \(deadlock.sessionSignature.summary)"
                line += "\n       signature \(deadlock.signature.text)"
            } else if let session = result.outcome.session, let failure = result.sessions[session].failure {
                line += " — \(Self.stepLabel(scenario, session: session, step: failure.step)): \(failure.sqlState.map { "\($0) " } ?? "")\(failure.message)"
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
            let label = stepLabel(scenario, session: event.session, step: event.step)
            let time = Format.fixed(Double(event.at) / 1e6, digits: 1) + " ms"
            switch event.kind {
            case .issued:
                let statement = session.steps[event.step].statement
                rows.append([time, label, "issued", oneLine(Reproduction.showingValues(statement.sql, parameters: statement.parameters))])
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

    /// `checkout_1 step 3` for a reproduction's session (its template's step,
    /// counted as run and fuzz count them, pauses included), `a.2` for a
    /// plain scenario's, `checkout_1 COMMIT` for the COMMIT lockstorm adds.
    static func stepLabel(_ scenario: Scenario, session: Int, step: Int) -> String {
        let definition = scenario.sessions[session]
        guard definition.template != nil, step < definition.steps.count else { return scenario.stepLabel(session: session, step: step) }
        if definition.steps[step].isImplicitCommit { return "\(definition.name) COMMIT" }
        guard let templateStep = definition.steps[step].templateStep else { return scenario.stepLabel(session: session, step: step) }
        return "\(definition.name) step \(templateStep + 1)"
    }

    /// The order as step labels (`stepLabel`).
    static func orderLabel(_ order: Interleaving, scenario: Scenario) -> String {
        guard scenario.sessions.contains(where: { $0.template != nil }) else { return order.label(names: scenario.sessions.map(\.name)) }
        return order.steps.map { stepLabel(scenario, session: $0.session, step: $0.step) }.joined(separator: ", ")
    }

    /// A statement on one line of at most 80 characters.
    static func oneLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return line.count > 80 ? String(line.prefix(79)) + "…" : line
    }
}

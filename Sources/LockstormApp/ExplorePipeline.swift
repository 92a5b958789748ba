import Engine
import Foundation
import LockstormCore
import Reports

/// What `lockstorm explore` was asked to do, parsed.
public struct ExploreRequest: Sendable {
    /// The scenario file or shipped scenario name, as given.
    public var scenario: String
    /// Refuse scenarios with more interleavings than this.
    public var limit = ExploreRequest.defaultLimit
    public static let defaultLimit = 1000
    /// Also write one row per interleaving to this CSV file.
    public var csv: String?
    public var database = DatabaseTarget()

    public init(scenario: String) {
        self.scenario = scenario
    }
}

/// `lockstorm explore`: every interleaving of a scenario's sessions, each
/// from a fresh setup, in a table of outcomes.
public struct ExplorePipeline {
    public let output: any OutputSink

    public init(output: any OutputSink = StandardOutput()) {
        self.output = output
    }

    /// The interleavings to run: the scenario's list, else all of them up to `limit`.
    func interleavings(_ scenario: Scenario, request: ExploreRequest) throws -> [Interleaving] {
        if let listed = scenario.interleavings { return listed }
        let total = Interleavings.count(stepCounts: scenario.stepCounts)
        guard let total, total <= request.limit else {
            let shape = scenario.sessions.map { "\($0.name): \($0.steps.count)" }.joined(separator: ", ")
            let amount = total.map { TextLayout.grouped($0) } ?? "more than \(TextLayout.grouped(Int.max))"
            throw Failure(.usage, "lockstorm: \(request.scenario) has \(amount) interleavings (steps per session, COMMIT included: \(shape)), more than --limit \(TextLayout.grouped(request.limit)); raise --limit or list the ones to run under 'interleavings:'")
        }
        return Interleavings.all(stepCounts: scenario.stepCounts)
    }

    /// Runs every interleaving; throws a ``Failure``: 1 when one deadlocked,
    /// 3 on a run error, 130/143 on a signal.
    public func execute(_ request: ExploreRequest) throws {
        let scenario = try ScenarioLoader.load(request.scenario)
        let interleavings = try interleavings(scenario, request: request)

        let session = Session(output: output) { _ in "interrupted: finishing the current interleaving" }
        defer { session.close() }
        let timeout = request.database.deadlockTimeout?.milliseconds ?? scenario.deadlockTimeoutMilliseconds ?? ScenarioLoader.defaultDeadlockTimeoutMilliseconds
        let database = try session.scenarioDatabase(request.database, deadlockTimeoutMilliseconds: timeout, connections: scenario.sessions.count + 1)

        let names = scenario.sessions.map(\.name)
        let steps = scenario.sessions.map { "\($0.name) \($0.steps.count)" }.joined(separator: ", ")
        let commits = scenario.sessions.contains(where: \.isMultiTransaction) ? "each COMMIT is a step" : "the last of each is its COMMIT"
        output.line("\(scenario.name): \(scenario.sessions.count) sessions (steps: \(steps); \(commits)), \(interleavings.count) interleavings\n")
        let numberWidth = max(1, String(interleavings.count).count)
        let orderWidth = max(5, interleavings.map { $0.label(names: names).count }.max() ?? 0)
        let outcomeWidth = OutcomeKind.allCases.map(\.label.count).max() ?? 0
        func row(_ cells: [String]) -> String {
            let line = [TextLayout.pad(cells[0], numberWidth, right: true), TextLayout.pad(cells[1], orderWidth), TextLayout.pad(cells[2], 8, right: true), TextLayout.pad(cells[3], outcomeWidth), cells[4]]
                .joined(separator: "  ")
            return String(line.reversed().drop(while: { $0 == " " }).reversed())
        }
        output.line(row(["#", "order", "time", "outcome", "detail"]))
        output.line(row([String(repeating: "-", count: numberWidth), String(repeating: "-", count: orderWidth), String(repeating: "-", count: 8), String(repeating: "-", count: outcomeWidth), "------"]))

        let runner: ScenarioRunner
        do {
            runner = try ScenarioRunner(scenario: scenario, dsn: database.dsn, options: database.scenarioOptions)
        } catch {
            throw Failure(.runError, "lockstorm: \(error)")
        }
        defer { runner.finish() }
        var results: [InterleavingResult] = []
        for (index, interleaving) in interleavings.enumerated() {
            if session.stop.isSet { break }
            let result: InterleavingResult
            do {
                result = try runner.run(interleaving)
            } catch {
                throw Failure(.runError, "lockstorm: interleaving \(index + 1) (\(interleaving.label(names: names))): \(error)")
            }
            if index == 0, let refused = runner.deadlockTimeoutRefused {
                output.note("could not lower deadlock_timeout on \(database.dsn) (\(refused)); each deadlock takes the server's deadlock_timeout to detect")
            }
            results.append(result)
            output.line(row([String(index + 1), interleaving.label(names: names), Format.fixed(Double(result.nanoseconds) / 1e6, digits: 1) + " ms", result.outcome.kind.label, ScenarioText.detail(result, scenario: scenario)]))
        }

        output.line()
        showSummary(results)
        let deadlocked = results.filter { $0.outcome.kind == .deadlock }.count
        output.line(deadlocked == 0 ? "\nno interleaving deadlocks." : "\n\(deadlocked) of \(results.count) interleavings deadlock.")
        let wrongRows = results.filter { $0.sessions.contains { $0.wrongRows != nil } }.count
        if wrongRows > 0 { output.line("\(wrongRows) of \(results.count) interleavings return other rows than a step's 'rows:' expects.") }
        if let csv = request.csv { try write(results, to: csv, scenario: scenario) }
        try session.throwIfSignalled()
        if deadlocked > 0 { throw Failure(.checksFailed, "") }
    }

    /// Interleavings by outcome, then the distinct cycles, most frequent first.
    private func showSummary(_ results: [InterleavingResult]) {
        var summaryRows: [[String]] = []
        for kind in OutcomeKind.allCases {
            let count = results.filter { $0.outcome.kind == kind }.count
            if count > 0 { summaryRows.append([kind.label, String(count)]) }
        }
        summaryRows.append(["total", String(results.count)])
        output.write(TextTable.render(header: ["outcome", "interleavings"], rows: summaryRows, separatorBeforeLast: true))
        var cycles: [String: (count: Int, summary: String)] = [:]
        for result in results {
            guard let deadlock = result.deadlock else { continue }
            cycles[deadlock.sessionSignature.text, default: (0, deadlock.sessionSignature.summary)].count += 1
        }
        if !cycles.isEmpty {
            output.line("\ndistinct cycles:")
            for (_, cycle) in cycles.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
                output.line("  \(cycle.count) × \(cycle.summary)")
            }
        }
    }

    /// One row per interleaving in `path` (`--csv`).
    private func write(_ results: [InterleavingResult], to path: String, scenario: Scenario) throws {
        let names = scenario.sessions.map(\.name)
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
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw Failure(.runError, "lockstorm: cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// Padding and grouping for the plain-text tables explore, replay and fuzz print.
enum TextLayout {
    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    /// `1,234,567`.
    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }

    static func truncated(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}

import Engine
import Foundation
import LockstormCore

/// Finds and parses scenario files.
public enum ScenarioLoader {
    /// Resolves `name` as a path, else as a shipped scenario in
    /// `workloads/scenarios/`; `-` is standard input.
    public static func resolve(_ name: String) throws -> URL {
        if InputFile.isStandardInput(name) { return InputFile.standardInputURL }
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: name) { return URL(fileURLWithPath: name) }
        let shipped = WorkloadLoader.shippedDirectory.appendingPathComponent("scenarios")
        for candidate in [name, name + ".yaml"] {
            let url = shipped.appendingPathComponent(candidate)
            if fileManager.fileExists(atPath: url.path) { return url }
        }
        throw Failure(.usage, "lockstorm: scenario '\(name)' not found: no such file, and no \(name).yaml in \(shipped.path)")
    }

    /// Whether `data` is a scenario (a top-level `sessions:` key), not a workload.
    static func isScenario(_ data: Data) -> Bool {
        // Bytes, not Characters: this runs on files up to the size limit.
        let key = Array("sessions:".utf8)
        var lineStart = true
        for index in data.indices {
            if lineStart, data[index] == key[0], data.count - index >= key.count, data[index..<index + key.count].elementsEqual(key) { return true }
            lineStart = data[index] == 10
        }
        return false
    }

    public static func load(_ name: String) throws -> Scenario {
        let url = try resolve(name)
        return try parse(try InputFile.read(url, name: name, what: "scenario"), name: name)
    }

    /// Parses a scenario file's bytes; `name` is how diagnostics name it.
    static func parse(_ data: Data, name: String) throws -> Scenario {
        do {
            return try ScenarioParser.parse(String(decoding: data, as: UTF8.self), file: InputFile.displayName(name))
        } catch {
            throw Failure(.usage, error.description)
        }
    }

    /// What explore and replay will run, for `validate`: the listed
    /// interleavings when the scenario lists them, else all of them (with
    /// explore's default limit), and the recorded order replay runs.
    public static func ordersToRun(_ scenario: Scenario) -> String {
        var text: String
        if let listed = scenario.interleavings {
            text = "explore runs the \(listed.count) listed interleaving\(listed.count == 1 ? "" : "s")"
        } else if let total = Interleavings.count(stepCounts: scenario.stepCounts) {
            text = "explore runs all \(TextLayout.grouped(total)) interleaving\(total == 1 ? "" : "s")"
            if total > ExploreRequest.defaultLimit { text += " (more than the default --limit \(TextLayout.grouped(ExploreRequest.defaultLimit)))" }
        } else {
            text = "more interleavings than can be counted: list the ones to run under 'interleavings:'"
        }
        if scenario.order != nil { text += "; replay runs its 1 recorded order" }
        return text
    }

    /// The default `deadlock_timeout` for explore, replay and fuzz: short, so a
    /// deadlock costs milliseconds, yet long enough that a step is seen
    /// blocked well before the check runs.
    public static let defaultDeadlockTimeoutMilliseconds = 50
}

/// How explore and replay describe what an interleaving did.
enum ScenarioText {
    /// One phrase for an outcome: who was the victim, what failed, who waited.
    static func detail(_ result: InterleavingResult, scenario: Scenario) -> String {
        let names = scenario.sessions.map(\.name)
        switch result.outcome.kind {
        case .deadlock:
            guard let deadlock = result.deadlock else { return "40P01 (no cycle in DETAIL)" }
            let victimStep = result.sessions[deadlock.victim].failure.map { "\(names[deadlock.victim]).\($0.step + 1)" } ?? names[deadlock.victim]
            return "victim \(victimStep); cycle \(cycle(deadlock, scenario: scenario))"
        case .lockNotAvailable, .otherError:
            guard let session = result.outcome.session, let failure = result.sessions[session].failure else { return "" }
            return "\(names[session]).\(failure.step + 1): \(failure.sqlState.map { "\($0) " } ?? "")\(failure.message)"
        case .wrongRows:
            guard let session = result.outcome.session, let wrong = result.sessions[session].wrongRows else { return "" }
            let expected = scenario.sessions[session].steps[wrong.step].expectedRows ?? []
            return "\(names[session]).\(wrong.step + 1) returned \(rowsText(wrong.rows)), expected \(rowsText(expected.map { $0.map(\.bindText) }))"
        case .blocked:
            let waited = result.events.compactMap { event -> String? in
                if case .blocked = event.kind { return "\(names[event.session]).\(event.step + 1)" }
                return nil
            }
            return "waited: " + waited.joined(separator: ", ")
        case .committed:
            return ""
        }
    }

    /// `[[1, a], [2, NULL]]`: rows as the server sent them.
    static func rowsText(_ rows: [[String?]]) -> String {
        "[" + rows.map { "[" + $0.map { $0 ?? "NULL" }.joined(separator: ", ") + "]" }.joined(separator: ", ") + "]"
    }

    /// `t1.2 → t2.2 → t1.2 (ShareLock on transaction)`, in PostgreSQL's cycle order.
    static func cycle(_ deadlock: DeadlockFinding, scenario: Scenario) -> String {
        let labels = deadlock.participants.map { participant -> String in
            guard let session = participant.session else { return "outside session" }
            return "\(scenario.sessions[session].name)" + (participant.step.map { ".\($0 + 1)" } ?? "")
        }
        let locks = Set(deadlock.report.edges.map { "\($0.mode) on \($0.lock.kind)" })
        let lockText = locks.count == 1 ? locks.first ?? "" : deadlock.report.edges.map { "\($0.mode) on \($0.lock.kind)" }.joined(separator: "; ")
        return (labels + labels.prefix(1)).joined(separator: " → ") + " (\(lockText))"
    }
}

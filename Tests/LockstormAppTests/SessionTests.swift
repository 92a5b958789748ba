import Foundation
import Testing
@testable import LockstormApp

@Suite struct SessionTests {
    @Test("Ctrl-C exits 130, SIGTERM and SIGHUP 143")
    func signalsMapToExitStatuses() {
        #expect(Session.exitStatus(forSignal: SIGINT) == .interrupted)
        #expect(Session.exitStatus(forSignal: SIGINT).rawValue == 130)
        #expect(Session.exitStatus(forSignal: SIGTERM) == .terminated)
        #expect(Session.exitStatus(forSignal: SIGHUP) == .terminated)
        #expect(Session.exitStatus(forSignal: SIGTERM).rawValue == 143)
    }

    @Test func signalsAreNamedForNotes() {
        #expect(Session.verb(forSignal: SIGINT) == "interrupted")
        #expect(Session.verb(forSignal: SIGTERM) == "terminated")
    }

    @Test("the exit codes are the documented ones")
    func exitCodes() {
        #expect([ExitStatus.success, .checksFailed, .usage, .runError, .interrupted, .terminated].map(\.rawValue) == [0, 1, 2, 3, 130, 143])
    }

    @Test("--dsn wins over DATABASE_URL; neither means an embedded server")
    func databaseTargetPrefersTheFlag() {
        let both = DatabaseTarget(dsn: "postgresql:///flag", environment: ["DATABASE_URL": "postgresql:///env"])
        #expect(both.external?.raw == "postgresql:///flag")
        let environment = DatabaseTarget(dsn: nil, environment: ["DATABASE_URL": "postgresql:///env"])
        #expect(environment.external?.raw == "postgresql:///env")
        let emptyFlag = DatabaseTarget(dsn: "", environment: ["DATABASE_URL": "postgresql:///env"])
        #expect(emptyFlag.external?.raw == "postgresql:///env")
        #expect(DatabaseTarget(dsn: nil, environment: [:]).external == nil)
        #expect(DatabaseTarget(dsn: nil, environment: ["DATABASE_URL": ""]).external == nil)
    }

    @Test("a session no signal reached ends normally; its user's database is used as it is")
    func quietSession() throws {
        let output = RecordingOutput()
        let session = Session(output: output) { _ in "stopping" }
        defer { session.close() }
        #expect(session.firstSignal == nil)
        try session.throwIfSignalled()
        let database = try session.loadDatabase(DatabaseTarget(dsn: "postgresql:///x", deadlockTimeout: DeadlockTimeout(milliseconds: 50), environment: [:]), clients: 4)
        #expect(!database.isEmbedded)
        #expect(output.errors.contains("--deadlock-timeout applies only to the embedded server"))
        let scenario = try session.scenarioDatabase(DatabaseTarget(dsn: "postgresql:///x", environment: [:]), deadlockTimeoutMilliseconds: 20, connections: 3)
        #expect(scenario.scenarioOptions.sessionDeadlockTimeoutMilliseconds == 20)
    }

    @Test("the command line recorded in run.json hides passwords and quotes for a shell")
    func redactedCommandLine() {
        let text = CommandLineText.redacted(["lockstorm", "run", "--dsn", "postgresql://bob:hunter2@db/x", "--check", "deadlocks == 0"])
        #expect(!text.contains("hunter2"))
        #expect(text.contains("postgresql://bob:****@db/x"))
        #expect(text.hasSuffix("'deadlocks == 0'"))
    }
}

/// Collects what a pipeline writes, for tests.
final class RecordingOutput: OutputSink, @unchecked Sendable {
    // Tests call it from one thread at a time; the lock makes the progress callback safe too.
    private let lock = NSLock()
    private var standard = ""
    private var error = ""

    var text: String { lock.withLock { standard } }
    var errors: String { lock.withLock { error } }

    func write(_ text: String) { lock.withLock { standard += text } }
    func writeError(_ text: String) { lock.withLock { error += text } }
}

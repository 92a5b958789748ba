@testable import Engine
import LockstormCore
import PostgresClient
import Testing
import TestSupport

@Suite("Fuzzer: why a reproduction failed, and deadlock_timeout as said")
struct FuzzerTests {
    @Test("a replay that failed names the session, its template step, the SQLSTATE and the message")
    func describesTheFailure() {
        let line = ScenarioStep(text: "INSERT INTO order_lines …", statement: BoundStatement(sql: "INSERT INTO order_lines VALUES ($1)", parameters: ["137"]), templateStep: 2)
        let first = ScenarioStep(text: "INSERT INTO orders …", statement: BoundStatement(sql: "INSERT INTO orders DEFAULT VALUES"), templateStep: 0)
        let scenario = Scenario(name: "r", sessions: [
            ScenarioSession(name: "checkout_1", template: "checkout", steps: [first, line, .commit]),
            ScenarioSession(name: "checkout_2", template: "checkout", steps: [first, line, .commit]),
        ])
        let message = "insert or update on table \"order_lines\" violates foreign key constraint \"order_lines_order_id_fkey\""
        let sessions = [SessionResult(), SessionResult(failure: (1, SQLState("23503"), message))]
        let result = InterleavingResult(
            interleaving: Interleaving([0, 1, 0, 1, 0, 1]), outcome: InterleavingOutcome.classify(sessions), sessions: sessions, deadlock: nil, events: [], nanoseconds: 0
        )
        #expect(Fuzzer.describe(result, scenario: scenario) == "checkout_2 step 3 failed: 23503 \(message)")
        let clean = [SessionResult(), SessionResult(wasBlocked: true)]
        let blocked = InterleavingResult(interleaving: Interleaving([0, 1]), outcome: InterleavingOutcome.classify(clean), sessions: clean, deadlock: nil, events: [], nanoseconds: 0)
        #expect(Fuzzer.describe(blocked, scenario: scenario) == "it ended with blocked then completed")
    }

    @Test("deadlock_timeout reads as people write it")
    func format() {
        #expect(DeadlockTimeoutProbe.format(milliseconds: 1000) == "1 s")
        #expect(DeadlockTimeoutProbe.format(milliseconds: 20) == "20 ms")
        #expect(DeadlockTimeoutProbe.format(milliseconds: 1500) == "1500 ms")
    }
}

@Suite("Fuzzer: the server's deadlock_timeout, lowered where the role may", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct DeadlockTimeoutProbeTests {
    @Test("a superuser's sessions lower 1 s to 20 ms; a plain role on a user's server is refused and keeps the server's 1 s")
    func probe() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 1000) { server in
            let probe = try DeadlockTimeoutProbe.probe(dsn: server.dsn, wantedMilliseconds: 20)
            #expect(probe.serverMilliseconds == 1000)
            #expect(probe.lowered)
            #expect(probe.effectiveMilliseconds == 20)
        }
        try UserServer.with { server in
            let probe = try DeadlockTimeoutProbe.probe(dsn: ConnectionString(server.dsn), wantedMilliseconds: 20)
            #expect(probe.serverText == "1s")
            #expect(!probe.lowered)
            #expect(probe.refusal?.contains("permission denied to set parameter \"deadlock_timeout\"") == true, "\(probe.refusal ?? "")")
            #expect(probe.effectiveMilliseconds == 1000)
        }
    }
}

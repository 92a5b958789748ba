import Engine
import Foundation
import LockstormCore
import PostgresClient
import Testing
import TestSupport

/// The deadlock zoo's explore scenarios (workloads/scenarios/zoo-*.yaml)
/// show the counts their headers derive by hand, on the lock kinds their
/// shapes name.
@Suite("Zoo scenarios show their hand counts", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ZooScenarioTests {
    private func explore(_ name: String, dsn: ConnectionString) throws -> [InterleavingResult] {
        let scenario = try ScenarioParser.parse(try TestServer.workloadText("scenarios/\(name)"), file: name)
        let runner = try ScenarioRunner(scenario: scenario, dsn: dsn)
        defer { runner.finish() }
        let orders = scenario.interleavings ?? Interleavings.all(stepCounts: scenario.stepCounts)
        return try orders.map { try runner.run($0) }
    }

    @Test("two-session zoo cores: 12 deadlock exactly when both first steps come first, 6 blocked, 2 committed; each on its lock kind")
    func twoSessionCores() throws {
        let lockKinds = [
            "zoo-upgrade.yaml": "ShareLock on transaction",
            "zoo-foreign-key.yaml": "ShareLock on transaction",
            "zoo-advisory.yaml": "ExclusiveLock on advisory lock",
            "zoo-ddl.yaml": "on relation",
        ]
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            for (name, lockKind) in lockKinds.sorted(by: { $0.key < $1.key }) {
                let results = try explore(name, dsn: server.dsn)
                let counts = Dictionary(grouping: results, by: \.outcome.kind).mapValues(\.count)
                #expect(counts == [.deadlock: 12, .blocked: 6, .committed: 2], "\(name)")
                for result in results {
                    let bothFirst = Set(result.interleaving.sessions.prefix(2)) == [0, 1]
                    #expect((result.outcome.kind == .deadlock) == bothFirst, "\(name): \(result.interleaving.sessions)")
                    if let deadlock = result.deadlock {
                        #expect(deadlock.detail.contains(lockKind), "\(name): \(deadlock.detail)")
                        // Both wait in their second step.
                        #expect(deadlock.participants.map(\.step) == [1, 1], "\(name)")
                    }
                }
            }
        }
    }

    @Test("zoo-ring: the two listed ring orders deadlock with all three sessions in the cycle; the others do not")
    func ring() throws {
        try TestServer.with(deadlockTimeoutMilliseconds: 50) { server in
            let results = try explore("zoo-ring.yaml", dsn: server.dsn)
            #expect(results.map(\.outcome.kind) == [.deadlock, .deadlock, .blocked, .committed])
            for deadlock in results.compactMap(\.deadlock) {
                #expect(Set(deadlock.participants.compactMap(\.session)) == [0, 1, 2])
                #expect(deadlock.participants.map(\.step) == [1, 1, 1])
            }
        }
    }
}

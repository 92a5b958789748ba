import Foundation
import Testing
import TestSupport

/// explore, replay and fuzz as a user meets them: the binary, its output and exit codes.
@Suite("lockstorm explore / replay / fuzz (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ExploreCommandTests {
    let scenarios = TestServer.repositoryRoot.appendingPathComponent("workloads/scenarios").path
    let workloads = TestServer.repositoryRoot.appendingPathComponent("workloads").path

    private func scratch() throws -> String {
        let path = "/tmp/lse-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path + "/server", withIntermediateDirectories: true)
        return path
    }

    @Test("explore exits 1 with 12 of 20 deadlocking on the unordered transfer and writes the CSV; 0 on nowait")
    func exploreExitCodes() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let csv = tmp + "/explore.csv"
        let child = try ChildProcess(LockstormBinary.path, ["explore", scenarios + "/transfer-unordered.yaml", "--csv", csv], environment: ["TMPDIR": tmp + "/server"])
        #expect(child.wait(timeout: 120) == 1, "stderr: \(child.standardError)")
        #expect(child.standardOutput.contains("12 of 20 interleavings deadlock."))
        #expect(child.standardOutput.contains("deadlock                           12"))
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 21)
        #expect(rows.filter { $0.contains(",deadlock,") }.count == 12)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)

        let nowait = try ChildProcess(LockstormBinary.path, ["explore", "nowait"], environment: ["TMPDIR": tmp + "/server", "LOCKSTORM_WORKLOADS": workloads])
        #expect(nowait.wait(timeout: 120) == 0, "stderr: \(nowait.standardError)")
        #expect(nowait.standardOutput.contains("55P03 lock not available              2"))
    }

    @Test("too many interleavings and a bad scenario are usage errors (exit 2) before any server starts")
    func usageErrors() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let limited = try ChildProcess(LockstormBinary.path, ["explore", scenarios + "/transfer-ordered.yaml", "--limit", "50"])
        #expect(limited.wait(timeout: 60) == 2)
        #expect(limited.standardError.contains("has 70 interleavings (steps per session, COMMIT included: t1: 4, t2: 4), more than --limit 50"))
        let bad = tmp + "/bad.yaml"
        try "name: bad\nsessions:\n  a:\n    step: [SELECT 1]\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let child = try ChildProcess(LockstormBinary.path, ["explore", bad])
        #expect(child.wait(timeout: 60) == 2)
        #expect(child.standardError.contains("bad.yaml:4:5: unknown key 'step' in session 'a'; did you mean 'steps'?"))
    }

    @Test("fuzz --stop-on-first writes a reproduction that lockstorm replay reproduces three times in a row")
    func fuzzThenReplay() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let fuzz = try ChildProcess(LockstormBinary.path, [
            "fuzz", workloads + "/transfers.yaml", "--variant", "unordered", "--iterations", "10", "--seed", "2", "--stop-on-first", "--out", tmp + "/results",
        ], environment: ["TMPDIR": tmp + "/server"])
        #expect(fuzz.wait(timeout: 180) == 1, "stderr: \(fuzz.standardError)")
        #expect(fuzz.standardOutput.contains("NEW cycle #1"))
        // The first cycle may be a ring of three or more sessions that does not
        // replay the same way (fuzz then writes no file for it); two-session
        // cycles always do. Fuzz the whole budget in that case.
        func reproductions() -> [String] {
            let root = tmp + "/results"
            let folders = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("fuzz-transfers-unordered-") }.sorted()
            return folders.flatMap { folder in
                ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? []).filter { $0.hasSuffix(".yaml") }.sorted().map { "\(root)/\(folder)/\($0)" }
            }
        }
        if reproductions().isEmpty {
            let more = try ChildProcess(LockstormBinary.path, [
                "fuzz", workloads + "/transfers.yaml", "--variant", "unordered", "--iterations", "10", "--seed", "3", "--out", tmp + "/results",
            ], environment: ["TMPDIR": tmp + "/server"])
            #expect(more.wait(timeout: 300) == 1, "stderr: \(more.standardError)")
            #expect(more.standardOutput.contains("reproduction (replayed: same cycle)"), "stdout: \(more.standardOutput)")
        }
        let file = try #require(reproductions().first, "no reproduction written: \(fuzz.standardOutput)")
        let replay = try ChildProcess(LockstormBinary.path, ["replay", file, "--runs", "3"], environment: ["TMPDIR": tmp + "/server"])
        #expect(replay.wait(timeout: 120) == 0, "stderr: \(replay.standardError)\nstdout: \(replay.standardOutput)")
        #expect(replay.standardOutput.contains("reproduced 3 of 3 runs."))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)
    }
}

@Suite("lockstorm validate and list know scenarios")
struct ScenarioValidateTests {
    @Test("validate checks a scenario file without a database; list names the shipped scenarios")
    func validateScenario() throws {
        let file = TestServer.repositoryRoot.appendingPathComponent("workloads/scenarios/transfer-unordered.yaml").path
        let child = try ChildProcess(LockstormBinary.path, ["validate", file])
        #expect(child.wait(timeout: 60) == 0, "stderr: \(child.standardError)")
        #expect(child.standardOutput.contains("ok (scenario: 2 session(s); explore runs all 20 interleavings)"), "\(child.standardOutput)")
        let list = try ChildProcess(LockstormBinary.path, ["list"], environment: ["LOCKSTORM_WORKLOADS": TestServer.repositoryRoot.appendingPathComponent("workloads").path])
        #expect(list.wait(timeout: 60) == 0)
        #expect(list.standardOutput.contains("scenarios (lockstorm explore NAME): nowait, transfer-ordered, transfer-unordered, zoo-advisory, zoo-ddl, zoo-foreign-key, zoo-ring, zoo-upgrade"), "\(list.standardOutput)")
    }

    @Test("validate counts the orders that will run: the listed interleavings, not the multinomial; a recorded order for replay")
    func validateCountsWhatRuns() throws {
        let tmp = "/tmp/lst-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let ring = TestServer.repositoryRoot.appendingPathComponent("workloads/scenarios/zoo-ring.yaml").path
        let unordered = TestServer.repositoryRoot.appendingPathComponent("workloads/scenarios/transfer-unordered.yaml").path
        let reproduction = tmp + "/reproduction.yaml"
        try (try String(contentsOfFile: unordered, encoding: .utf8) + "\norder: [t1, t2, t1, t2]\n").write(toFile: reproduction, atomically: true, encoding: .utf8)
        let child = try ChildProcess(LockstormBinary.path, ["validate", ring, reproduction])
        #expect(child.wait(timeout: 60) == 0, "stderr: \(child.standardError)")
        // The ring has 1,680 interleavings; it lists four.
        #expect(child.standardOutput.contains("zoo-ring.yaml: ok (scenario: 3 session(s); explore runs the 4 listed interleavings)\n"), "\(child.standardOutput)")
        #expect(child.standardOutput.contains("reproduction.yaml: ok (scenario: 2 session(s); explore runs all 20 interleavings; replay runs its 1 recorded order)\n"), "\(child.standardOutput)")
    }

    @Test("validate rejects VACUUM inside a session's transaction with file:line:col and exit 2")
    func validateRejectsNonTransactional() throws {
        let tmp = "/tmp/lst-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let file = tmp + "/vacuum.yaml"
        try "name: v\nsessions:\n  a: [VACUUM t]\n  b:\n    autocommit: true\n    steps: [VACUUM t]\n".write(toFile: file, atomically: true, encoding: .utf8)
        let child = try ChildProcess(LockstormBinary.path, ["validate", file])
        #expect(child.wait(timeout: 60) == 2, "stdout: \(child.standardOutput)")
        #expect(child.standardError.contains("vacuum.yaml:3:7: VACUUM cannot run inside a transaction block, and session 'a' runs this step in one"), "\(child.standardError)")
        #expect(!child.standardError.contains("session 'b'"), "\(child.standardError)")
    }
}

import Foundation
import Testing
import TestSupport

/// fuzz and replay on the shipped checkout workload, whose orders get
/// server-generated ids (`RETURNING order_id` into `order_id`) that the order
/// lines reference: what fuzz finds must replay, run after run.
@Suite("lockstorm fuzz / replay on generated keys, budgets and a user's server (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct FuzzCommandTests {
    let checkout = TestServer.repositoryRoot.appendingPathComponent("workloads/checkout.yaml").path

    private func scratch() throws -> String {
        let path = "/tmp/lsf-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path + "/server", withIntermediateDirectories: true)
        return path
    }

    private func reproductions(under root: String) -> [String] {
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("fuzz-checkout-") }.sorted()
        return folders.flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? []).filter { $0.hasSuffix(".yaml") }.sorted().map { "\(root)/\(folder)/\($0)" }
        }
    }

    @Test("checkout (generated key captured, then used): fuzz --stop-on-first stops at its first verified cycle, and replay --runs 10 reproduces it 10 of 10")
    func checkoutReproduces() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let fuzz = try ChildProcess(LockstormBinary.path, [
            "fuzz", checkout, "--variant", "cart-order", "-T", "120", "--seed", "7", "--stop-on-first", "--out", tmp + "/results",
        ], environment: ["TMPDIR": tmp + "/server"])
        #expect(fuzz.wait(timeout: 240) == 1, "stderr: \(fuzz.standardError)")
        let out = fuzz.standardOutput
        #expect(out.contains("deadlock_timeout 20 ms"), "\(out)")
        // One verified reproduction, and nothing after it: no further round, no further replay.
        let verified = out.components(separatedBy: "reproduction (replayed: same cycle)").count - 1
        #expect(verified == 1, "\(out)")
        #expect(out.contains("stopped at the first verified cycle"), "\(out)")
        let lines = out.split(separator: "\n").map(String.init)
        let verifiedLine = try #require(lines.lastIndex { $0.contains("reproduction (replayed: same cycle)") })
        #expect(!lines[verifiedLine...].contains { $0.hasPrefix("round ") || $0.contains("NEW cycle") }, "\(out)")
        // No foreign-key failure stands for a reproduction any more.
        #expect(!out.contains("23503"), "\(out)")

        let file = try #require(reproductions(under: tmp + "/results").first, "no reproduction written: \(out)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        // YAML double-quoted: the identifier's quotes are escaped in the file.
        #expect(text.contains("CREATE TEMP TABLE lockstorm_into_1 (\\\"order_id\\\") ON COMMIT DROP AS WITH captured AS (INSERT INTO orders"), "\(text)")
        #expect(text.contains("(SELECT \\\"order_id\\\" FROM lockstorm_into_1 LIMIT 1)"), "\(text)")

        let replay = try ChildProcess(LockstormBinary.path, ["replay", file, "--runs", "10"], environment: ["TMPDIR": tmp + "/server"])
        #expect(replay.wait(timeout: 180) == 0, "stderr: \(replay.standardError)\nstdout: \(replay.standardOutput)")
        #expect(replay.standardOutput.contains("reproduced 10 of 10 runs."), "\(replay.standardOutput)")
        // One numbering: the trace names template steps, with the values bound, never :names.
        #expect(replay.standardOutput.contains("checkout_1 step 1"), "\(replay.standardOutput)")
        #expect(replay.standardOutput.contains("UPDATE inventory SET stock = stock - "), "\(replay.standardOutput)")
        #expect(!replay.standardOutput.contains(" = :"), "\(replay.standardOutput)")
        let signature = try #require(text.split(separator: "\n").first { $0.hasPrefix("  signature:") })
        #expect(replay.standardOutput.contains(String(signature.dropFirst("  signature: ".count)).trimmingCharacters(in: ["\""])))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp + "/server").isEmpty)
    }

    @Test("on a user's server (deadlock_timeout 1 s, a role that may not change it) the header says 1 s and why; -T is spent and said")
    func userServerDeadlockTimeout() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try UserServer.with { server in
            let fuzz = try ChildProcess(LockstormBinary.path, [
                "fuzz", checkout, "--variant", "cart-order", "--dsn", server.dsn, "-T", "4", "--seed", "7", "--out", tmp + "/results",
            ])
            let status = fuzz.wait(timeout: 120)
            #expect(status == 0 || status == 1, "stderr: \(fuzz.standardError)")
            let out = fuzz.standardOutput
            #expect(out.contains("deadlock_timeout 1 s: the role may not change it (permission denied to set parameter \"deadlock_timeout\"): using the server's 1 s"), "\(out)")
            #expect(!out.contains("20 ms"), "\(out)")
            #expect(out.contains("the 4 s budget was spent: no further round"), "\(out)")
            #expect(!(out + fuzz.standardError).contains(server.password))
            // Whatever was saved says the server's timeout, which its replays run with.
            for file in reproductions(under: tmp + "/results") {
                #expect(try String(contentsOfFile: file, encoding: .utf8).contains("deadlock_timeout: 1000ms"))
            }
        }
    }
}

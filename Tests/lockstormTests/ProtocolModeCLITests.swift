import Foundation
import Testing
import TestSupport

/// `-M simple|extended|prepared` at the command line: values it refuses, the
/// simple protocol refused for workloads with bind parameters before any
/// server starts, and the mode recorded in run.json and the summary.
@Suite("-M/--protocol (the binary)")
struct ProtocolModeCLITests {
    let transfers = TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path

    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32?, stdout: String, stderr: String) {
        let child = try ChildProcess(LockstormBinary.path, arguments, environment: environment)
        let status = child.wait(timeout: 120)
        return (status, child.standardOutput, child.standardError)
    }

    @Test("an unknown mode is refused (exit 2), listing the three")
    func unknownMode() throws {
        for command in ["run", "compare"] {
            let result = try run([command, "transfers", "-M", "fast"])
            #expect(result.status == 2)
            #expect(result.stderr.contains("'fast'"), "\(result.stderr)")
            #expect(result.stderr.contains("'simple'") && result.stderr.contains("'extended'") && result.stderr.contains("'prepared'"), "\(result.stderr)")
        }
    }

    @Test("-M simple on a workload with bind parameters is refused before a server starts, naming the step's line")
    func simpleRefusedForParameters() throws {
        for (command, variant) in [("run", "--variant"), ("compare", "--variants")] {
            let result = try run([command, transfers, "--protocol", "simple", variant, "ordered"])
            #expect(result.status == 2)
            #expect(result.stderr.contains("\(transfers):"), "\(result.stderr)")
            #expect(result.stderr.contains("-M simple cannot send step 1 of transaction 'transfer' (variant 'ordered')"), "\(result.stderr)")
            #expect(result.stderr.contains("lockstorm never splices values into SQL; use -M extended or -M prepared"), "\(result.stderr)")
            #expect(!result.stderr.contains("starting an embedded PostgreSQL"))
        }
    }

    @Test(
        "-M simple runs a workload without parameters; run.json and the summary say how it was sent",
        .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1")
    )
    func simpleRunIsRecorded() throws {
        let tmp = "/tmp/lst-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp + "/server", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let file = tmp + "/plain.yaml"
        try """
            name: plain
            setup: CREATE TABLE counter (n bigint NOT NULL); INSERT INTO counter VALUES (0);
            teardown: DROP TABLE IF EXISTS counter;
            transactions:
              bump:
                steps:
                  - UPDATE counter SET n = n + 1
            invariants:
              - name: every commit counted
                sql: SELECT n FROM counter
                equals: 30
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try run(["run", file, "-M", "simple", "-c", "3", "-t", "10", "--out", tmp + "/results"], environment: ["TMPDIR": tmp + "/server"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("plain / default: 3 clients"), "\(result.stdout)")
        #expect(result.stdout.contains(", -M simple"), "\(result.stdout)")
        #expect(result.stdout.contains("PASS  every commit counted: expected 30, got 30"), "\(result.stdout)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: tmp + "/results")
        let folder = try #require(runs.first)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(tmp)/results/\(folder)/run.json"))) as? [String: Any]
        #expect(record?["protocol"] as? String == "simple")
        #expect(record?["begin"] as? String == "separate")
    }
}

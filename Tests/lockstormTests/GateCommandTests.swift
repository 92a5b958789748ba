import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// The CI gate and `compare` as a user meets them: real runs, exit codes, files.
@Suite("lockstorm run --check/--baseline and compare (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct GateCommandTests {
    let transfers = TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path

    private func scratch() throws -> String {
        let path = "/tmp/lst-gate-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func run(_ arguments: [String], in tmp: String, timeout: Double = 120) throws -> (Int32?, ChildProcess) {
        let child = try ChildProcess(LockstormBinary.path, arguments, environment: ["TMPDIR": tmp])
        return (child.wait(timeout: timeout), child)
    }

    private func junitCases(_ path: String) throws -> (cases: [String], failures: [String])? {
        final class Collector: NSObject, XMLParserDelegate {
            var cases: [String] = []
            var failures: [String] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == "testcase" { cases.append(attributes["name"] ?? "") }
                if name == "failure" { failures.append(attributes["message"] ?? "") }
            }
        }
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        let collector = Collector()
        parser.delegate = collector
        return parser.parse() ? (collector.cases, collector.failures) : nil
    }

    @Test("a passing check exits 0, a failing one exits 1; both write JUnit an XML parser accepts and print the measured values")
    func passAndFail() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let base = ["run", transfers, "--variant", "ordered", "-c", "2", "-t", "20", "--set", "accounts=50", "--out", tmp + "/results", "-q"]
        let (passStatus, passing) = try run(base + ["--check", "deadlocks == 0", "--check", "transfer.p99_ms < 60000 && committed >= 40", "--junit", tmp + "/pass.xml", "--markdown", tmp + "/pass.md"], in: tmp)
        #expect(passStatus == 0, "stderr: \(passing.standardError)")
        #expect(passing.standardOutput.contains("PASS  deadlocks == 0"))
        #expect(passing.standardOutput.contains("committed = 40"))
        let passed = try #require(try junitCases(tmp + "/pass.xml"))
        #expect(passed.cases == ["invariant_failures == 0", "deadlocks == 0", "transfer.p99_ms < 60000 && committed >= 40", "money is conserved"])
        #expect(passed.failures.isEmpty)
        #expect(try String(contentsOfFile: tmp + "/pass.md", encoding: .utf8).contains("✅ passed"))

        let (failStatus, failing) = try run(base + ["--check", "tps > 1e9", "--junit", tmp + "/fail.xml"], in: tmp)
        #expect(failStatus == 1, "stderr: \(failing.standardError)")
        #expect(failing.standardOutput.contains("FAIL  tps > 1e9"))
        #expect(failing.standardError.contains("checks failed: 1 of 3"))
        let failed = try #require(try junitCases(tmp + "/fail.xml"))
        #expect(failed.cases.count == 3)
        #expect(failed.failures.count == 1)
        #expect(failed.failures.first?.hasPrefix("tps = ") == true)
    }

    @Test("a malformed or unknown check is a usage error with a caret, before any server starts")
    func badCheckBeforeRun() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let (status, child) = try run(["run", transfers, "--check", "transfer.p99 < 5", "--dsn", "postgresql://nobody@127.0.0.1:1/none"], in: tmp, timeout: 30)
        #expect(status == 2)
        #expect(child.standardError == "lockstorm: --check 'transfer.p99 < 5': unknown metric 'p99'; did you mean 'p99_ms'?\n  transfer.p99 < 5\n           ^\n")
        let (limitStatus, limit) = try run(["run", transfers, "--baseline", tmp, "--max-regression", "tps=x", "--dsn", "postgresql://nobody@127.0.0.1:1/none"], in: tmp, timeout: 30)
        #expect(limitStatus == 2)
        #expect(limit.standardError.hasPrefix("lockstorm: --max-regression: 'x' is not a limit"))
    }

    @Test("a baseline comparison flags a planted regression: the same workload on fewer accounts deadlocks more")
    func baselineFlagsRegression() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let base = ["run", transfers, "--variant", "unordered", "-c", "8", "-T", "2", "--deadlock-timeout", "20ms", "--seed", "3", "-q"]
        let (first, baseline) = try run(base + ["--set", "accounts=100000", "--out", tmp + "/base"], in: tmp)
        #expect(first == 0, "stderr: \(baseline.standardError)")
        let (second, current) = try run(base + ["--set", "accounts=4", "--out", tmp + "/now", "--baseline", tmp + "/base", "--max-regression", "deadlocks_per_1k=0", "--junit", tmp + "/j.xml"], in: tmp)
        #expect(second == 1, "stdout: \(current.standardOutput)\nstderr: \(current.standardError)")
        #expect(current.standardOutput.contains("FAIL  deadlocks_per_1k=0"))
        #expect(current.standardOutput.contains("against the baseline"))
        let runs = try FileManager.default.contentsOfDirectory(atPath: tmp + "/now")
        let csv = try String(contentsOfFile: tmp + "/now/" + (try #require(runs.first)) + "/baseline.csv", encoding: .utf8)
        let rows = CSVOracle.records(csv)
        let gated = try #require(rows.first { $0["metric"] == "deadlocks_per_1k" })
        #expect(gated["verdict"] == "fail")
        #expect(gated["limit"] == "deadlocks_per_1k=0")
        #expect(Double(gated["baseline"] ?? "") == 0)
        #expect((Double(gated["current"] ?? "") ?? 0) > 0)
        let junit = try #require(try junitCases(tmp + "/j.xml"))
        #expect(junit.cases.contains("deadlocks_per_1k=0"))
        #expect(junit.failures.count == 1)
    }

    @Test("compare runs every variant at every sweep point and writes comparison.csv and report.html")
    func compareProducesEveryCell() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let (status, child) = try run(["compare", transfers, "--variants", "ordered,unordered", "--sweep", "clients=1,3", "--sweep", "accounts=10,50", "-t", "10", "--out", tmp + "/out", "-q"], in: tmp, timeout: 180)
        #expect(status == 0, "stderr: \(child.standardError)")
        let directories = try FileManager.default.contentsOfDirectory(atPath: tmp + "/out")
        let directory = tmp + "/out/" + (try #require(directories.first))
        let rows = CSVOracle.records(try String(contentsOfFile: directory + "/comparison.csv", encoding: .utf8))
        let cells = Set(rows.map { "\($0["variant"] ?? "") \($0["clients"] ?? "") \($0["accounts"] ?? "")" })
        #expect(cells == ["ordered 1 10", "ordered 1 50", "ordered 3 10", "ordered 3 50", "unordered 1 10", "unordered 1 50", "unordered 3 10", "unordered 3 50"])
        #expect(rows.allSatisfy { $0["invariants"] == "pass" && $0["runs"] == "1" && (Double($0["tps"] ?? "") ?? 0) > 0 })
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(XMLParser(data: Data(html.utf8)).parse())
        #expect(html.contains("id=\"chart-tps\"") && html.contains("id=\"chart-p99\""))
        #expect(child.standardOutput.contains("clients  accounts  variant"))
    }

    @Test("compare queue.yaml --sweep clients=1,4 produces every cell of the four strategies (the reaper needs two clients)")
    func compareQueue() throws {
        let tmp = try scratch()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let queue = TestServer.repositoryRoot.appendingPathComponent("workloads/queue.yaml").path
        // A small queue drains in every cell well before the cap, so every invariant must hold.
        let (status, child) = try run(["compare", queue, "--sweep", "clients=1,4", "--set", "jobs=150", "-T", "60", "--out", tmp + "/out", "-q"], in: tmp, timeout: 240)
        #expect(status == 0, "stderr: \(child.standardError)")
        #expect(child.standardError.contains("skipping reaper at 1 client: it needs at least 2"))
        let directories = try FileManager.default.contentsOfDirectory(atPath: tmp + "/out")
        let directory = tmp + "/out/" + (try #require(directories.first))
        let rows = CSVOracle.records(try String(contentsOfFile: directory + "/comparison.csv", encoding: .utf8))
        #expect(Set(rows.map { "\($0["variant"] ?? "") \($0["clients"] ?? "")" }) == [
            "skip-locked 1", "nowait 1", "blocking 1", "skip-locked 4", "nowait 4", "blocking 4", "reaper 4",
        ])
        #expect(rows.allSatisfy { $0["runs"] == "1" && $0["partial"] == "false" && $0["invariants"] == "pass" })
    }
}

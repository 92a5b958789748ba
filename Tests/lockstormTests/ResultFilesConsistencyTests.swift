import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// A real run's files agree with each other and with the server.
@Suite("Result files of a real run", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ResultFilesConsistencyTests {
    @Test("summary, timeseries, latency and errors add up; client and server deadlock counts agree")
    func totalsAddUpAcrossFiles() throws {
        let tmp = "/tmp/lst-files-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let workload = TestServer.repositoryRoot.appendingPathComponent("workloads/transfers.yaml").path
        let child = try ChildProcess(LockstormBinary.path, [
            "run", workload, "--variant", "unordered", "-c", "16", "-T", "3", "--set", "accounts=10", "--deadlock-timeout", "50ms",
            "--out", tmp + "/results", "--interval", "500ms", "--format", "json",
        ], environment: ["TMPDIR": tmp])
        #expect(child.wait(timeout: 120) == 0, "stderr: \(child.standardError)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: tmp + "/results")
        let directory = tmp + "/results/" + (try #require(runs.first))
        func read(_ name: String) throws -> [[String: String]] {
            CSVOracle.records(try String(contentsOfFile: directory + "/" + name, encoding: .utf8))
        }
        let summary = try read("summary.csv")
        let total = try #require(summary.first { $0["transaction"] == "total" })
        func int(_ row: [String: String], _ column: String) -> Int { Int(row[column] ?? "") ?? -1 }

        // timeseries: every count sums to the total row.
        let series = try read("timeseries.csv")
        #expect(series.count >= 6)
        for column in ["attempts", "committed", "failed", "retries", "deadlocks", "lock_not_available", "serialization_failures", "statement_timeouts", "connection_errors", "other_errors"] {
            #expect(series.map { int($0, column) }.reduce(0, +) == int(total, column), "timeseries \(column)")
        }
        #expect(series.map { $0["interval"] ?? "" } == (0..<series.count).map(String.init))
        #expect(int(total, "deadlocks") > 0)

        // errors: the counts add up to failed, and 40P01 carries the cycle.
        let errors = try read("errors.csv")
        #expect(errors.map { int($0, "count") }.reduce(0, +) == int(total, "failed"))
        let deadlock = try #require(errors.first { $0["sqlstate"] == "40P01" })
        #expect(int(deadlock, "count") == int(total, "deadlocks"))
        #expect(deadlock["sample_detail"]?.contains("waits for ShareLock on transaction") == true)

        // latency: the spectrum of the total ends at the maximum with every commit counted.
        let spectrum = try read("latency.csv").filter { $0["transaction"] == "total" }
        let last = try #require(spectrum.last)
        #expect(last["percentile"] == "100.00")
        #expect(int(last, "count") == int(total, "committed"))
        #expect(last["latency_ms"] == total["lat_max_ms"])

        // run.json: reproducible facts, and the server's own deadlock count agrees.
        let record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/run.json"))) as? [String: Any])
        let deadlocks = try #require(record["deadlocks"] as? [String: Any])
        #expect(deadlocks["client"] as? Int == int(total, "deadlocks"))
        #expect(deadlocks["server_delta"] as? Int == int(total, "deadlocks"))
        #expect(deadlocks["agree"] as? Bool == true)
        #expect((record["workload"] as? [String: Any])?["sha256"] as? String == sha256sum(workload))
        #expect((record["parameters"] as? [String: Any])?["accounts"] as? Int == 10)
        #expect(record["partial"] as? Bool == false)
        #expect(record["begin"] as? String == "with_first_statement")
        #expect(record["protocol"] as? String == "extended")
        #expect(record["interval_s"] as? Double == 0.5)
        #expect((record["peak_rss_bytes"] as? Int ?? 0) > 1_000_000)

        // deadlocks.csv: the cycles account for every deadlock.
        let cycles = try read("deadlocks.csv")
        #expect(!cycles.isEmpty)
        #expect(cycles.map { int($0, "count") }.reduce(0, +) == int(total, "deadlocks"))
        #expect(cycles.allSatisfy { ($0["participants"] ?? "").contains("transfer:") })

        // timeseries carries the lock-wait sampler's columns.
        #expect(series.contains { int($0, "lock_samples") > 0 })

        // report.html: self-contained, well-formed, with the charts and the cycles.
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 5)
        #expect(html.contains("id=\"deadlocks-table\""))
        #expect(XMLParser(data: Data(html.utf8)).parse())
        // lockstorm report DIR renders it again from the files alone.
        try FileManager.default.removeItem(atPath: directory + "/report.html")
        let report = try ChildProcess(LockstormBinary.path, ["report", directory])
        #expect(report.wait(timeout: 60) == 0, "stderr: \(report.standardError)")
        #expect(try String(contentsOfFile: directory + "/report.html", encoding: .utf8) == html)

        // --format json: the same summary on stdout, parseable.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(child.standardOutput.utf8)) as? [String: Any])
        let rows = try #require((json["runs"] as? [[String: Any]])?.first?["summary"] as? [[String: Any]])
        #expect(rows.last?["transaction"] as? String == "total")
        #expect(rows.last?["committed"] as? Int == int(total, "committed"))
    }

    private func sha256sum(_ path: String) -> String? {
        guard let child = try? ChildProcess("/usr/bin/sha256sum", [path]), child.wait(timeout: 10) == 0 else { return nil }
        return child.standardOutput.split(separator: " ").first.map(String.init)
    }
}

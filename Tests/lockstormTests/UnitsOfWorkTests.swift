import Foundation
import Testing
import TestSupport

/// Issue 16: the units of work a workload counts (`count: jobs`) reconcile
/// with the database. Every job the queue finishes is one row in
/// `processed`, inserted in the transaction whose `UPDATE … SET status =
/// 'done'` counts it, so `jobs` must equal those rows and `jobs_per_s` must be
/// `jobs / duration_s`, in `lockstorm run` and in every cell of `lockstorm compare`.
@Suite("units of work reconcile with the database (the binary, a user's server)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct UnitsOfWorkTests {
    static let queue = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("workloads/queue.yaml").path

    private func scratch() throws -> String {
        let path = "/tmp/lst-units-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `jobs_per_s` as the file rounds it (2 decimals) against `jobs / duration_s`
    /// from the file's own `duration_s` (3 decimals): they differ by rounding only.
    private func expectRate(_ rate: Double, units: Double, seconds: Double, _ place: String) {
        #expect(seconds > 0, "\(place): duration_s is \(seconds)")
        let exact = units / seconds
        // 0.005 from rounding the rate, plus the rate's change over ±0.0005 s
        // of duration: at most units / (seconds - 0.0005) - units / seconds
        // (a first-order bound, units × 0.0005 / seconds², fell short of it by
        // 7e-5 on a 0.55 s compare cell of 200 jobs in CI).
        let tolerance = 0.005 + units * 0.0005 / (seconds * (seconds - 0.0005)) + 1e-9
        #expect(abs(rate - exact) <= tolerance, "\(place): jobs_per_s \(rate), jobs / duration_s = \(units) / \(seconds) = \(exact)")
        #expect(abs(rate * seconds - units) <= 0.005 * seconds + units * 0.0005 / (seconds - 0.0005) + 1e-9, "\(place): jobs_per_s × duration_s = \(rate * seconds), jobs \(units)")
    }

    @Test("lockstorm run queue: jobs equals the rows in processed, jobs_per_s = jobs / duration_s, and checks can name them")
    func runReconciles() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            let child = try ChildProcess(LockstormBinary.path, [
                "run", Self.queue, "--dsn", server.dsn, "--out", out, "--keep-data", "-c", "4", "-T", "30", "--set", "jobs=200",
                "--check", "jobs_per_s >= 1", "--check", "work.jobs == 200", "--format", "json",
            ])
            let status = child.wait(timeout: 180)
            #expect(status == 0, "stderr: \(child.standardError)")
            let runs = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            try #require(runs.count == 1, "expected one result directory, found \(runs); stderr: \(child.standardError)")
            let directory = "\(out)/\(runs[0])"
            let csv = try String(contentsOfFile: directory + "/summary.csv", encoding: .utf8)
            let total = try #require(CSVOracle.records(csv).first { $0["transaction"] == "total" }, "no total row:\n\(csv)")
            let jobs = try #require(total["jobs"].flatMap { Int64($0) }, "no jobs column:\n\(csv)")
            let rate = try #require(total["jobs_per_s"].flatMap { Double($0) }, "no jobs_per_s column:\n\(csv)")
            let seconds = try #require(total["duration_s"].flatMap { Double($0) })
            let processed = try server.integer("SELECT count(*) FROM processed")
            #expect(processed == 200)
            #expect(jobs == processed, "lockstorm counted \(jobs) jobs, processed holds \(processed) rows")
            expectRate(rate, units: Double(jobs), seconds: seconds, "summary.csv")

            // The outcomes add up, and run.json says the same.
            func count(_ column: String) -> Int64 { total[column].flatMap { Int64($0) } ?? -1 }
            #expect(count("attempts") == count("committed") + count("rolled_back") + count("ended_early") + count("failed"))
            #expect(count("failed") == count("expected_errors") + count("unexpected_errors"))
            #expect(count("unexpected_errors") == 0)
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/run.json"))) as? [String: Any] ?? [:]
            #expect(record["schema_version"] as? Int == 2)
            let units = (record["units"] as? [String: Any])?["jobs"] as? [String: Any]
            #expect((units?["total"] as? NSNumber)?.int64Value == jobs)
            #expect((units?["per_s"] as? NSNumber)?.doubleValue == rate)
            #expect(record["ended"] as? String == "finished", "the queue drained before -T 30")
            #expect((record["outcomes"] as? [String: Any])?["committed"] as? Int == Int(count("committed")))

            // The JSON summary on stdout carries the unit columns too.
            let document = try JSONSerialization.jsonObject(with: Data(child.standardOutput.utf8)) as? [String: Any]
            let rows = (document?["runs"] as? [[String: Any]])?.first?["summary"] as? [[String: Any]]
            let row = rows?.first { $0["transaction"] as? String == "total" }
            #expect((row?["jobs"] as? NSNumber)?.int64Value == jobs)
        }
    }

    @Test("lockstorm compare queue --sweep clients=1,4: jobs/s per variant and point, and jobs/s × duration_s = the processed rows")
    func compareReconciles() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            let child = try ChildProcess(LockstormBinary.path, [
                "compare", Self.queue, "--dsn", server.dsn, "--out", out, "--variants", "skip-locked,nowait,blocking",
                "--sweep", "clients=1,4", "-T", "10", "--set", "jobs=200", "--quiet",
            ])
            let status = child.wait(timeout: 300)
            // Every cell's invariants held: `processed` had exactly one row per job, 200 in all.
            #expect(status == 0, "stdout: \(child.standardOutput)\nstderr: \(child.standardError)")
            let header = try #require(child.standardOutput.split(separator: "\n").first { $0.contains("variant") && $0.contains("tps") }, "\(child.standardOutput)")
            #expect(header.contains("jobs/s"), "the table leads with jobs/s: \(header)")
            let folders = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            try #require(folders.count == 1, "expected one comparison folder, found \(folders)")
            let csv = try String(contentsOfFile: "\(out)/\(folders[0])/comparison.csv", encoding: .utf8)
            #expect(csv.hasPrefix("variant,clients,runs,duration_s,jobs_per_s,jobs_per_s_min,jobs_per_s_max,jobs,"), "\(csv)")
            let rows = CSVOracle.records(csv)
            #expect(rows.count == 6, "\(csv)")
            for row in rows {
                let place = "\(row["variant"] ?? "?") at clients=\(row["clients"] ?? "?")"
                #expect(row["invariants"] == "pass", "\(place): \(csv)")
                let jobs = try #require(row["jobs"].flatMap(Double.init), "\(place)")
                let rate = try #require(row["jobs_per_s"].flatMap(Double.init), "\(place)")
                let seconds = try #require(row["duration_s"].flatMap(Double.init), "\(place)")
                // The invariants held, so the processed rows were exactly the 200 jobs.
                #expect(jobs == 200, "\(place): \(jobs) jobs counted, the database processed 200")
                expectRate(rate, units: jobs, seconds: seconds, place)
            }
        }
    }
}

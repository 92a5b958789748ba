import Foundation
import Testing
import TestSupport

/// `lockstorm compare` as a user meets it, on the queue workload: the JSON
/// object on stdout and in comparison.json, a full result folder per cell,
/// the rule's winners on real data, and `lockstorm report` giving the same page.
/// The queue holds 300 jobs and each cell ends when it is drained (`-T` is a
/// cap), so the "no job left" invariant holds and the exit status is 0.
@Suite("lockstorm compare (the binary, a user's server)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct CompareCommandTests {
    static let queue = TestServer.repositoryRoot.appendingPathComponent("workloads/queue.yaml").path

    /// What every cell's folder holds, as `lockstorm run` writes it.
    static let runFiles = ["summary.csv", "timeseries.csv", "latency.csv", "errors.csv", "deadlocks.csv", "run.json", "report.html"]

    private func scratch() throws -> String {
        let path = "/tmp/lst-compare-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("compare queue --format json: documented object, a result folder per cell, the rule's winners, report re-renders the same bytes")
    func compareKeepsEverything() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            let child = try ChildProcess(LockstormBinary.path, [
                "compare", Self.queue, "--dsn", server.dsn, "--out", out, "--variants", "skip-locked,nowait,blocking",
                "--sweep", "clients=1,16", "-T", "10", "--set", "jobs=300", "--quiet", "--format", "json", "--seed", "7",
            ])
            let status = child.wait(timeout: 300)
            #expect(status == 0, "stdout: \(child.standardOutput)\nstderr: \(child.standardError)")
            let folders = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            try #require(folders.count == 1, "one comparison folder: \(folders)")
            let directory = "\(out)/\(folders[0])"
            #expect(!FileManager.default.fileExists(atPath: directory + "/INCOMPLETE"), "the comparison folder was written whole")

            // stdout is exactly comparison.json's object.
            let saved = try String(contentsOfFile: directory + "/comparison.json", encoding: .utf8)
            #expect(child.standardOutput == saved)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(child.standardOutput.utf8)) as? [String: Any])
            #expect(object["schema"] as? String == "lockstorm.compare")
            #expect(object["version"] as? Int == 1)
            #expect(object["workload"] as? String == "queue")
            #expect(object["variants"] as? [String] == ["skip-locked", "nowait", "blocking"])
            let sweeps = try #require(object["sweeps"] as? [[String: Any]])
            #expect(sweeps.first?["name"] as? String == "clients" && sweeps.first?["values"] as? [String] == ["1", "16"])
            let rule = try #require(object["rule"] as? [String: Any])
            #expect(rule["max_failed_rate"] as? Double == 0.5)
            let cells = try #require(object["cells"] as? [[String: Any]])
            #expect(cells.count == 6)

            // Every cell: its metrics, its run's own object and its full result folder.
            var failed: [String: Double] = [:], tps: [String: Double] = [:]
            for cell in cells {
                let variant = try #require(cell["variant"] as? String)
                let clients = try #require((cell["point"] as? [String: String])?["clients"])
                let key = "\(variant)@\(clients)"
                let metrics = try #require(cell["metrics"] as? [String: [String: Double]], "\(key)")
                failed[key] = try #require(metrics["failed_rate"]?["median"], "\(key)")
                tps[key] = try #require(metrics["tps"]?["median"], "\(key)")
                #expect(metrics["jobs_per_s"] != nil, "\(key): the workload's counter")
                #expect(cell["invariants"] as? String == "pass", "\(key)")
                let runs = try #require(cell["runs"] as? [[String: Any]], "\(key)")
                #expect(runs.count == 1)
                let folder = try #require(runs.first?["directory"] as? String)
                #expect(folder.hasPrefix("cells/"))
                for file in Self.runFiles {
                    #expect(FileManager.default.fileExists(atPath: "\(directory)/\(folder)/\(file)"), "\(key): \(folder)/\(file)")
                }
                // Every file written: the INCOMPLETE marker put there first is gone.
                #expect(!FileManager.default.fileExists(atPath: "\(directory)/\(folder)/INCOMPLETE"), "\(key)")
                // The run's object is the one `run --format json` prints per run (schema lockstorm.run).
                let run = try #require(runs.first?["run"] as? [String: Any], "\(key): the run's object")
                #expect(run["variant"] as? String == variant)
                #expect((run["settings"] as? [String: Any])?["clients"] as? Int == Int(clients), "\(key)")
                #expect(run["verdict"] as? String == "pass", "\(key)")
                let rows = try #require(run["summary"] as? [[String: Any]], "\(key)")
                #expect(rows.last?["transaction"] as? String == "total")
                #expect(rows.last?["tps"] as? Double == tps[key], "\(key): the cell's median of one run is its run's tps")
                #expect(run["deadlocks"] is [String: Any] && run["errors"] is [Any], "\(key)")
            }

            // The rule on the real figures: no latency is best for a cell that failed most attempts or
            // whose throughput collapsed; every winner is measured against the eligible cells only.
            let winners = try #require(object["winners"] as? [[String: Any]])
            #expect(!winners.isEmpty)
            for winner in winners {
                let metric = try #require(winner["metric"] as? String)
                let clients = try #require((winner["point"] as? [String: String])?["clients"])
                let best = ["skip-locked", "nowait", "blocking"].compactMap { tps["\($0)@\(clients)"] }.max() ?? 0
                let excluded = Set(((winner["excluded"] as? [[String: Any]]) ?? []).compactMap { $0["variant"] as? String })
                for variant in ["skip-locked", "nowait", "blocking"] where metric.hasSuffix("_ms") {
                    let key = "\(variant)@\(clients)"
                    let disqualified = (failed[key] ?? 0) > 0.5 || (tps[key] ?? 0) < 0.5 * best
                    #expect(excluded.contains(variant) == disqualified, "\(metric) at \(clients): \(variant) failed \(failed[key] ?? -1), tps \(tps[key] ?? -1) of \(best)")
                }
                guard let variant = winner["variant"] as? String, metric.hasSuffix("_ms") else { continue }
                #expect((failed["\(variant)@\(clients)"] ?? 1) <= 0.5, "\(metric) at \(clients) names \(variant), which failed \(failed["\(variant)@\(clients)"] ?? -1)")
                #expect(!excluded.contains(variant))
            }
            // At 16 clients SKIP LOCKED's throughput is the best, clear of the others.
            let tpsAt16 = try #require(winners.first { $0["metric"] as? String == "tps" && ($0["point"] as? [String: String])?["clients"] == "16" })
            #expect(tpsAt16["variant"] as? String == "skip-locked", "tps at 16: \(tps)")

            // lockstorm report on the compare directory writes the same page again.
            let page = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.html"))
            #expect(String(decoding: page, as: UTF8.self).contains("id=\"chart-p99\""))
            try FileManager.default.removeItem(atPath: directory + "/report.html")
            let report = try ChildProcess(LockstormBinary.path, ["report", directory])
            #expect(report.wait(timeout: 60) == 0, "stderr: \(report.standardError)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/report.html")) == page, "report re-rendered a different page")
        }
    }

    @Test("compare's table (the default) marks SKIP LOCKED's throughput at 16 clients and stays within 100 columns")
    func tableIsNarrowAndMarksWinner() throws {
        let out = try scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try UserServer.with { server in
            let child = try ChildProcess(LockstormBinary.path, [
                "compare", Self.queue, "--dsn", server.dsn, "--out", out, "--variants", "skip-locked,blocking",
                "--sweep", "clients=16", "-T", "10", "--set", "jobs=300", "--quiet", "--repeat", "2",
            ])
            #expect(child.wait(timeout: 300) == 0, "stderr: \(child.standardError)")
            let lines = child.standardOutput.split(separator: "\n")
            let header = try #require(lines.first { $0.hasPrefix("clients") }, "\(child.standardOutput)")
            #expect(header.count <= 100, "\(header)")
            let columns = header.split(separator: " ", omittingEmptySubsequences: true)
            #expect(columns.contains("tps"))
            for line in lines where line.hasPrefix("16") { #expect(line.count <= 100, "\(line.count) columns: \(line)") }
            #expect(child.standardOutput.contains("--ranges shows each cell's min–max"))
            // Right-aligned: the tps column ends where its header does, with the winner's `*` there.
            let end = try #require(header.range(of: " tps")).upperBound
            let offset = header.distance(from: header.startIndex, to: end) - 1
            let skip = try #require(lines.first { $0.contains("skip-locked") }.map(Array.init))
            let blocking = try #require(lines.first { $0.contains("blocking") }.map(Array.init))
            #expect(skip.count > offset && skip[offset] == "*", "\(child.standardOutput)")
            #expect(blocking.count > offset && blocking[offset] != "*", "\(child.standardOutput)")
        }
    }
}

import Foundation
import Histogram
import LockstormCore
import PostgresClient
import Reports
import Testing
import TestSupport

/// `run --shard K/N` and `merge`, end to end: separate lockstorm processes
/// against one server started with `lockstorm server start`.
@Suite("shards and merge (the binary)", .serialized, .disabled(if: TestServer.skipped, "LOCKSTORM_SKIP_DB_TESTS=1"))
struct ShardCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// A server from `lockstorm server start` for the body, stopped after it.
    static func withServer(_ body: (_ url: String, _ scratch: String) throws -> Void) throws {
        let scratch = "/tmp/lst-shards-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let environment = ["LOCKSTORM_STATE_DIR": scratch + "/state"]
        defer {
            if let stop = try? ChildProcess(LockstormBinary.path, ["server", "stop"], environment: environment) { _ = stop.wait(timeout: 60) }
            try? FileManager.default.removeItem(atPath: scratch)
        }
        let start = try ChildProcess(LockstormBinary.path, ["server", "start", "--deadlock-timeout", "50ms"], environment: environment)
        #expect(start.wait(timeout: 120) == 0, "stderr: \(start.standardError)")
        let line = try #require(start.standardOutput.split(separator: "\n").first { $0.hasPrefix("export DATABASE_URL='") })
        try body(String(line.dropFirst("export DATABASE_URL='".count).dropLast()), scratch)
    }

    /// Runs the shards of one run at once; returns each shard's result folder.
    /// With `progress`, each shard prints -P lines, which must name it.
    static func runShards(_ count: Int, arguments: [String], url: String, root: String, progress: Bool = false) throws -> [String] {
        let processes = try (0..<count).map { index in
            try ChildProcess(LockstormBinary.path, ["run"] + arguments + ["--shard", "\(index)/\(count)", "--out", "\(root)/shard\(index)"] + (progress ? ["-P", "1"] : ["-q"]), environment: ["DATABASE_URL": url])
        }
        for (index, process) in processes.enumerated() {
            #expect(process.wait(timeout: 180) == 0, "shard \(index): \(process.standardError)")
            if progress { #expect(process.standardError.contains("shard \(index)/\(count)  elapsed"), "shard \(index): \(process.standardError)") }
        }
        return try (0..<count).map { index in
            let folder = "\(root)/shard\(index)"
            let entries = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(entries.count == 1)
            return "\(folder)/\(try #require(entries.first))"
        }
    }

    static func merge(_ directories: [String], out: String) throws -> ChildProcess {
        let process = try ChildProcess(LockstormBinary.path, ["merge"] + directories + ["--out", out])
        _ = process.wait(timeout: 120)
        return process
    }

    @Test("3 shard processes merge into one run: sums, exact histograms, server cross-check, cross-shard deadlocks, setup/teardown and invariants once; mismatched folders are refused")
    func threeShards() throws {
        try Self.withServer { url, scratch in
            let workload = Self.fixtures.appendingPathComponent("sharded.yaml").path
            let folders = try Self.runShards(3, arguments: [workload, "-c", "3", "-T", "3s", "--seed", "11", "-j", "1", "--start-at", "+1s"], url: url, root: scratch, progress: true)
            let out = scratch + "/merged"
            let merge = try Self.merge(folders, out: out)
            #expect(merge.wait(timeout: 0) == 0, "merge: \(merge.standardError)")
            #expect(merge.standardOutput.contains("sharded / default: 3 clients"))

            let shards = try folders.map { try ShardResult.load(directory: URL(fileURLWithPath: $0)) }
            let merged = try ShardResult.load(directory: URL(fileURLWithPath: out)).record
            let summary = CSVOracle.records(try String(contentsOfFile: out + "/summary.csv", encoding: .utf8))
            let names = ["bump", "forward", "backward"]

            // Every outcome count is the shards' sum, per transaction.
            for (index, name) in names.enumerated() {
                let row = try #require(summary.first { $0["transaction"] == name })
                let parts = shards.map { $0.shard.transactions[index] }
                #expect(row["committed"] == String(parts.map(\.committed).reduce(0, +)), "\(name)")
                #expect(row["attempts"] == String(parts.map(\.attempts).reduce(0, +)), "\(name)")
                #expect(row["failed"] == String(parts.map(\.failed).reduce(0, +)), "\(name)")
                #expect(row["deadlocks"] == String(parts.map { $0.errorCounts[ErrorClass.deadlock.rawValue] }.reduce(0, +)), "\(name)")
            }
            let bumped = try #require(summary.first { $0["transaction"] == "bump" }?["committed"])
            #expect((Int(bumped) ?? 0) > 0)

            // The merged histograms are the union of the shards' stored ones, exactly.
            let mergedLog = try HistogramLog.parse(try String(contentsOfFile: out + "/latency.hlog", encoding: .utf8))
            for name in names {
                var union = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: TransactionStats.highestTrackableMicroseconds, numberOfSignificantValueDigits: .three)
                for shard in shards { union.add(try #require(shard.log.entry(tag: HistogramLog.transactionTag(name))).histogram) }
                let histogram = try #require(mergedLog.entry(tag: HistogramLog.transactionTag(name))).histogram
                #expect(histogram == union, "\(name)")
                let row = try #require(summary.first { $0["transaction"] == name })
                let p99 = union.totalCount == 0 ? 0 : Double(union.valueAtPercentile(99)) / 1_000
                #expect(row["lat_p99_ms"] == Format.fixed(p99, digits: 3), "\(name) p99")
            }

            // The server's deadlock counter over the union window agrees with the clients.
            let deadlocks = try #require(merged.deadlocks)
            #expect(deadlocks.client > 0)
            #expect(deadlocks.serverDelta == deadlocks.client)
            #expect(deadlocks.agree == true)

            // forward (shard 1) and backward (shard 2) deadlock with each other: both templates named, nobody "outside".
            let cycles = CSVOracle.records(try String(contentsOfFile: out + "/deadlocks.csv", encoding: .utf8))
            #expect(!cycles.isEmpty)
            for cycle in cycles {
                let participants = cycle["participants"] ?? ""
                #expect(participants.contains("forward") && participants.contains("backward"), "\(participants)")
                #expect(!participants.contains("outside"))
            }
            #expect(shards[1].shard.cycles.contains { $0.participants.contains { $0.template == nil } }, "a shard alone cannot name the other shard's session")

            // Setup once (shard 0), teardown twice by shard 0 only (before setup, and at the end); invariants once.
            let connection = try PostgresConnection(dsn: ConnectionString(url))
            let log = try connection.execute("SELECT what, count(*)::text FROM shard_log GROUP BY what ORDER BY what").rows
            #expect(log.map { $0.compactMap { $0 } } == [["setup", "1"], ["teardown", "2"]])
            #expect(shards.map(\.shard.ranSetup) == [true, false, false])
            #expect(shards.map(\.shard.ranTeardown) == [true, false, false])
            #expect(shards.map(\.shard.checkedInvariants) == [true, false, false])
            #expect(shards[1].record.invariants?.isEmpty == true)
            #expect(merged.invariants?.map(\.passed) == [true])
            #expect(try connection.execute("SELECT count(*) FROM lockstorm_shard_run").scalar == "0")

            // Folders that are not shards of one run are refused, naming what differs.
            let missing = try Self.merge(Array(folders.prefix(2)), out: scratch + "/m1")
            #expect(missing.wait(timeout: 0) == 2)
            #expect(missing.standardError.contains("shard 2/3 missing"))
            let twice = try Self.merge([folders[0], folders[1], folders[1]], out: scratch + "/m2")
            #expect(twice.wait(timeout: 0) == 2)
            #expect(twice.standardError.contains("shard 1/3 is given twice"))
            for (key, original, changed, what) in [("\"seed\" : 11", "seed", "\"seed\" : 12", "seed"), ("\"workload_sha256\" : \"", "hash", "\"workload_sha256\" : \"0", "workload hash"), ("\"shards\" : 3", "count", "\"shards\" : 4", "shard count")] {
                let copy = scratch + "/copy-\(original)"
                try FileManager.default.copyItem(atPath: folders[2], toPath: copy)
                let file = copy + "/shard.json"
                let text = try String(contentsOfFile: file, encoding: .utf8)
                #expect(text.contains(key))
                try text.replacingOccurrences(of: key, with: changed).write(toFile: file, atomically: true, encoding: .utf8)
                let refused = try Self.merge([folders[0], folders[1], copy], out: scratch + "/m-\(original)")
                #expect(refused.wait(timeout: 0) == 2)
                #expect(refused.standardError.contains("the \(what) differs"), "\(refused.standardError)")
                #expect(refused.standardError.contains(copy))
            }
        }
    }

    /// Each client's draws, in the order it made them.
    static func draws(_ connection: PostgresConnection) throws -> [String: [String]] {
        var byClient: [String: [String]] = [:]
        for row in try connection.execute("SELECT client::text, x::text || ',' || y::text FROM draws ORDER BY seq").rows {
            byClient[row[0] ?? "", default: []].append(row[1] ?? "")
        }
        return byClient
    }

    @Test("with one seed, 2 shards draw each client's sequence as one process does")
    func seedEquivalence() throws {
        try Self.withServer { url, scratch in
            let workload = Self.fixtures.appendingPathComponent("draws.yaml").path
            let arguments = [workload, "-c", "4", "-t", "6", "--seed", "2026", "--keep-data", "-j", "2"]
            let single = try ChildProcess(LockstormBinary.path, ["run"] + arguments + ["--out", scratch + "/single", "-q"], environment: ["DATABASE_URL": url])
            #expect(single.wait(timeout: 120) == 0, "\(single.standardError)")
            let connection = try PostgresConnection(dsn: ConnectionString(url))
            let one = try Self.draws(connection)
            #expect(one.count == 4)
            #expect(one.values.allSatisfy { $0.count == 6 })

            _ = try Self.runShards(2, arguments: arguments, url: url, root: scratch + "/sharded")
            let two = try Self.draws(connection)
            #expect(two == one)
            // Different clients draw different sequences (the comparison is not vacuous).
            #expect(Set(one.values.map { $0.joined(separator: ";") }).count == 4)
        }
    }

    @Test("a shard that comes up after --start-at starts at once and records how late; one without shard 0 gives up after --shard-wait, saying why")
    func lateAndAlone() throws {
        try Self.withServer { url, scratch in
            let workload = Self.fixtures.appendingPathComponent("draws.yaml").path
            let formatter = ISO8601DateFormatter()
            let past = formatter.string(from: Date().addingTimeInterval(-30))
            let late = try ChildProcess(LockstormBinary.path, ["run", workload, "-c", "1", "-t", "1", "--seed", "3", "--shard", "0/1", "--start-at", past, "--out", scratch + "/late", "-q"], environment: ["DATABASE_URL": url])
            #expect(late.wait(timeout: 120) == 0, "\(late.standardError)")
            #expect(late.standardError.contains("shard 0/1 began its load"))
            let folder = scratch + "/late/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: scratch + "/late").first))
            let shard = try ShardResult.load(directory: URL(fileURLWithPath: folder)).shard
            #expect(shard.lateSeconds >= 29)

            let alone = try ChildProcess(LockstormBinary.path, ["run", workload, "-c", "2", "-t", "1", "--seed", "3", "--shard", "1/2", "--shard-wait", "1s", "--out", scratch + "/alone", "-q"], environment: ["DATABASE_URL": url])
            #expect(alone.wait(timeout: 60) == 3)
            #expect(alone.standardError.contains("shard 1/2: shard 0 of run"))
            #expect(alone.standardError.contains("did not make its setup visible within 1 s"))
        }
    }

    @Test("--shard mistakes are usage errors that say what is allowed")
    func flagMistakes() throws {
        let workload = Self.fixtures.appendingPathComponent("draws.yaml").path
        let cases: [([String], String)] = [
            (["--shard", "1/2"], "needs --seed"),
            (["--shard", "2/2", "--seed", "1"], "K is 0-based and must be below N"),
            (["--start-at", "+5s"], "--start-at needs --shard"),
            (["--shard", "0/2", "--seed", "1", "--start-at", "soon"], "neither an RFC 3339 time"),
            (["--shard", "0/3", "--seed", "1", "-c", "2"], "give -c of at least 3"),
        ]
        for (arguments, message) in cases {
            let process = try ChildProcess(LockstormBinary.path, ["run", workload] + arguments, environment: ["DATABASE_URL": "postgresql:///nowhere?host=/nonexistent"])
            #expect(process.wait(timeout: 60) == 2, "\(arguments)")
            #expect(process.standardError.contains(message), "\(arguments): \(process.standardError)")
        }
    }
}


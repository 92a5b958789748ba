import Foundation
import LockstormCore
import Reports

/// `lockstorm merge DIR... --out DIR`: the result folders of the shards of
/// one run become one result folder of the same form as a single run's.
public struct MergePipeline {
    public let output: any OutputSink

    public init(output: any OutputSink = StandardOutput()) {
        self.output = output
    }

    /// The result folder `path` names: itself when it holds `run.json`, else
    /// the one result folder inside it (what `run --out DIR` made there, e.g.
    /// a shard's own `--out` on a shared volume). Several inside are refused.
    static func resultFolder(_ path: String) throws -> URL {
        let folder = URL(fileURLWithPath: path)
        let manager = FileManager.default
        if manager.fileExists(atPath: folder.appendingPathComponent(ResultFiles.runFile).path) { return folder }
        let inside = ((try? manager.contentsOfDirectory(atPath: folder.path)) ?? []).sorted().filter {
            manager.fileExists(atPath: folder.appendingPathComponent($0).appendingPathComponent(ResultFiles.runFile).path)
        }
        switch inside.count {
        case 0: return folder  // loading says what is missing
        case 1: return folder.appendingPathComponent(inside[0])
        default:
            throw Failure(.usage, "lockstorm merge: \(path) holds \(inside.count) result folders (\(inside.prefix(3).joined(separator: ", "))\(inside.count > 3 ? ", …" : "")); name the shard's own folder")
        }
    }

    /// Merges `directories` into `out` (created; it must not exist or be
    /// empty) and prints the merged summary. Exit 2 for folders that are not
    /// shards of one run, 1 when the merged invariants or server cross-check fail.
    @discardableResult
    public func execute(directories: [String], out: String, commandLine: [String] = []) throws -> ShardMerge {
        var shards: [ShardResult] = []
        for directory in directories {
            do {
                shards.append(try ShardResult.load(directory: try Self.resultFolder(directory)))
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure(.usage, "lockstorm merge: \(error)")
            }
        }
        let started = Date()
        let merge: ShardMerge
        do {
            merge = try ShardMerge(shards)
        } catch {
            throw Failure(.usage, error.message)
        }
        let target = URL(fileURLWithPath: out)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory) {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []
            guard isDirectory.boolValue, contents.isEmpty else {
                throw Failure(.usage, "lockstorm merge: --out \(out) exists and is not an empty directory; give a new one")
            }
        }
        do {
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        } catch {
            throw Failure(.runError, "lockstorm merge: cannot create \(out): \(error.localizedDescription)")
        }
        let record = Self.record(merge, commandLine: commandLine)
        let writer = ResultWriter(directory: target)
        do {
            try writer.markIncomplete()
            try writer.writeAll(summary: merge.summary, timeseries: merge.timeseries, record: record)
            try writer.write(ShardFile.hlogFileName, merge.log.text())
            try writer.write(ShardFile.fileName, try Self.shardFile(merge).json())
            try writer.write(Self.shardsFile, try Self.shardsJSON(merge))
            try writer.writeReport()
            try writer.markComplete()
        } catch {
            writer.noteIncomplete(error.localizedDescription)
            throw Failure(.runError, "lockstorm merge: could not write results: \(error.localizedDescription)")
        }
        let seconds = Date().timeIntervalSince(started)
        output.line(SummaryReport.table(merge.summary, server: record.server?.version, deadlocks: record.deadlocks, record: record, timeseries: merge.timeseries))
        output.note("merged \(shards.count) shards in \(Format.fixed(seconds, digits: 2)) s")
        output.line("results: \(DisplayPath.relative(target.path))/\n")
        var problems: [String] = []
        if merge.summary.invariantFailures > 0 { problems.append("\(merge.summary.invariantFailures) invariant(s) did not hold") }
        if record.deadlocks?.agree == false {
            problems.append("the clients saw \(record.deadlocks?.client ?? 0) deadlocks, the server counted \(record.deadlocks?.serverDelta ?? 0) over the shards' union window")
        }
        if !problems.isEmpty { throw Failure(.checksFailed, "lockstorm merge: " + problems.joined(separator: "; ")) }
        return merge
    }

    /// The merged run's `shard.json`, as a whole run's (shard 0 of 1): every
    /// shard's PIDs, the server's counters at the earliest start and latest end.
    static func shardFile(_ merge: ShardMerge) -> ShardFile {
        let shards = merge.shards.map(\.shard)
        var facts = ShardFile.Facts(workloadSHA256: shards[0].workloadSHA256, clients: shards[0].clients, measurementStart: merge.log.startTime)
        facts.runID = shards[0].runID
        facts.startAt = shards[0].startAt
        facts.lateSeconds = shards.map(\.lateSeconds).max() ?? 0
        facts.checkedInvariants = shards.contains { $0.checkedInvariants }
        facts.ranTeardown = shards.contains { $0.ranTeardown }
        facts.countersStart = shards.compactMap(\.countersStart).min { $0.at < $1.at }
        facts.countersEnd = shards.compactMap(\.countersEnd).max { $0.at < $1.at }
        var dedicated: [Int: String] = [:]
        for shard in shards {
            for session in shard.sessions {
                facts.sessions[session.pid] = session.client
                if let name = session.dedicated { dedicated[session.client] = name }
            }
        }
        facts.dedicated = { [dedicated] in dedicated[$0] }
        return ShardFile(summary: merge.summary, timeseries: merge.timeseries, facts: facts)
    }

    /// `shards.json`: which folders were merged, each shard's window and lateness.
    public static let shardsFile = "shards.json"

    static func shardsJSON(_ merge: ShardMerge) throws -> String {
        struct Entry: Encodable {
            var shard: Int
            var directory: String
            var measurement_start: Double
            var window_s: Double
            var late_s: Double
            var ran_setup: Bool
            var ran_teardown: Bool
            var checked_invariants: Bool
            var note: String?
        }
        struct Document: Encodable {
            var schema = "lockstorm.shards"
            var schema_version = 1
            var run_id: String?
            var shards: [Entry]
        }
        let document = Document(run_id: merge.shards.first?.shard.runID, shards: merge.shards.map {
            Entry(shard: $0.shard.shard, directory: DisplayPath.relative($0.directory), measurement_start: $0.shard.measurementStart, window_s: $0.shard.windowSeconds,
                  late_s: $0.shard.lateSeconds, ran_setup: $0.shard.ranSetup, ran_teardown: $0.shard.ranTeardown, checked_invariants: $0.shard.checkedInvariants, note: $0.shard.note)
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }

    /// run.json of the merged run: shard 0's settings, the merged figures.
    static func record(_ merge: ShardMerge, commandLine: [String]) -> RunRecord {
        let first = merge.shards[0].record
        var parameters: [(name: String, value: Value)] = []
        for (name, value) in first.parameters ?? [:] { parameters.append((name, Value.parse(text: value.description))) }
        var record = RunRecord(
            version: LockstormVersion.string, commandLine: CommandLineText.redacted(commandLine),
            workload: .init(name: first.workload?.name ?? merge.summary.workload, file: first.workload?.file ?? "", sha256: first.workload?.sha256 ?? ""),
            variant: merge.summary.variant, parameters: parameters, summary: merge.summary,
            requestedDurationSeconds: first.requestedDurationSeconds, transactionsPerClient: first.transactionsPerClient, warmupSeconds: first.warmupSeconds ?? 0,
            schedule: first.schedule.map { RunRecord.Schedule(rate: $0.rate, latencyLimitMilliseconds: $0.latencyLimitMilliseconds, stats: merge.summary.stats.schedule) },
            connections: RunRecord.Connections(lost: merge.shards.map { $0.record.connections?.lost ?? 0 }.reduce(0, +), reconnected: merge.shards.map { $0.record.connections?.reconnected ?? 0 }.reduce(0, +)),
            intervalSeconds: first.intervalSeconds ?? 1, startedAt: merge.startedAt, endedAt: merge.endedAt,
            server: .init(version: first.server?.version ?? "unknown", settings: first.server?.settings ?? [:]),
            serverDeadlocksDelta: merge.serverDeadlocksDelta, peakRSSBytes: merge.shards.compactMap(\.record.peakRSSBytes).max() ?? 0,
            ended: merge.shards.compactMap(\.record.ended).first { $0 != RunRecord.endedDeadline && $0 != RunRecord.endedFinished } ?? first.ended,
            lockSampling: nil
        )
        record.parameters = first.parameters
        record.begin = first.begin
        record.protocolMode = first.protocolMode
        return record
    }
}

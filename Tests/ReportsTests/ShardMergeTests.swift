import Foundation
import Histogram
import Testing
@testable import LockstormCore
@testable import Reports

/// `ShardMerge` without a database: shards built from figures, merged, and
/// the merge checked against what one run would have recorded.
@Suite struct ShardMergeTests {
    /// One shard of 2 of a one-transaction run: `latencies` committed in
    /// interval `interval` (of its own window), starting `start` seconds after 1970.
    static func shard(_ index: Int, start: Double, latencies: [UInt64], interval: Int, sessions: [Int32: Int] = [:], cycles: [CycleRecord] = []) throws -> ShardResult {
        var stats = RunStats(transactionCount: 1)
        var intervalStats = IntervalStats()
        for latency in latencies {
            stats.recordCommit(transaction: 0, latencyNanoseconds: latency * 1_000)
            intervalStats.committed += 1
            intervalStats.attempts += 1
            intervalStats.latency.record(latency)
        }
        for cycle in cycles { stats.recordCycle(cycle) }
        let summary = RunSummary(workload: "w", variant: "v", clients: 1, threads: 1, durationSeconds: 5, seed: 7, transactionNames: ["pay"], stats: stats, invariants: [], partial: false)
        let row = TimeseriesRow(interval: interval, startSeconds: Double(interval), endSeconds: Double(interval + 1), stats: intervalStats)
        var facts = ShardFile.Facts(workloadSHA256: "abc", clients: 2, measurementStart: start)
        facts.shard = index
        facts.shards = 2
        facts.runID = "r"
        facts.sessions = sessions
        facts.dedicated = { $0 == 1 ? "refund" : nil }
        let file = try ShardFile.decode(try ShardFile(summary: summary, timeseries: [row], facts: facts).json(), file: "shard.json")
        let log = try HistogramLog.parse(ShardFile.histogramLog(summary: summary, measurementStart: start, intervals: [(interval, Double(interval), Double(interval + 1), HistogramEncoding.encode(intervalStats.latency))]).text())
        var record = RunRecord()
        record.intervalSeconds = 1
        record.workload = .init(name: "w", file: "w.yaml", sha256: "abc")
        return ShardResult(directory: "shard\(index)", record: record, shard: file, log: log)
    }

    @Test("a shard that started 2 s later lands 2 intervals later; the window is the union; percentiles are the union's")
    func alignsAndMergesExactly() throws {
        let a = try Self.shard(0, start: 1_000, latencies: [100, 200, 300], interval: 3)
        let b = try Self.shard(1, start: 1_002, latencies: [5_000, 6_000], interval: 1)
        let merge = try ShardMerge([b, a])
        #expect(merge.timeseries.map(\.interval) == [3])
        #expect(merge.timeseries.first?.committed == 5)
        #expect(merge.summary.durationSeconds == 7)
        #expect(merge.summary.rows[0].stats.committed == 5)
        var union = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: TransactionStats.highestTrackableMicroseconds, numberOfSignificantValueDigits: .three)
        for value: UInt64 in [100, 200, 300, 5_000, 6_000] { union.record(value) }
        #expect(merge.summary.stats.transactions[0].latency == union)
    }

    @Test("an outside session of one shard is named through another shard's PID map when its client is dedicated")
    func resolvesForeignPIDs() throws {
        var victim = CycleParticipant(pid: 10, template: "pay", step: 1, sql: "UPDATE", parameters: [], waitsFor: "ShareLock on transaction 5")
        victim.certainty = .serverLog
        victim.transaction = [.init(step: 0, sql: "UPDATE t SET v = 1 WHERE id = $1", parameters: ["4"]), .init(step: 1, sql: "UPDATE", parameters: [])]
        let foreign = CycleParticipant(pid: 20, template: nil, step: nil, sql: nil, parameters: [], waitsFor: "ShareLock on transaction 6")
        let signature = DeadlockSignature(participants: [
            .init(template: "pay", step: 1, lockKind: "transaction", mode: "ShareLock"),
            .init(template: nil, step: nil, lockKind: "transaction", mode: "ShareLock"),
        ])
        let cycle = CycleRecord(signature: signature, count: 3, firstSeenSeconds: 0.5, sampleDetail: "Process 10 waits…", sampleParticipants: [victim, foreign])
        let a = try Self.shard(0, start: 1_000, latencies: [100], interval: 0, sessions: [10: 0], cycles: [cycle])
        let b = try Self.shard(1, start: 1_000, latencies: [100], interval: 0, sessions: [20: 1])
        let merge = try ShardMerge([a, b])
        let merged = try #require(merge.summary.stats.cycles.values.first)
        #expect(merged.count == 3)
        #expect(merged.signature.text.contains("refund/ShareLock/transaction"))
        #expect(!merged.signature.text.contains("outside"))
        #expect(merged.sampleParticipants.map(\.template) == ["pay", "refund"])
        // What a shard knew of its own participant survives shard.json: how certain, and what it held.
        #expect(merged.sampleParticipants[0].certainty == .serverLog)
        #expect(merged.sampleParticipants[0].transaction.map(\.sql) == ["UPDATE t SET v = 1 WHERE id = $1", "UPDATE"])
        #expect(merged.sampleParticipants[0].transaction.first?.parameters == ["4"])
    }
}

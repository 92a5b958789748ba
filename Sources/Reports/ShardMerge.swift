import Foundation
import Histogram
import LockstormCore

/// One shard's result folder, read back: `run.json`, `shard.json`, `latency.hlog`.
public struct ShardResult: Sendable {
    public var directory: String
    public var record: RunRecord
    public var shard: ShardFile
    public var log: HistogramLog

    public init(directory: String, record: RunRecord, shard: ShardFile, log: HistogramLog) {
        self.directory = directory
        self.record = record
        self.shard = shard
        self.log = log
    }

    /// Reads a result folder; a missing or unreadable file is named.
    public static func load(directory: URL) throws -> ShardResult {
        func text(_ name: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw ResultFilesError(file: url.path, message: "missing: is \(directory.path) a result folder of lockstorm run (0.1 or later)?")
            }
            return String(decoding: data, as: UTF8.self)
        }
        let record = try RunRecord.decode(try text(ResultFiles.runFile), file: directory.appendingPathComponent(ResultFiles.runFile).path)
        let shard = try ShardFile.decode(try text(ShardFile.fileName), file: directory.appendingPathComponent(ShardFile.fileName).path)
        let log: HistogramLog
        do {
            log = try HistogramLog.parse(try text(ShardFile.hlogFileName))
        } catch let error as HistogramEncoding.Error {
            throw ResultFilesError(file: directory.appendingPathComponent(ShardFile.hlogFileName).path, message: error.message)
        }
        return ShardResult(directory: directory.path, record: record, shard: shard, log: log)
    }
}

/// Why folders are not the shards of one run.
public struct ShardMismatch: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Merges the shards of one run into the figures of one run: counts summed,
/// histograms merged exactly, intervals aligned on the common start, errors
/// and deadlock cycles merged (PIDs of other shards resolved through the PID
/// maps), the server's deadlock counter taken over the union of the windows.
public struct ShardMerge: Sendable {
    public var summary: RunSummary
    public var timeseries: [TimeseriesRow]
    public var log: HistogramLog
    /// `deadlocks` of the server: latest shard end minus earliest shard start.
    public var serverDeadlocksDelta: Int?
    public var startedAt: Date
    public var endedAt: Date
    public var shards: [ShardResult]

    /// Refuses folders that are not exactly shards 0…N−1 of one run; the
    /// message names what differs and in which folders.
    public static func check(_ shards: [ShardResult]) throws(ShardMismatch) {
        guard let first = shards.first else { throw ShardMismatch(message: "no result folders to merge") }
        func differ(_ what: String, _ value: (ShardResult) -> String) throws(ShardMismatch) {
            let values = shards.map(value)
            guard Set(values).count > 1 else { return }
            let lines = zip(shards, values).map { "  \($0.directory): \(what) \($1)" }.joined(separator: "\n")
            throw ShardMismatch(message: "lockstorm merge: these are not the shards of one run: the \(what) differs\n\(lines)")
        }
        try differ("workload hash", { $0.shard.workloadSHA256 })
        try differ("variant", { $0.shard.variant })
        try differ("seed", { String($0.shard.seed) })
        try differ("shard count", { String($0.shard.shards) })
        try differ("client count", { String($0.shard.clients) })
        try differ("transaction list", { $0.shard.transactionNames.joined(separator: ",") })
        try differ("run id", { $0.shard.runID ?? "(none)" })
        let count = first.shard.shards
        var seen: [Int: String] = [:]
        for shard in shards {
            if let other = seen[shard.shard.shard] {
                throw ShardMismatch(message: "lockstorm merge: shard \(shard.shard.shard)/\(count) is given twice: \(other) and \(shard.directory)")
            }
            seen[shard.shard.shard] = shard.directory
        }
        let missing = (0..<count).filter { seen[$0] == nil }
        if !missing.isEmpty {
            throw ShardMismatch(message: "lockstorm merge: shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) missing: give all \(count) result folders of the run")
        }
    }

    public init(_ shards: [ShardResult]) throws(ShardMismatch) {
        try Self.check(shards)
        let shards = shards.sorted { $0.shard.shard < $1.shard.shard }
        self.shards = shards
        let first = shards[0]
        let names = first.shard.transactionNames
        let interval = first.record.intervalSeconds ?? 1

        var stats = RunStats(transactionCount: names.count)
        let earliest = shards.map(\.shard.measurementStart).min() ?? 0
        let latestEnd = shards.map { $0.shard.measurementStart + $0.shard.windowSeconds }.max() ?? earliest
        // Every PID of the run, with its shard, client and dedicated template.
        var pids: [Int32: (shard: Int, session: ShardFile.Session)] = [:]
        for shard in shards { for session in shard.shard.sessions { pids[session.pid] = (shard.shard.shard, session) } }

        var rows: [Int: (stats: IntervalStats, start: Double, end: Double, waits: LockWaitSummary?)] = [:]
        for shard in shards {
            var own = RunStats(transactionCount: names.count)
            for (index, name) in names.enumerated() where index < shard.shard.transactions.count {
                shard.shard.transactions[index].apply(to: &own.transactions[index])
                if let histogram = shard.log.entry(tag: HistogramLog.transactionTag(name))?.histogram { own.transactions[index].latency.add(histogram) }
            }
            for entry in shard.shard.errors {
                var record = ErrorRecord(sqlState: entry.sqlState, errorClass: ErrorClass(rawValue: entry.errorClass) ?? .other, count: entry.count, sampleMessage: entry.sampleMessage, sampleDetail: entry.sampleDetail)
                record.unexpected = entry.unexpected
                record.sampleTransaction = entry.sampleTransaction
                record.sampleStep = entry.sampleStep
                own.errors[entry.sqlState] = record
            }
            own.schedule.scheduled = shard.shard.schedule.scheduled
            own.schedule.skipped = shard.shard.schedule.skipped
            own.schedule.unstarted = shard.shard.schedule.unstarted
            if let lag = shard.log.entry(tag: HistogramLog.scheduleLagTag)?.histogram { own.schedule.lag.add(lag) }
            // Cycle times are from each shard's start; the merged ones from the earliest.
            let shift = shard.shard.measurementStart - earliest
            for cycle in shard.shard.cycles { own.recordCycle(Self.resolve(cycle, shift: shift, pids: pids)) }
            stats.merge(own)

            // Intervals line up on the common start: a shard that began later is shifted by whole intervals.
            let offset = Int(((shard.shard.measurementStart - earliest) / interval).rounded())
            let histograms = Dictionary(shard.log.intervals.map { (Int(($0.startSeconds / interval).rounded()), $0.histogram) }, uniquingKeysWith: { first, _ in first })
            for row in shard.shard.intervals {
                var add = IntervalStats()
                add.attempts = row.attempts
                add.committed = row.committed
                add.rolledBack = row.rolledBack
                add.endedEarly = row.endedEarly
                add.failed = row.failed
                add.unexpectedErrors = row.unexpectedErrors
                add.retries = row.retries
                for index in add.errorCounts.indices where index < row.errorCounts.count { add.errorCounts[index] = row.errorCounts[index] }
                add.units = row.units
                if let histogram = histograms[row.interval] { add.latency.add(histogram) }
                let index = row.interval + offset
                var merged = rows[index] ?? (IntervalStats(), Double(index) * interval, 0, nil)
                merged.stats.add(add)
                merged.end = max(merged.end, row.endSeconds + Double(offset) * interval)
                if let waits = row.lockWaits {
                    var sum = merged.waits ?? LockWaitSummary()
                    // Each shard samples its own sessions: waiting counts add up, longest waits are the longest.
                    sum.samples = max(sum.samples, waits.samples)
                    sum.waitingSum += waits.waitingSum
                    sum.waitingMax += waits.waitingMax
                    for index in sum.byKindMax.indices where index < waits.byKindMax.count { sum.byKindMax[index] += waits.byKindMax[index] }
                    sum.longestWaitMilliseconds = max(sum.longestWaitMilliseconds, waits.longestWaitMilliseconds)
                    sum.longestStatementWaitMilliseconds = max(sum.longestStatementWaitMilliseconds, waits.longestStatementWaitMilliseconds)
                    sum.longestChain = max(sum.longestChain, waits.longestChain)
                    merged.waits = sum
                }
                rows[index] = merged
            }
        }
        var mergedLog = HistogramLog(startTime: earliest)
        timeseries = rows.sorted { $0.key < $1.key }.map { index, row in
            var timeseriesRow = TimeseriesRow(interval: index, startSeconds: row.start, endSeconds: max(row.end, row.start), stats: row.stats)
            timeseriesRow.lockWaits = row.waits
            mergedLog.entries.append(.init(tag: nil, startSeconds: row.start, lengthSeconds: max(row.end, row.start) - row.start, histogram: row.stats.latency))
            return timeseriesRow
        }

        // Invariants are checked once, by shard 0, after every shard finished.
        let invariants: [InvariantResult] = (first.record.invariants ?? []).map { outcome in
            var result = InvariantResult(name: outcome.name, expected: Value.parse(text: outcome.expected), actual: outcome.actual, error: outcome.error)
            if let during = outcome.during {
                result.during = DuringCheck(checks: during.checks, failures: during.failures, firstFailureSeconds: during.firstFailureSeconds, firstFailureValue: during.firstFailureValue, due: during.due, reconnects: during.reconnects ?? 0)
            }
            return result
        }
        var summary = RunSummary(
            workload: first.record.workloadName ?? "workload", variant: first.shard.variant, clients: first.shard.clients,
            threads: shards.map(\.shard.threads).reduce(0, +), durationSeconds: max(latestEnd - earliest, 0), seed: first.shard.seed,
            transactionNames: names, stats: stats, invariants: invariants, partial: shards.contains { $0.record.partial == true },
            counterNames: first.shard.counterNames
        )
        summary.separateBegin = first.record.begin == RunRecord.beginSeparate
        summary.protocolMode = first.record.protocolMode.flatMap(ProtocolMode.init(rawValue:)) ?? .extended
        self.summary = summary
        for (name, stats) in zip(names, summary.stats.transactions) {
            mergedLog.entries.append(.init(tag: HistogramLog.transactionTag(name), startSeconds: 0, lengthSeconds: summary.durationSeconds, histogram: stats.latency))
        }
        mergedLog.entries.append(.init(tag: HistogramLog.scheduleLagTag, startSeconds: 0, lengthSeconds: summary.durationSeconds, histogram: summary.stats.schedule.lag))
        log = mergedLog

        // One server counter for all shards: its change over the union of their windows.
        let starts = shards.compactMap(\.shard.countersStart)
        let ends = shards.compactMap(\.shard.countersEnd)
        if starts.count == shards.count, ends.count == shards.count, let start = starts.min(by: { $0.at < $1.at }), let end = ends.max(by: { $0.at < $1.at }) {
            serverDeadlocksDelta = end.deadlocks - start.deadlocks
        } else {
            serverDeadlocksDelta = nil
        }
        let dates = shards.compactMap { $0.record.startedAt.flatMap(Self.date) }
        let endDates = shards.compactMap { $0.record.endedAt.flatMap(Self.date) }
        startedAt = dates.min() ?? Date(timeIntervalSince1970: earliest)
        endedAt = endDates.max() ?? Date(timeIntervalSince1970: latestEnd)
    }

    /// A shard's cycle with the participants it saw as outside sessions
    /// looked up in every shard's PID map: a lockstorm client of another
    /// shard gets its template when it is dedicated to one (`clients: N`).
    static func resolve(_ cycle: ShardFile.Cycle, shift: Double, pids: [Int32: (shard: Int, session: ShardFile.Session)]) -> CycleRecord {
        var participants = cycle.participants.map(\.cycleParticipant)
        for index in participants.indices where participants[index].template == nil {
            participants[index].template = pids[participants[index].pid]?.session.dedicated
        }
        // The signature holds the cycle rotated to its canonical start; find
        // that rotation against the sample (edge order), then rebuild it with
        // the resolved templates.
        let original = cycle.participants
        let count = original.count
        var signature = DeadlockSignature(participants: cycle.signature.map {
            DeadlockSignature.Participant(template: $0.template, step: $0.step, lockKind: $0.lockKind, mode: $0.mode)
        })
        if cycle.signature.count == count, count > 0 {
            for start in 0..<count {
                let fits = (0..<count).allSatisfy { index in
                    let token = cycle.signature[(index - start + count) % count]
                    return token.template == original[index].template && token.step == original[index].step
                }
                guard fits else { continue }
                signature = DeadlockSignature(participants: (0..<count).map { index in
                    let token = cycle.signature[(index - start + count) % count]
                    return DeadlockSignature.Participant(template: participants[index].template, step: token.step, lockKind: token.lockKind, mode: token.mode)
                })
                break
            }
        }
        return CycleRecord(signature: signature, count: cycle.count, firstSeenSeconds: cycle.firstSeenSeconds + shift, sampleDetail: cycle.sampleDetail, sampleParticipants: participants)
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

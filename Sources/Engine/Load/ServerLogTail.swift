import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LockstormCore
import Synchronization

/// The embedded server's log, read as it grows, for the deadlock reports in
/// it (`ServerLogReader`): a victim's worker asks for the report of the
/// deadlock it just got 40P01 for.
///
/// The server writes a report to its log before it sends the error to the
/// client (PostgreSQL's `EmitErrorReport`), in one write, and the embedded
/// server's log is plain stderr (no logging collector): by the time a client
/// has its 40P01, the report is in the file. Reading happens only then, from
/// where the last read stopped, under a lock workers take only on deadlocks.
final class ServerLogTail: Sendable {
    let path: String
    private struct State {
        var offset: UInt64
        /// Bytes read but not yet parsed (a report still being written).
        var pending: [UInt8] = []
        /// Reports read and not yet claimed, oldest first.
        var unclaimed: [ServerLogDeadlock] = []
        /// Set when the file cannot be read: no report will be found.
        var failure: String?
    }
    private let state: Mutex<State>

    /// Reports kept unclaimed at most (victims that were not the run's
    /// clients, or reached no worker): the oldest go first.
    static let unclaimedLimit = 10_000

    /// Starts at the log's current end: earlier reports belong to earlier runs.
    init(path: String) {
        self.path = path
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
        state = Mutex(State(offset: size))
    }

    /// Why the log could not be read, if it could not.
    var failure: String? { state.withLock { $0.failure } }

    /// The report of the deadlock whose DETAIL gave `report`: the latest
    /// unclaimed one with the same edges (PIDs, locks and modes), which the
    /// victim's report is, as the same backends cannot deadlock again before
    /// the victim has had its error. Reads what the log gained first when
    /// none is unclaimed yet.
    ///
    /// A user's server (`--server-log`) may log through its logging
    /// collector, which writes the report a moment after the backend sent
    /// it: a report not there yet is looked for again, a few times over at
    /// most `Self.patience` (the victim's worker waits that long, only then).
    func claim(_ report: DeadlockReport) -> ServerLogDeadlock? {
        for attempt in 0...Self.retries {
            if attempt > 0 { usleep(Self.retryMicroseconds) }
            let found = state.withLock { state -> ServerLogDeadlock? in
                if let found = Self.take(report, from: &state.unclaimed) { return found }
                Self.readMore(path: path, state: &state)
                return Self.take(report, from: &state.unclaimed)
            }
            if found != nil || failure != nil { return found }
        }
        return nil
    }

    static let retries = 3
    static let retryMicroseconds: UInt32 = 5_000
    static var patience: Double { Double(retries) * Double(retryMicroseconds) / 1e6 }

    private static func take(_ report: DeadlockReport, from unclaimed: inout [ServerLogDeadlock]) -> ServerLogDeadlock? {
        guard let index = unclaimed.lastIndex(where: { $0.report.edges == report.edges }) else { return nil }
        let found = unclaimed.remove(at: index)
        // Older ones with the same edges were never claimed: their victims are gone.
        unclaimed.removeAll { $0.report.edges == report.edges }
        return found
    }

    private static func readMore(path: String, state: inout State) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            state.failure = "cannot open \(path)"
            return
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: state.offset)
            let data = try handle.readToEnd() ?? Data()
            state.offset += UInt64(data.count)
            state.pending.append(contentsOf: data)
        } catch {
            state.failure = "cannot read \(path): \(error)"
            return
        }
        let text = String(decoding: state.pending, as: UTF8.self)
        let (reports, consumed) = ServerLogReader.read(text, final: false)
        // `consumed` counts the bytes of whole lines of valid text; a log
        // line of invalid UTF-8 was decoded with replacement characters,
        // so re-measure the consumed prefix in the original bytes.
        let bytes = consumedBytes(state.pending, text: text, consumedUTF8: consumed)
        state.pending.removeFirst(min(bytes, state.pending.count))
        state.unclaimed.append(contentsOf: reports)
        if state.unclaimed.count > unclaimedLimit { state.unclaimed.removeFirst(state.unclaimed.count - unclaimedLimit) }
    }

    /// The number of original bytes the first `consumedUTF8` bytes of the
    /// decoded `text` came from: counted in lines, which decoding keeps.
    private static func consumedBytes(_ bytes: [UInt8], text: String, consumedUTF8: Int) -> Int {
        let lines = text.utf8.prefix(consumedUTF8).reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        var seen = 0
        for (index, byte) in bytes.enumerated() where byte == 10 {
            seen += 1
            if seen == lines { return index + 1 }
        }
        return lines == 0 ? 0 : bytes.count
    }
}

/// The deadlocks a run keeps as events (`RunOutcome.deadlockEvents`), shared
/// by its workers: the first `limit`.
final class DeadlockEventBudget: Sendable {
    private let left: Atomic<Int>

    init(limit: Int) {
        left = Atomic(limit)
    }

    /// Takes one place; false once they are all taken.
    func reserve() -> Bool {
        left.subtract(1, ordering: .relaxed).newValue >= 0
    }
}

extension SessionBoard {
    /// `client`'s recent statements with their values, for `DeadlockAttribution`.
    func attributionStatements(client: Int) -> [DeadlockAttribution.SessionStatement] {
        recent(client: client).map {
            DeadlockAttribution.SessionStatement(
                transaction: $0.transaction, step: $0.step, sql: $0.sql, parameters: Array($0.parameters), sentAt: $0.sentAt, completedAt: $0.completedAt
            )
        }
    }
}

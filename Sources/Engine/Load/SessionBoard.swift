import LockstormCore
import Synchronization

/// What every client is executing, readable from any worker: when a client
/// is chosen as a deadlock victim, the others in the cycle may run on
/// another thread, and the victim's worker looks them up here by backend PID.
///
/// Each client has its own lock, written only by its own worker, so workers
/// never contend on the hot path; readers come only with a deadlock.
final class SessionBoard: Sendable {
    /// One statement a client sent.
    struct Statement: Sendable {
        var transaction: Int
        var step: Int?
        var sql: String
        /// Shares the step's sources and the attempt's variable texts: keeping
        /// it costs no array per statement.
        var parameters: StatementParameters
        var sentAt: UInt64
        /// When its result came back (`nil` while in flight).
        var completedAt: UInt64? = nil
    }

    /// The last few statements of one client in a ring: written on every
    /// statement, so it never shifts elements or reallocates.
    struct Recent: Sendable {
        /// Up to `history` statements; once full, `next` is the oldest.
        /// (Not `[Statement?]`: replacing an optional element goes through
        /// Swift's generic, slow path.)
        private var ring: [Statement] = []
        /// Where the next statement goes.
        private var next = 0

        /// Oldest first.
        var statements: [Statement] {
            ring.count < SessionBoard.history ? ring : Array(ring[next...] + ring[..<next])
        }

        var last: Statement? { ring.isEmpty ? nil : ring[(next + SessionBoard.history - 1) % SessionBoard.history] }

        mutating func append(_ statement: Statement) {
            append(transaction: statement.transaction, step: statement.step, sql: statement.sql, parameters: statement.parameters, sentAt: statement.sentAt)
            if let completedAt = statement.completedAt { completeLast(at: completedAt) }
        }

        /// A statement sent at `sentAt`, still in flight.
        mutating func append(transaction: Int, step: Int?, sql: String, parameters: StatementParameters, sentAt: UInt64) {
            if ring.count < SessionBoard.history {
                ring.append(Statement(transaction: transaction, step: step, sql: sql, parameters: parameters, sentAt: sentAt))
            } else {
                // Field by field: `ring[next] = statement` goes through the
                // struct's value witness (assignWithTake), ~10 times dearer.
                ring[next].transaction = transaction
                ring[next].step = step
                ring[next].sql = sql
                ring[next].parameters = parameters
                ring[next].sentAt = sentAt
                ring[next].completedAt = nil
            }
            next = (next + 1) % SessionBoard.history
        }

        mutating func completeLast(at time: UInt64) {
            guard !ring.isEmpty else { return }
            let index = (next + SessionBoard.history - 1) % SessionBoard.history
            if ring[index].completedAt == nil { ring[index].completedAt = time }
        }

        mutating func removeAll() {
            ring.removeAll(keepingCapacity: true)
            next = 0
        }
    }

    private final class Slot: Sendable {
        let recent = Mutex(Recent())
    }

    /// Enough for the statements of one attempt of a typical transaction
    /// (BEGIN, settings, steps), so fuzz can rebuild a participant's transaction.
    static let history = 16

    private let slots: [Slot]
    private let clientByPID = Mutex<[Int32: Int]>([:])

    init(clients: Int) {
        slots = (0..<clients).map { _ in Slot() }
    }

    /// Client `client` now talks to backend `pid` (at connect and reconnect).
    func connected(client: Int, pid: Int32) {
        clientByPID.withLock { $0[pid] = client }
        slots[client].recent.withLock { $0.removeAll() }
    }

    func sent(client: Int, _ statement: Statement) {
        slots[client].recent.withLock { $0.append(statement) }
    }

    /// Like `sent(client:_:)`, field by field: building a `Statement` to pass
    /// copied it whole (a `memcpy` call per statement) on the hot path.
    func sent(client: Int, transaction: Int, step: Int?, sql: String, parameters: StatementParameters, at time: UInt64) {
        slots[client].recent.withLock { $0.append(transaction: transaction, step: step, sql: sql, parameters: parameters, sentAt: time) }
    }

    /// The statement in flight on `client` has completed.
    func completed(client: Int, at time: UInt64) {
        slots[client].recent.withLock { $0.completeLast(at: time) }
    }

    /// The client behind `pid`, and the statement it was waiting in when the
    /// deadlock check ran at `detection`: the one sent before and completed
    /// after it (or still in flight).
    ///
    /// The others in a cycle are woken when the victim aborts and may have
    /// moved on by the time the victim's worker asks, so "the latest
    /// statement" would often be the wrong one. When no statement spans the
    /// moment (an estimate can be early by the time the victim's statement ran
    /// before it began to wait), the last one sent before it is taken.
    func lookup(pid: Int32, detection: UInt64) -> (client: Int, statement: Statement?)? {
        guard let client = clientByPID.withLock({ $0[pid] }) else { return nil }
        let recent = slots[client].recent.withLock { $0.statements }
        let spanning = recent.first { $0.sentAt <= detection && ($0.completedAt ?? .max) >= detection }
        return (client, spanning ?? recent.last { $0.sentAt <= detection } ?? recent.first)
    }

    /// The statements of the attempt `statement` belongs to, from its BEGIN
    /// through `statement` (matched by send time); empty when the BEGIN has
    /// already left the history.
    func attempt(client: Int, through statement: Statement) -> [Statement] {
        let recent = slots[client].recent.withLock { $0.statements }
        guard let end = recent.lastIndex(where: { $0.sentAt == statement.sentAt && $0.sql == statement.sql }) else { return [] }
        guard let begin = recent[...end].lastIndex(where: { $0.step == nil && ($0.sql.hasPrefix("BEGIN") || $0.sql.hasPrefix("START")) }) else { return [] }
        return Array(recent[begin...end])
    }

    /// The statement `client` sent last.
    func current(client: Int) -> Statement? {
        slots[client].recent.withLock { $0.last }
    }
}

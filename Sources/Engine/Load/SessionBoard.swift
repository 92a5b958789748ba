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
        var parameters: [String?]
        var sentAt: UInt64
    }

    private final class Slot: Sendable {
        /// The last few statements, newest last.
        let recent = Mutex<[Statement]>([])
    }

    static let history = 4

    private let slots: [Slot]
    private let clientByPID = Mutex<[Int32: Int]>([:])

    init(clients: Int) {
        slots = (0..<clients).map { _ in Slot() }
    }

    /// Client `client` now talks to backend `pid` (at connect and reconnect).
    func connected(client: Int, pid: Int32) {
        clientByPID.withLock { $0[pid] = client }
        slots[client].recent.withLock { $0.removeAll(keepingCapacity: true) }
    }

    func sent(client: Int, _ statement: Statement) {
        slots[client].recent.withLock { recent in
            if recent.count >= Self.history { recent.removeFirst() }
            recent.append(statement)
        }
    }

    /// The client behind `pid`, and the statement it most likely waited in
    /// when the deadlock was detected: the last one it sent before `cutoff`.
    ///
    /// The others in a cycle are woken when the victim aborts, and may have
    /// sent their next statement by the time the victim's worker asks; the
    /// cutoff (a little before the victim learnt of the deadlock) leaves
    /// those out. A participant that closed the cycle less than that margin
    /// before the check ran is attributed to its previous statement.
    func lookup(pid: Int32, cutoff: UInt64) -> (client: Int, statement: Statement?)? {
        guard let client = clientByPID.withLock({ $0[pid] }) else { return nil }
        let recent = slots[client].recent.withLock { $0 }
        return (client, recent.last { $0.sentAt <= cutoff } ?? recent.last)
    }

    /// The statement `client` sent last.
    func current(client: Int) -> Statement? {
        slots[client].recent.withLock { $0.last }
    }
}

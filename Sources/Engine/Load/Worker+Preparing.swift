#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LockstormCore
import PostgresClient

/// `-M simple` and `-M prepared`: sending a statement by the protocol asked
/// for, and preparing the plan's statements on every new connection without
/// blocking the event loop.
///
/// A new connection sends one pipeline: for each statement of the plan
/// (`RunPlan.statementTexts`), a Parse into `ls_<id>` followed by its own
/// Sync, so that one statement that does not prepare (its table is made by an
/// earlier step of the run, say) aborts nothing else. The results are read as
/// they come, before the client starts a transaction; a statement that failed
/// goes out unnamed (as `-M extended`) on that connection, and the run notes
/// it once (`unprepared`).
extension Worker {
    /// How far the Parse pipeline of a new connection has been read.
    struct PrepareProgress {
        /// Syncs read: the result read next is statement `synced`'s.
        var synced = 0
        /// libpq still holds output: wait for the socket to be writable.
        var wantWrite = false
        /// Whether the client reconnected (its machine is told when the
        /// statements are ready), rather than connecting before the load.
        var reconnect: Bool
    }

    /// Whether a new connection prepares statements before it is used.
    var preparesStatements: Bool { protocolMode == .prepared && !statementNames.isEmpty }

    /// Queues one statement by `protocolMode` (not `extended`, which the
    /// callers send themselves): a simple Query, or the statement prepared as
    /// `statement` on this connection, else the unnamed one.
    func send(_ sql: String, _ parameters: StatementParameters, statement: Int32, client index: Int, on connection: PostgresConnection) throws {
        if protocolMode == .simple {
            // The plan has no parameters here: `ProtocolMode.simpleRefusal` refused it before connecting.
            try connection.sendSimple(sql)
            return
        }
        let id = Int(statement)
        if id >= 0, id < clients[index].preparedStatements.count, clients[index].preparedStatements[id] {
            try connection.sendPrepared(name: statementNames[id], parameterCount: parameters.count, buffer: &parameterBuffer) { parameters[$0] }
        } else {
            try connection.send(sql, parameterCount: parameters.count, buffer: &parameterBuffer) { parameters[$0] }
        }
    }

    /// Sends the Parse pipeline on the client's new connection and waits for
    /// its results in `.preparing`.
    func startPreparing(client index: Int, reconnect: Bool) throws {
        guard let connection = clients[index].connection else { return }
        let texts = assignment.plan.statementTexts
        clients[index].preparedStatements = Array(repeating: false, count: texts.count)
        try connection.enterPipelineMode()
        for id in texts.indices {
            try connection.sendPrepare(name: statementNames[id], sql: texts[id])
            try connection.pipelineSync()
        }
        var progress = PrepareProgress(reconnect: reconnect)
        progress.wantWrite = try !connection.flush()
        clients[index].preparing = progress
        setIO(.preparing, client: index)
        if progress.wantWrite { poller.modify(clients[index].socket, owner: index, write: true) }
    }

    /// Flushes and reads what has arrived of the Parse pipeline. Returns
    /// whether every statement's result is in (pipeline mode left); throws
    /// when the connection broke.
    func readPrepareResults(client index: Int) throws -> Bool {
        guard let connection = clients[index].connection, var progress = clients[index].preparing else { return true }
        defer { clients[index].preparing = progress }
        if progress.wantWrite {
            progress.wantWrite = try !connection.flush()
            if !progress.wantWrite { poller.modify(clients[index].socket, owner: index, write: false) }
        }
        try connection.consumeInput()
        let count = clients[index].preparedStatements.count
        while progress.synced < count, !connection.isBusy {
            switch connection.nextResultStatus() {
            case nil, .pipelineAborted?:
                // Between one statement's results and its Sync; nothing is aborted, as each Parse has its own Sync.
                continue
            case .success?:
                clients[index].preparedStatements[progress.synced] = true
            case .failure(let error)?:
                if error.kind == .connectionLost { throw error }
                if unprepared[Int32(progress.synced)] == nil { unprepared[Int32(progress.synced)] = error.message }
            case .pipelineSync?:
                progress.synced += 1
            }
        }
        guard progress.synced == count else { return false }
        try connection.exitPipelineMode()
        return true
    }

    /// The event loop saw the socket of a client in `.preparing`.
    func continuePreparing(client index: Int, events: Int16, now: UInt64) {
        let done: Bool
        do {
            done = try readPrepareResults(client: index)
        } catch {
            // The new connection broke: drop it and reconnect (or stop).
            clients[index].preparing = nil
            setIO(.idle, client: index)
            if stopping {
                clients[index].machine.abandon()
                finish(client: index)
            } else {
                scheduleReconnect(client: index, now: now)
            }
            return
        }
        guard done else { return }
        let reconnect = clients[index].preparing?.reconnect ?? false
        clients[index].preparing = nil
        setIO(.idle, client: index)
        if reconnect { perform(clients[index].machine.reconnected(now: now, stats: &stats), client: index, now: now) }
    }
}

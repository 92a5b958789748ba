#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LockstormCore
import PostgresClient

/// Opening the clients' connections before the load, and reopening a lost
/// one with backoff while the run goes on.
extension Worker {
    /// First wait before reconnecting, doubled per failed try up to the cap.
    static let reconnectBackoff: UInt64 = 100_000_000
    static let reconnectBackoffCap: UInt64 = 2_000_000_000

    /// Opens this worker's connections, all at once, before the load starts.
    func connect() -> PostgresError? {
        let deadline = MonotonicClock.now() &+ UInt64(assignment.connectTimeoutSeconds) * 1_000_000_000
        for index in clients.indices {
            do {
                clients[index].pending = try PendingConnection(dsn: assignment.dsn, applicationName: assignment.applicationName, deadlineNanoseconds: deadline)
                setIO(.connecting(wantWrite: true), client: index)
            } catch let error as PostgresError {
                return error
            } catch {
                return PostgresError(kind: .connectionFailed, message: "\(error)")
            }
        }
        var descriptors: [pollfd] = []
        var owners: [Int] = []
        while true {
            var failure: PostgresError?
            let now = MonotonicClock.now()
            descriptors.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            for index in clients.indices {
                if case .preparing = clients[index].io {
                    // `-M prepared`: the new connection's Parse pipeline (`Worker+Preparing`).
                    if now >= deadline {
                        failure = PostgresError(kind: .connectionFailed, message: "timeout expired while preparing the workload's statements (-M prepared)")
                        break
                    }
                    let wantWrite = clients[index].preparing?.wantWrite ?? false
                    descriptors.append(pollfd(fd: clients[index].socket, events: Int16(wantWrite ? POLLIN | POLLOUT : POLLIN), revents: 0))
                    owners.append(index)
                    continue
                }
                guard case .connecting(let wantWrite) = clients[index].io, let pending = clients[index].pending else { continue }
                if now >= deadline, case .failed(let error) = pending.poll(now: now) { failure = error; break }
                descriptors.append(pollfd(fd: pending.socket, events: Int16(wantWrite ? POLLOUT : POLLIN), revents: 0))
                owners.append(index)
            }
            if let failure { return failure }
            if owners.isEmpty { return nil }
            let ready = descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 50) }
            guard ready > 0 else { continue }
            for (slot, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let index = owners[slot]
                if case .preparing = clients[index].io {
                    do {
                        if try readPrepareResults(client: index) {
                            clients[index].preparing = nil
                            setIO(.idle, client: index)
                        }
                    } catch let error as PostgresError {
                        return error
                    } catch {
                        return PostgresError(kind: .client, message: "\(error)")
                    }
                    continue
                }
                guard let pending = clients[index].pending else { continue }
                switch pending.poll(now: MonotonicClock.now()) {
                case .wantRead: setIO(.connecting(wantWrite: false), client: index)
                case .wantWrite: setIO(.connecting(wantWrite: true), client: index)
                case .ready(let connection):
                    if let error = adopt(connection, client: index) { return error }
                    setIO(.idle, client: index)
                    if preparesStatements {
                        do {
                            try startPreparing(client: index, reconnect: false)
                        } catch let error as PostgresError {
                            return error
                        } catch {
                            return PostgresError(kind: .client, message: "\(error)")
                        }
                    }
                case .failed(let error): return error
                }
            }
        }
    }

    /// Makes `connection` the client's connection.
    private func adopt(_ connection: PostgresConnection, client index: Int) -> PostgresError? {
        do {
            try connection.setNonBlocking(true)
        } catch let error as PostgresError {
            return error
        } catch {
            return PostgresError(kind: .client, message: "\(error)")
        }
        clients[index].connection = connection
        poller.add(clients[index].socket, owner: index)
        clients[index].pending = nil
        clients[index].cancel = connection.makeCancelHandle()
        assignment.board.connected(client: clients[index].machine.clientIndex, pid: connection.backendPID)
        return nil
    }

    /// Takes the client's connection out of the poller, unless libpq has
    /// closed its socket already (which removed it).
    func unregister(client index: Int) {
        guard let connection = clients[index].connection else { return }
        let socket = connection.socket
        if socket >= 0 { poller.remove(socket) }
    }

    /// Drops the client's connection and whatever was in flight on it, and
    /// sets the time of the next try.
    func scheduleReconnect(client index: Int, now: UInt64) {
        unregister(client: index)
        clients[index].connection = nil
        clients[index].cancel = nil
        clients[index].exchange.reset()
        clients[index].pipelineStatements = []
        clients[index].preparedStatements = []
        clients[index].preparing = nil
        if clients[index].disconnectedSince == nil { clients[index].disconnectedSince = now }
        let attempts = min(clients[index].reconnectAttempts, 5)
        let delay = min(Self.reconnectBackoff << UInt64(attempts), Self.reconnectBackoffCap)
        clients[index].reconnectAttempts += 1
        setIO(.reconnectAt(now &+ delay), client: index)
        noteTimer(now &+ delay)
    }

    /// The client's reconnect timer fired: starts opening a connection, or
    /// ends the run when the server has been unreachable too long.
    func startReconnect(client index: Int, now: UInt64, stop: StopSignal) {
        if let since = clients[index].disconnectedSince, now &- since > assignment.reconnectLimitNanoseconds {
            // The server has been unreachable too long: end the whole run.
            serverUnreachable = true
            stop.set()
            clients[index].machine.abandon()
            finish(client: index)
            return
        }
        do {
            let deadline = now &+ UInt64(assignment.connectTimeoutSeconds) * 1_000_000_000
            clients[index].pending = try PendingConnection(dsn: assignment.dsn, applicationName: assignment.applicationName, deadlineNanoseconds: deadline)
            clients[index].connectDeadline = deadline
            setIO(.connecting(wantWrite: true), client: index)
            noteTimer(deadline)
        } catch {
            scheduleReconnect(client: index, now: now)
        }
    }

    /// The socket of a connection being opened is ready (or its deadline passed).
    func advanceReconnect(client index: Int, now: UInt64, stop: StopSignal) {
        guard let pending = clients[index].pending else { return }
        switch pending.poll(now: now) {
        case .wantRead: setIO(.connecting(wantWrite: false), client: index)
        case .wantWrite: setIO(.connecting(wantWrite: true), client: index)
        case .failed:
            clients[index].pending = nil
            scheduleReconnect(client: index, now: now)
        case .ready(let connection):
            if adopt(connection, client: index) != nil {
                scheduleReconnect(client: index, now: now)
                return
            }
            reconnects += 1
            clients[index].disconnectedSince = nil
            clients[index].reconnectAttempts = 0
            setIO(.idle, client: index)
            if preparesStatements {
                // The machine hears `reconnected` once the statements are prepared again (`continuePreparing`).
                do {
                    try startPreparing(client: index, reconnect: true)
                } catch {
                    scheduleReconnect(client: index, now: now)
                }
                return
            }
            perform(clients[index].machine.reconnected(now: now, stats: &stats), client: index, now: now)
        }
    }
}

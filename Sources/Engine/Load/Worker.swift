#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LockstormCore
import PostgresClient

/// What one worker thread must do: which clients, against which server.
struct WorkerAssignment: Sendable {
    var plan: RunPlan
    var dsn: ConnectionString
    var applicationName: String
    var clientIndices: [Int]
    var seed: UInt64
    var transactionsPerClient: Int?
    var connectTimeoutSeconds: Int
    /// This worker's number, for the time series.
    var workerIndex: Int
}

/// What a worker hands back when its clients are done.
struct WorkerResult: Sendable {
    var stats: RunStats
    /// Set when the worker could not open its connections.
    var connectError: PostgresError?
    /// Backend PIDs of this worker's connections (for diagnostics).
    var backendPIDs: [Int32]
    /// Clients that ended because their connection broke.
    var lostConnections: Int
}

/// Shared timing of a run, set by the coordinator and read by workers.
final class RunTiming: Sendable {
    /// Monotonic time at which load starts, once every worker is connected.
    let start: UInt64
    /// When to stop starting transactions (`UInt64.max`: no time limit).
    let deadline: UInt64
    /// How long in-flight transactions may take to finish after the stop.
    let graceNanoseconds: UInt64

    init(start: UInt64, deadline: UInt64, graceNanoseconds: UInt64) {
        self.start = start
        self.deadline = deadline
        self.graceNanoseconds = graceNanoseconds
    }
}

/// One event-loop thread: many clients, each with its own non-blocking
/// connection, multiplexed with `poll`. No call here blocks on the server
/// except the initial connects, so a client waiting on a lock never stops
/// the client that holds it.
final class Worker {
    private enum IOState {
        case idle
        /// Output still buffered in libpq: wait for writability.
        case writing
        /// Statement sent: wait for its results.
        case reading
        case sleeping(until: UInt64)
        case done
    }

    private struct Client {
        var connection: PostgresConnection?
        var machine: ClientMachine
        var io: IOState = .idle
        var pendingError: PostgresError?
        var cancel: CancelHandle?
    }

    private let assignment: WorkerAssignment
    private var clients: [Client] = []
    private var stats: RunStats
    private var lostConnections = 0

    init(assignment: WorkerAssignment) {
        self.assignment = assignment
        self.stats = RunStats(transactionCount: assignment.plan.transactions.count)
    }

    /// Opens this worker's connections (blocking: before the load starts).
    func connect() -> PostgresError? {
        for index in assignment.clientIndices {
            do {
                let connection = try PostgresConnection(dsn: assignment.dsn, connectTimeout: assignment.connectTimeoutSeconds, applicationName: assignment.applicationName)
                try connection.setNonBlocking(true)
                let machine = ClientMachine(plan: assignment.plan, clientIndex: index, seed: assignment.seed, transactionLimit: assignment.transactionsPerClient)
                clients.append(Client(connection: connection, machine: machine, cancel: connection.makeCancelHandle()))
            } catch let error as PostgresError {
                return error
            } catch {
                return PostgresError(kind: .connectionFailed, message: "\(error)")
            }
        }
        return nil
    }

    /// Runs the clients until all are done; `stop` and the timing's deadline
    /// end the run. Returns what was measured.
    func run(timing: RunTiming, stop: StopSignal, timeseries: TimeseriesCollector) -> WorkerResult {
        let backendPIDs = clients.compactMap { $0.connection?.backendPID }
        var now = MonotonicClock.now()
        var intervalIndex = 0
        var intervalEnd = timing.start &+ timeseries.intervalNanoseconds
        defer {
            // The last, partial interval, then no more.
            let end = MonotonicClock.now()
            timeseries.report(worker: assignment.workerIndex, index: intervalIndex, stats: stats.interval, end: end &- timing.start)
            timeseries.finish(worker: assignment.workerIndex)
        }
        for index in clients.indices {
            perform(clients[index].machine.start(now: now), client: index, now: now)
        }
        var stopping = false
        var stopTime: UInt64 = 0
        var cancelled = false
        var pollDescriptors: [pollfd] = []
        var pollOwners: [Int] = []
        pollDescriptors.reserveCapacity(clients.count)
        pollOwners.reserveCapacity(clients.count)

        while clients.contains(where: { if case .done = $0.io { false } else { true } }) {
            now = MonotonicClock.now()
            while now >= intervalEnd {
                timeseries.report(worker: assignment.workerIndex, index: intervalIndex, stats: stats.interval, end: intervalEnd &- timing.start)
                stats.interval.reset()
                intervalIndex += 1
                intervalEnd &+= timeseries.intervalNanoseconds
            }
            if !stopping && (now >= timing.deadline || stop.isSet) {
                stopping = true
                stopTime = now
                for index in clients.indices {
                    clients[index].machine.requestStop()
                    // A client backing off between attempts stops now rather than at its timer.
                    if case .sleeping = clients[index].io, !clients[index].machine.isInTransaction {
                        clients[index].io = .sleeping(until: now)
                    }
                }
            }
            if stopping && !cancelled && now >= stopTime &+ timing.graceNanoseconds {
                // In-flight statements had their grace period: cancel them; the
                // clients roll back and stop.
                cancelled = true
                for client in clients where client.machine.isInTransaction {
                    if case .reading = client.io { client.cancel?.cancel() }
                }
            }
            if stopping && now >= stopTime &+ 2 &* timing.graceNanoseconds &+ 5_000_000_000 {
                // Last resort: close what is left; the server rolls those transactions back.
                for index in clients.indices { finish(client: index) }
                break
            }

            // Timers.
            var nextWake = UInt64.max
            for index in clients.indices {
                if case .sleeping(let until) = clients[index].io {
                    if until <= now {
                        clients[index].io = .idle
                        perform(clients[index].machine.timerFired(now: now, stats: &stats), client: index, now: now)
                        if case .sleeping(let again) = clients[index].io { nextWake = min(nextWake, again) }
                    } else {
                        nextWake = min(nextWake, until)
                    }
                }
            }

            pollDescriptors.removeAll(keepingCapacity: true)
            pollOwners.removeAll(keepingCapacity: true)
            for index in clients.indices {
                guard let socket = clients[index].connection?.socket else { continue }
                switch clients[index].io {
                case .reading:
                    pollDescriptors.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0))
                    pollOwners.append(index)
                case .writing:
                    pollDescriptors.append(pollfd(fd: socket, events: Int16(POLLIN | POLLOUT), revents: 0))
                    pollOwners.append(index)
                default:
                    break
                }
            }
            // Wake for the next timer, the deadline, or at least every 50 ms to see a stop.
            var waitNanoseconds: UInt64 = min(50_000_000, intervalEnd > now ? intervalEnd - now : 0)
            if nextWake != .max { waitNanoseconds = min(waitNanoseconds, nextWake > now ? nextWake - now : 0) }
            if !stopping && timing.deadline > now { waitNanoseconds = min(waitNanoseconds, timing.deadline - now) }
            // poll() counts milliseconds: round up so a timer never fires early.
            let timeout = Int32((waitNanoseconds + 999_999) / 1_000_000)
            let ready = pollDescriptors.withUnsafeMutableBufferPointer { buffer in
                poll(buffer.baseAddress, nfds_t(buffer.count), timeout)
            }
            guard ready > 0 else { continue }
            now = MonotonicClock.now()
            for (slot, descriptor) in pollDescriptors.enumerated() where descriptor.revents != 0 {
                service(client: pollOwners[slot], events: descriptor.revents, now: now)
            }
        }
        for index in clients.indices { finish(client: index) }
        return WorkerResult(stats: stats, connectError: nil, backendPIDs: backendPIDs, lostConnections: lostConnections)
    }

    // MARK: Per-client I/O

    private func service(client index: Int, events: Int16, now: UInt64) {
        guard let connection = clients[index].connection else { return }
        if case .writing = clients[index].io, events & Int16(POLLOUT) != 0 {
            do {
                if try connection.flush() { clients[index].io = .reading }
            } catch let error as PostgresError {
                fail(client: index, error: error, now: now)
                return
            } catch {
                return
            }
        }
        guard events & Int16(POLLIN | POLLERR | POLLHUP) != 0 else { return }
        do {
            try connection.consumeInput()
        } catch let error as PostgresError {
            fail(client: index, error: error, now: now)
            return
        } catch {
            return
        }
        guard case .reading = clients[index].io else { return }
        while !connection.isBusy {
            guard let result = connection.nextResult(copyRows: false) else {
                // The statement is complete.
                let pending = clients[index].pendingError
                clients[index].pendingError = nil
                clients[index].io = .idle
                if let pending {
                    deliverFailure(client: index, error: pending, now: now)
                } else {
                    perform(clients[index].machine.statementSucceeded(now: now, stats: &stats), client: index, now: now)
                }
                return
            }
            if case .failure(let error) = result, clients[index].pendingError == nil {
                clients[index].pendingError = error
                if error.kind == .connectionLost {
                    fail(client: index, error: error, now: now)
                    return
                }
            }
        }
    }

    /// A connection-level failure: the statement cannot complete.
    private func fail(client index: Int, error: PostgresError, now: UInt64) {
        clients[index].pendingError = nil
        clients[index].io = .idle
        var lost = error
        if clients[index].connection?.isHealthy == false { lost.kind = .connectionLost }
        deliverFailure(client: index, error: lost, now: now)
    }

    private func deliverFailure(client index: Int, error: PostgresError, now: UInt64) {
        let failure = StatementFailure(
            sqlState: error.sqlState.map(SQLState.init), message: error.message, detail: error.detail,
            connectionLost: error.kind == .connectionLost
        )
        if failure.connectionLost { lostConnections += 1 }
        perform(clients[index].machine.statementFailed(failure, now: now, stats: &stats), client: index, now: now)
    }

    /// Carries out the machine's action.
    private func perform(_ action: ClientMachine.Action, client index: Int, now: UInt64) {
        switch action {
        case .send(let sql, let parameters):
            guard let connection = clients[index].connection else {
                finish(client: index)
                return
            }
            do {
                try connection.send(sql, parameters)
                clients[index].io = try connection.flush() ? .reading : .writing
            } catch let error as PostgresError {
                var lost = error
                if !connection.isHealthy { lost.kind = .connectionLost }
                clients[index].io = .idle
                deliverFailure(client: index, error: lost, now: now)
            } catch {
                finish(client: index)
            }
        case .sleep(let until):
            clients[index].io = .sleeping(until: until)
        case .stop:
            finish(client: index)
        }
    }

    private func finish(client index: Int) {
        clients[index].io = .done
        clients[index].cancel = nil
        clients[index].connection = nil
    }
}

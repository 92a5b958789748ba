#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LockstormCore
import PostgresClient
#if os(Linux)
import CEventPoll
#endif

/// What one worker thread must do: which clients, against which server.
struct WorkerAssignment: Sendable {
    var plan: RunPlan
    var dsn: ConnectionString
    var applicationName: String
    var clientIndices: [Int]
    /// Clients in the whole run (the last ones may be dedicated to one transaction).
    var clientCount: Int
    var seed: UInt64
    var transactionsPerClient: Int?
    var connectTimeoutSeconds: Int
    /// This worker's number, for the time series.
    var workerIndex: Int
    /// Scheduled starts per client under `-R` (`nil`: closed loop).
    var schedules: [Int: ArrivalSchedule] = [:]
    /// `-L`: skip starts later than this, in nanoseconds.
    var lateLimitNanoseconds: UInt64?
    /// How long a client may stay disconnected before the run gives up.
    var reconnectLimitNanoseconds: UInt64
    /// What every client of the run is executing (shared by all workers).
    var board: SessionBoard
    /// The server's `deadlock_timeout`, to place a deadlock check in time.
    var deadlockTimeoutNanoseconds: UInt64 = 1_000_000_000
    /// Send BEGIN with each attempt's first statement (`LoadOptions.combineBegin`).
    var combineBegin = true
    /// Set when the workload turns out broken: every worker stops.
    var abort = RunAbort()
    /// Errors the workload does not declare do not stop the run (`LoadOptions.allowUnexpectedErrors`).
    var allowUnexpectedErrors = false
}

/// What a worker hands back when its clients are done.
struct WorkerResult: Sendable {
    var stats: RunStats
    /// Backend PIDs of this worker's connections (for diagnostics).
    var backendPIDs: [Int32]
    /// Connections that broke during the measured run.
    var lostConnections: Int
    /// Successful reconnections.
    var reconnects: Int
    /// A client could not reconnect within the limit: the server is gone.
    var serverUnreachable: Bool
    /// When the worker saw the deadline or the stop (monotonic ns): the end
    /// of the measurement window; nil when its clients finished first.
    var stoppedAt: UInt64?
}

/// Shared timing of a run, set by the coordinator and read by workers.
final class RunTiming: Sendable {
    /// Monotonic time at which load starts (warmup included).
    let loadStart: UInt64
    /// Monotonic time at which measurement starts (after warmup).
    let start: UInt64
    /// When to stop starting transactions (`UInt64.max`: no time limit).
    let deadline: UInt64
    /// How long in-flight transactions may take to finish after the stop.
    let graceNanoseconds: UInt64

    init(loadStart: UInt64, start: UInt64, deadline: UInt64, graceNanoseconds: UInt64) {
        self.loadStart = loadStart
        self.start = start
        self.deadline = deadline
        self.graceNanoseconds = graceNanoseconds
    }
}

/// One event-loop thread: many clients, each with its own non-blocking
/// connection, multiplexed with `poll`. Nothing here blocks on the server
/// (connections too are opened with `PQconnectPoll`), so a client waiting on
/// a lock never stops the client that holds it.
final class Worker {
    private enum IOState {
        case idle
        /// Output still buffered in libpq: wait for writability.
        case writing
        /// Statement sent: wait for its results.
        case reading
        case sleeping(until: UInt64)
        /// Opening a connection: wait for the socket as `PQconnectPoll` asked.
        case connecting(wantWrite: Bool)
        /// Disconnected; try to connect again at this time.
        case reconnectAt(UInt64)
        case done
    }

    // Stored in the order the hot path touches them: Swift lays a struct out
    // in declaration order, and at hundreds of clients each client's state is
    // out of cache by the time its next result comes. With `machine` (~460
    // bytes) in the middle, reading `connection`, `io` and `pipelining` for
    // one result cost three cache misses (perf at 256 clients: most of
    // `service`'s own time); now they sit together at the start, followed
    // by the machine's own hot fields (see `ClientMachine`).
    private struct Client {
        var connection: PostgresConnection? {
            didSet { socket = connection?.socket ?? -1 }
        }
        /// `connection`'s socket, kept to spare a libpq call per client and wake-up.
        var socket: Int32 = -1
        var io: IOState = .idle
        /// Where the results of a statement sent with BEGIN (`beginAndSend`) are.
        var prefix: BeginPrefix = .none
        /// BEGIN, sent with the statement in flight, failed.
        var beginFailed = false
        // The pipelined transaction in flight (`pipeline: true`), in plain
        // fields changed in place: a struct of them, copied out, changed and
        // stored back per result, cost ~7,000 instructions a transaction in
        // value-witness calls (its failure held a `PostgresError`).
        /// A pipelined transaction is in flight.
        var pipelining = false
        /// Statements whose results are all read.
        var pipelineCompleted = 0
        /// The first statement that failed (-1: none); its error waits in `pendingError`.
        var pipelineFailedAt = -1
        /// What the statement in flight returned, for the machine's captures and conditions.
        // Not `.none`: a global of another module is reached through swift_once on every use.
        var stepResult = StepResult(rowCount: 0)
        /// The session board's number for the statement in flight (`SessionBoard.completed(client:sequence:at:)`).
        var boardSequence: UInt64 = 0
        /// Its statements.
        var pipelineStatements: [ClientMachine.PipelinedStatement] = []
        /// The error of the statement in flight, kept until its last result is
        /// read. Boxed: the hot path tests it for every statement, and inline
        /// (~120 bytes) it pushed the machine's fields into further cache lines.
        var pendingError: FailureBox?
        var machine: ClientMachine
        // Cold: connecting and reconnecting.
        var pending: PendingConnection?
        var cancel: CancelHandle?
        var disconnectedSince: UInt64?
        var reconnectAttempts = 0
        /// When the connection being opened gives up.
        var connectDeadline: UInt64?
    }

    /// A `PostgresError` on the heap (failures are rare; see `Client.pendingError`).
    private final class FailureBox {
        let error: PostgresError
        init(_ error: PostgresError) { self.error = error }
    }

    /// Reading the results of BEGIN and a statement sent in one pipeline:
    /// BEGIN's result and end, then the statement's, then the Sync.
    private enum BeginPrefix {
        /// Not a statement sent with BEGIN.
        case none
        /// BEGIN's result comes first.
        case begin
        /// BEGIN is done: the statement's results.
        case statement
        /// The statement is done: the Sync ends the pipeline.
        case sync
    }

    /// The client's pipelined transaction is over (or abandoned).
    private func endPipeline(client index: Int) {
        clients[index].pipelining = false
        clients[index].pipelineStatements = []
        clients[index].pipelineCompleted = 0
        clients[index].pipelineFailedAt = -1
    }

    private let assignment: WorkerAssignment
    private var clients: [Client] = []
    /// Bind-parameter text for every connection of this worker: one buffer
    /// stays in cache where one per connection is cold at hundreds of clients.
    /// Exclusivity checks off: only `perform`, on this thread, uses it.
    @exclusivity(unchecked) private var parameterBuffer = ParameterBuffer()
    /// The sockets of the clients' established connections.
    private let poller: Poller
    /// Clients in `.connecting` (reconnects): their sockets are polled apart.
    private var connectingClients = 0
    /// Clients not yet `.done`: the loop runs while any is left.
    private var active = 0
    /// When measurement started (for "first seen" times).
    private var measurementStart: UInt64 = 0
    private var stats: RunStats
    private var lostConnections = 0
    private var reconnects = 0
    private var serverUnreachable = false
    /// The run is ending: no more reconnects.
    private var stopping = false
    /// No client timer (sleep, reconnect, connect deadline) is due before
    /// this: the loop scans the clients' timers only from then on.
    private var nextTimer: UInt64 = 0

    /// A client timer was set for `time`.
    private func noteTimer(_ time: UInt64) {
        if time < nextTimer { nextTimer = time }
    }

    /// First wait before reconnecting, doubled per failed try up to the cap.
    static let reconnectBackoff: UInt64 = 100_000_000
    static let reconnectBackoffCap: UInt64 = 2_000_000_000

    init(assignment: WorkerAssignment) {
        self.assignment = assignment
        self.stats = RunStats(transactionCount: assignment.plan.transactions.count)
        for index in assignment.clientIndices {
            let machine = ClientMachine(
                plan: assignment.plan, clientIndex: index, seed: assignment.seed, transactionLimit: assignment.transactionsPerClient,
                schedule: assignment.schedules[index], lateLimit: assignment.lateLimitNanoseconds,
                dedicatedTransaction: assignment.plan.dedicatedTransaction(client: index, of: assignment.clientCount),
                combineBegin: assignment.combineBegin
            )
            clients.append(Client(machine: machine))
        }
        active = clients.count
        poller = Poller(capacity: clients.count)
    }

    deinit {
        parameterBuffer.deallocate()
    }

    /// Opens this worker's connections, all at once, before the load starts.
    func connect() -> PostgresError? {
        let deadline = MonotonicClock.now() &+ UInt64(assignment.connectTimeoutSeconds) * 1_000_000_000
        for index in clients.indices {
            do {
                clients[index].pending = try PendingConnection(dsn: assignment.dsn, applicationName: assignment.applicationName, deadlineNanoseconds: deadline)
                clients[index].io = .connecting(wantWrite: true)
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
                guard let pending = clients[index].pending else { continue }
                switch pending.poll(now: MonotonicClock.now()) {
                case .wantRead: clients[index].io = .connecting(wantWrite: false)
                case .wantWrite: clients[index].io = .connecting(wantWrite: true)
                case .ready(let connection):
                    if let error = adopt(connection, client: index) { return error }
                    clients[index].io = .idle
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

    /// Runs the clients until all are done; `stop` and the timing's deadline
    /// end the run. Returns what was measured after warmup.
    func run(timing: RunTiming, stop: StopSignal, timeseries: TimeseriesCollector) -> WorkerResult {
        let backendPIDs = clients.compactMap { $0.connection?.backendPID }
        measurementStart = timing.start
        var measuring = timing.start <= timing.loadStart
        var now = MonotonicClock.now()
        var intervalIndex = 0
        var intervalEnd = timing.start &+ timeseries.intervalNanoseconds
        defer {
            // The last, partial interval, then no more.
            let end = MonotonicClock.now()
            if measuring { timeseries.report(worker: assignment.workerIndex, index: intervalIndex, stats: stats.interval, end: end &- timing.start) }
            timeseries.finish(worker: assignment.workerIndex)
        }
        for index in clients.indices {
            if !measuring { clients[index].machine.beginWarmup() }
            perform(clients[index].machine.start(now: now, stats: &stats), client: index, now: now)
        }
        connectingClients = clients.count { if case .connecting = $0.io { true } else { false } }
        var stopTime: UInt64 = 0
        // How often to look for a broken workload (see `RunStats.brokenWorkloadReason`).
        let brokenCheckEvery: UInt64 = 100_000_000
        var nextBrokenCheck = now &+ brokenCheckEvery
        var cancelled = false
        var pollDescriptors: [pollfd] = []
        var pollOwners: [Int] = []
        pollDescriptors.reserveCapacity(clients.count)
        pollOwners.reserveCapacity(clients.count)

        while active > 0 {
            now = MonotonicClock.now()
            if !measuring && now >= timing.start {
                // Warmup is over: what ran so far does not count.
                measuring = true
                stats = RunStats(transactionCount: assignment.plan.transactions.count)
                lostConnections = 0
                reconnects = 0
                for index in clients.indices { clients[index].machine.beginMeasurement() }
            }
            while measuring && now >= intervalEnd {
                timeseries.report(worker: assignment.workerIndex, index: intervalIndex, stats: stats.interval, end: intervalEnd &- timing.start)
                stats.interval.reset()
                intervalIndex += 1
                intervalEnd &+= timeseries.intervalNanoseconds
            }
            if measuring && !assignment.allowUnexpectedErrors && now >= nextBrokenCheck {
                nextBrokenCheck = now &+ brokenCheckEvery
                if let reason = stats.brokenWorkloadReason(plan: assignment.plan) { assignment.abort.abort(reason) }
            }
            if !stopping && (now >= timing.deadline || stop.isSet || assignment.abort.isSet) {
                stopping = true
                stopTime = now
                for index in clients.indices {
                    clients[index].machine.requestStop()
                    // Clients between transactions (backoff, schedule, reconnect) stop now.
                    switch clients[index].io {
                    case .sleeping where !clients[index].machine.isInTransaction:
                        clients[index].io = .sleeping(until: now)
                        noteTimer(now)
                    case .reconnectAt, .connecting:
                        finish(client: index)
                    default:
                        break
                    }
                }
            }
            if stopping && !cancelled && now >= stopTime &+ timing.graceNanoseconds {
                // In-flight statements had their grace period: cancel them; the
                // clients roll back and stop.
                cancelled = true
                for index in clients.indices where clients[index].machine.isInTransaction {
                    // The machine rolls the attempt back at its next step, and does
                    // not count the cancel's 57014 (see `ClientMachine.cancelInFlight`).
                    clients[index].machine.cancelInFlight()
                    switch clients[index].io {
                    case .reading: clients[index].cancel?.cancel()
                    case .sleeping:
                        // A pause inside the transaction: roll back now.
                        clients[index].io = .sleeping(until: now)
                        noteTimer(now)
                    default: break
                    }
                }
            }
            if stopping && now >= stopTime &+ 2 &* timing.graceNanoseconds &+ 5_000_000_000 {
                // Last resort: close what is left; the server rolls those transactions back.
                for index in clients.indices { finish(client: index) }
                break
            }

            // Timers: sleeps and reconnects (scanned only when one is due).
            var nextWake = nextTimer
            if now >= nextTimer {
                nextWake = UInt64.max
                // Timers set while scanning land in nextWake through the second switch below.
                nextTimer = UInt64.max
                for index in clients.indices {
                    switch clients[index].io {
                    case .sleeping(let until):
                        if until <= now {
                            clients[index].io = .idle
                            perform(clients[index].machine.timerFired(now: now, stats: &stats), client: index, now: now)
                        }
                    case .reconnectAt(let when):
                        if when <= now { startReconnect(client: index, now: now, stop: stop) }
                    case .connecting:
                        // A server that accepts but never answers must not hold a client forever.
                        if let deadline = clients[index].connectDeadline, now >= deadline { advanceReconnect(client: index, now: now, stop: stop) }
                    default:
                        break
                    }
                    switch clients[index].io {
                    case .sleeping(let until): nextWake = min(nextWake, until)
                    case .reconnectAt(let when): nextWake = min(nextWake, when)
                    case .connecting: if let deadline = clients[index].connectDeadline { nextWake = min(nextWake, deadline) }
                    default: break
                    }
                }
                nextTimer = min(nextTimer, nextWake)
                nextWake = nextTimer
            }

            // Established connections are in the poller; connections being
            // opened (reconnects) are polled alongside, as libpq may change their socket.
            if !pollDescriptors.isEmpty {
                pollDescriptors.removeAll(keepingCapacity: true)
                pollOwners.removeAll(keepingCapacity: true)
            }
            if connectingClients > 0 {
                for index in clients.indices {
                    // A negative socket means libpq failed already: the deadline timer above retires it.
                    guard case .connecting(let wantWrite) = clients[index].io, let socket = clients[index].pending?.socket, socket >= 0 else { continue }
                    pollDescriptors.append(pollfd(fd: socket, events: Int16(wantWrite ? POLLOUT : POLLIN), revents: 0))
                    pollOwners.append(index)
                }
            }
            // Wake for the next timer, interval, warmup end or deadline, and at least every 50 ms to see a stop.
            // (One by one: a loop over an array literal allocated an array per wake-up.)
            var waitNanoseconds: UInt64 = 50_000_000
            func wake(at time: UInt64) {
                if time != .max { waitNanoseconds = min(waitNanoseconds, time > now ? time - now : 0) }
            }
            wake(at: nextWake)
            wake(at: measuring ? intervalEnd : timing.start)
            wake(at: stopping ? UInt64.max : timing.deadline)
            // poll() counts milliseconds: round up so a timer never fires early.
            let timeout = Int32((waitNanoseconds + 999_999) / 1_000_000)
            poller.wait(timeout: timeout, extra: &pollDescriptors)
            let connectingReady = pollDescriptors.contains { $0.revents != 0 }
            guard connectingReady || !poller.ready.isEmpty else { continue }
            now = MonotonicClock.now()
            prefetchReadyClients()
            for event in poller.ready {
                service(client: event.owner, events: event.events, now: now)
            }
            if connectingReady {
                for (slot, descriptor) in pollDescriptors.enumerated() where descriptor.revents != 0 {
                    let index = pollOwners[slot]
                    if case .connecting = clients[index].io { advanceReconnect(client: index, now: now, stop: stop) }
                }
            }
        }
        for index in clients.indices { finish(client: index) }
        return WorkerResult(
            stats: stats, backendPIDs: backendPIDs, lostConnections: lostConnections, reconnects: reconnects, serverUnreachable: serverUnreachable,
            stoppedAt: stopping ? stopTime : nil
        )
    }

    /// From how many clients per worker `prefetchReadyClients` pays.
    static let prefetchClients = 64

    /// Starts loading the state of every client the poller reported into the
    /// cache before the first is served. At hundreds of clients a client's
    /// state has left the cache by the time its next result comes, and
    /// serving clients one by one met those misses one at a time (perf at 256
    /// clients: most of `service`'s own time was two loads of `Client`
    /// fields); asked for together, they arrive in parallel.
    private func prefetchReadyClients() {
        #if os(Linux)
        // With few clients their state stays in cache: only the instructions would count.
        guard clients.count >= Self.prefetchClients, poller.ready.count > 1 else { return }
        clients.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for event in poller.ready where event.owner < buffer.count {
                // The hot fields come first (see `Client`): the first 256 bytes hold them.
                let start = UnsafeRawPointer(base + event.owner)
                ls_prefetch(start)
                ls_prefetch(start + 64)
                ls_prefetch(start + 128)
                ls_prefetch(start + 192)
            }
            // Then the session board's entry each will complete (its number
            // is in the fields just asked for: these loads overlap too).
            for event in poller.ready where event.owner < buffer.count {
                // Field by field: `let client = buffer[i]` would copy the whole client.
                guard case .reading = buffer[event.owner].io else { continue }
                assignment.board.prefetch(client: buffer[event.owner].machine.clientIndex, sequence: buffer[event.owner].boardSequence)
            }
        }
        #endif
    }

    // MARK: Reconnecting

    /// Takes the client's connection out of the poller, unless libpq has
    /// closed its socket already (which removed it).
    private func unregister(client index: Int) {
        guard let connection = clients[index].connection else { return }
        let socket = connection.socket
        if socket >= 0 { poller.remove(socket) }
    }

    private func scheduleReconnect(client index: Int, now: UInt64) {
        unregister(client: index)
        clients[index].connection = nil
        clients[index].cancel = nil
        clients[index].pendingError = nil
        endPipeline(client: index)
        clients[index].prefix = .none
        clients[index].beginFailed = false
        if clients[index].disconnectedSince == nil { clients[index].disconnectedSince = now }
        let attempts = min(clients[index].reconnectAttempts, 5)
        let delay = min(Self.reconnectBackoff << UInt64(attempts), Self.reconnectBackoffCap)
        clients[index].reconnectAttempts += 1
        clients[index].io = .reconnectAt(now &+ delay)
        noteTimer(now &+ delay)
    }

    private func startReconnect(client index: Int, now: UInt64, stop: StopSignal) {
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
            clients[index].io = .connecting(wantWrite: true)
            connectingClients += 1
            noteTimer(deadline)
        } catch {
            scheduleReconnect(client: index, now: now)
        }
    }

    private func advanceReconnect(client index: Int, now: UInt64, stop: StopSignal) {
        guard let pending = clients[index].pending else { return }
        switch pending.poll(now: now) {
        case .wantRead: clients[index].io = .connecting(wantWrite: false)
        case .wantWrite: clients[index].io = .connecting(wantWrite: true)
        case .failed:
            connectingClients -= 1
            clients[index].pending = nil
            scheduleReconnect(client: index, now: now)
        case .ready(let connection):
            connectingClients -= 1
            if adopt(connection, client: index) != nil {
                scheduleReconnect(client: index, now: now)
                return
            }
            reconnects += 1
            clients[index].disconnectedSince = nil
            clients[index].reconnectAttempts = 0
            clients[index].io = .idle
            perform(clients[index].machine.reconnected(now: now, stats: &stats), client: index, now: now)
        }
    }

    // MARK: Per-client I/O

    private func service(client index: Int, events: Int16, now: UInt64) {
        guard let connection = clients[index].connection else { return }
        switch clients[index].io {
        case .reading, .writing:
            break
        default:
            // Input no statement waits for (a notice, the server closing the
            // connection): read it, or the poller reports it again and again.
            // A broken connection leaves the poller; the client's next
            // statement fails and reconnects.
            if (try? connection.consumeInput()) == nil || !connection.isHealthy { unregister(client: index) }
            return
        }
        if case .writing = clients[index].io, events & Int16(POLLOUT) != 0 {
            do {
                if try connection.flush() {
                    clients[index].io = .reading
                    poller.modify(clients[index].socket, owner: index, write: false)
                }
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
        if clients[index].pipelining {
            servicePipeline(client: index, connection: connection, now: now)
            return
        }
        let wantsRow = inPlace(index) { $0.wantsRow }
        while !connection.isBusy {
            if clients[index].prefix != .none && clients[index].prefix != .statement {
                if !serviceBeginPrefix(client: index, connection: connection, now: now) { return }
                continue
            }
            if wantsRow {
                switch connection.nextResult(copyRows: true) {
                case nil:
                    if statementResultsEnded(client: index, now: now) { return }
                case .success(let query)?:
                    clients[index].stepResult = Self.stepResult(query, withRow: true)
                case .failure(let error)?:
                    if !noteFailure(client: index, error, now: now) { return }
                }
                continue
            }
            // Without captures only the status and row count are needed: no
            // copying. Switched on directly (no `Result` in between): every
            // value holding a PostgresError that is destroyed costs a call
            // through Optional's generic value witness, four per statement.
            switch connection.nextResultStatus() {
            case nil:
                if statementResultsEnded(client: index, now: now) { return }
            case .success(let rowCount)?:
                clients[index].stepResult.rowCount = rowCount
            case .failure(let error)?:
                if !noteFailure(client: index, error, now: now) { return }
            // Pipeline mode only: a statement sent with a BEGIN that failed.
            case .pipelineAborted?, .pipelineSync?:
                clients[index].stepResult.rowCount = 0
            }
        }
    }

    /// The statement in flight has no more results: it is complete, unless it
    /// went out with BEGIN, whose pipeline ends with a Sync still to read.
    /// Returns whether it completed (the machine has been told).
    private func statementResultsEnded(client index: Int, now: UInt64) -> Bool {
        if clients[index].prefix == .statement {
            clients[index].prefix = .sync
            return false
        }
        completeStatement(client: index, now: now)
        return true
    }

    /// Reads one result of BEGIN (sent with the statement in flight) or the
    /// Sync after them. Returns false when the client is done reading for now
    /// (the statement completed, or the connection failed).
    private func serviceBeginPrefix(client index: Int, connection: PostgresConnection, now: UInt64) -> Bool {
        let status = connection.nextResultStatus()
        if case .sync = clients[index].prefix {
            // `nil` cannot come here (libpq is busy until the Sync's result);
            // were it to, leaving pipeline mode ends the wait either way (or
            // fails, and the client reconnects) instead of reading forever.
            switch status {
            case .pipelineSync?, nil: break
            case .success?, .failure?, .pipelineAborted?: return true
            }
            do {
                try connection.exitPipelineMode()
            } catch let error as PostgresError {
                fail(client: index, error: error, now: now)
                return false
            } catch {
                return false
            }
            clients[index].prefix = .none
            completeStatement(client: index, now: now)
            return false
        }
        switch status {
        case nil:
            // BEGIN is complete; the statement's results follow.
            clients[index].prefix = .statement
        case .failure(let error)?:
            if clients[index].pendingError == nil { clients[index].beginFailed = true }
            return noteFailure(client: index, error, now: now)
        case .success?, .pipelineAborted?, .pipelineSync?:
            break
        }
        return true
    }

    /// The statement in flight returned an error: kept until its last result
    /// is read (the first error wins). Returns false when the connection is
    /// lost and the client was told so.
    private func noteFailure(client index: Int, _ error: PostgresError, now: UInt64) -> Bool {
        guard clients[index].pendingError == nil else { return true }
        clients[index].pendingError = FailureBox(error)
        guard error.kind == .connectionLost else { return true }
        fail(client: index, error: error, now: now)
        return false
    }

    /// All results of the statement in flight are read: tell the machine.
    private func completeStatement(client index: Int, now: UInt64) {
        assignment.board.completed(client: clients[index].machine.clientIndex, sequence: clients[index].boardSequence, at: now)
        clients[index].io = .idle
        // A reference test: nothing is copied when there is no error.
        if clients[index].pendingError != nil, let pending = clients[index].pendingError.take() {
            clients[index].stepResult = StepResult(rowCount: 0)
            deliverFailure(client: index, error: pending.error, now: now)
            return
        }
        var stepResult = StepResult(rowCount: 0)
        swap(&stepResult, &clients[index].stepResult)
        perform(clients[index].machine.statementSucceeded(now: now, stats: &stats, result: stepResult), client: index, now: now)
    }

    /// The row count, and the first row when the step captures it.
    private static func stepResult(_ query: QueryResult, withRow: Bool) -> StepResult {
        guard withRow, let row = query.rows.first else { return StepResult(rowCount: query.affectedRows) }
        let values: [Value] = row.indices.map { column in
            switch query.value(0, column) {
            case .null: .null
            case .int(let value): .int(value)
            case .double(let value): .double(value)
            case .bool(let value): .bool(value)
            case .text(let value): .string(value)
            }
        }
        return StepResult(rowCount: query.rows.count, firstRow: values, firstRowText: row)
    }

    /// Reads what has come of a pipelined transaction: each statement's
    /// result then `nil`, `.pipelineAborted` for those after a failure, and
    /// `.pipelineSync` at the end, when the machine hears how it went.
    private func servicePipeline(client index: Int, connection: PostgresConnection, now: UInt64) {
        while !connection.isBusy {
            guard clients[index].pipelining else { return }
            switch connection.nextResultStatus() {
            case nil:
                // One statement is complete; the server goes on with the next.
                clients[index].pipelineCompleted += 1
                let completed = clients[index].pipelineCompleted
                let client = clients[index].machine.clientIndex
                assignment.board.completed(client: client, sequence: clients[index].boardSequence, at: now)
                // After a failure the rest are not run: the board keeps the one that failed.
                if clients[index].pipelineFailedAt < 0 && completed < clients[index].pipelineStatements.count {
                    clients[index].boardSequence = assignment.board.sent(
                        client: client, transaction: clients[index].machine.currentTransaction, step: clients[index].pipelineStatements[completed].step,
                        sql: clients[index].pipelineStatements[completed].sql, parameters: clients[index].pipelineStatements[completed].parameters, at: now
                    )
                }
            case .success, .pipelineAborted:
                break
            case .failure(let error):
                if error.kind == .connectionLost {
                    fail(client: index, error: error, now: now)
                    return
                }
                if clients[index].pipelineFailedAt < 0 {
                    clients[index].pipelineFailedAt = clients[index].pipelineCompleted
                    clients[index].pendingError = FailureBox(error)
                }
            case .pipelineSync:
                do {
                    try connection.exitPipelineMode()
                } catch let error as PostgresError {
                    fail(client: index, error: error, now: now)
                    return
                } catch {
                    return
                }
                clients[index].io = .idle
                if clients[index].pipelineFailedAt >= 0, let error = clients[index].pendingError.take()?.error {
                    deliverFailure(client: index, error: error, now: now)
                } else {
                    endPipeline(client: index)
                    perform(clients[index].machine.statementSucceeded(now: now, stats: &stats), client: index, now: now)
                }
                return
            }
        }
    }

    /// A connection-level failure: the statement cannot complete.
    private func fail(client index: Int, error: PostgresError, now: UInt64) {
        clients[index].pendingError = nil
        clients[index].io = .idle
        var lost = error
        // A connection half-way through a pipeline cannot be trusted either.
        if clients[index].connection?.isHealthy == false || clients[index].prefix != .none { lost.kind = .connectionLost }
        clients[index].prefix = .none
        deliverFailure(client: index, error: lost, now: now)
    }

    private func deliverFailure(client index: Int, error: PostgresError, now: UInt64) {
        // A backend terminated by the server (57P01 admin_shutdown and friends)
        // leaves the connection unusable even when libpq has not noticed yet.
        let state = error.sqlState.map(SQLState.init)
        let lost = error.kind == .connectionLost || ErrorClass.classify(state) == .connection || clients[index].connection?.isHealthy == false
        let failure = StatementFailure(sqlState: state, message: error.message, detail: error.detail, connectionLost: lost)
        if lost { lostConnections += 1 }
        if state == .deadlockDetected, let detail = error.detail, !clients[index].machine.isDiscarding {
            recordCycle(victim: index, detail: detail, context: error.context, now: now)
        }
        if clients[index].beginFailed {
            clients[index].beginFailed = false
            perform(clients[index].machine.beginFailed(failure, now: now, stats: &stats), client: index, now: now)
            return
        }
        if clients[index].pipelining {
            let failedAt = clients[index].pipelineFailedAt
            let statement = failedAt >= 0 ? failedAt : clients[index].pipelineCompleted
            endPipeline(client: index)
            perform(clients[index].machine.pipelineFailed(failure, statement: statement, now: now, stats: &stats), client: index, now: now)
            return
        }
        perform(clients[index].machine.statementFailed(failure, now: now, stats: &stats), client: index, now: now)
    }

    /// Reconstructs the whole cycle from the victim's DETAIL: every PID in it
    /// is mapped to the lockstorm client (or an outside session) and the
    /// statement it was running.
    private func recordCycle(victim index: Int, detail: String, context: String?, now: UInt64) {
        guard let report = DeadlockReport.parse(detail: detail, context: context) else { return }
        let plan = assignment.plan
        let victimClient = clients[index].machine.clientIndex
        // The victim ran the check itself, deadlock_timeout after its statement
        // began to wait: see SessionBoard.lookup.
        let victimStatement = assignment.board.current(client: victimClient)
        let detection = min((victimStatement?.sentAt ?? now) &+ assignment.deadlockTimeoutNanoseconds, now)
        var participants: [CycleParticipant] = []
        var sessions: [Int32: (template: String, step: Int?)] = [:]
        for edge in report.edges {
            var found: (client: Int, statement: SessionBoard.Statement?)?
            if edge.waiter == clients[index].connection?.backendPID {
                found = (victimClient, victimStatement)
            } else {
                found = assignment.board.lookup(pid: edge.waiter, detection: detection)
            }
            let statement = found?.statement
            let template = statement.map { plan.transactions[$0.transaction].name }
            if let template { sessions[edge.waiter] = (template, statement?.step) }
            var names: [String] = []
            if let statement, let step = statement.step, step < plan.transactions[statement.transaction].stepParameterNames.count {
                names = plan.transactions[statement.transaction].stepParameterNames[step]
            }
            var participant = CycleParticipant(
                pid: edge.waiter, template: found == nil ? nil : template, step: statement?.step, sql: statement?.sql,
                parameters: statement.map { Array($0.parameters) } ?? [], parameterNames: names, waitsFor: "\(edge.mode) on \(edge.lock.summary)"
            )
            if let found, let statement {
                participant.transaction = assignment.board.attempt(client: found.client, through: statement).map {
                    CycleParticipant.Statement(step: $0.step, sql: $0.sql, parameters: Array($0.parameters), sentAt: $0.sentAt)
                }
            }
            participants.append(participant)
        }
        let signature = DeadlockSignature(report: report) { sessions[$0] }
        let seen = Double(now > measurementStart ? now - measurementStart : 0) / 1e9
        stats.recordCycle(CycleRecord(signature: signature, count: 1, firstSeenSeconds: seen, sampleDetail: detail, sampleParticipants: participants))
    }

    /// Reads a computed property of a client's machine in place: a plain
    /// `clients[index].machine.property` copies the whole machine first
    /// (a few hundred instructions per statement).
    @inline(__always)
    private func inPlace<R>(_ index: Int, _ body: (inout ClientMachine) -> R) -> R {
        body(&clients[index].machine)
    }

    /// Sends what libpq has buffered; the client reads its results next, or
    /// first waits until its socket can take the rest.
    private func flushThenRead(client index: Int, _ connection: PostgresConnection) throws {
        if try connection.flush() {
            clients[index].io = .reading
        } else {
            clients[index].io = .writing
            poller.modify(clients[index].socket, owner: index, write: true)
        }
    }

    /// The client's connection, or `nil` once the machine has been told there is none.
    private func connectionForSend(client index: Int, now: UInt64) -> PostgresConnection? {
        if let connection = clients[index].connection { return connection }
        deliverFailure(client: index, error: PostgresError(kind: .connectionLost, sqlState: "08006", message: "no connection"), now: now)
        return nil
    }

    /// Sending failed. A connection half-way into a pipeline cannot be
    /// trusted: it counts as lost, and the client opens a new one.
    private func sendFailed(client index: Int, _ error: any Error, connection: PostgresConnection, midPipeline: Bool, now: UInt64) {
        guard var lost = error as? PostgresError else {
            finish(client: index)
            return
        }
        if midPipeline || !connection.isHealthy { lost.kind = .connectionLost }
        clients[index].io = .idle
        clients[index].prefix = .none
        deliverFailure(client: index, error: lost, now: now)
    }

    /// Carries out the machine's action.
    private func perform(_ action: consuming ClientMachine.Action, client index: Int, now: UInt64) {
        switch consume action {
        case .send(let sql, let parameters):
            guard let connection = connectionForSend(client: index, now: now) else { return }
            // Field by field: `let machine = clients[index].machine` would copy the whole machine.
            clients[index].boardSequence = assignment.board.sent(
                client: clients[index].machine.clientIndex, transaction: clients[index].machine.currentTransaction, step: inPlace(index) { $0.currentStep },
                sql: sql, parameters: parameters, at: now
            )
            do {
                try connection.send(sql, parameterCount: parameters.count, buffer: &parameterBuffer) { parameters[$0] }
                try flushThenRead(client: index, connection)
            } catch {
                sendFailed(client: index, error, connection: connection, midPipeline: false, now: now)
            }
        case .beginAndSend(let begin, let sql, let parameters):
            guard let connection = connectionForSend(client: index, now: now) else { return }
            // The board shows both, as if BEGIN had completed at once (it takes
            // no lock): fuzz rebuilds a participant's attempt from its BEGIN on.
            let client = clients[index].machine.clientIndex, transaction = clients[index].machine.currentTransaction
            assignment.board.sent(client: client, SessionBoard.Statement(transaction: transaction, step: nil, sql: begin, parameters: [], sentAt: now, completedAt: now))
            clients[index].boardSequence = assignment.board.sent(
                client: client, transaction: transaction, step: inPlace(index) { $0.currentStep }, sql: sql, parameters: parameters, at: now
            )
            do {
                try connection.enterPipelineMode()
                try connection.send(begin, parameterCount: 0, buffer: &parameterBuffer) { _ in nil }
                try connection.send(sql, parameterCount: parameters.count, buffer: &parameterBuffer) { parameters[$0] }
                try connection.pipelineSync()
                clients[index].prefix = .begin
                try flushThenRead(client: index, connection)
            } catch {
                sendFailed(client: index, error, connection: connection, midPipeline: true, now: now)
            }
        case .pipeline(let statements):
            guard let connection = connectionForSend(client: index, now: now) else { return }
            guard let first = statements.first else { return }
            clients[index].pipelining = true
            clients[index].pipelineStatements = statements
            clients[index].pipelineCompleted = 0
            clients[index].pipelineFailedAt = -1
            // The board follows the server: the first statement runs now, each next one when the one before completes.
            clients[index].boardSequence = assignment.board.sent(client: clients[index].machine.clientIndex, SessionBoard.Statement(
                transaction: clients[index].machine.currentTransaction, step: first.step, sql: first.sql, parameters: first.parameters, sentAt: now
            ))
            do {
                try connection.enterPipelineMode()
                for statement in statements {
                    try connection.send(statement.sql, parameterCount: statement.parameters.count, buffer: &parameterBuffer) { statement.parameters[$0] }
                }
                try connection.pipelineSync()
                try flushThenRead(client: index, connection)
            } catch {
                sendFailed(client: index, error, connection: connection, midPipeline: true, now: now)
            }
        case .sleep(let until):
            clients[index].io = .sleeping(until: until)
            noteTimer(until)
        case .reconnect:
            if stopping {
                clients[index].machine.abandon()
                finish(client: index)
            } else {
                scheduleReconnect(client: index, now: now)
            }
        case .stop:
            finish(client: index)
        }
    }

    private func finish(client index: Int) {
        if case .done = clients[index].io { return }
        if case .connecting = clients[index].io { connectingClients -= 1 }
        active -= 1
        clients[index].io = .done
        clients[index].cancel = nil
        clients[index].pending = nil
        unregister(client: index)
        clients[index].connection = nil
    }
}

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

/// The event loop: warmup, time-series intervals, timers, waiting on the
/// sockets, and how a run ends (stop, grace period, cancel, last resort).
extension Worker {
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
        var stopTime: UInt64 = 0
        var cancelled = false
        // How often to look for a broken workload (see `RunStats.brokenWorkloadReason`).
        let brokenCheckEvery: UInt64 = 100_000_000
        var nextBrokenCheck = now &+ brokenCheckEvery
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
                stopStartingTransactions(now: now)
            }
            // An urgent stop (a second Ctrl-C) has no grace period.
            if stopping && !cancelled && (now >= stopTime &+ timing.graceNanoseconds || stop.isUrgent) {
                cancelled = true
                cancelInFlight(now: now)
            }
            if stopping && now >= stopTime &+ 2 &* timing.graceNanoseconds &+ 5_000_000_000 {
                // Last resort: close what is left; the server rolls those transactions back.
                for index in clients.indices { finish(client: index) }
                break
            }

            // Timers: sleeps and reconnects (scanned only when one is due).
            var nextWake = nextTimer
            if now >= nextTimer {
                nextWake = fireTimers(now: now, stop: stop)
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
            stoppedAt: stopping ? stopTime : nil, deadlockEvents: deadlockEvents, unprepared: unprepared
        )
    }

    // MARK: Ending a run

    /// The deadline passed or a stop was asked for: no client starts another
    /// transaction; those between transactions (backoff, schedule,
    /// reconnect) stop now, those in one get the grace period.
    private func stopStartingTransactions(now: UInt64) {
        for index in clients.indices {
            clients[index].machine.requestStop()
            switch clients[index].io {
            case .sleeping where !clients[index].machine.isInTransaction:
                setIO(.sleeping(until: now), client: index)
                noteTimer(now)
            case .reconnectAt, .connecting:
                finish(client: index)
            default:
                break
            }
        }
    }

    /// The grace period is over: statements still waiting for their results
    /// are canceled, and every attempt still open is rolled back at its next
    /// step, never carried on to COMMIT; a COMMIT already sent counts if it
    /// succeeds, and the cancel's own 57014 does not (`ClientMachine.cancelInFlight`).
    private func cancelInFlight(now: UInt64) {
        for index in clients.indices where clients[index].machine.isInTransaction {
            clients[index].machine.cancelInFlight()
            switch clients[index].io {
            case .reading: clients[index].cancel?.cancel()
            case .sleeping:
                // A pause inside the transaction: roll back now.
                setIO(.sleeping(until: now), client: index)
                noteTimer(now)
            default: break
            }
        }
    }

    // MARK: Timers

    /// Fires every client timer that is due (sleeps, reconnects, connect
    /// deadlines). Returns when the next one is due.
    private func fireTimers(now: UInt64, stop: StopSignal) -> UInt64 {
        var nextWake = UInt64.max
        // Timers set while scanning land in nextWake through the second switch below.
        nextTimer = UInt64.max
        for index in clients.indices {
            switch clients[index].io {
            case .sleeping(let until):
                if until <= now {
                    setIO(.idle, client: index)
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
        return nextTimer
    }

    // MARK: Cache

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
                assignment.board.prefetch(client: buffer[event.owner].machine.clientIndex, sequence: buffer[event.owner].exchange.boardSequence)
            }
        }
        #endif
    }
}

import Dispatch
import Foundation
import LockstormCore
import PostgresClient
import Synchronization

/// How much load to generate and for how long.
public struct LoadOptions: Sendable {
    public var clients: Int
    /// Event-loop threads (`-j`).
    public var threads: Int
    /// Stop starting transactions after this many seconds (`-T`).
    public var durationSeconds: Double?
    /// Transactions per client (`-t`), as in pgbench.
    public var transactionsPerClient: Int?
    public var seed: UInt64
    /// Time in-flight transactions get to finish after the stop, before they are canceled.
    public var graceSeconds: Double
    public var connectTimeoutSeconds: Int
    /// Run the workload's teardown then setup before the load.
    public var runSetup: Bool
    /// Run the workload's teardown after the invariants.
    public var runTeardown: Bool
    /// Length of one time-series interval, in seconds.
    public var intervalSeconds: Double = 1
    /// Open-loop load: scheduled transaction starts per second over all clients (`-R`).
    public var rate: Double?
    /// With `rate`: skip starts already later than this many milliseconds (`-L`).
    public var lateLimitMilliseconds: Double?
    /// Load that runs first and is not counted (`--warmup`).
    public var warmupSeconds: Double = 0
    /// How long clients try to reconnect to a lost server before the run ends.
    public var reconnectTimeoutSeconds: Double = 30
    /// How often the lock-wait sampler looks at the run's sessions; 0 turns it off.
    public var sampleIntervalSeconds: Double = 0.2
    /// Send BEGIN in the same round trip as each attempt's first statement
    /// (libpq pipeline mode), as pgjdbc and Npgsql do; `false` (`--separate-begin`):
    /// BEGIN waits for its own answer, as in psql, psycopg or pgbench. BEGIN
    /// takes no lock and no snapshot, so locking is the same either way.
    public var combineBegin = true
    /// How statements go out (`-M`): `extended` sends the unnamed statement
    /// each time, `prepared` prepares each once per connection, `simple`
    /// sends Query messages (no parameters; BEGIN in a round trip of its own).
    public var protocolMode = ProtocolMode.extended
    /// Errors the workload does not declare are counted without stopping a
    /// run whose first attempts all fail with them (`--allow-unexpected-errors`).
    public var allowUnexpectedErrors = false
    /// The server's log (stderr format), when lockstorm can read it (the
    /// embedded server's): each deadlock's participants are taken from the
    /// server's own report there. nil: from the client side alone.
    public var serverLogPath: String?
    /// Deadlocks kept one by one for `deadlock-events.csv` (the first so many).
    public var deadlockEventLimit = 10_000
    /// Calls `onProgress` every this many seconds (`-P`).
    public var progressSeconds: Double?
    public var onProgress: (@Sendable (ProgressReport) -> Void)?
    /// This process runs one shard of a run split over several (`--shard K/N`).
    public var sharding: ShardOptions?

    public init(
        clients: Int, threads: Int, durationSeconds: Double? = nil, transactionsPerClient: Int? = nil, seed: UInt64,
        graceSeconds: Double = 5, connectTimeoutSeconds: Int = 10, runSetup: Bool = true, runTeardown: Bool = true
    ) {
        self.clients = clients
        self.threads = threads
        self.durationSeconds = durationSeconds
        self.transactionsPerClient = transactionsPerClient
        self.seed = seed
        self.graceSeconds = graceSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.runSetup = runSetup
        self.runTeardown = runTeardown
    }
}

/// What the run did since the previous report, for the progress line.
public struct ProgressReport: Sendable {
    /// Seconds since measurement started (negative during warmup).
    public var elapsedSeconds: Double
    /// The run's planned length in seconds, when it has one.
    public var plannedSeconds: Double?
    /// Completed intervals since the previous report, merged.
    public var window: IntervalStats
    /// The length those intervals cover, in seconds.
    public var windowSeconds: Double
    /// Committed transactions so far.
    public var committedSoFar: Int
    /// The lock-wait sampler's latest look, when it runs.
    public var lockWaits: LockWaitSample?
}

/// Why a run could not be carried out (as opposed to a run that measured failures).
public struct RunError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case connect, setup }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Facts about the server, recorded with the results.
public struct ServerInfo: Sendable {
    public var version: String
    public var settings: [(name: String, value: String)]
}

/// What a finished (or stopped) run produced.
public struct RunOutcome: Sendable {
    public var summary: RunSummary
    public var server: ServerInfo
    /// Client connections that broke during the run.
    public var lostConnections: Int
    /// Connections opened again after one broke.
    public var reconnects: Int
    /// The server went away: connections broke and the admin connection is gone.
    public var serverLost: Bool
    /// One row per interval, in order.
    public var timeseries: [TimeseriesRow]
    public var intervalSeconds: Double
    /// Wall-clock start and end of the load.
    public var startedAt: Date
    public var endedAt: Date
    /// `pg_stat_database.deadlocks` after minus before the run, for this
    /// database; `nil` when it could not be read.
    public var serverDeadlocksDelta: Int?
    /// Why the lock-wait sampler could not run (its columns are then empty).
    public var samplerFailure: String?
    /// Lock-wait samples made against samples due over the measured run,
    /// with the sampler's reconnects; `nil` when it did not run.
    public var lockSampling: Coverage? = nil
    /// Why the run was stopped early as broken: a transaction's first
    /// attempts all failed with an error the workload did not declare.
    public var brokenWorkload: String?
    /// The first `LoadOptions.deadlockEventLimit` deadlocks, one by one, in time order.
    public var deadlockEvents: [DeadlockEventRecord] = []
    /// Why the server's log could not be read for deadlock reports (then
    /// participants were attributed from the client side alone).
    public var serverLogFailure: String? = nil
    /// What the shard coordination found (`--shard`); nil for a whole run.
    public var shard: ShardReport? = nil
    /// Every backend PID this process's clients used, with the client's
    /// global index (`--shard` keeps the whole run's numbering).
    public var sessions: [Int32: Int] = [:]
    /// The server's counters before the load and after it (`pg_stat_database`).
    public var countersStart: ServerCounters? = nil
    public var countersEnd: ServerCounters? = nil
    /// When measurement started, seconds since 1970 (the server's clock when sharded).
    public var measurementStart: Double = 0
    /// Each interval's latency histogram (µs), HdrHistogram's V2 encoding.
    public var intervalLatency: [(interval: Int, start: Double, end: Double, encoded: [UInt8])] = []
    /// Clients of the whole run (a shard's summary counts its own).
    public var loadClients: Int? = nil
    /// `-M prepared`: statements that did not prepare on some connection
    /// (they went out unnamed there), with the server's first reason.
    public var unpreparedStatements: [(sql: String, reason: String)] = []
}

/// Runs a compiled workload against a server: setup, load over event-loop
/// threads, invariants, teardown.
public enum LoadRunner {
    public static func run(plan: RunPlan, dsn: ConnectionString, options: LoadOptions, stop: StopSignal) throws(RunError) -> RunOutcome {
        // The command line refuses this first, with the workload's path; a Query message cannot carry the parameters.
        if options.protocolMode == .simple, let refusal = ProtocolMode.simpleRefusal(plan, file: "workload") { throw RunError(.setup, refusal) }
        let admin: PostgresConnection
        do {
            admin = try PostgresConnection(dsn: dsn, connectTimeout: options.connectTimeoutSeconds, applicationName: "lockstorm-admin")
        } catch {
            throw RunError(.connect, "cannot connect to \(dsn): \(error)")
        }
        let server = serverInfo(admin)
        let shard = options.sharding?.shard ?? .whole
        var shardReport = options.sharding.map { ShardReport(shard: $0.shard, runID: $0.runID) }
        // The common start is on the server's clock, the one every shard reads alike.
        let clockOffset = options.sharding == nil ? 0 : ShardCoordinator.clockOffset(admin)
        var commonStart: Double?
        if let sharding = options.sharding, !shard.isFirst {
            // Setup and teardown are shard 0's: the others wait for its setup.
            commonStart = try ShardCoordinator.awaitSetup(admin, options: sharding, stop: stop)
        } else {
            if let sharding = options.sharding { try ShardCoordinator.begin(admin, options: sharding) }
            if options.runSetup {
                try runScript(plan.teardown, on: admin, what: "teardown")
                try runScript(plan.setup, on: admin, what: "setup")
                shardReport?.ranSetup = true
            }
            if let sharding = options.sharding { commonStart = try ShardCoordinator.ready(admin, options: sharding) }
        }
        shardReport?.startAt = commonStart

        let applicationName = "lockstorm-\(getpid())"
        // A shard runs its clients under their global numbers: the same
        // random streams, dedicated transactions and -R shares as in one process.
        let ownClients = shard.clients(of: options.clients)
        let threadCount = max(1, min(options.threads, ownClients.count))
        let warmup = UInt64(max(options.warmupSeconds, 0) * 1e9)
        var schedules: [Int: ArrivalSchedule] = [:]
        if let rate = options.rate, rate > 0 {
            for client in ownClients {
                let random = ClientMachine.scheduleRandom(seed: options.seed, clientIndex: client)
                if let duration = options.durationSeconds {
                    // Exactly rate × (warmup + duration) starts, shared out among the clients.
                    let total = Int((rate * (duration + options.warmupSeconds)).rounded())
                    let count = total / options.clients + (client < total % options.clients ? 1 : 0)
                    schedules[client] = ArrivalSchedule(count: count, overNanoseconds: warmup &+ UInt64(duration * 1e9), random: random)
                } else {
                    schedules[client] = ArrivalSchedule(perSecond: rate / Double(options.clients), random: random)
                }
            }
        }
        let board = SessionBoard(plan: plan, clients: options.clients)
        let deadlockTimeout = server.settings.first { $0.name == "deadlock_timeout" }.flatMap { Self.nanoseconds(postgresSetting: $0.value) } ?? 1_000_000_000
        let serverLog = options.serverLogPath.map(ServerLogTail.init(path:))
        let eventBudget = DeadlockEventBudget(limit: max(options.deadlockEventLimit, 0))
        let timeseries = TimeseriesCollector(workers: threadCount, intervalNanoseconds: UInt64(max(options.intervalSeconds, 0.01) * 1e9))
        let countersStart = ServerCounters.read(admin)
        let deadlocksBefore = countersStart?.deadlocks ?? serverDeadlocks(admin)
        let startedAt = Date()
        var assignments: [[Int]] = Array(repeating: [], count: threadCount)
        for (position, client) in ownClients.enumerated() { assignments[position % threadCount].append(client) }

        let abort = RunAbort()
        let connectErrors = Mutex<[PostgresError]>([])
        let results = Mutex<[WorkerResult]>([])
        let go = Mutex<RunTiming?>(nil)
        let release = DispatchSemaphore(value: 0)
        let connected = DispatchGroup()
        let finished = DispatchGroup()
        for (workerIndex, clients) in assignments.enumerated() {
            let assignment = WorkerAssignment(
                plan: plan, dsn: dsn, applicationName: applicationName, clientIndices: clients, clientCount: options.clients, seed: options.seed,
                transactionsPerClient: options.transactionsPerClient, connectTimeoutSeconds: options.connectTimeoutSeconds,
                workerIndex: workerIndex, schedules: schedules.filter { clients.contains($0.key) },
                lateLimitNanoseconds: options.lateLimitMilliseconds.map { UInt64($0 * 1e6) },
                reconnectLimitNanoseconds: UInt64(options.reconnectTimeoutSeconds * 1e9), board: board,
                deadlockTimeoutNanoseconds: deadlockTimeout, combineBegin: options.combineBegin && options.protocolMode != .simple,
                protocolMode: options.protocolMode, abort: abort,
                allowUnexpectedErrors: options.allowUnexpectedErrors || plan.allowUnexpectedErrors,
                serverLog: serverLog, deadlockEvents: eventBudget
            )
            connected.enter()
            finished.enter()
            let thread = Thread {
                let worker = Worker(assignment: assignment)
                if let error = worker.connect() { connectErrors.withLock { $0.append(error) } }
                connected.leave()
                release.wait()
                if let timing = go.withLock({ $0 }) {
                    let result = worker.run(timing: timing, stop: stop, timeseries: timeseries)
                    results.withLock { $0.append(result) }
                }
                finished.leave()
            }
            thread.name = "lockstorm-worker"
            thread.stackSize = 1 << 20
            thread.start()
        }
        connected.wait()
        let firstConnectError = connectErrors.withLock { $0.first }
        if firstConnectError == nil, let commonStart {
            shardReport?.lateSeconds = ShardCoordinator.sleep(until: commonStart - clockOffset, stop: stop)
        }
        let measurementStart = Date().timeIntervalSince1970 + clockOffset + max(options.warmupSeconds, 0)
        let loadStart = MonotonicClock.now()
        let start = loadStart &+ warmup
        if firstConnectError == nil {
            let deadline = options.durationSeconds.map { start &+ UInt64($0 * 1e9) } ?? .max
            go.withLock { $0 = RunTiming(loadStart: loadStart, start: start, deadline: deadline, graceNanoseconds: UInt64(options.graceSeconds * 1e9)) }
        }
        var sampler: LockSampler?
        if firstConnectError == nil, options.sampleIntervalSeconds > 0 {
            sampler = LockSampler(
                dsn: dsn, applicationName: applicationName, everyNanoseconds: UInt64(options.sampleIntervalSeconds * 1e9),
                intervalNanoseconds: timeseries.intervalNanoseconds, start: start
            )
        }
        // Invariants are shard 0's, checked once for the whole run.
        let monitor = firstConnectError == nil && shard.isFirst ? InvariantMonitor(plan: plan, dsn: dsn, start: start) : nil
        for _ in 0..<threadCount { release.signal() }
        if firstConnectError == nil, let every = options.progressSeconds, every > 0, let onProgress = options.onProgress {
            var committed = 0
            while finished.wait(timeout: .now() + every) == .timedOut {
                let (window, seconds) = timeseries.takeProgress()
                committed += window.committed
                let elapsed = (Double(MonotonicClock.now()) - Double(start)) / 1e9
                onProgress(ProgressReport(
                    elapsedSeconds: elapsed, plannedSeconds: options.durationSeconds, window: window, windowSeconds: seconds,
                    committedSoFar: committed, lockWaits: sampler?.latest
                ))
            }
        } else {
            finished.wait()
        }
        let end = max(MonotonicClock.now(), start)
        sampler?.stop()
        let duringChecks = monitor?.stop() ?? [:]
        var rows = timeseries.rows
        let samplerFailure = sampler?.failure
        let lockSampling = sampler?.coverage
        if samplerFailure == nil, let sampled = sampler?.intervals {
            for index in rows.indices { rows[index].lockWaits = sampled[rows[index].interval] ?? LockWaitSummary() }
        }
        let endedAt = Date()
        if let firstConnectError {
            throw RunError(.connect, "cannot open \(ownClients.count) connections to \(dsn): \(firstConnectError.message)")
        }

        var stats = RunStats(transactionCount: plan.transactions.count)
        var lostConnections = 0
        var reconnects = 0
        var unreachable = false
        var deadlockEvents: [DeadlockEventRecord] = []
        var unprepared: [Int32: String] = [:]
        // The measurement window ends at the deadline or the stop, whichever
        // came first; work finishing in the grace period after it is counted
        // (`TransactionStats.graceCommitted`) but does not stretch the window.
        var windowEnd = end
        if let deadline = go.withLock({ $0?.deadline }), deadline < windowEnd { windowEnd = max(deadline, start) }
        for result in results.withLock({ $0 }) {
            if let stoppedAt = result.stoppedAt { windowEnd = min(windowEnd, max(stoppedAt, start)) }
            stats.merge(result.stats)
            deadlockEvents += result.deadlockEvents
            unprepared.merge(result.unprepared) { first, _ in first }
            lostConnections += result.lostConnections
            reconnects += result.reconnects
            unreachable = unreachable || result.serverUnreachable
        }

        // A fresh connection for what follows: the one opened before the load
        // may have been cut by a restart or an idle timeout meanwhile. The
        // server is lost only if no new connection can be opened.
        let after = unreachable ? nil : try? PostgresConnection(dsn: dsn, connectTimeout: options.connectTimeoutSeconds, applicationName: "lockstorm-admin")
        var adminHealthy = after != nil
        // Shard 0 goes on once every shard has finished: the invariants and
        // the teardown are the whole run's.
        var othersUnfinished: String?
        if let sharding = options.sharding, let after {
            ShardCoordinator.finish(after, options: sharding)
            if shard.isFirst && !shard.isWhole { othersUnfinished = ShardCoordinator.awaitOthers(after, options: sharding, stop: stop) }
            shardReport?.note = othersUnfinished.map { "invariants not checked and no teardown: \($0)" }
        }
        let clientDeadlocks = stats.count(.deadlock)
        var serverDelta: Int?
        if let after, let before = deadlocksBefore {
            serverDelta = settledDeadlockDelta(after, before: before, expected: clientDeadlocks)
        }
        // Before teardown drops them: the tables the deadlocks name by OID.
        if let after { stats.nameRelations(relationNames(stats.relationOIDs, on: after)) }
        let countersEnd = after.flatMap { ServerCounters.read($0) }
        // Other shards' deadlocks move the same counter: `merge` checks it over the union of the windows.
        if !shard.isWhole { serverDelta = nil }
        var invariants: [InvariantResult] = []
        for (index, invariant) in plan.invariants.enumerated() where shard.isFirst {
            let during = invariant.duringInterval == nil ? nil : duringChecks[index] ?? DuringCheck()
            guard let after else {
                invariants.append(InvariantResult(name: invariant.name, expected: invariant.expected, actual: nil, error: "not checked: the server cannot be reached", during: during))
                continue
            }
            if let othersUnfinished {
                invariants.append(InvariantResult(name: invariant.name, expected: invariant.expected, actual: nil, error: "not checked: \(othersUnfinished)", during: during))
                continue
            }
            do {
                let result = try after.execute(invariant.statement.sql, invariant.statement.parameters)
                invariants.append(InvariantResult(name: invariant.name, expected: invariant.expected, actual: result.scalar, during: during))
            } catch {
                invariants.append(InvariantResult(name: invariant.name, expected: invariant.expected, actual: nil, error: "\(error)", during: during))
                adminHealthy = after.isHealthy
            }
        }
        if shard.isFirst && !plan.invariants.isEmpty && othersUnfinished == nil { shardReport?.checkedInvariants = true }
        if options.runTeardown && adminHealthy && shard.isFirst && othersUnfinished == nil, let after {
            try? runScript(plan.teardown, on: after, what: "teardown")
            shardReport?.ranTeardown = true
        }
        if let sharding = options.sharding, shard.isFirst, othersUnfinished == nil, let after { ShardCoordinator.end(after, options: sharding) }

        var summary = RunSummary(
            workload: plan.workloadName, variant: plan.variantLabel, clients: ownClients.count, threads: threadCount,
            durationSeconds: Double(windowEnd &- start) / 1e9, seed: options.seed, transactionNames: plan.transactions.map(\.name),
            stats: stats, invariants: invariants, partial: stop.isSet || abort.isSet || !adminHealthy, counterNames: plan.counterNames
        )
        summary.separateBegin = !options.combineBegin || options.protocolMode == .simple
        summary.protocolMode = options.protocolMode
        deadlockEvents.sort { $0.seconds < $1.seconds }
        var outcome = RunOutcome(
            summary: summary, server: server, lostConnections: lostConnections, reconnects: reconnects, serverLost: !adminHealthy, timeseries: rows,
            intervalSeconds: Double(timeseries.intervalNanoseconds) / 1e9, startedAt: startedAt, endedAt: endedAt,
            serverDeadlocksDelta: serverDelta, samplerFailure: samplerFailure, lockSampling: lockSampling, brokenWorkload: abort.reason
        )
        outcome.deadlockEvents = deadlockEvents
        outcome.unpreparedStatements = unprepared.sorted { $0.key < $1.key }.compactMap { id, reason in
            Int(id) < plan.statementTexts.count ? (plan.statementTexts[Int(id)], reason) : nil
        }
        outcome.serverLogFailure = serverLog?.failure
        outcome.shard = shardReport
        outcome.sessions = board.clientsByPID
        outcome.countersStart = countersStart
        outcome.countersEnd = countersEnd
        outcome.measurementStart = measurementStart
        outcome.intervalLatency = timeseries.intervalLatency
        outcome.loadClients = options.clients
        return outcome
    }

    private static func runScript(_ statements: [BoundStatement], on connection: PostgresConnection, what: String) throws(RunError) {
        for (index, statement) in statements.enumerated() {
            do {
                try connection.execute(statement.sql, statement.parameters)
            } catch {
                let firstLine = statement.sql.split(separator: "\n").first.map(String.init) ?? statement.sql
                throw RunError(.setup, "\(what) statement \(index + 1) failed: \(error)\n  statement: \(firstLine)")
            }
        }
    }

    /// A time setting as PostgreSQL shows it (`1s`, `50ms`, `1min`; bare numbers are ms).
    static func nanoseconds(postgresSetting text: String) -> UInt64? {
        if let milliseconds = Double(text) { return UInt64(milliseconds * 1e6) }
        guard case .constant(.int(let nanoseconds))? = try? ExpressionParser.parse(text), nanoseconds >= 0 else { return nil }
        return UInt64(nanoseconds)
    }

    /// Names (`oid::regclass`, schema-qualified where the search path needs
    /// it) of the relations in `oids` that belong to this database; an OID
    /// gone by now (a dropped table) is left out and shown as a number.
    static func relationNames(_ oids: [(relation: UInt32, database: UInt32)], on connection: PostgresConnection) -> [UInt32: String] {
        guard !oids.isEmpty else { return [:] }
        let array = "{" + oids.map { String($0.relation) }.joined(separator: ",") + "}"
        let sql = "SELECT c.oid, c.oid::regclass::text, d.oid FROM pg_class c, pg_database d WHERE d.datname = current_database() AND c.oid = ANY($1::oid[])"
        guard let result = try? connection.execute(sql, [array]) else { return [:] }
        var names: [UInt32: String] = [:]
        for row in result.rows where row.count == 3 {
            guard let oid = row[0].flatMap({ UInt32($0) }), let name = row[1], let database = row[2].flatMap({ UInt32($0) }),
                  oids.contains(where: { $0.relation == oid && $0.database == database }) else { continue }
            names[oid] = name
        }
        return names
    }

    /// The server's deadlock counter for this database.
    private static func serverDeadlocks(_ connection: PostgresConnection) -> Int? {
        _ = try? connection.execute("SELECT pg_stat_clear_snapshot()")
        guard let text = try? connection.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").scalar else { return nil }
        return Int(text)
    }

    /// The counter's change over the run. Backends report a deadlock to the
    /// statistics system after their transaction (and at the latest when they
    /// exit), so the count is read until it reaches the client's or stops
    /// moving for a while.
    private static func settledDeadlockDelta(_ connection: PostgresConnection, before: Int, expected: Int) -> Int? {
        var last: Int?
        var stableSince = Date()
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            guard let now = serverDeadlocks(connection) else { return last }
            let delta = now - before
            if delta == expected { return delta }
            if delta != last {
                last = delta
                stableSince = Date()
            } else if Date().timeIntervalSince(stableSince) > 1.2 {
                return delta
            }
            usleep(50_000)
        }
        return last
    }

    private static func serverInfo(_ connection: PostgresConnection) -> ServerInfo {
        let version = (try? connection.execute("SHOW server_version").scalar) ?? "unknown"
        var settings: [(String, String)] = []
        for name in ["deadlock_timeout", "max_connections", "default_transaction_isolation", "lock_timeout", "statement_timeout"] {
            if let value = try? connection.execute("SELECT current_setting($1)", [name]).scalar { settings.append((name, value)) }
        }
        return ServerInfo(version: version, settings: settings)
    }
}

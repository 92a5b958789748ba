import LockstormCore
import PostgresClient

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
    /// How statements go out (`LoadOptions.protocolMode`).
    var protocolMode = ProtocolMode.extended
    /// Set when the workload turns out broken: every worker stops.
    var abort = RunAbort()
    /// Errors the workload does not declare do not stop the run (`LoadOptions.allowUnexpectedErrors`).
    var allowUnexpectedErrors = false
    /// The server's log, for its deadlock reports (`LoadOptions.serverLogPath`).
    var serverLog: ServerLogTail? = nil
    /// How many deadlocks the run's workers may still keep as events.
    var deadlockEvents = DeadlockEventBudget(limit: 0)
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
    /// Deadlocks as attributed (`Worker.deadlockEvents`).
    var deadlockEvents: [DeadlockEventRecord] = []
    /// `-M prepared`: statements a connection could not prepare, by id (`Worker.unprepared`).
    var unprepared: [Int32: String] = [:]
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

import ArgumentParser
import Foundation
import LockstormApp

/// Where the database comes from: `--dsn`, else `DATABASE_URL`, else an embedded server.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("PostgreSQL URL or conninfo string (default: $DATABASE_URL, else an embedded throwaway server).", valueName: "url"))
    var dsn: String?

    @Option(name: .customLong("deadlock-timeout"), help: ArgumentHelp("deadlock_timeout of the embedded server, e.g. 100ms (default: PostgreSQL's 1s).", valueName: "duration"))
    var deadlockTimeout: DeadlockTimeout?

    var target: DatabaseTarget { DatabaseTarget(dsn: dsn, deadlockTimeout: deadlockTimeout) }
}

/// How much load: pgbench's flags where pgbench has one.
struct LoadArguments: ParsableArguments {
    @Option(name: [.customShort("c"), .long], help: "Concurrent clients (connections).")
    var clients: Int?

    @Option(name: [.customShort("j"), .long], help: "Event-loop threads (default: the number of cores).")
    var jobs: Int?

    @Option(name: [.customShort("T"), .long], help: ArgumentHelp("Run for this long: seconds, or a duration such as 30s or 2min.", valueName: "duration"))
    var time: TimeSpan?

    @Option(name: [.customShort("t"), .long], help: "Transactions per client (instead of -T).")
    var transactions: Int?

    @Option(name: .long, help: "Seed for every random draw; the same seed gives every client the same sequence.")
    var seed: UInt64?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a workload parameter (repeatable).", valueName: "name=value"))
    var overrides: [ParameterOverride] = []

    @Option(name: [.customShort("R"), .long], help: ArgumentHelp("Open-loop load: schedule this many transaction starts per second (Poisson arrivals); latency counts from the scheduled start.", valueName: "tps"))
    var rate: Double?

    @Option(name: [.customShort("L"), .customLong("latency-limit")], help: ArgumentHelp("With -R: skip (and count) transactions already later than this many milliseconds when their turn comes.", valueName: "ms"))
    var latencyLimit: Double?

    @Option(name: .long, help: ArgumentHelp("Run this long first without counting (seconds or a duration).", valueName: "duration"))
    var warmup: TimeSpan?

    @Option(name: .customLong("reconnect-timeout"), help: ArgumentHelp("How long clients try to reconnect to a lost server before the run ends with a run error.", valueName: "duration"))
    var reconnectTimeout = TimeSpan(seconds: 30)

    @Flag(name: .customLong("separate-begin"), help: "Send BEGIN in a round trip of its own, as psql, psycopg and pgbench do. By default it goes out together with each transaction's first statement, as pgjdbc and Npgsql send it: one round trip fewer, before any lock is taken.")
    var separateBegin = false

    func validate() throws {
        if let clients, clients < 1 { throw ValidationError("-c/--clients must be at least 1") }
        if let jobs, jobs < 1 { throw ValidationError("-j/--jobs must be at least 1") }
        if let transactions, transactions < 1 { throw ValidationError("-t/--transactions must be at least 1") }
        if time != nil && transactions != nil { throw ValidationError("give either -T (duration) or -t (transactions per client), not both") }
        if let time, time.seconds <= 0 { throw ValidationError("-T '\(time)' is not a duration: give seconds (10) or a duration (30s, 2min)") }
        // Bounds keep every conversion to nanoseconds and counts in range.
        let longest = 10_000_000.0  // seconds, about 115 days
        if let time, time.seconds > longest { throw ValidationError("-T '\(time)' is longer than \(Int(longest)) s") }
        if let warmup, warmup.seconds > longest { throw ValidationError("--warmup '\(warmup)' is longer than \(Int(longest)) s") }
        if reconnectTimeout.seconds > longest { throw ValidationError("--reconnect-timeout is longer than \(Int(longest)) s") }
        if let rate, rate > 10_000_000 { throw ValidationError("-R/--rate above 10,000,000 tx/s is not a rate lockstorm can schedule") }
        if let latencyLimit, latencyLimit > longest * 1_000 { throw ValidationError("-L/--latency-limit is longer than \(Int(longest)) s") }
        if let clients, clients > 100_000 { throw ValidationError("-c/--clients above 100,000 is more connections than one process can hold") }
        if let rate, !(rate > 0) { throw ValidationError("-R/--rate must be above 0 transactions per second") }
        if latencyLimit != nil && rate == nil { throw ValidationError("-L/--latency-limit needs -R: it bounds how late a scheduled start may be") }
        if let latencyLimit, !(latencyLimit > 0) { throw ValidationError("-L/--latency-limit must be above 0 ms") }
    }

    var settings: LoadSettings {
        var settings = LoadSettings()
        settings.clients = clients
        settings.jobs = jobs
        settings.time = time
        settings.transactions = transactions
        settings.seed = seed
        settings.overrides = overrides
        settings.rate = rate
        settings.latencyLimitMilliseconds = latencyLimit
        settings.warmup = warmup
        settings.reconnectTimeout = reconnectTimeout
        settings.separateBegin = separateBegin
        return settings
    }
}

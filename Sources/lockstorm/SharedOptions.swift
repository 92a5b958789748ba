import ArgumentParser
import Foundation
import LockstormApp
import LockstormCore

/// Where the database comes from: `--dsn`, else `DATABASE_URL`, else an embedded server.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("PostgreSQL URL or conninfo string (default: $DATABASE_URL, else an embedded throwaway server).", valueName: "url"))
    var dsn: String?

    @Option(
        name: .customLong("deadlock-timeout"), parsing: .unconditional,
        help: ArgumentHelp("deadlock_timeout of the embedded server, at least 1ms, e.g. 100ms (default: PostgreSQL's 1s).", valueName: "duration"),
        transform: DeadlockTimeout.argument
    )
    var deadlockTimeout: DeadlockTimeout?

    @Option(name: .customLong("pg-bin"), help: ArgumentHelp(
        "Directory of the PostgreSQL server programs (initdb, pg_ctl, postgres) the embedded server runs, to test against the major version you deploy (default: $LOCKSTORM_PG_BINDIR, else pg_config --bindir, else the newest /usr/lib/postgresql/<version>/bin).",
        valueName: "dir"
    ))
    var pgBin: String?

    @Option(name: .customLong("server-log"), help: ArgumentHelp(
        "With --dsn: your server's log file (stderr format, as pg_ctl -l or the logging collector writes it), if lockstorm can read it: each deadlock's participants are then taken from the server's own report, as on the embedded server.",
        valueName: "file"
    ))
    var serverLog: String?

    func validate() throws {
        if let pgBin, let problem = DatabaseTarget.problem(withPgBin: pgBin) { throw ValidationError(problem) }
        if let serverLog, let problem = DatabaseTarget.problem(withServerLog: serverLog) { throw ValidationError(problem) }
    }

    var target: DatabaseTarget { DatabaseTarget(dsn: dsn, deadlockTimeout: deadlockTimeout, pgBin: pgBin, serverLog: serverLog) }
}

/// How much load: pgbench's flags where pgbench has one.
struct LoadArguments: ParsableArguments {
    // Numeric flags parse their value unconditionally: `-c -1` is a value
    // that validate() refuses with what is allowed, not a missing one.
    @Option(name: [.customShort("c"), .long], parsing: .unconditional, help: "Concurrent clients (connections), at least 1.")
    var clients: Int?

    @Option(name: [.customShort("j"), .long], parsing: .unconditional, help: "Event-loop threads, at least 1 (default: the number of cores).")
    var jobs: Int?

    @Option(
        name: [.customShort("T"), .long], parsing: .unconditional,
        help: ArgumentHelp("Run for this long, above 0: seconds, or a duration such as 30s or 2min.", valueName: "duration"), transform: TimeSpan.argument
    )
    var time: TimeSpan?

    @Option(name: [.customShort("t"), .long], parsing: .unconditional, help: "Transactions per client, at least 1 (instead of -T).")
    var transactions: Int?

    @Option(name: .long, help: "Seed for every random draw; the same seed gives every client the same sequence.")
    var seed: UInt64?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a workload parameter (repeatable).", valueName: "name=value"))
    var overrides: [ParameterOverride] = []

    @Option(name: [.customShort("R"), .long], parsing: .unconditional, help: ArgumentHelp("Open-loop load: schedule this many transaction starts per second (Poisson arrivals); latency counts from the scheduled start.", valueName: "tps"))
    var rate: Double?

    @Option(name: [.customShort("L"), .customLong("latency-limit")], parsing: .unconditional, help: ArgumentHelp("With -R: skip (and count) transactions already later than this many milliseconds when their turn comes.", valueName: "ms"))
    var latencyLimit: Double?

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("Run this long first without counting (seconds or a duration; 0: no warmup).", valueName: "duration"), transform: TimeSpan.argument
    )
    var warmup: TimeSpan?

    @Option(
        name: .customLong("reconnect-timeout"), parsing: .unconditional,
        help: ArgumentHelp("How long clients try to reconnect to a lost server before the run ends with a run error (0: end at the first lost connection).", valueName: "duration"),
        transform: TimeSpan.argument
    )
    var reconnectTimeout = TimeSpan(seconds: 30)

    @Flag(name: .customLong("separate-begin"), help: "Send BEGIN in a round trip of its own, as psql, psycopg and pgbench do. By default it goes out together with each transaction's first statement, as pgjdbc and Npgsql send it: one round trip fewer, before any lock is taken.")
    var separateBegin = false

    @Option(name: [.customShort("M"), .customLong("protocol")], help: ArgumentHelp(
        "How statements go out, as pgbench's -M: extended (Parse/Bind/Execute of the unnamed statement each time), prepared (each statement prepared once per connection, then Bind/Execute), or simple (Query messages; only for workloads without bind parameters, BEGIN in a round trip of its own).",
        valueName: "mode"
    ))
    var protocolMode = ProtocolMode.extended

    func validate() throws {
        if let clients, clients < 1 { throw ValidationError("-c/--clients is \(clients): give a number of clients of at least 1") }
        if let jobs, jobs < 1 { throw ValidationError("-j/--jobs is \(jobs): give a number of threads of at least 1") }
        if let transactions, transactions < 1 { throw ValidationError("-t/--transactions is \(transactions): give a number of transactions per client of at least 1") }
        if time != nil && transactions != nil { throw ValidationError("give either -T (duration) or -t (transactions per client), not both") }
        if let time, time.seconds <= 0 {
            throw ValidationError("-T/--time is \(time): a run must last longer than 0; give \(TimeSpan.forms), or -t for a number of transactions per client")
        }
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
        settings.protocolMode = protocolMode
        return settings
    }
}

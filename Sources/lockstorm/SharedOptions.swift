import ArgumentParser
import Engine
import Foundation
import LockstormCore
import PostgresClient

/// Where the database comes from: `--dsn`, else `DATABASE_URL`, else an embedded server.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("PostgreSQL URL or conninfo string (default: $DATABASE_URL, else an embedded throwaway server).", valueName: "url"))
    var dsn: String?

    @Option(name: .customLong("deadlock-timeout"), help: ArgumentHelp("deadlock_timeout of the embedded server, e.g. 100ms (default: PostgreSQL's 1s).", valueName: "duration"))
    var deadlockTimeout: String?

    func validate() throws {
        if let deadlockTimeout, Durations.parseMilliseconds(deadlockTimeout) == nil {
            throw ValidationError("--deadlock-timeout '\(deadlockTimeout)' is not a duration such as 100ms or 1s")
        }
    }

    /// The DSN the user gave, if any.
    var external: ConnectionString? {
        if let dsn, !dsn.isEmpty { return ConnectionString(dsn) }
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty { return ConnectionString(url) }
        return nil
    }

    var deadlockTimeoutMilliseconds: Int? { deadlockTimeout.flatMap(Durations.parseMilliseconds) }

    /// The server to run against: `--dsn` or `DATABASE_URL`, else a new
    /// embedded server sized for `clients`. The caller stops the embedded one.
    func server(clients: Int) throws -> (dsn: ConnectionString, embedded: EmbeddedServer?) {
        if let external {
            if deadlockTimeout != nil {
                Console.note("--deadlock-timeout applies only to the embedded server; set deadlock_timeout on \(external) yourself")
            }
            return (external, nil)
        }
        Console.note("starting an embedded PostgreSQL (max_connections \(clients + 10))…")
        do {
            let started = try EmbeddedServer.start(EmbeddedServerOptions(maxConnections: clients + 10, deadlockTimeoutMilliseconds: deadlockTimeoutMilliseconds))
            return (started.dsn, started)
        } catch {
            throw Failure(.runError, "lockstorm: cannot start the embedded server: \(error)")
        }
    }
}

/// How much load: pgbench's flags where pgbench has one.
struct LoadArguments: ParsableArguments {
    @Option(name: [.customShort("c"), .long], help: "Concurrent clients (connections).")
    var clients: Int?

    @Option(name: [.customShort("j"), .long], help: "Event-loop threads (default: the number of cores).")
    var jobs: Int?

    @Option(name: [.customShort("T"), .long], help: ArgumentHelp("Run for this long: seconds, or a duration such as 30s or 2min.", valueName: "duration"))
    var time: String?

    @Option(name: [.customShort("t"), .long], help: "Transactions per client (instead of -T).")
    var transactions: Int?

    @Option(name: .long, help: "Seed for every random draw; the same seed gives every client the same sequence.")
    var seed: UInt64?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a workload parameter (repeatable).", valueName: "name=value"))
    var overrides: [String] = []

    @Option(name: [.customShort("R"), .long], help: ArgumentHelp("Open-loop load: schedule this many transaction starts per second (Poisson arrivals); latency counts from the scheduled start.", valueName: "tps"))
    var rate: Double?

    @Option(name: [.customShort("L"), .customLong("latency-limit")], help: ArgumentHelp("With -R: skip (and count) transactions already later than this many milliseconds when their turn comes.", valueName: "ms"))
    var latencyLimit: Double?

    @Option(name: .long, help: ArgumentHelp("Run this long first without counting (seconds or a duration).", valueName: "duration"))
    var warmup: String?

    @Option(name: .customLong("reconnect-timeout"), help: ArgumentHelp("How long clients try to reconnect to a lost server before the run ends with a run error.", valueName: "duration"))
    var reconnectTimeout: String = "30s"

    @Flag(name: .customLong("separate-begin"), help: "Send BEGIN in a round trip of its own, as psql, psycopg and pgbench do. By default it goes out together with each transaction's first statement, as pgjdbc and Npgsql send it: one round trip fewer, before any lock is taken.")
    var separateBegin = false

    func validate() throws {
        if let clients, clients < 1 { throw ValidationError("-c/--clients must be at least 1") }
        if let jobs, jobs < 1 { throw ValidationError("-j/--jobs must be at least 1") }
        if let transactions, transactions < 1 { throw ValidationError("-t/--transactions must be at least 1") }
        if time != nil && transactions != nil { throw ValidationError("give either -T (duration) or -t (transactions per client), not both") }
        if let time, (Durations.parseSeconds(time) ?? 0) <= 0 { throw ValidationError("-T '\(time)' is not a duration: give seconds (10) or a duration (30s, 2min)") }
        // Bounds keep every conversion to nanoseconds and counts in range.
        let longest = 10_000_000.0  // seconds, about 115 days
        if let time, (Durations.parseSeconds(time) ?? 0) > longest { throw ValidationError("-T '\(time)' is longer than \(Int(longest)) s") }
        if let warmup, (Durations.parseSeconds(warmup) ?? 0) > longest { throw ValidationError("--warmup '\(warmup)' is longer than \(Int(longest)) s") }
        if (Durations.parseSeconds(reconnectTimeout) ?? 0) > longest { throw ValidationError("--reconnect-timeout is longer than \(Int(longest)) s") }
        if let rate, rate > 10_000_000 { throw ValidationError("-R/--rate above 10,000,000 tx/s is not a rate lockstorm can schedule") }
        if let latencyLimit, latencyLimit > longest * 1_000 { throw ValidationError("-L/--latency-limit is longer than \(Int(longest)) s") }
        if let clients, clients > 100_000 { throw ValidationError("-c/--clients above 100,000 is more connections than one process can hold") }
        if let rate, !(rate > 0) { throw ValidationError("-R/--rate must be above 0 transactions per second") }
        if latencyLimit != nil && rate == nil { throw ValidationError("-L/--latency-limit needs -R: it bounds how late a scheduled start may be") }
        if let latencyLimit, !(latencyLimit > 0) { throw ValidationError("-L/--latency-limit must be above 0 ms") }
        if let warmup, Durations.parseSeconds(warmup) == nil { throw ValidationError("--warmup '\(warmup)' is not a duration: give seconds (5) or a duration (5s)") }
        if Durations.parseSeconds(reconnectTimeout) == nil { throw ValidationError("--reconnect-timeout '\(reconnectTimeout)' is not a duration") }
        for override in overrides where !override.contains("=") || override.hasPrefix("=") {
            throw ValidationError("--set '\(override)' must look like name=value")
        }
    }

    /// `--set` pairs, values parsed as numbers or booleans where they look like one.
    var parameterOverrides: [(name: String, value: Value)] {
        overrides.compactMap { pair in
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let name = String(pair[..<equals]).trimmingCharacters(in: .whitespaces)
            return (name, Value.parse(text: String(pair[pair.index(after: equals)...])))
        }
    }

    /// The load options for `plan`, with the workload's defaults under the flags.
    func options(for plan: RunPlan) -> LoadOptions {
        let clients = self.clients ?? plan.defaults.clients ?? 8
        var duration = time.flatMap(Durations.parseSeconds)
        var perClient = transactions
        if duration == nil && perClient == nil {
            if let seconds = plan.defaults.durationSeconds { duration = seconds } else if let count = plan.defaults.transactionsPerClient { perClient = count } else { duration = 10 }
        }
        var options = LoadOptions(
            clients: clients, threads: jobs ?? ProcessInfo.processInfo.activeProcessorCount, durationSeconds: duration,
            transactionsPerClient: perClient, seed: seed ?? UInt64.random(in: 1...UInt64(Int64.max))
        )
        options.rate = rate
        options.lateLimitMilliseconds = latencyLimit
        options.warmupSeconds = warmup.flatMap(Durations.parseSeconds) ?? 0
        options.reconnectTimeoutSeconds = Durations.parseSeconds(reconnectTimeout) ?? 30
        options.combineBegin = !separateBegin
        return options
    }
}

/// Duration arguments: a bare number means seconds (as in pgbench).
enum Durations {
    static func parseSeconds(_ text: String) -> Double? {
        if let seconds = Double(text) { return seconds >= 0 && seconds.isFinite ? seconds : nil }
        guard case .constant(.int(let nanoseconds))? = try? ExpressionParser.parse(text), nanoseconds > 0 else { return nil }
        return Double(nanoseconds) / 1e9
    }

    static func parseMilliseconds(_ text: String) -> Int? {
        if let milliseconds = Int(text) { return milliseconds > 0 ? milliseconds : nil }
        guard case .constant(.int(let nanoseconds))? = try? ExpressionParser.parse(text), nanoseconds >= 1_000_000 else { return nil }
        return Int(nanoseconds / 1_000_000)
    }
}

/// Messages for a person, on stderr, so stdout stays for results.
enum Console {
    static func note(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(("lockstorm: " + text + "\n").utf8))
    }
}

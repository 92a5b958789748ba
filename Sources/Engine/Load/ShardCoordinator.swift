#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LockstormCore
import PostgresClient

/// How the shards of one run find each other: through a small table in the
/// database under test, `lockstorm_shard_run`, one row per shard.
///
/// Shard 0 creates it, clears the run's rows, runs teardown and setup, then
/// marks its row `ready` with the common start (server clock, seconds since
/// 1970). The others wait for that row (bounded by `waitSeconds`), add their
/// own as `running`, and mark it `finished` when their load ends. Shard 0
/// waits for every row to be `finished` before it checks the invariants and
/// tears down, and removes the run's rows last; when they do not all finish
/// in time it leaves the data and says so. A row left by a crashed run of the
/// same id is replaced when shard 0 starts again.
public struct ShardOptions: Sendable {
    public var shard: Shard
    /// Names the run in the table: the same for every shard of one run.
    public var runID: String
    public var startAt: StartAt?
    /// How long a shard waits for shard 0's setup, and shard 0 for the others to finish.
    public var waitSeconds: Double

    public init(shard: Shard, runID: String, startAt: StartAt? = nil, waitSeconds: Double = 300) {
        self.shard = shard
        self.runID = runID
        self.startAt = startAt
        self.waitSeconds = waitSeconds
    }
}

/// The server's database-wide counters at one moment (`pg_stat_database`),
/// with the server's clock: `merge` takes the deadlock count's change from
/// the earliest shard's start to the latest shard's end.
public struct ServerCounters: Sendable, Hashable, Codable {
    /// `clock_timestamp()` on the server, seconds since 1970.
    public var at: Double
    public var xactCommit: Int
    public var xactRollback: Int
    public var deadlocks: Int

    public init(at: Double, xactCommit: Int, xactRollback: Int, deadlocks: Int) {
        self.at = at
        self.xactCommit = xactCommit
        self.xactRollback = xactRollback
        self.deadlocks = deadlocks
    }

    enum CodingKeys: String, CodingKey {
        case at, deadlocks
        case xactCommit = "xact_commit"
        case xactRollback = "xact_rollback"
    }

    static func read(_ connection: PostgresConnection) -> ServerCounters? {
        _ = try? connection.execute("SELECT pg_stat_clear_snapshot()")
        guard let result = try? connection.execute(
            "SELECT extract(epoch FROM clock_timestamp())::float8, xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ), let row = result.rows.first, row.count == 4,
            let at = row[0].flatMap(Double.init), let commit = row[1].flatMap(Int.init), let rollback = row[2].flatMap(Int.init), let deadlocks = row[3].flatMap(Int.init)
        else { return nil }
        return ServerCounters(at: at, xactCommit: commit, xactRollback: rollback, deadlocks: deadlocks)
    }
}

/// What the coordination found out, for the shard's result.
public struct ShardReport: Sendable {
    public var shard: Shard
    public var runID: String
    /// The common start (seconds since 1970, server clock), when there is one.
    public var startAt: Double?
    /// How late this shard began its load after the common start (0 when on time).
    public var lateSeconds: Double = 0
    /// This shard ran the setup / the teardown / checked the invariants.
    public var ranSetup = false
    public var ranTeardown = false
    public var checkedInvariants = false
    /// Why shard 0 did not check the invariants or tear down.
    public var note: String?
}

enum ShardCoordinator {
    static let createTable = """
        CREATE TABLE IF NOT EXISTS lockstorm_shard_run (
            run_id text NOT NULL, shard integer NOT NULL, state text NOT NULL, start_at double precision,
            updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run_id, shard))
        """

    /// The server's clock minus this machine's, in seconds (half a round trip of error).
    static func clockOffset(_ connection: PostgresConnection) -> Double {
        let before = Date().timeIntervalSince1970
        guard let text = try? connection.execute("SELECT extract(epoch FROM clock_timestamp())::float8").scalar, let server = Double(text) else { return 0 }
        let after = Date().timeIntervalSince1970
        return server - (before + after) / 2
    }

    /// Shard 0, before its setup: a fresh set of rows for the run.
    static func begin(_ connection: PostgresConnection, options: ShardOptions) throws(RunError) {
        do {
            _ = try connection.execute(createTable)
            _ = try connection.execute("DELETE FROM lockstorm_shard_run WHERE run_id = $1", [options.runID])
            _ = try connection.execute("INSERT INTO lockstorm_shard_run (run_id, shard, state) VALUES ($1, 0, 'setup')", [options.runID])
        } catch {
            throw RunError(.setup, "shard 0/\(options.shard.count): cannot write the shard table lockstorm_shard_run: \(error)")
        }
    }

    /// Shard 0, after its setup: the setup is visible, and the common start is set.
    static func ready(_ connection: PostgresConnection, options: ShardOptions) throws(RunError) -> Double? {
        let sql: String
        var parameters: [String?] = [options.runID]
        switch options.startAt {
        case .absolute(let seconds)?:
            sql = "UPDATE lockstorm_shard_run SET state = 'ready', start_at = $2::float8, updated_at = clock_timestamp() WHERE run_id = $1 AND shard = 0 RETURNING start_at"
            parameters.append(String(seconds))
        case .afterSetup(let seconds)?:
            sql = "UPDATE lockstorm_shard_run SET state = 'ready', start_at = extract(epoch FROM clock_timestamp())::float8 + $2::float8, updated_at = clock_timestamp() WHERE run_id = $1 AND shard = 0 RETURNING start_at"
            parameters.append(String(seconds))
        case nil:
            sql = "UPDATE lockstorm_shard_run SET state = 'ready', updated_at = clock_timestamp() WHERE run_id = $1 AND shard = 0 RETURNING start_at"
        }
        do {
            return try connection.execute(sql, parameters).scalar.flatMap(Double.init)
        } catch {
            throw RunError(.setup, "shard 0/\(options.shard.count): cannot mark the setup done in lockstorm_shard_run: \(error)")
        }
    }

    /// Shards 1…N−1: waits until shard 0's setup is visible, then registers.
    /// Returns the common start.
    static func awaitSetup(_ connection: PostgresConnection, options: ShardOptions, stop: StopSignal) throws(RunError) -> Double? {
        let deadline = Date().addingTimeInterval(options.waitSeconds)
        while true {
            // Before shard 0 has made the table, the query fails: not ready yet.
            if let result = try? connection.execute("SELECT state, start_at FROM lockstorm_shard_run WHERE run_id = $1 AND shard = 0", [options.runID]),
               let row = result.rows.first, let state = row.first ?? nil, state != "setup" {
                let startAt = row.count > 1 ? row[1].flatMap(Double.init) : nil
                do {
                    _ = try connection.execute(
                        "INSERT INTO lockstorm_shard_run (run_id, shard, state) VALUES ($1, $2::int, 'running') ON CONFLICT (run_id, shard) DO UPDATE SET state = 'running', updated_at = clock_timestamp()",
                        [options.runID, String(options.shard.index)]
                    )
                } catch {
                    throw RunError(.setup, "\(options.shard): cannot register in lockstorm_shard_run: \(error)")
                }
                return startAt
            }
            if stop.isSet { throw RunError(.setup, "\(options.shard): stopped while waiting for shard 0's setup") }
            if Date() >= deadline {
                throw RunError(.setup, "\(options.shard): shard 0 of run '\(options.runID)' did not make its setup visible within \(Format.number(options.waitSeconds)) s (no 'ready' row in lockstorm_shard_run); is shard 0 running against the same database with the same workload, seed and --shard count? (--shard-wait sets the limit)")
            }
            usleep(100_000)
        }
    }

    /// Marks this shard's load finished.
    static func finish(_ connection: PostgresConnection, options: ShardOptions) {
        _ = try? connection.execute(
            "INSERT INTO lockstorm_shard_run (run_id, shard, state) VALUES ($1, $2::int, 'finished') ON CONFLICT (run_id, shard) DO UPDATE SET state = 'finished', updated_at = clock_timestamp()",
            [options.runID, String(options.shard.index)]
        )
    }

    /// Shard 0: waits for every shard to finish; nil when all did, else which did not.
    static func awaitOthers(_ connection: PostgresConnection, options: ShardOptions, stop: StopSignal) -> String? {
        let deadline = Date().addingTimeInterval(options.waitSeconds)
        var missing: [Int] = Array(1..<options.shard.count)
        while true {
            if let result = try? connection.execute("SELECT shard FROM lockstorm_shard_run WHERE run_id = $1 AND state = 'finished'", [options.runID]) {
                let done = Set(result.rows.compactMap { $0.first.flatMap { $0 }.flatMap(Int.init) })
                missing = (0..<options.shard.count).filter { !done.contains($0) }
                if missing.isEmpty { return nil }
            }
            if stop.isSet || Date() >= deadline {
                let names = missing.map(String.init).joined(separator: ", ")
                return "shard\(missing.count == 1 ? "" : "s") \(names) of \(options.shard.count) had not finished \(stop.isSet ? "when the run was stopped" : "within \(Format.number(options.waitSeconds)) s")"
            }
            usleep(100_000)
        }
    }

    /// Shard 0, last: the run's rows go.
    static func end(_ connection: PostgresConnection, options: ShardOptions) {
        _ = try? connection.execute("DELETE FROM lockstorm_shard_run WHERE run_id = $1", [options.runID])
    }

    /// Sleeps until `localTarget` (seconds since 1970 on this machine), waking
    /// for `stop`. Returns how late it is when the target had already passed.
    static func sleep(until localTarget: Double, stop: StopSignal) -> Double {
        let late = Date().timeIntervalSince1970 - localTarget
        if late >= 0 { return late }
        while !stop.isSet {
            let left = localTarget - Date().timeIntervalSince1970
            if left <= 0 { break }
            usleep(UInt32(min(left, 0.05) * 1e6))
        }
        return 0
    }
}

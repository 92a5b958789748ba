#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LockstormCore
import PostgresClient

/// How `ScenarioRunner` drives a scenario.
public struct ScenarioRunOptions: Sendable {
    public var connectTimeoutSeconds: Int = 10
    /// `SET deadlock_timeout` on every session (needs a superuser; used when
    /// the server is not lockstorm's own, whose setting is lowered at start).
    public var sessionDeadlockTimeoutMilliseconds: Int?
    /// How long every session may sit blocked with nothing left to issue
    /// before the interleaving is given up as stuck (a lock held outside the
    /// scenario, or a deadlock_timeout longer than this). A guard, not a detector.
    public var stuckSeconds: Double = 30

    public init() {}
}

/// What happened to one step, for `replay`'s account of a run.
public struct StepEvent: Sendable {
    public enum Kind: Sendable {
        case issued
        /// The server shows the session waiting on a lock (`pg_blocking_pids`).
        case blocked(by: [Int32])
        case completed
        case failed(sqlState: SQLState?, message: String)
    }

    public var session: Int
    public var step: Int
    public var kind: Kind
    /// Nanoseconds since the interleaving started.
    public var at: UInt64
}

/// A deadlock seen while running an interleaving, mapped onto the scenario.
public struct DeadlockFinding: Sendable {
    /// The session that received 40P01.
    public var victim: Int
    public var report: DeadlockReport
    /// For each edge of the report: the session (nil: not the scenario's) and its step in flight.
    public var participants: [(session: Int?, step: Int?)]
    /// The signature with each session's `template` and template step when it
    /// has them (reproductions from fuzz), else its own name and step.
    public var signature: DeadlockSignature
    /// The signature by session names and steps, for display.
    public var sessionSignature: DeadlockSignature
    public var detail: String
}

/// The result of running one interleaving.
public struct InterleavingResult: Sendable {
    public var interleaving: Interleaving
    public var outcome: InterleavingOutcome
    public var sessions: [SessionResult]
    public var deadlock: DeadlockFinding?
    public var events: [StepEvent]
    /// Wall time of the interleaving, setup excluded, in nanoseconds.
    public var nanoseconds: UInt64
}

/// Runs a scenario's interleavings one at a time against a server: fresh
/// setup for each, one connection per session, each step sent without
/// blocking and followed until it either completes or is blocked on a lock.
///
/// Blocked is what the server says: the session's backend appears in
/// `pg_blocking_pids`, asked on an admin connection about the scenario's own
/// sessions only. No sleep stands in for that. A session whose step failed
/// is rolled back and its remaining steps are dropped; a deadlock shows up as
/// 40P01 on the victim, whose DETAIL names the cycle.
///
/// Blocking libpq calls are fine here: this runs on the caller's thread, one
/// scenario at a time, and only admin statements (which take no contended
/// locks), a transaction's BEGIN and SET LOCAL, and ROLLBACK ever block.
public final class ScenarioRunner {
    private let scenario: Scenario
    private let dsn: ConnectionString
    private let options: ScenarioRunOptions
    private let admin: PostgresConnection
    private let applicationName: String
    /// Set once a session could not lower deadlock_timeout (not a superuser).
    public private(set) var deadlockTimeoutRefused: String?

    private struct Session {
        var connection: PostgresConnection
        var next = 0
        var inFlight: Int?
        var lastIssued: Int?
        /// The last step the server showed waiting on a lock.
        var lastBlocked: Int?
        var result = SessionResult()
        var done = false
        var pendingError: PostgresError?
        /// The rows of the step in flight, kept when it has a `rows:` check.
        var rows: [[String?]]?
    }

    private var sessions: [Session] = []
    private var events: [StepEvent] = []
    private var started: UInt64 = 0
    private var deadlock: DeadlockFinding?

    public init(scenario: Scenario, dsn: ConnectionString, options: ScenarioRunOptions = ScenarioRunOptions()) throws(RunError) {
        self.scenario = scenario
        self.dsn = dsn
        self.options = options
        self.applicationName = "lockstorm-explore-\(getpid())"
        do {
            admin = try PostgresConnection(dsn: dsn, connectTimeout: options.connectTimeoutSeconds, applicationName: "lockstorm-admin")
        } catch {
            throw RunError(.connect, "cannot connect to \(dsn): \(error)")
        }
    }

    /// Runs the teardown once more at the end (errors ignored: nothing depends on it).
    public func finish() {
        for statement in scenario.teardown { _ = try? admin.execute(statement.sql, statement.parameters) }
    }

    /// Runs one interleaving from a fresh setup (teardown, then setup).
    public func run(_ interleaving: Interleaving) throws(RunError) -> InterleavingResult {
        try script(scenario.teardown, what: "teardown")
        try script(scenario.setup, what: "setup")
        sessions = []
        events = []
        deadlock = nil
        defer { sessions = [] }
        for session in scenario.sessions {
            let connection: PostgresConnection
            do {
                connection = try PostgresConnection(dsn: dsn, connectTimeout: options.connectTimeoutSeconds, applicationName: applicationName)
            } catch {
                throw RunError(.connect, "cannot open a connection for session '\(session.name)': \(error)")
            }
            do {
                if let milliseconds = options.sessionDeadlockTimeoutMilliseconds, deadlockTimeoutRefused == nil {
                    do {
                        try connection.execute("SELECT set_config('deadlock_timeout', $1, false)", ["\(milliseconds)ms"])
                    } catch {
                        deadlockTimeoutRefused = (error as? PostgresError)?.message ?? "\(error)"
                    }
                }
                // Settings of a session with autocommit steps hold for the
                // whole session; a transaction's BEGIN goes with its first step.
                for setting in session.sessionSettings { try connection.execute(setting.sql, setting.parameters) }
                try connection.setNonBlocking(true)
            } catch {
                throw RunError(.setup, "session '\(session.name)' could not apply its settings: \(error)")
            }
            sessions.append(Session(connection: connection))
        }
        started = MonotonicClock.now()
        var pending = interleaving.sessions
        while true {
            // The first step in the order whose session is free to run one.
            if let position = pending.firstIndex(where: { sessions[$0].inFlight == nil }) {
                let session = pending.remove(at: position)
                if sessions[session].done { continue }
                try issue(session: session)
                try follow(session: session)
                continue
            }
            if sessions.allSatisfy({ $0.inFlight == nil }) { break }
            // Every session with steps left is blocked: wait for one to move.
            try waitForProgress()
        }
        let results = sessions.map(\.result)
        return InterleavingResult(
            interleaving: interleaving, outcome: InterleavingOutcome.classify(results), sessions: results, deadlock: deadlock,
            events: events, nanoseconds: MonotonicClock.now() &- started
        )
    }

    // MARK: Steps

    private func issue(session index: Int) throws(RunError) {
        let step = sessions[index].next
        let definition = scenario.sessions[index]
        let statement = definition.steps[step].statement
        sessions[index].inFlight = step
        sessions[index].lastIssued = step
        sessions[index].rows = nil
        events.append(StepEvent(session: index, step: step, kind: .issued, at: elapsed))
        let connection = sessions[index].connection
        do {
            // BEGIN and SET LOCAL take no locks: sent (and awaited) just
            // before the step that opens the transaction, not interleaved.
            // (PQexec blocks whatever the nonblocking mode.)
            if let begin = definition.steps[step].begin {
                try connection.execute(begin)
                for setting in definition.settings { try connection.execute(setting.sql, setting.parameters) }
            }
            try connection.send(statement.sql, statement.parameters)
            while try !connection.flush() { _ = waitForSockets([connection.socket], events: Int16(POLLOUT), milliseconds: 10) }
        } catch {
            complete(session: index, error: error)
        }
    }

    /// Follows the step just sent on `index` until it completes or the server shows it blocked.
    private func follow(session index: Int) throws(RunError) {
        while sessions[index].inFlight != nil {
            pump(milliseconds: 1)
            guard sessions[index].inFlight != nil else { return }
            let blocked = try blockedSessions()
            if let blockers = blocked[sessions[index].connection.backendPID] {
                // A last look: the step may have completed while the server was asked.
                pump(milliseconds: 0)
                guard sessions[index].inFlight != nil else { return }
                sessions[index].result.wasBlocked = true
                sessions[index].lastBlocked = sessions[index].inFlight
                events.append(StepEvent(session: index, step: sessions[index].inFlight ?? 0, kind: .blocked(by: blockers), at: elapsed))
                return
            }
        }
    }

    private func waitForProgress() throws(RunError) {
        let deadline = MonotonicClock.now() &+ UInt64(options.stuckSeconds * 1e9)
        let before = sessions.filter { $0.inFlight != nil }.count
        while MonotonicClock.now() < deadline {
            pump(milliseconds: 20)
            if sessions.filter({ $0.inFlight != nil }).count < before { return }
        }
        // Stuck: cancel what is in flight; each step then fails with 57014.
        for session in sessions where session.inFlight != nil { session.connection.makeCancelHandle()?.cancel() }
        let cancelDeadline = MonotonicClock.now() &+ 5_000_000_000
        while sessions.contains(where: { $0.inFlight != nil }), MonotonicClock.now() < cancelDeadline { pump(milliseconds: 20) }
        if sessions.contains(where: { $0.inFlight != nil }) {
            throw RunError(.setup, "the scenario's sessions made no progress for \(Int(options.stuckSeconds)) s and could not be canceled")
        }
    }

    /// Reads whatever arrived on the sessions with a step in flight, waiting
    /// up to `milliseconds` for something to arrive, and completes the steps
    /// whose results are in.
    private func pump(milliseconds: Int32) {
        let busy = sessions.indices.filter { sessions[$0].inFlight != nil }
        guard !busy.isEmpty else { return }
        _ = waitForSockets(busy.map { sessions[$0].connection.socket }, events: Int16(POLLIN), milliseconds: milliseconds)
        for index in busy {
            let connection = sessions[index].connection
            do {
                try connection.consumeInput()
            } catch {
                complete(session: index, error: error)
                continue
            }
            while let step = sessions[index].inFlight, !connection.isBusy {
                let checksRows = scenario.sessions[index].steps[step].expectedRows != nil
                guard let result = connection.nextResult(copyRows: checksRows) else {
                    complete(session: index, error: sessions[index].pendingError)
                    break
                }
                switch result {
                case .failure(let error): if sessions[index].pendingError == nil { sessions[index].pendingError = error }
                case .success(let rows): if checksRows, sessions[index].rows == nil { sessions[index].rows = rows.rows }
                }
            }
        }
    }

    private func complete(session index: Int, error: Error?) {
        guard let step = sessions[index].inFlight else { return }
        sessions[index].inFlight = nil
        sessions[index].pendingError = nil
        guard let error else {
            events.append(StepEvent(session: index, step: step, kind: .completed, at: elapsed))
            if let expected = scenario.sessions[index].steps[step].expectedRows, sessions[index].result.wrongRows == nil {
                let rows = sessions[index].rows ?? []
                if !ScenarioStep.rowsMatch(rows, expected: expected) { sessions[index].result.wrongRows = (step, rows) }
            }
            sessions[index].next = step + 1
            if sessions[index].next >= scenario.sessions[index].steps.count { sessions[index].done = true }
            return
        }
        let postgres = error as? PostgresError
        let state = postgres?.sqlState.map(SQLState.init)
        let message = postgres?.message ?? "\(error)"
        events.append(StepEvent(session: index, step: step, kind: .failed(sqlState: state, message: message), at: elapsed))
        sessions[index].result.failure = (step, state, message)
        sessions[index].done = true
        if state == .deadlockDetected, let detail = postgres?.detail, deadlock == nil {
            recordDeadlock(victim: index, step: step, detail: detail, context: postgres?.context)
        }
        // Roll back (blocking is fine: ROLLBACK waits for no lock); the
        // session's remaining steps are dropped.
        let connection = sessions[index].connection
        _ = try? connection.setNonBlocking(false)
        _ = try? connection.execute("ROLLBACK")
    }

    private func recordDeadlock(victim: Int, step victimStep: Int, detail: String, context: String?) {
        guard let report = DeadlockReport.parse(detail: detail, context: context) else { return }
        var bySession: [Int32: Int] = [:]
        for (index, session) in sessions.enumerated() { bySession[session.connection.backendPID] = index }
        // The step each participant waited in. The others in the cycle were
        // all seen blocked before the cycle closed (a step is followed until
        // it completes or blocks before the next is issued), and once the
        // victim's locks are gone they may already have moved on.
        func step(_ session: Int) -> Int? {
            session == victim ? victimStep : sessions[session].lastBlocked ?? sessions[session].lastIssued
        }
        let participants: [(session: Int?, step: Int?)] = report.edges.map { edge in
            guard let session = bySession[edge.waiter] else { return (nil, nil) }
            return (session, step(session))
        }
        // A reproduction's session counts its template's steps (pauses
        // included), as run and fuzz do; a plain scenario's its own.
        let named = DeadlockSignature(report: report) { pid in
            guard let session = bySession[pid] else { return nil }
            let definition = scenario.sessions[session]
            return (definition.name, definition.template == nil ? step(session) : step(session).flatMap { definition.steps[$0].templateStep })
        }
        let templated = DeadlockSignature(report: report) { pid in
            guard let session = bySession[pid] else { return nil }
            let definition = scenario.sessions[session]
            return (definition.template ?? definition.name, definition.template == nil ? step(session) : step(session).flatMap { definition.steps[$0].templateStep })
        }
        deadlock = DeadlockFinding(victim: victim, report: report, participants: participants, signature: templated, sessionSignature: named, detail: detail)
    }

    // MARK: Server

    /// The scenario's sessions that the server shows waiting on a lock, with who blocks them.
    private func blockedSessions() throws(RunError) -> [Int32: [Int32]] {
        let pids = "{" + sessions.map { String($0.connection.backendPID) }.joined(separator: ",") + "}"
        do {
            let result = try admin.execute(
                "SELECT pid, pg_blocking_pids(pid)::text FROM unnest($1::int[]) AS pid WHERE cardinality(pg_blocking_pids(pid)) > 0", [pids]
            )
            var blocked: [Int32: [Int32]] = [:]
            for row in result.rows {
                guard let pid = row.first.flatMap({ $0 }).flatMap({ Int32($0) }) else { continue }
                let list = (row.count > 1 ? row[1] : nil) ?? "{}"
                blocked[pid] = list.trimmingCharacters(in: ["{", "}"]).split(separator: ",").compactMap { Int32($0) }
            }
            return blocked
        } catch {
            throw RunError(.connect, "lost the admin connection while watching the sessions: \(error)")
        }
    }

    private func script(_ statements: [BoundStatement], what: String) throws(RunError) {
        for (index, statement) in statements.enumerated() {
            do {
                try admin.execute(statement.sql, statement.parameters)
            } catch {
                throw RunError(.setup, "\(what) statement \(index + 1) failed: \(error)")
            }
        }
    }

    private var elapsed: UInt64 { MonotonicClock.now() &- started }

    private func waitForSockets(_ sockets: [Int32], events: Int16, milliseconds: Int32) -> Int32 {
        var descriptors = sockets.map { pollfd(fd: $0, events: events, revents: 0) }
        return descriptors.withUnsafeMutableBufferPointer { buffer in
            poll(buffer.baseAddress, nfds_t(buffer.count), milliseconds)
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(drop(while: { set.contains($0) }).reversed().drop(while: { set.contains($0) }).reversed())
    }
}

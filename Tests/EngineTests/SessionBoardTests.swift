import Dispatch
import Foundation
import LockstormCore
import Synchronization
import Testing
@testable import Engine

/// The session board keeps each statement as codes into the plan and the
/// variable texts it read: what comes back must be what was sent.
@Suite("Session board")
struct SessionBoardTests {
    private static let yaml = """
        name: board
        transactions:
          pay:
            weight: 3
            isolation: serializable
            settings: { lock_timeout: 5 }
            retry:
              on: [serialization_failure]
              max_attempts: 3
              backoff: constant(1ms)
            let:
              a: uniform(1, 1000000)
              b: uniform(1, 1000000)
            steps:
              - sql: SELECT :a::int AS x
                into: x
              - UPDATE t SET v = :x WHERE id = :b
              - pause: 1ms
              - SELECT :client_id::int, :a::int, :b::int
          piped:
            weight: 1
            pipeline: true
            let:
              c: uniform(1, 1000000)
            steps:
              - SELECT :c::int
              - SELECT :c::int + 1
          auto:
            weight: 1
            autocommit: true
            let:
              d: uniform(1, 1000000)
            steps:
              - SELECT :d::int
        """

    private static func plan(_ yaml: String = yaml) throws -> RunPlan {
        try WorkloadParser.parse(yaml, file: "board.yaml").plan()
    }

    /// What a statement was when it was sent, its values read out then.
    private struct Sent: Equatable, CustomStringConvertible {
        var transaction: Int
        var step: Int?
        var sql: String
        var values: [String?]
        var sentAt: UInt64
        var completedAt: UInt64?

        init(_ statement: SessionBoard.Statement) {
            transaction = statement.transaction
            step = statement.step
            sql = statement.sql
            values = Array(statement.parameters)
            sentAt = statement.sentAt
            completedAt = statement.completedAt
        }

        init(transaction: Int, step: Int?, sql: String, values: [String?], sentAt: UInt64, completedAt: UInt64? = nil) {
            (self.transaction, self.step, self.sql, self.values, self.sentAt, self.completedAt) = (transaction, step, sql, values, sentAt, completedAt)
        }

        var description: String { "t\(transaction) s\(step.map(String.init) ?? "-") \(sql) \(values) @\(sentAt)-\(completedAt.map(String.init) ?? "…")" }
    }

    /// Runs a client machine against the board the way the worker does, and
    /// keeps its own record of every statement sent.
    private struct Driver {
        let board: SessionBoard
        let client: Int
        var machine: ClientMachine
        var stats: RunStats
        var now: UInt64 = 1_000
        var sent: [Sent] = []
        /// What `board.sent` returned for the last statement.
        var sequence: UInt64 = 0
        var random: UInt64 = 0x9E37_79B9_7F4A_7C15

        init(board: SessionBoard, plan: RunPlan, client: Int, combineBegin: Bool) {
            self.board = board
            self.client = client
            machine = ClientMachine(plan: plan, clientIndex: client, seed: 7, transactionLimit: 60, combineBegin: combineBegin)
            stats = RunStats(transactionCount: plan.transactions.count)
        }

        /// One in `odds`, from a fixed sequence.
        mutating func chance(_ odds: UInt64) -> Bool {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (random >> 33) % odds == 0
        }

        mutating func send(step: Int?, sql: String, parameters: StatementParameters, completed: Bool = false) {
            now += 10
            let transaction = machine.currentTransaction
            // The sequence numbers count the client's statements, as the Worker relies on.
            if completed {
                sequence = board.sent(client: client, SessionBoard.Statement(transaction: transaction, step: step, sql: sql, parameters: parameters, sentAt: now, completedAt: now))
            } else {
                sequence = board.sent(client: client, transaction: transaction, step: step, sql: sql, parameters: parameters, at: now)
            }
            #expect(sequence == UInt64(sent.count))
            sent.append(Sent(transaction: transaction, step: step, sql: sql, values: Array(parameters), sentAt: now, completedAt: completed ? now : nil))
        }

        mutating func complete() {
            now += 10
            // As the Worker does: by the sequence number `sent` returned.
            board.completed(client: client, sequence: sequence, at: now)
            if sent[sent.count - 1].completedAt == nil { sent[sent.count - 1].completedAt = now }
        }

        /// The statement in flight comes back: a row for a capture, now and
        /// then a serialization failure (retried).
        mutating func result() -> ClientMachine.Action {
            complete()
            if machine.isInTransaction, sent.last?.sql != "ROLLBACK", chance(7) {
                return machine.statementFailed(StatementFailure(sqlState: .serializationFailure, message: "could not serialize"), now: now, stats: &stats)
            }
            let value = Int64(now)
            return machine.statementSucceeded(now: now, stats: &stats, result: StepResult(rowCount: 1, firstRow: [.int(value)], firstRowText: [String(value)]))
        }

        /// Runs to the end, checking the board after every statement.
        mutating func run(check: (Driver) -> Void) {
            var action = machine.start(now: now, stats: &stats)
            while true {
                switch action {
                case .send(let sql, let parameters):
                    send(step: machine.currentStep, sql: sql, parameters: parameters)
                    check(self)
                    action = result()
                case .beginAndSend(let begin, let sql, let parameters):
                    send(step: nil, sql: begin, parameters: [], completed: true)
                    now -= 10
                    send(step: machine.currentStep, sql: sql, parameters: parameters)
                    check(self)
                    action = result()
                case .pipeline(let statements):
                    // The board follows the server: each statement is sent when the one before completes.
                    for (index, statement) in statements.enumerated() {
                        send(step: statement.step, sql: statement.sql, parameters: statement.parameters, completed: false)
                        check(self)
                        complete()
                        if index == statements.count - 1 { break }
                    }
                    action = machine.statementSucceeded(now: now, stats: &stats)
                case .sleep(let until):
                    now = max(now, until)
                    action = machine.timerFired(now: now, stats: &stats)
                case .stop, .reconnect:
                    return
                }
            }
        }
    }

    private static func check(_ driver: Driver) {
        let kept = driver.board.recent(client: driver.client).map(Sent.init)
        let expected = Array(driver.sent.suffix(SessionBoard.history))
        #expect(kept == expected)
    }

    @Test("a client machine's statements read back as they were sent: SQL, values, times", arguments: [false, true])
    func machineStatementsReadBack(combineBegin: Bool) throws {
        let plan = try Self.plan()
        let board = SessionBoard(plan: plan, clients: 3)
        board.connected(client: 2, pid: 4242)
        var driver = Driver(board: board, plan: plan, client: 2, combineBegin: combineBegin)
        driver.run(check: Self.check)
        #expect(driver.sent.count > 200)
        #expect(Set(driver.sent.map(\.sql)).contains("ROLLBACK"))
        // The plan accounts for all of them: none kept verbatim.
        #expect(board.heldReferences(client: 2).verbatim == 0)
        // Nothing leaked into the other clients.
        #expect(board.recent(client: 0).isEmpty && board.recent(client: 1).isEmpty)
    }

    @Test("variable texts are held while a kept statement reads them, and let go with the next attempt's once none does")
    func textsHeldWhileKept() throws {
        let plan = try Self.plan()
        let board = SessionBoard(plan: plan, clients: 1)
        board.connected(client: 0, pid: 1)
        guard case .sql(let sql, let sources, _) = plan.transactions[0].steps[1] else { throw BoardTestError.planShape }
        var texts = try #require(StatementParameters(sources: sources, variableTexts: ["1", "2", "3", "4", "5", "6"], clientID: 0).variableTexts)
        var next = try #require(StatementParameters(sources: sources, variableTexts: ["7", "8", "9", "10", "11", "12"], clientID: 0).variableTexts)
        func step(_ texts: VariableTexts, at time: UInt64) {
            board.sent(client: 0, transaction: 0, step: 1, sql: sql, parameters: StatementParameters(sources: sources, variables: texts, clientID: 0), at: time)
        }
        step(texts, at: 1)
        step(texts, at: 2)
        #expect(board.heldReferences(client: 0) == (texts: 1, verbatim: 0))
        for time in UInt64(3)..<18 {
            board.sent(client: 0, transaction: 0, step: nil, sql: "COMMIT", parameters: [], at: time)
            #expect(!isKnownUniquelyReferenced(&texts), "still read by the statement sent at 2 (time \(time))")
        }
        // No kept statement reads them; the next attempt's texts take their place.
        board.sent(client: 0, transaction: 0, step: nil, sql: "COMMIT", parameters: [], at: 18)
        step(next, at: 19)
        #expect(isKnownUniquelyReferenced(&texts))
        #expect(!isKnownUniquelyReferenced(&next))
        #expect(board.heldReferences(client: 0) == (texts: 1, verbatim: 0))
        #expect(board.recent(client: 0).last.map { Array($0.parameters) } == Array(StatementParameters(sources: sources, variables: next, clientID: 0)))
        // Texts a kept statement reads again are kept again, in place.
        board.sent(client: 0, transaction: 0, step: nil, sql: "COMMIT", parameters: [], at: 20)
        step(next, at: 21)
        #expect(board.heldReferences(client: 0) == (texts: 1, verbatim: 0))
        board.connected(client: 0, pid: 2)
        #expect(isKnownUniquelyReferenced(&next))
    }

    @Test("statements the plan does not account for are kept verbatim")
    func verbatim() throws {
        let plan = try Self.plan()
        let board = SessionBoard(plan: plan, clients: 1)
        guard case .sql(let sql, let sources, _) = plan.transactions[0].steps[0] else { throw BoardTestError.planShape }
        let statements = [
            // Not a statement the plan has.
            Sent(transaction: 0, step: nil, sql: "SAVEPOINT s", values: [], sentAt: 1),
            // A step's number with other SQL, or other sources, or another client's values.
            Sent(transaction: 0, step: 0, sql: "SELECT 42", values: ["x"], sentAt: 2),
            Sent(transaction: 0, step: 1, sql: sql, values: ["7", "8"], sentAt: 3),
            // BEGIN with values, or BEGIN of another transaction; a setting with other values.
            Sent(transaction: 1, step: nil, sql: "BEGIN", values: ["1"], sentAt: 4),
            Sent(transaction: 1, step: nil, sql: "BEGIN ISOLATION LEVEL SERIALIZABLE", values: [], sentAt: 5),
            Sent(transaction: 0, step: nil, sql: plan.transactions[0].settings[0].sql, values: ["lock_timeout", "6"], sentAt: 6),
            // Indexes outside the plan.
            Sent(transaction: 9, step: 0, sql: sql, values: [], sentAt: 7),
            Sent(transaction: 0, step: 99, sql: sql, values: [], sentAt: 8),
        ]
        for statement in statements {
            board.sent(
                client: 0, transaction: statement.transaction, step: statement.step, sql: statement.sql,
                parameters: StatementParameters(statement.values), at: statement.sentAt
            )
        }
        // The right sql but the sources read for another client.
        let otherClient = StatementParameters(sources: sources, variableTexts: ["5", "6", "7"], clientID: 3)
        board.sent(client: 0, transaction: 0, step: 0, sql: sql, parameters: otherClient, at: 9)
        let expected = statements + [Sent(transaction: 0, step: 0, sql: sql, values: Array(otherClient), sentAt: 9)]
        #expect(board.recent(client: 0).map(Sent.init) == expected)
        #expect(board.heldReferences(client: 0) == (texts: 0, verbatim: 9))
        // Verbatim statements leave the history like the others; the table
        // lets go of them when it next changes.
        for time in UInt64(10)..<26 { board.sent(client: 0, transaction: 0, step: nil, sql: "ROLLBACK", parameters: [], at: time) }
        #expect(board.recent(client: 0).map(\.sql) == Array(repeating: "ROLLBACK", count: 16))
        board.sent(client: 0, transaction: 0, step: nil, sql: "RELEASE SAVEPOINT s", parameters: [], at: 26)
        #expect(board.heldReferences(client: 0) == (texts: 0, verbatim: 1))
        #expect(board.current(client: 0)?.sql == "RELEASE SAVEPOINT s")

        // A statement kept verbatim where texts no kept statement reads were:
        // the same texts read again are kept again, not taken for it.
        board.connected(client: 0, pid: 2)
        let texts = try #require(otherClient.variableTexts)
        let again = StatementParameters(sources: sources, variables: texts, clientID: 0)
        board.sent(client: 0, transaction: 0, step: 0, sql: sql, parameters: again, at: 30)
        for time in UInt64(31)..<47 { board.sent(client: 0, transaction: 0, step: nil, sql: "COMMIT", parameters: [], at: time) }
        board.sent(client: 0, transaction: 0, step: nil, sql: "SAVEPOINT t", parameters: [], at: 47)
        board.sent(client: 0, transaction: 0, step: 0, sql: sql, parameters: again, at: 48)
        #expect(board.heldReferences(client: 0) == (texts: 1, verbatim: 1))
        #expect(board.recent(client: 0).suffix(2).map(Sent.init) == [
            Sent(transaction: 0, step: nil, sql: "SAVEPOINT t", values: [], sentAt: 47),
            Sent(transaction: 0, step: 0, sql: sql, values: Array(again), sentAt: 48),
        ])
    }

    @Test("lookup finds a PID's client and the statement spanning the detection; attempt runs from BEGIN; connect starts afresh")
    func lookupAttemptCurrent() throws {
        let plan = try Self.plan()
        let board = SessionBoard(plan: plan, clients: 2)
        board.connected(client: 1, pid: 501)
        #expect(board.lookup(pid: 999, detection: 0) == nil)
        let found = try #require(board.lookup(pid: 501, detection: 0))
        #expect(found.client == 1 && found.statement == nil)
        #expect(board.current(client: 1) == nil)

        guard case .sql(let first, let firstSources, _) = plan.transactions[0].steps[0],
            case .sql(let second, let secondSources, _) = plan.transactions[0].steps[1]
        else { throw BoardTestError.planShape }
        let parameters = StatementParameters(sources: firstSources, variableTexts: ["10", "20", nil, "40", "50", "60"], clientID: 1)
        let texts = try #require(parameters.variableTexts)
        let begin = plan.transactions[0].begin
        board.sent(client: 1, SessionBoard.Statement(transaction: 0, step: nil, sql: begin, parameters: [], sentAt: 100, completedAt: 100))
        let firstSequence = board.sent(client: 1, transaction: 0, step: 0, sql: first, parameters: parameters, at: 100)
        board.completed(client: 1, sequence: firstSequence, at: 150)
        board.completed(client: 1, sequence: firstSequence, at: 170)  // already complete: stays 150
        let secondSequence = board.sent(
            client: 1, transaction: 0, step: 1, sql: second, parameters: StatementParameters(sources: secondSources, variables: texts, clientID: 1), at: 200
        )

        let current = try #require(board.current(client: 1))
        #expect(Sent(current) == Sent(transaction: 0, step: 1, sql: second, values: Array(StatementParameters(sources: secondSources, variables: texts, clientID: 1)), sentAt: 200))
        // In flight at 300: the second step; at 120: the first; before anything: the first kept.
        #expect(board.lookup(pid: 501, detection: 300)?.statement?.sentAt == 200)
        #expect(board.lookup(pid: 501, detection: 120)?.statement.map(Sent.init) == Sent(transaction: 0, step: 0, sql: first, values: Array(parameters), sentAt: 100, completedAt: 150))
        #expect(board.lookup(pid: 501, detection: 50)?.statement?.sql == begin)
        // Between the first's completion and the second's send: the last sent before.
        board.completed(client: 1, sequence: secondSequence, at: 260)
        #expect(board.lookup(pid: 501, detection: 180)?.statement?.sentAt == 100)

        #expect(board.attempt(client: 1, through: current).map(\.sql) == [begin, first, second])
        // Once BEGIN has left the history there is no attempt to show.
        for time in UInt64(300)..<315 {
            board.sent(client: 1, transaction: 0, step: 1, sql: second, parameters: StatementParameters(sources: secondSources, variables: texts, clientID: 1), at: time)
        }
        let late = try #require(board.current(client: 1))
        #expect(board.recent(client: 1).first?.sentAt == 200)
        #expect(board.attempt(client: 1, through: late).isEmpty)

        // A reconnect: a new PID, an empty history, the texts let go.
        board.connected(client: 1, pid: 502)
        #expect(board.current(client: 1) == nil)
        #expect(board.heldReferences(client: 1) == (texts: 0, verbatim: 0))
        #expect(board.lookup(pid: 502, detection: 0)?.client == 1)
    }

    @Test("readers racing a writer always see whole statements: text, values and times that belong together")
    func concurrentReaders() throws {
        let plan = try Self.plan()
        let board = SessionBoard(plan: plan, clients: 2)
        board.connected(client: 1, pid: 77)
        let steps: [(sql: String, sources: [ParameterSource])] = plan.transactions[0].steps.compactMap {
            guard case .sql(let sql, let sources, _) = $0 else { return nil }
            return (sql, sources)
        }
        let slots = plan.transactions[0].variableNames.count
        let attempts = 30_000
        let shared = Shared()

        // Attempt n: BEGIN at 10n, its steps at 10n+1..., COMMIT at 10n+5, and
        // every third one a statement kept verbatim at 10n+6; each completes
        // 1 after it is sent; every value is n.
        @Sendable func expected(_ statement: SessionBoard.Statement) -> String? {
            let n = statement.sentAt / 10
            let text = String(n)
            if let completedAt = statement.completedAt, completedAt != statement.sentAt + 1 { return "completed at \(completedAt)" }
            if statement.transaction != 0 { return "transaction \(statement.transaction)" }
            switch statement.sentAt % 10 {
            case 0:
                return statement.sql == plan.transactions[0].begin && statement.step == nil && statement.parameters.isEmpty ? nil : "not BEGIN"
            case 1...3:
                let step = Int(statement.sentAt % 10) - 1
                let index = [0, 1, 3][step]
                guard statement.step == index, statement.sql == steps[step].sql else { return "not step \(index)" }
                let values = Array(statement.parameters)
                let wanted = steps[step].sources.map { source -> String? in
                    if case .clientID = source { return "1" }
                    return text
                }
                return values == wanted ? nil : "values \(values), wanted \(wanted)"
            case 5:
                return statement.sql == "COMMIT" && statement.step == nil ? nil : "not COMMIT"
            case 6:
                return statement.sql == "SELECT 'kept verbatim, attempt \(n)'" && Array(statement.parameters) == [text] ? nil : "not verbatim \(n)"
            default:
                return "sent at \(statement.sentAt)"
            }
        }
        @Sendable func check(_ statements: [SessionBoard.Statement], _ what: String) {
            var found: [String] = []
            for statement in statements {
                if let problem = expected(statement) { found.append("\(what): \(problem) in \(Sent(statement))") }
            }
            for (earlier, later) in zip(statements, statements.dropFirst()) where earlier.sentAt >= later.sentAt {
                found.append("\(what): out of order \(earlier.sentAt), \(later.sentAt)")
            }
            if !found.isEmpty { shared.problems.withLock { $0.append(contentsOf: found.prefix(5)) } }
        }

        let group = DispatchGroup()
        for reader in 0..<2 {
            group.enter()
            Thread {
                defer { group.leave() }
                var count = 0
                while !shared.done.load(ordering: .acquiring) || count == 0 {
                    if reader == 0 {
                        check(board.recent(client: 1), "recent")
                        if let current = board.current(client: 1) {
                            check([current], "current")
                            let attempt = board.attempt(client: 1, through: current)
                            check(attempt, "attempt")
                            if let first = attempt.first, first.sentAt / 10 != current.sentAt / 10 || first.sentAt % 10 != 0 {
                                shared.problems.withLock { $0.append("attempt of \(current.sentAt) starts at \(first.sentAt)") }
                            }
                        }
                    } else if let found = board.lookup(pid: 77, detection: UInt64(count % (attempts * 10))) {
                        check(found.statement.map { [$0] } ?? [], "lookup")
                    }
                    count += 1
                }
                shared.reads.add(count, ordering: .relaxed)
            }.start()
        }
        group.enter()
        Thread {
            defer { group.leave() }
            let texts = VariableTextsBox(slots: slots)
            for n in 0..<attempts {
                let time = UInt64(n) * 10
                let box = texts.next(String(n))
                board.sent(client: 1, SessionBoard.Statement(transaction: 0, step: nil, sql: plan.transactions[0].begin, parameters: [], sentAt: time, completedAt: time + 1))
                for (offset, index) in [0, 1, 3].enumerated() {
                    let parameters = StatementParameters(sources: steps[offset].sources, variables: box, clientID: 1)
                    let sequence = board.sent(client: 1, transaction: 0, step: index, sql: steps[offset].sql, parameters: parameters, at: time + 1 + UInt64(offset))
                    board.completed(client: 1, sequence: sequence, at: time + 2 + UInt64(offset))
                }
                let commit = board.sent(client: 1, transaction: 0, step: nil, sql: "COMMIT", parameters: [], at: time + 5)
                board.completed(client: 1, sequence: commit, at: time + 6)
                if n % 3 == 0 {
                    let verbatim = board.sent(client: 1, transaction: 0, step: nil, sql: "SELECT 'kept verbatim, attempt \(n)'", parameters: [String(n)], at: time + 6)
                    board.completed(client: 1, sequence: verbatim, at: time + 7)
                }
            }
            shared.done.store(true, ordering: .releasing)
        }.start()
        group.wait()

        let found = shared.problems.withLock { $0 }
        #expect(found.isEmpty, "\(found.prefix(10))")
        #expect(shared.reads.load(ordering: .relaxed) >= 2)
        #expect(board.current(client: 1)?.sentAt == UInt64(attempts - 1) * 10 + 5)
    }
}

/// What the writer and reader threads share.
private final class Shared: Sendable {
    let done = Atomic<Bool>(false)
    let problems = Mutex<[String]>([])
    let reads = Atomic<Int>(0)
}

private enum BoardTestError: Error {
    case planShape
}

/// A fresh `VariableTexts` per attempt, all slots set to one text, as the
/// client machine's (which the board must keep unchanged while it holds them).
private struct VariableTextsBox {
    let slots: Int

    init(slots: Int) {
        self.slots = slots
    }

    func next(_ text: String) -> VariableTexts {
        StatementParameters(sources: [], variableTexts: Array(repeating: text, count: slots), clientID: 0).variableTexts!
    }
}

import Testing
@testable import LockstormCore

private typealias Script = MachineScript

private func send(_ sql: String, _ parameters: StatementParameters = []) -> ClientMachine.Action {
    .send(sql: sql, parameters: parameters)
}

private let begin = send("BEGIN")
private let commit = send("COMMIT")
private let rollback = send("ROLLBACK")

/// The delay of a `.sleep` after `now`, or nil.
private func delay(_ action: ClientMachine.Action, after now: UInt64) -> UInt64? {
    guard case .sleep(let until) = action, until >= now else { return nil }
    return until - now
}

@Suite struct ClientMachineLanguageTests {
    // MARK: into

    @Test func capturedValuesAreBoundInLaterStepsAsTheServerSentThem() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT id, price, note FROM jobs LIMIT 1
                    into: [job_id, price, note]
                  - UPDATE jobs SET price = :price, note = :note WHERE id = :job_id
            """)
        #expect(script.start() == begin)
        #expect(!script.machine.wantsRow)
        #expect(script.ok() == send("SELECT id, price, note FROM jobs LIMIT 1"))
        #expect(script.machine.wantsRow)
        // The text goes back exactly as received: "1.50", not 1.5.
        let next = script.ok([.int(7), .double(1.5), .null], text: ["7", "1.50", nil])
        #expect(next == send("UPDATE jobs SET price = $1, note = $2 WHERE id = $3", ["1.50", nil, "7"]))
        #expect(script.machine.variables == [.int(7), .double(1.5), .null])
        #expect(!script.machine.wantsRow)
        #expect(script.ok() == commit)
        #expect(!script.machine.wantsRow)
        #expect(script.ok() == begin)
        #expect(script.tx.committed == 1)
    }

    @Test func anEmptyResultCapturesNullAndCarriesOnByDefault() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT id FROM jobs LIMIT 1
                    into: job_id
                  - UPDATE jobs SET done = true WHERE id = :job_id
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.ok(rows: 0) == send("UPDATE jobs SET done = true WHERE id = $1", [nil]))
        #expect(script.machine.variables == [.null])
    }

    @Test func wantsRowOnlyForCapturingSteps() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                settings: { lock_timeout: 1s }
                steps:
                  - SELECT 1
                  - sql: SELECT 2
                    into: x
                  - pause: 1ms
                  - SELECT 3
            """)
        var wants: [Bool] = []
        var action = script.start()
        while script.tx.committed == 0 {
            wants.append(script.machine.wantsRow)
            action = if case .sleep = action { script.wake(action) } else { script.ok([.int(1)]) }
        }
        // BEGIN, set_config, SELECT 1, SELECT 2 (captures), pause, SELECT 3, COMMIT.
        #expect(wants == [false, false, false, true, false, false, false])
    }

    // MARK: on_empty, stop_if, skip_if, if

    @Test func onEmptySkipCommitsAndSkipsTheRemainingSteps() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT id FROM jobs LIMIT 1 FOR UPDATE SKIP LOCKED
                    into: job_id
                    on_empty: skip
                  - UPDATE jobs SET done = true WHERE id = :job_id
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.ok(rows: 0) == commit)
        #expect(script.ok() == begin)
        // Committed with a step left unrun: ended early, not committed work.
        #expect(script.tx.committed == 0)
        #expect(script.tx.endedEarly == 1)
        #expect(script.tx.attempts == 1)
        // With a row, the next step runs.
        _ = script.ok()
        #expect(script.ok([.int(3)]) == send("UPDATE jobs SET done = true WHERE id = $1", ["3"]))
    }

    @Test func onEmptyStopCommitsThenStopsTheClient() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                think: 5ms
                steps:
                  - sql: SELECT id FROM jobs LIMIT 1
                    into: job_id
                    on_empty: stop
                  - UPDATE jobs SET done = true WHERE id = :job_id
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.ok(rows: 0) == commit)
        // No think time: the client is done.
        #expect(script.ok() == .stop)
        #expect(script.machine.isStopped)
        #expect(script.tx.committed == 0)
        #expect(script.tx.endedEarly == 1)
        #expect(script.tx.failed == 0)
    }

    @Test func stopIfWithACapturedValueEndsTheClient() throws {
        let yaml = """
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT tickets FROM events WHERE id = 1 FOR UPDATE
                    into: left
                    stop_if: left <= 0
                  - UPDATE events SET tickets = tickets - 1 WHERE id = 1
            """
        var script = try Script(yaml)
        _ = script.start()
        _ = script.ok()
        #expect(script.ok([.int(2)]) == send("UPDATE events SET tickets = tickets - 1 WHERE id = 1"))
        #expect(script.ok() == commit)
        #expect(script.ok() == begin)
        _ = script.ok()
        #expect(script.ok([.int(0)]) == commit)
        #expect(script.ok() == .stop)
        // The first attempt sold a ticket; the second found none and ended early.
        #expect(script.tx.committed == 1)
        #expect(script.tx.endedEarly == 1)

        // A NULL does not satisfy `left <= 0`: the step carries on.
        var nullScript = try Script(yaml)
        _ = nullScript.start()
        _ = nullScript.ok()
        #expect(nullScript.ok(rows: 0) == send("UPDATE events SET tickets = tickets - 1 WHERE id = 1"))
    }

    @Test func skipIfWithACapturedValueCommitsEarly() throws {
        var script = try Script("""
            name: t
            params:
              limit: 10
            transactions:
              tx:
                steps:
                  - sql: SELECT pg_try_advisory_xact_lock(1)
                    into: got
                    skip_if: "!got"
                  - sql: SELECT count(*) FROM runs
                    into: runs
                    skip_if: runs >= :limit
                  - INSERT INTO runs DEFAULT VALUES
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.ok([.bool(false)], text: ["f"]) == commit)
        #expect(script.ok() == begin)
        _ = script.ok()
        #expect(script.ok([.bool(true)], text: ["t"]) == send("SELECT count(*) FROM runs"))
        #expect(script.ok([.int(10)]) == commit)
        #expect(script.ok() == begin)
        _ = script.ok()
        _ = script.ok([.bool(true)], text: ["t"])
        #expect(script.ok([.int(9)]) == send("INSERT INTO runs DEFAULT VALUES"))
        #expect(!script.machine.isStopped)
        #expect(script.tx.committed == 0)
        #expect(script.tx.endedEarly == 2)
    }

    @Test func ifGuardSkipsAStepWhoseConditionDoesNotHold() throws {
        let yaml = """
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT count(*) FROM jobs
                    into: n
                  - sql: DELETE FROM jobs WHERE id = 1
                    if: n > 3
                  - sql: SELECT :n
                    if: n != 0
            """
        var script = try Script(yaml)
        _ = script.start()
        _ = script.ok()
        // n = 1: the DELETE is skipped, the last step runs.
        #expect(script.ok([.int(1)]) == send("SELECT $1", ["1"]))
        #expect(script.ok() == commit)
        #expect(script.ok() == begin)
        _ = script.ok()
        // n = 0: both guarded steps are skipped; the transaction commits.
        #expect(script.ok([.int(0)]) == commit)
        #expect(script.ok() == begin)
        _ = script.ok()
        #expect(script.ok([.int(5)]) == send("DELETE FROM jobs WHERE id = 1"))
        #expect(script.ok() == send("SELECT $1", ["5"]))
        // A condition that cannot be evaluated (NULL > 3) does not hold; NULL != 0 does.
        var nullScript = try Script(yaml)
        _ = nullScript.start()
        _ = nullScript.ok()
        #expect(nullScript.ok(rows: 0) == send("SELECT $1", [nil]))
    }

    @Test func ifGuardCanUseTheClientNumberAndParameters() throws {
        let yaml = """
            name: t
            params:
              leaders: 1
            transactions:
              tx:
                steps:
                  - sql: SELECT 'lead'
                    if: client_id < :leaders
                  - SELECT 'all'
            """
        var leader = try Script(yaml, clientIndex: 0)
        _ = leader.start()
        #expect(leader.ok() == send("SELECT 'lead'"))
        var follower = try Script(yaml, clientIndex: 1)
        _ = follower.start()
        #expect(follower.ok() == send("SELECT 'all'"))
    }

    // MARK: Expected errors

    @Test func expectedErrorRollsBackWithoutRetryingEvenWhenRetryListsIt() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                expect: [lock_not_available]
                retry:
                  on: [55P03, 40P01]
                  backoff: 10ms
                steps:
                  - SELECT 1 FOR UPDATE NOWAIT
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.fail(.lockNotAvailable) == rollback)
        #expect(script.ok() == begin)
        #expect(script.tx.failed == 1 && script.tx.retries == 0)
        #expect(script.tx.count(.lockNotAvailable) == 1)
        // A deadlock is not expected: retry.on applies.
        _ = script.ok()
        #expect(script.fail(.deadlockDetected) == rollback)
        let backoff = script.ok()
        #expect(delay(backoff, after: script.now) == 10_000_000)
        #expect(script.wake(backoff) == begin)
        #expect(script.tx.retries == 1)
    }

    @Test func expectedRetryWithoutAPolicyUsesTheDefaultPolicy() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                expect: { lock_not_available: retry }
                steps:
                  - SELECT 1 FOR UPDATE NOWAIT
            """)
        let policy = RetryPolicy.expectedDefault
        #expect(policy.maxAttempts == 3)
        _ = script.start()
        for attempt in 1...policy.maxAttempts {
            #expect(script.ok() == send("SELECT 1 FOR UPDATE NOWAIT"))
            #expect(script.fail(.lockNotAvailable) == rollback)
            let after = script.ok()
            if attempt < policy.maxAttempts {
                // Exponential from 1 ms with jitter: at most 1 ms, then 2 ms.
                let wait = try #require(delay(after, after: script.now))
                #expect(wait <= UInt64(1_000_000 << (attempt - 1)))
                #expect(script.wake(after) == begin)
            } else {
                // Attempts used up: on with the next transaction.
                #expect(after == begin)
            }
        }
        #expect(script.tx.attempts == 3)
        #expect(script.tx.failed == 3)
        #expect(script.tx.retries == 2)
        #expect(script.tx.committed == 0)
        #expect(script.tx.count(.lockNotAvailable) == 3)
    }

    @Test func expectedRetryUsesTheTransactionsPolicyForBackoffAndAttempts() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                expect: { lock_not_available: retry }
                retry:
                  on: [40P01]
                  max_attempts: 2
                  backoff: 7ms
                steps:
                  - SELECT 1 FOR UPDATE NOWAIT
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.fail(.lockNotAvailable) == rollback)
        let backoff = script.ok()
        #expect(delay(backoff, after: script.now) == 7_000_000)
        #expect(script.wake(backoff) == begin)
        _ = script.ok()
        #expect(script.fail(.lockNotAvailable) == rollback)
        // max_attempts: 2 → no third attempt.
        #expect(script.ok() == begin)
        #expect(script.tx.attempts == 2 && script.tx.retries == 1)
    }

    @Test func stepExpectOverridesTheTransactions() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                expect: { 55P03: retry }
                retry:
                  on: [40001]
                  backoff: 1ms
                steps:
                  - SELECT 1 FOR UPDATE NOWAIT
                  - sql: SELECT 2 FOR UPDATE NOWAIT
                    expect: { 55P03: rollback, serialization_failure: rollback }
            """)
        _ = script.start()
        _ = script.ok()
        // Step 0 follows the transaction: retry.
        #expect(script.fail(.lockNotAvailable) == rollback)
        let backoff = script.ok()
        #expect(delay(backoff, after: script.now) == 1_000_000)
        #expect(script.wake(backoff) == begin)
        _ = script.ok()
        // Step 1 expects 55P03 and 40001 with rollback: the next transaction.
        #expect(script.ok() == send("SELECT 2 FOR UPDATE NOWAIT"))
        #expect(script.fail(.lockNotAvailable) == rollback)
        #expect(script.ok() == begin)
        _ = script.ok()
        _ = script.ok()
        #expect(script.fail(.serializationFailure) == rollback)
        #expect(script.ok() == begin)
        // A COMMIT failure is no step's: the transaction's retry.on applies.
        _ = script.ok()
        _ = script.ok()
        #expect(script.ok() == commit)
        #expect(script.fail(.serializationFailure) == rollback)
        #expect(delay(script.ok(), after: script.now) == 1_000_000)
        #expect(script.tx.retries == 1)
        #expect(script.tx.failed == 4)
    }

    @Test func capturesAreNullAgainOnARetryWhileDrawsAreReplayed() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                let:
                  a: uniform(1, 1000000)
                retry:
                  on: [40P01]
                  backoff: none
                steps:
                  - sql: SELECT id FROM jobs WHERE k = :a
                    into: job_id
                  - UPDATE jobs SET done = true WHERE id = :job_id
            """)
        _ = script.start()
        let first = script.ok()
        guard case .send(_, let drawn) = first else {
            Issue.record("expected the first step, got \(first)")
            return
        }
        #expect(script.ok([.int(42)]) == send("UPDATE jobs SET done = true WHERE id = $1", ["42"]))
        #expect(script.fail(.deadlockDetected) == rollback)
        let retry = script.ok()
        #expect(retry == .sleep(until: script.now))
        #expect(script.wake(retry) == begin)
        #expect(script.machine.variables[1] == .null)
        // The draw is replayed; the capture is not: no row now means NULL, not 42.
        #expect(script.ok() == send("SELECT id FROM jobs WHERE k = $1", drawn))
        #expect(script.ok(rows: 0) == send("UPDATE jobs SET done = true WHERE id = $1", [nil]))
    }

    // MARK: think, autocommit, dedicated clients

    @Test func thinkTimeSleepsAfterTheCommitBeforeTheNextBegin() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                think: 5ms
                steps: [SELECT 1]
            """)
        #expect(script.start() == begin)
        _ = script.ok()
        #expect(script.ok() == commit)
        let think = script.ok()
        #expect(delay(think, after: script.now) == 5_000_000)
        #expect(script.tx.committed == 1)
        #expect(!script.machine.isInTransaction)
        #expect(script.wake(think) == begin)
    }

    @Test func thinkTimeFollowsAFailedTransactionToo() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                think: uniform(2ms, 4ms)
                steps: [SELECT 1]
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.fail(.uniqueViolation) == rollback)
        let think = script.ok()
        let wait = try #require(delay(think, after: script.now))
        #expect((2_000_000...4_000_000).contains(wait))
        #expect(script.wake(think) == begin)
    }

    @Test func autocommitSendsNoTransactionControl() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                autocommit: true
                settings: { lock_timeout: 1s }
                steps:
                  - sql: SELECT pg_try_advisory_lock(1)
                    into: got
                    skip_if: "!got"
                  - SELECT pg_advisory_unlock(1)
            """)
        let setting = send("SELECT set_config($1, $2, false)", ["lock_timeout", "1s"])
        #expect(script.start() == setting)
        #expect(!script.machine.wantsRow)
        #expect(script.ok() == send("SELECT pg_try_advisory_lock(1)"))
        #expect(script.machine.wantsRow)
        #expect(script.ok([.bool(true)], text: ["t"]) == send("SELECT pg_advisory_unlock(1)"))
        // The last step done: the transaction counts as committed, no COMMIT is sent.
        #expect(script.ok() == setting)
        #expect(script.tx.committed == 1)
        _ = script.ok()
        // skip_if under autocommit: straight to the next transaction, ended early.
        #expect(script.ok([.bool(false)], text: ["f"]) == setting)
        #expect(script.tx.committed == 1)
        #expect(script.tx.endedEarly == 1)
        // A failure sends no ROLLBACK.
        _ = script.ok()
        #expect(script.fail(.uniqueViolation) == setting)
        #expect(script.tx.failed == 1)
    }

    @Test func autocommitFailureRetriesFromTheFirstStep() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                autocommit: true
                expect: { deadlock_detected: retry }
                retry:
                  on: [40001]
                  backoff: 3ms
                steps:
                  - SELECT 1
                  - SELECT 2
            """)
        #expect(script.start() == send("SELECT 1"))
        #expect(script.ok() == send("SELECT 2"))
        let backoff = script.fail(.deadlockDetected)
        #expect(delay(backoff, after: script.now) == 3_000_000)
        #expect(script.wake(backoff) == send("SELECT 1"))
        #expect(script.tx.retries == 1)
    }

    @Test func autocommitTransactionWhoseStepsAreAllSkippedHandsControlBack() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                autocommit: true
                steps:
                  - sql: SELECT 1
                    if: client_id > 0
            """)
        // Before the fix this recursed without end (start → commit → start …).
        let first = script.start()
        #expect(first == .sleep(until: script.now))
        #expect(script.tx.committed == 1)
        let second = script.wake(first)
        #expect(second == .sleep(until: script.now))
        #expect(script.tx.committed == 2)
        script.machine.requestStop()
        #expect(script.wake(second) == .stop)
        // With a transaction limit it ends after that many.
        var limited = try Script("""
            name: t
            transactions:
              tx:
                autocommit: true
                steps:
                  - sql: SELECT 1
                    if: client_id > 0
            """, limit: 2)
        var action = limited.start()
        var wakes = 0
        while action != .stop && wakes < 10 {
            action = limited.wake(action)
            wakes += 1
        }
        #expect(action == .stop)
        #expect(limited.tx.committed == 2)
    }

    @Test func dedicatedClientAlwaysRunsItsTransaction() throws {
        let yaml = """
            name: t
            transactions:
              shared:
                steps: [SELECT 'shared']
              reaper:
                weight: 0
                clients: 1
                steps: [SELECT 'reaper']
            """
        let plan = try makePlan(yaml)
        #expect(plan.dedicatedTransaction(client: 3, of: 4) == 1)
        var script = try Script(yaml, clientIndex: 3, dedicated: 1)
        var sent: Set<String> = []
        var action = script.start()
        while script.tx.committed < 50 {
            if case .send(let sql, _) = action, sql.hasPrefix("SELECT") { sent.insert(sql) }
            action = script.ok()
        }
        #expect(sent == ["SELECT 'reaper'"])
        #expect(script.machine.currentTransaction == 1)
        #expect(script.stats.transactions[0].attempts == 0)

        // A shared client never runs the dedicated transaction.
        var shared = try Script(yaml, clientIndex: 0)
        var sharedSent: Set<String> = []
        action = shared.start()
        while shared.stats.transactions[0].committed < 50 {
            if case .send(let sql, _) = action, sql.hasPrefix("SELECT") { sharedSent.insert(sql) }
            action = shared.ok()
        }
        #expect(sharedSent == ["SELECT 'shared'"])
        #expect(shared.stats.transactions[1].attempts == 0)
    }

    @Test func sharedClientStopsWhenEveryTransactionIsDedicated() throws {
        var script = try Script("""
            name: t
            transactions:
              idle:
                weight: 0
                steps: [SELECT 1]
              worker:
                clients: 2
                steps: [SELECT 2]
            """)
        #expect(script.start() == .stop)
        #expect(script.stats.total.attempts == 0)
    }

    // MARK: let values computed from draws

    /// The cart example of workloads/README.md: three distinct products,
    /// decremented lowest id first, with no round trip to sort them.
    static let cartYAML = """
        name: cart
        params: { products: 1000 }
        transactions:
          checkout:
            let:
              a: uniform(1, :products)
              b: uniform(1, :products) != a
              c: uniform(1, :products) != a, b
              ids: sorted(a, b, c)
              first: least(a, b, c)
              middle: ids[2]
              last: greatest(a, b, c)
            steps:
              - UPDATE products SET stock = stock - 1 WHERE id = :first
              - UPDATE products SET stock = stock - 1 WHERE id = :middle
              - UPDATE products SET stock = stock - 1 WHERE id = :last
              - SELECT count(*) FROM products WHERE id = ANY(:ids::int[])
        """

    @Test func computedLetValuesSortTheDrawnKeysEveryTransaction() throws {
        let plan = try makePlan(Self.cartYAML)
        let checkout = try #require(plan.transactions.first)
        #expect(checkout.variableNames == ["a", "b", "c", "ids", "first", "middle", "last"])
        guard case .computed = checkout.draws[3].distribution else {
            Issue.record("ids should be computed, got \(checkout.draws[3].distribution)")
            return
        }
        var script = try Script(Self.cartYAML, seed: 42)
        var sawUnsorted = false
        var first = script.start()
        for _ in 0..<50 {
            let variables = script.machine.variables
            guard case .int(let a) = variables[0], case .int(let b) = variables[1], case .int(let c) = variables[2] else {
                Issue.record("draws should be integers: \(variables)")
                return
            }
            let keys = [a, b, c].sorted()
            sawUnsorted = sawUnsorted || keys != [a, b, c]
            #expect(Set(keys).count == 3)
            #expect(variables[3] == .list(keys.map { .int($0) }))
            #expect(variables[4] == .int(keys[0]))
            #expect(variables[5] == .int(keys[1]))
            #expect(variables[6] == .int(keys[2]))
            #expect(first == send("BEGIN"))
            #expect(script.ok() == send("UPDATE products SET stock = stock - 1 WHERE id = $1", ["\(keys[0])"]))
            #expect(script.ok() == send("UPDATE products SET stock = stock - 1 WHERE id = $1", ["\(keys[1])"]))
            #expect(script.ok() == send("UPDATE products SET stock = stock - 1 WHERE id = $1", ["\(keys[2])"]))
            #expect(script.ok() == send("SELECT count(*) FROM products WHERE id = ANY($1::int[])", ["{\(keys[0]),\(keys[1]),\(keys[2])}"]))
            #expect(script.ok() == commit)
            first = script.ok()
        }
        // The draws came in every order; the keys went out in one.
        #expect(sawUnsorted)
    }
}

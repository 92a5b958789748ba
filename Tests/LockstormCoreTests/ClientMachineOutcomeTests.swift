import Testing
@testable import LockstormCore

private typealias Script = MachineScript

private func send(_ sql: String, _ parameters: StatementParameters = []) -> ClientMachine.Action {
    .send(sql: sql, parameters: parameters)
}

private let begin = send("BEGIN")
private let commit = send("COMMIT")
private let rollback = send("ROLLBACK")

/// Every attempt ends in exactly one outcome, and the outcomes add up.
private func addsUp(_ stats: TransactionStats) -> Bool {
    stats.attempts == stats.committed + stats.rolledBack + stats.endedEarly + stats.failed
        && stats.failed == stats.expectedErrors + stats.unexpectedErrors
}

/// The outcomes of an attempt (issue: committed, rolled back on purpose,
/// ended early, failed expected, failed unexpected) and the units it counts.
@Suite struct ClientMachineOutcomeTests {
    static let checkout = """
        name: t
        transactions:
          order:
            retry: { on: [deadlock_detected], max_attempts: 3, backoff: 1ms }
            steps:
              - sql: SELECT stock FROM inventory WHERE id = 1 FOR UPDATE
                into: stock
                rollback_if: stock < 1
              - sql: UPDATE inventory SET stock = stock - 1 WHERE id = 1
                count: items
              - INSERT INTO orders DEFAULT VALUES
        """

    @Test func rollbackIfRollsBackOnPurposeWithoutAFailureOrARetry() throws {
        var script = try Script(Self.checkout)
        _ = script.start()
        _ = script.ok()
        #expect(script.ok([.int(0)]) == rollback)
        // The ROLLBACK done: the next transaction, no backoff, no retry.
        #expect(script.ok() == begin)
        #expect(script.tx.rolledBack == 1)
        #expect(script.tx.committed == 0)
        #expect(script.tx.failed == 0)
        #expect(script.tx.retries == 0)
        #expect(script.tx.attempts == 1)
        #expect(script.stats.errors.isEmpty)
        #expect(addsUp(script.tx))
        // Stock left: the order goes through.
        _ = script.ok()
        #expect(script.ok([.int(5)]) == send("UPDATE inventory SET stock = stock - 1 WHERE id = 1"))
    }

    @Test func onEmptyRollbackRollsBackWhenTheStepFindsNoRow() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT id FROM jobs LIMIT 1 FOR UPDATE SKIP LOCKED
                    into: job_id
                    on_empty: rollback
                  - UPDATE jobs SET done = true WHERE id = :job_id
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.ok(rows: 0) == rollback)
        #expect(script.ok() == begin)
        #expect(script.tx.rolledBack == 1)
        #expect(addsUp(script.tx))
    }

    @Test func countedRowsAddUpOnlyForAttemptsThatCommit() throws {
        var script = try Script(Self.checkout)
        // Attempt 1: UPDATE affects 1 row, then a deadlock on the INSERT: not counted.
        _ = script.start()
        _ = script.ok()
        _ = script.ok([.int(5)])
        _ = script.ok(rows: 1)
        #expect(script.fail(.deadlockDetected) == rollback)
        let backoff = script.ok()
        // Attempt 2 (the retry) commits: its row is counted.
        #expect(script.wake(backoff) == begin)
        _ = script.ok()
        _ = script.ok([.int(5)])
        _ = script.ok(rows: 1)
        #expect(script.ok() == commit)
        #expect(script.tx.units(0) == 0)
        _ = script.ok()
        #expect(script.machine.plan.counterNames == ["items"])
        #expect(script.tx.units(0) == 1)
        #expect(script.stats.interval.units == [1])
        // Attempt 3 rolls back on purpose: nothing counted.
        _ = script.ok()
        _ = script.ok([.int(0)])
        _ = script.ok()
        #expect(script.tx.units(0) == 1)
        #expect(script.tx.committed == 1)
        #expect(script.tx.rolledBack == 1)
        #expect(script.tx.failed == 1)
        #expect(script.tx.retries == 1)
        #expect(addsUp(script.tx))
    }

    @Test func autocommitStepsCountTheirRowsAtOnce() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                autocommit: true
                steps:
                  - sql: UPDATE jobs SET status = 'claimed' WHERE id = 1
                    count: claims
                  - sql: UPDATE jobs SET status = 'done' WHERE id = 1
                    count: jobs
            """)
        _ = script.start()
        _ = script.ok(rows: 2)
        #expect(script.tx.units(0) == 2)
        // The second step fails: the first one's rows stay counted (they committed).
        _ = script.fail(.uniqueViolation)
        #expect(script.tx.units(0) == 2)
        #expect(script.tx.units(1) == 0)
    }

    @Test func undeclaredErrorsOutsideTheConcurrencyClassesAreUnexpected() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: INSERT INTO orders DEFAULT VALUES
                    expect: { check_violation: rollback }
                  - UPDATE inventory SET stock = stock - 1
            """)
        // 42P01 (no such table): not declared, a broken workload.
        _ = script.start()
        _ = script.ok()
        _ = script.fail(SQLState("42P01"))
        _ = script.ok()
        #expect(script.tx.unexpectedErrors == 1)
        // 23514 declared on the step: expected.
        _ = script.ok()
        _ = script.fail(SQLState("23514"))
        _ = script.ok()
        #expect(script.tx.unexpectedErrors == 1)
        // The same 23514 on a step that does not declare it: unexpected.
        _ = script.ok()
        _ = script.ok()
        _ = script.fail(SQLState("23514"))
        _ = script.ok()
        #expect(script.tx.unexpectedErrors == 2)
        // A deadlock is a measurement, declared or not.
        _ = script.ok()
        _ = script.ok()
        _ = script.fail(.deadlockDetected)
        _ = script.ok()
        #expect(script.tx.unexpectedErrors == 2)
        #expect(script.tx.failed == 4)
        #expect(script.tx.expectedErrors == 2)
        #expect(script.stats.errors["42P01"]?.unexpected == 1)
        #expect(script.stats.errors["42P01"]?.sampleStep == 0)
        #expect(script.stats.errors["23514"]?.unexpected == 1)
        #expect(script.stats.errors["23514"]?.count == 2)
        #expect(addsUp(script.tx))
    }

    // MARK: The end of a run

    static let orders = """
        name: t
        transactions:
          order:
            steps:
              - UPDATE inventory SET stock = stock - 1 WHERE id = 1
              - pause: 1ms
              - INSERT INTO orders DEFAULT VALUES
        """

    @Test func aStatementThatCompletesAfterTheCancelIsRolledBackNotCommitted() throws {
        var script = try Script(Self.orders)
        _ = script.start()
        _ = script.ok()
        script.machine.requestStop()
        script.machine.cancelInFlight()
        // The cancel came too late: the UPDATE got its lock and succeeded.
        // Before, the machine carried on (pause, INSERT, COMMIT) and did not count it.
        #expect(script.ok() == rollback)
        #expect(script.ok() == .stop)
        #expect(script.tx.attempts == 0)
        #expect(script.stats.errors.isEmpty)
    }

    @Test func aPauseInFlightAtTheCancelRollsBack() throws {
        var script = try Script(Self.orders)
        #expect(script.start() == begin)
        #expect(script.ok() == send("UPDATE inventory SET stock = stock - 1 WHERE id = 1"))
        let pause = script.ok()
        script.machine.requestStop()
        script.machine.cancelInFlight()
        #expect(script.wake(pause) == rollback)
        #expect(script.ok() == .stop)
        #expect(script.tx.attempts == 0)
    }

    @Test func aCommitInFlightAtTheCancelIsCountedWhenItSucceeds() throws {
        var script = try Script(Self.orders)
        _ = script.start()
        _ = script.ok()
        let pause = script.ok()
        #expect(script.wake(pause) == send("INSERT INTO orders DEFAULT VALUES"))
        #expect(script.ok() == commit)
        script.machine.requestStop()
        script.machine.cancelInFlight()
        // The database holds it: counted, with its latency, as committed after the window.
        #expect(script.ok() == .stop)
        #expect(script.tx.committed == 1)
        #expect(script.tx.graceCommitted == 1)
        #expect(script.tx.latency.totalCount == 1)
    }

    @Test func aDeadlockDuringTheCancelIsStillCounted() throws {
        var script = try Script(Self.orders)
        _ = script.start()
        _ = script.ok()
        script.machine.requestStop()
        script.machine.cancelInFlight()
        // The server's deadlock counter counts it: so does lockstorm.
        #expect(script.fail(.deadlockDetected) == rollback)
        #expect(script.ok() == .stop)
        #expect(script.tx.failed == 1)
        #expect(script.tx.count(.deadlock) == 1)
    }

    @Test func commitsAfterTheStopAreCountedAsGraceWork() throws {
        var script = try Script("""
            name: t
            transactions:
              tx:
                steps:
                  - SELECT 1
            """)
        _ = script.start()
        _ = script.ok()
        #expect(script.ok() == commit)
        #expect(script.ok() == begin)
        _ = script.ok()
        #expect(script.ok() == commit)
        script.machine.requestStop()
        #expect(script.ok() == .stop)
        #expect(script.tx.committed == 2)
        #expect(script.tx.graceCommitted == 1)
    }

    // MARK: Retries add up

    /// The hot-row NOWAIT case: 504 failed attempts, 502 retries. Retries
    /// count failed attempts that were tried again; a transaction that used
    /// its last attempt, or that the run ended during its backoff, failed
    /// without a retry.
    @Test func failuresNotRetriedAreTheOnesThatUsedTheirLastAttemptOrMetTheEnd() throws {
        var script = try Script("""
            name: t
            transactions:
              book:
                retry: { on: [lock_not_available], max_attempts: 2, backoff: 1ms }
                steps:
                  - SELECT tickets FROM events WHERE id = 1 FOR UPDATE NOWAIT
            """)
        // Two attempts, both 55P03: the second is the last one.
        _ = script.start()
        _ = script.fail(.lockNotAvailable)
        var backoff = script.ok()
        _ = script.wake(backoff)
        _ = script.fail(.lockNotAvailable)
        #expect(script.ok() == begin)
        #expect(script.tx.failed == 2)
        #expect(script.tx.retries == 1)
        #expect(script.tx.exhaustedRetries == 1)
        // A third failure whose backoff the end of the run cuts short.
        _ = script.fail(.lockNotAvailable)
        backoff = script.ok()
        script.machine.requestStop()
        #expect(script.wake(backoff) == .stop)
        #expect(script.tx.failed == 3)
        #expect(script.tx.retries == 1)
        #expect(script.tx.abandoned == 2)
        // Cut short by the end of the run: not a transaction that gave up.
        #expect(script.tx.exhaustedRetries == 1)
        #expect(addsUp(script.tx))
    }
}

@Suite struct OutcomeValidationTests {
    @Test func rollbackInAnAutocommitTransactionIsRejected() throws {
        let errors = planErrors("""
            name: t
            transactions:
              tx:
                autocommit: true
                steps:
                  - sql: SELECT 1
                    into: x
                    rollback_if: x > 0
            """)
        #expect(errors.contains { $0.contains("autocommit") && $0.contains("rollback_if") })
    }

    @Test func countInAPipelineIsRejected() throws {
        let errors = planErrors("""
            name: t
            transactions:
              tx:
                pipeline: true
                steps:
                  - sql: UPDATE jobs SET done = true
                    count: jobs
            """)
        #expect(errors.contains { $0.contains("pipeline") && $0.contains("'count'") })
    }

    @Test func countNamesAnIdentifier() throws {
        let errors = planErrors("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: UPDATE jobs SET done = true
                    count: jobs done
            """)
        #expect(errors.contains { $0.contains("'count' names a unit of work") })
    }

    @Test func aCounterCannotTakeTheNameOfASummaryColumn() throws {
        for name in ["tps", "committed", "p99_ms", "deadlocks"] {
            let errors = planErrors("""
                name: t
                transactions:
                  tx:
                    steps:
                      - sql: UPDATE jobs SET done = true
                        count: \(name)
                """)
            #expect(errors.contains { $0.contains("'count: \(name)'") && $0.contains("would clash with the summary column") }, "\(name): \(errors)")
        }
    }

    @Test func anUnknownOnEmptyActionListsRollback() throws {
        let errors = planErrors("""
            name: t
            transactions:
              tx:
                steps:
                  - sql: SELECT 1
                    on_empty: rolback
            """)
        #expect(errors.contains { $0.contains("continue, skip, stop or rollback") })
    }

    @Test func countersAreSharedByNameAcrossTransactions() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              a:
                steps:
                  - sql: UPDATE jobs SET done = true WHERE id = 1
                    count: jobs
              b:
                steps:
                  - sql: DELETE FROM events
                    count: events
                  - sql: UPDATE jobs SET done = true WHERE id = 2
                    count: jobs
            """)
        #expect(plan.counterNames == ["jobs", "events"])
    }

    private func planErrors(_ yaml: String) -> [String] {
        do {
            _ = try makePlan(yaml)
            return []
        } catch let error as WorkloadError {
            return error.diagnostics.map(\.message)
        } catch {
            return ["\(error)"]
        }
    }
}

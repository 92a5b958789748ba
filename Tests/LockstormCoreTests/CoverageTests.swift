import Testing
@testable import LockstormCore

@Suite struct CoverageTests {
    @Test func aDuringCheckWithAGapIsNotAPlainPass() {
        let full = DuringCheck(checks: 30, failures: 0, due: 30)
        let gappy = DuringCheck(checks: 12, failures: 0, due: 30, reconnects: 1)
        #expect(full.coverage.isComplete)
        #expect(!gappy.coverage.isComplete)
        #expect(gappy.coverage.missed == 18)
        #expect(full.description == "30 checks during the run, 0 failed")
        #expect(gappy.description == "12 checks during the run, 0 failed; coverage gap: 12 of 30 due (18 missed, 1 reconnect)")
        // Built the old way, a check owes only what it made.
        #expect(DuringCheck(checks: 5).coverage == Coverage(made: 5, due: 5))
    }

    @Test func aScheduleCountsEveryGridPointPassedWhileBehind() {
        var schedule = DueSchedule(first: 1_000, every: 200)
        #expect(!schedule.isDue(999))
        #expect(schedule.take(at: 999) == 0)
        #expect(schedule.take(at: 1_050) == 1)
        #expect(schedule.next == 1_200)
        // Disconnected from 1 200 to 1 890: four points came due, one look made.
        #expect(schedule.take(at: 1_890) == 4)
        #expect(schedule.next == 2_000)
    }

    @Test func aStatementWaitRunsFromItsFirstLockAcrossEveryLockAfter() {
        var tracker = StatementWaitTracker()
        // Waiting behind a first transaction since 100.0 s, seen at 100.4 s.
        #expect(abs(tracker.statementWaited(pid: 7, queryStart: 99.9, waitStart: 100.0, now: 100.4) - 400) < 1e-6)
        // Moved on to the next lock at 100.5 s: waitstart restarts, the statement's wait does not.
        let later = tracker.statementWaited(pid: 7, queryStart: 99.9, waitStart: 100.5, now: 100.9)
        #expect(abs(later - 900) < 1e-6)
        // The session's next statement starts over.
        #expect(tracker.statementWaited(pid: 7, queryStart: 101.0, waitStart: 101.0, now: 101.2).rounded() == 200)
        // waitstart not set yet: waiting from now.
        #expect(tracker.statementWaited(pid: 8, queryStart: 101.0, waitStart: nil, now: 101.2) == 0)
        #expect(tracker.count == 2)
    }

    @Test func aWaitersStatementFigureIsNeverBelowItsLockFigure() {
        let waiter = LockWaitSample.Waiter(pid: 1, event: "transactionid", waitedMilliseconds: 45, statementWaitedMilliseconds: 1_540, blockers: [2])
        let fresh = LockWaitSample.Waiter(pid: 2, event: "tuple", waitedMilliseconds: 30, blockers: [])
        #expect(fresh.statementWaitedMilliseconds == 30)
        let sample = LockWaitSample(waiters: [waiter, fresh])
        #expect(sample.longestWaitMilliseconds == 45)
        #expect(sample.longestStatementWaitMilliseconds == 1_540)
        var summary = LockWaitSummary()
        summary.add(sample)
        #expect(summary.longestWaitMilliseconds == 45)
        #expect(summary.longestStatementWaitMilliseconds == 1_540)
    }
}

import Testing
@testable import LockstormCore

@Suite struct ArrivalScheduleTests {
    @Test func aWindowedScheduleHandsOutExactlyItsCountInOrderInsideTheWindow() {
        var schedule = ArrivalSchedule(count: 1_000, overNanoseconds: 10_000_000_000, random: RandomSource(seed: 3))
        var arrivals: [UInt64] = []
        while let next = schedule.next() { arrivals.append(next) }
        #expect(arrivals.count == 1_000)
        #expect(arrivals == arrivals.sorted())
        #expect(arrivals.allSatisfy { $0 < 10_000_000_000 })
        // Uniform over the window: about half fall in each half.
        let firstHalf = arrivals.filter { $0 < 5_000_000_000 }.count
        #expect((420...580).contains(firstHalf))
        #expect(schedule.remaining == 0)
    }

    @Test func anOpenScheduleHasExponentialGapsWithTheRequestedMean() {
        var schedule = ArrivalSchedule(perSecond: 100, random: RandomSource(seed: 5))
        var last: UInt64 = 0
        var gaps: [Double] = []
        for _ in 0..<20_000 {
            guard let next = schedule.next() else { break }
            gaps.append(Double(next - last))
            last = next
        }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        #expect(abs(mean - 10_000_000) < 300_000)
        #expect(schedule.remaining == nil)
        // Exponential: the standard deviation is about the mean.
        let variance = gaps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(gaps.count)
        #expect(abs(variance.squareRoot() / mean - 1) < 0.05)
    }
}

@Suite struct OpenLoopMachineTests {
    static let yaml = """
        name: t
        transactions:
          tx:
            steps: [SELECT 1]
        """

    @Test func aClientWaitsForItsScheduledStartAndMeasuresLatencyFromIt() throws {
        let plan = try makePlan(Self.yaml)
        let schedule = ArrivalSchedule(count: 3, overNanoseconds: 3_000_000_000, random: RandomSource(seed: 1))
        var copy = schedule
        let due = [copy.next(), copy.next(), copy.next()].compactMap { $0 }
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1, schedule: schedule)
        var stats = RunStats(transactionCount: 1)
        let origin: UInt64 = 1_000
        #expect(machine.start(now: origin, stats: &stats) == .sleep(until: origin + due[0]))
        // The timer fires 2 ms late: the transaction starts, and the lag is recorded.
        let late = origin + due[0] + 2_000_000
        #expect(machine.timerFired(now: late, stats: &stats) == .send(sql: "BEGIN", parameters: []))
        _ = machine.statementSucceeded(now: late + 1_000_000, stats: &stats)
        _ = machine.statementSucceeded(now: late + 2_000_000, stats: &stats)
        _ = machine.statementSucceeded(now: late + 3_000_000, stats: &stats)  // COMMIT done
        // 2 ms of lag + 3 ms of work: latency counts from the scheduled start.
        #expect(stats.transactions[0].latency.max >= 4_990 && stats.transactions[0].latency.max <= 5_010)
        #expect(stats.schedule.scheduled == 1)
        #expect(stats.schedule.lag.max >= 1_990 && stats.schedule.lag.max <= 2_010)
    }

    @Test func startsLaterThanTheLimitAreSkippedAndCounted() throws {
        let plan = try makePlan(Self.yaml)
        let schedule = ArrivalSchedule(count: 10, overNanoseconds: 1_000_000, random: RandomSource(seed: 2))
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1, schedule: schedule, lateLimit: 5_000_000)
        var stats = RunStats(transactionCount: 1)
        // All ten arrivals fall in the first millisecond; the client looks at 100 ms: every one is too late.
        var copy = schedule
        let next = copy.next()
        let first = try #require(next)
        #expect(machine.start(now: 0, stats: &stats) == .sleep(until: first))
        #expect(machine.timerFired(now: 100_000_000, stats: &stats) == .stop)
        #expect(stats.schedule.skipped == 10)
        #expect(stats.schedule.scheduled == 10)
        #expect(stats.transactions[0].attempts == 0)
    }

    @Test func arrivalsPendingWhenTheRunEndsAreCountedAsUnstarted() throws {
        let plan = try makePlan(Self.yaml)
        let schedule = ArrivalSchedule(count: 50, overNanoseconds: 10_000_000_000, random: RandomSource(seed: 4))
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1, schedule: schedule)
        var stats = RunStats(transactionCount: 1)
        guard case .sleep = machine.start(now: 0, stats: &stats) else {
            Issue.record("expected to wait for the first arrival")
            return
        }
        machine.requestStop()
        #expect(machine.timerFired(now: 1, stats: &stats) == .stop)
        #expect(stats.schedule.scheduled == 50)
        #expect(stats.schedule.unstarted == 50)
    }

    @Test func aTransactionInFlightWhenWarmupEndsIsNotCounted() throws {
        let plan = try makePlan(Self.yaml)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1, transactionLimit: 2)
        var stats = RunStats(transactionCount: 1)
        machine.beginWarmup()
        _ = machine.start(now: 0, stats: &stats)              // BEGIN, during warmup
        machine.beginMeasurement()
        _ = machine.statementSucceeded(now: 1, stats: &stats) // step
        _ = machine.statementSucceeded(now: 2, stats: &stats) // COMMIT → the next transaction begins
        #expect(stats.transactions[0].committed == 0)
        // -t counts from the end of warmup: two more transactions, both counted.
        var now: UInt64 = 3
        var action = machine.statementSucceeded(now: now, stats: &stats)
        while action != .stop {
            now += 1
            action = machine.statementSucceeded(now: now, stats: &stats)
        }
        #expect(stats.transactions[0].committed == 2)
    }

    @Test func duringWarmupTheTransactionLimitDoesNotApplyAndNothingIsCounted() throws {
        let plan = try makePlan(Self.yaml)
        var machine = ClientMachine(plan: plan, clientIndex: 0, seed: 1, transactionLimit: 1)
        var stats = RunStats(transactionCount: 1)
        machine.beginWarmup()
        var action = machine.start(now: 0, stats: &stats)
        for now in 1...30 { action = machine.statementSucceeded(now: UInt64(now), stats: &stats) }
        // Ten transactions of three statements each, and still going.
        #expect(action != .stop)
        #expect(stats.transactions[0].attempts == 0)
    }
}

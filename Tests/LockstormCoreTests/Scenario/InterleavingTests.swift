import Testing
@testable import LockstormCore

@Suite("Interleavings: counted before listed, every order kept")
struct InterleavingTests {
    @Test("the count is the multinomial coefficient")
    func countIsMultinomial() {
        #expect(Interleavings.count(stepCounts: [2, 2]) == 6)
        #expect(Interleavings.count(stepCounts: [3, 3]) == 20)
        #expect(Interleavings.count(stepCounts: [4, 4]) == 70)
        #expect(Interleavings.count(stepCounts: [1, 1, 1]) == 6)
        #expect(Interleavings.count(stepCounts: [2, 3, 4]) == 1260)  // 9! / (2! 3! 4!)
        #expect(Interleavings.count(stepCounts: [5, 5, 5]) == 756_756)
        #expect(Interleavings.count(stepCounts: [7]) == 1)
        #expect(Interleavings.count(stepCounts: []) == 1)
    }

    @Test("a count beyond Int is nil, not a trap")
    func overflowIsNil() {
        #expect(Interleavings.count(stepCounts: [40, 40, 40]) == nil)
        #expect(Interleavings.count(stepCounts: [100, 100]) == nil)
        #expect(Interleavings.binomial(66, 33) == 7_219_428_434_016_265_740)
        #expect(Interleavings.binomial(68, 34) == nil)
        #expect(Interleavings.binomial(10, 3) == 120)
        #expect(Interleavings.binomial(3, 5) == 0)
    }

    @Test("the list has count() orders, all distinct, each keeping every session's steps in order")
    func listMatchesCount() {
        for counts in [[3, 3], [4, 4], [2, 3, 1], [1, 1, 1, 1]] {
            let all = Interleavings.all(stepCounts: counts)
            #expect(all.count == Interleavings.count(stepCounts: counts))
            #expect(Set(all).count == all.count)
            #expect(all == all.sorted())
            for order in all {
                for (session, count) in counts.enumerated() {
                    let steps = order.steps.filter { $0.session == session }.map(\.step)
                    #expect(steps == Array(0..<count))
                }
            }
        }
    }

    @Test("of the 20 orders of two 3-step transfers, 12 take both first locks before either second one, 2 are serial")
    func handCountedTransferOrders() {
        // Sessions 0 and 1 each: lock, lock, COMMIT. Deadlock-prone orders are
        // those whose first two positions are both sessions' first steps.
        let all = Interleavings.all(stepCounts: [3, 3])
        let bothFirst = all.filter { Set($0.sessions.prefix(2)) == [0, 1] }
        let serial = all.filter { $0.sessions == [0, 0, 0, 1, 1, 1] || $0.sessions == [1, 1, 1, 0, 0, 0] }
        #expect(bothFirst.count == 2 * Interleavings.count(stepCounts: [2, 2])!)
        #expect(bothFirst.count == 12)
        #expect(serial.count == 2)
    }

    @Test("labels are session.step, 1-based; a partial order is completed session by session")
    func labelsAndCompletion() {
        let order = Interleaving([0, 1, 0, 1])
        #expect(order.label(names: ["a", "b"]) == "a.1 b.1 a.2 b.2")
        #expect(Interleaving([1, 0]).completed(stepCounts: [3, 2]) == Interleaving([1, 0, 0, 0, 1]))
    }
}

@Suite("Interleaving outcome: the most severe thing that happened")
struct InterleavingOutcomeTests {
    @Test("deadlock beats 55P03 beats other errors beats blocked beats committed")
    func severity() {
        let deadlock = SessionResult(failure: (1, .deadlockDetected, "deadlock detected"), wasBlocked: true)
        let nowait = SessionResult(failure: (0, .lockNotAvailable, "could not obtain lock"))
        let unique = SessionResult(failure: (0, .uniqueViolation, "duplicate key"))
        let blocked = SessionResult(wasBlocked: true)
        let clean = SessionResult()
        #expect(InterleavingOutcome.classify([clean, deadlock]) == InterleavingOutcome(kind: .deadlock, session: 1, sqlState: .deadlockDetected))
        #expect(InterleavingOutcome.classify([nowait, blocked]).kind == .lockNotAvailable)
        #expect(InterleavingOutcome.classify([nowait, blocked]).session == 0)
        #expect(InterleavingOutcome.classify([blocked, unique]) == InterleavingOutcome(kind: .otherError, session: 1, sqlState: .uniqueViolation))
        #expect(InterleavingOutcome.classify([unique, nowait]).kind == .lockNotAvailable)
        #expect(InterleavingOutcome.classify([clean, blocked]) == InterleavingOutcome(kind: .blocked))
        #expect(InterleavingOutcome.classify([clean, clean]) == InterleavingOutcome(kind: .committed))
    }
}

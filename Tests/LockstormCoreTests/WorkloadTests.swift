import Testing
@testable import LockstormCore

@Suite struct WorkloadTests {
    @Test func isolationLevelsSpellTheirBegin() {
        #expect(IsolationLevel.readCommitted.sql == "BEGIN ISOLATION LEVEL READ COMMITTED")
        #expect(IsolationLevel.repeatableRead.sql == "BEGIN ISOLATION LEVEL REPEATABLE READ")
        #expect(IsolationLevel.serializable.sql == "BEGIN ISOLATION LEVEL SERIALIZABLE")
    }

    @Test func effectiveDefaultVariantIsTheFirstWhenNoneIsNamed() {
        let workload = Workload(name: "w", variants: [Variant(name: "a"), Variant(name: "b")])
        #expect(workload.effectiveDefaultVariant == "a")
        #expect(Workload(name: "w", variants: [Variant(name: "a")], defaultVariant: "z").effectiveDefaultVariant == "z")
        #expect(Workload(name: "w").effectiveDefaultVariant == nil)
    }

    @Test func noBackoffAndConstantBackoff() {
        var random = RandomSource(seed: 1)
        #expect(Backoff.none.delay(retry: 1, random: &random) == 0)
        #expect(Backoff.constant(5_000_000).delay(retry: 1, random: &random) == 5_000_000)
        #expect(Backoff.constant(5_000_000).delay(retry: 4, random: &random) == 5_000_000)
    }

    @Test func exponentialBackoffDoublesUpToItsCap() {
        var random = RandomSource(seed: 1)
        let backoff = Backoff.exponential(base: 1_000_000, cap: 5_000_000, jitter: false)
        #expect((1...5).map { backoff.delay(retry: $0, random: &random) } == [1_000_000, 2_000_000, 4_000_000, 5_000_000, 5_000_000])
        // Shifts that would overflow are capped, not trapped.
        #expect(backoff.delay(retry: 1_000, random: &random) == 5_000_000)
        #expect(Backoff.exponential(base: .max / 2, cap: 7, jitter: false).delay(retry: 3, random: &random) == 7)
    }

    @Test func jitteredBackoffStaysWithinTheDelay() {
        var random = RandomSource(seed: 1)
        let backoff = Backoff.exponential(base: 1_000, cap: 1_000_000, jitter: true)
        var seen: Set<Int64> = []
        for _ in 0..<1_000 {
            let delay = backoff.delay(retry: 3, random: &random)
            #expect((0...4_000).contains(delay))
            seen.insert(delay)
        }
        #expect(seen.count > 500)
    }
}

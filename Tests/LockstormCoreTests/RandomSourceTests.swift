import Testing
@testable import LockstormCore

@Suite struct RandomSourceTests {
    private func sequence(_ random: inout RandomSource, count: Int = 100) -> [UInt64] {
        (0..<count).map { _ in random.next() }
    }

    @Test func sameSeedAndStreamReproduceTheSameSequence() {
        var a = RandomSource(seed: 42, stream: 3)
        var b = RandomSource(seed: 42, stream: 3)
        #expect(sequence(&a) == sequence(&b))
    }

    @Test func sameSeedReproducesTheSameSequence() {
        var a = RandomSource(seed: 7)
        var b = RandomSource(seed: 7)
        #expect(sequence(&a) == sequence(&b))
    }

    @Test func differentStreamsOfOneSeedDiffer() {
        var a = RandomSource(seed: 42, stream: 0)
        var b = RandomSource(seed: 42, stream: 1)
        let first = sequence(&a), second = sequence(&b)
        #expect(first != second)
        #expect(Set(first).isDisjoint(with: second))
    }

    @Test func differentSeedsDiffer() {
        var a = RandomSource(seed: 1, stream: 0)
        var b = RandomSource(seed: 2, stream: 0)
        #expect(sequence(&a) != sequence(&b))
    }

    @Test func uniformStaysWithinInclusiveBoundsAndHitsBothEnds() {
        var random = RandomSource(seed: 99, stream: 0)
        var seen: Set<Int64> = []
        for _ in 0..<10_000 {
            let value = random.uniform(-3, 3)
            #expect((-3...3).contains(value))
            seen.insert(value)
        }
        #expect(seen == Set(-3...3))
    }

    @Test func uniformWithEqualBoundsReturnsThatBound() {
        var random = RandomSource(seed: 5)
        for _ in 0..<10 { #expect(random.uniform(17, 17) == 17) }
    }

    @Test func uniformOverTheWholeRangeDoesNotTrap() {
        var random = RandomSource(seed: 5)
        let values = (0..<100).map { _ in random.uniform(.min, .max) }
        #expect(Set(values).count > 90)
    }

    @Test func unitIsInHalfOpenUnitInterval() {
        var random = RandomSource(seed: 11)
        var below = 0
        for _ in 0..<10_000 {
            let value = random.unit()
            #expect(value >= 0 && value < 1)
            if value < 0.5 { below += 1 }
        }
        // Roughly half the draws fall below 0.5 (a wide margin: 10 000 draws).
        #expect((4_500...5_500).contains(below))
    }
}

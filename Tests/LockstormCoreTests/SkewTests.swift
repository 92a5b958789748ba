import Foundation
import Testing
@testable import LockstormCore

/// Frequencies of `draws` samples of `distribution`, by value.
private func frequencies(_ distribution: CompiledDistribution, draws: Int, seed: UInt64) -> [Value: Int] {
    var random = RandomSource(seed: seed)
    var counts: [Value: Int] = [:]
    for _ in 0..<draws { counts[distribution.draw(&random), default: 0] += 1 }
    return counts
}

/// Zipf's law: P(k) = k^-s / Σ j^-s, for k in 1…n.
private func zipfProbabilities(count: Int, exponent: Double) -> [Double] {
    let weights = (1...count).map { pow(Double($0), -exponent) }
    let total = weights.reduce(0, +)
    return weights.map { $0 / total }
}

@Suite struct SkewTests {
    // MARK: zipf

    @Test(arguments: [(10, 1.1), (20, 0.5), (20, 1.0), (8, 2.0), (5, 3.5)])
    func zipfFrequenciesFollowThePowerLaw(count: Int, exponent: Double) {
        let sampler = ZipfSampler(count: Int64(count), exponent: exponent)
        var random = RandomSource(seed: 2024)
        var counts = [Int](repeating: 0, count: count + 1)
        let draws = 200_000
        for _ in 0..<draws {
            let k = sampler.sample(&random)
            #expect((1...Int64(count)).contains(k))
            if (1...Int64(count)).contains(k) { counts[Int(k)] += 1 }
        }
        let expected = zipfProbabilities(count: count, exponent: exponent)
        for k in 1...count {
            let observed = Double(counts[k]) / Double(draws)
            // The standard error is at most ~0.0011 here: 0.01 is far outside it.
            #expect(abs(observed - expected[k - 1]) < 0.01, "P(\(k)) = \(observed), expected \(expected[k - 1])")
        }
        // Rank 1 dominates and frequencies fall with rank.
        #expect(counts[1] == counts[1...].max())
        #expect(counts[1] > counts[2] && counts[2] > counts[count])
    }

    @Test func zipfRatioOfTheFirstTwoRanksIsTwoToTheExponent() {
        let sampler = ZipfSampler(count: 1_000, exponent: 1.1)
        var random = RandomSource(seed: 7)
        var first = 0, second = 0
        for _ in 0..<300_000 {
            switch sampler.sample(&random) {
            case 1: first += 1
            case 2: second += 1
            default: break
            }
        }
        let ratio = Double(first) / Double(second)
        #expect(abs(ratio - pow(2, 1.1)) < 0.1, "ratio \(ratio)")
    }

    @Test func zipfOverAHugeRangeStaysInRangeAndIsHeadHeavy() {
        let sampler = ZipfSampler(count: 10_000_000, exponent: 1.1)
        var random = RandomSource(seed: 3)
        var ones = 0, belowThousand = 0
        for _ in 0..<50_000 {
            let k = sampler.sample(&random)
            #expect((1...10_000_000).contains(k))
            if k == 1 { ones += 1 }
            if k <= 1_000 { belowThousand += 1 }
        }
        // P(1) ≈ 1/ζ-ish ≈ 0.13 for n = 10^7 and s = 1.1; most draws land in the first thousand.
        #expect(ones > 4_500)
        #expect(belowThousand > 25_000)
    }

    @Test func zipfOfOneValueAlwaysDrawsIt() {
        let sampler = ZipfSampler(count: 1, exponent: 1.1)
        var random = RandomSource(seed: 1)
        #expect((0..<100).allSatisfy { _ in sampler.sample(&random) == 1 })
    }

    @Test func zipfDistributionIsOffsetByItsLowerBound() {
        let counts = frequencies(.zipf(lower: 100, ZipfSampler(count: 5, exponent: 1.1)), draws: 20_000, seed: 5)
        #expect(Set(counts.keys) == Set((100...104).map { Value.int($0) }))
        #expect(counts[.int(100)] == counts.values.max())
    }

    // MARK: hotspot

    @Test(arguments: [0.9, 0.5, 0.99])
    func hotspotHotShareMatchesItsProbability(probability: Double) {
        let draws = 100_000
        let counts = frequencies(.hotspot(lower: 1, upper: 1_000, hotCount: 10, probability: probability), draws: draws, seed: 17)
        var hot = 0
        for (value, count) in counts {
            let k = value.integer ?? -1
            #expect((1...1_000).contains(k))
            if k <= 10 { hot += count }
        }
        // The cold range also holds none of the hot values, so the hot share is the probability.
        #expect(abs(Double(hot) / Double(draws) - probability) < 0.01)
        // Within the hot set every value is about equally likely.
        for k in 1...10 {
            let share = Double(counts[.int(Int64(k))] ?? 0) / Double(hot)
            #expect(abs(share - 0.1) < 0.02)
        }
    }

    @Test func hotspotExtremes() {
        // Probability 0: only the cold part; 1: only the hot part.
        let cold = frequencies(.hotspot(lower: 1, upper: 100, hotCount: 10, probability: 0), draws: 5_000, seed: 1)
        #expect(cold.keys.allSatisfy { (11...100).contains($0.integer ?? 0) })
        let hot = frequencies(.hotspot(lower: 1, upper: 100, hotCount: 10, probability: 1), draws: 5_000, seed: 1)
        #expect(Set(hot.keys) == Set((1...10).map { Value.int($0) }))
        // A hot set covering the whole range draws from the whole range.
        let whole = frequencies(.hotspot(lower: 5, upper: 9, hotCount: 5, probability: 0.2), draws: 5_000, seed: 1)
        #expect(Set(whole.keys) == Set((5...9).map { Value.int($0) }))
    }

    @Test func hotspotOverTheWidestRangeStaysInRange() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                let:
                  a: hotspot(1, 9223372036854775807, 1, 0.5)
                  b: hotspot(0, 9223372036854775806, 0.5, 0.5)
                steps:
                  - SELECT :a, :b
            """)
        for draw in plan.transactions[0].draws {
            var random = RandomSource(seed: 99)
            for _ in 0..<1_000 {
                let value = try #require(draw.distribution.draw(&random).integer)
                #expect(value >= 0)
            }
        }
    }

    @Test func hotspotCompilesItsHotSetFromTheFraction() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                let:
                  a: hotspot(1, 1000, 0.01, 0.9)
                  b: hotspot(1, 10, 0.001, 0.9)
                  c: hotspot(1, 10, 1, 0.9)
                steps:
                  - SELECT :a, :b, :c
            """)
        #expect(plan.transactions[0].draws.map(\.distribution) == [
            .hotspot(lower: 1, upper: 1_000, hotCount: 10, probability: 0.9),
            // At least one value is hot.
            .hotspot(lower: 1, upper: 10, hotCount: 1, probability: 0.9),
            .hotspot(lower: 1, upper: 10, hotCount: 10, probability: 0.9),
        ])
    }

    // MARK: choice

    @Test func choiceCoversEveryValueEqually() {
        let values: [Value] = [.string("red"), .int(2), .bool(true), .double(0.5)]
        let draws = 40_000
        let counts = frequencies(.choice(values), draws: draws, seed: 12)
        #expect(Set(counts.keys) == Set(values))
        for value in values {
            #expect(abs(Double(counts[value] ?? 0) / Double(draws) - 0.25) < 0.01)
        }
        #expect(frequencies(.choice([.string("only")]), draws: 100, seed: 1) == [.string("only"): 100])
    }

    // MARK: Reproducibility

    @Test func sameSeedGivesTheSameSequenceForEveryDistribution() {
        let distributions: [CompiledDistribution] = [
            .zipf(lower: 1, ZipfSampler(count: 1_000, exponent: 1.1)),
            .hotspot(lower: 1, upper: 1_000, hotCount: 10, probability: 0.9),
            .choice([.int(1), .int(2), .int(3), .string("x")]),
        ]
        for distribution in distributions {
            var first = RandomSource(seed: 77, stream: 3), second = RandomSource(seed: 77, stream: 3), other = RandomSource(seed: 78, stream: 3)
            let a = (0..<500).map { _ in distribution.draw(&first) }
            let b = (0..<500).map { _ in distribution.draw(&second) }
            let c = (0..<500).map { _ in distribution.draw(&other) }
            #expect(a == b)
            #expect(a != c)
        }
    }

    @Test func clientsReproduceTheirSkewedDrawsFromTheSeed() throws {
        let plan = try makePlan("""
            name: t
            transactions:
              tx:
                let:
                  a: zipf(1, 100, 1.2)
                  b: hotspot(1, 100, 0.1, 0.8) != a
                  c: choice('x', 'y', 'z')
                steps:
                  - SELECT :a, :b, :c
            """)
        func parameters(seed: UInt64) -> [[String?]] {
            var machine = ClientMachine(plan: plan, clientIndex: 1, seed: seed, transactionLimit: 200)
            var stats = RunStats(transactionCount: 1)
            var sent: [[String?]] = []
            var action = machine.start(now: 0, stats: &stats)
            while case .send(let sql, let values) = action {
                if sql.hasPrefix("SELECT $") {
                    sent.append(Array(values))
                    #expect(values[0] != values[1])
                }
                action = machine.statementSucceeded(now: 0, stats: &stats)
            }
            return sent
        }
        let first = parameters(seed: 5)
        #expect(first.count == 200)
        #expect(first == parameters(seed: 5))
        #expect(first != parameters(seed: 6))
        #expect(Set(first.map { $0[2] }) == ["x", "y", "z"])
    }
}

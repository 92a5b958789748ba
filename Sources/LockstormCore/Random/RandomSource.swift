/// A small, fast, seedable generator (xoshiro256**), so that a seed
/// reproduces every client's sequence exactly on every platform.
public struct RandomSource: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Seeds the state from `seed` with SplitMix64, as the xoshiro authors recommend.
    public init(seed: UInt64) {
        var state = seed
        func splitMix() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    /// The generator for client `index` of a run seeded with `seed`: streams
    /// of different clients are independent, and each depends only on the pair.
    public init(seed: UInt64, stream index: Int) {
        var mixer = RandomSource(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD605_BBB5_8C8A_BBB1))
        self.init(seed: mixer.next())
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform integer in `lower...upper` (inclusive), without modulo bias.
    public mutating func uniform(_ lower: Int64, _ upper: Int64) -> Int64 {
        if lower >= upper { return lower }
        let span = UInt64(bitPattern: upper &- lower) &+ 1
        if span == 0 { return Int64(bitPattern: next()) }
        return lower &+ Int64(bitPattern: UInt64.random(in: 0..<span, using: &self))
    }

    /// A uniform double in `0..<1`.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

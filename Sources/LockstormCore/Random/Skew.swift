import Foundation

/// Zipf-distributed integers 1…n (P(k) ∝ 1/k^s) by rejection-inversion
/// (Hörmann & Derflinger, 1996): constant time per draw, no tables, any
/// n, any exponent s > 0 — so `zipf(1, 10000000, 1.1)` costs what
/// `zipf(1, 10, 1.1)` costs.
public struct ZipfSampler: Sendable, Hashable {
    public let count: Int64
    public let exponent: Double
    private let hIntegralX1: Double
    private let hIntegralN: Double
    private let threshold: Double

    public init(count: Int64, exponent: Double) {
        precondition(count >= 1 && exponent > 0, "ZipfSampler needs count ≥ 1 and exponent > 0")
        self.count = count
        self.exponent = exponent
        hIntegralX1 = Self.hIntegral(1.5, exponent) - 1
        hIntegralN = Self.hIntegral(Double(count) + 0.5, exponent)
        threshold = 2 - Self.hIntegralInverse(Self.hIntegral(2.5, exponent) - Self.h(2, exponent), exponent)
    }

    /// A value in 1…count.
    public func sample(_ random: inout RandomSource) -> Int64 {
        if count == 1 { return 1 }
        while true {
            let u = hIntegralN + random.unit() * (hIntegralX1 - hIntegralN)
            let x = Self.hIntegralInverse(u, exponent)
            var k = Int64((x + 0.5).rounded(.down))
            if k < 1 { k = 1 } else if k > count { k = count }
            if Double(k) - x <= threshold || u >= Self.hIntegral(Double(k) + 0.5, exponent) - Self.h(Double(k), exponent) {
                return k
            }
        }
    }

    private static func h(_ x: Double, _ s: Double) -> Double { exp(-s * log(x)) }

    private static func hIntegral(_ x: Double, _ s: Double) -> Double {
        let logX = log(x)
        return helper2((1 - s) * logX) * logX
    }

    private static func hIntegralInverse(_ x: Double, _ s: Double) -> Double {
        var t = x * (1 - s)
        if t < -1 { t = -1 }
        return exp(helper1(t) * x)
    }

    /// log(1 + x) / x, accurate near 0.
    private static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }

    /// (exp(x) − 1) / x, accurate near 0.
    private static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x))
    }
}

/// One order of all sessions' steps that keeps each session's own order:
/// the session of each position. Session `i`'s k-th appearance is its k-th step.
public struct Interleaving: Sendable, Hashable, Comparable {
    public var sessions: [Int]

    public init(_ sessions: [Int]) {
        self.sessions = sessions
    }

    public static func < (lhs: Interleaving, rhs: Interleaving) -> Bool { lhs.sessions.lexicographicallyPrecedes(rhs.sessions) }

    /// `(session, step)` for every position, steps 0-based.
    public var steps: [(session: Int, step: Int)] {
        var next: [Int: Int] = [:]
        return sessions.map { session in
            let step = next[session, default: 0]
            next[session] = step + 1
            return (session, step)
        }
    }

    /// `a.1 b.1 a.2 b.2`, with 1-based steps.
    public func label(names: [String]) -> String {
        steps.map { "\(names[$0.session]).\($0.step + 1)" }.joined(separator: " ")
    }

    /// Completes a partial order: steps it leaves out follow it, session by session.
    public func completed(stepCounts: [Int]) -> Interleaving {
        var seen = Array(repeating: 0, count: stepCounts.count)
        for session in sessions where session < seen.count { seen[session] += 1 }
        var result = sessions
        for (session, count) in stepCounts.enumerated() where seen[session] < count {
            result += Array(repeating: session, count: count - seen[session])
        }
        return Interleaving(result)
    }
}

/// Counting and listing interleavings.
public enum Interleavings {
    /// The number of interleavings of sessions with these step counts: the
    /// multinomial coefficient (n₁+…+nₖ)! / (n₁!…nₖ!), computed as a product
    /// of binomials so that it is known before anything is listed. `nil`
    /// when it does not fit in an `Int`.
    public static func count(stepCounts: [Int]) -> Int? {
        var total = 0
        var result = 1
        for count in stepCounts where count > 0 {
            total += count
            guard let binomial = binomial(total, count) else { return nil }
            let (product, overflow) = result.multipliedReportingOverflow(by: binomial)
            if overflow { return nil }
            result = product
        }
        return result
    }

    /// C(n, k), or `nil` on overflow. Each partial product C(n-k+i, i) is a
    /// whole number, so the division is exact at every step.
    public static func binomial(_ n: Int, _ k: Int) -> Int? {
        guard k >= 0, k <= n else { return 0 }
        let k = min(k, n - k)
        var result = 1
        for i in 0..<k {
            // result * (n - i) / (i + 1), dividing first by the gcd to delay overflow.
            let factor = n - i, divisor = i + 1
            let g = gcd(result, divisor)
            let reduced = result / g
            let (product, overflow) = reduced.multipliedReportingOverflow(by: factor / (divisor / g))
            guard factor % (divisor / g) == 0 else {
                // divisor/g divides factor * reduced; since gcd(reduced, divisor/g) == 1 it divides factor.
                return nil
            }
            if overflow { return nil }
            result = product
        }
        return result
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// Every interleaving, in lexicographic order of session indices.
    /// Callers check `count` against their limit first.
    public static func all(stepCounts: [Int]) -> [Interleaving] {
        var result: [Interleaving] = []
        var remaining = stepCounts
        var current: [Int] = []
        let total = stepCounts.reduce(0, +)
        current.reserveCapacity(total)
        func extend() {
            if current.count == total {
                result.append(Interleaving(current))
                return
            }
            for session in remaining.indices where remaining[session] > 0 {
                remaining[session] -= 1
                current.append(session)
                extend()
                current.removeLast()
                remaining[session] += 1
            }
        }
        extend()
        return result
    }
}

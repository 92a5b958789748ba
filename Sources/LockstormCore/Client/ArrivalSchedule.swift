import Foundation

/// When a client's transactions are due under `-R` (open-loop load).
///
/// Arrivals are a Poisson process. For a run of known length the schedule
/// is drawn as a Poisson process *conditioned on its count*: exactly
/// `count` arrival times, uniform over the window and taken in order, so
/// the run schedules `rate × duration` starts by construction. Without a
/// length (`-t`), gaps are exponential with mean `1 / rate`.
public struct ArrivalSchedule: Sendable {
    enum Mode: Sendable {
        /// `remaining` sorted uniform points left in (position, 1) of a window.
        case window(length: Double, remaining: Int, position: Double)
        /// Exponential gaps with this mean, in nanoseconds; `offset` is the last arrival.
        case rate(meanGap: Double, offset: Double)
    }

    private var mode: Mode
    private var random: RandomSource

    /// Exactly `count` arrivals spread over `lengthNanoseconds`.
    public init(count: Int, overNanoseconds length: UInt64, random: RandomSource) {
        mode = .window(length: Double(length), remaining: max(count, 0), position: 0)
        self.random = random
    }

    /// Arrivals at `perSecond` on average, without end.
    public init(perSecond rate: Double, random: RandomSource) {
        mode = .rate(meanGap: 1e9 / max(rate, 1e-9), offset: 0)
        self.random = random
    }

    /// Arrivals not yet handed out, for a windowed schedule (`nil`: unbounded).
    public var remaining: Int? {
        if case .window(_, let remaining, _) = mode { return remaining }
        return nil
    }

    /// The next arrival, in nanoseconds after the schedule's origin; `nil`
    /// when a windowed schedule is used up.
    public mutating func next() -> UInt64? {
        switch mode {
        case .window(let length, let remaining, let position):
            guard remaining > 0 else { return nil }
            // The smallest of `remaining` uniforms on (position, 1).
            let u = max(random.unit(), 1e-300)
            let next = position + (1 - position) * (1 - pow(u, 1 / Double(remaining)))
            mode = .window(length: length, remaining: remaining - 1, position: next)
            return UInt64(next * length)
        case .rate(let meanGap, let offset):
            let u = max(random.unit(), 1e-300)
            let next = offset - meanGap * log(u)
            mode = .rate(meanGap: meanGap, offset: next)
            return UInt64(next)
        }
    }
}

/// How many of the looks a background monitor owed the run it made: the
/// lock-wait sampler's samples, a `during:` invariant's checks. A monitor
/// whose connection broke makes fewer than were due; the gap is what tells
/// "passed every check" from "passed the checks it managed to make".
///
/// Counting rule: a look is due at each point of a fixed grid (`start`,
/// `start + every`, …) that the run reaches while the monitor runs, and made
/// when its query returned. A look that came due while the monitor was
/// disconnected, or that a slow look before it pushed past its whole slot,
/// is due and not made.
public struct Coverage: Sendable, Hashable {
    public var made: Int
    public var due: Int
    /// Connections the monitor opened again after one broke.
    public var reconnects: Int

    public init(made: Int = 0, due: Int = 0, reconnects: Int = 0) {
        self.made = made
        self.due = due
        self.reconnects = reconnects
    }

    /// Looks due and not made.
    public var missed: Int { max(due - made, 0) }

    /// Every look that was due was made.
    public var isComplete: Bool { made >= due }

    /// Made over due, 1 when none was due.
    public var fraction: Double { due > 0 ? min(Double(made) / Double(due), 1) : 1 }

    /// "58 of 61 due (3 missed, 2 reconnects)", or "61 of 61 due".
    public var description: String {
        var text = "\(made) of \(due) due"
        var notes: [String] = []
        if missed > 0 { notes.append("\(missed) missed") }
        if reconnects > 0 { notes.append("\(reconnects) reconnect\(reconnects == 1 ? "" : "s")") }
        if !notes.isEmpty { text += " (" + notes.joined(separator: ", ") + ")" }
        return text
    }
}

/// The fixed grid a monitor's looks fall due on, and the tally of them.
/// A value type with no clock of its own: the monitor hands it the time.
public struct DueSchedule: Sendable, Hashable {
    /// The next grid point, in the caller's clock (nanoseconds).
    public private(set) var next: UInt64
    public let every: UInt64

    public init(first: UInt64, every: UInt64) {
        self.next = first
        self.every = max(every, 1)
    }

    /// Whether a look is due at `now`.
    public func isDue(_ now: UInt64) -> Bool { now >= next }

    /// Takes the look due at `now`: moves past every grid point up to `now`
    /// and returns how many came due (1, or more when the monitor fell behind).
    public mutating func take(at now: UInt64) -> Int {
        guard now >= next else { return 0 }
        let points = Int((now - next) / every) + 1
        next = next &+ UInt64(points) &* every
        return points
    }
}

import Foundation
import LockstormCore

/// A length of time given on the command line: a bare number is seconds (as
/// in pgbench), otherwise a duration literal such as `30s`, `2min` or `200ms`.
/// Parsed once, when the arguments are; the commands read `seconds`.
public struct TimeSpan: Sendable, Hashable, CustomStringConvertible {
    public let seconds: Double
    /// The text it was parsed from, for messages.
    public let text: String

    /// `text` is how messages and help show it (default: whole seconds, `30s`).
    public init(seconds: Double, text: String? = nil) {
        self.seconds = seconds
        self.text = text ?? Format.fixed(seconds, digits: seconds == seconds.rounded() ? 0 : 3) + "s"
    }

    /// Nil when `text` is neither a finite non-negative number nor a
    /// non-negative duration literal (`parse` says why).
    public init?(parsing text: String) {
        guard let span = try? Self.parse(text) else { return nil }
        self = span
    }

    /// What a length of time may be written as, for messages.
    public static let forms = "seconds (10, 2.5) or a duration with a unit (500ms, 30s, 2min, 1h)"

    /// Parses `text` as `init?(parsing:)` does; the error says what is allowed.
    /// Zero parses: whether it means anything is the flag's to say.
    public static func parse(_ text: String) throws(ArgumentValueError) -> TimeSpan {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) {
            guard seconds.isFinite else { throw ArgumentValueError("'\(text)' is not a length of time: give \(forms)") }
            guard seconds >= 0 else { throw ArgumentValueError("a length of time cannot be negative: give \(forms)") }
            return TimeSpan(seconds: seconds, text: text)
        }
        // "-5s": a duration, but negative.
        let negative = trimmed.hasPrefix("-")
        guard case .constant(.int(let nanoseconds))? = try? ExpressionParser.parse(negative ? String(trimmed.dropFirst()) : trimmed) else {
            throw ArgumentValueError("'\(text)' is not a length of time: give \(forms)")
        }
        guard !negative && nanoseconds >= 0 else { throw ArgumentValueError("a length of time cannot be negative: give \(forms)") }
        return TimeSpan(seconds: Double(nanoseconds) / 1e9, text: text)
    }

    public var description: String { text }
}

/// PostgreSQL's `deadlock_timeout`: a bare number is milliseconds (the
/// setting's own unit), otherwise a duration literal of at least 1ms.
public struct DeadlockTimeout: Sendable, Hashable, CustomStringConvertible {
    public let milliseconds: Int

    public init(milliseconds: Int) { self.milliseconds = milliseconds }

    /// Nil when `text` is not a positive whole number of milliseconds or a
    /// duration of at least 1ms (`parse` says why).
    public init?(parsing text: String) {
        guard let timeout = try? Self.parse(text) else { return nil }
        self = timeout
    }

    /// What is allowed, for messages: PostgreSQL takes 1ms and up (0 is not a setting it accepts).
    public static let allowed = "at least 1ms, PostgreSQL's minimum: milliseconds (100) or a duration (100ms, 1s)"

    /// Parses `text` as `init?(parsing:)` does; the error says what is allowed.
    public static func parse(_ text: String) throws(ArgumentValueError) -> DeadlockTimeout {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let milliseconds = Int(trimmed) {
            guard milliseconds > 0 else { throw ArgumentValueError("deadlock_timeout must be \(allowed)") }
            return DeadlockTimeout(milliseconds: milliseconds)
        }
        if let number = Double(trimmed), number.isFinite {
            throw ArgumentValueError(number < 1 ? "deadlock_timeout must be \(allowed)" : "'\(text)' is not a whole number of milliseconds: give \(allowed)")
        }
        guard case .constant(.int(let nanoseconds))? = try? ExpressionParser.parse(trimmed) else {
            throw ArgumentValueError("'\(text)' is not a duration: deadlock_timeout must be \(allowed)")
        }
        guard nanoseconds >= 1_000_000 else { throw ArgumentValueError("deadlock_timeout must be \(allowed)") }
        return DeadlockTimeout(milliseconds: Int(nanoseconds / 1_000_000))
    }

    public var description: String { "\(milliseconds)ms" }
}

/// Why a flag's value was refused: what was wrong and what is allowed.
public struct ArgumentValueError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// One `--set name=value`: a workload parameter and its value, read as a
/// number or boolean where it looks like one.
public struct ParameterOverride: Sendable {
    public let name: String
    public let value: Value

    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }

    /// Nil when `text` has no `=` or no name before it.
    public init?(parsing text: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { return nil }
        self.name = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
        self.value = Value.parse(text: String(text[text.index(after: equals)...]))
    }

    /// The pairs as `Workload.plan(overrides:)` takes them.
    public static func pairs(_ overrides: [ParameterOverride]) -> [(name: String, value: Value)] {
        overrides.map { ($0.name, $0.value) }
    }
}

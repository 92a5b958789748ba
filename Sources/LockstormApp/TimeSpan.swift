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

    /// Nil when `text` is neither a finite non-negative number nor a positive duration literal.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) {
            guard seconds >= 0 && seconds.isFinite else { return nil }
            self.seconds = seconds
        } else {
            guard case .constant(.int(let nanoseconds))? = try? ExpressionParser.parse(trimmed), nanoseconds > 0 else { return nil }
            self.seconds = Double(nanoseconds) / 1e9
        }
        self.text = text
    }

    public var description: String { text }
}

/// PostgreSQL's `deadlock_timeout`: a bare number is milliseconds (the
/// setting's own unit), otherwise a duration literal of at least 1ms.
public struct DeadlockTimeout: Sendable, Hashable, CustomStringConvertible {
    public let milliseconds: Int

    public init(milliseconds: Int) { self.milliseconds = milliseconds }

    /// Nil when `text` is not a positive whole number of milliseconds or a duration of at least 1ms.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let milliseconds = Int(trimmed) {
            guard milliseconds > 0 else { return nil }
            self.milliseconds = milliseconds
            return
        }
        guard case .constant(.int(let nanoseconds))? = try? ExpressionParser.parse(trimmed), nanoseconds >= 1_000_000 else { return nil }
        self.milliseconds = Int(nanoseconds / 1_000_000)
    }

    public var description: String { "\(milliseconds)ms" }
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

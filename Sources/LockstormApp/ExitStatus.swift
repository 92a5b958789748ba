import LockstormCore

/// lockstorm's exit codes, part of its interface (documented in the README).
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// A check or an invariant failed.
    case checksFailed = 1
    /// Bad command line or workload file.
    case usage = 2
    /// The run could not be carried out: no connection, setup failed, server lost.
    case runError = 3
    /// Stopped by Ctrl-C (SIGINT); results so far were written.
    case interrupted = 130
    /// Stopped by SIGTERM or SIGHUP (terminal gone); results so far were written.
    case terminated = 143
}

/// An error that ends the program with a given status after printing its message.
public struct Failure: Error, Sendable {
    public var status: ExitStatus
    public var message: String

    public init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }
}

extension Failure {
    /// The one of `names` closest to a misspelt `name`, by the rule every
    /// "did you mean" of lockstorm uses; `nil` when none is close.
    public static func closest(to name: String, in names: [String]) -> String? {
        Suggestion.closest(to: name, in: names)
    }
}

public enum LockstormVersion {
    public static let string = "0.1.0"
}

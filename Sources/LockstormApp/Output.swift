import Foundation

/// Where the pipelines send what a person reads: results on stdout, notes on
/// stderr. The CLI passes ``StandardOutput``; tests pass a recorder.
public protocol OutputSink: Sendable {
    /// Writes `text` to standard output as it is (no newline added).
    func write(_ text: String)
    /// Writes `text` to standard error as it is.
    func writeError(_ text: String)
}

extension OutputSink {
    /// One line on standard output.
    public func line(_ text: String = "") { write(text + "\n") }

    /// A message for a person on standard error, prefixed `lockstorm: `, so stdout stays for results.
    public func note(_ text: String) { writeError("lockstorm: " + text + "\n") }
}

/// The process's stdout (buffered, as `print`) and stderr.
///
/// stdout is flushed before anything goes to stderr, so that where both go to
/// one file (a CI log, `2>&1`) they appear in the order they were written:
/// the summary table before the verdict line.
public struct StandardOutput: OutputSink {
    public init() {}

    public func write(_ text: String) { print(text, terminator: "") }

    public func writeError(_ text: String) {
        Self.flush()
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }

    /// Writes out what stdout holds (every C stream: `stdout` itself is not concurrency-safe to name); call it before writing to stderr directly.
    public static func flush() { fflush(nil) }
}

/// Paths as the user sees them: relative to the current directory when under it.
public enum DisplayPath {
    public static func relative(_ path: String, to current: String = FileManager.default.currentDirectoryPath) -> String {
        let prefix = current.hasSuffix("/") ? current : current + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}

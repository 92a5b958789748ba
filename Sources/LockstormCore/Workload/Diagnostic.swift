/// One problem found in a workload file, with where it is.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible, Comparable {
    public var file: String
    public var location: SourceLocation
    public var message: String

    public init(file: String, location: SourceLocation, message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    /// `file:line:col: message`, the form editors and CI logs understand.
    public var description: String { "\(file):\(location.line):\(location.column): \(message)" }

    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        (lhs.file, lhs.location.line, lhs.location.column, lhs.message) < (rhs.file, rhs.location.line, rhs.location.column, rhs.message)
    }
}

/// Every problem found in a workload, reported at once.
public struct WorkloadError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted()
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Suggests the closest known name for a misspelt one.
public enum Suggestion {
    public static func closest(to name: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(name.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let limit = max(1, min(3, name.count / 3))
        return best.1 <= limit ? best.0 : nil
    }

    static func didYouMean(_ name: String, in candidates: [String]) -> String {
        if let suggestion = closest(to: name, in: candidates) { return "; did you mean '\(suggestion)'?" }
        return candidates.isEmpty ? "" : " (expected one of: \(candidates.joined(separator: ", ")))"
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

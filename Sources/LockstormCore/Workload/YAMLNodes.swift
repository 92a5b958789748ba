import Yams

/// Node readers shared by the workload and scenario parsers.
enum YAMLNodes {
    /// The entries of a mapping node in file order. With `allowed`, unknown
    /// keys are reported with a suggestion; duplicates are always reported.
    /// `report` receives each problem and the node it is about.
    static func mapping(_ node: Node, what: String, allowed: [String]?, report: (Node, String) -> Void) -> [(String, Node, Node)]? {
        guard let mapping = node.mapping else {
            report(node, "\(what) must be a mapping of keys to values\(found(node))")
            return nil
        }
        var seen: Set<String> = []
        var entries: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                report(keyNode, "keys of \(what) must be plain names")
                continue
            }
            if let allowed, !allowed.contains(key) {
                report(keyNode, "unknown key '\(key)' in \(what)\(Suggestion.didYouMean(key, in: allowed))")
                continue
            }
            if !seen.insert(key).inserted {
                report(keyNode, "duplicate key '\(key)' in \(what)")
                continue
            }
            entries.append((key, keyNode, value))
        }
        return entries
    }

    /// Whether `node` is YAML's null: `~`, `null` or nothing at all, unquoted.
    static func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What a plain scalar means to YAML besides text, for messages: `null`,
    /// `the boolean true`, `the number 5`; `nil` for text (or a quoted scalar).
    static func plainMeaning(_ node: Node) -> String? {
        guard let scalar = node.scalar, scalar.style == .plain else { return nil }
        let text = scalar.string
        if isNull(node) { return text.isEmpty ? "nothing" : "null" }
        if ["true", "false", "True", "False", "TRUE", "FALSE"].contains(text) { return "the boolean \(text)" }
        if Double(text.filter { $0 != "_" }) != nil, text.first?.isLetter != true { return "the number \(text)" }
        return nil
    }

    /// ", found a list" and the like, for a node of the wrong shape.
    static func found(_ node: Node) -> String {
        if node.mapping != nil { return ", found a mapping" }
        if node.sequence != nil { return ", found a list" }
        if let meaning = plainMeaning(node), !meaning.hasPrefix("the number") { return ", found \(meaning)" }
        return ""
    }

    /// The text of a scalar that must hold `expected` (a name, SQL, …), or a
    /// message saying what is wrong: a mapping or list, null or nothing, an
    /// empty string, or a value of a kind `rejecting` names (`.bool`, `.number`).
    static func text(_ node: Node, what: String, expected: String, rejecting kinds: Set<PlainKind> = []) -> Result<String, Message> {
        guard let scalar = node.scalar else { return .failure(Message("\(what) must be \(expected)\(found(node))")) }
        if isNull(node) {
            return .failure(Message(scalar.string.isEmpty ? "\(what) has no value; expected \(expected)" : "\(what) is null; expected \(expected)"))
        }
        if scalar.string.trimmingWhitespace().isEmpty { return .failure(Message("\(what) is empty; expected \(expected)")) }
        if let meaning = plainMeaning(node) {
            let isBool = meaning.hasPrefix("the boolean")
            if (isBool && kinds.contains(.bool)) || (!isBool && kinds.contains(.number)) {
                return .failure(Message("\(what) must be \(expected), not \(meaning) (quote it if you mean the text)"))
            }
        }
        return .success(scalar.string)
    }

    /// A duration with a unit, in nanoseconds, of at least `minimum` (whose
    /// spelling, such as `1ms`, is `minimumText`): what is wrong is said
    /// apart (no value, no unit, zero or negative, not a duration).
    static func duration(_ node: Node, what: String, minimum: Int64 = 1, minimumText: String? = nil) -> Result<Int64, Message> {
        let example = "such as 10s, 500ms or 2min"
        let text: String
        switch YAMLNodes.text(node, what: what, expected: "a duration \(example)") {
        case .success(let value): text = value.trimmingWhitespace()
        case .failure(let message): return .failure(message)
        }
        if Double(text) != nil {
            return .failure(Message("\(what) '\(text)' needs a unit: ms, s, min or h (for example \(text)s)"))
        }
        let negative = text.hasPrefix("-")
        guard case .constant(.int(let nanoseconds))? = try? ExpressionParser.parse(negative ? String(text.dropFirst()) : text) else {
            return .failure(Message("\(what) must be a duration \(example); '\(text)' is not one"))
        }
        if negative || nanoseconds < minimum {
            let bound = minimumText.map { "at least \($0)" } ?? "above 0"
            return .failure(Message("\(what) must be \(bound), such as 10s or 500ms; '\(text)' is \(negative ? "negative" : minimumText == nil ? "zero" : "too short")"))
        }
        return .success(nanoseconds)
    }

    enum PlainKind: Hashable { case bool, number }

    /// A problem with a node, for `Result`.
    struct Message: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }
}

/// How much input lockstorm reads: far above any real workload, far below
/// what would take seconds or hundreds of MB to reject.
public enum InputLimits {
    /// The largest workload or scenario file, in bytes (1 MB): a few
    /// hundred times the largest shipped workload, and small enough that the
    /// worst file under it (tens of thousands of parameters) is read in well
    /// under a second.
    public static let maxFileBytes = 1 << 20
    /// The most entries of one kind: parameters, transactions, variants,
    /// steps of one transaction, draws, invariants, checks, sessions. The
    /// shipped workloads use at most a few dozen of any.
    public static let maxEntries = 1_000

    /// The message for a section with more than `maxEntries` entries.
    static func tooMany(_ count: Int, _ what: String) -> String {
        "too many \(what): \(count), over lockstorm's limit of \(maxEntries)"
    }
}

/// Reads a workload or scenario file's text into YAML nodes, with every
/// problem as lockstorm's own located message: the size limit, an empty or
/// comments-only file, every duplicate key, and YAML syntax errors in words
/// that say what to fix. A UTF-8 byte order mark is skipped.
enum YAMLDocument {
    /// The largest file lockstorm reads, in bytes. The biggest shipped
    /// workload is a few kB; a setup script that loads data belongs in a
    /// SQL function or `generate_series`, not in the file.
    static let maxBytes = InputLimits.maxFileBytes
    /// The most duplicate keys reported before giving up on finding more.
    static let maxDuplicates = 50

    /// The root node of `text`, or `nil` with the diagnostics; `what` names
    /// the kind of file ("workload", "scenario") and `needs` what it needs
    /// at least ("'name' and 'transactions'").
    static func compose(_ text: String, file: String, what: String, needs: String) -> (Node?, [Diagnostic]) {
        func problem(_ line: Int, _ column: Int, _ message: String) -> Diagnostic {
            Diagnostic(file: file, location: SourceLocation(line: line, column: column), message: message)
        }
        if text.utf8.count > maxBytes {
            return (nil, [problem(1, 1, "the file is \(megabytes(text.utf8.count)), over lockstorm's limit of \(megabytes(maxBytes)) for a \(what) file; load bulk data from SQL (generate_series, COPY in setup) instead of writing it out")])
        }
        var text = text
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var diagnostics: [Diagnostic] = []
        // Yams stops at the first mapping with a repeated key and names the
        // first occurrence: each round reports one repetition and renames it
        // in a copy of the text, so the next round finds the next one.
        var renamed = text
        for round in 0...maxDuplicates {
            do {
                // The basic resolver (no rules): the parsers read scalars as
                // text and never ask Yams for a resolved tag, and the default
                // resolver compiles seven regular expressions (~9 M
                // instructions) and matches every key against them. UTF-8
                // named, so Yams does not look for YAMS_DEFAULT_ENCODING.
                let root = try Yams.compose(yaml: renamed, .basic, .default, .utf8)
                if !diagnostics.isEmpty { return (nil, diagnostics) }
                guard let root else {
                    let onlyComments = text.split(whereSeparator: \.isNewline).contains { $0.trimmingCharacters().hasPrefix("#") }
                    let state = onlyComments ? "the file has nothing but comments" : "the file is empty"
                    return (nil, [problem(1, 1, "\(state); a \(what) needs at least \(needs)")])
                }
                return (root, [])
            } catch YamlError.duplicatedKeysInMapping(let keys, let context) {
                let key = keys.first ?? ""
                // Each round reads the whole text again: a big file gets fewer.
                let affordable = round < maxDuplicates && (round + 1) * renamed.utf8.count <= 2 << 20
                guard affordable, let place = repetition(of: key, after: context.mark, in: renamed) else {
                    diagnostics.append(problem(context.mark.line, context.mark.column, "duplicate key '\(key)': each key may appear once in a mapping"))
                    return (nil, diagnostics)
                }
                diagnostics.append(problem(place.line, place.column, "duplicate key '\(key)': each key may appear once in a mapping"))
                renamed = rename(at: place, length: key.utf8.count, in: renamed, round: round)
            } catch let error as YamlError {
                diagnostics.append(describe(error, file: file))
                return (nil, diagnostics)
            } catch {
                diagnostics.append(Diagnostic(file: file, location: SourceLocation(line: 1, column: 1), message: "cannot read YAML: \(error)"))
                return (nil, diagnostics)
            }
        }
        return (nil, diagnostics)
    }

    static func megabytes(_ bytes: Int) -> String {
        let value = Double(bytes) / Double(1 << 20)
        return value >= 10 || value == value.rounded() ? "\(Int(value.rounded())) MB" : String(format: "%.1f MB", value)
    }

    /// A YAML syntax error in lockstorm's words, at its place.
    static func describe(_ error: YamlError, file: String) -> Diagnostic {
        func at(_ line: Int, _ column: Int, _ message: String) -> Diagnostic {
            Diagnostic(file: file, location: SourceLocation(line: max(line, 1), column: max(column, 1)), message: message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: " + (hints[problem] ?? problem)
            if let context, !context.text.isEmpty { message += " (\(context.text) at \(context.mark.line):\(context.mark.column))" }
            return at(mark.line, mark.column, message)
        case .reader(let problem, _, _, _):
            return at(1, 1, "cannot read the file as YAML text: \(problem)")
        default:
            return at(1, 1, "invalid YAML")
        }
    }

    /// libyaml's problems, said with what to do about them.
    static let hints: [String: String] = [
        "found character that cannot start any token": "a character that cannot start a value here (a tab in the indentation, or @ or ` at the start of a value: quote the value)",
        "mapping values are not allowed in this context": "': ' where no key can start (quote a value that contains ': ', or check the indentation)",
        "did not find expected key": "expected a key at this indentation (check the indentation and the '-' of list items)",
        "found undefined alias": "an alias (*name) with no anchor (&name) before it",
        "did not find expected node content": "expected a value here",
        "found unexpected end of stream": "the file ends inside a quoted string (a quote is not closed)",
        "did not find expected ',' or ']'": "expected ',' or ']' in a [ ] list",
        "did not find expected ',' or '}'": "expected ',' or '}' in a { } mapping",
        "could not find expected ':'": "expected ':' after a key",
        "block sequence entries are not allowed in this context": "a '- ' list item where a value on the same line was expected (start the list on the next line)",
    ]

    /// Where `key` appears again after its first occurrence at `first`: later
    /// in a flow mapping on the same line, or at the same indentation below.
    static func repetition(of key: String, after first: Mark, in text: String) -> SourceLocation? {
        guard !key.isEmpty else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line <= lines.count else { return nil }
        func isKey(_ rest: Substring.UTF8View) -> Bool {
            guard rest.starts(with: key.utf8) else { return false }
            return rest.dropFirst(key.utf8.count).drop(while: { $0 == 32 }).first == 58
        }
        // The same line, after the first occurrence: `{a: 1, a: 2}`.
        let line = lines[first.line - 1].utf8
        var index = line.index(line.startIndex, offsetBy: min(first.column - 1 + key.utf8.count, line.count))
        while index < line.endIndex {
            let previous = line[line.index(before: index)]
            if (previous == 32 || previous == 44 || previous == 123), isKey(line[index...]) {
                return SourceLocation(line: first.line, column: line.distance(from: line.startIndex, to: index) + 1)
            }
            index = line.index(after: index)
        }
        let indent = first.column - 1
        for number in first.line..<lines.count {
            let candidate = lines[number].utf8
            let spaces = candidate.prefix(while: { $0 == 32 }).count
            guard spaces < candidate.count, candidate.dropFirst(spaces).first != 35 else { continue }
            // A line indented less ends the mapping.
            if spaces < indent { return nil }
            if spaces == indent, isKey(candidate.dropFirst(indent)) { return SourceLocation(line: number + 1, column: first.column) }
        }
        return nil
    }

    /// `text` with the key at `place` renamed, so that it no longer repeats.
    static func rename(at place: SourceLocation, length: Int, in text: String, round: Int) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let line = Array(lines[place.line - 1].utf8)
        let start = place.column - 1
        lines[place.line - 1] = String(decoding: line[..<start] + Array("lockstorm-duplicate-\(round)-".utf8) + line[start...], as: UTF8.self)
        return lines.joined(separator: "\n")
    }
}

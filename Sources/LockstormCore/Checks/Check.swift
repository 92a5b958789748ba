import Foundation

/// A pass/fail condition on a run's metrics: `deadlocks == 0`,
/// `transfer.p99_ms < 50 && tps >= 500`.
///
/// Grammar (whitespace is free between tokens):
///
///     check      := or
///     or         := and ('||' and)*
///     and        := primary ('&&' primary)*
///     primary    := '(' or ')' | comparison
///     comparison := metric op number
///     metric     := name | transaction '.' name
///     op         := '==' | '!=' | '<' | '<=' | '>' | '>='
///     number     := digits ['.' digits] [('e'|'E') ['+'|'-'] digits] ['%']
///
/// `_` may separate digits (`1_000`); a trailing `%` divides by 100
/// (`lock_not_available_rate < 5%`). `&&` binds tighter than `||`.
public struct Check: Sendable, Hashable, CustomStringConvertible {
    public indirect enum Node: Sendable, Hashable {
        case comparison(Comparison)
        case and(Node, Node)
        case or(Node, Node)
    }

    public struct Comparison: Sendable, Hashable {
        public var reference: MetricReference
        public var op: Operator
        public var threshold: Double
        /// The threshold as written (`50`, `5%`).
        public var thresholdText: String
    }

    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

        public func holds(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .equal: value == threshold
            case .notEqual: value != threshold
            case .less: value < threshold
            case .lessOrEqual: value <= threshold
            case .greater: value > threshold
            case .greaterOrEqual: value >= threshold
            }
        }
    }

    /// The expression as written, trimmed.
    public var source: String
    public var root: Node

    public var description: String { source }

    /// The comparisons, left to right.
    public var comparisons: [Comparison] {
        func walk(_ node: Node) -> [Comparison] {
            switch node {
            case .comparison(let comparison): [comparison]
            case .and(let left, let right), .or(let left, let right): walk(left) + walk(right)
            }
        }
        return walk(root)
    }
}

/// A check that cannot be parsed, with the character it points at.
public struct CheckError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text that was parsed.
    public var source: String
    /// 0-based character offset into `source` of the offending character.
    public var offset: Int
    public var message: String

    public init(source: String, offset: Int, message: String) {
        self.source = source
        self.offset = offset
        self.message = message
    }

    public var description: String { message }

    /// The expression and a caret under the offending character, indented by `indent`:
    ///
    ///     tps >=
    ///           ^
    /// A long source is cut to the 60 characters around the offset.
    public func pointer(indent: String = "  ") -> String {
        let characters = Array(source)
        guard characters.count > 80 else { return indent + source + "\n" + indent + String(repeating: " ", count: offset) + "^" }
        let start = max(0, min(offset - 30, characters.count - 60))
        let end = min(characters.count, start + 60)
        let head = start > 0 ? "…" : "", tail = end < characters.count ? "…" : ""
        return indent + head + String(characters[start..<end]) + tail + "\n" + indent + String(repeating: " ", count: offset - start + head.count) + "^"
    }

    /// The source for a message: cut to its first 60 characters when longer.
    public var excerpt: String {
        source.count > 60 ? String(source.prefix(59)) + "…" : source
    }
}

/// Parses check expressions against the metric catalogue and a workload's transactions.
public struct CheckParser: Sendable {
    /// Transaction types a `<transaction>.<metric>` may name.
    public var transactions: [String]
    /// Unit-of-work counters (`count: N`) whose `N` and `N_per_s` may be named.
    public var counters: [String]

    public init(transactions: [String], counters: [String] = []) {
        self.transactions = transactions
        self.counters = counters
    }

    public func parse(_ text: String) throws(CheckError) -> Check {
        var state = State(source: text, transactions: transactions, counters: counters)
        let root = try state.parseCheck()
        return Check(source: text, root: root)
    }

    private struct Token {
        enum Kind: Equatable { case name, number, op, and, or, open, close, end }
        var kind: Kind
        var text: String
        var offset: Int
    }

    private struct State {
        let characters: [Character]
        let source: String
        let transactions: [String]
        let counters: [String]
        var position = 0
        /// Parentheses open so far, bounded like an expression's.
        var nesting = ParseLimits(what: "check")
        /// Tokens read so far, and where the last one counted ended (a
        /// peeked token is read twice but counted once).
        var tokenCount = 0
        var countedUpTo = -1

        init(source: String, transactions: [String], counters: [String]) {
            self.source = source
            characters = Array(source)
            self.transactions = transactions
            self.counters = counters
        }

        func fail(_ offset: Int, _ message: String) -> CheckError {
            CheckError(source: source, offset: offset, message: message)
        }

        mutating func parseCheck() throws(CheckError) -> Check.Node {
            skipSpace()
            if position == characters.count { throw fail(position, "empty check; write a comparison such as 'deadlocks == 0'") }
            let node = try parseOr()
            let next = try peek()
            if next.kind != .end {
                let hint = next.kind == .name || next.kind == .open ? "; join comparisons with && or ||" : ""
                throw fail(next.offset, "unexpected \(describe(next)) after a complete check\(hint)")
            }
            return node
        }

        mutating func parseOr() throws(CheckError) -> Check.Node {
            var node = try parseAnd()
            while try peek().kind == .or {
                _ = try next()
                node = .or(node, try parseAnd())
            }
            return node
        }

        mutating func parseAnd() throws(CheckError) -> Check.Node {
            var node = try parsePrimary()
            while try peek().kind == .and {
                _ = try next()
                node = .and(node, try parsePrimary())
            }
            return node
        }

        mutating func parsePrimary() throws(CheckError) -> Check.Node {
            let token = try next()
            switch token.kind {
            case .open:
                guard nesting.enter() else { throw fail(token.offset, nesting.tooDeep) }
                defer { nesting.leave() }
                let node = try parseOr()
                let close = try next()
                guard close.kind == .close else {
                    throw fail(close.offset, "expected ')' to close the '(' at column \(token.offset + 1), found \(describe(close))")
                }
                return node
            case .name:
                return .comparison(try parseComparison(name: token))
            case .number:
                throw fail(token.offset, "expected a metric name before the number; write the metric first, as in 'tps >= \(token.text)'")
            default:
                throw fail(token.offset, "expected a metric name such as 'deadlocks' or 'transfer.p99_ms', found \(describe(token))")
            }
        }

        mutating func parseComparison(name: Token) throws(CheckError) -> Check.Comparison {
            let reference = try resolve(name)
            let op = try next()
            guard op.kind == .op, let comparison = Check.Operator(rawValue: op.text) else {
                throw fail(op.offset, "expected a comparison (==, !=, <, <=, >, >=) after '\(name.text)', found \(describe(op))")
            }
            let number = try next()
            guard number.kind == .number else {
                throw fail(number.offset, "expected a number after '\(op.text)', found \(describe(number))")
            }
            let threshold = try value(of: number)
            return Check.Comparison(reference: reference, op: comparison, threshold: threshold, thresholdText: number.text)
        }

        func value(of token: Token) throws(CheckError) -> Double {
            var text = String(token.text.filter { $0 != "_" })
            let percent = text.hasSuffix("%")
            if percent { text.removeLast() }
            guard let number = Double(text), number.isFinite else { throw fail(token.offset, "'\(token.text)' is not a number") }
            return percent ? number / 100 : number
        }

        func resolve(_ token: Token) throws(CheckError) -> MetricReference {
            let parts = token.text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2, !parts.contains(where: \.isEmpty) else {
                throw fail(token.offset, "'\(token.text)' is not a metric name; write 'metric' or 'transaction.metric'")
            }
            let metricName = parts.last ?? ""
            let metricOffset = token.offset + (parts.count == 2 ? parts[0].count + 1 : 0)
            var transaction: String?
            if parts.count == 2 {
                transaction = parts[0]
                guard transactions.contains(parts[0]) else {
                    let hint = transactions.isEmpty ? "" : Suggestion.didYouMean(parts[0], in: transactions)
                    throw fail(token.offset, "unknown transaction '\(parts[0])' in '\(token.text)'\(hint)")
                }
            }
            guard let metric = MetricCatalogue.metric(named: metricName, counters: counters) else {
                var hint = ""
                if let closest = Self.closestMetric(to: metricName, counters: counters) {
                    hint = "; did you mean '\(closest)'?"
                } else if transaction == nil, transactions.contains(metricName) {
                    hint = "; '\(metricName)' is a transaction: write '\(metricName).p99_ms' or another metric after it"
                } else {
                    hint = " (metrics: tps, p50_ms, p99_ms, deadlocks, deadlocks_rate, deadlocks_per_1k, …; see docs/ci.md)"
                }
                throw fail(metricOffset, "unknown metric '\(metricName)'\(hint)")
            }
            if transaction != nil && !metric.perTransaction {
                throw fail(token.offset, "'\(metricName)' belongs to the whole run, not to one transaction: write '\(metricName)' alone")
            }
            return MetricReference(transaction: transaction, metric: metric)
        }

        /// Metric names are short and easily transposed (`tsp`), so allow two edits.
        static func closestMetric(to name: String, counters: [String] = []) -> String? {
            let names = MetricCatalogue.names + counters.flatMap(UnitColumn.names)
            // `p99` means `p99_ms`: a missing unit suffix is the likeliest slip.
            if let unit = names.first(where: { $0 == name.lowercased() + "_ms" }) { return unit }
            let scored = names.map { ($0, Suggestion.distance(name.lowercased(), $0)) }
            guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
            return best.1 <= max(2, name.count / 3) && best.1 < name.count ? best.0 : nil
        }

        func describe(_ token: Token) -> String {
            token.kind == .end ? "the end of the check" : "'\(token.text)'"
        }

        mutating func skipSpace() {
            while position < characters.count, characters[position].isWhitespace { position += 1 }
        }

        mutating func peek() throws(CheckError) -> Token {
            let saved = position
            let token = try next()
            position = saved
            return token
        }

        /// The next token, failing past `ParseLimits.maxTokens`: a chain of
        /// `&&` makes a tree as deep as it is long.
        mutating func next() throws(CheckError) -> Token {
            let token = try scan()
            if token.kind != .end && position > countedUpTo {
                countedUpTo = position
                tokenCount += 1
                if tokenCount > ParseLimits.maxTokens { throw fail(token.offset, nesting.tooLong) }
            }
            return token
        }

        mutating func scan() throws(CheckError) -> Token {
            skipSpace()
            let start = position
            guard position < characters.count else { return Token(kind: .end, text: "", offset: position) }
            let character = characters[position]
            func take(_ count: Int, _ kind: Token.Kind) -> Token {
                position += count
                return Token(kind: kind, text: String(characters[start..<position]), offset: start)
            }
            let following: Character? = position + 1 < characters.count ? characters[position + 1] : nil
            switch character {
            case "(": return take(1, .open)
            case ")": return take(1, .close)
            case "&":
                guard following == "&" else { throw fail(start, "'&' is not an operator; write '&&' for and") }
                return take(2, .and)
            case "|":
                guard following == "|" else { throw fail(start, "'|' is not an operator; write '||' for or") }
                return take(2, .or)
            case "=":
                guard following == "=" else { throw fail(start, "'=' is not a comparison; write '==' for equal") }
                return take(2, .op)
            case "!":
                guard following == "=" else { throw fail(start, "'!' is not an operator; write '!=' for not equal") }
                return take(2, .op)
            case "<", ">":
                return take(following == "=" ? 2 : 1, .op)
            default:
                break
            }
            if character.isNumber || (character == "." && following?.isNumber == true) || ((character == "-" || character == "+") && (following?.isNumber == true || following == ".")) {
                position += 1
                while position < characters.count {
                    let c = characters[position]
                    let previous = characters[position - 1]
                    if c.isNumber || c == "." || c == "_" || c == "e" || c == "E" || ((c == "-" || c == "+") && (previous == "e" || previous == "E")) {
                        position += 1
                    } else {
                        break
                    }
                }
                if position < characters.count, characters[position] == "%" { position += 1 }
                if position < characters.count, characters[position].isLetter {
                    var end = position
                    while end < characters.count, characters[end].isLetter { end += 1 }
                    throw fail(position, "unexpected '\(String(characters[position..<end]))' after the number; thresholds are plain numbers in the metric's unit (p99_ms < 50, not 50ms)")
                }
                return Token(kind: .number, text: String(characters[start..<position]), offset: start)
            }
            if character.isLetter || character == "_" {
                while position < characters.count, characters[position].isLetter || characters[position].isNumber || characters[position] == "_" || characters[position] == "." {
                    position += 1
                }
                return Token(kind: .name, text: String(characters[start..<position]), offset: start)
            }
            throw fail(start, "unexpected character '\(character)'")
        }
    }
}

/// The outcome of one check on one run.
public struct CheckResult: Sendable, Hashable {
    /// One comparison and the value it saw.
    public struct Measurement: Sendable, Hashable {
        public var reference: MetricReference
        public var value: Double?
        public var op: Check.Operator
        public var thresholdText: String
        public var passed: Bool

        /// `tps = 812.40 tx/s`, or `transfer.p99_ms not measured`.
        public var description: String {
            guard value != nil else { return "\(reference) not measured (nothing committed, or no such transaction in the run)" }
            return "\(reference) = \(reference.metric.format(value))"
        }
    }

    public var check: Check
    public var passed: Bool
    public var measurements: [Measurement]

    /// The measured values, joined: `tps = 812.40 tx/s, p99_ms = 12.300 ms`.
    public var measured: String { measurements.map(\.description).joined(separator: ", ") }
}

extension Check {
    /// Evaluates the check on `sample`. A comparison with an unmeasured
    /// value is false, so a check never passes on a number that does not exist.
    public func evaluate(_ sample: MetricSample) -> CheckResult {
        var measurements: [CheckResult.Measurement] = []
        func evaluate(_ node: Node) -> Bool {
            switch node {
            case .comparison(let comparison):
                let value = sample.value(comparison.reference)
                let passed = value.map { comparison.op.holds($0, comparison.threshold) } ?? false
                measurements.append(.init(reference: comparison.reference, value: value, op: comparison.op, thresholdText: comparison.thresholdText, passed: passed))
                return passed
            // Both sides are evaluated (no short circuit) so every value is reported.
            case .and(let left, let right):
                let l = evaluate(left), r = evaluate(right)
                return l && r
            case .or(let left, let right):
                let l = evaluate(left), r = evaluate(right)
                return l || r
            }
        }
        let passed = evaluate(root)
        return CheckResult(check: self, passed: passed, measurements: measurements)
    }
}

/// The limits that keep the recursive-descent parsers (expressions and
/// checks) from recursing deep enough to overflow the stack, whatever the
/// input: parsing, evaluating and freeing a tree all recurse once per level,
/// and a left-leaning chain (`a && b && …`) is as deep as it is long. Real
/// expressions use a handful of levels and a few dozen tokens.
struct ParseLimits {
    static let maxTokens = 1_000
    static let maxDepth = 100

    /// What is parsed, for messages ("expression", "check").
    let what: String
    private(set) var depth = 0

    init(what: String) {
        self.what = what
    }

    /// Enters one more level of nesting; false past `maxDepth`.
    mutating func enter() -> Bool {
        depth += 1
        return depth <= Self.maxDepth
    }

    mutating func leave() { depth -= 1 }

    var tooDeep: String { "the \(what) nests deeper than \(Self.maxDepth) levels" }
    var tooLong: String { "the \(what) is too long: more than \(Self.maxTokens) tokens" }
}

/// Parses the expression grammar documented on `Expression`.
public struct ExpressionParser {
    enum Token: Equatable {
        case number(Value)
        case string(String)
        case name(String)
        case symbol(String)
        case end
    }

    private var tokens: [(token: Token, offset: Int)] = []
    private var position = 0
    /// Parentheses, calls and unary operators open so far.
    private var nesting = ParseLimits(what: "expression")

    static let maxTokens = ParseLimits.maxTokens
    static let maxDepth = ParseLimits.maxDepth

    /// The tokens of `text`, at most `maxTokens` of them.
    private static func boundedTokens(_ text: String) throws(ExpressionError) -> [(token: Token, offset: Int)] {
        let tokens = try tokenize(text)
        // The last token is `.end`.
        guard tokens.count <= maxTokens + 1 else {
            throw ExpressionError(offset: tokens[maxTokens].offset, message: ParseLimits(what: "expression").tooLong)
        }
        return tokens
    }

    /// Enters one more level of nesting, or fails past `maxDepth`.
    private mutating func nest() throws(ExpressionError) {
        guard nesting.enter() else { throw ExpressionError(offset: current.offset, message: nesting.tooDeep) }
    }

    /// Parses `text` as one whole expression.
    public static func parse(_ text: String) throws(ExpressionError) -> Expression {
        var parser = ExpressionParser()
        parser.tokens = try boundedTokens(text)
        let expression = try parser.parseOr()
        guard case .end = parser.current.token else {
            throw ExpressionError(offset: parser.current.offset, message: "unexpected \(describe(parser.current.token))")
        }
        return expression
    }

    /// Parses a leading expression and returns it with the offset where the
    /// unparsed rest begins (used for `draw != other`).
    static func parsePrefix(_ text: String, stopAt stop: Set<String>) throws(ExpressionError) -> (Expression, Int) {
        var parser = ExpressionParser()
        parser.tokens = try boundedTokens(text)
        var depth = 0
        // Cut the token stream at the first top-level stop symbol.
        for (index, item) in parser.tokens.enumerated() {
            if case .symbol(let symbol) = item.token {
                if symbol == "(" { depth += 1 }
                if symbol == ")" { depth -= 1 }
                if depth == 0 && stop.contains(symbol) {
                    let restOffset = item.offset
                    parser.tokens = Array(parser.tokens[..<index]) + [(.end, item.offset)]
                    let expression = try parser.parseOr()
                    guard case .end = parser.current.token else {
                        throw ExpressionError(offset: parser.current.offset, message: "unexpected \(describe(parser.current.token))")
                    }
                    return (expression, restOffset)
                }
            }
        }
        let expression = try parser.parseOr()
        guard case .end = parser.current.token else {
            throw ExpressionError(offset: parser.current.offset, message: "unexpected \(describe(parser.current.token))")
        }
        return (expression, text.utf8.count)
    }

    private var current: (token: Token, offset: Int) { tokens[min(position, tokens.count - 1)] }

    private mutating func advance() { position += 1 }

    private mutating func accept(_ symbol: String) -> Bool {
        if case .symbol(symbol) = current.token {
            advance()
            return true
        }
        return false
    }

    private mutating func parseOr() throws(ExpressionError) -> Expression {
        var lhs = try parseAnd()
        while accept("||") { lhs = .binary(.or, lhs, try parseAnd()) }
        return lhs
    }

    private mutating func parseAnd() throws(ExpressionError) -> Expression {
        var lhs = try parseComparison()
        while accept("&&") { lhs = .binary(.and, lhs, try parseComparison()) }
        return lhs
    }

    private mutating func parseComparison() throws(ExpressionError) -> Expression {
        let lhs = try parseAdditive()
        for op in [Expression.BinaryOperator.equal, .notEqual, .lessOrEqual, .greaterOrEqual, .less, .greater] where accept(op.rawValue) {
            return .binary(op, lhs, try parseAdditive())
        }
        return lhs
    }

    private mutating func parseAdditive() throws(ExpressionError) -> Expression {
        var lhs = try parseMultiplicative()
        while true {
            if accept("+") { lhs = .binary(.add, lhs, try parseMultiplicative()) }
            else if accept("-") { lhs = .binary(.subtract, lhs, try parseMultiplicative()) }
            else { return lhs }
        }
    }

    private mutating func parseMultiplicative() throws(ExpressionError) -> Expression {
        var lhs = try parseUnary()
        while true {
            if accept("*") { lhs = .binary(.multiply, lhs, try parseUnary()) }
            else if accept("/") { lhs = .binary(.divide, lhs, try parseUnary()) }
            else if accept("%") { lhs = .binary(.remainder, lhs, try parseUnary()) }
            else { return lhs }
        }
    }

    private mutating func parseUnary() throws(ExpressionError) -> Expression {
        for (symbol, op) in [("-", Expression.UnaryOperator.negate), ("!", .not)] where accept(symbol) {
            try nest()
            defer { nesting.leave() }
            return .unary(op, try parseUnary())
        }
        return try parsePostfix()
    }

    /// A primary followed by any subscripts: `sorted(a, b)[1]`, `ids[2]`.
    private mutating func parsePostfix() throws(ExpressionError) -> Expression {
        var expression = try parsePrimary()
        while case .symbol("[") = current.token {
            let offset = current.offset
            advance()
            try nest()
            defer { nesting.leave() }
            let index = try parseOr()
            guard accept("]") else { throw ExpressionError(offset: current.offset, message: "expected ']' after the subscript, found \(Self.describe(current.token))") }
            expression = .index(expression, index, offset: offset)
        }
        return expression
    }

    private mutating func parsePrimary() throws(ExpressionError) -> Expression {
        let (token, offset) = current
        switch token {
        case .number(let value):
            advance()
            return .constant(value)
        case .string(let text):
            advance()
            return .constant(.string(text))
        case .name(let name):
            advance()
            if name == "true" { return .constant(.bool(true)) }
            if name == "false" { return .constant(.bool(false)) }
            if name == "null" { return .constant(.null) }
            if accept("(") {
                try nest()
                defer { nesting.leave() }
                var arguments: [Expression] = []
                if !accept(")") {
                    repeat { arguments.append(try parseOr()) } while accept(",")
                    guard accept(")") else {
                        throw ExpressionError(offset: current.offset, message: "expected ')' or ',' in the arguments of '\(name)', found \(Self.describe(current.token))")
                    }
                }
                return .call(name, arguments, offset: offset)
            }
            return .reference(name, offset: offset)
        case .symbol("("):
            advance()
            try nest()
            defer { nesting.leave() }
            let inner = try parseOr()
            guard accept(")") else { throw ExpressionError(offset: current.offset, message: "expected ')', found \(Self.describe(current.token))") }
            return inner
        default:
            throw ExpressionError(offset: offset, message: "expected a value, found \(Self.describe(token))")
        }
    }

    static func describe(_ token: Token) -> String {
        switch token {
        case .number(let value): "number \(value)"
        case .string(let text): "string '\(text)'"
        case .name(let name): "'\(name)'"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "end of expression"
        }
    }

    /// Nanoseconds per unit of a duration literal.
    static let durationUnits: [String: Int64] = [
        "ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "min": 60_000_000_000, "h": 3_600_000_000_000,
    ]

    static func tokenize(_ text: String) throws(ExpressionError) -> [(token: Token, offset: Int)] {
        let bytes = Array(text.utf8)
        var tokens: [(token: Token, offset: Int)] = []
        var index = 0
        func isNameStart(_ byte: UInt8) -> Bool { (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 || byte >= 128 }
        func isNameByte(_ byte: UInt8) -> Bool { isNameStart(byte) || (48...57).contains(byte) }
        func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }
        while index < bytes.count {
            let byte = bytes[index]
            let start = index
            if byte == 32 || byte == 9 || byte == 10 || byte == 13 {
                index += 1
                continue
            }
            if isDigit(byte) || (byte == 46 && index + 1 < bytes.count && isDigit(bytes[index + 1])) {
                while index < bytes.count && (isDigit(bytes[index]) || bytes[index] == 95) { index += 1 }
                var isDecimal = false
                if index < bytes.count && bytes[index] == 46 && index + 1 < bytes.count && isDigit(bytes[index + 1]) {
                    isDecimal = true
                    index += 1
                    while index < bytes.count && isDigit(bytes[index]) { index += 1 }
                }
                if index < bytes.count && (bytes[index] == 101 || bytes[index] == 69),
                   index + 1 < bytes.count, isDigit(bytes[index + 1]) || ((bytes[index + 1] == 45 || bytes[index + 1] == 43) && index + 2 < bytes.count && isDigit(bytes[index + 2])) {
                    isDecimal = true
                    index += 2
                    while index < bytes.count && isDigit(bytes[index]) { index += 1 }
                }
                let literal = String(decoding: bytes[start..<index], as: UTF8.self).replacingUnderscores()
                // A unit right after the number makes it a duration.
                var unitEnd = index
                while unitEnd < bytes.count && isNameByte(bytes[unitEnd]) { unitEnd += 1 }
                if unitEnd > index {
                    let unit = String(decoding: bytes[index..<unitEnd], as: UTF8.self)
                    guard let scale = durationUnits[unit], let amount = Double(literal) else {
                        throw ExpressionError(offset: index, message: "unknown unit '\(unit)' (use ns, us, ms, s, min or h)")
                    }
                    tokens.append((.number(.int(Int64((amount * Double(scale)).rounded()))), start))
                    index = unitEnd
                    continue
                }
                if !isDecimal, let int = Int64(literal) {
                    tokens.append((.number(.int(int)), start))
                } else if let double = Double(literal) {
                    tokens.append((.number(.double(double)), start))
                } else {
                    throw ExpressionError(offset: start, message: "malformed number '\(literal)'")
                }
                continue
            }
            if byte == 58 && index + 1 < bytes.count && isNameStart(bytes[index + 1]) {
                index += 1
                let nameStart = index
                while index < bytes.count && (isNameByte(bytes[index]) || bytes[index] == 46) { index += 1 }
                tokens.append((.name(String(decoding: bytes[nameStart..<index], as: UTF8.self)), start))
                continue
            }
            if isNameStart(byte) {
                while index < bytes.count && (isNameByte(bytes[index]) || bytes[index] == 46) { index += 1 }
                tokens.append((.name(String(decoding: bytes[start..<index], as: UTF8.self)), start))
                continue
            }
            if byte == 39 || byte == 34 {
                index += 1
                var content: [UInt8] = []
                var closed = false
                while index < bytes.count {
                    if bytes[index] == byte {
                        if index + 1 < bytes.count && bytes[index + 1] == byte {
                            content.append(byte)
                            index += 2
                            continue
                        }
                        closed = true
                        index += 1
                        break
                    }
                    content.append(bytes[index])
                    index += 1
                }
                guard closed else { throw ExpressionError(offset: start, message: "unterminated string") }
                tokens.append((.string(String(decoding: content, as: UTF8.self)), start))
                continue
            }
            let two = index + 1 < bytes.count ? String(decoding: bytes[index...index + 1], as: UTF8.self) : ""
            if ["||", "&&", "==", "!=", "<=", ">=", "<>"].contains(two) {
                tokens.append((.symbol(two == "<>" ? "!=" : two), start))
                index += 2
                continue
            }
            let one = String(decoding: [byte], as: UTF8.self)
            if ["+", "-", "*", "/", "%", "(", ")", ",", "<", ">", "!", "[", "]"].contains(one) {
                tokens.append((.symbol(one), start))
                index += 1
                continue
            }
            if one == "=" {
                tokens.append((.symbol("=="), start))
                index += 1
                continue
            }
            throw ExpressionError(offset: start, message: "unexpected character '\(String(decoding: [byte], as: UTF8.self))'")
        }
        tokens.append((.end, bytes.count))
        return tokens
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(filter { $0 != "_" })
    }
}

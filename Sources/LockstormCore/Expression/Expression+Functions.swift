/// The functions an expression may call besides random draws: `least`,
/// `greatest` and `sorted`. They take what their PostgreSQL namesakes take
/// and order values the same way, so ordered locking of drawn keys (lowest
/// id first) needs no round trip to ask the server for the order.
///
/// - `least(a, b, …)`, `greatest(a, b, …)`: the smallest or largest of one
///   or more values. NULLs are ignored; all NULL gives NULL (as PostgreSQL).
/// - `sorted(a, b, …)`: the values in ascending order, as a list (NULLs
///   last, as `ORDER BY`): bound as an array (`:ids::int[]`), subscripted
///   from 1 (`ids[1]`).
///
/// Values compare when they have the same type: integers and decimals as
/// numbers (NaN above every number, as PostgreSQL), strings byte by byte
/// (PostgreSQL's "C" collation; under another collation the server may
/// order some strings differently), booleans false before true. A string
/// with a number, a list, or any other mix is an error.
extension Expression {
    /// Names of the functions `evaluate` computes.
    public static let functions = ["least", "greatest", "sorted"]

    /// Names of the random draws, which only `let` interprets.
    static var draws: [String] { WorkloadParser.distributions }

    /// Whether the expression is a constant.
    public var isConstant: Bool {
        if case .constant = self { return true }
        return false
    }

    /// Whether the expression calls a random draw anywhere.
    var callsDraw: Bool {
        switch self {
        case .constant, .reference: false
        case .unary(_, let operand): operand.callsDraw
        case .binary(_, let lhs, let rhs): lhs.callsDraw || rhs.callsDraw
        case .call(let name, let arguments, _): Self.draws.contains(name) || arguments.contains(where: \.callsDraw)
        case .index(let base, let index, _): base.callsDraw || index.callsDraw
        }
    }

    static func call(_ name: String, _ values: [Value], offset: Int) throws(ExpressionError) -> Value {
        guard !values.isEmpty else {
            throw ExpressionError(offset: offset, message: "\(name) takes at least one value, got none")
        }
        var kind: Value?
        for value in values {
            switch value {
            case .null: continue
            case .list:
                throw ExpressionError(offset: offset, message: "\(name) takes single values, got a list \(value) (subscript it: list[1])")
            default: break
            }
            if let known = kind, !comparable(known, value) {
                throw ExpressionError(offset: offset, message: "\(name) cannot compare \(known.typeName) \(known) with \(value.typeName) \(value): give it values of one type")
            }
            kind = kind ?? value
        }
        let present = values.filter { $0 != .null }
        switch name {
        case "least":
            return present.min(by: ordered) ?? .null
        case "greatest":
            return present.max(by: ordered) ?? .null
        default:
            // Stable: equal values keep their order.
            let nulls = values.count - present.count
            return .list(present.enumerated().sorted { ordered($0.element, $1.element) || (!ordered($1.element, $0.element) && $0.offset < $1.offset) }.map(\.element)
                + Array(repeating: .null, count: nulls))
        }
    }

    /// `list[index]`: from 1; NULL outside the list (PostgreSQL's answer),
    /// or an error when `strict`.
    static func subscripted(_ list: Value, _ index: Value, offset: Int, strict: Bool) throws(ExpressionError) -> Value {
        guard case .list(let values) = list else {
            if list == .null { return .null }
            throw ExpressionError(offset: offset, message: "only a list can be subscripted, such as sorted(a, b)[1]; got \(list.typeName) \(list)")
        }
        if index == .null { return .null }
        guard case .int(let position) = index else {
            throw ExpressionError(offset: offset, message: "a subscript must be a whole number, got \(index.typeName) \(index)")
        }
        guard position >= 1, position <= Int64(values.count) else {
            if strict {
                throw ExpressionError(offset: offset, message: "subscript \(position) is outside the list's \(values.count) value\(values.count == 1 ? "" : "s") (subscripts count from 1, as in PostgreSQL arrays)")
            }
            return .null
        }
        return values[Int(position) - 1]
    }

    private static func comparable(_ lhs: Value, _ rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double), (.string, .string), (.bool, .bool): true
        default: false
        }
    }

    /// Whether `lhs` sorts before `rhs`; the two are `comparable`.
    private static func ordered(_ lhs: Value, _ rhs: Value) -> Bool {
        switch (lhs, rhs) {
        // Integers exactly: large ones would round as doubles.
        case (.int(let left), .int(let right)): return left < right
        case (.string(let left), .string(let right)): return left.utf8.lexicographicallyPrecedes(right.utf8)
        case (.bool(let left), .bool(let right)): return !left && right
        default:
            guard let left = lhs.number, let right = rhs.number else { return false }
            if left.isNaN || right.isNaN { return !left.isNaN && right.isNaN }
            return left < right
        }
    }
}

/// A parsed expression over parameters, variables and metrics, such as
/// `:accounts * :initial_balance` or `uniform(1, :accounts)`.
///
/// Grammar (lowest precedence first):
/// `or := and ('||' and)*`, `and := cmp ('&&' cmp)*`,
/// `cmp := add (('=='|'!='|'<'|'<='|'>'|'>=') add)?`,
/// `add := mul (('+'|'-') mul)*`, `mul := unary (('*'|'/'|'%') unary)*`,
/// `unary := ('-'|'!') unary | primary`, and a primary is a number, a
/// duration (`5ms`, converted to nanoseconds), a quoted string, `true`,
/// `false`, a reference (`:name` or `name`, dots allowed), a call
/// `name(args)` or a parenthesised expression, any of them followed by
/// subscripts `[index]` (from 1, as PostgreSQL arrays).
///
/// Calls are random draws (interpreted by the workload compiler) or the
/// functions of `Expression+Functions.swift` (`least`, `greatest`,
/// `sorted`), which evaluate like any operator.
public indirect enum Expression: Sendable, Hashable {
    case constant(Value)
    /// A name: `:name` and `name` are the same reference.
    case reference(String, offset: Int)
    case unary(UnaryOperator, Expression)
    case binary(BinaryOperator, Expression, Expression)
    case call(String, [Expression], offset: Int)
    /// `list[index]`: the index-th value, from 1; NULL outside the list, as
    /// in PostgreSQL.
    case index(Expression, Expression, offset: Int)

    public enum UnaryOperator: String, Sendable { case negate = "-", not = "!" }

    public enum BinaryOperator: String, Sendable, CaseIterable {
        case or = "||", and = "&&"
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    }

    /// Every name the expression refers to, in order of appearance.
    public var references: [(name: String, offset: Int)] {
        switch self {
        case .constant: []
        case .reference(let name, let offset): [(name, offset)]
        case .unary(_, let operand): operand.references
        case .binary(_, let lhs, let rhs): lhs.references + rhs.references
        case .call(_, let arguments, _): arguments.flatMap(\.references)
        case .index(let base, let index, _): base.references + index.references
        }
    }

    /// Replaces references for which `lookup` has a value by constants and
    /// folds what becomes constant. Random draws are left for the caller to
    /// interpret; functions of constants are folded.
    public func substituting(_ lookup: (String) -> Value?) throws(ExpressionError) -> Expression {
        switch self {
        case .constant:
            return self
        case .reference(let name, _):
            if let value = lookup(name) { return .constant(value) }
            return self
        case .unary(let op, let operand):
            let inner = try operand.substituting(lookup)
            if case .constant = inner { return .constant(try Expression.unary(op, inner).evaluate { _ in nil }) }
            return .unary(op, inner)
        case .binary(let op, let lhs, let rhs):
            let left = try lhs.substituting(lookup)
            let right = try rhs.substituting(lookup)
            if case .constant = left, case .constant = right {
                return .constant(try Expression.binary(op, left, right).evaluate { _ in nil })
            }
            return .binary(op, left, right)
        case .call(let name, let arguments, let offset):
            let folded = try arguments.map { (argument) throws(ExpressionError) in try argument.substituting(lookup) }
            let call = Expression.call(name, folded, offset: offset)
            if Self.functions.contains(name), folded.allSatisfy(\.isConstant) { return .constant(try call.evaluate { _ in nil }) }
            return call
        case .index(let base, let index, let offset):
            let list = try base.substituting(lookup)
            let position = try index.substituting(lookup)
            if list.isConstant && position.isConstant { return .constant(try Expression.index(list, position, offset: offset).evaluate { _ in nil }) }
            return .index(list, position, offset: offset)
        }
    }

    /// Evaluates the expression; `lookup` resolves references. Random draws
    /// are errors here: distributions are interpreted by the workload compiler.
    /// `strictIndex`: a subscript outside its list is an error instead of
    /// NULL (the validator's check of constant subscripts).
    public func evaluate(strictIndex: Bool = false, _ lookup: (String) -> Value?) throws(ExpressionError) -> Value {
        switch self {
        case .constant(let value):
            return value
        case .reference(let name, let offset):
            guard let value = lookup(name) else { throw ExpressionError(offset: offset, message: "unknown name '\(name)'") }
            return value
        case .unary(let op, let operand):
            let value = try operand.evaluate(strictIndex: strictIndex, lookup)
            switch (op, value) {
            // Integer arithmetic wraps, as + - * do: no input traps.
            case (.negate, .int(let int)): return .int(0 &- int)
            case (.negate, .double(let double)): return .double(-double)
            case (.not, .bool(let bool)): return .bool(!bool)
            default: throw ExpressionError(offset: 0, message: "cannot apply '\(op.rawValue)' to \(value.typeName)")
            }
        case .binary(let op, let lhs, let rhs):
            return try Self.apply(op, try lhs.evaluate(strictIndex: strictIndex, lookup), try rhs.evaluate(strictIndex: strictIndex, lookup))
        case .call(let name, let arguments, let offset):
            guard Self.functions.contains(name) else {
                if Self.draws.contains(name) {
                    throw ExpressionError(offset: offset, message: "'\(name)(…)' is a random draw and is only allowed as a whole 'let' value; draw it into a variable of its own and use that")
                }
                throw ExpressionError(offset: offset, message: "unknown function '\(name)'\(Suggestion.didYouMean(name, in: Self.functions + Self.draws))")
            }
            let values = try arguments.map { (argument) throws(ExpressionError) in try argument.evaluate(strictIndex: strictIndex, lookup) }
            return try Self.call(name, values, offset: offset)
        case .index(let base, let index, let offset):
            return try Self.subscripted(try base.evaluate(strictIndex: strictIndex, lookup), try index.evaluate(strictIndex: strictIndex, lookup), offset: offset, strict: strictIndex)
        }
    }

    static func apply(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) throws(ExpressionError) -> Value {
        switch op {
        case .or, .and:
            guard case .bool(let left) = lhs, case .bool(let right) = rhs else {
                throw ExpressionError(offset: 0, message: "'\(op.rawValue)' needs booleans, got \(lhs.typeName) and \(rhs.typeName)")
            }
            return .bool(op == .or ? (left || right) : (left && right))
        case .equal, .notEqual:
            let equal: Bool
            if let left = lhs.number, let right = rhs.number { equal = left == right } else { equal = lhs == rhs }
            return .bool(op == .equal ? equal : !equal)
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            let ordering: Bool
            if let left = lhs.number, let right = rhs.number {
                ordering = compare(op, left, right)
            } else if case .string(let left) = lhs, case .string(let right) = rhs {
                ordering = compare(op, left, right)
            } else {
                throw ExpressionError(offset: 0, message: "cannot compare \(lhs.typeName) with \(rhs.typeName)")
            }
            return .bool(ordering)
        case .add, .subtract, .multiply, .divide, .remainder:
            if case .int(let left) = lhs, case .int(let right) = rhs {
                switch op {
                case .add: return .int(left &+ right)
                case .subtract: return .int(left &- right)
                case .multiply: return .int(left &* right)
                case .divide, .remainder:
                    guard right != 0 else { throw ExpressionError(offset: 0, message: "division by zero") }
                    return .int(op == .divide ? left.dividedReportingOverflow(by: right).partialValue : left.remainderReportingOverflow(dividingBy: right).partialValue)
                default: break
                }
            }
            guard let left = lhs.number, let right = rhs.number else {
                throw ExpressionError(offset: 0, message: "'\(op.rawValue)' needs numbers, got \(lhs.typeName) and \(rhs.typeName)")
            }
            switch op {
            case .add: return .double(left + right)
            case .subtract: return .double(left - right)
            case .multiply: return .double(left * right)
            case .divide:
                guard right != 0 else { throw ExpressionError(offset: 0, message: "division by zero") }
                return .double(left / right)
            default:
                guard right != 0 else { throw ExpressionError(offset: 0, message: "division by zero") }
                return .double(left.truncatingRemainder(dividingBy: right))
            }
        }
    }

    private static func compare<T: Comparable>(_ op: BinaryOperator, _ lhs: T, _ rhs: T) -> Bool {
        switch op {
        case .less: lhs < rhs
        case .lessOrEqual: lhs <= rhs
        case .greater: lhs > rhs
        default: lhs >= rhs
        }
    }
}

/// A problem in an expression, at a character offset within its text.
public struct ExpressionError: Error, Sendable, Equatable {
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
}

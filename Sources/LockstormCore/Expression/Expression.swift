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
/// `name(args)` or a parenthesised expression.
public indirect enum Expression: Sendable, Hashable {
    case constant(Value)
    /// A name: `:name` and `name` are the same reference.
    case reference(String, offset: Int)
    case unary(UnaryOperator, Expression)
    case binary(BinaryOperator, Expression, Expression)
    case call(String, [Expression], offset: Int)

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
        }
    }

    /// Replaces references for which `lookup` has a value by constants and
    /// folds what becomes constant. Calls are left for the caller to interpret.
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
            return .call(name, try arguments.map { (argument) throws(ExpressionError) in try argument.substituting(lookup) }, offset: offset)
        }
    }

    /// Evaluates the expression; `lookup` resolves references. Calls are
    /// errors here: distributions are interpreted by the workload compiler.
    public func evaluate(_ lookup: (String) -> Value?) throws(ExpressionError) -> Value {
        switch self {
        case .constant(let value):
            return value
        case .reference(let name, let offset):
            guard let value = lookup(name) else { throw ExpressionError(offset: offset, message: "unknown name '\(name)'") }
            return value
        case .unary(let op, let operand):
            let value = try operand.evaluate(lookup)
            switch (op, value) {
            // Integer arithmetic wraps, as + - * do: no input traps.
            case (.negate, .int(let int)): return .int(0 &- int)
            case (.negate, .double(let double)): return .double(-double)
            case (.not, .bool(let bool)): return .bool(!bool)
            default: throw ExpressionError(offset: 0, message: "cannot apply '\(op.rawValue)' to \(value.typeName)")
            }
        case .binary(let op, let lhs, let rhs):
            return try Self.apply(op, try lhs.evaluate(lookup), try rhs.evaluate(lookup))
        case .call(let name, _, let offset):
            throw ExpressionError(offset: offset, message: "'\(name)(…)' is a random draw and is only allowed in 'let'")
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

/// A scalar value in a workload: a parameter, a drawn variable, a captured
/// column, or the result of an expression.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null

    /// The text sent to the server as a bind parameter (`nil` is SQL NULL).
    public var bindText: String? {
        switch self {
        case .int(let value): Self.decimal(value)
        case .double(let value): Self.format(value)
        case .string(let value): value
        case .bool(let value): value ? "true" : "false"
        case .null: nil
        }
    }

    public var description: String {
        switch self {
        case .string(let value): "'\(value)'"
        case .null: "NULL"
        default: bindText ?? "NULL"
        }
    }

    /// The value as a double, when it is numeric.
    public var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// The value as an integer, when it is one (or a whole double).
    public var integer: Int64? {
        switch self {
        case .int(let value): value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: Int64(value)
        default: nil
        }
    }

    public var typeName: String {
        switch self {
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .bool: "boolean"
        case .null: "null"
        }
    }

    /// Parses a value as it comes back from the server in text form (or from
    /// `--set`): integers, decimals, booleans, otherwise a string.
    public static func parse(text: String?) -> Value {
        guard let text else { return .null }
        if let int = Int64(text) { return .int(int) }
        if let double = Double(text), text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .double(double) }
        switch text {
        case "t", "true": return .bool(true)
        case "f", "false": return .bool(false)
        default: return .string(text)
        }
    }

    /// `String(value)`, written directly: a load formats a value per variable
    /// per attempt, and the standard conversion (through `description` and the
    /// runtime) costs ~245 instructions for a 4-digit number, this ~175.
    /// Numbers of up to 15 characters become small strings: no allocation.
    static func decimal(_ value: Int64) -> String {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        var rest = magnitude / 10
        while rest != 0 {
            length += 1
            rest /= 10
        }
        return String(unsafeUninitializedCapacity: length) { utf8 in
            var position = length
            repeat {
                position -= 1
                utf8[position] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48  // "0"
                magnitude /= 10
            } while magnitude != 0
            if value < 0 { utf8[0] = 45 }  // "-"
            return length
        }
    }

    static func format(_ value: Double) -> String {
        if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

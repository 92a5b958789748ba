/// A scalar value in a workload: a parameter, a drawn variable, a captured
/// column, or the result of an expression.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null
    /// Values in order, such as `sorted(a, b, c)` makes: sent as a
    /// PostgreSQL array literal (`{3,7,42}`; cast it: `:ids::int[]`) and
    /// subscripted from 1 (`ids[1]`), as PostgreSQL arrays are.
    case list([Value])

    /// The text sent to the server as a bind parameter (`nil` is SQL NULL).
    public var bindText: String? {
        switch self {
        case .int(let value): Self.decimal(value)
        case .double(let value): Self.format(value)
        case .string(let value): value
        case .bool(let value): value ? "true" : "false"
        case .null: nil
        case .list(let values): Self.arrayLiteral(values)
        }
    }

    public var description: String {
        switch self {
        case .string(let value): "'\(value)'"
        case .null: "NULL"
        case .list(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        default: bindText ?? "NULL"
        }
    }

    /// `{1,2,3}`, `{"a b","say \"hi\""}`, `{1,NULL}`: every element that is
    /// not a number is double-quoted (backslash before `"` and `\`), so no
    /// text can change the array's shape; NULL stays bare.
    static func arrayLiteral(_ values: [Value]) -> String {
        var text = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            switch value {
            case .int, .double: text += value.bindText ?? "NULL"
            case .null: text += "NULL"
            case .list(let inner): text += arrayLiteral(inner)
            case .string, .bool:
                text += "\""
                for character in value.bindText ?? "" {
                    if character == "\"" || character == "\\" { text += "\\" }
                    text.append(character)
                }
                text += "\""
            }
        }
        return text + "}"
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
        case .list: "list"
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
    /// runtime) costs ~245 instructions for a 4-digit number, this ~120.
    /// Digits are counted and written two at a time (half the divisions).
    /// Numbers of up to 15 characters become small strings: no allocation.
    static func decimal(_ value: Int64) -> String {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        var rest = magnitude
        while rest >= 100 {
            length += 2
            rest /= 100
        }
        if rest >= 10 { length += 1 }
        return String(unsafeUninitializedCapacity: length) { utf8 in
            // "00" "01" … "99": the two digits of `n` are at 2n and 2n + 1.
            let pairs = digitPairs.utf8Start
            var position = length
            while magnitude >= 100 {
                let pair = Int(truncatingIfNeeded: magnitude % 100) &* 2
                magnitude /= 100
                position -= 2
                utf8[position] = pairs[pair]
                utf8[position + 1] = pairs[pair + 1]
            }
            if magnitude >= 10 {
                let pair = Int(truncatingIfNeeded: magnitude) &* 2
                utf8[position - 2] = pairs[pair]
                utf8[position - 1] = pairs[pair + 1]
            } else {
                utf8[position - 1] = UInt8(truncatingIfNeeded: magnitude) &+ 48  // "0"
            }
            if value < 0 { utf8[0] = 45 }  // "-"
            return length
        }
    }

    /// A literal, so no lazy initialisation guards its reads.
    private static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    static func format(_ value: Double) -> String {
        if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

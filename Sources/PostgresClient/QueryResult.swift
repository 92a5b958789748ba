/// The rows of a statement's result, copied out of libpq so that no C handle
/// outlives the call that produced it. Values are in text format.
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    /// The column type OIDs, in column order.
    public var columnTypes: [UInt32]
    public var rows: [[String?]]
    /// The command tag, such as `UPDATE 1`.
    public var commandTag: String
    /// Rows affected according to the command tag (0 when it has none).
    public var affectedRows: Int

    public init(columns: [String] = [], columnTypes: [UInt32] = [], rows: [[String?]] = [], commandTag: String = "", affectedRows: Int = 0) {
        self.columns = columns
        self.columnTypes = columnTypes
        self.rows = rows
        self.commandTag = commandTag
        self.affectedRows = affectedRows
    }

    /// The first column of the first row, or `nil` when there is none or it is NULL.
    public var scalar: String? {
        rows.first?.first ?? nil
    }

    /// The value at `row`, `column` parsed as an integer.
    public func int(_ row: Int, _ column: Int) -> Int64? {
        guard row < rows.count, column < rows[row].count, let text = rows[row][column] else { return nil }
        return Int64(text)
    }

    /// The value at `row`, `column`, decoded by its column type.
    public func value(_ row: Int, _ column: Int) -> PostgresValue {
        guard row < rows.count, column < rows[row].count, let text = rows[row][column] else { return .null }
        return PostgresValue(text: text, type: column < columnTypes.count ? columnTypes[column] : 0)
    }
}

/// A column value decoded from its text form by the column's type OID.
public enum PostgresValue: Sendable, Hashable {
    case null
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// Every other type (numeric included, which may exceed a Double), as text.
    case text(String)

    /// Well-known type OIDs (pg_type.h).
    public enum TypeOID {
        public static let bool: UInt32 = 16
        public static let int8: UInt32 = 20
        public static let int2: UInt32 = 21
        public static let int4: UInt32 = 23
        public static let oid: UInt32 = 26
        public static let float4: UInt32 = 700
        public static let float8: UInt32 = 701
    }

    public init(text: String, type: UInt32) {
        switch type {
        case TypeOID.int2, TypeOID.int4, TypeOID.int8, TypeOID.oid:
            self = Int64(text).map(PostgresValue.int) ?? .text(text)
        case TypeOID.float4, TypeOID.float8:
            self = Double(text).map(PostgresValue.double) ?? .text(text)
        case TypeOID.bool:
            self = text == "t" ? .bool(true) : text == "f" ? .bool(false) : .text(text)
        default:
            self = .text(text)
        }
    }
}

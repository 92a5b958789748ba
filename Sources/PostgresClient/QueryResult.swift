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
}

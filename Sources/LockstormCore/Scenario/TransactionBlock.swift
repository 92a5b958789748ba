/// Statements PostgreSQL refuses inside a transaction block ("cannot run
/// inside a transaction block"), recognised from their keywords so that
/// `validate` can say so without a database, at the step's place.
public enum TransactionBlock {
    /// The keywords of a statement, upper-cased, outside strings, quoted
    /// names and comments (a quoted name counts as one word, `"`).
    public static func words(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var words: [String] = []
        var index = 0
        while index < bytes.count {
            if let end = SQLLexer.skipQuotedOrComment(bytes, at: index) {
                if bytes[index] == 34 { words.append("\"") }
                index = end
                continue
            }
            let isWordByte = { (byte: UInt8) in (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 || byte >= 128 }
            if isWordByte(bytes[index]) {
                let start = index
                while index < bytes.count, isWordByte(bytes[index]) || (48...57).contains(bytes[index]) { index += 1 }
                words.append(String(decoding: bytes[start..<index], as: UTF8.self).uppercased())
                continue
            }
            index += 1
        }
        return words
    }

    /// What makes a statement one PostgreSQL refuses inside a transaction
    /// block ("cannot run inside a transaction block"), or `nil`.
    public static func refusal(_ words: [String]) -> String? {
        guard let first = words.first else { return nil }
        let second = words.count > 1 ? words[1] : ""
        switch first {
        case "VACUUM": return "VACUUM"
        case "ALTER" where second == "SYSTEM": return "ALTER SYSTEM"
        case "ALTER" where second == "DATABASE" && words.contains("TABLESPACE"): return "ALTER DATABASE … SET TABLESPACE"
        case "ALTER" where second == "TABLE" && words.contains("DETACH") && words.contains("CONCURRENTLY"): return "DETACH PARTITION … CONCURRENTLY"
        case "CREATE", "DROP":
            if second == "DATABASE" || second == "TABLESPACE" { return "\(first) \(second)" }
            // CREATE [UNIQUE] INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY.
            let object = second == "UNIQUE" ? (words.count > 2 ? words[2] : "") : second
            if object == "INDEX", words.contains("CONCURRENTLY") { return "\(first) INDEX CONCURRENTLY" }
        case "REINDEX":
            if words.contains("CONCURRENTLY") { return "REINDEX … CONCURRENTLY" }
            if ["SCHEMA", "DATABASE", "SYSTEM"].contains(second) { return "REINDEX \(second)" }
        case "CLUSTER" where words.count == 1 || (words.count == 2 && second == "VERBOSE"): return "CLUSTER without a table"
        case "DISCARD" where second == "ALL": return "DISCARD ALL"
        default: break
        }
        return nil
    }
}

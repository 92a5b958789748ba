/// A SQL statement whose `:name` references have been rewritten to `$1`,
/// `$2`, …, so that every value reaches the server as a bind parameter.
///
/// References are found outside string literals, quoted identifiers,
/// dollar-quoted bodies and comments; `::type` casts are left alone.
public struct SQLTemplate: Sendable, Hashable {
    /// The statement text with `$n` placeholders.
    public var sql: String
    /// The name bound to each placeholder: `$1` is `names[0]`. A name used
    /// twice is bound once.
    public var names: [String]
    /// Character offset of each reference in the original text, parallel to
    /// the references found (used for error locations).
    public var referenceOffsets: [(name: String, offset: Int)]

    public static func == (lhs: SQLTemplate, rhs: SQLTemplate) -> Bool { lhs.sql == rhs.sql && lhs.names == rhs.names }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sql)
        hasher.combine(names)
    }

    public init(_ text: String) {
        var output: [UInt8] = []
        var names: [String] = []
        var offsets: [(String, Int)] = []
        let bytes = Array(text.utf8)
        output.reserveCapacity(bytes.count)
        var index = 0
        func isNameStart(_ byte: UInt8) -> Bool { (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 }
        func isNameByte(_ byte: UInt8) -> Bool { isNameStart(byte) || (48...57).contains(byte) }
        while index < bytes.count {
            let byte = bytes[index]
            if let end = SQLLexer.skipQuotedOrComment(bytes, at: index) {
                output.append(contentsOf: bytes[index..<end])
                index = end
                continue
            }
            if byte == 58 {  // ':'
                if index + 1 < bytes.count && bytes[index + 1] == 58 {
                    output.append(contentsOf: [58, 58])
                    index += 2
                    continue
                }
                let previous = index > 0 ? bytes[index - 1] : 32
                if index + 1 < bytes.count && isNameStart(bytes[index + 1]) && !isNameByte(previous) {
                    var end = index + 1
                    while end < bytes.count && isNameByte(bytes[end]) { end += 1 }
                    let name = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
                    let number: Int
                    if let existing = names.firstIndex(of: name) {
                        number = existing + 1
                    } else {
                        names.append(name)
                        number = names.count
                    }
                    offsets.append((name, index))
                    output.append(contentsOf: Array("$\(number)".utf8))
                    index = end
                    continue
                }
            }
            output.append(byte)
            index += 1
        }
        self.sql = String(decoding: output, as: UTF8.self)
        self.names = names
        self.referenceOffsets = offsets
    }
}

/// Just enough SQL lexing to find statement boundaries and parameter
/// references: quotes, dollar quotes and comments.
public enum SQLLexer {
    /// If a quoted string, quoted identifier, dollar-quoted body or comment
    /// starts at `index`, returns the index just past its end.
    static func skipQuotedOrComment(_ bytes: [UInt8], at index: Int) -> Int? {
        let byte = bytes[index]
        let next: UInt8 = index + 1 < bytes.count ? bytes[index + 1] : 0
        switch byte {
        case 39, 34:  // ' or "
            var cursor = index + 1
            while cursor < bytes.count {
                if bytes[cursor] == byte {
                    if cursor + 1 < bytes.count && bytes[cursor + 1] == byte { cursor += 2; continue }
                    return cursor + 1
                }
                cursor += 1
            }
            return bytes.count
        case 45 where next == 45:  // -- comment
            var cursor = index + 2
            while cursor < bytes.count && bytes[cursor] != 10 { cursor += 1 }
            return cursor
        case 47 where next == 42:  // /* comment */, nested as in PostgreSQL
            var depth = 1
            var cursor = index + 2
            while cursor < bytes.count && depth > 0 {
                if bytes[cursor] == 47 && cursor + 1 < bytes.count && bytes[cursor + 1] == 42 { depth += 1; cursor += 2; continue }
                if bytes[cursor] == 42 && cursor + 1 < bytes.count && bytes[cursor + 1] == 47 { depth -= 1; cursor += 2; continue }
                cursor += 1
            }
            return cursor
        case 36:  // $tag$ … $tag$
            var cursor = index + 1
            while cursor < bytes.count, (65...90).contains(bytes[cursor]) || (97...122).contains(bytes[cursor]) || bytes[cursor] == 95 || (cursor > index + 1 && (48...57).contains(bytes[cursor])) {
                cursor += 1
            }
            guard cursor < bytes.count, bytes[cursor] == 36 else { return nil }
            let tag = Array(bytes[index...cursor])
            var search = cursor + 1
            while search + tag.count <= bytes.count {
                if bytes[search] == 36 && Array(bytes[search..<(search + tag.count)]) == tag { return search + tag.count }
                search += 1
            }
            return bytes.count
        default:
            return nil
        }
    }

    /// Splits a script into statements at top-level semicolons, dropping
    /// empty ones. Each statement comes with its offset in the script.
    public static func splitStatements(_ script: String) -> [(sql: String, offset: Int)] {
        let bytes = Array(script.utf8)
        var statements: [(String, Int)] = []
        var start = 0
        var index = 0
        var hasContent = false
        func flush(_ end: Int) {
            if hasContent {
                var first = start
                while first < end && bytes[first] <= 32 { first += 1 }
                let text = String(decoding: bytes[first..<end], as: UTF8.self).trimmingWhitespace()
                if !text.isEmpty { statements.append((text, first)) }
            }
            hasContent = false
        }
        while index < bytes.count {
            if let end = skipQuotedOrComment(bytes, at: index) {
                // A comment alone does not make a statement.
                if bytes[index] == 39 || bytes[index] == 34 || bytes[index] == 36 { hasContent = true }
                index = end
                continue
            }
            if bytes[index] == 59 {
                flush(index)
                index += 1
                start = index
                continue
            }
            if bytes[index] > 32 { hasContent = true }
            index += 1
        }
        flush(bytes.count)
        return statements
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}

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

    /// The raw `$n` placeholders in `text`, with their UTF-8 offsets: outside
    /// strings, quoted identifiers, dollar-quoted bodies and comments, and not
    /// inside an identifier (`a$1` is one name in PostgreSQL). lockstorm
    /// numbers the bind parameters itself from `:name` references, so a `$1`
    /// written by hand would bind to whichever value it put first.
    public static func rawPlaceholders(_ text: String) -> [(text: String, offset: Int)] {
        let bytes = Array(text.utf8)
        func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }
        func isIdentifierByte(_ byte: UInt8) -> Bool {
            (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 || byte >= 128 || isDigit(byte) || byte == 36
        }
        var found: [(String, Int)] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            // A name or a number, whole: `a$1`, `x$$y`, `1e5`.
            if isIdentifierByte(byte) && byte != 36 {
                while index < bytes.count && isIdentifierByte(bytes[index]) { index += 1 }
                continue
            }
            if let end = skipQuotedOrComment(bytes, at: index) {
                index = end
                continue
            }
            if byte == 36, index + 1 < bytes.count, isDigit(bytes[index + 1]) {
                var end = index + 1
                while end < bytes.count && isDigit(bytes[end]) { end += 1 }
                found.append((String(decoding: bytes[index..<end], as: UTF8.self), index))
                index = end
                continue
            }
            index += 1
        }
        return found
    }

    /// The message for a raw placeholder such as `$1`.
    public static func rawPlaceholderMessage(_ placeholder: String) -> String {
        "'\(placeholder)' is a raw bind placeholder: lockstorm numbers bind parameters itself from ':names', so write the parameter or variable by name (:id) instead"
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

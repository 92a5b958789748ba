/// Reads PostgreSQL's fixed message formats left to right: each read either
/// consumes exactly what it expects or fails and leaves the scanner unusable
/// for that format, so a caller tries the next format on a fresh scanner.
///
/// Works on Characters, so a digit followed by a combining mark is not a
/// digit and indices never land inside a grapheme. Every read is linear in
/// what it consumes; no input makes it quadratic or trap.
struct MessageScanner {
    private(set) var rest: Substring

    init(_ text: Substring) {
        rest = text
    }

    init(_ text: String) {
        rest = text[...]
    }

    var isAtEnd: Bool { rest.isEmpty }

    /// Consumes `literal` if the text continues with it.
    mutating func skip(_ literal: String) -> Bool {
        guard rest.hasPrefix(literal) else { return false }
        rest = rest.dropFirst(literal.count)
        return true
    }

    /// Consumes a run of ASCII digits that fits `T`; fails on no digits or overflow.
    mutating func unsigned<T: FixedWidthInteger & UnsignedInteger>(_: T.Type = T.self) -> T? {
        var value: T = 0
        var index = rest.startIndex
        while index < rest.endIndex, let digit = Self.digitValue(rest[index]) {
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(T(digit))
            guard !overflowA, !overflowB else { return nil }
            value = sum
            index = rest.index(after: index)
        }
        guard index != rest.startIndex else { return nil }
        rest = rest[index...]
        return value
    }

    /// Consumes an optionally negative run of ASCII digits that fits `T` (a C `%d`).
    mutating func signed<T: FixedWidthInteger & SignedInteger>(_: T.Type = T.self) -> T? {
        let negative = skip("-")
        guard let magnitude = unsigned(UInt64.self) else { return nil }
        if negative {
            guard magnitude <= UInt64(T.max) + 1 else { return nil }
            return magnitude == UInt64(T.max) + 1 ? T.min : -T(magnitude)
        }
        guard magnitude <= UInt64(T.max) else { return nil }
        return T(magnitude)
    }

    /// Consumes everything up to (not including) the first `character`; fails if it never occurs.
    mutating func upTo(_ character: Character) -> Substring? {
        guard let index = rest.firstIndex(of: character) else { return nil }
        let taken = rest[..<index]
        rest = rest[index...]
        return taken
    }

    /// Consumes the rest of the text.
    mutating func remainder() -> Substring {
        let taken = rest
        rest = rest[rest.endIndex...]
        return taken
    }

    /// `text` without leading and trailing whitespace (newlines included).
    static func trimmed(_ text: Substring) -> Substring {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace }) else { return text[text.endIndex...] }
        return text[first...last]
    }

    private static func digitValue(_ character: Character) -> UInt8? {
        guard let ascii = character.asciiValue, (48...57).contains(ascii) else { return nil }
        return ascii - 48
    }
}

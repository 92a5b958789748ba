import Foundation

/// A DSN as the user wrote it: a `postgresql://` URL or a `key=value`
/// conninfo string. Its description never shows a password.
public struct ConnectionString: Sendable, Equatable, CustomStringConvertible {
    /// The exact text handed to libpq. Never print it: use `description`.
    public let raw: String

    public init(_ raw: String) {
        self.raw = raw
    }

    /// The DSN with any password replaced by `****`.
    public var description: String { Self.redact(raw) }

    /// Replaces passwords in URLs (`user:secret@`, `?password=secret`) and in
    /// conninfo strings (`password=secret`, quoted or not).
    public static func redact(_ text: String) -> String {
        var out = redactURLUserInfo(text)
        out = redactKeyValue(out)
        return out
    }

    private static func redactURLUserInfo(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let afterScheme = text[scheme.upperBound...]
        // userinfo ends at the last '@' before the query; a password may
        // itself contain '/' or ':' when the user did not percent-encode it.
        let queryStart = afterScheme.firstIndex(of: "?") ?? afterScheme.endIndex
        let beforeQuery = afterScheme[afterScheme.startIndex..<queryStart]
        guard let at = beforeQuery.lastIndex(of: "@") else { return text }
        let userInfo = beforeQuery[beforeQuery.startIndex..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        var result = String(text[text.startIndex..<colon])
        result += ":****"
        result += text[at...]
        return result
    }

    private static func redactKeyValue(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: "password", options: .caseInsensitive) {
            result += rest[rest.startIndex..<range.upperBound]
            rest = rest[range.upperBound...]
            // Optional spaces, then '=' introduce the value.
            let trimmed = rest.drop(while: { $0.isWhitespace })
            guard trimmed.first == "=" else { continue }
            var value = trimmed.dropFirst().drop(while: { $0.isWhitespace })
            result += "="
            if value.first == "'" {
                value = value.dropFirst()
                var escaped = false
                var end = value.endIndex
                for index in value.indices {
                    let character = value[index]
                    if escaped { escaped = false; continue }
                    if character == "\\" { escaped = true; continue }
                    if character == "'" { end = index; break }
                }
                rest = end < value.endIndex ? value[value.index(after: end)...] : value[value.endIndex...]
            } else {
                let end = value.firstIndex(where: { $0.isWhitespace || $0 == "&" || $0 == "#" }) ?? value.endIndex
                rest = value[end...]
            }
            result += "****"
        }
        result += rest
        return result
    }
}

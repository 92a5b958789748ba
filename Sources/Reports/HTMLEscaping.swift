import LockstormCore

/// Text and number formatting for the HTML report and its SVG charts.
///
/// Everything the report shows from a run (workload names, SQL messages, the
/// command line) goes through `escape`, so the document stays well-formed XML
/// and valid HTML whatever the text holds.
enum HTMLText {
    /// `text` safe in element content and in double-quoted attribute values.
    ///
    /// Escapes `& < > " '`; replaces characters XML 1.0 forbids (most C0
    /// controls, U+FFFE, U+FFFF) with U+FFFD; and writes the colon of
    /// `http:`/`https:` as `&#58;` so the file never contains a web address
    /// literally (it renders the same, and nothing in the report is fetched).
    static func escape(_ text: String) -> String {
        // Most text (numbers, names) has nothing to escape: return it as is.
        // Any byte that might need work (0xEF may start U+FFFE/U+FFFF) takes the full path.
        let plain = text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: ":"), 0xEF: false
            case UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): true
            default: byte >= 0x20
            }
        }
        return plain ? text : escapeScalars(text)
    }

    /// `escape` scalar by scalar.
    static func escapeScalars(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case ":":
                let tail = out.suffix(5).lowercased()
                out += tail.hasSuffix("http") || tail.hasSuffix("https") ? "&#58;" : ":"
            case "\t", "\n", "\r":
                out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Thousands separator: a narrow no-break space, readable in any locale.
    static let groupSeparator = "\u{202F}"

    /// `12345` → `12 345`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { grouped += groupSeparator }
            grouped.append(character)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    /// `value` with `digits` decimals and grouped thousands; `–` when not finite.
    static func decimal(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "\u{2013}" }
        let text = Format.fixed(value, digits: digits)
        let negative = text.hasPrefix("-")
        let unsigned = negative ? String(text.dropFirst()) : text
        let parts = unsigned.split(separator: ".", maxSplits: 1).map(String.init)
        guard let whole = Int(parts[0]) else { return text }
        var result = (negative ? "-" : "") + count(whole)
        if parts.count > 1 { result += "." + parts[1] }
        return result
    }

    /// Milliseconds with a precision that suits their size: `0.412`, `6.12`, `81.3`, `1 204`.
    static func milliseconds(_ value: Double) -> String {
        guard value.isFinite else { return "\u{2013}" }
        let magnitude = abs(value)
        let digits = magnitude == 0 ? 2 : magnitude < 1 ? 3 : magnitude < 100 ? 2 : magnitude < 1000 ? 1 : 0
        return decimal(value, digits: digits)
    }

    /// Seconds as `60.0 s`, with minutes added past two minutes: `3 600.0 s (60 min 0 s)`.
    static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return "\u{2013}" }
        var text = decimal(value, digits: 1) + " s"
        if value >= 120 {
            let whole = Int(value.rounded())
            text += " (\(whole / 60) min \(whole % 60) s)"
        }
        return text
    }

    /// Bytes in binary units: `512 B`, `48.2 MiB`.
    static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while abs(amount) >= 1024 && unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : decimal(amount, digits: 1) + " " + units[unit]
    }

    /// `2026-11-23T18:45:12.345Z` → `2026-11-23 18:45:12`; `nil` when not an ISO 8601 UTC time.
    static func utcTimestamp(_ iso: String) -> String? {
        let characters = Array(iso)
        guard characters.count >= 20, characters[10] == "T", characters[13] == ":", characters[16] == ":", iso.hasSuffix("Z") else { return nil }
        return String(characters[0..<10]) + " " + String(characters[11..<19])
    }
}

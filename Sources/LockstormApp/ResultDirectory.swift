import Foundation
import Reports

/// Names and creates the folders results go into, for run, compare and fuzz
/// alike: `<root>/<prefix>-<suffix>-<UTC timestamp>/`, never overwriting an
/// earlier one (an existing name gets `-2`, `-3`, …).
public enum ResultDirectory {
    /// What the folder holds, which gives its name.
    public enum Kind: Sendable, Equatable {
        /// `transfers-ordered-…`: one run of a variant.
        case run(workload: String, variant: String)
        /// `compare-transfers-clients-…` (`…-variants-…` without sweeps).
        case compare(workload: String, sweeps: [String])
        /// `fuzz-transfers-unordered-…`: a fuzzing session's reproductions.
        case fuzz(workload: String, variant: String)

        var parts: [String] {
            switch self {
            case .run(let workload, let variant): [workload, variant]
            case .compare(let workload, let sweeps): ["compare-" + workload, sweeps.isEmpty ? "variants" : sweeps.joined(separator: "-")]
            case .fuzz(let workload, let variant): ["fuzz-" + workload, variant]
            }
        }
    }

    /// The folder's name on its first attempt (`attempt` 1) and later ones (`-2`, `-3`, …).
    public static func name(_ kind: Kind, date: Date, attempt: Int = 1) -> String {
        let base = (kind.parts.map(safe) + [timestamp(date)]).joined(separator: "-")
        return attempt == 1 ? base : "\(base)-\(attempt)"
    }

    /// Why a results folder could not be made: the path and what is in the way.
    public struct CreationError: LocalizedError, CustomStringConvertible, Sendable {
        public var path: String
        public var reason: String

        public var description: String { "cannot create the results folder \(path): \(reason)" }
        public var errorDescription: String? { description }
    }

    /// Creates the folder under `root` (and `root` itself); returns it.
    public static func create(_ kind: Kind, root: URL, date: Date = Date()) throws -> URL {
        try makeRoot(root.standardizedFileURL.path)
        var attempt = 1
        while true {
            let candidate = root.appendingPathComponent(name(kind, date: date, attempt: attempt), isDirectory: true)
            // mkdir fails when the name exists, so two runs never share a directory.
            if mkdir(candidate.path, 0o755) == 0 { return candidate }
            guard errno == EEXIST, attempt < 10_000 else {
                throw CreationError(path: candidate.path, reason: String(cString: strerror(errno)))
            }
            attempt += 1
        }
    }

    /// `mkdir -p root`, saying which part of the path is in the way (a
    /// regular file where a folder should be) rather than a Foundation code.
    static func makeRoot(_ root: String) throws {
        try walk(root, create: true)
    }

    /// What stands in the way of results going under `root` (a regular file
    /// where a folder should be), found before a run starts; nil when nothing does.
    public static func problem(withRoot root: String) -> String? {
        do {
            try walk(URL(fileURLWithPath: root).standardizedFileURL.path, create: false)
            return nil
        } catch {
            return error.description
        }
    }

    private static func walk(_ root: String, create: Bool) throws(CreationError) {
        var path = ""
        for component in root.split(separator: "/") {
            path += "/" + component
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw CreationError(path: root, reason: path == root ? "it is a file, not a folder" : "\(path) is a file, not a folder")
                }
                continue
            }
            guard create else { return }
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw CreationError(path: root, reason: path == root ? String(cString: strerror(errno)) : "cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// `20261123T184512Z`, always UTC (the C library's calendar: Foundation's
    /// Calendar and TimeZone cost ~2 M instructions to set up, 2% of a short run).
    public static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { let text = String(value); return text.count < 2 ? "0" + text : text }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    /// A name safe as a path component: Reports' mapping, which the baseline lookup matches folders by.
    public static func safe(_ name: String) -> String { ResultWriter.safe(name) }
}

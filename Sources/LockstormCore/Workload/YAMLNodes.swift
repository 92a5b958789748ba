import Yams

/// Node readers shared by the workload and scenario parsers.
enum YAMLNodes {
    /// The entries of a mapping node in file order. With `allowed`, unknown
    /// keys are reported with a suggestion; duplicates are always reported.
    /// `report` receives each problem and the node it is about.
    static func mapping(_ node: Node, what: String, allowed: [String]?, report: (Node, String) -> Void) -> [(String, Node, Node)]? {
        guard let mapping = node.mapping else {
            report(node, "\(what) must be a mapping of keys to values")
            return nil
        }
        var seen: Set<String> = []
        var entries: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                report(keyNode, "keys of \(what) must be plain names")
                continue
            }
            if let allowed, !allowed.contains(key) {
                report(keyNode, "unknown key '\(key)' in \(what)\(Suggestion.didYouMean(key, in: allowed))")
                continue
            }
            if !seen.insert(key).inserted {
                report(keyNode, "duplicate key '\(key)' in \(what)")
                continue
            }
            entries.append((key, keyNode, value))
        }
        return entries
    }
}

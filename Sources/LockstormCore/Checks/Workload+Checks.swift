extension Workload {
    /// A problem in each of the workload's `checks:` that does not parse, at
    /// the offending character (file:line:col), so `validate` and `run`
    /// reject them before anything touches a database.
    public func checkDiagnostics(file: String) -> [Diagnostic] {
        let parser = CheckParser(transactions: transactions.map(\.name), counters: counterNames)
        var diagnostics: [Diagnostic] = []
        for (index, text) in checks.enumerated() {
            do {
                _ = try parser.parse(text)
            } catch {
                var place = index < checkLocations.count ? checkLocations[index] : SourceLocation(line: 1, column: 1)
                // Offsets are exact on one-line checks; a folded one points at its start.
                if !text.contains("\n") { place.column += error.offset }
                diagnostics.append(Diagnostic(file: file, location: place, message: "check '\(error.excerpt)': \(error.message)"))
            }
        }
        return diagnostics
    }

    /// The workload's checks, parsed (call after `checkDiagnostics` found nothing).
    public func parsedChecks() throws(CheckError) -> [Check] {
        let parser = CheckParser(transactions: transactions.map(\.name), counters: counterNames)
        var checks: [Check] = []
        for text in self.checks { checks.append(try parser.parse(text)) }
        return checks
    }
}

extension Workload {
    /// Every unit-of-work counter (`count: N`) of the base transactions and
    /// of any variant, in order of first appearance: the `N` and `N_per_s`
    /// metrics a check may name.
    public var counterNames: [String] {
        var names: [String] = []
        func collect(_ steps: [Step]) {
            for case .sql(_, _, let options) in steps {
                if let counter = options.count, !names.contains(counter) { names.append(counter) }
            }
        }
        for transaction in transactions { collect(transaction.steps) }
        for variant in variants {
            for transaction in variant.transactions { collect(transaction.steps ?? []) }
        }
        return names
    }
}

import Foundation
import LockstormCore

/// The summary of a run as `summary.csv` and as the table printed at the end.
public enum SummaryReport {
    /// `summary.csv`: `RunSummary.columns`, one row per transaction type and `total`.
    public static func csv(_ summary: RunSummary) -> String {
        CSV.document(header: summary.columns, rows: summary.rows.map(\.values))
    }

    /// The human summary: a header line, an aligned table, invariants and top errors.
    public static func table(
        _ summary: RunSummary, server: String? = nil, deadlocks: RunRecord.DeadlockCheck? = nil, record: RunRecord? = nil, timeseries: [TimeseriesRow] = []
    ) -> String {
        var out = ""
        var title = "\(summary.workload) / \(summary.variant): \(summary.clients) clients, \(summary.threads) threads, \(Format.fixed(summary.durationSeconds, digits: 1)) s, seed \(summary.seed)"
        if summary.protocolMode != .extended { title += ", -M \(summary.protocolMode)" }
        if let server { title += ", PostgreSQL \(server)" }
        if summary.partial { title += "  [PARTIAL: stopped early]" }
        out += title + "\n\n"

        // The outcome columns other than committed and failed appear only when
        // some row has one, so the usual table stays narrow.
        let total = summary.stats.total
        let optional: [(header: String, shown: Bool, value: (TransactionStats) -> Int)] = [
            ("rolled back", total.rolledBack > 0, \.rolledBack),
            ("ended early", total.endedEarly > 0, \.endedEarly),
            ("unexpected", total.unexpectedErrors > 0, \.unexpectedErrors),
        ]
        // Transactions that used their last attempt: why retries fall short of failed.
        let gaveUp = total.exhaustedRetries > 0
        var header = ["transaction", "attempts", "committed"]
        header += optional.prefix(2).filter(\.shown).map(\.header)
        header.append("failed")
        header += optional.suffix(1).filter(\.shown).map(\.header)
        header.append("retries")
        if gaveUp { header.append("gave up") }
        header += ["deadlock", "lock n/a", "serializ.", "timeout", "other", "tps", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"]
        let rows: [[String]] = summary.rows.map { row in
            let stats = row.stats
            let other = stats.count(.other) + stats.count(.connection)
            var cells = [row.transaction, String(stats.attempts), String(stats.committed)]
            cells += optional.prefix(2).filter(\.shown).map { String($0.value(stats)) }
            cells.append(String(stats.failed))
            cells += optional.suffix(1).filter(\.shown).map { String($0.value(stats)) }
            cells.append(String(stats.retries))
            if gaveUp { cells.append(String(stats.exhaustedRetries)) }
            return cells + [
                String(stats.count(.deadlock)), String(stats.count(.lockNotAvailable)), String(stats.count(.serializationFailure)),
                String(stats.count(.statementTimeout)), String(other), Format.fixed(row.tps, digits: 1),
                Format.fixed(row.meanMilliseconds, digits: 2), Format.fixed(row.latencyMilliseconds(50), digits: 2),
                Format.fixed(row.latencyMilliseconds(95), digits: 2), Format.fixed(row.latencyMilliseconds(99), digits: 2),
                Format.fixed(row.maxMilliseconds, digits: 2),
            ]
        }
        out += TextTable.render(header: header, rows: rows, separatorBeforeLast: rows.count > 2)
        if let line = unitsLine(summary.rows.last?.units ?? []) { out += "\n" + line + "\n" }
        if total.graceCommitted > 0 {
            let count = total.graceCommitted
            out += "\ngrace period: \(grouped(count)) commit\(count == 1 ? "" : "s") finished after the window closed "
                + "(counted in committed and tps, over the \(Format.fixed(summary.durationSeconds, digits: 1)) s window)\n"
        }

        if !summary.invariants.isEmpty {
            out += "\ninvariants:\n"
            for invariant in summary.invariants {
                let mark = invariantMark(invariant)
                var line = "  \(mark)  \(invariant.name): expected \(invariant.expected.bindText ?? "NULL"), got \(invariant.actualDisplay)"
                if let error = invariant.error { line = "  \(mark)  \(invariant.name): \(error.split(separator: "\n").first ?? "")" }
                if let during = invariant.during { line += "; \(during.description)" }
                out += line + "\n"
                if let during = invariant.during, let gap = coverageGapLine(during.coverage, looks: "checks", monitor: "its monitor") {
                    out += "         * \(gap): not watched the whole run\n"
                }
            }
        }
        if let deadlocks, let line = deadlockLine(deadlocks) { out += "\n" + line + "\n" }
        if let schedule = record?.schedule { out += "\n" + schedule.line + "\n" }
        let sampled = timeseries.compactMap(\.lockWaits).filter { $0.samples > 0 }
        if !sampled.isEmpty {
            let samples = sampled.map(\.samples).reduce(0, +)
            let mean = Double(sampled.map(\.waitingSum).reduce(0, +)) / Double(max(samples, 1))
            var kinds: [String] = []
            for (index, kind) in LockWaitSummary.kinds.enumerated() {
                let most = sampled.map { $0.byKindMax[index] }.max() ?? 0
                if most > 0 { kinds.append("\(kind) \(most)") }
            }
            let coverage = record?.lockSampling?.coverage
            let counted = coverage.flatMap { coverageGapLine($0, looks: "samples", monitor: "the sampler") } ?? "\(samples) samples"
            out += "\nlock waits (\(counted)): \(Format.fixed(mean, digits: 1)) sessions waiting on average, at most \(sampled.map(\.waitingMax).max() ?? 0)"
            if !kinds.isEmpty { out += " (most at once by kind: \(kinds.joined(separator: ", ")))" }
            out += "; longest wait \(Format.fixed(sampled.map(\.longestStatementWaitMilliseconds).max() ?? 0, digits: 1)) ms"
            out += " (longest single lock wait \(Format.fixed(sampled.map(\.longestWaitMilliseconds).max() ?? 0, digits: 1)) ms)"
            out += "; longest blocking chain \(sampled.map(\.longestChain).max() ?? 0) sessions\n"
        } else if let coverage = record?.lockSampling?.coverage, let gap = coverageGapLine(coverage, looks: "samples", monitor: "the sampler") {
            out += "\nlock waits (\(gap)): none seen\n"
        }
        if let line = record?.connections?.line { out += "\n" + line + "\n" }
        let cycles = summary.stats.cyclesByFrequency
        if !cycles.isEmpty { out += "\n" + deadlockGroups(cycles) }
        let errors = summary.errorsByFrequency
        if !errors.isEmpty {
            out += "\nerrors by SQLSTATE:\n"
            let rows = errors.prefix(5).map { [$0.sqlState, $0.errorClass.description, String($0.count), truncate($0.sampleMessage, 70)] }
            out += TextTable.render(header: ["sqlstate", "class", "count", "sample message"], rows: Array(rows), indent: "  ", rightAlignFrom: 2, rightAlignTo: 2)
        }
        return out
    }

    /// The summary's deadlock section, at most `width` columns: the groups
    /// of like statements first, each with its count and share, why it
    /// deadlocks, its most frequent exact shapes, and a sample: what each
    /// participant already held and what it wanted, with values and tables.
    ///
    ///     deadlocks by statement (36 deadlocks, 1 group, 34 exact shapes; all in deadlocks.csv):
    ///       36× 100 %  UPDATE inventory ↔ UPDATE inventory: rows taken in different orders
    ///                  34 shapes: 2× checkout3 step 2 ↔ checkout4 step 5, 2× …, … and 31 more
    ///                  e.g. checkout3 step 5 held step 2 UPDATE inventory (product_id=3)
    ///                         and wants ShareLock on transaction 812 for step 5 UPDATE inventory (product_id=7)
    public static func deadlockGroups(_ cycles: [CycleRecord], width: Int = 100, groupsShown: Int = 3, shapesShown: Int = 3) -> String {
        let groups = DeadlockGroup.groups(cycles)
        let total = groups.map(\.count).reduce(0, +)
        func fit(_ line: String) -> String { line.count <= width ? line : String(line.prefix(width - 1)) + "…" }
        func plural(_ count: Int, _ word: String) -> String { "\(grouped(count)) \(word)\(count == 1 ? "" : "s")" }
        var out = "deadlocks by statement (\(plural(total, "deadlock")), \(plural(groups.count, "group")), "
        out += "\(plural(cycles.count, "exact shape")); all in deadlocks.csv):\n"
        let countWidth = groups.map { grouped($0.count).count }.max() ?? 1
        let indent = String(repeating: " ", count: 2 + countWidth + 1 + 1 + 3 + 4)
        for (index, group) in groups.enumerated() {
            let share = Format.fixed(100 * Double(group.count) / Double(max(total, 1)), digits: 0)
            let count = grouped(group.count)
            let head = "  " + String(repeating: " ", count: countWidth - count.count) + count + "× "
                + String(repeating: " ", count: max(0, 3 - share.count)) + share + " %  "
            // A long ring of statements puts its reason on the next line rather than losing it.
            if (head + group.title).count <= width {
                out += head + group.title + "\n"
            } else {
                out += fit(head + group.key + ":") + "\n" + fit(indent + group.reason) + "\n"
            }
            guard index < groupsShown else { continue }
            let sessions = group.cycleLengths.count > 1 ? "cycles of \(group.cycleLengths.map(String.init).joined(separator: ", ")) sessions; " : ""
            // Each shape as words that wrap between participants, so a long ring is never cut.
            var words: [String] = []
            for (index, record) in group.records.prefix(shapesShown).enumerated() {
                let names = shapeNames(record.signature).components(separatedBy: " → ")
                for (position, name) in names.enumerated() {
                    let last = position == names.count - 1
                    let end = last ? (index < min(shapesShown, group.records.count) - 1 || group.records.count > shapesShown ? ";" : "") : " →"
                    words.append((position == 0 ? "\(record.count)× " : "") + name + end)
                }
            }
            if group.records.count > shapesShown { words.append("… \(group.records.count - shapesShown) more") }
            let lead = indent + sessions + (group.records.count == 1 ? "1 shape: " : "\(group.records.count) shapes: ")
            out += wrap(lead, words, separator: "", continuation: indent + "  ", width: width, fit: fit)
            guard let sample = group.records.first else { continue }
            for (position, participant) in sample.explainedParticipants.enumerated() {
                let lead = position == 0 ? "e.g. " : "     "
                let held = participant.holds.isEmpty ? [participant.holdsText] : participant.holds
                out += wrap(indent + lead + participant.name + " held ", held, separator: ",", continuation: indent + "       ", width: width, fit: fit)
                let wants = [participant.lock + (participant.statement == nil && participant.certainty == .uncertain ? " (statement uncertain)" : "")]
                    + (participant.statement.map { ["for " + (participant.step.map { "step \($0) " } ?? "") + $0] } ?? [])
                out += wrap(indent + "       and wants ", wants, separator: "", continuation: indent + "         ", width: width, fit: fit)
            }
        }
        if groups.count > groupsShown { out += "  (groups after the first \(groupsShown) without shapes and samples: see deadlocks.csv)\n" }
        return out
    }

    /// `items` after `lead`, each but the last followed by `separator`, wrapped at `width` onto lines
    /// that start with `continuation`; an item longer than a line is cut.
    private static func wrap(_ lead: String, _ items: [String], separator: String, continuation: String, width: Int, fit: (String) -> String) -> String {
        var out = ""
        var line = lead
        var empty = true
        for (index, item) in items.enumerated() {
            let text = item + (index < items.count - 1 ? separator : "")
            if !empty, line.count + 1 + text.count > width {
                out += fit(line) + "\n"
                line = continuation
                empty = true
            }
            line += (empty ? "" : " ") + text
            empty = false
        }
        return out + fit(line) + "\n"
    }

    /// `checkout3 step 2 ↔ checkout4 step 5`, or a ring `a step 1 → b step 1 → c step 2`.
    /// Where the participants wait for different kinds of lock, the odd ones
    /// say which (`transfer step 3 [tuple]`), so two shapes never read alike.
    static func shapeNames(_ signature: DeadlockSignature) -> String {
        let kinds = signature.participants.map(\.lockKind)
        let common = Dictionary(kinds.map { ($0, 1) }, uniquingKeysWith: +).max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        let names = signature.participants.map { $0.lockKind == common ? $0.name : "\($0.name) [\($0.lockKind)]" }
        return names.count == 2 ? names.joined(separator: " ↔ ") : (names + names.prefix(1)).joined(separator: " → ")
    }

    /// How an invariant is marked: `PASS`, `FAIL`, or `PASS*` when it held
    /// but its `during:` checks have a gap (a footnote line says how big):
    /// a pass of the checks made, not of the whole run.
    public static func invariantMark(_ invariant: InvariantResult) -> String {
        guard invariant.passed else { return "FAIL" }
        return (invariant.during?.coverage.isComplete ?? true) ? "PASS" : "PASS*"
    }

    /// "25 of 61 samples: the sampler lost its connection 2 times", or
    /// "58 of 61 checks: 3 missed"; `nil` when every look due was made.
    public static func coverageGapLine(_ coverage: Coverage, looks: String, monitor: String) -> String? {
        guard !coverage.isComplete else { return nil }
        var text = "\(coverage.made) of \(coverage.due) \(looks): "
        if coverage.reconnects > 0 {
            text += "\(monitor) lost its connection \(coverage.reconnects) time\(coverage.reconnects == 1 ? "" : "s")"
        } else {
            text += "\(coverage.missed) missed"
        }
        return text
    }

    /// `units of work: jobs 1,000 (312.40/s)`; `nil` when the workload counts nothing.
    public static func unitsLine(_ units: [(name: String, total: Int, perSecond: Double)]) -> String? {
        guard !units.isEmpty else { return nil }
        return "units of work: " + units.map { "\($0.name) \(grouped($0.total)) (\(Format.fixed($0.perSecond, digits: 1))/s)" }.joined(separator: ", ")
    }

    /// `1,234,567`: digits grouped by three, as people read counts.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text += "," }
            text.append(digit)
        }
        return (value < 0 ? "-" : "") + text
    }

    /// The client/server deadlock cross-check, in words.
    static func deadlockLine(_ check: RunRecord.DeadlockCheck) -> String? {
        guard let server = check.serverDelta else {
            return check.client > 0 ? "deadlocks: \(check.client) seen by the clients; the server's count (pg_stat_database) could not be read" : nil
        }
        if check.client == server { return "deadlocks: \(check.client) seen by the clients, \(server) counted by the server (pg_stat_database): they agree" }
        return "deadlocks: \(check.client) seen by the clients but \(server) counted by the server (pg_stat_database): they differ (another session deadlocked, or the server's statistics lag)"
    }

    private static func truncate(_ text: String, _ limit: Int) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? text
        return line.count <= limit ? line : String(line.prefix(limit - 1)) + "…"
    }
}

/// Aligned plain-text tables: the first column left-aligned, numbers right-aligned.
public enum TextTable {
    public static func render(
        header: [String], rows: [[String]], separatorBeforeLast: Bool = false, indent: String = "",
        rightAlignFrom: Int = 1, rightAlignTo: Int = Int.max
    ) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func format(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                let right = index >= rightAlignFrom && index <= rightAlignTo
                parts.append(right ? pad + cell : cell + pad)
            }
            var line = indent + parts.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line + "\n"
        }
        let rule = indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        var out = format(header) + rule
        for (index, row) in rows.enumerated() {
            if separatorBeforeLast && index == rows.count - 1 { out += rule }
            out += format(row)
        }
        return out
    }
}

import Foundation

/// How much worse than the baseline a metric may get (`--max-regression`).
///
/// `tps=10%` allows tps to fall by at most 10 % of the baseline's value;
/// `p99_ms=5` allows p99 to rise by at most 5 ms; `deadlocks_per_1k=0` allows
/// no rise at all. "Worse" follows the metric's direction: lower for `tps`,
/// higher for latencies and error figures.
public struct RegressionLimit: Sendable, Hashable, CustomStringConvertible {
    public enum Amount: Sendable, Hashable {
        /// Relative to the baseline's value, in percent.
        case percent(Double)
        /// In the metric's own unit.
        case absolute(Double)
    }

    public var reference: MetricReference
    public var amount: Amount

    public init(reference: MetricReference, amount: Amount) {
        self.reference = reference
        self.amount = amount
    }

    /// `tps=10%`, as written back.
    public var description: String {
        switch amount {
        case .percent(let percent): "\(reference)=\(Self.number(percent))%"
        case .absolute(let value): "\(reference)=\(Self.number(value))"
        }
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// Parses `tps=10%,p99_ms=20%,deadlocks_per_1k=0`; errors point into `text`.
    /// `counters`: the workload's unit-of-work counters, so `jobs_per_s=10%` gates too.
    public static func parseList(_ text: String, transactions: [String], counters: [String] = []) throws(CheckError) -> [RegressionLimit] {
        var limits: [RegressionLimit] = []
        var offset = 0
        let parser = CheckParser(transactions: transactions, counters: counters)
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            defer { offset += part.count + 1 }
            let leading = part.prefix { $0.isWhitespace }.count
            let item = part.trimmingCharacters(in: .whitespaces)
            guard !item.isEmpty else {
                throw CheckError(source: text, offset: offset + leading, message: "empty item; write metric=limit, such as tps=10% or deadlocks_per_1k=0")
            }
            guard let equals = item.firstIndex(of: "=") else {
                throw CheckError(source: text, offset: offset + leading + item.count, message: "expected '=' and a limit after '\(item)', such as \(item)=10%")
            }
            let name = item[..<equals].trimmingCharacters(in: .whitespaces)
            let limitText = item[item.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            let equalsOffset = offset + leading + item.distance(from: item.startIndex, to: equals)
            // The metric name is resolved by the check parser, so the messages are the same.
            let nameOffset = offset + leading
            if let bad = name.firstIndex(where: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }) {
                throw CheckError(source: text, offset: nameOffset + name.distance(from: name.startIndex, to: bad), message: "'\(name)' is not a metric name; write metric=limit, such as tps=10%")
            }
            if name.isEmpty { throw CheckError(source: text, offset: nameOffset, message: "expected a metric name before '='") }
            // The metric name is resolved by the check parser, so the messages are the same.
            let parsed: Check
            do {
                parsed = try parser.parse("\(name) >= 0")
            } catch {
                throw CheckError(source: text, offset: nameOffset + min(error.offset, name.count), message: error.message)
            }
            guard let reference = parsed.comparisons.first?.reference else {
                throw CheckError(source: text, offset: nameOffset, message: "'\(name)' is not a metric name")
            }
            if reference.metric.better == .neither {
                throw CheckError(source: text, offset: offset + leading, message: "'\(reference.metric.name)' is neither better higher nor lower, so it cannot regress; gate on another metric")
            }
            let limitOffset = equalsOffset + 1 + (item[item.index(after: equals)...].prefix { $0.isWhitespace }.count)
            var number = String(limitText.filter { $0 != "_" })
            let percent = number.hasSuffix("%")
            if percent { number.removeLast() }
            guard let value = Double(number), value.isFinite, value >= 0 else {
                throw CheckError(source: text, offset: limitOffset, message: "'\(limitText)' is not a limit; write a percentage (10%) or an amount in the metric's unit (5), at least 0")
            }
            limits.append(RegressionLimit(reference: reference, amount: percent ? .percent(value) : .absolute(value)))
        }
        return limits
    }
}

/// One metric of a run against the same metric of a baseline: one earlier
/// run, or several (repeats), summarised by their median and range.
///
/// The gate is noise-aware: a limit is measured from the edge of the
/// baseline's range on the worse side (its lowest `tps`, its highest
/// `p99_ms`), so a value the baseline runs themselves spanned always passes,
/// and a regression has to leave that range by more than the limit. With one
/// baseline run the range is that run's value, and the rule is the plain one.
public struct BaselineDelta: Sendable, Hashable {
    public enum Verdict: String, Sendable, Hashable {
        /// Gated, and within its limit.
        case pass
        /// Gated, and worse than its limit allows (or not measured).
        case fail
        case better, worse, same
        /// Not measured in one of the runs.
        case unknown = "n/a"
    }

    public var reference: MetricReference
    /// The baseline's value: its median over the baseline runs that measured it.
    public var baseline: Double?
    /// The lowest and highest value among the baseline runs (both `baseline` for one run).
    public var baselineLow: Double?
    public var baselineHigh: Double?
    /// How many baseline runs measured the metric.
    public var baselineRuns: Int
    public var current: Double?
    public var limit: RegressionLimit?

    public init(reference: MetricReference, baseline: Double?, current: Double?, limit: RegressionLimit? = nil) {
        self.init(reference: reference, baselines: baseline.map { [$0] } ?? [], current: current, limit: limit)
    }

    /// `baselines`: the metric's value in each baseline run that measured it.
    public init(reference: MetricReference, baselines: [Double], current: Double?, limit: RegressionLimit? = nil) {
        self.reference = reference
        let sorted = baselines.sorted()
        baseline = Self.median(sorted)
        baselineLow = sorted.first
        baselineHigh = sorted.last
        baselineRuns = sorted.count
        self.current = current
        self.limit = limit
    }

    /// The middle value of `sorted` (the mean of the two middle ones for an even count).
    public static func median(_ sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The edge of the baseline's range a limit is measured from: the worst
    /// value the baseline runs had (lowest for higher-is-better metrics).
    public var edge: Double? {
        switch reference.metric.better {
        case .higher: baselineLow
        case .lower: baselineHigh
        case .neither: baseline
        }
    }

    /// `current − baseline`.
    public var delta: Double? {
        guard let baseline, let current else { return nil }
        return current - baseline
    }

    /// `(current − baseline) / |baseline|`; infinite when the baseline is 0
    /// and the value moved, 0 when both are 0.
    public var relativeChange: Double? {
        guard let baseline, let delta else { return nil }
        if baseline == 0 { return delta == 0 ? 0 : (delta > 0 ? .infinity : -.infinity) }
        return delta / abs(baseline)
    }

    /// How much worse the current run is, in the metric's unit (negative when better).
    public var worsening: Double? {
        guard let delta else { return nil }
        switch reference.metric.better {
        case .higher: return -delta
        case .lower: return delta
        case .neither: return nil
        }
    }

    /// How far the current value lies beyond the baseline's range on the
    /// worse side, in the metric's unit (0 or less when inside it or better).
    public var worseningBeyondRange: Double? {
        guard let current, let edge else { return nil }
        switch reference.metric.better {
        case .higher: return edge - current
        case .lower: return current - edge
        case .neither: return nil
        }
    }

    /// Whether the gate holds; `nil` when ungated. An unmeasured value fails a gate.
    /// The limit applies beyond the edge of the baseline's range (``edge``).
    public var withinLimit: Bool? {
        guard let limit else { return nil }
        guard let worsening = worseningBeyondRange, let edge else { return false }
        // Values come from summary.csv with 2–4 decimals: allow for that rounding.
        let tolerance = 1e-9 + abs(edge) * 1e-12
        switch limit.amount {
        case .absolute(let allowed):
            return worsening <= allowed + tolerance
        case .percent(let percent):
            if worsening <= tolerance { return true }
            if edge == 0 { return false }
            return worsening / abs(edge) * 100 <= percent + 1e-9
        }
    }

    public var verdict: Verdict {
        if let within = withinLimit { return within ? .pass : .fail }
        guard let worsening else { return .unknown }
        if abs(worsening) <= 1e-12 { return .same }
        return worsening > 0 ? .worse : .better
    }

    /// What the gate allows, in words: `at most 10% lower`, `at most 5 ms higher`.
    public var limitDescription: String? {
        guard let limit else { return nil }
        let direction = reference.metric.better == .higher ? "lower" : "higher"
        // With several baseline runs the limit starts at the range's edge: say so.
        let from = baselineRuns > 1 ? " than the baseline's \(reference.metric.better == .higher ? "lowest" : "highest")" : ""
        switch limit.amount {
        case .percent(let percent): return "at most \(RegressionLimit.number(percent))% \(direction)\(from)"
        case .absolute(let amount):
            if amount == 0 {
                let edgeText = baselineRuns > 1 ? (direction == "lower" ? " below the baseline's lowest" : " above the baseline's highest") : ""
                return "no \(direction == "lower" ? "drop" : "rise")\(edgeText)"
            }
            let unit = reference.metric.unit.isEmpty ? "" : " \(reference.metric.unit)"
            return "at most \(RegressionLimit.number(amount))\(unit) \(direction)\(from)"
        }
    }

    /// `-12.5%`, `+inf%`, `0.0%`.
    public var relativeText: String {
        guard let relative = relativeChange else { return "" }
        if relative.isInfinite { return relative > 0 ? "+inf%" : "-inf%" }
        let percent = relative * 100
        return (percent > 0 ? "+" : "") + Format.fixed(percent, digits: 1) + "%"
    }
}

/// The current run measured against a baseline run.
public enum BaselineComparison {
    /// Rows for the headline metrics of the whole run, then every gated
    /// metric not among them; gates attach to their rows.
    public static func compare(baseline: MetricSample, current: MetricSample, limits: [RegressionLimit]) -> [BaselineDelta] {
        compare(baselines: [baseline], current: current, limits: limits)
    }

    /// The same against several baseline runs (repeats): each row holds
    /// their median and range, and a gate is measured from the range's edge.
    public static func compare(baselines: [MetricSample], current: MetricSample, limits: [RegressionLimit]) -> [BaselineDelta] {
        var references = MetricCatalogue.headline.compactMap(MetricCatalogue.metric(named:)).map { MetricReference(transaction: nil, metric: $0) }
        for limit in limits where !references.contains(limit.reference) { references.append(limit.reference) }
        return references.map { reference in
            BaselineDelta(reference: reference, baselines: baselines.compactMap { $0.value(reference) }, current: current.value(reference), limit: limits.last { $0.reference == reference })
        }
    }

    /// `baseline.csv`'s columns (schema version 2: `baseline_min`,
    /// `baseline_max` and `baseline_runs` appended; `baseline` is the median).
    public static let columns = ["metric", "baseline", "current", "delta", "relative_change_pct", "limit", "verdict", "baseline_min", "baseline_max", "baseline_runs"]

    /// One `baseline.csv` row per delta, numbers with the metric's decimals.
    public static func rows(_ deltas: [BaselineDelta]) -> [[String]] {
        deltas.map { delta in
            let digits = delta.reference.metric.digits
            func number(_ value: Double?) -> String { value.map { Format.fixed($0, digits: digits) } ?? "" }
            var relative = ""
            if let change = delta.relativeChange { relative = change.isFinite ? Format.fixed(change * 100, digits: 2) : (change > 0 ? "inf" : "-inf") }
            return [
                delta.reference.description, number(delta.baseline), number(delta.current), number(delta.delta), relative, delta.limit?.description ?? "", delta.verdict.rawValue,
                number(delta.baselineLow), number(delta.baselineHigh), String(delta.baselineRuns),
            ]
        }
    }
}

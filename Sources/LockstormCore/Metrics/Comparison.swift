import Foundation

/// One swept dimension of `lockstorm compare`: `clients=1,4,16,64`, or a
/// workload parameter such as `accounts=10,100`.
public struct Sweep: Sendable, Hashable {
    public var name: String
    /// The values as written, in order.
    public var values: [String]

    public init(name: String, values: [String]) {
        self.name = name
        self.values = values
    }

    /// `clients` sets the client count; any other name is a workload parameter.
    public var isClients: Bool { name == "clients" }

    /// Parses `name=v1,v2,…`; a message says what is wrong.
    public static func parse(_ text: String) -> Result<Sweep, SweepError> {
        guard let equals = text.firstIndex(of: "=") else {
            return .failure(SweepError("--sweep '\(text)' must look like name=v1,v2,… (e.g. clients=1,4,16,64)"))
        }
        let name = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
        let values = text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            return .failure(SweepError("--sweep '\(text)': '\(name)' is not a parameter name"))
        }
        if values.contains(where: \.isEmpty) { return .failure(SweepError("--sweep '\(text)': empty value; separate values with single commas")) }
        if Set(values).count != values.count { return .failure(SweepError("--sweep '\(text)': a value appears twice")) }
        if name == "clients" {
            for value in values where (Int(value) ?? 0) < 1 {
                return .failure(SweepError("--sweep clients: '\(value)' is not a client count (a whole number of at least 1)"))
            }
        }
        return .success(Sweep(name: name, values: values))
    }

    /// Every combination of the sweeps' values, the first sweep varying slowest.
    public static func points(_ sweeps: [Sweep]) -> [[SweepValue]] {
        var points: [[SweepValue]] = [[]]
        for sweep in sweeps {
            points = points.flatMap { point in sweep.values.map { point + [SweepValue(name: sweep.name, value: $0)] } }
        }
        return points
    }
}

public struct SweepError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One coordinate of a sweep point: `clients=16`.
public struct SweepValue: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name)=\(value)" }
}

/// One cell of a comparison: a variant at a sweep point, run one or more times.
public struct ComparisonCell: Sendable {
    public var variant: String
    public var point: [SweepValue]
    /// One sample per repetition, in run order.
    public var runs: [MetricSample]
    /// Per repetition: did every invariant hold?
    public var invariantsHeld: [Bool]
    /// A repetition was stopped early (Ctrl-C).
    public var partial: Bool

    public init(variant: String, point: [SweepValue], runs: [MetricSample] = [], invariantsHeld: [Bool] = [], partial: Bool = false) {
        self.variant = variant
        self.point = point
        self.runs = runs
        self.invariantsHeld = invariantsHeld
        self.partial = partial
    }

    /// The median, least and greatest value of `metric` over the repetitions
    /// that measured it; `nil` when none did.
    public func spread(_ metric: Metric) -> Spread? {
        Spread(runs.compactMap { metric.value(in: $0.total) })
    }

    /// `3/3 held`, `2/3 held`, `no invariants` is left to the caller.
    public var invariantsText: String {
        let held = invariantsHeld.filter { $0 }.count
        return held == invariantsHeld.count ? "pass" : "FAIL \(invariantsHeld.count - held)/\(invariantsHeld.count)"
    }
}

/// The median and range of some repeated measurements.
public struct Spread: Sendable, Hashable {
    public var median: Double
    public var min: Double
    public var max: Double
    public var count: Int

    /// `nil` for no values. An even count's median is the mean of the middle two.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
        count = sorted.count
    }
}

/// `comparison.csv`: one row per variant × sweep point. Version 2: when the
/// workload counts units of work, each counter's `N_per_s` and `N` lead the
/// metrics, and `duration_s` (the median measurement window) follows `runs`,
/// so `N_per_s × duration_s = N` can be checked from the file.
public enum ComparisonTable {
    /// The metrics of each row; each gives `<name>`, `<name>_min`, `<name>_max`.
    public static let metrics = ["tps", "p50_ms", "p99_ms", "failed_rate"] + ErrorClass.allCases.map { "\($0.columnName)_rate" } + ["retries_per_1k"]

    /// The metrics of a comparison of a workload counting `counters`: `N_per_s` and `N` first.
    public static func metrics(counters: [String]) -> [String] {
        counters.flatMap { [UnitColumn.rateName($0), $0] } + metrics
    }

    public static func columns(sweeps: [String], counters: [String] = []) -> [String] {
        ["variant"] + sweeps + ["runs", SummaryColumn.durationSeconds.name] + metrics(counters: counters).flatMap { [$0, "\($0)_min", "\($0)_max"] } + ["invariants", "partial"]
    }

    public static func rows(_ cells: [ComparisonCell], sweeps: [String], counters: [String] = []) -> [[String]] {
        cells.map { cell in
            var row = [cell.variant]
            for name in sweeps { row.append(cell.point.first { $0.name == name }?.value ?? "") }
            row.append(String(cell.runs.count))
            row.append(Spread(cell.runs.compactMap { $0.total[.durationSeconds] }).map { Format.fixed($0.median, digits: 3) } ?? "")
            for name in metrics(counters: counters) {
                guard let metric = MetricCatalogue.metric(named: name, counters: counters), let spread = cell.spread(metric) else {
                    row += ["", "", ""]
                    continue
                }
                let digits = metric.digits + (metric.unit.isEmpty ? 2 : 0)
                row += [Format.fixed(spread.median, digits: digits), Format.fixed(spread.min, digits: digits), Format.fixed(spread.max, digits: digits)]
            }
            row.append(cell.invariantsHeld.isEmpty ? "" : cell.invariantsText)
            row.append(String(cell.partial))
            return row
        }
    }
}

/// How `lockstorm compare` names the best value of a metric at a sweep point,
/// the one it bolds: a value only wins when its cell did the work and the
/// margin is larger than the noise between runs.
///
/// 1. Throughput-like metrics (higher is better: `tps`, `N_per_s`) are
///    compared across every cell at the point.
/// 2. Every other metric (latencies, error-class rates, retries) is compared
///    only across *eligible* cells: a cell is not eligible when more than
///    `maxFailedRate` of its attempts failed (median over its runs), or when
///    its throughput is below `minThroughputShare` of the best at the point.
///    A 34 ms p99 of a variant that failed 99 % of its attempts is not best.
///    `failed_rate` itself is compared across every cell. When every other
///    cell is excluded, the one eligible cell's latency is best (it alone did
///    the work); its rates and retries are not marked.
/// 3. The best median wins only when it is clear of the runner-up: by more
///    than `noise` (relative) for single runs; with repeats the two ranges
///    (min–max) must not overlap and the medians differ by more than
///    `repeatMargin`. Rates (`*_rate`, 0–1) also need `rateFloor` absolute.
///    Otherwise no value is bold at that point.
public struct WinnerRule: Sendable, Hashable {
    public var maxFailedRate = 0.5
    public var minThroughputShare = 0.5
    /// About how much one run's figures move from run to run on a shared machine.
    public var noise = 0.10
    public var repeatMargin = 0.03
    public var rateFloor = 0.001

    public init() {}

    /// The metric that decides whether a cell failed most of its attempts.
    public static let failedRate = "failed_rate"
    /// The metric that decides whether a cell's throughput collapsed.
    public static let throughput = "tps"

    /// Why no value is best, or that one is.
    public enum Reason: String, Sendable, Hashable, Codable {
        /// The winner is clear of the runner-up.
        case clear
        /// Only one cell at the point measured the metric: it is alone, not best.
        case alone
        /// The others were not eligible: the one that did the work is best at
        /// a latency (`winner` set); at rates and retries nothing is marked.
        case onlyEligible = "only_eligible"
        /// No cell at the point is eligible (or none measured the metric).
        case noEligibleCell = "no_eligible_cell"
        /// The best and the runner-up are within the noise of one run.
        case withinNoise = "within_noise"
        /// With repeats: the best's range overlaps the runner-up's.
        case rangesOverlap = "ranges_overlap"
    }

    /// A cell left out of a metric's comparison, and why (`failed 99.0 % of attempts`).
    public struct Exclusion: Sendable, Hashable {
        public var cell: Int
        public var reason: String
    }

    /// The outcome for one metric at one sweep point.
    public struct Verdict: Sendable, Hashable {
        public var metric: String
        public var point: [SweepValue]
        /// Index into the cells of the clear winner; `nil` when none.
        public var winner: Int?
        /// The cell it was measured against (the runner-up), when there was one.
        public var runnerUp: Int?
        public var reason: Reason
        public var excluded: [Exclusion]
    }

    /// Whether `cell` may be best at metrics other than throughput, given the
    /// best throughput at its point; the reason when it may not.
    public func exclusion(_ cell: ComparisonCell, bestThroughput: Double?) -> String? {
        let failed = MetricCatalogue.metric(named: Self.failedRate).flatMap { cell.spread($0)?.median }
        if let failed, failed > maxFailedRate {
            return "failed \(Format.fixed(failed * 100, digits: 1)) % of attempts (more than \(Format.number(maxFailedRate * 100)) %)"
        }
        let tps = MetricCatalogue.metric(named: Self.throughput).flatMap { cell.spread($0)?.median }
        if let tps, let bestThroughput, bestThroughput > 0, tps < minThroughputShare * bestThroughput {
            return "throughput \(Format.fixed(tps, digits: 1)) tx/s, under \(Format.number(minThroughputShare * 100)) % of the best (\(Format.fixed(bestThroughput, digits: 1)))"
        }
        return nil
    }

    /// Whether `metric` is compared among eligible cells only.
    public static func needsEligibility(_ metric: Metric) -> Bool {
        metric.better != .higher && metric.name != failedRate
    }

    /// Whether `best` is clear of `other` for `metric` (both measured).
    public func isClear(_ best: Spread, of other: Spread, metric: Metric) -> Bool {
        let gap = abs(best.median - other.median)
        let scale = max(abs(best.median), abs(other.median))
        guard gap > 0, scale > 0 else { return false }
        if metric.name.hasSuffix("_rate") && gap < rateFloor { return false }
        if best.count > 1 || other.count > 1 {
            let separated = metric.better == .higher ? best.min > other.max : best.max < other.min
            return separated && gap / scale > repeatMargin
        }
        return gap / scale > noise
    }

    /// One verdict per sweep point (in order of first appearance) for `metric`.
    public func verdicts(_ cells: [ComparisonCell], metric: Metric) -> [Verdict] {
        guard metric.better != .neither else { return [] }
        var points: [[SweepValue]] = []
        var members: [[SweepValue]: [Int]] = [:]
        for (index, cell) in cells.enumerated() {
            if members[cell.point] == nil { points.append(cell.point) }
            members[cell.point, default: []].append(index)
        }
        let throughput = MetricCatalogue.metric(named: Self.throughput)
        return points.map { point in
            let indices = members[point] ?? []
            let bestThroughput = throughput.flatMap { metric in indices.compactMap { cells[$0].spread(metric)?.median }.max() }
            var excluded: [Exclusion] = []
            var candidates: [(index: Int, spread: Spread)] = []
            for index in indices {
                guard let spread = cells[index].spread(metric), spread.median.isFinite else { continue }
                if Self.needsEligibility(metric), let reason = exclusion(cells[index], bestThroughput: bestThroughput) {
                    excluded.append(Exclusion(cell: index, reason: reason))
                    continue
                }
                candidates.append((index, spread))
            }
            // Best first; equal medians keep the cells' order.
            let ranked = candidates.enumerated().sorted { lhs, rhs in
                let (a, b) = (lhs.element.spread.median, rhs.element.spread.median)
                if a != b { return metric.better == .higher ? a > b : a < b }
                return lhs.offset < rhs.offset
            }.map(\.element)
            guard let best = ranked.first else {
                return Verdict(metric: metric.name, point: point, winner: nil, runnerUp: nil, reason: .noEligibleCell, excluded: excluded)
            }
            guard ranked.count > 1 else {
                // The only cell that did the work has the best latency; the only cell at the point is merely
                // alone, and a rate or retry figure (0 % lock errors when the others were excluded) is not a win.
                if excluded.isEmpty || metric.unit != "ms" {
                    return Verdict(metric: metric.name, point: point, winner: nil, runnerUp: nil, reason: excluded.isEmpty ? .alone : .onlyEligible, excluded: excluded)
                }
                return Verdict(metric: metric.name, point: point, winner: best.index, runnerUp: nil, reason: .onlyEligible, excluded: excluded)
            }
            let runnerUp = ranked[1]
            if isClear(best.spread, of: runnerUp.spread, metric: metric) {
                return Verdict(metric: metric.name, point: point, winner: best.index, runnerUp: runnerUp.index, reason: .clear, excluded: excluded)
            }
            let repeated = best.spread.count > 1 || runnerUp.spread.count > 1
            return Verdict(metric: metric.name, point: point, winner: nil, runnerUp: runnerUp.index, reason: repeated ? .rangesOverlap : .withinNoise, excluded: excluded)
        }
    }

    /// The cells whose value of `metric` is best at their point (indices into `cells`).
    public func winners(_ cells: [ComparisonCell], metric: Metric) -> Set<Int> {
        Set(verdicts(cells, metric: metric).compactMap(\.winner))
    }
}

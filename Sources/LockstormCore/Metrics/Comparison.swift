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

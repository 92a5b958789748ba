import Engine
import Foundation
import LockstormCore
import Reports

/// One swept dimension (`clients=1,4,16`), as the CLI names it without importing LockstormCore.
public typealias SweepDimension = Sweep

/// What `lockstorm compare` was asked to do, parsed.
public struct CompareRequest: Sendable {
    public var workload: String
    /// Variants to compare; nil for all of them.
    public var variants: [String]?
    public var sweeps: [Sweep] = []
    /// Runs per cell.
    public var repeats = 1
    public var load = LoadSettings()
    public var database = DatabaseTarget()
    /// Directory the comparison folder goes under.
    public var resultsRoot = "results"
    /// No per-cell progress lines.
    public var quiet = false
    public var commandLine: [String] = []

    public init(workload: String) {
        self.workload = workload
    }
}

/// `lockstorm compare`: every variant at every sweep point, `repeats` times,
/// on one server; a comparison table, comparison.csv and report.html.
public struct ComparePipeline {
    public let output: any OutputSink
    /// The clock the comparison folder is named by.
    public var now: @Sendable () -> Date = { Date() }

    public init(output: any OutputSink = StandardOutput()) {
        self.output = output
    }

    struct Cell {
        var variant: String?
        var point: [SweepValue]
        var plan: RunPlan
        var options: LoadOptions
    }

    /// Compiles every cell: a mistake is reported before anything runs.
    func cells(_ request: CompareRequest, workload: Workload, seed: UInt64) throws -> [Cell] {
        let variantNames: [String?]
        if let variants = request.variants {
            variantNames = variants
        } else {
            variantNames = workload.variants.isEmpty ? [nil] : workload.variantNames
        }
        var cells: [Cell] = []
        for point in Sweep.points(request.sweeps) {
            let parameters = point.filter { $0.name != "clients" }.map { (name: $0.name, value: Value.parse(text: $0.value)) }
            for variant in variantNames {
                let plan: RunPlan
                do {
                    plan = try workload.plan(variant: variant, overrides: ParameterOverride.pairs(request.load.overrides) + parameters, file: request.workload)
                } catch {
                    // A sweep name that is neither `clients` nor a parameter: the choice includes `clients`.
                    let names = ["clients"] + workload.parameters.map(\.name)
                    if let unknown = request.sweeps.first(where: { !names.contains($0.name) }) {
                        let hint = Failure.closest(to: unknown.name, in: names).map { "; did you mean '\($0)'?" } ?? ""
                        throw Failure(.usage, "lockstorm: --sweep \(unknown.name): not clients and no such parameter\(hint) (--sweep takes one of: \(names.joined(separator: ", ")))")
                    }
                    throw Failure(.usage, error.description.replacingOccurrences(of: "--set ", with: parameters.isEmpty ? "--set " : "--set/--sweep "))
                }
                var options = request.load.options(for: plan)
                options.seed = seed
                if let clients = point.first(where: { $0.name == "clients" }).flatMap({ Int($0.value) }) { options.clients = clients }
                guard options.clients >= plan.minimumClients else {
                    // Dedicated clients (a reaper, a DDL client) need company: such a cell would measure something else.
                    output.note("skipping \(plan.variantLabel) at \(options.clients) client\(options.clients == 1 ? "" : "s"): it needs at least \(plan.minimumClients)")
                    continue
                }
                cells.append(Cell(variant: variant, point: point, plan: plan, options: options))
            }
        }
        return cells
    }

    /// Runs the comparison and returns its cells; throws a ``Failure`` with the exit status when a
    /// cell could not run (3), a signal stopped it (130/143) or invariants failed (1).
    @discardableResult
    public func execute(_ request: CompareRequest) throws -> [ComparisonCell] {
        let (workload, _, _) = try WorkloadLoader.load(request.workload)
        let seed = request.load.seed ?? LoadSettings.randomSeed()
        let cells = try cells(request, workload: workload, seed: seed)
        let repeats = request.repeats
        let total = cells.count * repeats

        let session = Session(output: output) { signal in
            "\(Session.verb(forSignal: signal)): finishing the cell in flight and writing what was gathered (press Ctrl-C again to quit at once)"
        }
        defer { session.close() }
        let database = try session.loadDatabase(request.database, clients: cells.map(\.options.clients).max() ?? 1)

        let variantLabels = cells.reduce(into: [String]()) { labels, cell in
            if !labels.contains(cell.plan.variantLabel) { labels.append(cell.plan.variantLabel) }
        }
        var results: [ComparisonCell] = []
        var serverVersion: String?
        var runError: String?
        var done = 0
        outer: for cell in cells {
            var result = ComparisonCell(variant: cell.plan.variantLabel, point: cell.point)
            for repetition in 1...repeats {
                if session.stop.isSet { break }
                done += 1
                var options = cell.options
                options.seed = seed &+ UInt64(repetition - 1)
                let where_ = ([cell.plan.variantLabel] + cell.point.map(\.description)).joined(separator: ", ")
                if !request.quiet { output.note("[\(done)/\(total)] \(where_)\(repeats > 1 ? ", run \(repetition)" : ""): \(options.clients) clients") }
                do {
                    let outcome = try LoadRunner.run(plan: cell.plan, dsn: database.dsn, options: options, stop: session.stop)
                    serverVersion = outcome.server.version
                    result.runs.append(MetricSample(outcome.summary))
                    result.invariantsHeld.append(outcome.summary.invariantFailures == 0)
                    if outcome.summary.partial { result.partial = true }
                    if outcome.serverLost {
                        runError = "lost the server during \(where_)"
                        if !result.runs.isEmpty { results.append(result) }
                        break outer
                    }
                } catch {
                    runError = "\(where_): \(error)"
                    if !result.runs.isEmpty { results.append(result) }
                    break outer
                }
            }
            if !result.runs.isEmpty { results.append(result) }
            if session.stop.isSet { break }
        }

        let info = ComparisonInfo(
            workload: workload.name, variants: variantLabels, sweeps: request.sweeps, repeats: repeats, length: LoadSettings.length(cells.first?.options), server: serverVersion,
            commandLine: CommandLineText.redacted(request.commandLine), partial: session.stop.isSet || runError != nil || results.count < cells.count,
            counters: cells.reduce(into: [String]()) { names, cell in
                for name in cell.plan.counterNames where !names.contains(name) { names.append(name) }
            })
        if !results.isEmpty { write(results, info: info, request: request, workload: workload.name) }
        if let runError { throw Failure(.runError, "lockstorm: \(runError)") }
        try session.throwIfSignalled()
        if results.contains(where: { $0.invariantsHeld.contains(false) }) {
            throw Failure(.checksFailed, "lockstorm: invariants failed in some cells (see the invariants column)")
        }
        return results
    }

    /// The table on stdout, comparison.csv and report.html in a new folder.
    private func write(_ results: [ComparisonCell], info: ComparisonInfo, request: CompareRequest, workload: String) {
        output.line(ComparisonReport.table(results, info: info))
        do {
            let folder = try ResultDirectory.create(.compare(workload: workload, sweeps: request.sweeps.map(\.name)), root: URL(fileURLWithPath: request.resultsRoot), date: now())
            let writer = ResultWriter(directory: folder)
            try writer.write("comparison.csv", ComparisonReport.csv(results, sweeps: request.sweeps, counters: info.counters))
            try writer.write("report.html", ComparisonReport.html(results, info: info))
            output.line("results: \(DisplayPath.relative(writer.directory.path))/\n")
        } catch {
            output.note("could not write the comparison: \(error.localizedDescription)")
        }
    }
}

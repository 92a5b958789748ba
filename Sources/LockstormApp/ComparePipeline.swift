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
    /// How the comparison goes to stdout: the table, or comparison.json's object.
    public var format = RunRequest.SummaryFormat.table
    /// The table shows each repeated cell's range (min–max) beside its median.
    public var ranges = false
    public var commandLine: [String] = []

    public init(workload: String) {
        self.workload = workload
    }
}

/// `lockstorm compare`: every variant at every sweep point, `repeats` times,
/// on one server. Each run keeps its full result folder (as `run` writes it)
/// under `cells/`; then comparison.json, comparison.csv and report.html are
/// made from those folders, and the table (or the JSON) goes to stdout.
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
                if let refusal = request.load.protocolRefusal(plan, file: request.workload) { throw Failure(.usage, "lockstorm: \(refusal)") }
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

    /// One cell's runs as they were written: folders relative to the compare directory.
    struct Written {
        var variant: String
        var point: [SweepValue]
        var partial = false
        var runs: [(directory: String, invariantsHeld: Bool)] = []
        /// Each run as `run --format json` shows it (no gate: a cell's verdict is its invariants).
        var objects: [RunJSON.Run] = []
        /// The figures in memory, used only when the folders could not be written.
        var samples: [MetricSample] = []
    }

    /// `skip-locked-clients-16`, `-run2` for the second repetition.
    static func cellFolder(variant: String, point: [SweepValue], repetition: Int, repeats: Int) -> String {
        let name = ([variant] + point.flatMap { [$0.name, $0.value] }).map(ResultDirectory.safe).joined(separator: "-")
        return repeats > 1 ? "\(name)-run\(repetition)" : name
    }

    /// Runs the comparison and returns its cells; throws a ``Failure`` with the exit status when a
    /// cell could not run (3), a signal stopped it (130/143) or invariants failed (1).
    @discardableResult
    public func execute(_ request: CompareRequest) throws -> [ComparisonCell] {
        let (workload, file, sha256) = try WorkloadLoader.load(request.workload)
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
        // The compare directory is made when the first run ends, so a comparison that ran nothing leaves nothing.
        var folder: URL?
        var folderFailed = false
        func runFolder(_ name: String) -> URL? {
            if folder == nil && !folderFailed {
                do {
                    let created = try ResultDirectory.create(.compare(workload: workload.name, sweeps: request.sweeps.map(\.name)), root: URL(fileURLWithPath: request.resultsRoot), date: now())
                    // Marked INCOMPLETE until comparison.json and report.html are written (results/README.md).
                    try ResultWriter(directory: created).markIncomplete()
                    folder = created
                } catch {
                    folderFailed = true
                    output.note("could not create the comparison folder: \(error.localizedDescription)")
                }
            }
            guard let folder else { return nil }
            let url = folder.appendingPathComponent(ComparisonSchema.cellsFolder).appendingPathComponent(name, isDirectory: true)
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                return url
            } catch {
                output.note("could not create \(url.path): \(error.localizedDescription)")
                return nil
            }
        }

        var written: [Written] = []
        var serverVersion: String?
        var runError: String?
        var writeError = false
        var done = 0
        outer: for cell in cells {
            var result = Written(variant: cell.plan.variantLabel, point: cell.point)
            defer { if !result.samples.isEmpty { written.append(result) } }
            for repetition in 1...repeats {
                if session.stop.isSet { break }
                done += 1
                var options = cell.options
                options.seed = seed &+ UInt64(repetition - 1)
                options.serverLogPath = database.serverLog
                let where_ = ([cell.plan.variantLabel] + cell.point.map(\.description)).joined(separator: ", ")
                if !request.quiet { output.note("[\(done)/\(total)] \(where_)\(repeats > 1 ? ", run \(repetition)" : ""): \(options.clients) clients") }
                let outcome: RunOutcome
                do {
                    outcome = try LoadRunner.run(plan: cell.plan, dsn: database.dsn, options: options, stop: session.stop)
                } catch {
                    runError = "\(where_): \(error)"
                    break outer
                }
                serverVersion = outcome.server.version
                let record = RunPipeline.record(plan: cell.plan, options: options, outcome: outcome, file: file, sha256: sha256, commandLine: request.commandLine)
                let name = Self.cellFolder(variant: cell.plan.variantLabel, point: cell.point, repetition: repetition, repeats: repeats)
                let held = outcome.summary.invariantFailures == 0
                var shown: String?
                if let url = runFolder(name) {
                    let writer = ResultWriter(directory: url)
                    do {
                        try writer.markIncomplete()
                        try writer.writeAll(summary: outcome.summary, timeseries: outcome.timeseries, record: record)
                        if !outcome.deadlockEvents.isEmpty { try writer.write(DeadlockEventFile.name, DeadlockEventFile.document(outcome.deadlockEvents)) }
                        try writer.writeReport()
                        try writer.markComplete()
                        shown = DisplayPath.relative(url.path)
                    } catch {
                        writer.noteIncomplete(error.localizedDescription)
                        output.note("could not write \(url.path): \(error.localizedDescription)")
                        writeError = true
                    }
                } else {
                    writeError = true
                }
                result.runs.append((directory: ComparisonSchema.cellsFolder + "/" + name, invariantsHeld: held))
                result.objects.append(RunJSON.Run(record: record, summary: outcome.summary, timeseries: outcome.timeseries, gate: nil, directory: shown, passed: held))
                result.samples.append(MetricSample(outcome.summary))
                if outcome.summary.partial { result.partial = true }
                if outcome.serverLost {
                    runError = "lost the server during \(where_)"
                    break outer
                }
            }
            if session.stop.isSet { break }
        }

        let info = ComparisonInfo(
            workload: workload.name, variants: variantLabels, sweeps: request.sweeps, repeats: repeats, length: LoadSettings.length(cells.first?.options), server: serverVersion,
            commandLine: CommandLineText.redacted(request.commandLine), partial: session.stop.isSet || runError != nil || written.count < cells.count,
            counters: cells.reduce(into: [String]()) { names, cell in
                for name in cell.plan.counterNames where !names.contains(name) { names.append(name) }
            })
        var results = written.map { entry in
            ComparisonCell(variant: entry.variant, point: entry.point, runs: entry.samples, invariantsHeld: entry.runs.map(\.invariantsHeld), partial: entry.partial)
        }
        if !written.isEmpty {
            if let folder, !writeError {
                do {
                    results = try write(written, info: info, folder: folder, request: request)
                } catch {
                    output.note("could not write the comparison in \(folder.path): \(error.localizedDescription)")
                    show(results, info: info, json: nil, folder: nil, request: request)
                }
            } else {
                show(results, info: info, json: nil, folder: folder, request: request)
            }
        }
        if let runError { throw Failure(.runError, "lockstorm: \(runError)") }
        try session.throwIfSignalled()
        if writeError { throw Failure(.runError, "lockstorm: some result files could not be written (see above)") }
        if results.contains(where: { $0.invariantsHeld.contains(false) }) {
            throw Failure(.checksFailed, "lockstorm: invariants failed in some cells (see the invariants column)")
        }
        return results
    }

    /// Reads the cells back from their folders, writes comparison.json,
    /// comparison.csv and report.html (rendered from the folders as `lockstorm
    /// report` renders it), and shows the table or the JSON. Returns the cells as read back.
    private func write(_ written: [Written], info: ComparisonInfo, folder: URL, request: CompareRequest) throws -> [ComparisonCell] {
        let cells = try ComparisonFiles.cells(written.map { ($0.variant, $0.point, $0.partial, $0.runs) }, directory: folder)
        let document = ComparisonDocument(cells: cells, info: info, directories: written.map { $0.runs.map(\.directory) }, runs: written.map(\.objects))
        let json = try document.json()
        let writer = ResultWriter(directory: folder)
        do {
            try writer.write(ComparisonSchema.fileName, json)
            try writer.write("comparison.csv", ComparisonReport.csv(cells, sweeps: info.sweeps, counters: info.counters))
            try ComparisonReport.write(directory: folder)
            try writer.markComplete()
        } catch {
            writer.noteIncomplete(error.localizedDescription)
            throw error
        }
        show(cells, info: info, json: json, folder: folder, request: request)
        return cells
    }

    /// The table (or the JSON object) on stdout and where the files are.
    private func show(_ cells: [ComparisonCell], info: ComparisonInfo, json: String?, folder: URL?, request: CompareRequest) {
        let place = folder.map { "results: \(DisplayPath.relative($0.path))/" }
        switch request.format {
        case .json:
            if let json {
                output.write(json)
            } else {
                output.note("no JSON: the comparison's folders could not be written")
            }
            if let place { output.note(place) }
        case .table:
            output.line(ComparisonReport.table(cells, info: info, ranges: request.ranges))
            if let place { output.line(place + "\n") }
        }
    }
}

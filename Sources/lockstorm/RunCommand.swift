import ArgumentParser
import Engine
import Foundation
import LockstormCore
import PostgresClient
import Reports

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workload and report throughput, latency and failures by SQLSTATE.",
        discussion: "WORKLOAD is a YAML file, or the name of a shipped workload (see 'lockstorm list')."
    )

    @Argument(help: "Workload file or shipped workload name.")
    var workload: String

    @Option(name: .long, help: "Variant to run (default: the workload's default variant).")
    var variant: String?

    @Flag(name: .customLong("all-variants"), help: "Run every variant in turn.")
    var allVariants = false

    @OptionGroup var load: LoadArguments
    @OptionGroup var database: DatabaseOptions
    @OptionGroup(title: "CI gate") var gate: GateOptions

    @Option(name: .long, help: ArgumentHelp("Directory for result folders.", valueName: "dir"))
    var out: String = "results"

    @Flag(name: .customLong("keep-data"), help: "Skip the workload's teardown after the run (inspect the tables afterwards).")
    var keepData = false

    @Option(name: [.customShort("P"), .long], help: ArgumentHelp("Print a progress line to stderr every this many seconds.", valueName: "seconds"))
    var progress: Double?

    @Flag(name: .shortAndLong, help: "No progress output (neither the bar nor -P lines).")
    var quiet = false

    @Option(name: .long, help: "Summary on stdout as a table (default) or as json, for scripts.")
    var format: OutputFormat = .table

    @Option(name: .customLong("sample-interval"), help: ArgumentHelp("How often the lock-wait sampler looks at the run's sessions in pg_stat_activity and pg_locks; 0 turns it off.", valueName: "duration"))
    var sampleInterval: String = "200ms"

    @Option(name: .customLong("interval"), help: ArgumentHelp("Length of one time-series interval, e.g. 1s or 500ms.", valueName: "duration"))
    var interval: String = "1s"

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func validate() throws {
        if variant != nil && allVariants { throw ValidationError("give either --variant or --all-variants, not both") }
        if Durations.parseSeconds(sampleInterval) == nil && sampleInterval != "0" {
            throw ValidationError("--sample-interval '\(sampleInterval)' must be a duration such as 200ms, or 0 to turn sampling off")
        }
        if let progress, !(progress > 0) { throw ValidationError("-P/--progress must be above 0 seconds") }
        if Durations.parseSeconds(interval).map({ $0 < 0.01 }) ?? true {
            throw ValidationError("--interval '\(interval)' must be a duration of at least 10ms, such as 1s")
        }
    }

    func run() throws {
        let (workload, workloadURL, workloadHash) = try WorkloadLoader.load(self.workload)
        let variants: [String?]
        if allVariants {
            variants = workload.variants.isEmpty ? [nil] : workload.variantNames
        } else {
            variants = [variant]
        }
        // Compile every variant first: a mistake is reported before anything runs.
        var plans: [RunPlan] = []
        for name in variants {
            do {
                plans.append(try workload.plan(variant: name, overrides: load.parameterOverrides, file: self.workload))
            } catch {
                throw Failure(.usage, error.description)
            }
        }
        let runs = plans.map { ($0, load.options(for: $0)) }
        for (plan, options) in runs where options.clients < plan.minimumClients {
            let dedicated = plan.transactions.filter { $0.dedicatedClients > 0 }.map { "\($0.name) \($0.dedicatedClients)" }.joined(separator: ", ")
            throw Failure(.usage, "\(plan.workloadName)/\(plan.variantLabel) needs at least \(plan.minimumClients) clients (dedicated: \(dedicated)\(plan.hasSharedTransactions ? ", plus one for the shared transactions" : "")); -c is \(options.clients)")
        }
        let prepared = try gate.prepare(workload: workload, plans: plans)
        var reports: [GateReport] = []
        // Written however the runs end (failure, Ctrl-C), with what was gathered.
        defer { if !reports.isEmpty { gate.writeOutputs(reports) } }

        let stop = StopSignal()
        let trap = SignalTrap(stop: stop) { signal in
            Console.note("\(signal == SIGINT ? "interrupted" : "terminated"): finishing in-flight transactions and writing results (press Ctrl-C again to quit at once)")
        }
        defer { withExtendedLifetime(trap) {} }

        let (dsn, server) = try database.server(clients: runs.map(\.1.clients).max() ?? 1)
        defer { server?.stop() }

        var status = ExitStatus.success
        var jsonSummaries: [String] = []
        defer { if format == .json { print("[" + jsonSummaries.joined(separator: ",\n") + "]") } }
        for (plan, options) in runs {
            if stop.isSet { break }
            var options = options
            options.runTeardown = !keepData
            options.intervalSeconds = Durations.parseSeconds(interval) ?? 1
            options.sampleIntervalSeconds = Durations.parseSeconds(sampleInterval) ?? 0
            configureProgress(&options)
            let length = options.durationSeconds.map { "\(Format.fixed($0, digits: 1)) s" } ?? "\(options.transactionsPerClient ?? 0) transactions per client"
            Console.note("running \(plan.workloadName)/\(plan.variantLabel): \(options.clients) clients, \(min(options.threads, options.clients)) threads, \(length), seed \(options.seed)")
            let outcome: RunOutcome
            do {
                outcome = try LoadRunner.run(plan: plan, dsn: dsn, options: options, stop: stop)
            } catch {
                throw Failure(.runError, "lockstorm: \(error)")
            }
            if let failure = outcome.samplerFailure { Console.note("the lock-wait sampler could not run (\(failure)); its timeseries columns are empty") }
            // Clear the progress bar before the summary.
            if options.onProgress != nil && isatty(STDERR_FILENO) == 1 { try? FileHandle.standardError.write(contentsOf: Data("\r\u{1B}[K".utf8)) }
            let record = RunRecord(
                version: LockstormVersion.string, commandLine: Self.redactedCommandLine(CommandLine.arguments),
                workload: .init(name: plan.workloadName, file: relativePath(workloadURL.path), sha256: workloadHash),
                variant: plan.variantLabel, parameters: plan.parameters, summary: outcome.summary,
                requestedDurationSeconds: options.durationSeconds, transactionsPerClient: options.transactionsPerClient,
                warmupSeconds: options.warmupSeconds,
                schedule: options.rate.map { RunRecord.Schedule(rate: $0, latencyLimitMilliseconds: options.lateLimitMilliseconds, stats: outcome.summary.stats.schedule) },
                connections: RunRecord.Connections(lost: outcome.lostConnections, reconnected: outcome.reconnects),
                intervalSeconds: outcome.intervalSeconds, startedAt: outcome.startedAt, endedAt: outcome.endedAt,
                server: .init(version: outcome.server.version, settings: Dictionary(outcome.server.settings.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })),
                serverDeadlocksDelta: outcome.serverDeadlocksDelta, peakRSSBytes: ResourceUsage.peakRSSBytes()
            )
            var directory: String?
            var baselineWriter: ResultWriter?
            do {
                let writer = try ResultWriter(root: URL(fileURLWithPath: out), workload: plan.workloadName, variant: plan.variantLabel)
                try writer.writeAll(summary: outcome.summary, timeseries: outcome.timeseries, record: record)
                try HTMLReport.write(directory: writer.directory)
                directory = relativePath(writer.directory.path)
                baselineWriter = writer
            } catch {
                Console.note("could not write results: \(error.localizedDescription)")
                status = .runError
            }
            let report = prepared.report(for: outcome.summary, directory: directory)
            reports.append(report)
            if !report.baseline.isEmpty, let baselineWriter {
                do {
                    try baselineWriter.write("baseline.csv", CSV.document(header: BaselineComparison.columns, rows: BaselineComparison.rows(report.baseline)))
                } catch {
                    Console.note("could not write baseline.csv: \(error.localizedDescription)")
                }
            }
            let gateText = [BaselineTable.render(report), report.lines].filter { !$0.isEmpty }.joined(separator: "\n")
            switch format {
            case .table:
                print(SummaryReport.table(outcome.summary, server: outcome.server.version, deadlocks: record.deadlocks, record: record, timeseries: outcome.timeseries))
                if !gateText.isEmpty { print(gateText) }
                if let directory { print("results: \(directory)/\n") }
            case .json:
                if let json = try? SummaryReport.json(outcome.summary, record: record, directory: directory) { jsonSummaries.append(json) }
                if !gateText.isEmpty { try? FileHandle.standardError.write(contentsOf: Data(gateText.utf8)) }
            }
            if outcome.serverLost {
                Console.note("lost the server during the run (\(outcome.lostConnections) client connection(s) broke); results so far were written")
                throw Failure(.runError, "")
            }
            if !report.passed && status == .success { status = .checksFailed }
        }
        if let signal = trap.firstSignal { throw Failure(signal == SIGINT ? .interrupted : .terminated, "") }
        if status == .checksFailed {
            let failed = reports.map(\.failures).reduce(0, +)
            throw Failure(status, "lockstorm: checks failed: \(failed) of \(reports.map(\.cases.count).reduce(0, +)) checks, regression gates and invariants did not hold")
        }
        if status != .success { throw Failure(status, "") }
    }

    /// `-P` lines on stderr, and a bar that redraws itself when stderr is a
    /// terminal and the run has a known length.
    private func configureProgress(_ options: inout LoadOptions) {
        guard !quiet else { return }
        let terminal = isatty(STDERR_FILENO) == 1
        let showBar = terminal && options.durationSeconds != nil
        guard progress != nil || showBar else { return }
        options.progressSeconds = showBar ? min(progress ?? 1, 1) : progress
        let lineEvery = progress
        let state = ProgressState()
        options.onProgress = { report in
            var output = ""
            if let lineEvery {
                let (due, window, seconds) = state.accumulate(report, every: lineEvery)
                // The tick after the deadline may come before the last interval is in: skip an empty line there.
                let finalEmpty = report.window.attempts == 0 && report.plannedSeconds.map { report.elapsedSeconds >= $0 } == true
                if due && !finalEmpty {
                    output += (showBar ? "\r\u{1B}[K" : "") + ProgressLine.line(elapsedSeconds: report.elapsedSeconds, window: window, windowSeconds: seconds, waiting: report.lockWaits?.waiting) + "\n"
                }
            }
            if showBar, let planned = report.plannedSeconds {
                output += "\r\u{1B}[K" + ProgressLine.bar(elapsedSeconds: report.elapsedSeconds, plannedSeconds: planned, committed: report.committedSoFar, window: report.window, windowSeconds: report.windowSeconds)
            }
            try? FileHandle.standardError.write(contentsOf: Data(output.utf8))
        }
    }

    /// The command line with any password in it replaced by `****`.
    static func redactedCommandLine(_ arguments: [String]) -> String {
        arguments.map { argument in
            let redacted = ConnectionString.redact(argument)
            let plain = !redacted.isEmpty && redacted.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
            return plain ? redacted : "'" + redacted.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }

    private func relativePath(_ path: String) -> String {
        let current = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(current) ? String(path.dropFirst(current.count)) : path
    }
}

/// Accumulates progress reports between `-P` lines (the bar may tick faster).
final class ProgressState: @unchecked Sendable {
    // Only the run's coordinating thread calls `accumulate`, one report at a
    // time (LoadRunner calls onProgress serially), so no lock is needed.
    private var window = IntervalStats()
    private var seconds = 0.0
    private var lastLine = -Double.infinity

    /// Adds `report`; says whether a line is due (every `every` seconds of
    /// elapsed time) and, if so, hands over what accumulated since the last line.
    func accumulate(_ report: ProgressReport, every: Double) -> (Bool, IntervalStats, Double) {
        window.add(report.window)
        seconds += report.windowSeconds
        guard report.elapsedSeconds - lastLine >= every - 0.05 else { return (false, window, seconds) }
        lastLine = report.elapsedSeconds
        let taken = (true, window, seconds)
        window.reset()
        seconds = 0
        return taken
    }
}

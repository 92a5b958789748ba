import Engine
import Foundation
import LockstormCore
import PostgresClient
import Reports

/// What `lockstorm run` was asked to do, parsed.
public struct RunRequest: Sendable {
    /// How the summary goes to stdout.
    public enum SummaryFormat: String, Sendable, CaseIterable {
        case table, json
    }

    /// The workload file or shipped workload name, as given.
    public var workload: String
    /// The variant to run; nil for the workload's default.
    public var variant: String?
    /// Every variant in turn (instead of `variant`).
    public var allVariants = false
    public var load = LoadSettings()
    public var database = DatabaseTarget()
    public var gate = GateSettings()
    /// Directory the result folders go under.
    public var resultsRoot = "results"
    /// Skip the workload's teardown after the run.
    public var keepData = false
    /// `-P`: a progress line every this many seconds.
    public var progressSeconds: Double?
    /// No progress output at all.
    public var quiet = false
    public var format = SummaryFormat.table
    /// How often the lock-wait sampler looks; 0 turns it off.
    public var sampleInterval = TimeSpan(seconds: 0.2, text: "200ms")
    /// Length of one time-series interval.
    public var interval = TimeSpan(seconds: 1)
    /// The command line, recorded (password redacted) in run.json.
    public var commandLine: [String] = []
    /// Errors the workload does not declare are counted without failing the
    /// run (`--allow-unexpected-errors`; the workload's `allow_unexpected_errors`).
    public var allowUnexpectedErrors = false
    /// `--shard K/N` (with `--start-at`, `--run-id`, `--shard-wait`): this
    /// process runs one shard of a run split over N.
    public var sharding: ShardRequest?

    public init(workload: String) {
        self.workload = workload
    }
}

/// What one run left behind.
public struct RunArtifacts {
    public var plan: RunPlan
    public var record: RunRecord
    /// The result folder as the user sees it; nil when it could not be written.
    public var directory: String?
    public var gate: GateReport
}

/// `lockstorm run`: compiles the plans, runs each on the session's database,
/// and turns each outcome into its artifacts: RunRecord → result files and
/// report.html → gate verdict and baseline.csv; JUnit and Markdown once at the end.
/// What a person reads goes to `output`.
public struct RunPipeline {
    public let output: any OutputSink
    /// The clock result folders are named by.
    public var now: @Sendable () -> Date = { Date() }
    /// Whether stderr is a terminal (progress bar, clearing it).
    public var stderrIsTerminal = isatty(STDERR_FILENO) == 1

    public init(output: any OutputSink = StandardOutput()) {
        self.output = output
    }

    /// A loaded workload with every plan compiled and its load options.
    struct Plans {
        var workload: Workload
        var file: URL
        var sha256: String
        var runs: [(plan: RunPlan, options: LoadOptions)]
    }

    /// Loads the workload and compiles every variant asked for: a mistake is
    /// reported (exit 2) before anything runs.
    func plans(for request: RunRequest) throws -> Plans {
        let (workload, url, hash) = try WorkloadLoader.load(request.workload)
        let variants: [String?]
        if request.allVariants {
            variants = workload.variants.isEmpty ? [nil] : workload.variantNames
        } else {
            variants = [request.variant]
        }
        var runs: [(plan: RunPlan, options: LoadOptions)] = []
        for name in variants {
            let plan: RunPlan
            do {
                plan = try workload.plan(variant: name, overrides: ParameterOverride.pairs(request.load.overrides), file: request.workload)
            } catch {
                throw Failure(.usage, error.description)
            }
            if let refusal = request.load.protocolRefusal(plan, file: request.workload) { throw Failure(.usage, "lockstorm: \(refusal)") }
            var options = request.load.options(for: plan)
            options.runTeardown = !request.keepData
            options.intervalSeconds = request.interval.seconds
            options.sampleIntervalSeconds = request.sampleInterval.seconds
            options.allowUnexpectedErrors = request.allowUnexpectedErrors || plan.allowUnexpectedErrors
            if let sharding = request.sharding {
                options.sharding = try sharding.options(workloadSHA256: hash, plan: plan, load: options)
            }
            runs.append((plan, options))
        }
        for (plan, options) in runs where options.clients < plan.minimumClients {
            let dedicated = plan.transactions.filter { $0.dedicatedClients > 0 }.map { "\($0.name) \($0.dedicatedClients)" }.joined(separator: ", ")
            throw Failure(.usage, "\(plan.workloadName)/\(plan.variantLabel) needs at least \(plan.minimumClients) clients (dedicated: \(dedicated)\(plan.hasSharedTransactions ? ", plus one for the shared transactions" : "")); -c is \(options.clients)")
        }
        if let sharding = request.sharding, let (plan, options) = runs.first(where: { $0.options.clients < sharding.shard.count }) {
            throw Failure(.usage, "\(plan.workloadName)/\(plan.variantLabel): --shard \(sharding.shard.index)/\(sharding.shard.count) splits \(options.clients) clients over \(sharding.shard.count) shards; give -c of at least \(sharding.shard.count)")
        }
        return Plans(workload: workload, file: url, sha256: hash, runs: runs)
    }

    /// Runs everything `request` asks for. Returns the artifacts when every
    /// run ended normally; throws a ``Failure`` with the exit status otherwise
    /// (checks failed, run error, signal), after writing what was gathered.
    @discardableResult
    public func execute(_ request: RunRequest) throws -> [RunArtifacts] {
        let plans = try plans(for: request)
        // A results folder that cannot be made is a mistake to report now, not after the run.
        if let problem = ResultDirectory.problem(withRoot: request.resultsRoot) { throw Failure(.usage, "lockstorm: \(problem)") }
        var gate = try request.gate.prepare(workload: plans.workload, runs: plans.runs, sha256: plans.sha256, output: output)
        var artifacts: [RunArtifacts] = []
        // Written however the runs end (failure, Ctrl-C), with what was gathered.
        defer { if !artifacts.isEmpty { request.gate.writeOutputs(artifacts.map(\.gate), output: output) } }
        // `--format json`: one object once everything is known, the exit status included.
        var jsonRuns: [RunJSON.Run] = []
        do {
            try runAll(request, plans: plans, gate: &gate, artifacts: &artifacts, jsonRuns: &jsonRuns)
        } catch let failure as Failure {
            if request.format == .json && !artifacts.isEmpty { emitJSON(jsonRuns, status: failure.status, message: failure.message) }
            throw failure
        }
        if request.format == .json { emitJSON(jsonRuns, status: .success, message: "") }
        return artifacts
    }

    private func emitJSON(_ runs: [RunJSON.Run], status: ExitStatus, message: String) {
        let verdict: RunJSON.Verdict = switch status {
        case .success: .pass
        case .checksFailed: .fail
        case .interrupted, .terminated: .interrupted
        case .usage, .runError: .error
        }
        let text = message.hasPrefix("lockstorm: ") ? String(message.dropFirst("lockstorm: ".count)) : message
        do {
            output.write(try RunJSON(tool: "lockstorm \(LockstormVersion.string)", verdict: verdict, exitStatus: Int(status.rawValue), runs: runs, message: text).json())
        } catch {
            output.note("could not encode the JSON summary: \(error)")
        }
    }

    private func runAll(_ request: RunRequest, plans: Plans, gate: inout PreparedGate, artifacts: inout [RunArtifacts], jsonRuns: inout [RunJSON.Run]) throws {
        let session = Session(output: output) { signal in
            "\(Session.verb(forSignal: signal)): finishing in-flight transactions and writing results (Ctrl-C again cancels them now)"
        }
        defer { session.close() }
        let database = try session.loadDatabase(request.database, clients: plans.runs.map(\.options.clients).max() ?? 1)
        if gate.baselines.values.contains(where: { !$0.serverVersions.isEmpty }) {
            // The server's major version is the one setting known only once connected.
            if let version = try? PostgresConnection(dsn: database.dsn).execute("SHOW server_version").scalar {
                gate = try gate.checkServerVersion(version, output: output)
            }
        }

        var status = ExitStatus.success
        var unexpectedFailures = 0
        for (plan, options) in plans.runs {
            if session.stop.isSet { break }
            var options = options
            configureProgress(&options, request: request)
            options.serverLogPath = database.serverLog
            if let sharding = options.sharding {
                let own = sharding.shard.clients(of: options.clients).count
                output.note("running \(plan.workloadName)/\(plan.variantLabel) as \(sharding.shard): \(own) of \(options.clients) clients, \(min(options.threads, own)) threads, \(LoadSettings.length(options)), seed \(options.seed), run id \(sharding.runID)")
            } else {
                output.note("running \(plan.workloadName)/\(plan.variantLabel): \(options.clients) clients, \(min(options.threads, options.clients)) threads, \(LoadSettings.length(options)), seed \(options.seed)")
            }
            // From here to the written results a second signal hurries the run instead of ending it.
            let (outcome, run) = try session.gathering { () throws -> (RunOutcome, RunArtifacts) in
                let outcome: RunOutcome
                do {
                    outcome = try LoadRunner.run(plan: plan, dsn: database.dsn, options: options, stop: session.stop)
                } catch {
                    throw session.failure(.runError, "lockstorm: \(error)")
                }
                if let failure = outcome.samplerFailure { output.note("the lock-wait sampler could not run (\(failure)); its timeseries columns are empty") }
                for (sql, reason) in outcome.unpreparedStatements {
                    let line = sql.split(separator: "\n").first.map(String.init) ?? sql
                    output.note("-M prepared: a statement did not prepare on connecting (\(reason)); it went out unnamed, as with -M extended, on those connections: \(line)")
                }
                if let failure = outcome.serverLogFailure { output.note("the server's log could not be read (\(failure)); deadlock participants were attributed from the client side alone") }
                if let shard = outcome.shard {
                    if shard.lateSeconds > 0.05 { output.note("\(shard.shard) began its load \(Format.fixed(shard.lateSeconds, digits: 2)) s after --start-at (recorded as late_s in shard.json)") }
                    if let note = shard.note { output.note("\(shard.shard): \(note)") }
                }
                // Clear the progress bar before the summary.
                if options.onProgress != nil && stderrIsTerminal { output.writeError("\r\u{1B}[K") }
                let record = Self.record(plan: plan, options: options, outcome: outcome, file: plans.file, sha256: plans.sha256, commandLine: request.commandLine)
                return (outcome, writeArtifacts(plan: plan, outcome: outcome, record: record, root: request.resultsRoot, gate: gate))
            }
            if run.directory == nil { status = .runError }
            artifacts.append(run)
            let unexpected = Self.unexpectedErrorLines(outcome.summary, plan: plan)
            let unexpectedFails = !unexpected.isEmpty && !options.allowUnexpectedErrors
            show(run, outcome: outcome, format: request.format)
            jsonRuns.append(RunJSON.Run(record: run.record, summary: outcome.summary, timeseries: outcome.timeseries, gate: run.gate, directory: run.directory, passed: run.gate.passed && !unexpectedFails))
            if outcome.serverLost {
                output.note("lost the server during the run (\(outcome.lostConnections) client connection(s) broke); results so far were written")
                throw session.failure(.runError, "")
            }
            if let reason = outcome.brokenWorkload {
                throw session.failure(.runError, "lockstorm: stopped \(plan.workloadName)/\(plan.variantLabel): the workload is broken: \(reason)\n"
                    + "  (declare the error in 'expect:' if it is an outcome you expect; results so far were written)")
            }
            if unexpectedFails {
                output.note("\(plan.workloadName)/\(plan.variantLabel): errors the workload does not declare (declare them in 'expect:', or pass --allow-unexpected-errors):\n" + unexpected.joined(separator: "\n"))
                if status == .success { status = .checksFailed }
                unexpectedFailures += 1
            }
            // A results folder that could not be written (a run error) outweighs failed checks.
            if !run.gate.passed && status == .success { status = .checksFailed }
        }
        try session.throwIfSignalled()
        if status == .checksFailed {
            let reports = artifacts.map(\.gate)
            let failed = reports.map(\.failures).reduce(0, +)
            var reasons: [String] = []
            if failed > 0 { reasons.append("\(failed) of \(reports.map(\.cases.count).reduce(0, +)) checks, regression gates and invariants did not hold") }
            if unexpectedFailures > 0 { reasons.append("\(unexpectedFailures) run\(unexpectedFailures == 1 ? "" : "s") met errors the workload does not declare") }
            throw Failure(status, "lockstorm: checks failed: " + reasons.joined(separator: "; "))
        }
        if status != .success { throw Failure(status, "") }
    }

    /// One line per SQLSTATE the workload did not declare: count, where it
    /// happened (transaction and step, numbered from 1), and the server's message.
    static func unexpectedErrorLines(_ summary: RunSummary, plan: RunPlan) -> [String] {
        summary.stats.errors.values.filter { $0.unexpected > 0 }.sorted { ($1.unexpected, $0.sqlState) < ($0.unexpected, $1.sqlState) }.map { record in
            let transaction = record.sampleTransaction.map { $0 < plan.transactions.count ? "transaction '\(plan.transactions[$0].name)' " : "" } ?? ""
            return "  \(SQLState(record.sqlState).described) ×\(record.unexpected) in \(transaction)\(RunStats.place(record.sampleStep)): \(record.sampleMessage)"
        }
    }

    /// The run's record for run.json: everything needed to reproduce it.
    static func record(plan: RunPlan, options: LoadOptions, outcome: RunOutcome, file: URL, sha256: String, commandLine: [String]) -> RunRecord {
        RunRecord(
            version: LockstormVersion.string, commandLine: CommandLineText.redacted(commandLine),
            workload: .init(name: plan.workloadName, file: DisplayPath.relative(file.path), sha256: sha256),
            variant: plan.variantLabel, parameters: plan.parameters, summary: outcome.summary,
            requestedDurationSeconds: options.durationSeconds, transactionsPerClient: options.transactionsPerClient,
            warmupSeconds: options.warmupSeconds,
            schedule: options.rate.map { RunRecord.Schedule(rate: $0, latencyLimitMilliseconds: options.lateLimitMilliseconds, stats: outcome.summary.stats.schedule) },
            connections: RunRecord.Connections(lost: outcome.lostConnections, reconnected: outcome.reconnects),
            intervalSeconds: outcome.intervalSeconds, startedAt: outcome.startedAt, endedAt: outcome.endedAt,
            server: .init(version: outcome.server.version, settings: Dictionary(outcome.server.settings.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })),
            serverDeadlocksDelta: outcome.serverDeadlocksDelta, peakRSSBytes: ResourceUsage.peakRSSBytes(),
            ended: ended(outcome: outcome, options: options), lockSampling: outcome.lockSampling
        )
    }

    /// How the measurement window ended, for run.json's `ended`.
    static func ended(outcome: RunOutcome, options: LoadOptions) -> String {
        if outcome.brokenWorkload != nil { return RunRecord.endedBrokenWorkload }
        if outcome.serverLost { return RunRecord.endedServerLost }
        if outcome.summary.partial { return RunRecord.endedStopped }
        // At the deadline unless every client finished first (`-t`, or a workload that stopped itself).
        if let requested = options.durationSeconds, outcome.summary.durationSeconds >= requested - 0.001 { return RunRecord.endedDeadline }
        return RunRecord.endedFinished
    }

    /// Result files and report.html in a new result folder, the gate's
    /// verdict, and baseline.csv when there is a baseline. The folder is
    /// marked INCOMPLETE until every file is written; a write failure is
    /// noted with the file's path and leaves `directory` nil.
    func writeArtifacts(plan: RunPlan, outcome: RunOutcome, record: RunRecord, root: String, gate: PreparedGate) -> RunArtifacts {
        var directory: String?
        var writer: ResultWriter?
        do {
            let folder = try ResultDirectory.create(.run(workload: plan.workloadName, variant: plan.variantLabel), root: URL(fileURLWithPath: root), date: now())
            let created = ResultWriter(directory: folder)
            try created.markIncomplete()
            writer = created
            try created.writeAll(summary: outcome.summary, timeseries: outcome.timeseries, record: record)
            if !outcome.deadlockEvents.isEmpty { try created.write(DeadlockEventFile.name, DeadlockEventFile.document(outcome.deadlockEvents)) }
            try Self.writeShardFiles(created, plan: plan, outcome: outcome, record: record)
            try created.writeReport()
            directory = DisplayPath.relative(created.directory.path)
        } catch {
            noteUnwritten(error, writer: writer)
        }
        let report = gate.report(for: outcome.summary, directory: directory)
        guard directory != nil, let writer else { return RunArtifacts(plan: plan, record: record, directory: directory, gate: report) }
        do {
            if !report.baseline.isEmpty {
                try writer.write("baseline.csv", CSV.document(header: BaselineComparison.columns, rows: BaselineComparison.rows(report.baseline)))
            }
            try writer.markComplete()
        } catch {
            noteUnwritten(error, writer: writer)
            directory = nil
        }
        return RunArtifacts(plan: plan, record: record, directory: directory, gate: report)
    }

    /// `shard.json` and `latency.hlog`: what `lockstorm merge` reads back exactly.
    static func writeShardFiles(_ writer: ResultWriter, plan: RunPlan, outcome: RunOutcome, record: RunRecord) throws {
        var facts = ShardFile.Facts(workloadSHA256: record.workload?.sha256 ?? "", clients: record.clients ?? outcome.summary.clients, measurementStart: outcome.measurementStart)
        if let shard = outcome.shard {
            facts.shard = shard.shard.index
            facts.shards = shard.shard.count
            facts.runID = shard.runID
            facts.startAt = shard.startAt
            facts.lateSeconds = shard.lateSeconds
            facts.ranSetup = shard.ranSetup
            facts.ranTeardown = shard.ranTeardown
            facts.checkedInvariants = shard.checkedInvariants
            facts.note = shard.note
        }
        if let options = outcome.loadClients { facts.clients = options }
        facts.countersStart = outcome.countersStart.map { .init(at: $0.at, xactCommit: $0.xactCommit, xactRollback: $0.xactRollback, deadlocks: $0.deadlocks) }
        facts.countersEnd = outcome.countersEnd.map { .init(at: $0.at, xactCommit: $0.xactCommit, xactRollback: $0.xactRollback, deadlocks: $0.deadlocks) }
        facts.sessions = outcome.sessions
        let total = facts.clients
        facts.dedicated = { client in plan.dedicatedTransaction(client: client, of: total).map { plan.transactions[$0].name } }
        try writer.write(ShardFile.fileName, try ShardFile(summary: outcome.summary, timeseries: outcome.timeseries, facts: facts).json())
        let log = ShardFile.histogramLog(summary: outcome.summary, measurementStart: outcome.measurementStart, intervals: outcome.intervalLatency)
        try writer.write(ShardFile.hlogFileName, log.text())
    }

    /// Says which file could not be written, and marks its folder incomplete.
    private func noteUnwritten(_ error: any Error, writer: ResultWriter?) {
        let reason = error.localizedDescription
        guard let writer else {
            output.note("could not write results: \(reason)")
            return
        }
        writer.noteIncomplete(reason)
        output.note("could not write results: \(reason)\n  \(DisplayPath.relative(writer.directory.path)) is marked \(ResultWriter.incompleteMarker): the files in it are whole, the others missing")
    }

    /// The summary, the gate's lines and where the results are, as a table
    /// on stdout; with `--format json` all of it goes in the one object instead.
    private func show(_ run: RunArtifacts, outcome: RunOutcome, format: RunRequest.SummaryFormat) {
        guard format == .table else { return }
        let gateText = [BaselineTable.render(run.gate), run.gate.lines].filter { !$0.isEmpty }.joined(separator: "\n")
        output.line(SummaryReport.table(outcome.summary, server: outcome.server.version, deadlocks: run.record.deadlocks, record: run.record, timeseries: outcome.timeseries))
        if !gateText.isEmpty { output.line(gateText) }
        if let directory = run.directory { output.line("results: \(directory)/\n") }
    }

    /// `-P` lines on stderr, and a bar that redraws itself when stderr is a
    /// terminal and the run has a known length.
    private func configureProgress(_ options: inout LoadOptions, request: RunRequest) {
        guard !request.quiet else { return }
        let showBar = stderrIsTerminal && options.durationSeconds != nil
        guard request.progressSeconds != nil || showBar else { return }
        options.progressSeconds = showBar ? min(request.progressSeconds ?? 1, 1) : request.progressSeconds
        let lineEvery = request.progressSeconds
        let shardPrefix = request.sharding.map { "shard \($0.shard.index)/\($0.shard.count)  " } ?? ""
        let state = ProgressState()
        let output = self.output
        options.onProgress = { report in
            var text = ""
            if let lineEvery {
                let (due, window, seconds) = state.accumulate(report, every: lineEvery)
                // The tick after the deadline may come before the last interval is in: skip an empty line there.
                let finalEmpty = report.window.attempts == 0 && report.plannedSeconds.map { report.elapsedSeconds >= $0 } == true
                if due && !finalEmpty {
                    text += (showBar ? "\r\u{1B}[K" : "") + shardPrefix + ProgressLine.line(elapsedSeconds: report.elapsedSeconds, window: window, windowSeconds: seconds, waiting: report.lockWaits?.waiting) + "\n"
                }
            }
            if showBar, let planned = report.plannedSeconds {
                text += "\r\u{1B}[K" + ProgressLine.bar(elapsedSeconds: report.elapsedSeconds, plannedSeconds: planned, committed: report.committedSoFar, window: report.window, windowSeconds: report.windowSeconds)
            }
            output.writeError(text)
        }
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
        // No interval ended since the last line (-P shorter than --interval): nothing new to say yet.
        guard report.elapsedSeconds - lastLine >= every - 0.05, seconds > 0 else { return (false, window, seconds) }
        lastLine = report.elapsedSeconds
        let taken = (true, window, seconds)
        window.reset()
        seconds = 0
        return taken
    }
}

/// The command line as run.json and comparisons record it.
public enum CommandLineText {
    /// The arguments joined for a shell, any password in them replaced by `****`.
    public static func redacted(_ arguments: [String]) -> String {
        arguments.map { argument in
            let redacted = ConnectionString.redact(argument)
            let plain = !redacted.isEmpty && redacted.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
            return plain ? redacted : "'" + redacted.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}

import Foundation
import Testing
@testable import Engine
@testable import LockstormCore
@testable import LockstormApp

/// The run pipeline's steps that need no database: compiling the plans and
/// refusing mistakes before any server starts.
@Suite struct RunPipelineTests {
    static let workloads = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("workloads").path

    @Test("every variant is compiled with the typed options applied")
    func plansForAllVariants() throws {
        var request = RunRequest(workload: Self.workloads + "/transfers.yaml")
        request.allVariants = true
        request.load.clients = 3
        request.load.time = TimeSpan(parsing: "2s")
        request.load.overrides = [ParameterOverride(parsing: "accounts=20")].compactMap { $0 }
        request.keepData = true
        request.interval = TimeSpan(seconds: 0.5)
        request.sampleInterval = TimeSpan(seconds: 0)
        let plans = try RunPipeline(output: RecordingOutput()).plans(for: request)
        #expect(plans.runs.map(\.plan.variantLabel) == plans.workload.variantNames)
        #expect(plans.runs.count > 1)
        for run in plans.runs {
            #expect(run.options.clients == 3)
            #expect(run.options.durationSeconds == 2)
            #expect(run.options.runTeardown == false)
            #expect(run.options.intervalSeconds == 0.5)
            #expect(run.options.sampleIntervalSeconds == 0)
        }
        #expect(plans.sha256.count == 64)
    }

    @Test("an unknown variant is a usage error, found before any server starts")
    func unknownVariantFailsEarly() {
        var request = RunRequest(workload: Self.workloads + "/transfers.yaml")
        request.variant = "orderd"
        request.database = DatabaseTarget(environment: [:])
        let output = RecordingOutput()
        #expect {
            try RunPipeline(output: output).execute(request)
        } throws: { error in
            guard let failure = error as? Failure else { return false }
            return failure.status == .usage && failure.message.contains("did you mean 'ordered'?")
        }
        #expect(!output.errors.contains("starting an embedded PostgreSQL"))
        #expect(output.text.isEmpty)
    }

    @Test("too few clients for a variant's dedicated clients is a usage error that says how many")
    func tooFewClients() {
        var request = RunRequest(workload: Self.workloads + "/queue.yaml")
        request.variant = "reaper"
        request.load.clients = 1
        #expect {
            try RunPipeline(output: RecordingOutput()).plans(for: request)
        } throws: { error in
            guard let failure = error as? Failure else { return false }
            return failure.status == .usage && failure.message.contains("needs at least") && failure.message.contains("-c is 1")
        }
    }

    @Test("the workload's defaults fill in what the flags leave out")
    func workloadDefaults() throws {
        let request = RunRequest(workload: Self.workloads + "/queue.yaml")
        let plans = try RunPipeline(output: RecordingOutput()).plans(for: request)
        let run = try #require(plans.runs.first)
        #expect(run.options.clients == (run.plan.defaults.clients ?? 8))
        #expect(run.options.reconnectTimeoutSeconds == 30)
        #expect(run.options.warmupSeconds == 0)
    }

    /// A finished run as LoadRunner would return it: one transfer committed in 2 ms.
    static func outcome(plan: RunPlan) -> RunOutcome {
        var stats = RunStats(transactionCount: plan.transactions.count)
        var committed = TransactionStats()
        committed.recordCommit(latencyNanoseconds: 2_000_000)
        stats.transactions[0].add(committed)
        let summary = RunSummary(
            workload: plan.workloadName, variant: plan.variantLabel, clients: 2, threads: 1, durationSeconds: 1, seed: 7,
            transactionNames: plan.transactions.map(\.name), stats: stats, invariants: [], partial: false)
        let start = Date(timeIntervalSince1970: 1_795_459_512)
        return RunOutcome(
            summary: summary, server: ServerInfo(version: "PostgreSQL 16.0", settings: [("deadlock_timeout", "1s")]), lostConnections: 0, reconnects: 0,
            serverLost: false, timeseries: [], intervalSeconds: 1, startedAt: start, endedAt: start.addingTimeInterval(1), serverDeadlocksDelta: 0)
    }

    @Test("an outcome becomes run.json, the CSV files and report.html in a UTC-named folder, and the gate's verdict")
    func artifactsOfAnOutcome() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lockstorm-app-tests-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root) }
        var request = RunRequest(workload: Self.workloads + "/transfers.yaml")
        request.variant = "ordered"
        request.load.clients = 2
        request.load.transactions = 1
        request.commandLine = ["lockstorm", "run", "transfers", "--dsn", "postgresql://bob:hunter2@db/x"]
        let output = RecordingOutput()
        var pipeline = RunPipeline(output: output)
        pipeline.now = { Date(timeIntervalSince1970: 1_795_459_512) }
        let plans = try pipeline.plans(for: request)
        let (plan, options) = try #require(plans.runs.first)
        let outcome = Self.outcome(plan: plan)
        let record = RunPipeline.record(plan: plan, options: options, outcome: outcome, file: plans.file, sha256: plans.sha256, commandLine: request.commandLine)
        #expect(record.commandLine?.contains("****") == true)
        #expect(record.commandLine?.contains("hunter2") == false)
        let check = try CheckParser(transactions: plan.transactions.map(\.name)).parse("deadlocks == 1")
        let gate = PreparedGate(checks: [check], limits: [], baselines: [:])

        let artifacts = pipeline.writeArtifacts(plan: plan, outcome: outcome, record: record, root: root.path, gate: gate)
        let directory = try #require(artifacts.directory)
        #expect(directory.hasSuffix("/transfers-ordered-20261123T184512Z"))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["deadlocks.csv", "errors.csv", "latency.csv", "latency.hlog", "report.html", "run.json", "shard.json", "summary.csv", "timeseries.csv"])
        #expect(!artifacts.gate.passed)
        #expect(output.errors.isEmpty)

        // The same second again: a -2 folder, the first left alone.
        let again = pipeline.writeArtifacts(plan: plan, outcome: outcome, record: record, root: root.path, gate: gate)
        #expect(again.directory?.hasSuffix("/transfers-ordered-20261123T184512Z-2") == true)
    }
}

import Foundation
import Testing
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
}

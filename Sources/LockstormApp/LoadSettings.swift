import Engine
import Foundation
import LockstormCore

/// How much load, as the flags gave it (pgbench's flags where pgbench has
/// one), already parsed: the workload's defaults fill in what is missing.
public struct LoadSettings: Sendable {
    public var clients: Int?
    public var jobs: Int?
    public var time: TimeSpan?
    public var transactions: Int?
    public var seed: UInt64?
    public var overrides: [ParameterOverride] = []
    public var rate: Double?
    public var latencyLimitMilliseconds: Double?
    public var warmup: TimeSpan?
    public var reconnectTimeout = TimeSpan(seconds: 30)
    public var separateBegin = false
    /// `-M`: how statements go out.
    public var protocolMode = ProtocolMode.extended

    public init() {}

    /// The load options for `plan`, with the workload's defaults under the flags.
    public func options(for plan: RunPlan, processors: Int = ProcessInfo.processInfo.activeProcessorCount) -> LoadOptions {
        let clients = self.clients ?? plan.defaults.clients ?? 8
        var duration = time?.seconds
        var perClient = transactions
        if duration == nil && perClient == nil {
            if let seconds = plan.defaults.durationSeconds { duration = seconds } else if let count = plan.defaults.transactionsPerClient { perClient = count } else { duration = 10 }
        }
        var options = LoadOptions(
            clients: clients, threads: jobs ?? processors, durationSeconds: duration,
            transactionsPerClient: perClient, seed: seed ?? Self.randomSeed()
        )
        options.rate = rate
        options.lateLimitMilliseconds = latencyLimitMilliseconds
        options.warmupSeconds = warmup?.seconds ?? 0
        options.reconnectTimeoutSeconds = reconnectTimeout.seconds
        // The simple protocol cannot be pipelined: BEGIN waits for its own answer.
        options.combineBegin = !separateBegin && protocolMode != .simple
        options.protocolMode = protocolMode
        return options
    }

    /// Why `plan` cannot run with these settings' protocol (`-M simple` and
    /// bind parameters or a pipeline), for a usage error before connecting.
    public func protocolRefusal(_ plan: RunPlan, file: String) -> String? {
        protocolMode == .simple ? ProtocolMode.simpleRefusal(plan, file: file) : nil
    }

    /// A seed when none was given (printed, so the run can be repeated).
    public static func randomSeed() -> UInt64 { UInt64.random(in: 1...UInt64(Int64.max)) }

    /// How a run's length reads in notes: `10.0 s` or `20 transactions per client`.
    static func length(_ options: LoadOptions?) -> String {
        options?.durationSeconds.map { "\(Format.fixed($0, digits: 1)) s" } ?? "\(options?.transactionsPerClient ?? 0) transactions per client"
    }
}

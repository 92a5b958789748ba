import ArgumentParser
import LockstormApp
import LockstormCore

/// `--shard K/N` and its companions on `run`.
struct ShardArguments: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Run shard K of N (K from 0): client i runs in shard i mod N. Shard 0 runs the setup, checks the invariants and tears down once the others are done; merge the shards' result folders with 'lockstorm merge'. Needs --seed.",
        valueName: "K/N"
    ), transform: ShardArguments.shard)
    var shard: Shard?

    @Option(name: .customLong("start-at"), help: ArgumentHelp(
        "With --shard: begin the load at this time, RFC 3339 (2026-12-03T19:30:00Z), or +DURATION after shard 0's setup on the server's clock (+30s). A shard that comes up later starts at once and records how late.",
        valueName: "time"
    ), transform: ShardArguments.startAt)
    var startAt: StartAt?

    @Option(name: .customLong("run-id"), help: ArgumentHelp("With --shard: the name the shards of one run share in the table lockstorm_shard_run (default: from the workload's hash, variant, seed, N and clients; give one per run, e.g. the Job's name, when you repeat a run).", valueName: "text"))
    var runID: String?

    @Option(name: .customLong("shard-wait"), parsing: .unconditional, help: ArgumentHelp("With --shard: how long a shard waits for shard 0's setup, and shard 0 for the others to finish.", valueName: "duration"), transform: TimeSpan.argument)
    var shardWait = TimeSpan(seconds: 300, text: "5min")

    func validate(seed: UInt64?) throws {
        guard let shard else {
            if startAt != nil { throw ValidationError("--start-at needs --shard K/N") }
            if runID != nil { throw ValidationError("--run-id needs --shard K/N") }
            return
        }
        if shard.count > 1 && seed == nil {
            throw ValidationError("--shard \(shard.index)/\(shard.count) needs --seed: every shard must draw from the same seed (give each the same number)")
        }
        if let runID, runID.isEmpty || runID.count > 200 { throw ValidationError("--run-id must be 1 to 200 characters") }
        if !(shardWait.seconds > 0) { throw ValidationError("--shard-wait must be above 0") }
    }

    var request: ShardRequest? {
        guard let shard else { return nil }
        var request = ShardRequest(shard: shard)
        request.startAt = startAt
        request.runID = runID
        request.waitSeconds = shardWait.seconds
        return request
    }

    static func shard(_ text: String) throws -> Shard {
        switch Shard.parse(text) {
        case .success(let shard): return shard
        case .failure(let error): throw ValidationError(error.message)
        }
    }

    static func startAt(_ text: String) throws -> StartAt {
        do {
            return try ShardRequest.parseStartAt(text)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

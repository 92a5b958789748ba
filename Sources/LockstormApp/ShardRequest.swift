import Engine
import Foundation
import LockstormCore

/// `--shard K/N` and the flags that go with it, parsed.
public struct ShardRequest: Sendable {
    public var shard: Shard
    /// `--start-at`: RFC 3339, or `+DURATION` after shard 0's setup.
    public var startAt: StartAt?
    /// `--run-id`: names the run in `lockstorm_shard_run` (default: derived
    /// from the workload's hash, variant, seed, shard count and clients).
    public var runID: String?
    /// `--shard-wait`: how long a shard waits for shard 0's setup, and shard 0 for the others.
    public var waitSeconds: Double = 300

    public init(shard: Shard) {
        self.shard = shard
    }

    /// Parses `--start-at`: `2026-12-03T19:30:00Z` (RFC 3339, any offset,
    /// fractions allowed), or `+30s` — that long after shard 0 has made the
    /// setup visible, on the database server's clock.
    public static func parseStartAt(_ text: String) throws(ArgumentValueError) -> StartAt {
        if text.hasPrefix("+") {
            guard let span = TimeSpan(parsing: String(text.dropFirst())), span.seconds >= 0 else {
                throw ArgumentValueError("--start-at '\(text)': after '+' give a duration such as 30s or 2min (that long after shard 0's setup)")
            }
            return .afterSetup(span.seconds)
        }
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return .absolute(date.timeIntervalSince1970) }
        }
        throw ArgumentValueError("--start-at '\(text)' is neither an RFC 3339 time (2026-12-03T19:30:00Z) nor +DURATION (+30s: after shard 0's setup)")
    }

    /// The engine's options for one plan.
    func options(workloadSHA256: String, plan: RunPlan, load: LoadOptions) throws -> ShardOptions {
        let derived = [workloadSHA256, plan.variantLabel, String(load.seed), String(shard.count), String(load.clients)].joined(separator: "|")
        let runID = self.runID ?? "\(plan.workloadName)-\(String(SHA256.hex(Array(derived.utf8)).prefix(12)))"
        return ShardOptions(shard: shard, runID: runID, startAt: startAt, waitSeconds: waitSeconds)
    }
}

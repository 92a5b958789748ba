/// One of N processes that together run one load (`--shard K/N`): which
/// clients it runs and how it names itself.
///
/// Client *i* of the run belongs to shard *i* mod N, so every shard gets
/// clients of every kind and the dedicated clients (the last ones,
/// `RunPlan.dedicatedTransaction(client:of:)`) each land on exactly one
/// shard. A client keeps its global index, and with it its random streams
/// (`RandomSource(seed:stream:)`) and its share of a `-R` schedule: N shards
/// of seed S draw what one process of seed S draws for the same clients.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// 0-based: 0 ≤ index < count.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "Shard: \(index)/\(count) is not a shard")
        self.index = index
        self.count = count
    }

    /// The only shard of a run that is not split.
    public static let whole = Shard(index: 0, count: 1)

    /// Parses `K/N`; the message says what is wrong.
    public static func parse(_ text: String) -> Result<Shard, ShardError> {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            return .failure(ShardError("--shard '\(text)' is not K/N: give this process's 0-based number and the number of shards, e.g. 0/3"))
        }
        guard count >= 1, count <= 10_000 else { return .failure(ShardError("--shard '\(text)': the number of shards must be 1 to 10000")) }
        guard index >= 0, index < count else {
            return .failure(ShardError("--shard '\(text)': K is 0-based and must be below N (0 to \(count - 1))"))
        }
        return .success(Shard(index: index, count: count))
    }

    /// Shard 0 runs the setup, waits for the others, checks the invariants and tears down.
    public var isFirst: Bool { index == 0 }

    public var isWhole: Bool { count == 1 }

    /// The global indices of this shard's clients among `clients`.
    public func clients(of clients: Int) -> [Int] {
        Array(stride(from: index, to: clients, by: count))
    }

    /// `shard 1/3`.
    public var description: String { "shard \(index)/\(count)" }
}

/// A `--shard` value that is not one.
public struct ShardError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// When the shards of a run begin their load (`--start-at`).
public enum StartAt: Sendable, Hashable {
    /// At this wall-clock time (seconds since 1970, as RFC 3339 gave it).
    case absolute(Double)
    /// This many seconds after shard 0 made the setup visible, on the
    /// server's clock: the one reference every shard reads the same.
    case afterSetup(Double)
}

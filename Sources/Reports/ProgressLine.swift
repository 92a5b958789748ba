import LockstormCore

/// The progress shown while a run goes: a line per `-P` period on stderr,
/// and on a terminal a bar for runs of known length.
public enum ProgressLine {
    /// `elapsed 12.0 s  last 5.0 s: tps 1325.4  p50 5.98 ms  p99 83.33 ms  deadlocks 3  lock n/a 0  other errors 0  retries 1`
    ///
    /// Everything after `last N s:` covers only the interval since the
    /// previous line; latencies of an interval in which nothing committed are
    /// not measured and print as `–`, never as 0.
    public static func line(elapsedSeconds: Double, window: IntervalStats, windowSeconds: Double, waiting: Int? = nil) -> String {
        let tps = windowSeconds > 0 ? Double(window.committed) / windowSeconds : 0
        let latency = HistogramStatistics(window.latency)
        func milliseconds(_ percentile: Double) -> String {
            latency.totalCount > 0 ? Format.fixed(Double(latency.valueAtPercentile(percentile)) / 1_000, digits: 2) + " ms" : "–"
        }
        let other = window.count(.serializationFailure) + window.count(.statementTimeout) + window.count(.connection) + window.count(.other)
        var text = elapsedSeconds < 0
            ? "warmup \(Format.fixed(-elapsedSeconds, digits: 1)) s left"
            : "elapsed \(Format.fixed(elapsedSeconds, digits: 1)) s"
        text += "  last \(Format.fixed(windowSeconds, digits: 1)) s: tps \(Format.fixed(tps, digits: 1))  p50 \(milliseconds(50))  p99 \(milliseconds(99))"
        text += "  deadlocks \(window.count(.deadlock))  lock n/a \(window.count(.lockNotAvailable))  other errors \(other)"
        if window.retries > 0 { text += "  retries \(window.retries)" }
        if let waiting { text += "  waiting on locks \(waiting)" }
        return text
    }

    /// `[##########..........]  50%  5.0/10.0 s  1325 tps  p99 83.3 ms  deadlocks 12`
    public static func bar(elapsedSeconds: Double, plannedSeconds: Double, committed: Int, window: IntervalStats, windowSeconds: Double, width: Int = 24) -> String {
        let fraction = plannedSeconds > 0 ? min(max(elapsedSeconds / plannedSeconds, 0), 1) : 0
        let filled = Int((fraction * Double(width)).rounded(.down))
        let tps = windowSeconds > 0 ? Double(window.committed) / windowSeconds : 0
        let latency = HistogramStatistics(window.latency)
        let p99 = latency.totalCount > 0 ? Double(latency.valueAtPercentile(99)) / 1_000 : 0
        var text = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
        text += " \(Format.fixed(fraction * 100, digits: 0))%  \(Format.fixed(max(elapsedSeconds, 0), digits: 1))/\(Format.fixed(plannedSeconds, digits: 1)) s"
        text += "  \(Format.fixed(tps, digits: 0)) tps  p99 \(Format.fixed(p99, digits: 1)) ms  committed \(committed)  deadlocks \(window.count(.deadlock))"
        return text
    }
}

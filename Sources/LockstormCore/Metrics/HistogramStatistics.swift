import Histogram

/// What the reports read from one histogram (count, min, max, mean, any
/// percentile, counts at or below a value), computed in ONE walk over its
/// buckets and then answered without walking it again.
///
/// `Histogram`'s own `mean`, `valueAtPercentile` and `count(within:)` each walk
/// the bucket array (some ~23,000 entries for a latency histogram), and the
/// package's generic code is not specialised across modules, so every walk is
/// slow; the reports asked the same histogram for each statistic separately,
/// for every consumer. The answers here are exactly `Histogram`'s own (same
/// arithmetic, same order of summation): the unit tests compare them.
public struct HistogramStatistics: Sendable, Hashable {
    /// `Histogram.totalCount`.
    public let totalCount: UInt64
    /// `Histogram.min`: 0 when empty or when 0 was recorded.
    public let min: UInt64
    /// `Histogram.max`: the highest value equivalent to the largest recorded one.
    public let max: UInt64
    /// `Histogram.maxRecorded`.
    public let maxRecorded: UInt64
    /// `Histogram.mean`.
    public let mean: Double
    /// The non-empty buckets in value order: their lowest and highest
    /// equivalent values, and the count of all values up to and including them.
    private let lowest: [UInt64]
    private let highest: [UInt64]
    private let cumulative: [UInt64]

    public init(_ histogram: Histogram<UInt64>) {
        totalCount = histogram.totalCount
        min = histogram.min
        max = histogram.max
        maxRecorded = histogram.maxRecorded
        var lowest: [UInt64] = []
        var highest: [UInt64] = []
        var cumulative: [UInt64] = []
        var running: UInt64 = 0
        var totalValue: Double = 0
        // `recordedValues()` is inlinable, so this walk is specialised here.
        for bucket in histogram.recordedValues() {
            let low = histogram.lowestEquivalentForValue(bucket.value)
            // As `Histogram.mean`: the median equivalent value times the count, summed in value order.
            let median = low + (histogram.sizeOfEquivalentRangeForValue(bucket.value) >> 1)
            totalValue += Double(median) * Double(bucket.count)
            running += bucket.count
            lowest.append(low)
            highest.append(bucket.value)
            cumulative.append(running)
        }
        mean = totalCount == 0 ? 0 : totalValue / Double(totalCount)
        self.lowest = lowest
        self.highest = highest
        self.cumulative = cumulative
    }

    /// `Histogram.valueAtPercentile(_:)`: the highest value equivalent to the
    /// first bucket whose running count reaches `percentile` of the total,
    /// clamped to the recorded minimum and maximum.
    public func valueAtPercentile(_ percentile: Double) -> UInt64 {
        guard percentile != 0 else { return min }
        guard percentile < 100 else { return maxRecorded }
        let requested = Swift.min(Swift.max(percentile.nextDown, 0), 100)
        let countAtPercentile = Swift.max(1, UInt64(((requested * Double(totalCount)) / 100).rounded(.up)))
        guard let index = firstIndex(where: { cumulative[$0] >= countAtPercentile }) else { return 0 }
        return Swift.max(Swift.min(highest[index], maxRecorded), min)
    }

    /// `Histogram.count(within: 0...value)`: how many values were recorded in
    /// the buckets up to and including the one holding `value`.
    public func countAtOrBelow(_ value: UInt64) -> UInt64 {
        // The buckets up to the one holding `value` are those starting at or below it.
        guard let after = firstIndex(where: { lowest[$0] > value }) else { return cumulative.last ?? 0 }
        return after == 0 ? 0 : cumulative[after - 1]
    }

    /// The first bucket (by binary search; `predicate` is monotonic) for which `predicate` holds.
    private func firstIndex(where predicate: (Int) -> Bool) -> Int? {
        var low = 0
        var high = cumulative.count
        while low < high {
            let middle = (low + high) / 2
            if predicate(middle) { high = middle } else { low = middle + 1 }
        }
        return low < cumulative.count ? low : nil
    }
}

import Foundation
import LockstormCore

/// A line chart drawn as inline SVG: title, axes with 1-2-5 ticks, gridlines,
/// a legend when there is more than one series.
///
/// The SVG scales with its container (`viewBox`, CSS `width: 100%`). Points
/// that are not finite are left out (a series breaks into segments around
/// them), so no `nan` or `inf` ever reaches an attribute; an empty chart
/// still draws its axes with a message in the middle.
struct SVGChart {
    struct Point: Hashable {
        var x: Double
        var y: Double
    }

    struct Series {
        var name: String
        var points: [Point]
        var color: String
        /// An SVG `stroke-dasharray`, so series differ by more than colour.
        var dash: String?
        var lineWidth: Double = 2
        /// The shape of the dots on the points.
        var marker: Marker = .dot
        /// Range bars (min–max of repeated runs), drawn as error bars with caps.
        var ranges: [RangeBar] = []
    }

    /// What marks a point. `.dot` is the small filled circle of the run
    /// report; the hollow shapes come in sizes, so that equal points of
    /// several series show as nested shapes, not as one.
    enum Marker: Hashable {
        case dot
        case circle(radius: Double)
        case square(half: Double)
        case triangle(half: Double)
        case diamond(half: Double)

        var name: String {
            switch self {
            case .dot: "dot"
            case .circle: "circle"
            case .square: "square"
            case .triangle: "triangle"
            case .diamond: "diamond"
            }
        }
    }

    /// A vertical bar from `low` to `high` at `x`.
    struct RangeBar: Hashable {
        var x: Double
        var low: Double
        var high: Double
    }

    enum YAxis {
        /// From zero, 1-2-5 ticks.
        case linear
        /// Powers of ten (with 2 and 5 between when the data spans little),
        /// each labelled by `label`; values that are not positive are left out.
        case log(label: @Sendable (Double) -> String)
    }

    /// A tick on the x axis at `value`, labelled `label`.
    struct Tick: Hashable {
        var value: Double
        var label: String
    }

    enum XAxis {
        /// Linear over the data (from zero when `fromZero`), 1-2-5 ticks labelled `<n> <unit>`.
        case linear(unit: String, fromZero: Bool)
        /// A fixed domain with given ticks (e.g. the percentile scale); points outside are clamped.
        case fixed(lower: Double, upper: Double, ticks: [Tick])
    }

    var id: String
    var title: String
    var xTitle: String
    var yTitle: String
    var xAxis: XAxis
    var series: [Series]
    var yAxis: YAxis = .linear
    /// Shown in the plot area when no series has a point.
    var emptyMessage = "no data"
    /// Dots on the points: `nil` draws them when a series has at most 40 points.
    var markers: Bool?
    var width = 720.0
    var height = 260.0

    /// The left edge of the title, the legend and the y-axis title.
    static let edge = 14.0

    static let fontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
    static let textColor = "#374151"
    static let mutedColor = "#6b7280"
    static let gridColor = "#e5e7eb"
    static let axisColor = "#9ca3af"

    /// Colours from Okabe & Ito's palette, readable with any colour vision,
    /// without the yellow that vanishes on white; dashes distinguish the rest.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F7F"]
    static let dashes: [String?] = [nil, "6 3", "2 3", "8 3 2 3"]

    /// The colour and dash of the `index`th series.
    static func style(_ index: Int) -> (color: String, dash: String?) {
        let color = palette[index % palette.count]
        let dash = dashes[(index / palette.count) % dashes.count]
        return (color, dash)
    }

    /// Whether a value can be drawn on the y axis (a log axis has no place for zero).
    private func drawable(_ point: Point) -> Bool {
        guard point.x.isFinite && point.y.isFinite else { return false }
        if case .log = yAxis { return point.y > 0 }
        return true
    }

    /// The colour, dash and marker of the `index`th of several series that
    /// may coincide: each differs from the others in all three, and earlier
    /// series are drawn wider with larger markers, so a later one lying on
    /// top leaves the earlier visible around it.
    static func distinctStyle(_ index: Int) -> (color: String, dash: String?, marker: Marker, lineWidth: Double) {
        let color = palette[index % palette.count]
        let dash = dashes[index % dashes.count]
        let size = max(6.5 - 1.2 * Double(index % 4), 2.5)
        let shapes: [Marker] = [.circle(radius: size), .square(half: size * 0.85), .triangle(half: size), .diamond(half: size)]
        return (color, dash, shapes[index % shapes.count], max(4 - 0.9 * Double(index % 4), 1.2))
    }

    /// The chart as an `<svg>` element.
    func render() -> String {
        let finite = series.map { $0.points.filter(drawable) }
        let allPoints = finite.flatMap { $0 }

        // y: from zero, up to a 1-2-5 step above the largest value; or decades on a log axis.
        let rangeValues = series.flatMap { $0.ranges.flatMap { [$0.low, $0.high] } }.filter { drawable(Point(x: 0, y: $0)) }
        let ys = allPoints.map(\.y) + rangeValues
        let yScale: NiceScale
        let yLabels: [String]
        let logY: Bool
        switch yAxis {
        case .linear:
            yScale = NiceScale(lower: min(0, ys.min() ?? 0), upper: max(0, ys.max() ?? 0), target: 5, extend: true)
            yLabels = yScale.ticks.map { HTMLText.decimal($0, digits: yScale.decimals) }
            logY = false
        case .log(let label):
            yScale = NiceScale.logarithmic(lower: ys.min() ?? 1, upper: ys.max() ?? 1)
            yLabels = yScale.ticks.map(label)
            logY = true
        }

        // x: the data's range, or the fixed domain.
        let xLower: Double, xUpper: Double, xTicks: [Tick]
        switch xAxis {
        case .linear(let unit, let fromZero):
            let xs = allPoints.map(\.x)
            let scale = NiceScale(lower: fromZero ? min(0, xs.min() ?? 0) : (xs.min() ?? 0), upper: xs.max() ?? 0, target: 6, extend: false)
            (xLower, xUpper) = (scale.lower, scale.upper)
            xTicks = scale.ticks.map { Tick(value: $0, label: HTMLText.decimal($0, digits: scale.decimals) + (unit.isEmpty ? "" : " " + unit)) }
        case .fixed(let lower, let upper, let ticks):
            (xLower, xUpper) = upper > lower ? (lower, upper) : (lower, lower + 1)
            xTicks = ticks.filter { $0.value.isFinite && $0.value >= xLower && $0.value <= xUpper }
        }

        // Layout: room for the widest y label on the left, the last x label on the right, the legend on top.
        let tickFont = 11.0
        let legendFont = 12.0
        let widestY = yLabels.map { Self.textWidth($0, fontSize: tickFont) }.max() ?? 0
        let left = (26 + widestY + 8).rounded(.up)
        let lastXLabel = xTicks.last.map { Self.textWidth($0.label, fontSize: tickFont) / 2 } ?? 0
        let right = max(16, (lastXLabel + 6).rounded(.up))
        let plotWidth = width - left - right

        let showLegend = series.count > 1
        var legendRows: [[(series: Series, x: Double)]] = []
        if showLegend {
            var row: [(series: Series, x: Double)] = []
            var cursor = 0.0
            for item in series {
                let itemWidth = 24 + Self.textWidth(Self.legendName(item.name), fontSize: legendFont) + 18
                if cursor > 0 && cursor + itemWidth > width - 2 * Self.edge {
                    legendRows.append(row)
                    row = []
                    cursor = 0
                }
                row.append((item, cursor))
                cursor += itemWidth
            }
            if !row.isEmpty { legendRows.append(row) }
        }
        let legendHeight = Double(legendRows.count) * 18
        let top = 34 + legendHeight + (showLegend ? 6 : 0)
        let bottom = 44.0
        let totalHeight = max(height, top + 150 + bottom)
        let plotHeight = totalHeight - top - bottom

        func px(_ x: Double) -> Double {
            let fraction = (x - xLower) / (xUpper - xLower)
            return left + min(max(fraction, 0), 1) * plotWidth
        }
        func py(_ y: Double) -> Double {
            let fraction = logY
                ? (log10(Swift.max(y, yScale.lower)) - log10(yScale.lower)) / (log10(yScale.upper) - log10(yScale.lower))
                : (y - yScale.lower) / (yScale.upper - yScale.lower)
            return top + plotHeight - min(max(fraction, 0), 1) * plotHeight
        }

        let titleID = "\(id)-title"
        let descID = "\(id)-desc"
        var svg = "<svg class=\"chart\" id=\"\(HTMLText.escape(id))\" viewBox=\"0 0 \(n(width)) \(n(totalHeight))\" width=\"\(n(width))\" height=\"\(n(totalHeight))\""
        svg += " role=\"img\" aria-labelledby=\"\(HTMLText.escape(titleID)) \(HTMLText.escape(descID))\" font-family=\"\(Self.fontFamily)\">\n"
        svg += "<title id=\"\(HTMLText.escape(titleID))\">\(HTMLText.escape(title))</title>\n"
        let described = series.map { "\($0.name) (\($0.points.count) points)" }.joined(separator: ", ")
        svg += "<desc id=\"\(HTMLText.escape(descID))\">\(HTMLText.escape("\(yTitle) against \(xTitle)" + (described.isEmpty ? "" : ": " + described)))</desc>\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(totalHeight))\" fill=\"#ffffff\"/>\n"
        svg += "<text x=\"\(n(Self.edge))\" y=\"20\" font-size=\"14\" font-weight=\"600\" fill=\"#111827\">\(HTMLText.escape(title))</text>\n"

        // Gridlines and tick labels.
        svg += "<g class=\"grid\" stroke=\"\(Self.gridColor)\" stroke-width=\"1\">\n"
        for value in yScale.ticks { svg += "<line x1=\"\(n(left))\" y1=\"\(n(py(value)))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(py(value)))\"/>\n" }
        for tick in xTicks { svg += "<line x1=\"\(n(px(tick.value)))\" y1=\"\(n(top))\" x2=\"\(n(px(tick.value)))\" y2=\"\(n(top + plotHeight))\"/>\n" }
        svg += "</g>\n"
        svg += "<g class=\"axes\" stroke=\"\(Self.axisColor)\" stroke-width=\"1\">\n"
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(top + plotHeight))\"/>\n"
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(top + plotHeight))\"/>\n"
        svg += "</g>\n"
        svg += "<g class=\"y-ticks\" font-size=\"\(n(tickFont))\" fill=\"\(Self.textColor)\" text-anchor=\"end\">\n"
        for (value, label) in zip(yScale.ticks, yLabels) {
            svg += "<text x=\"\(n(left - 8))\" y=\"\(n(py(value) + 4))\">\(HTMLText.escape(label))</text>\n"
        }
        svg += "</g>\n"
        svg += "<g class=\"x-ticks\" font-size=\"\(n(tickFont))\" fill=\"\(Self.textColor)\" text-anchor=\"middle\">\n"
        for tick in xTicks {
            svg += "<line x1=\"\(n(px(tick.value)))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(px(tick.value)))\" y2=\"\(n(top + plotHeight + 4))\" stroke=\"\(Self.axisColor)\"/>\n"
            svg += "<text x=\"\(n(px(tick.value)))\" y=\"\(n(top + plotHeight + 17))\">\(HTMLText.escape(tick.label))</text>\n"
        }
        svg += "</g>\n"
        let middleY = top + plotHeight / 2
        svg += "<text x=\"\(n(Self.edge))\" y=\"\(n(middleY))\" transform=\"rotate(-90 \(n(Self.edge)) \(n(middleY)))\" font-size=\"12\" fill=\"\(Self.textColor)\" text-anchor=\"middle\">\(HTMLText.escape(yTitle))</text>\n"
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(totalHeight - 8))\" font-size=\"12\" fill=\"\(Self.textColor)\" text-anchor=\"middle\">\(HTMLText.escape(xTitle))</text>\n"

        // The series, each broken into runs of finite points.
        for item in series {
            let points = item.points
            var segments: [[Point]] = [[]]
            for point in points {
                if drawable(point) {
                    segments[segments.count - 1].append(point)
                } else if !(segments.last?.isEmpty ?? true) {
                    segments.append([])
                }
            }
            let dash = item.dash.map { " stroke-dasharray=\"\(HTMLText.escape($0))\"" } ?? ""
            let attributes = item.marker == .dot ? "" : " data-series=\"\(HTMLText.escape(item.name))\" data-marker=\"\(item.marker.name)\""
            svg += "<g class=\"series\"\(attributes) stroke=\"\(HTMLText.escape(item.color))\" fill=\"\(HTMLText.escape(item.color))\">\n"
            svg += "<title>\(HTMLText.escape(item.name))</title>\n"
            let bars = item.ranges.filter { $0.x.isFinite && drawable(Point(x: $0.x, y: $0.high)) && $0.low.isFinite && $0.high > $0.low }
            if !bars.isEmpty {
                svg += "<g class=\"ranges\" stroke-width=\"1.5\" fill=\"none\">\n"
                for bar in bars {
                    let (x, y1, y2) = (px(bar.x), py(logY ? Swift.max(bar.low, yScale.lower) : bar.low), py(bar.high))
                    svg += "<path d=\"M\(n(x)) \(n(y1))V\(n(y2))M\(n(x - 5)) \(n(y1))H\(n(x + 5))M\(n(x - 5)) \(n(y2))H\(n(x + 5))\"/>\n"
                }
                svg += "</g>\n"
            }
            for segment in segments where segment.count > 1 {
                let coordinates = segment.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(coordinates)\" fill=\"none\" stroke-width=\"\(n(item.lineWidth))\" stroke-linejoin=\"round\" stroke-linecap=\"round\"\(dash)/>\n"
            }
            let markers = self.markers ?? (points.count <= 40)
            for segment in segments {
                for point in segment where markers || segment.count == 1 {
                    svg += marker(item.marker, x: px(point.x), y: py(point.y), single: segment.count == 1)
                }
            }
            svg += "</g>\n"
        }

        if allPoints.isEmpty {
            svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(middleY + 5))\" font-size=\"14\" fill=\"\(Self.mutedColor)\" text-anchor=\"middle\">\(HTMLText.escape(emptyMessage))</text>\n"
        }

        if showLegend {
            svg += "<g class=\"legend\" font-size=\"\(n(legendFont))\" fill=\"\(Self.textColor)\">\n"
            for (rowIndex, row) in legendRows.enumerated() {
                let y = 34 + Double(rowIndex) * 18 + 4
                for (item, offset) in row {
                    let x = Self.edge + offset
                    let dash = item.dash.map { " stroke-dasharray=\"\(HTMLText.escape($0))\"" } ?? ""
                    svg += "<line x1=\"\(n(x))\" y1=\"\(n(y))\" x2=\"\(n(x + 20))\" y2=\"\(n(y))\" stroke=\"\(HTMLText.escape(item.color))\" stroke-width=\"\(n(max(item.lineWidth, 2.5)))\"\(dash)/>\n"
                    if item.marker != .dot {
                        svg += "<g stroke=\"\(HTMLText.escape(item.color))\">" + marker(item.marker, x: x + 10, y: y, single: false) + "</g>\n"
                    }
                    svg += "<text x=\"\(n(x + 26))\" y=\"\(n(y + 4))\">\(HTMLText.escape(Self.legendName(item.name)))</text>\n"
                }
            }
            svg += "</g>\n"
        }
        svg += "</svg>"
        return svg
    }

    /// One point's marker at (`x`, `y`) in pixels; hollow shapes are white inside.
    private func marker(_ shape: Marker, x: Double, y: Double, single: Bool) -> String {
        let hollow = " fill=\"#ffffff\" stroke-width=\"1.8\""
        switch shape {
        case .dot:
            return "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(single ? 3.5 : 2.5))\" stroke=\"none\"/>\n"
        case .circle(let radius):
            return "<circle class=\"marker\" cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(radius))\"\(hollow)/>\n"
        case .square(let half):
            return "<rect class=\"marker\" x=\"\(n(x - half))\" y=\"\(n(y - half))\" width=\"\(n(2 * half))\" height=\"\(n(2 * half))\"\(hollow)/>\n"
        case .triangle(let half):
            return "<path class=\"marker\" d=\"M\(n(x)) \(n(y - half))L\(n(x + half)) \(n(y + half * 0.8))L\(n(x - half)) \(n(y + half * 0.8))Z\"\(hollow)/>\n"
        case .diamond(let half):
            return "<path class=\"marker\" d=\"M\(n(x)) \(n(y - half))L\(n(x + half)) \(n(y))L\(n(x)) \(n(y + half))L\(n(x - half)) \(n(y))Z\"\(hollow)/>\n"
        }
    }

    /// A coordinate for an attribute: one decimal, never `nan` or `inf`.
    private func n(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let text = Format.fixed(value, digits: 1)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// Legend names longer than 32 characters are cut with an ellipsis.
    static func legendName(_ name: String) -> String {
        name.count > 32 ? String(name.prefix(31)) + "…" : name
    }

    /// An estimate of rendered width: SVG text cannot be measured without a browser.
    static func textWidth(_ text: String, fontSize: Double) -> Double {
        var width = 0.0
        for character in text {
            switch character {
            case "i", "l", "j", "t", "f", "r", ".", ",", ":", ";", "'", "|", "!", " ", "\u{202F}": width += 0.32
            case "m", "w", "M", "W", "%": width += 0.88
            case "A"..."Z": width += 0.68
            default: width += 0.58
            }
        }
        return width * fontSize
    }
}

/// Axis bounds and ticks in steps of 1, 2 or 5 × 10ⁿ.
struct NiceScale: Equatable {
    var lower: Double
    var upper: Double
    var step: Double
    var ticks: [Double]

    /// Decimals that tell the ticks apart: 0 for steps ≥ 1, 1 for 0.5, 2 for 0.05…
    var decimals: Int {
        guard step < 1, step > 0 else { return 0 }
        return max(0, Int((-log10(step) - 1e-9).rounded(.up)))
    }

    /// About `target` intervals covering `lower...upper`. With `extend` the
    /// bounds move out to whole steps; otherwise they stay and only ticks
    /// inside are listed. Equal bounds are widened (to 0…1 around zero).
    init(lower rawLower: Double, upper rawUpper: Double, target: Int, extend: Bool) {
        var lower = rawLower.isFinite ? rawLower : 0
        var upper = rawUpper.isFinite ? rawUpper : 0
        if lower > upper { swap(&lower, &upper) }
        if upper == lower {
            if lower == 0 {
                upper = 1
            } else if lower > 0 {
                // A single positive value: from zero when it is the only thing to show.
                (lower, upper) = (extend ? 0 : lower * 0.5, extend ? lower : lower * 1.5)
            } else {
                (lower, upper) = (lower * 1.5, extend ? 0 : lower * 0.5)
            }
        }
        var step = Self.step(span: upper - lower, target: max(target, 1))
        if !step.isFinite || step <= 0 || (upper - lower) / step > 1_000 {
            step = upper - lower
        }
        if extend {
            // The epsilon forgives rounding noise: 20.000000001 / 5 still ends at 20, not 25.
            let extendedLower = (lower / step + 1e-9).rounded(.down) * step
            let extendedUpper = (upper / step - 1e-9).rounded(.up) * step
            if extendedLower.isFinite && extendedUpper.isFinite && extendedUpper > extendedLower {
                lower = extendedLower
                upper = extendedUpper
            }
        }
        var ticks: [Double] = []
        let first = (lower / step - 1e-9).rounded(.up)
        let last = (upper / step + 1e-9).rounded(.down)
        if first.isFinite && last.isFinite && last >= first && last - first <= 1_000 {
            var index = first
            while index <= last {
                let value = index * step
                ticks.append(abs(value) < step * 1e-9 ? 0 : value)
                index += 1
            }
        }
        self.lower = lower
        self.upper = upper
        self.step = step
        self.ticks = ticks
    }

    /// The 1-2-5 step nearest to `span / target`.
    static func step(span: Double, target: Int) -> Double {
        let raw = span / Double(target)
        guard raw.isFinite, raw > 0 else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let residual = raw / magnitude
        let factor: Double = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10
        return factor * magnitude
    }
}

extension NiceScale {
    /// A log axis from the power of ten at or below `lower` to the one at or
    /// above `upper` (one decade at least), ticked at each power of ten, and
    /// at 2 and 5 times it when the axis spans at most two decades.
    /// `step` is 10, the ratio between major ticks.
    static func logarithmic(lower rawLower: Double, upper rawUpper: Double) -> NiceScale {
        let lowerValue = rawLower.isFinite && rawLower > 0 ? rawLower : 1
        let upperValue = rawUpper.isFinite && rawUpper > 0 ? max(rawUpper, lowerValue) : lowerValue
        // The epsilon forgives rounding: log10(1000) may be 2.9999999999999996.
        let low = (log10(lowerValue) + 1e-9).rounded(.down)
        var high = (log10(upperValue) - 1e-9).rounded(.up)
        if high <= low { high = low + 1 }
        var ticks: [Double] = []
        var exponent = low
        while exponent <= high {
            let decade = pow(10, exponent)
            ticks.append(decade)
            if high - low <= 2 && exponent < high { ticks += [2 * decade, 5 * decade] }
            exponent += 1
        }
        var scale = NiceScale(lower: 0, upper: 1, target: 1, extend: false)
        scale.lower = pow(10, low)
        scale.upper = pow(10, high)
        scale.step = 10
        scale.ticks = ticks
        return scale
    }
}

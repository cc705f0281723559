import Foundation

/// Line charts as users know them from matplotlib and TensorBoard: panels stacked vertically that
/// share the x axis, each with ticks and values on both axes, axis labels, a legend, the raw
/// values drawn light under a smoothed line (TensorBoard's debiased exponential moving average),
/// and vertical dashed markers (mode-collapse warnings).
public enum Chart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: Canvas.Color
        /// Draw a dot at each point (for sparse series such as evaluations).
        public var dots: Bool
        public init(name: String, points: [(x: Double, y: Double)], color: Canvas.Color, dots: Bool = false) {
            self.name = name; self.points = points.filter { $0.x.isFinite && $0.y.isFinite }; self.color = color; self.dots = dots
        }
    }

    public struct Panel {
        public var yLabel: String
        public var series: [Series]
        /// x positions of vertical markers, and their legend entry.
        public var markers: [Double]
        public var markerName: String
        /// Weight of TensorBoard's smoothing (0: none; raw values are drawn light under it).
        public var smoothing: Double
        public init(yLabel: String, series: [Series], markers: [Double] = [], markerName: String = "possible mode collapse",
                    smoothing: Double = 0.6) {
            self.yLabel = yLabel; self.series = series; self.markers = markers; self.markerName = markerName; self.smoothing = smoothing
        }
    }

    static let markerColor: Canvas.Color = (0.84, 0.15, 0.16)

    /// The panels as one RGB image, `width` wide and `panelHeight` per panel, with `xLabel` under the last.
    public static func render(_ panels: [Panel], xLabel: String, width: Int = 720, panelHeight: Int = 300) -> Image {
        precondition(!panels.isEmpty, "Chart.render: no panels")
        let (left, right, top, bottom) = (72.0, 20.0, 14.0, 44.0)
        let canvas = Canvas(width: width, height: panels.count * panelHeight)
        let xs = panels.flatMap { $0.series.flatMap { $0.points.map(\.x) } + $0.markers }
        let (x0, x1) = range(xs.min() ?? 0, xs.max() ?? 1)
        let xTicks = ticks(x0, x1)
        for (k, panel) in panels.enumerated() {
            let oy = Double(k * panelHeight)
            let plot = (x: left, y: oy + top, w: Double(width) - left - right, h: Double(panelHeight) - top - bottom)
            let ys = panel.series.flatMap { $0.points.map(\.y) }
            let (y0, y1) = range(ys.min() ?? 0, ys.max() ?? 1)
            func sx(_ x: Double) -> Double { plot.x + (x - x0) / (x1 - x0) * plot.w }
            func sy(_ y: Double) -> Double { plot.y + plot.h - (y - y0) / (y1 - y0) * plot.h }
            // Grid, ticks and their values.
            for t in ticks(y0, y1) {
                canvas.line([(plot.x, sy(t)), (plot.x + plot.w, sy(t))], color: (0.88, 0.88, 0.88))
                canvas.text(label(t, step: tickStep(y0, y1)), x: plot.x - 6, y: sy(t), size: 11, align: .right, color: (0.3, 0.3, 0.3))
            }
            for t in xTicks {
                canvas.line([(sx(t), plot.y), (sx(t), plot.y + plot.h)], color: (0.93, 0.93, 0.93))
                canvas.text(label(t, step: tickStep(x0, x1)), x: sx(t), y: plot.y + plot.h + 12, size: 11, align: .center, color: (0.3, 0.3, 0.3))
            }
            canvas.rectangle(x: plot.x, y: plot.y, width: plot.w, height: plot.h, stroke: (0.4, 0.4, 0.4))
            canvas.text(panel.yLabel, x: 16, y: plot.y + plot.h / 2, size: 12, align: .center, rotated: true)
            canvas.text(xLabel, x: plot.x + plot.w / 2, y: plot.y + plot.h + 30, size: 12, align: .center)
            for m in panel.markers { canvas.line([(sx(m), plot.y), (sx(m), plot.y + plot.h)], color: markerColor, width: 1.2, dash: 4) }
            for s in panel.series {
                let raw = s.points.map { (x: sx($0.x), y: sy($0.y)) }
                if panel.smoothing > 0 && s.points.count > 2 {
                    canvas.line(raw, color: s.color, width: 1, alpha: 0.3)
                    canvas.line(smoothed(s.points, weight: panel.smoothing).map { (x: sx($0.x), y: sy($0.y)) }, color: s.color, width: 2)
                } else {
                    canvas.line(raw, color: s.color, width: 2)
                }
                if s.dots { for p in raw { canvas.dot(x: p.x, y: p.y, radius: 3, color: s.color) } }
            }
            // Legend, top right inside the plot.
            var entries = panel.series.map { ($0.name, $0.color, false) }
            if !panel.markers.isEmpty { entries.append((panel.markerName, markerColor, true)) }
            let legendWidth = (entries.map { canvas.textWidth($0.0, size: 11) }.max() ?? 0) + 40
            let lx = plot.x + plot.w - legendWidth - 8, ly = plot.y + 8
            canvas.rectangle(x: lx, y: ly, width: legendWidth, height: Double(entries.count) * 18 + 6, fill: (1, 1, 1), stroke: (0.8, 0.8, 0.8))
            for (i, e) in entries.enumerated() {
                let y = ly + 12 + Double(i) * 18
                canvas.line([(lx + 8, y), (lx + 28, y)], color: e.1, width: 2, dash: e.2 ? 4 : nil)
                canvas.text(e.0, x: lx + 34, y: y, size: 11)
            }
        }
        return canvas.image()
    }

    /// TensorBoard's smoothing: an exponential moving average with the start-up bias removed.
    public static func smoothed(_ points: [(x: Double, y: Double)], weight: Double) -> [(x: Double, y: Double)] {
        var last = 0.0, debias = 1.0
        return points.map { p in
            last = last * weight + (1 - weight) * p.y
            debias *= weight
            return (p.x, last / (1 - debias))
        }
    }

    /// A range with some room, never empty.
    static func range(_ lo: Double, _ hi: Double) -> (Double, Double) {
        if hi - lo < 1e-12 { return (lo - 1, hi + 1) }
        let pad = (hi - lo) * 0.05
        return (lo - pad, hi + pad)
    }

    /// A round step (1, 2 or 5 × 10ᵏ) giving about five ticks over [lo, hi].
    static func tickStep(_ lo: Double, _ hi: Double) -> Double {
        let raw = (hi - lo) / 5, power = pow(10, (log10(raw)).rounded(.down)), f = raw / power
        return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power
    }

    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let step = tickStep(lo, hi)
        let first = Int((lo / step - 1e-9).rounded(.up)), last = Int((hi / step + 1e-9).rounded(.down))
        return first <= last ? (first...last).map { Double($0) * step } : []
    }

    static func label(_ v: Double, step: Double) -> String {
        if step >= 1 { return String(format: "%.0f", v) }
        let decimals = max(0, Int((-log10(step)).rounded(.up)))
        return String(format: "%.\(decimals)f", v)
    }
}

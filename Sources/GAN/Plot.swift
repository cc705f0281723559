import Imaging

/// A minimal line chart (no text): the loss curves of a run, one colour per series, with faint
/// horizontal grid lines at round values and optional vertical markers (e.g. mode-collapse alarms).
public enum Plot {
    public static func lines(_ series: [(values: [(x: Double, y: Double)], color: (UInt8, UInt8, UInt8))],
                             markers: [Double] = [], width: Int = 640, height: Int = 320) -> Image {
        var px = [UInt8](repeating: 255, count: width * height * 3)
        func put(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let p = (y * width + x) * 3
            px[p] = c.0; px[p + 1] = c.1; px[p + 2] = c.2
        }
        let all = series.flatMap(\.values).filter { $0.y.isFinite }
        let (margin, w, h) = (10, width - 20, height - 20)
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max() else {
            return Image(width: width, height: height, channels: 3, pixels: px)
        }
        let maxY = max(all.map(\.y).max() ?? 1, 1e-6), minY = min(all.map(\.y).min() ?? 0, 0)
        func sx(_ x: Double) -> Int { margin + Int((x - minX) / max(maxX - minX, 1e-9) * Double(w - 1)) }
        func sy(_ y: Double) -> Int { margin + h - 1 - Int((y - minY) / (maxY - minY) * Double(h - 1)) }
        // Grid lines at each whole unit of the loss (at most 10).
        let stepY = max(1, ((maxY - minY) / 10).rounded(.up))
        var gy = (minY / stepY).rounded(.up) * stepY
        while gy <= maxY { for x in margin..<(margin + w) where x % 4 == 0 { put(x, sy(gy), (220, 220, 220)) }; gy += stepY }
        for m in markers { for y in margin..<(margin + h) where y % 3 != 0 { put(sx(m), y, (220, 40, 40)) } }
        for x in margin..<(margin + w) { put(x, margin + h - 1, (0, 0, 0)) }
        for y in margin..<(margin + h) { put(margin, y, (0, 0, 0)) }
        for s in series {
            let pts = s.values.filter { $0.y.isFinite }.map { (sx($0.x), sy($0.y)) }
            for (a, b) in zip(pts, pts.dropFirst()) { line(a, b) { put($0, $1, s.color) } }
            if pts.count == 1 { put(pts[0].0, pts[0].1, s.color) }
        }
        return Image(width: width, height: height, channels: 3, pixels: px)
    }

    /// Bresenham's line from a to b.
    static func line(_ a: (Int, Int), _ b: (Int, Int), _ plot: (Int, Int) -> Void) {
        var (x, y) = a
        let dx = abs(b.0 - x), dy = -abs(b.1 - y), sx = x < b.0 ? 1 : -1, sy = y < b.1 ? 1 : -1
        var err = dx + dy
        while true {
            plot(x, y)
            if x == b.0 && y == b.1 { return }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }
}

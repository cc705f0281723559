/// Text on images, set by Cairo with a sans-serif font (DejaVu Sans on Debian, through fontconfig).
public enum Text {
    /// The width in pixels of `text` set at `size` pixels (the canvas's font).
    public static func width(_ text: String, size: Double) -> Double {
        Canvas(width: 1, height: 1).textWidth(text, size: size)
    }
}

extension Image {
    /// This image with a column of labels at its left: `labels[i]` right-aligned and centred
    /// vertically on `rowCenters[i]` (pixel rows of this image), in light grey on `background`
    /// (a grey level), at `fontSize` pixels. The result keeps this image's channel count.
    public func labellingRows(_ labels: [String], rowCenters: [Int], fontSize: Double, background: UInt8 = 0) -> Image {
        precondition(labels.count == rowCenters.count, "Image.labellingRows: \(labels.count) labels for \(rowCenters.count) rows")
        precondition(fontSize > 0, "Image.labellingRows: font size \(fontSize)")
        let margin = Int((fontSize / 2).rounded(.up))
        let textWidth = Int((labels.map { Text.width($0, size: fontSize) }.max() ?? 0).rounded(.up))
        let column = textWidth + 2 * margin
        let grey = Double(background) / 255, ink = background < 128 ? 0.9 : 0.1
        let canvas = Canvas(width: column + width, height: height, background: (grey, grey, grey))
        for (label, center) in zip(labels, rowCenters) {
            canvas.text(label, x: Double(column - margin), y: Double(center), size: fontSize, align: .right, color: (ink, ink, ink))
        }
        canvas.place(self, x: column, y: 0)
        return canvas.image(channels: channels)
    }
}

extension Grid {
    /// A grid with one row per class, each row labelled with its class name at the left: `values`
    /// holds `labels.count` rows of `columns` images, in order (torchvision's layout otherwise, as
    /// `make`).
    public static func labelledRows(_ values: [Float], labels: [String], columns: Int, channels: Int, height: Int, width: Int,
                                    padding: Int = 2, scale: Int = 1) -> Image {
        let grid = make(values, count: labels.count * columns, channels: channels, height: height, width: width,
                        columns: columns, padding: padding, scale: scale)
        let cell = (height + padding) * scale
        let centers = labels.indices.map { padding * scale + $0 * cell + height * scale / 2 }
        return grid.labellingRows(labels, rowCenters: centers, fontSize: max(9, min(16, Double(height * scale) * 0.3)))
    }
}

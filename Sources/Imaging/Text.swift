import CCairo

/// Text on images, set by Cairo with a sans-serif font (DejaVu Sans on Debian, through fontconfig).
public enum Text {
    /// The width in pixels of `text` set at `size` pixels.
    public static func width(_ text: String, size: Double) -> Double {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1)
        defer { cairo_surface_destroy(surface) }
        let cr = cairo_create(surface)
        defer { cairo_destroy(cr) }
        select(cr, size: size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return extents.x_advance
    }

    static func select(_ cr: OpaquePointer?, size: Double) {
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
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

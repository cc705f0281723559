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
        let w = column + width, h = height
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(w), Int32(h))
        defer { cairo_surface_destroy(surface) }
        let cr = cairo_create(surface)
        let grey = Double(background) / 255
        cairo_set_source_rgb(cr, grey, grey, grey)
        cairo_paint(cr)
        let ink = background < 128 ? 0.9 : 0.1
        cairo_set_source_rgb(cr, ink, ink, ink)
        Text.select(cr, size: fontSize)
        var font = cairo_font_extents_t()
        cairo_font_extents(cr, &font)
        for (label, center) in zip(labels, rowCenters) {
            var extents = cairo_text_extents_t()
            cairo_text_extents(cr, label, &extents)
            // Right-aligned against the image, the baseline placed so the font's ascent and descent centre on the row.
            cairo_move_to(cr, Double(column - margin) - extents.x_advance, Double(center) + (font.ascent - font.descent) / 2)
            cairo_show_text(cr, label)
        }
        cairo_destroy(cr)
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        var out = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0..<h {
            // RGB24: one native-endian 32-bit word per pixel, 0x00RRGGBB.
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<column {
                let p = row[x]
                let (r, g, b) = (UInt8(p >> 16 & 0xff), UInt8(p >> 8 & 0xff), UInt8(p & 0xff))
                if channels == 1 {
                    let luma: UInt32 = UInt32(r) * 299 + UInt32(g) * 587 + UInt32(b) * 114
                    out[y * w + x] = UInt8(luma / 1000)
                } else {
                    out[(y * w + x) * 3] = r; out[(y * w + x) * 3 + 1] = g; out[(y * w + x) * 3 + 2] = b
                }
            }
            for x in 0..<width {
                for c in 0..<channels { out[(y * w + column + x) * channels + c] = pixels[(y * width + x) * channels + c] }
            }
        }
        return Image(width: w, height: h, channels: channels, pixels: out)
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

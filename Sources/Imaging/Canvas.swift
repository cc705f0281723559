import CCairo
import Foundation

/// A drawing surface on Cairo: text in a sans-serif font, lines, rectangles, and images placed at
/// their own pixels; the result comes back as an `Image`. Figures (labelled grids, the loss chart,
/// the real-vs-generated comparison) are drawn on it.
public final class Canvas {
    public typealias Color = (r: Double, g: Double, b: Double)
    public let width: Int, height: Int
    let surface: OpaquePointer
    let cr: OpaquePointer
    /// Images placed with `place`, copied in when the canvas is read.
    var placed: [(image: Image, x: Int, y: Int)] = []

    public init(width: Int, height: Int, background: Color = (1, 1, 1)) {
        precondition(width > 0 && height > 0, "Canvas: size \(width)×\(height)")
        self.width = width; self.height = height
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        cr = cairo_create(surface)
        cairo_set_source_rgb(cr, background.r, background.g, background.b)
        cairo_paint(cr)
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    public enum Alignment { case left, center, right }

    /// The width `text` takes at `size` pixels.
    public func textWidth(_ text: String, size: Double) -> Double {
        cairo_set_font_size(cr, size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return extents.x_advance
    }

    /// `text` at `size` pixels, aligned on `x` and centred vertically on `y`; `rotated` turns it a
    /// quarter left (a y-axis label).
    public func text(_ text: String, x: Double, y: Double, size: Double, align: Alignment = .left,
                     color: Color = (0.1, 0.1, 0.1), rotated: Bool = false) {
        cairo_save(cr)
        cairo_set_font_size(cr, size)
        cairo_set_source_rgb(cr, color.r, color.g, color.b)
        var extents = cairo_text_extents_t(), font = cairo_font_extents_t()
        cairo_text_extents(cr, text, &extents)
        cairo_font_extents(cr, &font)
        cairo_translate(cr, x, y)
        if rotated { cairo_rotate(cr, -Double.pi / 2) }
        let dx: Double = align == .left ? 0 : align == .center ? -extents.x_advance / 2 : -extents.x_advance
        cairo_move_to(cr, dx, (font.ascent - font.descent) / 2)
        cairo_show_text(cr, text)
        cairo_restore(cr)
    }

    /// A polyline through `points`, `width` pixels wide; `dash` for a dashed line.
    public func line(_ points: [(x: Double, y: Double)], color: Color, width: Double = 1, alpha: Double = 1, dash: Double? = nil) {
        guard points.count >= 2 else { return }
        cairo_save(cr)
        cairo_set_source_rgba(cr, color.r, color.g, color.b, alpha)
        cairo_set_line_width(cr, width)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        if let dash { var d = [dash, dash]; cairo_set_dash(cr, &d, 2, 0) }
        cairo_move_to(cr, points[0].x, points[0].y)
        for p in points.dropFirst() { cairo_line_to(cr, p.x, p.y) }
        cairo_stroke(cr)
        cairo_restore(cr)
    }

    public func rectangle(x: Double, y: Double, width: Double, height: Double, fill: Color? = nil, stroke: Color? = nil) {
        cairo_rectangle(cr, x, y, width, height)
        if let fill { cairo_set_source_rgb(cr, fill.r, fill.g, fill.b); cairo_fill_preserve(cr) }
        if let stroke { cairo_set_source_rgb(cr, stroke.r, stroke.g, stroke.b); cairo_set_line_width(cr, 1); cairo_stroke_preserve(cr) }
        cairo_new_path(cr)
    }

    /// A filled circle.
    public func dot(x: Double, y: Double, radius: Double, color: Color) {
        cairo_set_source_rgb(cr, color.r, color.g, color.b)
        cairo_arc(cr, x, y, radius, 0, 2 * Double.pi)
        cairo_fill(cr)
    }

    /// Puts `image` with its top-left corner at (x, y), pixel for pixel (gray images as gray).
    public func place(_ image: Image, x: Int, y: Int) { placed.append((image, x, y)) }

    /// The canvas as an image of `channels` (1: the luma of the drawing, for gray figures; 3: RGB).
    public func image(channels: Int = 3) -> Image {
        precondition(channels == 1 || channels == 3, "Canvas.image: \(channels) channels")
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        var out = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            // RGB24: one native-endian 32-bit word per pixel, 0x00RRGGBB.
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let p = row[x]
                let r = UInt32(p >> 16 & 0xff), g = UInt32(p >> 8 & 0xff), b = UInt32(p & 0xff)
                if channels == 1 {
                    out[y * width + x] = UInt8((r * 299 + g * 587 + b * 114) / 1000)
                } else {
                    out[(y * width + x) * 3] = UInt8(r); out[(y * width + x) * 3 + 1] = UInt8(g); out[(y * width + x) * 3 + 2] = UInt8(b)
                }
            }
        }
        for (image, x0, y0) in placed {
            let converted = image.converted(toChannels: channels)
            for y in 0..<image.height where y0 + y >= 0 && y0 + y < height {
                for x in 0..<image.width where x0 + x >= 0 && x0 + x < width {
                    for c in 0..<channels {
                        out[((y0 + y) * width + x0 + x) * channels + c] = converted.pixels[(y * image.width + x) * channels + c]
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }
}

public enum Figure {
    /// Two images side by side at their own scale, each under its title (the SVHN tutorial's
    /// real-versus-generated figure), on white.
    public static func sideBySide(_ left: Image, title leftTitle: String, _ right: Image, title rightTitle: String,
                                  fontSize: Double = 16) -> Image {
        let gap = 24, margin = 12, titleHeight = Int(fontSize * 2)
        let width = margin + left.width + gap + right.width + margin
        let height = titleHeight + max(left.height, right.height) + margin
        let canvas = Canvas(width: width, height: height)
        canvas.text(leftTitle, x: Double(margin + left.width / 2), y: Double(titleHeight) / 2, size: fontSize, align: .center)
        canvas.text(rightTitle, x: Double(margin + left.width + gap + right.width / 2), y: Double(titleHeight) / 2, size: fontSize, align: .center)
        canvas.place(left, x: margin, y: titleHeight)
        canvas.place(right, x: margin + left.width + gap, y: titleHeight)
        return canvas.image(channels: max(left.channels, right.channels) == 1 ? 1 : 3)
    }
}

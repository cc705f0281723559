/// Sample grids like torchvision's `make_grid` + `save_image`.
public enum Grid {
    /// Lays out `count` images (values in [-1, 1], NCHW, 1 or 3 channels) in rows of `columns`,
    /// separated and surrounded by `padding` pixels of `padValue`, mapped to 0–255 as
    /// torchvision does (`(x + 1) / 2`, clamped, `·255 + 0.5` truncated), then upscaled by `scale`.
    public static func make(_ values: [Float], count: Int, channels: Int, height: Int, width: Int,
                            columns: Int = 8, padding: Int = 2, padValue: UInt8 = 0, scale: Int = 1) -> Image {
        precondition(count > 0 && (channels == 1 || channels == 3) && height > 0 && width > 0,
                     "Grid.make: invalid batch \(count)×\(channels)×\(height)×\(width)")
        precondition(values.count == count * channels * height * width,
                     "Grid.make: \(values.count) values for \(count)×\(channels)×\(height)×\(width)")
        precondition(columns > 0 && padding >= 0 && scale >= 1, "Grid.make: columns, padding and scale must be positive")
        let cols = min(columns, count), rows = (count + cols - 1) / cols
        let gw = cols * (width + padding) + padding, gh = rows * (height + padding) + padding
        var pixels = [UInt8](repeating: padValue, count: gw * gh * channels)
        for n in 0..<count {
            let x0 = (n % cols) * (width + padding) + padding, y0 = (n / cols) * (height + padding) + padding
            for c in 0..<channels {
                for y in 0..<height {
                    for x in 0..<width {
                        let v = values[((n * channels + c) * height + y) * width + x]
                        pixels[((y0 + y) * gw + x0 + x) * channels + c] = Image.byte(fromSigned: v)
                    }
                }
            }
        }
        return Image(width: gw, height: gh, channels: channels, pixels: pixels).upscaled(by: scale)
    }
}

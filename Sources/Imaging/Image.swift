/// An 8-bit image: row-major, channels interleaved (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).
public struct Image: Equatable, Sendable {
    public let width: Int, height: Int, channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && (1...4).contains(channels),
                     "Image: invalid size \(width)×\(height)×\(channels)")
        precondition(pixels.count == width * height * channels,
                     "Image: \(pixels.count) bytes for \(width)×\(height)×\(channels)")
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    public subscript(x: Int, y: Int, c: Int) -> UInt8 { pixels[(y * width + x) * channels + c] }

    /// A value in [-1, 1] as a byte, the way torchvision saves images: `(v + 1) / 2`, clamped,
    /// `·255 + 0.5` truncated. Total: values beyond ±1 (±infinity too) clamp to 0 and 255, and NaN
    /// is 0, so no value can trap.
    @inline(__always) public static func byte(fromSigned v: Float) -> UInt8 {
        let t = (v + 1) / 2
        // `t > 0` is false for NaN: NaN goes to 0 with the negatives.
        return t >= 1 ? 255 : t > 0 ? UInt8(t * 255 + 0.5) : 0
    }

    /// The images of an NCHW batch of values in [-1, 1].
    public static func batch(fromSigned values: [Float], count: Int, channels: Int, height: Int, width: Int) -> [Image] {
        precondition(values.count == count * channels * height * width,
                     "Image.batch: \(values.count) values for \(count)×\(channels)×\(height)×\(width)")
        return (0..<count).map { i in
            var px = [UInt8](repeating: 0, count: height * width * channels)
            for ch in 0..<channels { for y in 0..<height { for x in 0..<width {
                px[(y * width + x) * channels + ch] = byte(fromSigned: values[((i * channels + ch) * height + y) * width + x])
            } } }
            return Image(width: width, height: height, channels: channels, pixels: px)
        }
    }

    /// The largest centred square.
    public func centerCroppedSquare() -> Image {
        let side = min(width, height)
        if side == width && side == height { return self }
        let x0 = (width - side) / 2, y0 = (height - side) / 2
        var out = [UInt8](repeating: 0, count: side * side * channels)
        for y in 0..<side {
            let src = ((y0 + y) * width + x0) * channels
            out.withUnsafeMutableBufferPointer { o in
                pixels.withUnsafeBufferPointer { p in
                    (o.baseAddress! + y * side * channels).update(from: p.baseAddress! + src, count: side * channels)
                }
            }
        }
        return Image(width: side, height: side, channels: channels, pixels: out)
    }

    /// Resized to `newWidth`×`newHeight`: area averaging along an axis that shrinks (every source
    /// pixel weighted by how much of it the target pixel covers), linear interpolation with
    /// half-pixel centres along one that grows. Rounded once, at the end.
    public func resized(width newWidth: Int, height newHeight: Int) -> Image {
        precondition(newWidth > 0 && newHeight > 0, "Image.resized: invalid size \(newWidth)×\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        let wx = Self.weights(from: width, to: newWidth), wy = Self.weights(from: height, to: newHeight)
        // Horizontal pass into floats, then vertical (through buffer pointers: a folder's or the
        // emoji set's thousands of images pass here, in debug builds too).
        let (width, height, channels) = (self.width, self.height, self.channels)
        var mid = [Float](repeating: 0, count: newWidth * height * channels)
        mid.withUnsafeMutableBufferPointer { mid in
            pixels.withUnsafeBufferPointer { px in
                for y in 0..<height {
                    for (ox, taps) in wx.enumerated() {
                        for c in 0..<channels {
                            var acc: Float = 0
                            for (ix, w) in taps { acc += w * Float(px[(y * width + ix) * channels + c]) }
                            mid[(y * newWidth + ox) * channels + c] = acc
                        }
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * channels)
        out.withUnsafeMutableBufferPointer { out in
            mid.withUnsafeBufferPointer { mid in
                for (oy, taps) in wy.enumerated() {
                    for x in 0..<newWidth {
                        for c in 0..<channels {
                            var acc: Float = 0
                            for (iy, w) in taps { acc += w * mid[(iy * newWidth + x) * channels + c] }
                            out[(oy * newWidth + x) * channels + c] = UInt8(max(0, min(255, (acc + 0.5).rounded(.down))))
                        }
                    }
                }
            }
        }
        return Image(width: newWidth, height: newHeight, channels: channels, pixels: out)
    }

    /// For each output index, the source indices and weights (summing to 1).
    static func weights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { o in
            if m <= n {
                // Area: the output pixel covers [o·s, (o+1)·s) of the input.
                let lo = Double(o) * scale, hi = Double(o + 1) * scale
                var taps: [(Int, Float)] = []
                var i = Int(lo.rounded(.down))
                while Double(i) < hi && i < n {
                    let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                    if overlap > 1e-12 { taps.append((i, Float(overlap / scale))) }
                    i += 1
                }
                return taps
            }
            // Linear: sample at the output pixel's centre mapped into the input.
            let x = (Double(o) + 0.5) * scale - 0.5
            let i0 = Int(x.rounded(.down)), f = Float(x - Double(i0))
            let a = min(max(i0, 0), n - 1), b = min(max(i0 + 1, 0), n - 1)
            return a == b ? [(a, Float(1))] : [(a, 1 - f), (b, f)]
        }
    }

    /// The image without its alpha channel, composited over a uniform `background` grey level
    /// (255 white, 0 black): out = α·colour + (1 − α)·background, rounded. Gray+alpha becomes gray,
    /// RGBA becomes RGB; an image without alpha is returned as it is. Dropping alpha instead would
    /// show whatever colour a transparent pixel happens to hold (often black, or garbage).
    public func flattened(onto background: UInt8) -> Image {
        guard channels == 2 || channels == 4 else { return self }
        let colour = channels - 1, channels = self.channels
        let b = Int(background)
        var out = [UInt8](repeating: 0, count: width * height * colour)
        out.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { px in
                for i in 0..<(width * height) {
                    let p = i * channels, a = Int(px[p + colour])
                    for c in 0..<colour {
                        out[i * colour + c] = UInt8((Int(px[p + c]) * a + b * (255 - a) + 127) / 255)
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: colour, pixels: out)
    }

    /// The same image with 1 (gray) or 3 (RGB) channels. Gray from RGB uses ITU-R 601 luma
    /// (`L = (299·R + 587·G + 114·B) / 1000`, as Pillow); alpha is dropped.
    public func converted(toChannels target: Int) -> Image {
        precondition(target == 1 || target == 3, "Image.converted: target must be 1 or 3 channels, got \(target)")
        let color = channels >= 3
        if (target == 1 && channels == 1) || (target == 3 && channels == 3) { return self }
        var out = [UInt8](repeating: 0, count: width * height * target)
        for i in 0..<(width * height) {
            let p = i * channels
            if target == 1 {
                if color {
                    let l = (299 * Int(pixels[p]) + 587 * Int(pixels[p + 1]) + 114 * Int(pixels[p + 2]) + 500) / 1000
                    out[i] = UInt8(l)
                } else {
                    out[i] = pixels[p]
                }
            } else {
                for c in 0..<3 { out[i * 3 + c] = pixels[p + (color ? c : 0)] }
            }
        }
        return Image(width: width, height: height, channels: target, pixels: out)
    }

    /// Each pixel repeated `factor`×`factor` times (nearest neighbour), to make small tiles visible.
    public func upscaled(by factor: Int) -> Image {
        precondition(factor >= 1, "Image.upscaled: factor must be at least 1, got \(factor)")
        if factor == 1 { return self }
        let w = width * factor, h = height * factor
        var out = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0..<h {
            for x in 0..<w {
                let s = ((y / factor) * width + x / factor) * channels, d = (y * w + x) * channels
                for c in 0..<channels { out[d + c] = pixels[s + c] }
            }
        }
        return Image(width: w, height: h, channels: channels, pixels: out)
    }
}

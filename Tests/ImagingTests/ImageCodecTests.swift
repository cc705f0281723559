import Foundation
import Testing
import TestSupport
@testable import Imaging

/// Pillow's pixels of a file, as a flat list in row-major interleaved order, after `convert(mode)`.
func pillowPixels(_ path: String, mode: String) throws -> (width: Int, height: Int, pixels: [UInt8]) {
    let out = try python("""
    import sys, json
    from PIL import Image
    im = Image.open(sys.argv[1]).convert(sys.argv[2])
    print(json.dumps({'w': im.width, 'h': im.height, 'p': list(im.tobytes())}))
    """, [path, mode])
    let o = try json(out) as! [String: Any]
    return (o["w"] as! Int, o["h"] as! Int, (o["p"] as! [Int]).map { UInt8($0) })
}

@Suite(.serialized) struct PNGTests {
    @Test(arguments: [1, 3])
    func ourPNGsReadIdenticallyInPillow(_ channels: Int) throws {
        let dir = scratch("png-\(channels)")
        let pixels = (0..<(17 * 9 * channels)).map { UInt8(($0 * 37 + 11) % 256) }
        let image = Image(width: 17, height: 9, channels: channels, pixels: pixels)
        try ImageCodec.writePNG(image, to: dir + "/a.png")
        let pil = try pillowPixels(dir + "/a.png", mode: channels == 1 ? "L" : "RGB")
        #expect(pil.width == 17 && pil.height == 9 && pil.pixels == pixels)
        #expect(try ImageCodec.read(dir + "/a.png") == image)
    }

    /// Pillow writes every PNG colour type; we decode each as Pillow does.
    @Test func readsEveryColorTypePillowWrites() throws {
        let dir = scratch("png-types")
        try python("""
        import sys, numpy as np
        from PIL import Image
        d = sys.argv[1]
        rng = np.random.default_rng(1)
        rgb = rng.integers(0, 256, (13, 21, 3), dtype=np.uint8)
        Image.fromarray(rgb[:, :, 0]).save(d + '/gray.png')
        Image.fromarray(rgb).save(d + '/rgb.png')
        Image.fromarray(np.dstack([rgb, rgb[:, :, :1]])).save(d + '/rgba.png')
        Image.fromarray(np.dstack([rgb[:, :, 0], rgb[:, :, 1]])).save(d + '/la.png')
        Image.fromarray(rgb).quantize(16).save(d + '/palette.png')
        Image.fromarray(rgb).save(d + '/interlaced.png', interlace=1)
        Image.fromarray(rgb[:, :, 0] > 127).save(d + '/bilevel.png')
        wide = (rgb[:, :, 0].astype(np.uint16) * 257 + rng.integers(0, 257, (13, 21))).astype(np.uint16)
        Image.fromarray(wide).save(d + '/gray16.png')
        np.save(d + '/gray16.npy', wide)
        """, [dir])
        for (file, channels, mode) in [("gray", 1, "L"), ("rgb", 3, "RGB"), ("rgba", 4, "RGBA"), ("la", 2, "LA"),
                                       ("palette", 3, "RGB"), ("interlaced", 3, "RGB"), ("bilevel", 1, "L")] {
            let ours = try ImageCodec.read("\(dir)/\(file).png")
            let pil = try pillowPixels("\(dir)/\(file).png", mode: mode)
            #expect(ours.channels == channels && ours.width == 21 && ours.height == 13, "\(file)")
            #expect(ours.pixels == pil.pixels, "\(file)")
        }
        // 16-bit: scaled to 8 bits with rounding, v·255/65535.
        let wide = try python("import sys, numpy as np, json\nprint(json.dumps(np.load(sys.argv[1]).reshape(-1).tolist()))", [dir + "/gray16.npy"])
        let expected = (try json(wide) as! [Int]).map { UInt8((Double($0) * 255 / 65535).rounded()) }
        let ours = try ImageCodec.read(dir + "/gray16.png")
        #expect(ours.channels == 1)
        #expect(zip(ours.pixels, expected).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
    }

    @Test func corruptAndNonImageFilesGiveErrors() throws {
        let dir = scratch("png-bad")
        try ImageCodec.writePNG(Image(width: 40, height: 40, channels: 3, pixels: (0..<4800).map { UInt8($0 % 251) }), to: dir + "/good.png")
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/good.png")))
        write(Array(good.prefix(good.count / 2)), dir + "/truncated.png")
        write(Array(good.prefix(40)) + [UInt8](repeating: 0x5A, count: 300), dir + "/garbage.png")
        write([], dir + "/empty.png")
        write(Array("hello, not an image".utf8), dir + "/text.png")
        #expect { try ImageCodec.read(dir + "/truncated.png") } throws: { "\($0)".hasPrefix(dir + "/truncated.png: corrupt image:") }
        #expect { try ImageCodec.read(dir + "/garbage.png") } throws: { "\($0)".hasPrefix(dir + "/garbage.png: corrupt image:") }
        #expect(throws: ImagingError.emptyFile(file: dir + "/empty.png")) { try ImageCodec.read(dir + "/empty.png") }
        #expect(throws: ImagingError.unsupportedFormat(file: dir + "/text.png")) { try ImageCodec.read(dir + "/text.png") }
        #expect { try ImageCodec.read(dir + "/missing.png") } throws: { "\($0)".hasPrefix(dir + "/missing.png: cannot read") }
        #expect { try ImageCodec.writePNG(Image(width: 1, height: 1, channels: 1, pixels: [0]), to: dir + "/no/such/dir/x.png") } throws: {
            "\($0)".hasPrefix(dir + "/no/such/dir/x.png: cannot write")
        }
    }
}

@Suite(.serialized) struct JPEGTests {
    @Test func decodesBaselineProgressiveAndGrayLikePillow() throws {
        let dir = scratch("jpeg")
        try python("""
        import sys, numpy as np
        from PIL import Image
        d = sys.argv[1]
        y, x = np.mgrid[0:48, 0:64]
        rgb = np.dstack([(x * 4) % 256, (y * 5) % 256, ((x + y) * 3) % 256]).astype(np.uint8)
        Image.fromarray(rgb).save(d + '/baseline.jpg', quality=90)
        Image.fromarray(rgb).save(d + '/progressive.jpg', quality=90, progressive=True)
        Image.fromarray(rgb[:, :, 1]).save(d + '/gray.jpg', quality=90)
        Image.fromarray(rgb).convert('CMYK').save(d + '/cmyk.jpg')
        """, [dir])
        for (file, channels, mode) in [("baseline", 3, "RGB"), ("progressive", 3, "RGB"), ("gray", 1, "L")] {
            let ours = try ImageCodec.read("\(dir)/\(file).jpg")
            let pil = try pillowPixels("\(dir)/\(file).jpg", mode: mode)
            #expect(ours.channels == channels && ours.width == 64 && ours.height == 48, "\(file)")
            let diffs = zip(ours.pixels, pil.pixels).map { abs(Int($0) - Int($1)) }
            let mean = Double(diffs.reduce(0, +)) / Double(diffs.count)
            #expect(diffs.max()! <= 3 && mean < 0.5, "\(file): max \(diffs.max()!) mean \(mean)")
        }
        #expect(throws: ImagingError.corrupt(file: dir + "/cmyk.jpg", reason: "CMYK JPEG is not supported (convert it to RGB)")) {
            try ImageCodec.read(dir + "/cmyk.jpg")
        }
        // DCT-scaled decoding keeps the shorter side at least the requested size.
        let small = try ImageCodec.read(dir + "/baseline.jpg", minSide: 12)
        #expect(small.width == 16 && small.height == 12)
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/baseline.jpg")))
        write(Array(whole.prefix(300)), dir + "/truncated.jpg")
        #expect { try ImageCodec.read(dir + "/truncated.jpg") } throws: { "\($0)".hasPrefix(dir + "/truncated.jpg: corrupt image") }
    }
}

@Suite(.serialized) struct ResizeTests {
    /// Integer factors: area averaging is Pillow's BOX filter.
    @Test func integerShrinkMatchesPillowBox() throws {
        let dir = scratch("resize")
        let pixels = (0..<(64 * 48 * 3)).map { i -> UInt8 in
            let p = i / 3, x = p % 64, y = p / 64
            return UInt8(((x / 3 + y / 5) % 2) * 200 + (i % 3) * 20 + x % 7)
        }
        let image = Image(width: 64, height: 48, channels: 3, pixels: pixels)
        try ImageCodec.writePNG(image, to: dir + "/p.png")
        let out = try python("""
        import sys, json
        from PIL import Image
        im = Image.open(sys.argv[1]).resize((16, 12), Image.BOX)
        print(json.dumps(list(im.tobytes())))
        """, [dir + "/p.png"])
        let pil = (try json(out) as! [Int]).map { UInt8($0) }
        let ours = image.resized(width: 16, height: 12)
        #expect(zip(ours.pixels, pil).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
    }

    /// Fractional factors: each output pixel is the exact area integral of the input (checked by
    /// summing over a 100×-finer grid of the source).
    @Test func fractionalShrinkIsTheAreaIntegral() {
        let w = 10, h = 7, nw = 4, nh = 3
        let pixels = (0..<(w * h)).map { UInt8(($0 * 53) % 256) }
        let image = Image(width: w, height: h, channels: 1, pixels: pixels)
        let ours = image.resized(width: nw, height: nh)
        let fine = 100
        for oy in 0..<nh { for ox in 0..<nw {
            var sum = 0.0, n = 0.0
            for sy in 0..<(fine * h / nh) { for sx in 0..<(fine * w / nw) {
                let fx = (Double(ox) * Double(w) / Double(nw)) + (Double(sx) + 0.5) / Double(fine)
                let fy = (Double(oy) * Double(h) / Double(nh)) + (Double(sy) + 0.5) / Double(fine)
                sum += Double(pixels[Int(fy) * w + Int(fx)]); n += 1
            } }
            #expect(abs(Double(ours[ox, oy, 0]) - sum / n) <= 1.0, "(\(ox), \(oy))")
        } }
    }

    @Test func cropAndChannelConversion() {
        let image = Image(width: 6, height: 4, channels: 3, pixels: (0..<72).map { UInt8($0) })
        let square = image.centerCroppedSquare()
        #expect(square.width == 4 && square.height == 4 && square[0, 0, 0] == image[1, 0, 0])
        let gray = Image(width: 1, height: 1, channels: 3, pixels: [255, 0, 0]).converted(toChannels: 1)
        #expect(gray.pixels == [76])  // 0.299·255, Pillow's L
        #expect(Image(width: 1, height: 1, channels: 1, pixels: [9]).converted(toChannels: 3).pixels == [9, 9, 9])
        #expect(Image(width: 2, height: 1, channels: 1, pixels: [1, 2]).upscaled(by: 2).pixels == [1, 1, 2, 2, 1, 1, 2, 2])
    }
}

@Suite(.serialized) struct GridAndGIFTests {
    @Test func gridLaysOutLikeTorchvision() throws {
        // 3 images of 2×2, 1 channel, 2 per row, padding 1: a 7-wide, 7-high grid.
        let values: [Float] = [-1, 1, 0, 0.5, /**/ 1, 1, 1, 1, /**/ -1, -1, -1, -2]
        let grid = Grid.make(values, count: 3, channels: 1, height: 2, width: 2, columns: 2, padding: 1, padValue: 7)
        #expect(grid.width == 7 && grid.height == 7)
        #expect([grid[1, 1, 0], grid[2, 1, 0], grid[1, 2, 0], grid[2, 2, 0]] == [0, 255, 128, 191])
        #expect(grid[4, 1, 0] == 255 && grid[1, 4, 0] == 0 && grid[0, 0, 0] == 7 && grid[4, 4, 0] == 7)
        let dir = scratch("grid")
        try ImageCodec.writePNG(grid.upscaled(by: 3), to: dir + "/g.png")
        let pil = try pillowPixels(dir + "/g.png", mode: "L")
        #expect(pil.width == 21 && pil.pixels == grid.upscaled(by: 3).pixels)
    }

    @Test func grayGIFFramesAreExactInPillowAndColorIsClose() throws {
        let dir = scratch("gif")
        let frames = (0..<4).map { f in Image(width: 30, height: 20, channels: 1, pixels: (0..<600).map { UInt8(($0 * 7 + f * 50) % 256) }) }
        try GIF.write(frames, delayCentiseconds: 15, to: dir + "/a.gif")
        let out = try python("""
        import sys, json
        from PIL import Image, ImageSequence
        im = Image.open(sys.argv[1])
        frames = [list(f.convert('L').tobytes()) for f in ImageSequence.Iterator(im)]
        print(json.dumps({'n': len(frames), 'frames': frames, 'duration': im.info.get('duration'), 'loop': im.info.get('loop')}))
        """, [dir + "/a.gif"])
        let o = try json(out) as! [String: Any]
        #expect(o["n"] as! Int == 4 && o["duration"] as! Int == 150 && o["loop"] as! Int == 0)
        let read = (o["frames"] as! [[Int]]).map { $0.map { UInt8($0) } }
        #expect(read == frames.map(\.pixels))

        let color = (0..<3).map { f in Image(width: 32, height: 16, channels: 3, pixels: (0..<(32 * 16 * 3)).map { i in
            let p = i / 3, x = p % 32, y = p / 32
            return UInt8([x * 8, y * 16, f * 100][i % 3] % 256)
        }) }
        try GIF.write(color, to: dir + "/c.gif")
        let cout = try python("""
        import sys, json
        from PIL import Image, ImageSequence
        print(json.dumps([list(f.convert('RGB').tobytes()) for f in ImageSequence.Iterator(Image.open(sys.argv[1]))]))
        """, [dir + "/c.gif"])
        let cread = (try json(cout) as! [[Int]])
        #expect(cread.count == 3)
        for (f, frame) in zip(color, cread) {
            let mean = Double(zip(f.pixels, frame).map { abs(Int($0) - $1) }.reduce(0, +)) / Double(frame.count)
            #expect(mean < 8, "mean colour error \(mean)")  // 512 colours in each frame, quantized to 256
        }
    }
}

/// `.npy` arrays written by NumPy in the forms it writes: versions 1 and 2, float32 and float64,
/// either byte order; Fortran order is refused with the reason.
@Suite(.serialized) struct NPYReadTests {
    @Test func readsWhatNumPyWrites() throws {
        let dir = scratch("npy-read")
        try python("""
        import sys, numpy as np
        d = sys.argv[1]
        a = (np.arange(12, dtype=np.float64).reshape(3, 4) - 5.5) / 3
        np.save(d + '/f8.npy', a)
        np.save(d + '/f4.npy', a.astype(np.float32))
        np.save(d + '/be.npy', a.astype('>f4'))
        with open(d + '/v2.npy', 'wb') as f: np.lib.format.write_array(f, a.astype(np.float32), version=(2, 0))
        np.save(d + '/fortran.npy', np.asfortranarray(a))
        """, [dir])
        let expected = (0..<12).map { Float((Double($0) - 5.5) / 3) }
        for name in ["f8", "f4", "be", "v2"] {
            let (shape, values) = try NPY.read(dir + "/\(name).npy")
            #expect(shape == [3, 4] && values == expected, "\(name)")
        }
        #expect { try NPY.read(dir + "/fortran.npy") } throws: { "\($0)".contains("Fortran-ordered arrays are not supported") }
        // Our own writer's files read back.
        let mine = dir + "/mine.npy"
        try NPY.encode(expected, shape: [2, 6]).write(to: URL(fileURLWithPath: mine))
        #expect(try NPY.read(mine).shape == [2, 6] && NPY.read(mine).values == expected)
        // Cut short.
        let whole = try Data(contentsOf: URL(fileURLWithPath: dir + "/f4.npy"))
        #expect(throws: NPYError.truncated(file: "cut", expected: 48, actual: 40)) { try NPY.decode(whole.prefix(whole.count - 8), file: "cut") }
    }
}

/// The loss chart: round ticks, TensorBoard's smoothing, and text, lines and legend where they belong.
@Suite(.serialized) struct ChartTests {
    @Test func ticksAreRoundAndSmoothingIsDebiased() {
        #expect(Chart.ticks(0, 936) == [0, 200, 400, 600, 800])
        #expect(zip(Chart.ticks(0.55, 1.9), [0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8]).allSatisfy { abs($0 - $1) < 1e-12 } && Chart.ticks(0.55, 1.9).count == 7)
        #expect(Chart.label(0.6000000001, step: 0.2) == "0.6" && Chart.label(400, step: 200) == "400")
        // A constant stays constant (the start-up bias removed); a step is approached geometrically.
        #expect(Chart.smoothed([(0, 3), (1, 3), (2, 3)], weight: 0.6).map(\.y).allSatisfy { abs($0 - 3) < 1e-12 })
        let s = Chart.smoothed([(0, 0), (1, 1)], weight: 0.5).map(\.y)
        #expect(s[0] == 0 && abs(s[1] - 0.5 / 0.75) < 1e-12)  // (0.5·0·0.5 + 0.5·1) / (1 − 0.25)
    }

    @Test func theChartHasItsSeriesLegendAndLabels() {
        let d = (0..<50).map { (x: Double($0 * 10), y: 1.5 - Double($0) / 50) }
        let g = (0..<50).map { (x: Double($0 * 10), y: 0.5 + Double($0) / 40) }
        let panels = [Chart.Panel(yLabel: "loss", series: [Chart.Series(name: "D loss", points: d, color: (0, 0, 1)),
                                                          Chart.Series(name: "G loss", points: g, color: (1, 0, 0))], markers: [250]),
                      Chart.Panel(yLabel: "Fréchet distance", series: [Chart.Series(name: "FD", points: [(100, 50), (300, 20)], color: (0, 0.6, 0), dots: true)],
                                  smoothing: 0)]
        let image = Chart.render(panels, xLabel: "step", width: 600, panelHeight: 250)
        #expect(image.width == 600 && image.height == 500 && image.channels == 3)
        func count(_ region: (Range<Int>, Range<Int>), _ test: (UInt8, UInt8, UInt8) -> Bool) -> Int {
            var n = 0
            for y in region.1 { for x in region.0 {
                let p = (y * image.width + x) * 3
                if test(image.pixels[p], image.pixels[p + 1], image.pixels[p + 2]) { n += 1 }
            } }
            return n
        }
        let blue = { (r: UInt8, g: UInt8, b: UInt8) in b > 200 && r < 80 && g < 80 }
        let red = { (r: UInt8, g: UInt8, b: UInt8) in r > 200 && g < 80 && b < 80 }
        let dark = { (r: UInt8, g: UInt8, b: UInt8) in r < 120 && g < 120 && b < 120 }
        #expect(count((72..<580, 14..<206), blue) > 300 && count((72..<580, 14..<206), red) > 300)  // both series drawn
        #expect(count((0..<70, 14..<206), dark) > 100)  // tick values and the axis label on the left
        #expect(count((72..<580, 206..<250), dark) > 100)  // x tick values and "step"
        #expect(count((72..<580, 264..<456), { g, r, b in r > 120 && g < 60 && b < 60 }) > 20)  // the evaluation's green dots
    }
}

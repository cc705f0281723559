import ArgumentParser
import Foundation
import GAN
import Imaging

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate images from a trained generator, without training.",
        discussion: """
        OUT ending in .png: one grid; .npy: a float32 array N×H×W×C in [-1, 1]; anything else: a directory with
        one PNG per image. The same --seed gives the same images on every run.
        """)

    @Argument(help: "A run directory (its latest checkpoint) or a checkpoint directory.") var checkpoint: String
    @Option(help: "Number of images.") var count: Int = 64
    @Option(help: "Seed of the latent vectors.") var seed: UInt64 = 0
    @Option(help: "Output: grid .png, .npy array, or a directory.") var out: String
    @Option(help: "Images per grid row.") var columns: Int = 8

    func validate() throws {
        try positive(count, "--count")
        try positive(columns, "--columns")
    }

    func run() throws {
        try reportingErrors {
            let sampler = try Sampler(checkpoint: checkpoint)
            let c = sampler.config
            let images = sampler.generate(sampler.noise(count: count, seed: seed))
            if out.lowercased().hasSuffix(".png") {
                let grid = Grid.make(images.scalars, count: count, channels: c.channels, height: c.imageSize, width: c.imageSize,
                                     columns: columns, padding: 2, scale: max(1, 64 / c.imageSize))
                try ImageCodec.writePNG(grid, to: out)
                say("wrote a grid of \(count) images to \(out)")
            } else if out.lowercased().hasSuffix(".npy") {
                // N×C×H×W → N×H×W×C, as image arrays are usually laid out in NumPy.
                let v = images.scalars
                var nhwc = [Float](repeating: 0, count: v.count)
                let (h, w, ch) = (c.imageSize, c.imageSize, c.channels)
                for n in 0..<count { for k in 0..<ch { for y in 0..<h { for x in 0..<w {
                    nhwc[((n * h + y) * w + x) * ch + k] = v[((n * ch + k) * h + y) * w + x]
                } } } }
                do { try NPY.encode(nhwc, shape: [count, h, w, ch]).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                    throw ImagingError.unwritable(file: out, reason: (error as NSError).localizedDescription)
                }
                say("wrote \(count)×\(h)×\(w)×\(ch) float32 values in [-1, 1] to \(out)")
            } else {
                do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                    throw ImagingError.unwritable(file: out, reason: (error as NSError).localizedDescription)
                }
                for (i, image) in sampler.toImages(images).enumerated() {
                    try ImageCodec.writePNG(image, to: out + "/" + String(format: "%05d.png", i))
                }
                say("wrote \(count) PNG files to \(out)")
            }
        }
    }
}

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk the latent space between two seeds and write the frames as an animated GIF.")

    @Argument(help: "A run directory or a checkpoint directory.") var checkpoint: String
    @Option(help: "Seed of the first latent vector.") var from: UInt64 = 0
    @Option(help: "Seed of the last latent vector.") var to: UInt64 = 1
    @Option(help: "Frames, both ends included.") var steps: Int = 16
    @Option(help: "Frame delay in hundredths of a second.") var delay: Int = 10
    @Option(help: "Output .gif file.") var out: String

    func validate() throws {
        guard steps >= 2 else { throw ValidationError("--steps must be at least 2, got \(steps)") }
        try positive(delay, "--delay")
    }

    func run() throws {
        try reportingErrors {
            let sampler = try Sampler(checkpoint: checkpoint)
            let scale = max(1, 128 / sampler.config.imageSize)
            let frames = sampler.interpolate(from: from, to: to, steps: steps).map { $0.upscaled(by: scale) }
            try GIF.write(frames, delayCentiseconds: delay, to: out)
            say("wrote \(steps) frames from seed \(from) to seed \(to) to \(out)")
        }
    }
}

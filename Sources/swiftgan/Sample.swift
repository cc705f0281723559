import ArgumentParser
import Foundation
import GAN
import Imaging

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate images from a trained generator, without training.",
        discussion: """
        OUT ending in .png: one grid; .npy: a float32 array N×H×W×C in [-1, 1]; a directory (an existing one, or a
        new one written with a trailing /): one PNG per image. Images are generated and written in batches, so any
        --count fits in memory; a count the disk cannot hold is refused before anything is written. The same --seed
        gives the same images on every run.
        """)

    @Argument(help: "A run directory (its latest checkpoint) or a checkpoint directory.") var checkpoint: String
    @Option(help: "Number of images.") var count: Int = 64
    @Option(help: "Seed of the latent vectors.") var seed: UInt64 = 0
    @Option(help: "Output: grid .png, .npy array, or a directory (DIR/).") var out: String
    @Option(help: "Images per grid row (grids only).") var columns: Int?

    func validate() throws {
        try positive(count, "--count")
        try positive(columns, "--columns")
    }

    func run() throws {
        try reportingErrors {
            let output = try SampleOutput(path: out)
            if columns != nil, case .grid = output {} else if columns != nil {
                throw ValidationError("--columns applies only to a grid (--out ending in .png)")
            }
            let sampler = try Sampler(checkpoint: checkpoint)
            let c = sampler.config
            try sampler.write(count: count, seed: seed, to: output, columns: columns ?? 8)
            switch output {
            case .grid(let path): say("wrote a grid of \(count) images to \(path)")
            case .array(let path): say("wrote \(count)×\(c.imageSize)×\(c.imageSize)×\(c.channels) float32 values in [-1, 1] to \(path)")
            case .directory(let path): say("wrote \(count) PNG files to \(path)")
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

import ArgumentParser
import Datasets
import Foundation
import GANModels
import Imaging
import Tensors

struct Project: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the latent vectors whose pictures are closest to given images (GAN inversion).",
        discussion: """
        Each image is read as the run's dataset reads pictures (centre-cropped square, resized, converted to the
        generator's channels, transparent pixels on the run's background) and matched by optimising latents from
        the nearest of a pool of random ones: Adam on the pixel difference plus a perceptual distance made from the
        run's discriminator's features, with a prior that keeps the latents where the generator was trained.

        Writes the latents to --out (a float32 .npy array [N, latent] that `sample --noise`, `interpolate` and the
        studio read: `sample --noise OUT` draws the reconstructions again, bit for bit), the targets above their
        reconstructions as one figure (OUT.png), and each image's distances (OUT.json). A class-conditional
        generator is searched under --class, or under every class (each image keeps its best); the classes go to
        OUT.labels.npy. Images given in folders are taken in name order; a file that cannot be read is named and
        skipped (a file named directly must be readable).
        """)

    @Argument(help: "A run directory (its latest checkpoint) or a checkpoint directory.") var checkpoint: String
    @Argument(help: "Images (PNG, JPEG) or folders of them.") var images: [String]
    @Option(help: "Output .npy file of the latent vectors.") var out: String
    @Option(help: "Optimisation steps per image.") var steps: Int = Projector.Options().steps
    @Option(help: "Starting points optimised per image (the best is kept).") var restarts: Int = Projector.Options().restarts
    @Option(help: "Random latents the starting points are chosen from (per class).") var candidates: Int = Projector.Options().candidates
    @Option(help: "Adam's peak learning rate.") var lr: Float = Projector.Options().learningRate
    @Option(help: "Weight of the perceptual (discriminator feature) distance; 0 for pixels alone.")
    var perceptualWeight: Float = Projector.Options().perceptualWeight
    @Option(name: .customLong("class"), help: "Conditional generators: the class of every image (name or index; default: search all).")
    var classes: String?
    @Option(help: "Also write the optimisation of the first \(Projector.Options().targetsPerBatch) images as an animated GIF.")
    var gif: String?
    @Option(help: "Seed of the pool of starting points.") var seed: UInt64 = 0
    @Option(help: "Also measure the nearest of this many random pictures of the generator, for comparison.") var baseline: Int?

    func validate() throws {
        guard out.lowercased().hasSuffix(".npy") else { throw ValidationError("--out: expected a .npy path, got \(out)") }
        if let gif, !gif.lowercased().hasSuffix(".gif") { throw ValidationError("--gif: expected a .gif path, got \(gif)") }
        try positive(baseline, "--baseline")
        guard !images.isEmpty else { throw ValidationError("give at least one image or folder of images") }
        if let (setting, requirement) = options.problem {
            let flags: [Projector.Options.Setting: String] = [.steps: "--steps", .restarts: "--restarts", .candidates: "--candidates",
                                                              .learningRate: "--lr", .perceptualWeight: "--perceptual-weight"]
            throw ValidationError("\(flags[setting] ?? setting.rawValue) \(requirement)")
        }
    }

    var options: Projector.Options {
        var o = Projector.Options()
        (o.steps, o.restarts, o.candidates, o.learningRate, o.perceptualWeight, o.seed) = (steps, restarts, candidates, lr, perceptualWeight, seed)
        return o
    }

    func run() throws {
        try reportingErrors {
            let projector = try Projector(checkpoint: checkpoint)
            let c = projector.config
            let summary = try Checkpoint.summary(Checkpoint.resolve(checkpoint))
            let choice: Projector.Classes
            switch try classChoice(classes, for: c, flag: "--class") {
            case .uniform: choice = .search
            case .cycle(let list): choice = .given(list)
            }
            let (files, pictures, skipped) = try ProjectionTargets.read(images, minSide: c.imageSize)
            for (file, reason) in skipped { say("skipped \(file): \(reason)") }
            guard !files.isEmpty else { throw ValidationError("no readable images among \(images.joined(separator: ", "))") }
            let targets = ProjectionTargets.tensor(pictures.map { $0.flattened(onto: summary.backgroundLevel) },
                                                   size: c.imageSize, channels: c.channels)
            // Ctrl-C or SIGTERM stops between two steps, with nothing written.
            StopSignals.stopGracefully(sameRequestWithin: 1)
            say("projecting \(files.count) image\(files.count == 1 ? "" : "s") into \(try Checkpoint.resolve(checkpoint)): "
                + "\(steps) steps × \(restarts) restarts each" + (c.isConditional && choice == .search ? ", every class searched" : ""))
            var frames: [Image] = []
            let frameEvery = max(1, steps / 40), gifTargets = min(files.count, Projector.Options().targetsPerBatch)
            let display = ProgressDisplay(interactive: isatty(1) != 0)
            var lastLine = Date.distantPast
            let projected: Projector.Result?
            do {
                projected = try projector.project(targets, classes: choice, options: options) { p in
                    if StopSignals.requested { return false }
                    if gif != nil, p.targets.lowerBound == 0, p.step % frameEvery == 0 {
                        frames.append(Self.frame(targets, p, count: gifTargets))
                    }
                    if Date().timeIntervalSince(lastLine) > (display.interactive ? 0.2 : 10) {
                        lastLine = Date()
                        display.status(String(format: "%3.0f%%  images %d–%d of %d  step %d/%d  loss %.4f", 100 * p.fraction,
                                              p.targets.lowerBound + 1, p.targets.upperBound, p.totalTargets, p.step, p.steps, p.losses.min() ?? .nan))
                    }
                    return true
                }
            } catch ProjectionError.stopped {
                projected = nil
            }
            display.finish()
            guard let result = projected else {
                say("stopped: nothing written")
                throw ExitCode(130)
            }
            try projector.sampler.saveLatents(result.latents, to: out)
            let stem = String(out.dropLast(4))
            if let labels = result.labels {
                let writer = try NPY.Writer(path: SampleOutput.labelsPath(ofArray: out), shape: [labels.count], dtype: .int64)
                try writer.append(labels.map(Int64.init))
                try writer.finish()
            }
            let figure = ProjectionTargets.figure(targets, result.reconstructions, channels: c.channels, size: c.imageSize)
            try ImageCodec.writePNG(figure, to: stem + ".png")
            var report = ProjectionTargets.report(files, result, classNames: c.classNames)
            if let gif {
                frames.append(Self.frame(targets, result.reconstructions, count: gifTargets))
                try GIF.write(frames, delayCentiseconds: 8, to: gif)
            }
            let meanPixel = result.pixelErrors.reduce(0, +) / Double(result.pixelErrors.count)
            var line = String(format: "mean absolute pixel error %.4f (of the 0–1 range)", meanPixel)
            if let d = result.perceptualDistances { line += String(format: ", perceptual distance %.4f", d.reduce(0, +) / Double(d.count)) }
            say(line)
            if let baseline {
                let reference = projector.nearestOfRandom(targets, count: baseline)
                let pixel = reference.pixelErrors.reduce(0, +) / Double(reference.pixelErrors.count)
                var line = String(format: "the nearest of %d random pictures: mean absolute pixel error %.4f (projection/nearest %.2f×)",
                                  baseline, pixel, meanPixel / pixel)
                if let d = reference.perceptualDistances, let p = result.perceptualDistances {
                    let (dm, pm) = (d.reduce(0, +) / Double(d.count), p.reduce(0, +) / Double(p.count))
                    line += String(format: ", perceptual distance %.4f (%.2f×)", dm, pm / dm)
                }
                say(line)
                report.baseline = .init(count: baseline, pixelErrors: reference.pixelErrors, perceptualDistances: reference.perceptualDistances)
            }
            try report.write(to: stem + ".json")
            say("wrote \(files.count) latent vectors to \(out), targets above reconstructions to \(stem).png, distances to \(stem).json"
                + (result.labels != nil ? ", classes to \(SampleOutput.labelsPath(ofArray: out))" : "") + (gif.map { ", the optimisation to \($0)" } ?? ""))
            if let labels = result.labels {
                say("draw them again: swiftgan sample \(checkpoint) --noise \(out) --class \(labels.map(String.init).joined(separator: ",")) --out FILE")
            } else {
                say("draw them again: swiftgan sample \(checkpoint) --noise \(out) --out FILE")
            }
        }
    }

    /// A GIF frame: the first `count` targets above the best current picture of each.
    static func frame(_ targets: Tensor, _ p: Projector.Progress, count: Int) -> Image {
        let shown = min(count, p.targets.count)
        let per = p.images.count / p.images.shape[0], values = p.images.scalars
        var best: [Float] = []
        for t in 0..<shown {
            let r = (0..<p.restarts).min { p.losses[t * p.restarts + $0] < p.losses[t * p.restarts + $1] }! + t * p.restarts
            best += values[(r * per)..<((r + 1) * per)]
        }
        return frame(targets, Tensor(best, shape: [shown] + Array(p.images.shape[1...])), count: shown)
    }

    static func frame(_ targets: Tensor, _ pictures: Tensor, count: Int) -> Image {
        let shown = min(count, pictures.shape[0])
        let size = targets.shape[2], scale = max(1, 64 / size)
        return ProjectionTargets.figure(targets.slice(axis: 0, offset: 0, length: shown), pictures.slice(axis: 0, offset: 0, length: shown),
                                        channels: targets.shape[1], size: size, scale: scale)
    }
}

import Foundation
import NN
import Tensors

/// Finds the latents whose pictures are closest to given images: GAN inversion by optimisation,
/// the way back from a picture to the generator's input (StyleGAN2's `projector.py`, Karras et al.
/// 2020, made for the z-space generators of this project and for a CPU).
///
/// For each target it keeps `restarts` starting latents, the nearest (in pixels) of a pool of
/// `candidates` random ones, and moves them all at once with Adam on
///
///     ‖G(z) − x‖² / (C·H·W)  +  λ_p · Σ_l mean_locations ‖n(D_l(G(z))) − n(D_l(x))‖²  +  prior(z)
///
/// where D_l are the discriminator's intermediate feature maps (the input of each of its weighted
/// layers after the first), n normalises each location's channel vector to unit length (LPIPS's
/// distance without learned weights: the run's own discriminator is the feature network, since
/// VGG's weights cannot be downloaded here), and the prior keeps z where the generator was
/// trained: normal latents have their squared norm pulled towards the latent size (the shell
/// where nearly all of N(0, I)'s mass lies; a pull towards 0 would give the mean image), uniform
/// ones are clamped to [−1, 1]. The learning rate ramps up over the first 5% of the steps and
/// down along a cosine over the last 25% (StyleGAN2's schedule). The restart with the lowest
/// final loss is kept.
///
/// The reconstructions are those of `Sampler.generate` for the latents found, so the written
/// latents give the same pictures through `swiftgan sample --noise`, bit for bit.
///
/// ```swift
/// let projector = try Projector(checkpoint: "runs/fashion")
/// let result = try projector.project(targets)          // [N, C, H, W] in [-1, 1]
/// try projector.sampler.saveLatents(result.latents, to: "z.npy")
/// ```
public struct Projector {
    public let sampler: Sampler
    /// The feature network of the perceptual distance; without one, pixels alone.
    public let discriminator: GANDiscriminator?

    public struct Options: Sendable, Equatable {
        /// Adam's steps per target.
        public var steps = 200
        /// Starting latents optimised per target (and class, under `.search` with classes of one's
        /// own); the best is kept.
        public var restarts = 4
        /// Random latents the starting points are chosen from, per class.
        public var candidates = 256
        /// Adam's peak learning rate (latents have unit scale).
        public var learningRate: Float = 0.1
        /// λ_p, the weight of the perceptual distance.
        public var perceptualWeight: Float = 1
        /// The weight of the normal prior's penalty (mean z² − 1)².
        public var priorWeight: Float = 0.1
        /// Targets optimised together (times `restarts` latents in one batch).
        public var targetsPerBatch = 16
        /// Seed of the candidate pool.
        public var seed: UInt64 = 0
        public init() {}

        /// The settings, by name, for messages about them.
        public enum Setting: String, Sendable {
            case steps, restarts, candidates, learningRate = "learning rate", perceptualWeight = "perceptual weight"
            case priorWeight = "prior weight", targetsPerBatch = "targets per batch"
        }

        /// The first setting out of range and what it must be ("must be from 1 to 100000"), or nil.
        public var problem: (setting: Setting, requirement: String)? {
            if !(1...100_000).contains(steps) { return (.steps, "must be from 1 to 100000, got \(steps)") }
            if !(1...64).contains(restarts) { return (.restarts, "must be from 1 to 64, got \(restarts)") }
            if !(1...65_536).contains(candidates) || candidates < restarts {
                return (.candidates, "must be from the number of restarts (\(restarts)) to 65536, got \(candidates)")
            }
            if !(learningRate.isFinite && learningRate > 0 && learningRate <= 10) { return (.learningRate, "must be in (0, 10], got \(learningRate)") }
            if !(perceptualWeight.isFinite && perceptualWeight >= 0) { return (.perceptualWeight, "must be a finite number ≥ 0, got \(perceptualWeight)") }
            if !(priorWeight.isFinite && priorWeight >= 0) { return (.priorWeight, "must be a finite number ≥ 0, got \(priorWeight)") }
            if targetsPerBatch < 1 { return (.targetsPerBatch, "must be positive, got \(targetsPerBatch)") }
            return nil
        }
    }

    /// The classes a conditional generator's pictures are searched under.
    public enum Classes: Equatable, Sendable {
        /// Every class: the starting points are the nearest (latent, class) pairs of a pool drawn
        /// for each class, and each target keeps the class of its best restart.
        case search
        /// Target i under class `list[i % list.count]`.
        case given([Int])
    }

    /// Where a projection is: after `step` of `steps` on the batch of targets `targets` (a range of
    /// the targets' indices). `images` are the pictures of the latents before this step
    /// ([targets.count · restarts, C, H, W], restart-major within each target), `losses` their
    /// losses.
    public struct Progress {
        public let step: Int, steps: Int
        public let targets: Range<Int>, totalTargets: Int
        public let restarts: Int
        public let images: Tensor
        public let losses: [Float]
        /// The fraction of the whole projection done, 0…1.
        public var fraction: Double {
            (Double(targets.lowerBound) + Double(targets.count) * Double(step) / Double(steps)) / Double(max(totalTargets, 1))
        }
    }

    public struct Result {
        /// The latents found, [N, …] in `config.latentShape(N)`.
        public let latents: Tensor
        /// Each target's class (a conditional generator), else nil.
        public let labels: [Int32]?
        /// `sampler.generate(latents, classes:)`: [N, C, H, W] in [-1, 1].
        public let reconstructions: Tensor
        /// Mean absolute difference between each target and its reconstruction, in units of the
        /// full pixel range (0…1: an 8-bit difference of 255 is 1).
        public let pixelErrors: [Double]
        /// Each target's perceptual distance to its reconstruction (the sum over the
        /// discriminator's layers above); nil without a discriminator.
        public let perceptualDistances: [Double]?
    }

    public init(sampler: Sampler, discriminator: GANDiscriminator?) {
        precondition(discriminator.map { $0.config.imageSize == sampler.config.imageSize && $0.config.channels == sampler.config.channels } ?? true,
                     "Projector: a discriminator for \(discriminator!.config.imageSize)×\(discriminator!.config.imageSize)×\(discriminator!.config.channels) "
                     + "beside a generator of \(sampler.config.imageSize)×\(sampler.config.imageSize)×\(sampler.config.channels)")
        self.sampler = sampler; self.discriminator = discriminator
    }

    /// Both networks of a checkpoint, or of a run directory's latest.
    public init(checkpoint path: String) throws {
        let (g, d, summary) = try Checkpoint.loadNetworks(path)
        self.init(sampler: Sampler(generator: g, config: summary.model), discriminator: d)
    }

    public var config: ModelConfig { sampler.config }

    /// Projects `targets` ([N, C, H, W] in [-1, 1], the generator's size and channels).
    /// `progress` is called before every step; returning false stops the projection, which then
    /// throws `ProjectionError.stopped`.
    public func project(_ targets: Tensor, classes: Classes = .search, options: Options = Options(),
                        progress: (Progress) -> Bool = { _ in true }) throws -> Result {
        let c = config
        precondition(targets.rank == 4 && targets.shape[0] > 0 && Array(targets.shape[1...]) == [c.channels, c.imageSize, c.imageSize],
                     "Projector.project: targets \(targets.shape) for a generator of [N, \(c.channels), \(c.imageSize), \(c.imageSize)] images")
        if let (setting, requirement) = options.problem { preconditionFailure("Projector.project: \(setting.rawValue) \(requirement)") }
        if case .given(let list) = classes {
            precondition(c.isConditional && !list.isEmpty && list.allSatisfy { (0..<c.classes).contains($0) },
                         "Projector.project: classes \(list) for a generator of \(c.classes) classes")
        }
        let n = targets.shape[0]
        let pool = candidatePool(options)
        var latents: [Float] = [], labels: [Int32] = []
        let generator = sampler.generator, modules: [Module] = [generator] + (discriminator.map { [$0] } ?? [])
        let wasTraining = modules.map { m in m.namedModules().contains { ($0.module as? ModeDependent)?.training ?? false } }
        let neededGradients = modules.map { $0.parameters.map(\.requiresGrad) }
        for m in modules { m.setTraining(false); m.setRequiresGrad(false) }
        defer {
            for (m, (training, needs)) in zip(modules, zip(wasTraining, neededGradients)) {
                m.setTraining(training)
                for (p, need) in zip(m.parameters, needs) { p.requiresGrad = need }
            }
        }
        var first = 0
        while first < n {
            let count = min(options.targetsPerBatch, n - first)
            let batch = targets.slice(axis: 0, offset: first, length: count)
            let given: [Int]? = if case .given(let list) = classes { (first..<(first + count)).map { list[$0 % list.count] } } else { nil }
            let (z, l) = try projectBatch(batch, given: given, pool: pool, options: options, targets: first..<(first + count), of: n, progress)
            latents += z
            labels += l
            first += count
        }
        let z = Tensor(latents, shape: c.latentShape(n))
        let chosen = c.isConditional ? labels : nil
        let reconstructions = sampler.generate(z, classes: sampler.classWeights(chosen))
        let pixel = Self.meanAbsoluteErrors(reconstructions, targets)
        let perceptual = discriminator.map { d in
            withoutGrad { Self.perceptual(features(d, reconstructions), features(d, targets)).scalars.map(Double.init) }
        }
        return Result(latents: z, labels: chosen, reconstructions: reconstructions, pixelErrors: pixel, perceptualDistances: perceptual)
    }

    /// The reference a projection is measured against: for each target, the nearest (mean absolute
    /// pixel error) of `count` random pictures of the generator (latents of `seed`; a conditional
    /// generator's classes drawn uniformly), its pixel error and perceptual distance, as in `Result`.
    public func nearestOfRandom(_ targets: Tensor, count: Int, seed: UInt64 = 1) -> (pixelErrors: [Double], perceptualDistances: [Double]?) {
        precondition(count > 0, "Projector.nearestOfRandom: count \(count)")
        let n = targets.shape[0], per = targets.count / n, t = targets.scalars
        var best = [Double](repeating: .infinity, count: n), nearest = [Float](repeating: 0, count: n * per)
        sampler.generate(count: count, seed: seed) { images, _, _ in
            let values = images.scalars
            for i in 0..<images.shape[0] {
                for j in 0..<n {
                    var s: Float = 0
                    for k in 0..<per { s += abs(values[i * per + k] - t[j * per + k]) }
                    let error = Double(s) / Double(per) / 2
                    if error < best[j] {
                        best[j] = error
                        nearest.replaceSubrange((j * per)..<((j + 1) * per), with: values[(i * per)..<((i + 1) * per)])
                    }
                }
            }
        }
        let pictures = Tensor(nearest, shape: targets.shape)
        let perceptual = discriminator.map { d in
            withoutGrad { Self.perceptual(features(d, pictures), features(d, targets)).scalars.map(Double.init) }
        }
        return (best, perceptual)
    }

    /// The candidates starting points are chosen from: `options.candidates` latents per class (one
    /// set for an unconditional generator) and their pictures.
    private func candidatePool(_ options: Options) -> [(latents: Tensor, label: Int32?, images: [Float])] {
        let c = config
        let z = sampler.noise(count: options.candidates, seed: options.seed)
        let classes: [Int32?] = c.isConditional ? (0..<c.classes).map { Int32($0) } : [nil]
        return classes.map { label in
            let weights = label.map { Tensor.oneHot([Int32](repeating: $0, count: options.candidates), classes: c.classes) }
            return (z, label, sampler.generate(z, classes: weights).scalars)
        }
    }

    /// Optimises `restarts` latents for each of `batch`'s targets; returns the best latent and class of each.
    private func projectBatch(_ batch: Tensor, given: [Int]?, pool: [(latents: Tensor, label: Int32?, images: [Float])],
                              options o: Options, targets range: Range<Int>, of total: Int,
                              _ progress: (Progress) -> Bool) throws -> (latents: [Float], labels: [Int32]) {
        let c = config, count = batch.shape[0], k = o.restarts
        let per = c.channels * c.imageSize * c.imageSize, width = c.latentShape(1).reduce(1, *)
        let targetPixels = batch.scalars
        // Starting points: for each target, the k nearest (squared pixel distance) of the pool's
        // candidates under its allowed classes.
        var start: [Float] = [], startLabels: [Int32] = []
        for t in 0..<count {
            let x = targetPixels[(t * per)..<((t + 1) * per)]
            var scored: [(distance: Float, set: Int, index: Int)] = []
            for (s, set) in pool.enumerated() where given == nil || set.label == Int32(given![t]) {
                set.images.withUnsafeBufferPointer { images in
                    for i in 0..<o.candidates {
                        var d: Float = 0
                        for (j, v) in zip(x.indices, images[(i * per)..<((i + 1) * per)]) { let e = v - x[j]; d += e * e }
                        scored.append((d, s, i))
                    }
                }
            }
            for best in scored.sorted(by: { ($0.distance, $0.set, $0.index) < ($1.distance, $1.set, $1.index) }).prefix(k) {
                start += pool[best.set].latents.scalars[(best.index * width)..<((best.index + 1) * width)]
                if let label = pool[best.set].label { startLabels.append(label) }
            }
        }
        let m = count * k
        var latentShape = c.latentShape(m)
        latentShape[0] = m
        let z = Parameter(Tensor(start, shape: latentShape))
        let adam = Adam([("z", z)], learningRate: o.learningRate)
        let classWeights = c.isConditional ? Tensor.oneHot(startLabels, classes: c.classes) : nil
        // Each target repeated for its restarts, and its features once.
        let repeated = Tensor((0..<count).flatMap { t in Array(repeating: Array(targetPixels[(t * per)..<((t + 1) * per)]), count: k).joined() },
                              shape: [m, c.channels, c.imageSize, c.imageSize])
        let targetFeatures = discriminator.map { d in withoutGrad { features(d, repeated) } }
        var losses = [Float](repeating: 0, count: m)
        for step in 0..<o.steps {
            adam.learningRate = o.learningRate * Self.schedule(step, of: o.steps)
            let images = sampler.generator.main.layers.applied(to: sampler.generator.input(z.value, classes: classWeights),
                                                                 classes: classWeights)
            var loss = (images - repeated).square().sum(to: [m, 1, 1, 1]).reshaped([m]) * (1 / Float(per))
            if let d = discriminator, let targetFeatures, o.perceptualWeight > 0 {
                loss = loss + Self.perceptual(features(d, images), targetFeatures) * o.perceptualWeight
            }
            if c.noise == .normal, o.priorWeight > 0 {
                let meanSquare = z.value.square().reshaped([m, width]).sum(to: [m, 1]).reshaped([m]) * (1 / Float(width))
                loss = loss + (meanSquare - 1).square() * o.priorWeight
            }
            losses = loss.scalars
            guard progress(Progress(step: step, steps: o.steps, targets: range, totalTargets: total, restarts: k,
                                    images: images.detached, losses: losses)) else { throw ProjectionError.stopped }
            adam.zeroGrad()
            loss.sum().backward()
            adam.step()
            if c.noise == .uniform {
                z.assign(Tensor(z.value.scalars.map { Swift.min(Swift.max($0, -1), 1) }, shape: latentShape))
            }
        }
        // The final latents' losses, from the pictures `sample` would draw; the best restart wins.
        let final = z.value.detached
        let pictures = sampler.generate(final, classes: classWeights)
        var finalLoss = ((pictures - repeated).square().sum(to: [m, 1, 1, 1]).reshaped([m]) * (1 / Float(per))).scalars
        if let d = discriminator, let targetFeatures, o.perceptualWeight > 0 {
            let p = withoutGrad { Self.perceptual(features(d, pictures), targetFeatures).scalars }
            finalLoss = zip(finalLoss, p).map { $0 + o.perceptualWeight * $1 }
        }
        let values = final.scalars
        var chosen: [Float] = [], chosenLabels: [Int32] = []
        for t in 0..<count {
            let best = (0..<k).min { finalLoss[t * k + $0] < finalLoss[t * k + $1] }! + t * k
            chosen += values[(best * width)..<((best + 1) * width)]
            if c.isConditional { chosenLabels.append(startLabels[best]) }
        }
        return (chosen, chosenLabels)
    }

    /// The learning rate's factor at `step` of `steps`: a linear ramp over the first 5%, a cosine
    /// down to 0 over the last 25%.
    static func schedule(_ step: Int, of steps: Int) -> Float {
        let t = Float(step) / Float(max(steps, 1))
        let down = min(1, (1 - t) / 0.25), up = min(1, t / 0.05)
        return min(up, 0.5 - 0.5 * Float(cos(Double.pi * Double(down)))) .clamped(0.01, 1)
    }

    /// The discriminator's feature maps that the perceptual distance compares: the input of each of
    /// its weighted layers after the first (the image), in order.
    func features(_ d: GANDiscriminator, _ x: Tensor) -> [Tensor] {
        var h = x, out: [Tensor] = []
        for (i, layer) in d.main.layers.enumerated() {
            if i > 0, layer is Conv2d || layer is Linear { out.append(h) }
            h = layer(h)
        }
        return out
    }

    /// Σ over layers of the mean over locations of ‖a/‖a‖ − b/‖b‖‖² (channel vectors), per image: [N].
    static func perceptual(_ a: [Tensor], _ b: [Tensor]) -> Tensor {
        precondition(a.count == b.count && !a.isEmpty, "Projector.perceptual: \(a.count) and \(b.count) feature maps")
        var total: Tensor?
        for (fa, fb) in zip(a, b) {
            let n = fa.shape[0]
            // A flat layer input [N, F] is one location of F channels.
            let shape = fa.rank == 4 ? fa.shape : [n, fa.count / n, 1, 1]
            let (x, y) = (fa.reshaped(shape), fb.reshaped(shape))
            func unit(_ t: Tensor) -> Tensor { t / (t.square().sum(to: [n, 1, shape[2], shape[3]]) + 1e-10).sqrt() }
            let term = (unit(x) - unit(y)).square().sum(to: [n, 1, 1, 1]).reshaped([n]) * (1 / Float(shape[2] * shape[3]))
            total = total.map { $0 + term } ?? term
        }
        return total!
    }

    /// Mean |a − b| per image over [-1, 1] values, in units of the full range (÷ 2).
    static func meanAbsoluteErrors(_ a: Tensor, _ b: Tensor) -> [Double] {
        let n = a.shape[0], per = a.count / n, x = a.scalars, y = b.scalars
        return (0..<n).map { i in
            var s = 0.0
            for j in (i * per)..<((i + 1) * per) { s += Double(abs(x[j] - y[j])) }
            return s / Double(per) / 2
        }
    }
}

public enum ProjectionError: Error, Equatable, CustomStringConvertible {
    /// The progress callback asked to stop.
    case stopped
    public var description: String {
        switch self {
        case .stopped: return "the projection was stopped before it finished"
        }
    }
}

private extension Float {
    func clamped(_ low: Float, _ high: Float) -> Float { Swift.min(Swift.max(self, low), high) }
}

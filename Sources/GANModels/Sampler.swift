import Foundation
import Imaging
import NN
import Tensors

/// Generates images from a trained generator: the API behind `swiftgan sample`.
///
/// ```swift
/// let sampler = try Sampler(checkpoint: "runs/fashion")       // a run directory or a checkpoint
/// let images = sampler.images(count: 16, seed: 7)             // [Image], 0–255
/// let tensor = sampler.generate(sampler.noise(count: 4, seed: 7))  // [4, C, H, W] in [-1, 1]
/// ```
public struct Sampler {
    public let generator: GANGenerator
    public let config: ModelConfig

    /// The generator prepared for inference, kept across calls while it is current (see `generate`).
    private let plans = PlanCache()

    /// Images generated per forward pass, at most.
    public static let batchSize = 64

    /// How `generate` splits `n` images: `count` batches of `size` (the last one padded).
    public static func batches(for n: Int) -> (count: Int, size: Int) {
        let count = max(1, (n + batchSize - 1) / batchSize)
        return (count, (n + count - 1) / count)
    }

    /// The arithmetic of the generator's convolutions: bf16 where the CPU has it (AVX512-BF16 or
    /// AMX-BF16; the layers that write images stay f32, as in training). fp32 by default.
    public var precision: Precision = .fp32 {
        didSet { precondition(precision.isAvailable, "Sampler: \(precision) is not available: \(precision.unavailableReason ?? "")") }
    }

    public init(generator: GANGenerator, config: ModelConfig, precision: Precision = .fp32) {
        precondition(precision.isAvailable, "Sampler: \(precision) is not available: \(precision.unavailableReason ?? "")")
        self.generator = generator; self.config = config; self.precision = precision
    }

    /// Loads the generator of a checkpoint or of a run directory's latest checkpoint.
    public init(checkpoint path: String, precision: Precision = .fp32) throws {
        let (g, summary) = try Checkpoint.loadGenerator(path)
        self.init(generator: g, config: summary.model, precision: precision)
    }

    /// `count` latent vectors; the same seed gives the same vectors on every run.
    public func noise(count: Int, seed: UInt64) -> Tensor { config.noise(count, using: RandomGenerator(seed: seed)) }

    /// The classes of a conditional generator, by index (empty for an unconditional one).
    public var classNames: [String] { config.classNames }

    /// The class labels of images `first..<first + count` under `choice`, for `seed`; nil for an
    /// unconditional generator. Uniform draws come from a stream of their own, derived from the
    /// seed, so the latents of a seed are the same with or without classes.
    public func labels(_ choice: ClassChoice, count: Int, seed: UInt64, from stream: RandomGenerator? = nil, first: Int = 0) -> [Int32]? {
        guard config.isConditional else { return nil }
        switch choice {
        case .uniform:
            let rng = stream ?? RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0x636c6173))
            return (0..<count).map { _ in Int32(rng.integer(in: 0...(config.classes - 1))) }
        case .cycle(let list):
            precondition(!list.isEmpty && list.allSatisfy { config.classNames.indices.contains($0) },
                         "Sampler.labels: classes \(list) outside 0..<\(config.classes)")
            return (first..<(first + count)).map { Int32(list[$0 % list.count]) }
        }
    }

    /// Class weights [n, K] for labels (nil for none).
    public func classWeights(_ labels: [Int32]?) -> Tensor? { labels.map { Tensor.oneHot($0, classes: config.classes) } }

    /// Images for the given latent vectors, [N, C, H, W] in [-1, 1], with batch norm in evaluation
    /// mode (the generator's training mode is restored afterwards). Runs the generator as an
    /// `InferencePlan`: batch norms folded into the convolutions, activations fused into them. The
    /// plan is made on the first call and kept until the generator's parameters, buffers or modes
    /// change (it is then made again): folding costs as much as generating a small batch, and the
    /// weights it folds keep their reordered copies between calls.
    /// A conditional generator needs `classes`, class weights [N, K] (`Tensor.oneHot(labels, classes:)`,
    /// or mixtures of classes).
    public func generate(_ latents: Tensor, classes: Tensor? = nil) -> Tensor {
        precondition(config.isConditional == (classes != nil),
                     config.isConditional ? "Sampler.generate: a conditional generator (\(config.classes) classes) needs classes"
                                          : "Sampler.generate: classes given to an unconditional generator")
        let wasTraining = generator.main.layers.contains { ($0 as? ModeDependent)?.training ?? false }
        generator.setTraining(false)
        defer { generator.setTraining(wasTraining) }
        let plan = plans.current(for: generator.main.layers)
        return Engine.withPrecision(precision) { run(plan, latents, classes) }
    }

    /// `generate(_:classes:)`'s batches through `plan`.
    private func run(_ plan: InferencePlan, _ latents: Tensor, _ classes: Tensor?) -> Tensor {
        // Batches of at most 64 keep memory flat however many images are asked for. Larger ones
        // gain no speed (measured, 128×128 CatDCGAN: 17.8 images/s at 64, 19.3 at 128, 18.9 at
        // 256) and cost memory linearly (1.8, 2.7 and 4.6 GiB).
        // All batches have one size (n split evenly, the last padded with repeated latents whose
        // images are dropped): a batch of another size would leave a second set of buffers in
        // the engine's pool (1 000 CatDCGAN images as 15 × 64 + 40: 2.7 GiB; as 16 × 63: 1.9 GiB).
        let n = latents.shape[0]
        if n <= Self.batchSize { return plan(generator.input(latents, classes: classes), classes: classes) }
        let (batches, per) = Self.batches(for: n)
        func rows(_ t: Tensor, _ start: Int, _ count: Int) -> Tensor {
            let part = t.slice(axis: 0, offset: start, length: count)
            return count < per ? Tensor.concat([part, t.slice(axis: 0, offset: 0, length: per - count)], axis: 0) : part
        }
        let parts = (0..<batches).map { b -> Tensor in
            let start = b * per, count = min(per, n - start)
            let batchClasses = classes.map { rows($0, start, count) }
            let images = plan(generator.input(rows(latents, start, count), classes: batchClasses), classes: batchClasses)
            return count < per ? images.slice(axis: 0, offset: 0, length: count) : images
        }
        return Tensor.concat(parts, axis: 0)
    }

    /// Generates `count` images from the latent vectors of `seed` one batch at a time, handing
    /// each batch ([n, C, H, W] in [-1, 1]) to `body` with the index of its first image; memory
    /// stays that of one batch whatever `count` is. The images are those of
    /// `generate(noise(count: count, seed: seed))` (the latents are drawn from the same stream
    /// in order; batches are of an even size, so a normal pair is never split between two).
    ///
    /// A conditional generator draws the classes `classes` chooses; `body` gets each batch's labels
    /// (nil for an unconditional generator).
    ///
    /// `latents` ([count, …] in `config.latentShape`) replaces the latents of the seed; the seed
    /// still draws a conditional generator's uniform classes.
    public func generate(count: Int, seed: UInt64, classes choice: ClassChoice = .uniform, latents: Tensor? = nil,
                         batchSize: Int = Sampler.batchSize,
                         _ body: (_ images: Tensor, _ labels: [Int32]?, _ first: Int) throws -> Void) rethrows {
        precondition(batchSize > 0 && batchSize % 2 == 0, "Sampler.generate: the batch size must be even and positive, got \(batchSize)")
        precondition(latents == nil || latents!.shape == config.latentShape(count),
                     "Sampler.generate: latents \(latents?.shape ?? []) for \(count) images of latent shape \(config.latentShape(count))")
        let rng = RandomGenerator(seed: seed), classStream = RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0x636c6173))
        var first = 0
        while first < count {
            let n = min(batchSize, count - first)
            var z = latents?.slice(axis: 0, offset: first, length: n) ?? config.noise(n, using: rng)
            let labels = self.labels(choice, count: n, seed: seed, from: classStream, first: first)
            var padded = labels
            // The last batch is padded to the others' size (see `generate(_:)` on the engine's pool).
            if n < batchSize && count > batchSize {
                let values = z.scalars, row = values.count / n
                var shape = z.shape
                shape[0] = batchSize
                z = Tensor(values + Array(repeating: Array(values.prefix(row)), count: batchSize - n).joined(), shape: shape)
                padded = labels.map { $0 + [Int32](repeating: $0[0], count: batchSize - n) }
            }
            var images = generate(z, classes: classWeights(padded))
            if images.shape[0] > n { images = images.slice(axis: 0, offset: 0, length: n) }
            try body(images, labels, first)
            first += n
        }
    }

    /// `count` images as 8-bit pictures (of classes drawn uniformly, for a conditional generator).
    public func images(count: Int, seed: UInt64, classes choice: ClassChoice = .uniform) -> [Image] {
        toImages(generate(noise(count: count, seed: seed), classes: classWeights(labels(choice, count: count, seed: seed))))
    }

    /// An NCHW batch in [-1, 1] as 8-bit pictures.
    public func toImages(_ t: Tensor) -> [Image] {
        Image.batch(fromSigned: t.scalars, count: t.shape[0], channels: t.shape[1], height: t.shape[2], width: t.shape[3])
    }

    /// Images along a straight line between the latent vectors of two seeds (`steps` ≥ 2 frames)
    /// and, for a conditional generator, between the classes `fromClass` and `toClass` (their
    /// one-hot class weights mixed in the same proportion: the same seed at both ends walks from
    /// one class to the other at fixed noise). `truncation` pulls both ends towards the mean latent
    /// (and so every frame: the line between truncated ends is the truncated line).
    public func interpolate(from a: UInt64, to b: UInt64, steps: Int, fromClass: Int? = nil, toClass: Int? = nil,
                            truncation: Truncation? = nil) -> [Image] {
        toImages(walk(from: a, to: b, steps: steps, fromClass: fromClass, toClass: toClass, truncation: truncation))
    }

    /// `interpolate`'s frames as a tensor [steps, C, H, W] in [-1, 1].
    public func walk(from a: UInt64, to b: UInt64, steps: Int, fromClass: Int? = nil, toClass: Int? = nil,
                     truncation: Truncation? = nil) -> Tensor {
        walk(between: noise(count: 1, seed: a), and: noise(count: 1, seed: b), steps: steps, fromClass: fromClass, toClass: toClass,
             truncation: truncation)
    }

    /// The walk between two latent vectors ([1, …] each: a seed's, or one `Projector` found).
    public func walk(between a: Tensor, and b: Tensor, steps: Int, fromClass: Int? = nil, toClass: Int? = nil,
                     truncation: Truncation? = nil) -> Tensor {
        precondition(steps >= 2, "Sampler.walk: steps must be at least 2, got \(steps)")
        precondition(config.isConditional == (fromClass != nil && toClass != nil),
                     config.isConditional ? "Sampler.interpolate: a conditional generator needs the classes of both ends"
                                          : "Sampler.interpolate: classes given to an unconditional generator")
        precondition(a.shape == config.latentShape(1) && b.shape == config.latentShape(1),
                     "Sampler.walk: ends \(a.shape) and \(b.shape) for latents of shape \(config.latentShape(1))")
        let ends = [a, b].map { z in (truncation.map { $0.apply(z) } ?? z).scalars }
        let (za, zb) = (ends[0], ends[1])
        var all: [Float] = [], mixtures: [Float] = []
        for s in 0..<steps {
            let t = Float(s) / Float(max(steps - 1, 1))
            all += zip(za, zb).map { (1 - t) * $0 + t * $1 }
            if let fromClass, let toClass {
                var row = [Float](repeating: 0, count: config.classes)
                row[fromClass] += 1 - t
                row[toClass] += t
                mixtures += row
            }
        }
        var shape = config.latentShape(steps)
        shape[0] = steps
        let classes = config.isConditional ? Tensor(mixtures, shape: [steps, config.classes]) : nil
        return generate(Tensor(all, shape: shape), classes: classes)
    }
}

extension Sampler {
    /// One row per class of a conditional model: the first `columns` of `latents` repeated for
    /// every class, with the classes' one-hot weights, so a column is one latent drawn as each class.
    public static func classRows(_ latents: Tensor, config: ModelConfig, columns: Int = 8)
        -> (latents: Tensor, classes: Tensor, columns: Int) {
        precondition(config.isConditional, "Sampler.classRows: the model is not conditional")
        let n = min(columns, latents.shape[0])
        let row = latents.slice(axis: 0, offset: 0, length: n)
        let labels = (0..<config.classes).flatMap { [Int32](repeating: Int32($0), count: n) }
        return (Tensor.concat([Tensor](repeating: row, count: config.classes), axis: 0), .oneHot(labels, classes: config.classes), n)
    }
}

/// A sampler's `InferencePlan`, shared by its copies, remade when stale.
private final class PlanCache: @unchecked Sendable {
    private let lock = NSLock()
    private var plan: InferencePlan?

    func current(for layers: [Module]) -> InferencePlan {
        lock.lock()
        defer { lock.unlock() }
        if let plan, !plan.isStale { return plan }
        let made = InferencePlan(layers)
        plan = made
        return made
    }
}

/// Which classes a conditional generator draws.
public enum ClassChoice: Equatable, Sendable {
    /// Each image's class drawn uniformly from all classes, from a stream derived from the seed
    /// (not as the training set's frequencies: StudioGAN's and BigGAN's convention, and what makes
    /// every class's figures comparable).
    case uniform
    /// Image i is of class `list[i % list.count]`: one class, or several in turn.
    case cycle([Int])
}

extension Sampler {
    /// Latent vectors from a `.npy` file of shape [N, latent] (float32 or float64), shaped as the
    /// generator takes them. A wrong shape or type is an error naming the file and the shape expected.
    public func latents(fromFile path: String) throws -> Tensor {
        let (shape, values) = try NPY.read(path)
        guard shape.count == 2, shape[1] == config.latent, shape[0] > 0 else {
            throw SamplingError.badLatents(file: path, shape: shape, latent: config.latent)
        }
        if let (row, value) = Self.firstNonFiniteRow(values, columns: shape[1]) {
            throw SamplingError.nonFiniteLatents(file: path, row: row, value: value)
        }
        return Tensor(values, shape: config.latentShape(shape[0]))
    }

    /// The first row of a row-major [N, columns] array holding NaN or ±infinity, and that value.
    public static func firstNonFiniteRow(_ values: [Float], columns: Int) -> (row: Int, value: Float)? {
        guard let i = values.firstIndex(where: { !$0.isFinite }) else { return nil }
        return (i / max(columns, 1), values[i])
    }

    /// Writes latent vectors [N, latent] as a float32 `.npy` file (what `latents(fromFile:)` reads).
    public func saveLatents(_ latents: Tensor, to path: String) throws {
        let n = latents.shape[0]
        let writer = try NPY.Writer(path: path, shape: [n, config.latent])
        try writer.append(latents.scalars)
        try writer.finish()
    }
}

/// A request a generator cannot satisfy.
public enum SamplingError: Error, Equatable, CustomStringConvertible {
    case unknownClass(String, valid: [String])
    case notConditional
    case badLatents(file: String, shape: [Int], latent: Int)
    /// Data compared with the generator's images is not of their kind.
    case dataMismatch(path: String, detail: String)
    /// Latents from a file hold NaN or ±infinity (the first such row, 0-based, and its value).
    case nonFiniteLatents(file: String, row: Int, value: Float)

    public var description: String {
        switch self {
        case .unknownClass(let name, let valid):
            return "no class '\(name)'; the classes are " + valid.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", ")
        case .notConditional: return "the generator is not class-conditional: it was trained without classes"
        case .badLatents(let file, let shape, let latent):
            return "\(file): latents of shape \(shape); this generator takes [N, \(latent)] (N ≥ 1 rows of \(latent) float32 or float64 values)"
        case .dataMismatch(let path, let detail): return "\(path): \(detail)"
        case .nonFiniteLatents(let file, let row, let value):
            return "\(file): row \(row) holds \(value); latent vectors must be finite numbers"
        }
    }
}

import CKernels
import Datasets
import Foundation
import GANModels
import GANTraining
import Synchronization
import Tensors

/// The workloads of the side-by-side benchmark against PyTorch (scripts/bench_vs_pytorch.py
/// writes the same models layer for layer).
public enum Workload: String, CaseIterable, Sendable {
    /// The default recipe on Fashion-MNIST: the 28×28 DCGAN's layers, batch 32, the generator's
    /// moving average (`dcgan-cpu`'s defaults).
    case dcganCPU28 = "dcgan-cpu28"
    /// The Keras dense GAN on Fashion-MNIST, batch 128.
    case mlp
    /// TensorFlow's 28×28 DCGAN on Fashion-MNIST, batch 128.
    case dcgan28
    /// The canonical 64×64 DCGAN, 3 channels, batch 64, synthetic images.
    case dcgan64
    /// The TensorFlow 1 CatDCGAN at 128×128, batch 16, synthetic images.
    case catdcgan
    /// SNGAN's standard CNN at 28×28 on Fashion-MNIST, batch 128, with its recipe (spectral norm
    /// in D, hinge loss, the generator's moving average).
    case sngan28
    /// FastGAN at 64×64, 3 channels, batch 32, synthetic images, with its recipe (spectral norm in
    /// G and D, hinge loss, DiffAugment colour and translation, EMA, D's reconstruction): the
    /// default for folders and the emoji set.
    case fastgan64 = "fastgan64"

    public var model: ModelConfig {
        switch self {
        case .mlp: return ModelConfig(preset: .mlp, imageSize: 28, channels: 1)
        case .dcganCPU28: return ModelConfig(preset: .dcganCPU, imageSize: 28, channels: 1)
        case .dcgan28: return ModelConfig(preset: .dcgan, imageSize: 28, channels: 1)
        case .dcgan64: return ModelConfig(preset: .dcgan, imageSize: 64, channels: 3)
        case .catdcgan: return ModelConfig(preset: .catdcgan, imageSize: 128, channels: 3)
        case .sngan28: return ModelConfig(preset: .sngan, imageSize: 28, channels: 1)
        case .fastgan64: return ModelConfig(preset: .fastgan, imageSize: 64, channels: 3)
        }
    }

    public var batchSize: Int {
        switch self {
        case .mlp, .dcgan28, .sngan28: return 128
        case .dcganCPU28, .fastgan64: return 32
        case .dcgan64: return 64
        case .catdcgan: return 16
        }
    }

    /// Real Fashion-MNIST for the 28×28 workloads; uniform noise images (4 batches) otherwise.
    public func dataset(fashionMNIST: String = DatasetLoader.defaultPath) throws -> ImageDataset {
        let m = model
        if m.imageSize == 28 { return try DatasetLoader.load(fashionMNIST) }
        let count = 4 * batchSize, bytes = count * m.imageSize * m.imageSize * m.channels
        let rng = RandomGenerator(seed: 1)
        let noise = Tensor.randomUniform([bytes], low: 0, high: 255.99, using: rng).scalars
        return ImageDataset(name: "synthetic \(m.imageSize)×\(m.imageSize)×\(m.channels)", count: count, height: m.imageSize,
                            width: m.imageSize, channels: m.channels, pixels: noise.map { UInt8($0) })
    }
}

/// One modern technique added to a workload's step, to measure what it costs.
public enum Ingredient: String, CaseIterable, Sendable {
    case none, spectralNorm = "spectral-norm", ema, augment, conditional
    /// The gradient penalties, each every step and every 16 (StyleGAN2's lazy regularization): R1,
    /// R2, WGAN-GP, and R3GAN's relativistic loss with R1 and R2.
    case r1, r1Lazy = "r1-every-16", r2, r2Lazy = "r2-every-16", wganGP = "wgan-gp", wganGPLazy = "wgan-gp-every-16"
    case rpganR1R2 = "rpgan+r1+r2", rpganR1R2Lazy = "rpgan+r1+r2-every-16"

    /// Adds the technique to `config`, for training on `dataset` (whose classes a conditional model draws).
    public func apply(to config: inout TrainingConfig, dataset: ImageDataset) {
        switch self {
        case .none: break
        case .spectralNorm: config.model.spectralNorm = .d
        case .ema: config.ema = 0.999
        case .augment: config.augment = DiffAugment.Operation.allCases
        case .conditional: config.model.classNames = dataset.classNames ?? []
        case .r1, .r1Lazy: config.r1 = 10
        case .r2, .r2Lazy: config.r2 = 10
        case .wganGP, .wganGPLazy: config.loss = .wganGP
        case .rpganR1R2, .rpganR1R2Lazy: config.loss = .rpgan; config.r1 = 1; config.r2 = 1
        }
        if rawValue.hasSuffix("-every-16") { config.penaltyEvery = 16 }
    }
}

/// Training and generation throughput of one workload, as a user's run sees it.
public enum TrainingBenchmark {
    public struct Result: Sendable {
        public var imagesPerSecond: Double
        public var stepSeconds: [Double]
        public var lossD: Float, lossG: Float
    }

    /// `warmup` untimed steps, then `steps` timed ones, of the `GANStep` a run makes with the
    /// default training settings (BCE, real label 0.9, Adam 2e-4, β 0.5/0.999), on batches from the
    /// background loader and the noise of each step as a run draws it, in `precision`. With `profile`, the timed
    /// steps are recorded in `Profiler.shared`.
    /// `batchSize` replaces the workload's batch (to weigh a smaller batch's cost per image).
    public static func training(_ w: Workload, steps: Int, warmup: Int, precision: Precision = .fp32,
                                profile: Bool = false, ingredient: Ingredient = .none, batchSize: Int? = nil,
                                dataParallel: DataParallel? = nil) throws -> Result {
        let dataset = try w.dataset()
        let batchSize = batchSize ?? w.batchSize
        var config = TrainingConfig(model: w.model, dataPath: dataset.name)
        config.batchSize = batchSize
        config.precision = precision
        ingredient.apply(to: &config, dataset: dataset)
        let gan = GANStep(config: config), state = TrainingState(config: config)
        if let dp = dataParallel { gan.gradientReduction = { dp.averageGradients($0) } }
        let batcher = Batcher(dataset, batchSize: batchSize, seed: 0)
        var times: [Double] = [], losses: (Float, Float) = (.nan, .nan)
        var epoch = 0, step = 0
        var batches = batcher.epoch(epoch)
        func nextBatch() -> Batch {
            if let b = batches.next() { return b }
            epoch += 1
            batches = batcher.epoch(epoch)
            return batches.next()!
        }
        func trainStep(_ batch: Batch) throws -> GANStepResult {
            defer { step += 1 }
            let n = batch.images.shape[0], k = config.model.classes
            let classes = k > 0 ? (Tensor.oneHot(batch.labels!, classes: k), Tensor.oneHot(state.fakeLabels(count: n, step: step), classes: k)) : nil
            var real = batch.images, noise = state.noise(count: n, step: step)
            if let dp = dataParallel { (real, noise) = (dp.slice(real), dp.slice(noise)) }
            return try gan(real: real, noise: noise, realClasses: classes.map { dataParallel?.slice($0.0) ?? $0.0 },
                           fakeClasses: classes.map { dataParallel?.slice($0.1) ?? $0.1 })
        }
        for _ in 0..<warmup { _ = try trainStep(nextBatch()) }
        if profile { Profiler.shared.reset(); Profiler.shared.enabled = true }
        defer { Profiler.shared.enabled = false }
        for _ in 0..<steps {
            let real = nextBatch()
            let t0 = now()
            let r = try trainStep(real)
            times.append(now() - t0)
            losses = (r.lossD, r.lossG ?? .nan)
        }
        let total = times.reduce(0, +)
        return Result(imagesPerSecond: Double(steps * batchSize) / total, stepSeconds: times,
                      lossD: losses.0, lossG: losses.1)
    }

    /// Images per second of generating `count` images as `swiftgan sample` does (`Sampler`:
    /// batch norms folded, batches of at most 64), after an untimed batch; with `profile`, the
    /// timed passes are recorded.
    public static func generation(_ w: Workload, count: Int, minimumSeconds: Double = 3, precision: Precision = .fp32,
                                  profile: Bool = false) -> (imagesPerSecond: Double, seconds: Double, passes: Int) {
        let (g, _) = Models.make(w.model, rng: RandomGenerator(seed: 0))
        let sampler = Sampler(generator: g, config: w.model, precision: precision)
        let z = sampler.noise(count: count, seed: 1)
        // Warm-up: one batch of the size the timed passes use.
        _ = sampler.generate(z.slice(axis: 0, offset: 0, length: Sampler.batches(for: count).size))
        if profile { Profiler.shared.reset(); Profiler.shared.enabled = true }
        defer { Profiler.shared.enabled = false }
        // The whole `count`, repeated until `minimumSeconds` have passed (1 000 MLP images take 30 ms).
        var passes = 0
        let t0 = now()
        repeat {
            _ = sampler.generate(z)
            passes += 1
        } while now() - t0 < minimumSeconds
        let seconds = now() - t0
        return (Double(passes * count) / seconds, seconds, passes)
    }

    /// This machine's arithmetic peak in GFLOP/s, measured: every core running independent vector
    /// multiply-adds at once (fp32 FMAs at the widest width the CPU has; bf16 dot products where it
    /// has AVX512-BF16, else nil), best of `repeats`. The ceiling any kernel's rate is a fraction
    /// of; a matrix product's rate (`sgemmPeak`) is already such a fraction.
    public static func arithmeticPeak(repeats: Int = 5, iterations: Int = 4_000_000) -> (fp32: Double, bf16: Double?) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        func measure(_ kernel: @Sendable (Int) -> Double) -> Double {
            var best = 0.0
            for _ in 0..<repeats {
                let t0 = now()
                let flops = Mutex(0.0)
                DispatchQueue.concurrentPerform(iterations: cores) { _ in
                    let done = kernel(iterations)
                    flops.withLock { $0 += done }
                }
                best = max(best, flops.withLock { $0 } / (now() - t0) / 1e9)
            }
            return best
        }
        let bf16 = sg_peak_bf16(1) > 0 ? measure { sg_peak_bf16($0) } : nil
        return (measure { sg_peak_fp32($0) }, bf16)
    }

    /// GFLOP/s of an n×n×n fp32 matrix product through the engine (oneDNN's sgemm), best of `repeats`.
    public static func sgemmPeak(n: Int = 2048, repeats: Int = 5) -> Double {
        let rng = RandomGenerator(seed: 2)
        let a = Tensor.randomNormal([n, n], using: rng), b = Tensor.randomNormal([n, n], using: rng)
        return withoutGrad {
            _ = a.matmul(b)
            var best = Double.infinity
            for _ in 0..<repeats {
                let t0 = now()
                _ = a.matmul(b)
                best = min(best, now() - t0)
            }
            return 2 * pow(Double(n), 3) / best / 1e9
        }
    }
}

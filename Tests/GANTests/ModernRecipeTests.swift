import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Datasets
import NN
import Tensors

/// The modern ingredients of a step: spectral norm, the generator's moving average, DiffAugment,
/// the SNGAN preset and `limit`.
@Suite(.serialized) struct ModernRecipeTests {
    /// The average against PyTorch's AveragedModel (fixed decay 0.9; Fixtures/golden/ema.py).
    @Test func movingAverageMatchesPyTorch() throws {
        let golden = try SafeTensors(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/golden/ema.safetensors").path).allTensors()
        let model = Sequential([Linear(3, 2), BatchNorm1d(2)]), copy = Sequential([Linear(3, 2), BatchNorm1d(2)])
        func load(_ m: Module, _ prefix: String) {
            for (name, p) in m.namedParameters() { p.assign(golden[prefix + name]!) }
        }
        load(model, "state.0.")
        let ema = ModuleAverage(of: model, into: copy, decay: 0.9, rampUp: false)
        for k in 1...3 {
            load(model, "state.\(k).")
            ema.update(step: k)
            for (name, p) in copy.namedParameters() {
                let expected = golden["ema.\(k).\(name)"]!.scalars
                let worst = zip(p.value.scalars, expected).map { abs($0 - $1) }.max()!
                #expect(worst < 1e-6, "after state \(k), \(name): \(worst)")
            }
        }
        // Buffers are copied, not averaged (StyleGAN's G_ema).
        for (a, s) in zip(copy.namedBuffers(), model.namedBuffers()) { #expect(a.buffer.value.scalars == s.buffer.value.scalars) }
    }

    /// The ramp-up is StyleGAN2's: ema_nimg = min(batch·ln 0.5 / ln β, 0.05 · images seen) and
    /// β_t = 0.5^(batch / ema_nimg), whatever the batch.
    @Test func rampUpIsStyleGAN2s() {
        let ema = ModuleAverage(of: Linear(2, 2), into: Linear(2, 2), decay: 0.999)
        for step in [1, 10, 100, 1_000, 10_000, 13_000, 20_000, 100_000] {
            let batch = 64.0, nimg = Double(step) * batch
            let emaNimg = min(batch * log(0.5) / log(0.999), nimg * 0.05)
            let expected = pow(0.5, batch / emaNimg)
            #expect(abs(Double(ema.beta(step: step)) - expected) < 1e-6, "step \(step): \(ema.beta(step: step)) vs \(expected)")
        }
    }

    static func modernConfig(epochs: Int) -> TrainingConfig {
        var c = tinyConfig(epochs: epochs)
        c.model.spectralNorm = .both
        c.ema = 0.99
        c.augment = DiffAugment.Operation.allCases
        return c
    }

    /// With spectral norm in both networks, the average and all three augmentations: two epochs in
    /// one go, or one then a resume (and a mid-epoch stop then a resume), are bitwise the same.
    @Test func resumeIsExactWithEverythingOn() throws {
        let data = brightSquares(64)
        let straight = try Trainer(config: Self.modernConfig(epochs: 2), dataset: data, runDirectory: scratch("modern-straight"))
        _ = try straight.run()
        let dir = scratch("modern-resumed")
        let first = try Trainer(config: Self.modernConfig(epochs: 2), dataset: data, runDirectory: dir)
        _ = try first.run(shouldStop: { first.state.step == 3 })
        let second = try Trainer.resume(runDirectory: dir, dataset: data)
        #expect(second.state.step == 3)
        _ = try second.run()
        #expect(straight.samplingGenerator !== straight.generator)
        #expect(trainedState(second) == trainedState(straight))
        // The checkpoint: the average in generator.safetensors, the trained weights beside it,
        // spectral norm under PyTorch's names.
        let checkpoint = try Checkpoint.resolve(dir)
        let averaged = try SafeTensors(contentsOf: checkpoint + "/generator.safetensors")
        let trained = try SafeTensors(contentsOf: checkpoint + "/generator-trained.safetensors")
        let name = try #require(second.samplingGenerator.namedParameters().first { $0.name.hasSuffix("weight_orig") }?.name)
        #expect(try averaged.tensor(name).scalars == second.samplingGenerator.namedParameters().first { $0.name == name }!.parameter.value.scalars)
        #expect(try trained.tensor(name).scalars == second.generator.namedParameters().first { $0.name == name }!.parameter.value.scalars)
        #expect(try averaged.tensor(name).scalars != trained.tensor(name).scalars)
        let d = try SafeTensors(contentsOf: checkpoint + "/discriminator.safetensors")
        #expect(d.names.contains { $0.hasSuffix(".weight_u") } && d.names.contains { $0.hasSuffix(".weight_v") })
        // The sampler loads the average.
        let sampler = try Sampler(checkpoint: dir)
        let z = sampler.noise(count: 4, seed: 1)
        #expect(sampler.generate(z).scalars == Sampler(generator: second.samplingGenerator, config: second.config.model).generate(z).scalars)
    }

    /// The augmentation differs between the calls of one step and between steps, and gradients
    /// reach G through it.
    @Test func augmentationReachesTheGeneratorsGradient() throws {
        var c = tinyConfig()
        c.augment = [.translation, .cutout]
        let gan = GANStep(config: c)
        let real = brightSquares(16).images(Array(0..<16))
        let z = c.model.noise(16, using: RandomGenerator(seed: 4))
        let before = gan.generator.parameters.map { $0.value.scalars }
        _ = try gan(real: real, noise: z)
        #expect(gan.criticCalls == 3)  // D on real, D on fake, D on fake in G's update
        #expect(gan.generator.parameters.map { $0.value.scalars } != before)
    }

    /// SNGAN at each size: output shapes, spectral norm in D only, hinge and the average by default.
    @Test(arguments: [28, 32, 64, 128])
    func snganAtEverySize(_ size: Int) throws {
        let m = ModelConfig(preset: .sngan, imageSize: size, channels: 3, width: 4)
        #expect(m.problem == nil && m.latent == 128 && m.spectralNorm == .d)
        let (g, d) = Models.make(m, rng: RandomGenerator(seed: 1))
        let images = g(m.noise(2, using: RandomGenerator(seed: 2)))
        #expect(images.shape == [2, 3, size, size])
        #expect(d(images).shape == [2, 1])
        #expect(d.hasSpectralNorm && !g.hasSpectralNorm)
        #expect(!d.namedModules().contains { $0.module is BatchNorm })
        let c = TrainingConfig(model: m, dataPath: "x")
        #expect(c.loss == .hinge && c.ema == 0.999 && c.augment.isEmpty)
        var small = c
        small.adapt(toDatasetOf: 2_000)
        #expect(small.augment == DiffAugment.Operation.allCases)
        #expect(ModelConfig(preset: .sngan, imageSize: 48, channels: 3).problem != nil)
    }

    /// The SNGAN recipe learns where the square is, as the DCGAN test does.
    @Test func snganLearns() throws {
        var config = TrainingConfig(model: ModelConfig(preset: .sngan, imageSize: 32, channels: 1, latent: 16, width: 8), dataPath: "memory")
        config.epochs = 12
        config.batchSize = 32
        config.learningRateG = 1e-3
        config.learningRateD = 1e-3
        config.seed = 3
        config.sampleEvery = 0
        config.sampleCount = 16
        config.ema = 0
        let (before, after) = try squareContrastBeforeAndAfterTraining(config, directory: "sngan-learn")
        #expect(abs(before) < 0.2, "contrast before training \(before)")
        #expect(after > 0.7, "contrast after training \(after)")
    }

    @Test func limitTakesTheFirstOrASeededRandomSubset() throws {
        let data = brightSquares(40)
        var c = tinyConfig()
        c.limit = 16
        let first = c.trainingSubset(of: data)
        #expect(first.count == 16 && first.pixels == Array(data.pixels.prefix(16 * data.imageBytes)))
        c.limitRandom = true
        let a = c.trainingSubset(of: data), b = c.trainingSubset(of: data)
        #expect(a.count == 16 && a.pixels == b.pixels && a.pixels != first.pixels)
        c.seed = 4
        #expect(c.trainingSubset(of: data).pixels != a.pixels)
        let trainer = try Trainer(config: c, dataset: data, runDirectory: scratch("limit"))
        #expect(trainer.dataset.count == 16 && trainer.totalSteps == 1)
    }
}

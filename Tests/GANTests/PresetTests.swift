import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import NN
import Tensors

@Suite struct PresetTests {
    @Test(arguments: [(ModelPreset.mlp, 28), (.dcgan, 28), (.dcgan, 32), (.dcgan, 64), (.dcgan, 128), (.dcgan, 256), (.catdcgan, 128),
                      (.fastgan, 32), (.fastgan, 64), (.fastgan, 128), (.fastgan, 256)])
    func everyPresetBuildsAndRoundTripsShapes(_ preset: ModelPreset, _ size: Int) {
        let c = ModelConfig(preset: preset, imageSize: size, channels: size >= 64 ? 3 : 1, latent: 10, width: 4)
        #expect(c.problem == nil)
        let (g, d) = Models.make(c, rng: RandomGenerator(seed: 1))
        let images = withoutGrad { g(c.noise(2, using: RandomGenerator(seed: 2))) }
        #expect(images.shape == [2, c.channels, size, size])
        #expect(images.scalars.allSatisfy { $0 >= -1 && $0 <= 1 })
        #expect(withoutGrad { d(images) }.shape == [2, 1])
    }

    @Test func unsupportedSizesAreRefusedWithTheSizeNamed() {
        #expect(ModelConfig(preset: .dcgan, imageSize: 48, channels: 3).problem == "dcgan is built for 28×28 or a power of two from 32 to 256, not 48×48")
        #expect(ModelConfig(preset: .catdcgan, imageSize: 64, channels: 3).problem == "catdcgan is built for 128×128, not 64×64")
        #expect(ModelConfig(preset: .dcgan, imageSize: 512, channels: 3).problem != nil)
        #expect(ModelConfig(preset: .fastgan, imageSize: 28, channels: 1).problem == "fastgan is built for 32, 64, 128 or 256 pixels, not 28×28")
    }

    /// FastGAN's discriminator reconstructs what it judges at half the size from its 8×8 features,
    /// from the same forward pass as its logits (which the decoder does not change), and its
    /// generator's skip-layer excitations gate the feature maps they name.
    @Test(arguments: [32, 64, 128])
    func fastGANsDecoderAndExcitations(_ size: Int) throws {
        let c = ModelConfig(preset: .fastgan, imageSize: size, channels: 3, latent: 8, width: 4)
        let (g, d) = Models.make(c, rng: RandomGenerator(seed: 1))
        #expect(c.spectralNorm == .both && g.hasSpectralNorm && d.hasSpectralNorm)
        let decoder = try #require(d.decoder)
        #expect(d.decoder!.hasSpectralNorm)
        d.setTraining(false)
        let x = Tensor.randomUniform([2, 3, size, size], low: -1, high: 1, using: RandomGenerator(seed: 3))
        let j = withoutGrad { d.judgement(x, classes: nil, reconstruct: true) }
        #expect(j.reconstruction?.shape == [2, 3, size / 2, size / 2])
        #expect(j.logits.scalars == withoutGrad { d(x) }.scalars)
        // The decoder reads D's 8×8 features.
        let features = withoutGrad { d.main.layers.prefix(d.decoderReads).reduce(x) { $1($0) } }
        #expect(features.shape[2...] == [8, 8])
        #expect(withoutGrad { decoder(features) }.scalars == j.reconstruction!.scalars)
        let gates = g.namedModules().compactMap { $0.module as? SkipExcitation }
        #expect(gates.count == (size >= 128 ? 2 : 1))
        #expect(g.namedParameters().contains { $0.name.hasPrefix("main.") && $0.name.contains(".gate.1.weight_orig") })
    }

    /// Parameter names and shapes of PyTorch's reference DCGAN (examples/dcgan/main.py), so its
    /// `RandomGenerator().load_state_dict(...)` accepts our file.
    @Test func canonicalDCGANHasPyTorchsStateDict() {
        let (g, d) = Models.make(ModelConfig(preset: .dcgan, imageSize: 64, channels: 3), rng: RandomGenerator(seed: 0))
        let gShapes = Dictionary(uniqueKeysWithValues: g.namedParameters().map { ($0.name, $0.parameter.shape) })
        #expect(gShapes == ["main.0.weight": [100, 512, 4, 4], "main.1.weight": [512], "main.1.bias": [512],
                            "main.3.weight": [512, 256, 4, 4], "main.4.weight": [256], "main.4.bias": [256],
                            "main.6.weight": [256, 128, 4, 4], "main.7.weight": [128], "main.7.bias": [128],
                            "main.9.weight": [128, 64, 4, 4], "main.10.weight": [64], "main.10.bias": [64],
                            "main.12.weight": [64, 3, 4, 4]])
        let dShapes = Dictionary(uniqueKeysWithValues: d.namedParameters().map { ($0.name, $0.parameter.shape) })
        #expect(dShapes == ["main.0.weight": [64, 3, 4, 4], "main.2.weight": [128, 64, 4, 4], "main.3.weight": [128], "main.3.bias": [128],
                            "main.5.weight": [256, 128, 4, 4], "main.6.weight": [256], "main.6.bias": [256],
                            "main.8.weight": [512, 256, 4, 4], "main.9.weight": [512], "main.9.bias": [512],
                            "main.11.weight": [1, 512, 4, 4]])
        #expect(g.namedBuffers().map(\.name).contains("main.1.running_var"))
        // DCGAN initialisation: weights N(0, 0.02), BN γ N(1, 0.02).
        let w = g.namedParameters()[0].parameter.value.scalars
        let std = (w.map { Double($0) * Double($0) }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.001)
    }

    @Test func lossesMatchTheirFormulas() {
        let real = Tensor([Float(2), -1], shape: [2, 1]), fake = Tensor([Float(0.5), -3], shape: [2, 1])
        func bce(_ x: Float, _ t: Float) -> Float { max(x, 0) - x * t + log1p(expf(-abs(x))) }
        let expectedBCE = (bce(2, 0.9) + bce(-1, 0.9)) / 2 + (bce(0.5, 0) + bce(-3, 0)) / 2
        #expect(abs(GANLoss.bce.discriminator(real: real, fake: fake, realTarget: 0.9).item - expectedBCE) < 1e-5)
        #expect(abs(GANLoss.bce.generator(fake: fake).item - (bce(0.5, 1) + bce(-3, 1)) / 2) < 1e-5)
        let ls = 0.5 * (((2 - 0.9) * (2 - 0.9) + (-1 - 0.9) * (-1 - 0.9)) / 2 + (0.25 + 9) / 2)
        #expect(abs(GANLoss.lsgan.discriminator(real: real, fake: fake, realTarget: 0.9).item - Float(ls)) < 1e-5)
        #expect(abs(GANLoss.hinge.discriminator(real: real, fake: fake, realTarget: 1).item - ((0 + 2) / 2 + (1.5 + 0) / 2)) < 1e-6)
        #expect(abs(GANLoss.hinge.generator(fake: fake).item - 1.25) < 1e-6)
        // With smoothing 0.9 a real logit of ln 9 (σ = 0.9) is already optimal: zero gradient.
        let x = Tensor([Float(log(9.0))], shape: [1, 1]).requiringGrad()
        GANLoss.bce.discriminator(real: x, fake: Tensor([Float(-50)], shape: [1, 1]), realTarget: 0.9).backward()
        #expect(abs(x.grad!.item) < 1e-6)
    }
}

/// The sampler runs each generator as an `InferencePlan`; it must produce the images that the
/// generator's own layers produce in evaluation mode, for every preset (after some training, so
/// the batch norms' running statistics are not the initial ones).
@Suite struct SamplerFusionTests {
    @Test(arguments: [(ModelPreset.mlp, 28), (.dcgan, 28), (.dcgan, 32), (.dcgan, 64), (.catdcgan, 128)])
    func samplerMatchesTheUnfusedGenerator(_ preset: ModelPreset, _ size: Int) {
        let c = ModelConfig(preset: preset, imageSize: size, channels: size >= 64 ? 3 : 1, latent: 12, width: 4)
        let (g, _) = Models.make(c, rng: RandomGenerator(seed: 1))
        // Two training-mode passes move the running statistics away from (0, 1).
        for s in 0..<2 { _ = withoutGrad { g(c.noise(8, using: RandomGenerator(seed: UInt64(10 + s)))) } }
        let sampler = Sampler(generator: g, config: c)
        let z = c.noise(Sampler.batchSize + 3, using: RandomGenerator(seed: 3))  // two batches
        let fused = sampler.generate(z)
        g.setTraining(false)
        let plain = withoutGrad { g(z) }
        let err = zip(fused.scalars, plain.scalars).map { abs($0 - $1) }.max()!
        #expect(fused.shape == plain.shape)
        #expect(err < 1e-5, "max abs difference \(err)")
        #expect(g.main.layers.contains { ($0 as? BatchNorm)?.runningMean.value.scalars.contains { $0 != 0 } ?? false })
    }
}

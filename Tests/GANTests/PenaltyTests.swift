import Foundation
import Testing
@testable import GANModels
@testable import GANTraining
import NN
import TestSupport
import Tensors

/// The gradient penalties in training: each learns the bright square, keeps D's input gradient
/// bounded where the unpenalized loss lets it grow without bound, resumes bitwise, and refuses
/// what it cannot do.
@Suite(.serialized) struct PenaltyTests {
    static func config(_ loss: GANLoss, r1: Float = 0, r2: Float = 0, every: Int = 1, epochs: Int = 8) -> TrainingConfig {
        var c = tinyConfig(epochs: epochs)
        c.loss = loss
        c.r1 = r1
        c.r2 = r2
        c.penaltyEvery = every
        return c
    }

    /// Each penalty learns the bright square in 5 epochs: R1, R2, WGAN-GP and R3GAN's recipe
    /// (rpgan + R1 + R2), lazily every 4 steps to keep the test short (every step is what the
    /// golden, resume and divergence tests run).
    @Test(arguments: [("r1", GANLoss.bce, Float(10), Float(0)), ("r2", .bce, 0, 1), ("wgan-gp", .wganGP, 0, 0), ("rpgan-r1-r2", .rpgan, 1, 1)])
    func learns(_ name: String, _ loss: GANLoss, _ r1: Float, _ r2: Float) throws {
        let started = Date()
        let (before, after) = try squareContrastBeforeAndAfterTraining(Self.config(loss, r1: r1, r2: r2, every: 4, epochs: 5),
                                                                       directory: "penalty-\(name)")
        print("penalty \(name): contrast \(before) → \(after) in \(Date().timeIntervalSince(started)) s")
        #expect(abs(before) < 0.2, "contrast before training \(before)")
        #expect(after > 0.7, "contrast after training \(after)")
    }

    /// 30 steps at a learning rate of 0.1. The Wasserstein loss without its penalty diverges: D's
    /// values drift apart without bound and so does its gradient at the data (|loss| ≈ 28,
    /// ‖∇ₓD‖ ≈ 180 here, and growing: 68 and 240 after 60 steps); with λ = 10 the gradient stays
    /// near 1 and the loss small. R1 shrinks the gradient at the real images (5× here) where plain
    /// BCE lets it be. (R2's effect on G's moving fakes is too noisy at this length to assert.)
    @Test func penaltiesBoundTheInputGradientWhereTheLossAloneDiverges() throws {
        let data = brightSquares(64)
        func train(_ loss: GANLoss, r1: Float = 0, r2: Float = 0, gp: Float = 0) throws -> (loss: Float, norm: Float, fakeNorm: Float) {
            var c = tinyConfig()
            c.learningRateD = 0.1; c.learningRateG = 0.1
            c.loss = loss; c.r1 = r1; c.r2 = r2; c.gradientPenaltyWeight = gp
            let gan = GANStep(config: c)
            var lossD = Float.nan
            for step in 0..<30 {
                let real = data.images(Array((step * 16 % 64)..<(step * 16 % 64 + 16)))
                lossD = try gan(real: real, noise: c.model.noise(16, using: RandomGenerator(seed: UInt64(step)))).lossD
            }
            let x = data.images(Array(0..<16)).requiringGrad()
            let fakes = withoutGrad { gan.generator(c.model.noise(16, using: RandomGenerator(seed: 1000))) }.requiringGrad()
            let norm = GradientPenalties.squaredGradientNorm(gan.discriminator(x), x).item.squareRoot()
            let fakeNorm = GradientPenalties.squaredGradientNorm(gan.discriminator(fakes), fakes).item.squareRoot()
            print("lr 0.1, \(loss) r1 \(r1) r2 \(r2) λ \(gp): lossD \(lossD), ‖∇D(x)‖ \(norm), ‖∇D(G(z))‖ \(fakeNorm)")
            return (lossD, norm, fakeNorm)
        }
        let wgan = try train(.wganGP), wganGP = try train(.wganGP, gp: 10)
        #expect(abs(wgan.loss) > 20 && wgan.norm > 50, "the unpenalized critic diverges: \(wgan)")
        #expect(wganGP.loss.isFinite && abs(wganGP.loss) < 5 && wganGP.norm > 0.5 && wganGP.norm < 2, "WGAN-GP holds ‖∇D‖ near 1: \(wganGP)")
        let bce = try train(.bce), r1 = try train(.bce, r1: 10)
        #expect(r1.norm < bce.norm / 3, "R1 shrinks ‖∇D‖ on the reals: \(r1.norm) against \(bce.norm)")
    }

    /// R3GAN's recipe on a conditional discriminator with spectral norm and all three augmentations,
    /// lazily every 2 steps, and WGAN-GP (its interpolation draws): 2 epochs straight, or stopped at
    /// step 3 and resumed, end bitwise the same.
    @Test(arguments: ["r3gan", "wgan-gp"])
    func resumeIsBitwiseWithPenalties(_ recipe: String) throws {
        var c = conditionalConfig(epochs: 2)
        c.batchSize = 8
        c.augment = DiffAugment.Operation.allCases
        c.model.spectralNorm = .d
        if recipe == "r3gan" { c.loss = .rpgan; c.r1 = 1; c.r2 = 1; c.penaltyEvery = 2 } else { c.loss = .wganGP }
        let data = leftRightSquares(32)
        let straight = try Trainer(config: c, dataset: data, runDirectory: scratch("penalty-straight-\(recipe)"))
        _ = try straight.run()
        let dir = scratch("penalty-resumed-\(recipe)")
        let first = try Trainer(config: c, dataset: data, runDirectory: dir)
        _ = try first.run(shouldStop: { first.state.step == 3 })
        let second = try Trainer.resume(runDirectory: dir, dataset: data)
        #expect(second.state.step == 3)
        _ = try second.run()
        #expect(second.state.step == 8)
        #expect(trainedState(second) == trainedState(straight))
        // The penalty is logged where it was applied.
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.contains { $0.contains("loss_d_penalty") })
    }

    /// In a bf16 run the steps that apply a penalty update D in fp32: D's update from the same
    /// images is bitwise the fp32 one (the penalty's second derivatives never pass bf16 kernels).
    @Test func bf16PenaltyStepsUpdateTheDiscriminatorInFP32() throws {
        guard Precision.bf16.isAvailable else {
            print("skipped: bf16 needs AVX512-BF16 or AMX-BF16 — \(Precision.bf16.unavailableReason ?? "")")
            return
        }
        let real = brightSquares(16).images(Array(0..<16))
        func step(_ precision: Precision) throws -> [[Float]] {
            var c = Self.config(.bce, r1: 10)
            c.precision = precision
            let gan = GANStep(config: c)
            let fake = withoutGrad { gan.generator(c.model.noise(16, using: RandomGenerator(seed: 8))) }
            _ = try Engine.withPrecision(precision) { try gan.updateDiscriminator(real: real, fake: fake) }
            return gan.discriminator.parameters.map { $0.value.scalars }
        }
        #expect(try step(.bf16) == step(.fp32))
    }

    /// What cannot work is refused before training, in words; `discriminatorHasBatchNorm` is what
    /// each preset builds.
    @Test func refusals() {
        for preset in ModelPreset.allCases {
            let m = ModelConfig(preset: preset, imageSize: preset.defaultImageSize, channels: 1, width: 4)
            let (_, d) = Models.make(m, rng: RandomGenerator(seed: 1))
            #expect(m.discriminatorHasBatchNorm == d.namedModules().contains { $0.module is BatchNorm }, "\(preset)")
        }
        var c = Self.config(.bce, r1: 10)
        c.syncBatchNorm = true
        #expect(c.problem?.contains("synchronized batch norm") == true)
        c.model = ModelConfig(preset: .sngan, imageSize: 32, channels: 1, width: 4)
        #expect(c.problem == nil)
        c.r1 = -1
        #expect(c.problem?.contains("R1") == true, "\(c.problem ?? "")")
        c.r1 = 0
        c.penaltyEvery = 0
        #expect(c.problem != nil)
    }
}

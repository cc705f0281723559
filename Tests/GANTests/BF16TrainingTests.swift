import Datasets
import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import NN
import Tensors

/// `--precision bf16` end to end: the GANStep of the 64×64 DCGAN (cut down) in bf16 takes nearly the
/// step fp32 takes, keeps its master weights and Adam moments in fp32, and a run resumes in bf16.
/// Skipped, with the reason printed, on CPUs without bf16 dot products.
@Suite(.serialized, .enabled(if: Precision.bf16.isAvailable, "bf16 needs AVX512-BF16 or AMX-BF16: \(Precision.bf16.unavailableReason ?? "")"))
struct BF16TrainingTests {
    static func config(_ precision: Precision) -> TrainingConfig {
        var c = TrainingConfig(model: ModelConfig(preset: .dcgan, imageSize: 64, channels: 3, latent: 32, width: 16), dataPath: "memory")
        c.batchSize = 8
        c.precision = precision
        return c
    }

    @Test func aBF16StepIsTheFP32StepWithinBF16Rounding() throws {
        let fp32 = GANStep(config: Self.config(.fp32)), bf16 = GANStep(config: Self.config(.bf16))
        let real = Tensor.randomUniform([8, 3, 64, 64], low: -1, high: 1, using: RandomGenerator(seed: 3))
        let noise = Tensor.randomNormal([8, 32, 1, 1], using: RandomGenerator(seed: 4))
        let a = try fp32(real: real, noise: noise), b = try bf16(real: real, noise: noise)
        #expect(abs(a.lossD - b.lossD) < 0.02 * abs(a.lossD), "D loss \(a.lossD) vs \(b.lossD)")
        #expect(abs(a.lossG! - b.lossG!) < 0.02 * abs(a.lossG!), "G loss \(a.lossG!) vs \(b.lossG!)")
        // Adam's first step moves each weight by about ±lr whatever the gradient's size, so compare
        // the first moments (a tenth of the gradients) instead, by direction: at initialisation a
        // weight gradient is a sum over the batch that mostly cancels, so bf16's rounding (2⁻⁸ of
        // each term) leaves ~10% of the small remainder (measured: 6–12% in norm here, and the same
        // 6–15% in fp32 when the weights are perturbed by 2⁻⁸ instead), but the direction holds
        // (cosine ≥ 0.97; the lowest, 0.979, is G's first batch-norm bias since D's image layer
        // runs bf16 too); a wrong kernel or layout gives no correlation at all.
        for (optimizerA, optimizerB) in [(fp32.optimizerD, bf16.optimizerD), (fp32.optimizerG, bf16.optimizerG)] {
            for (x, y) in zip(optimizerA.stateTensors(), optimizerB.stateTensors()) where x.name.hasSuffix("exp_avg") {
                let u = x.tensor.scalars.map(Double.init), v = y.tensor.scalars.map(Double.init)
                let dot = zip(u, v).map { $0 * $1 }.reduce(0, +)
                let norms = u.map { $0 * $0 }.reduce(0, +).squareRoot() * v.map { $0 * $0 }.reduce(0, +).squareRoot()
                #expect(dot / norms >= 0.97, "\(x.name): cosine \(dot / norms)")
                #expect(u != v, "\(x.name): bf16 equals fp32 exactly: no bf16 rounding happened")
            }
        }
        // The master weights stay fp32: a parameter holds values bf16 cannot represent.
        let w = bf16.generator.parameters[0].value.scalars
        #expect(w.contains { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) != $0 })
    }

    @Test func aBF16RunResumesInBF16() throws {
        let rng = RandomGenerator(seed: 5)
        let data = ImageDataset(name: "noise", count: 16, height: 64, width: 64, channels: 3,
                                pixels: Tensor.randomUniform([16 * 64 * 64 * 3], low: 0, high: 255.99, using: rng).scalars.map { UInt8($0) })
        var c = Self.config(.bf16)
        c.epochs = 2
        c.sampleEvery = 0
        c.sampleCount = 8
        let dir = scratch("bf16-run")
        let first = try Trainer(config: c, dataset: data, runDirectory: dir)
        _ = try first.run(shouldStop: { first.state.step == 2 })
        let resumed = try Trainer.resume(runDirectory: dir, dataset: data)
        #expect(resumed.config.precision == .bf16 && resumed.gan.precision == .bf16)
        _ = try resumed.run()
        #expect(resumed.state.step == 4)
    }
}

import Foundation
import Testing
@testable import GANModels
@testable import GANTraining
import Datasets
import NN
import Tensors

/// `dcgan-cpu`, what `swiftgan train` trains unless told otherwise: DCGAN's layers with the recipe
/// the recipe search chose (batches of 32, the generator's moving average), while `--model dcgan`
/// stays the tutorial.
@Suite(.serialized) struct DefaultPresetTests {
    @Test func theDefaultIsDCGANCPUWithBatch32AndTheAverage() throws {
        #expect(GivenSettings().preset == .dcganCPU)
        let data = brightSquares(64)
        let config = try GivenSettings().configuration(for: data)
        #expect(config.model.preset == .dcganCPU)
        #expect(config.batchSize == 32 && config.ema == 0.999)
        // Everything else is the tutorial's.
        #expect(config.loss == .bce && config.realLabel == 0.9 && config.learningRateG == 2e-4 && config.learningRateD == 2e-4
                && config.beta1 == 0.5 && config.dSteps == 1 && config.augment.isEmpty && config.r1 == 0)
        // The tutorial keeps its batch of 128 and trains without the average.
        let tutorial = try GivenSettings([try ModelSettings.model.parse("dcgan")]).configuration(for: data)
        #expect(tutorial.model.preset == .dcgan && tutorial.batchSize == 128 && tutorial.ema == 0)
        // A given value wins over the preset's.
        let given = try GivenSettings([try TrainingSettings.batchSize.parse("64"), try TrainingSettings.ema.parse("0")]).configuration(for: data)
        #expect(given.batchSize == 64 && given.ema == 0)
        // The help and the README name the default preset's value and the others'.
        #expect(TrainingSettings.describeDefault(of: TrainingSettings.batchSize) == "128 (dcgan-cpu: 32, fastgan: 32)")
        #expect(TrainingSettings.describeDefault(of: TrainingSettings.ema) == "0.999 (mlp: 0.0, dcgan: 0.0, catdcgan: 0.0)")
        #expect(TrainingSettings.describeDefault(of: ModelSettings.model) == "dcgan-cpu (folders and emoji: fastgan)")
    }

    /// Pictures drawn at the model's size — a folder of photos, the emoji set — train FastGAN
    /// unless a model is named (the colour search's choice), with its recipe; the fixed-size
    /// datasets keep dcgan-cpu.
    @Test func foldersAndTheEmojiSetDefaultToFastGAN() throws {
        let folder = scratch("default-preset-folder")
        for data in [folder, "emoji"] {
            let given = GivenSettings([try TrainingSettings.dataPath.parse(data)])
            #expect(given.preset == .fastgan && given.value(ModelSettings.model) == .fastgan, "\(data)")
            #expect(given.imageSize == 64 && given.value(TrainingSettings.batchSize) == 32, "\(data)")
            let named = GivenSettings([try TrainingSettings.dataPath.parse(data), try ModelSettings.model.parse("dcgan-cpu")])
            #expect(named.preset == .dcganCPU, "\(data)")
        }
        let config = try GivenSettings([try TrainingSettings.dataPath.parse(folder)]).configuration(for: brightSquares(64))
        #expect(config.model.preset == .fastgan && config.model.spectralNorm == .both && config.model.width == 16)
        #expect(config.loss == .hinge && config.realLabel == 1 && config.ema == 0.999 && config.augment == [.color, .translation])
    }

    /// The same parameters (names, shapes and initial values from the same seed), buffers and
    /// latent shape as `dcgan` at every size: its checkpoints are DCGAN's.
    @Test(arguments: [28, 32, 64, 128])
    func itBuildsDCGANsLayersAtEverySize(_ size: Int) {
        let mine = ModelConfig(preset: .dcganCPU, imageSize: size, channels: size >= 64 ? 3 : 1, latent: 10, width: 4)
        let tutorial = ModelConfig(preset: .dcgan, imageSize: size, channels: size >= 64 ? 3 : 1, latent: 10, width: 4)
        #expect(mine.problem == nil && mine.latentShape(2) == tutorial.latentShape(2) && mine.discriminatorHasBatchNorm)
        let (g, d) = Models.make(mine, rng: RandomGenerator(seed: 5))
        let (tg, td) = Models.make(tutorial, rng: RandomGenerator(seed: 5))
        func values(_ m: Module) -> [String: [Float]] {
            Dictionary(uniqueKeysWithValues: m.namedParameters().map { ($0.name, $0.parameter.value.scalars) }
                + m.namedBuffers().map { ($0.name, $0.buffer.value.scalars) })
        }
        #expect(values(g) == values(tg) && values(d) == values(td))
        #expect(!values(g).isEmpty && !values(d).isEmpty)
        #expect(ModelConfig(preset: .dcganCPU, imageSize: 48, channels: 3).problem
                == "dcgan-cpu is built for 28×28 or a power of two from 32 to 256, not 48×48")
    }

    /// `tinyConfig` of the default preset, with the preset's batch and average.
    func defaultConfig(epochs: Int) -> TrainingConfig { tinyConfig(preset: .dcganCPU, epochs: epochs, batchSize: nil) }

    /// With its own batch and average: the averaged generator (what sampling uses) draws the
    /// square where the data has it.
    @Test func itLearnsWhereTheSquareIs() throws {
        let config = defaultConfig(epochs: 12)
        #expect(config.batchSize == 32 && config.ema == 0.999)
        let (before, after) = try squareContrastBeforeAndAfterTraining(config, directory: "default-learn") { trainer in
            #expect(trainer.samplingGenerator !== trainer.generator)
        }
        #expect(abs(before) < 0.2, "contrast before training \(before)")
        #expect(after > 0.7, "contrast after training \(after)")
    }

    /// Two epochs straight, or stopped mid-epoch and resumed: bitwise the same weights, average and
    /// batch-norm statistics.
    @Test func resumeIsBitwise() throws {
        let data = brightSquares(96)
        let straight = try Trainer(config: defaultConfig(epochs: 2), dataset: data, runDirectory: scratch("default-straight"))
        _ = try straight.run()
        let dir = scratch("default-resumed")
        let first = try Trainer(config: defaultConfig(epochs: 2), dataset: data, runDirectory: dir)
        _ = try first.run(shouldStop: { first.state.step == 2 })
        let second = try Trainer.resume(runDirectory: dir, dataset: data)
        #expect(second.state.step == 2 && second.config.batchSize == 32 && second.config.ema == 0.999)
        _ = try second.run()
        #expect(second.state.step == 6 && straight.state.step == 6)
        #expect(trainedState(second) == trainedState(straight))
    }
}

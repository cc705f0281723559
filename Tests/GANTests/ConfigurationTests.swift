import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import NN
import Tensors

/// One configuration: defaults in one place, older files decoding to them, checkpoints of today's
/// format loading unchanged.
@Suite struct ConfigurationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// A checkpoint written by swiftgan 0.6.0 (format 1, see Fixtures/README.md) loads, resumes its
    /// optimizers, and its generator draws the images that version drew (to float rounding: the
    /// engine's kernels may change between versions, the weights may not).
    @Test func aCheckpointOfTheFirstFormatStillLoads() throws {
        let checkpoint = Self.fixtures + "/checkpoint-format1"
        let state = try Checkpoint.readState(checkpoint)
        #expect(state.formatVersion == 1 && state.step == 2 && state.adamStepsD == 2)
        #expect(state.config.model == ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 8, width: 4))
        #expect(state.config.batchSize == 8 && state.config.maxSteps == 2 && state.config.learningRateG == 2e-4)
        let gan = GANStep(config: state.config)
        let restored = try Checkpoint.restore(checkpoint, into: gan)
        #expect(restored == state)
        #expect(gan.optimizerG.stepCount == 2 && gan.optimizerD.stepCount == 2)
        let images = try Sampler(checkpoint: checkpoint).generate(Sampler(checkpoint: checkpoint).noise(count: 4, seed: 1)).scalars
        let expected = try Self.readNPY(Self.fixtures + "/checkpoint-format1-samples-seed1.npy")
        #expect(images.count == expected.count)
        let difference = zip(images, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference < 1e-5, "the images differ by up to \(difference)")
    }

    /// Only the model and the data are required: every other setting of an older or hand-written
    /// state.json takes the one default that new runs and the CLI use.
    @Test func missingSettingsDecodeToTheDefaults() throws {
        let model = ModelConfig(preset: .mlp, imageSize: 28, channels: 1)
        let minimal = #"{"config": {"model": {"preset": "mlp", "imageSize": 28, "channels": 1, "latent": 100, "width": 64, "noise": "normal"}, "dataPath": "x"}}"#
        let state = try JSONDecoder().decode(TrainingState.self, from: Data(minimal.utf8))
        #expect(state == TrainingState(config: TrainingConfig(model: model, dataPath: "x")))
        #expect(state.config.batchSize == 128 && state.config.epochs == 5 && state.config.realLabel == 0.9)
        // And what is written reads back the same.
        var config = TrainingConfig(model: model, dataPath: "y")
        config.evalEvery = 2
        config.maxSteps = 7
        #expect(try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(config)) == config)
        // A file without a model is still an error, not a silent default.
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TrainingState.self, from: Data(#"{"config": {"dataPath": "x"}}"#.utf8)) }
    }

    @Test func presetsCarryTheirImageSize() {
        #expect(ModelPreset.allCases.map(\.defaultImageSize) == [28, 64, 128, 64, 64, 64])
        for preset in ModelPreset.allCases {
            #expect(ModelConfig(preset: preset, imageSize: preset.defaultImageSize, channels: 3).problem == nil)
        }
    }

    /// Little-endian float32 `.npy` (version 1 header).
    static func readNPY(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let body = data.dropFirst(10 + headerLength)
        return body.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

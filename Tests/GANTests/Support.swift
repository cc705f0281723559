import Datasets
import Foundation
import GANEvaluation
import GANExport
import GANModels
import GANTraining
import Testing
import Tensors
@_exported import TestSupport

/// Every value a run carries between steps: the parameters and buffers of G, D and the sampling
/// generator (the average, when there is one): two runs that compute the same have equal states.
func trainedState(_ t: Trainer) -> [[Float]] {
    (t.generator.parameters + t.discriminator.parameters + t.samplingGenerator.parameters).map { $0.value.scalars }
        + (t.generator.namedBuffers() + t.discriminator.namedBuffers() + t.samplingGenerator.namedBuffers()).map { $0.buffer.value.scalars }
}

/// A small, fast configuration for tests; `batchSize` nil leaves the preset's own.
func tinyConfig(_ data: String = "memory", preset: ModelPreset = .dcgan, size: Int = 32, epochs: Int = 1,
                batchSize: Int? = 16) -> TrainingConfig {
    var c = TrainingConfig(model: ModelConfig(preset: preset, imageSize: size, channels: 1, latent: 16, width: 8), dataPath: data)
    c.epochs = epochs
    if let batchSize { c.batchSize = batchSize }
    c.learningRateG = 1e-3
    c.learningRateD = 1e-3
    c.seed = 3
    c.sampleEvery = 0
    c.sampleCount = 16
    c.checkpointEvery = 1
    c.logEvery = 5
    return c
}

/// Trains `config` on 256 bright-square images and returns the square contrast of the generator
/// that samples (the average, when the run keeps one) on 64 fixed latents before and after (the
/// data's contrast is about 1.5 in [-1, 1] units: bright ≈ 0.85, background ≈ −0.77): the proof
/// that something was learned. `afterTraining` sees the trainer once it has run.
func squareContrastBeforeAndAfterTraining(_ config: TrainingConfig, directory: String,
                                          afterTraining: (Trainer) -> Void = { _ in }) throws -> (before: Float, after: Float) {
    let trainer = try Trainer(config: config, dataset: brightSquares(256), runDirectory: scratch(directory))
    let z = trainer.config.model.noise(64, using: RandomGenerator(seed: 99))
    func contrast() -> Float {
        squareContrast(Sampler(generator: trainer.samplingGenerator, config: trainer.config.model).generate(z).scalars, count: 64, size: 32)
    }
    let before = contrast()
    _ = try trainer.run()
    afterTraining(trainer)
    return (before, contrast())
}

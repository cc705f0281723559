import Datasets
import Foundation
import GAN
import Testing
@_exported import TestSupport

/// A small, fast configuration for tests.
func tinyConfig(_ data: String = "memory", preset: ModelPreset = .dcgan, size: Int = 32, epochs: Int = 1) -> TrainingConfig {
    var c = TrainingConfig(model: ModelConfig(preset: preset, imageSize: size, channels: 1, latent: 16, width: 8), dataPath: data)
    c.epochs = epochs
    c.batchSize = 16
    c.learningRateG = 1e-3
    c.learningRateD = 1e-3
    c.seed = 3
    c.sampleEvery = 0
    c.sampleCount = 16
    c.checkpointEvery = 1
    c.logEvery = 5
    return c
}

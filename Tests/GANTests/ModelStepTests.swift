import GANEvaluation
import GANExport
import GANModels
import GANTraining
import NN
import Tensors
import Testing

/// Full training steps of the tutorials' model shapes (small batches): no oneDNN reference kernel,
/// no primitive created and no buffer allocated once warm.
@Suite struct ModelStepTests {
    /// The step a run takes (`GANStep`: BCE, real label 0.9, Adam 2e-4 with β1 0.5) on random
    /// batches, twice to warm up and twice measured.
    static func check(_ name: String, g: Sequential, d: Sequential, z: [Int], image: [Int]) throws {
        Engine.removeCachedPrimitives()
        let gan = GANStep(generator: g, discriminator: d, optimizerG: Adam(g, learningRate: 2e-4, beta1: 0.5),
                          optimizerD: Adam(d, learningRate: 2e-4, beta1: 0.5))
        let rng = RandomGenerator(seed: 5)
        func step() throws {
            _ = try gan(real: Tensor.randomUniform(image, low: -1, high: 1, using: rng), noise: Tensor.randomNormal(z, using: rng))
        }
        for _ in 0..<2 { try step() }
        let warm = Engine.statistics
        for _ in 0..<2 { try step() }
        let after = Engine.statistics
        #expect(after.referenceKernels.isEmpty, "\(name): reference kernels \(after.referenceKernels)")
        #expect(after.primitivesCreated == warm.primitivesCreated, "\(name): primitives created in steady state")
        #expect(after.allocations == warm.allocations, "\(name): buffers allocated in steady state")
    }

    @Test func canonicalDCGAN64() throws {
        let g = Sequential(
            ConvTranspose2d(100, 512, kernelSize: 4, bias: false), BatchNorm2d(512), ReLU(),
            ConvTranspose2d(512, 256, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false), BatchNorm2d(256), ReLU(),
            ConvTranspose2d(256, 128, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false), BatchNorm2d(128), ReLU(),
            ConvTranspose2d(128, 64, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false), BatchNorm2d(64), ReLU(),
            ConvTranspose2d(64, 3, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false), Tanh())
        let d = Sequential(
            Conv2d(3, 64, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false), LeakyReLU(0.2),
            Conv2d(64, 128, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false), BatchNorm2d(128), LeakyReLU(0.2),
            Conv2d(128, 256, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false), BatchNorm2d(256), LeakyReLU(0.2),
            Conv2d(256, 512, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false), BatchNorm2d(512), LeakyReLU(0.2),
            Conv2d(512, 1, kernelSize: 4, bias: false), Flatten())
        try Self.check("DCGAN 64", g: g, d: d, z: [4, 100, 1, 1], image: [4, 3, 64, 64])
    }

    @Test func tensorFlowDCGAN28() throws {
        let g = Sequential(
            Linear(100, 7 * 7 * 256, bias: false), BatchNorm1d(7 * 7 * 256), LeakyReLU(0.2), Reshape([256, 7, 7]),
            ConvTranspose2d(256, 128, kernelSize: 5, padding: .same, bias: false), BatchNorm2d(128), LeakyReLU(0.2),
            ConvTranspose2d(128, 64, kernelSize: 5, stride: 2, padding: .same, bias: false), BatchNorm2d(64), LeakyReLU(0.2),
            ConvTranspose2d(64, 1, kernelSize: 5, stride: 2, padding: .same, bias: false), Tanh())
        let d = Sequential(
            Conv2d(1, 64, kernelSize: 5, stride: 2, padding: .same), LeakyReLU(0.2), Dropout(0.3, rng: RandomGenerator(seed: 1)),
            Conv2d(64, 128, kernelSize: 5, stride: 2, padding: .same), LeakyReLU(0.2), Dropout(0.3, rng: RandomGenerator(seed: 2)),
            Flatten(), Linear(128 * 7 * 7, 1))
        try Self.check("DCGAN 28", g: g, d: d, z: [4, 100], image: [4, 1, 28, 28])
    }

    @Test func kerasMLPGAN() throws {
        let g = Sequential(
            Linear(100, 128), LeakyReLU(0.2),
            Linear(128, 256), BatchNorm1d(256, momentum: 0.9, epsilon: 0.8), LeakyReLU(0.2),
            Linear(256, 512), BatchNorm1d(512, momentum: 0.9, epsilon: 0.8), LeakyReLU(0.2),
            Linear(512, 1024), BatchNorm1d(1024, momentum: 0.9, epsilon: 0.8), LeakyReLU(0.2),
            Linear(1024, 784), Tanh(), Reshape([1, 28, 28]))
        let d = Sequential(Flatten(), Linear(784, 512), LeakyReLU(0.2), Linear(512, 256), LeakyReLU(0.2), Linear(256, 1))
        try Self.check("MLP", g: g, d: d, z: [8, 100], image: [8, 1, 28, 28])
    }
}

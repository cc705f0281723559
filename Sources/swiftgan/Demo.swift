import ArgumentParser
import Foundation
import NN
import Tensors

/// A short end-to-end run of the engine: a small convolutional network learns to tell
/// horizontal from vertical bars in noisy 16×16 images, and its loss falls as it learns.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small convolutional network on synthetic images and print its loss falling.")

    @Option(help: "Training steps.") var steps = 200
    @Option(help: "Images per batch.") var batchSize = 32
    @Option(help: "Random seed (same seed, same run).") var seed: UInt64 = 0

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive, got \(steps)") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
    }

    /// A batch of noisy images, each with one bar; label 1 for vertical bars.
    static func bars(_ n: Int, _ rng: RandomGenerator) -> (images: Tensor, labels: Tensor) {
        var pixels = [Float](repeating: 0, count: n * 16 * 16), labels = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let vertical = rng.uniform() < 0.5, at = Int(rng.nextUInt32() % 12) + 2
            labels[i] = vertical ? 1 : 0
            for r in 0..<16 { for c in 0..<16 {
                let on = vertical ? (c == at || c == at + 1) : (r == at || r == at + 1)
                pixels[i * 256 + r * 16 + c] = (on ? 1 : -1) + 0.6 * (rng.uniform() * 2 - 1)
            } }
        }
        return (Tensor(pixels, shape: [n, 1, 16, 16]), Tensor(labels, shape: [n, 1]))
    }

    func run() throws {
        let rng = RandomGenerator(seed: seed)
        let model = Sequential(
            Conv2d(1, 16, kernelSize: 4, stride: 2, padding: .explicit(1, 1), rng: rng), LeakyReLU(0.2),
            Conv2d(16, 32, kernelSize: 4, stride: 2, padding: .explicit(1, 1), rng: rng), BatchNorm2d(32), LeakyReLU(0.2),
            Flatten(), Linear(32 * 4 * 4, 1, rng: rng))
        let adam = Adam(model, learningRate: 2e-3, beta1: 0.5)
        say("SwiftGAN demo on \(Engine.name): \(model.parameterCount) parameters, \(steps) steps of \(batchSize) images")
        let start = Date()
        var recent: [Float] = []
        for step in 1...steps {
            let (x, y) = Self.bars(batchSize, rng)
            adam.zeroGrad()
            let loss = Tensor.binaryCrossEntropy(logits: model(x), targets: y)
            loss.backward()
            adam.step()
            recent.append(loss.item)
            if step % max(steps / 10, 1) == 0 || step == 1 {
                let mean = recent.reduce(0, +) / Float(recent.count)
                say(String(format: "step %4d/%d  loss %.4f", step, steps, mean))
                recent.removeAll()
            }
        }
        model.setTraining(false)
        let (x, y) = Self.bars(1000, rng)
        let predicted = withoutGrad { model(x) }.scalars.map { $0 > 0 ? Float(1) : 0 }
        let accuracy = zip(predicted, y.scalars).filter { $0 == $1 }.count
        say(String(format: "held-out accuracy %.1f%% on 1000 new images; %.2f s", Double(accuracy) / 10,
                   Date().timeIntervalSince(start)))
    }
}

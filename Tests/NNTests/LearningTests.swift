import Testing
@testable import NN
import Tensors

@Suite struct LearningTests {
    @Test func anMLPLearnsXOR() {
        let rng = RandomGenerator(seed: 1)
        let model = Sequential(Linear(2, 8, rng: rng), Tanh(), Linear(8, 1, rng: rng))
        let x = Tensor([Float(0), 0, 0, 1, 1, 0, 1, 1], shape: [4, 2])
        let y = Tensor([Float(0), 1, 1, 0], shape: [4, 1])
        let adam = Adam(model, learningRate: 0.05)
        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            adam.zeroGrad()
            let loss = Tensor.binaryCrossEntropy(logits: model(x), targets: y)
            loss.backward()
            adam.step()
            if step == 0 { first = loss.item }
            last = loss.item
        }
        #expect(first > 0.6 && last < 0.05, "loss \(first) → \(last)")
        let predictions = model(x).sigmoid().scalars.map { $0 > 0.5 ? 1 : 0 }
        #expect(predictions == [0, 1, 1, 0])
    }

    /// A small conv net with batch norm and dropout overfits 8 images to their labels.
    @Test func aConvNetOverfitsAFewImages() {
        let rng = RandomGenerator(seed: 2)
        let model = Sequential(Conv2d(1, 8, kernelSize: 3, stride: 2, padding: .explicit(1, 1), rng: rng),
                               BatchNorm2d(8), LeakyReLU(0.2), Dropout(0.1, rng: rng),
                               Conv2d(8, 16, kernelSize: 3, stride: 2, padding: .explicit(1, 1), rng: rng),
                               LeakyReLU(0.2), Flatten(), Linear(16 * 2 * 2, 1, rng: rng))
        let x = Tensor.randomNormal([8, 1, 8, 8], using: rng)
        let y = Tensor([Float(0), 1, 1, 0, 1, 0, 0, 1], shape: [8, 1])
        let adam = Adam(model, learningRate: 0.01)
        var losses: [Float] = []
        for _ in 0..<150 {
            adam.zeroGrad()
            let loss = Tensor.binaryCrossEntropy(logits: model(x), targets: y)
            loss.backward()
            adam.step()
            losses.append(loss.item)
        }
        #expect(losses[0] > 0.5 && losses.last! < 0.05, "loss \(losses[0]) → \(losses.last!)")
        model.setTraining(false)
        #expect(model(x).scalars.map { $0 > 0 ? Float(1) : 0 } == y.scalars)
    }

    /// Same seed, same thread count: bitwise the same parameters after a few GAN-like steps.
    @Test func trainingIsBitwiseReproducible() {
        func train() -> [[Float]] {
            let rng = RandomGenerator(seed: 42)
            let g = Sequential(Linear(4, 32, rng: rng), BatchNorm1d(32), ReLU(), Reshape([2, 4, 4]),
                               ConvTranspose2d(2, 1, kernelSize: 4, stride: 2, padding: .explicit(1, 1), rng: rng), Tanh())
            let d = Sequential(Conv2d(1, 8, kernelSize: 4, stride: 2, padding: .explicit(1, 1), rng: rng),
                               LeakyReLU(0.2), Dropout(0.3, rng: rng), Flatten(), Linear(8 * 4 * 4, 1, rng: rng))
            let optG = Adam(g, learningRate: 2e-4, beta1: 0.5), optD = Adam(d, learningRate: 2e-4, beta1: 0.5)
            for _ in 0..<5 {
                let real = Tensor.randomUniform([6, 1, 8, 8], low: -1, high: 1, using: rng)
                let fake = g(Tensor.randomNormal([6, 4], using: rng))
                optD.zeroGrad()
                (Tensor.binaryCrossEntropy(logits: d(real), target: 0.9)
                 + Tensor.binaryCrossEntropy(logits: d(fake.detached), target: 0)).backward()
                optD.step()
                optG.zeroGrad()
                d.setRequiresGrad(false)
                Tensor.binaryCrossEntropy(logits: d(fake), target: 1).backward()
                d.setRequiresGrad(true)
                optG.step()
            }
            return (g.parameters + d.parameters).map { $0.value.scalars }
        }
        let a = train(), b = train()
        #expect(a == b)
        #expect(a.flatMap { $0 }.allSatisfy { $0.isFinite })
    }
}

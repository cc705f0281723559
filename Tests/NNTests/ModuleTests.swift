import Testing
@testable import NN
import Tensors

/// PyTorch's reference DCGAN generator, narrowed: names must match its state_dict.
final class TinyGenerator: Module {
    let main = Sequential(
        ConvTranspose2d(8, 16, kernelSize: 4, stride: 1, padding: .valid, bias: false),
        BatchNorm2d(16), ReLU(),
        ConvTranspose2d(16, 3, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false),
        Tanh())
    func callAsFunction(_ x: Tensor) -> Tensor { main(x) }
}

@Suite struct ModuleTests {
    @Test func namesFollowPyTorchStateDict() {
        let g = TinyGenerator()
        #expect(g.namedParameters().map(\.name) == ["main.0.weight", "main.1.weight", "main.1.bias", "main.3.weight"])
        #expect(g.namedBuffers().map(\.name) == ["main.1.running_mean", "main.1.running_var", "main.1.num_batches_tracked"])
        #expect(g.namedParameters()[0].parameter.shape == [8, 16, 4, 4])  // ConvTranspose2d: [in, out, k, k]
        #expect(g.parameterCount == 8 * 16 * 16 + 16 + 16 + 16 * 3 * 16)
        let y = g(Tensor.randomNormal([2, 8, 1, 1], using: RandomGenerator(seed: 1)))
        #expect(y.shape == [2, 3, 8, 8])
    }

    @Test func freezingStopsGradientsButNotTheInputGradient() {
        let d = Sequential(Linear(4, 3), LeakyReLU(0.2), Linear(3, 1))
        d.setRequiresGrad(false)
        let x = Tensor.randomNormal([5, 4], using: RandomGenerator(seed: 2)).requiringGrad()
        d(x).sum().backward()
        #expect(d.parameters.allSatisfy { $0.grad == nil })
        #expect(x.grad != nil)
        d.setRequiresGrad(true)
        d(x).sum().backward()
        #expect(d.parameters.allSatisfy { $0.grad != nil })
    }

    @Test func batchNormRunningStatisticsAndEvaluationMode() {
        let bn = BatchNorm(3, momentum: 0.1)
        let rng = RandomGenerator(seed: 3)
        let x = Tensor.randomNormal([4, 3, 2, 2], mean: 2, std: 3, using: rng)
        _ = bn(x)
        let v = x.scalars.map(Double.init)
        for c in 0..<3 {
            let xs = (0..<4).flatMap { n in (0..<4).map { v[(n * 3 + c) * 4 + $0] } }
            let mean = xs.reduce(0, +) / 16
            let unbiased = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 15
            #expect(abs(Double(bn.runningMean.value.scalars[c]) - 0.1 * mean) < 1e-5)
            #expect(abs(Double(bn.runningVar.value.scalars[c]) - (0.9 + 0.1 * unbiased)) < 1e-4)
        }
        #expect(bn.numBatchesTracked.value.item == 1)
        bn.setTraining(false)
        let y = bn(x).scalars
        let rm = bn.runningMean.value.scalars, rv = bn.runningVar.value.scalars
        for i in 0..<v.count {
            let c = (i / 4) % 3
            #expect(abs(Double(y[i]) - (v[i] - Double(rm[c])) / (Double(rv[c]) + 1e-5).squareRoot()) < 1e-4)
        }
    }

    @Test func dropoutIsIdentityInEvaluation() {
        let d = Dropout(0.5, rng: RandomGenerator(seed: 1))
        let x = Tensor.ones([10, 10])
        #expect(d(x).scalars.contains(0))
        d.setTraining(false)
        #expect(d(x).scalars == x.scalars)
    }

    @Test func initializersDrawFromTheirDistributions() {
        let rng = RandomGenerator(seed: 4)
        let shape = [64, 32, 5, 5]  // fan_in 800, fan_out 1600
        let he = Initializer.heUniform.make(shape, using: rng).scalars
        let heLimit = (6.0 / 800).squareRoot()
        #expect(he.allSatisfy { abs(Double($0)) <= heLimit } && he.map { abs(Double($0)) }.max()! > 0.95 * heLimit)
        let glorot = Initializer.glorotUniform.make(shape, using: rng).scalars
        let gLimit = (6.0 / 2400).squareRoot()
        #expect(glorot.allSatisfy { abs(Double($0)) <= gLimit } && glorot.map { abs(Double($0)) }.max()! > 0.95 * gLimit)
        let gamma = Initializer.normal(mean: 1, std: 0.02).make([10_000], using: rng).scalars
        #expect(abs(gamma.reduce(0, +) / 10_000 - 1) < 0.002)
        let tn = Initializer.truncatedNormal(std: 0.02).make([10_000], using: rng).scalars
        #expect(tn.allSatisfy { abs($0) <= 0.04 })
        #expect(Initializer.zeros.make([3], using: rng).scalars == [0, 0, 0])
    }
}

/// Conditional batch norm keeps batch norm's running statistics and names; with every sample of
/// one class it is batch norm with that class's γ and β.
@Suite(.serialized) struct ConditionalLayerTests {
    @Test func conditionalBatchNormIsBatchNormPerClass() {
        let bn = BatchNorm2d(3), cbn = ConditionalBatchNorm(bn, classes: 2)
        #expect(cbn.namedParameters().map(\.name) == ["weight", "bias"])
        #expect(cbn.namedBuffers().map(\.name) == ["running_mean", "running_var", "num_batches_tracked"])
        cbn.weight.assign(Tensor([1, 1, 1, 2, 0.5, -1], shape: [2, 3]))
        cbn.bias.assign(Tensor([0, 0, 0, 0.1, 0.2, 0.3], shape: [2, 3]))
        bn.weight.assign(Tensor([2, 0.5, -1], shape: [3]))
        bn.bias.assign(Tensor([0.1, 0.2, 0.3], shape: [3]))
        let x = Tensor.randomNormal([4, 3, 2, 2], using: RandomGenerator(seed: 1))
        let ones = Tensor.oneHot([1, 1, 1, 1], classes: 2)
        let a = cbn(x, classes: ones), b = bn(x)
        #expect(zip(a.scalars, b.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(cbn.runningMean.value.scalars == bn.runningMean.value.scalars && cbn.runningVar.value.scalars == bn.runningVar.value.scalars)
        cbn.setTraining(false); bn.setTraining(false)
        let ea = cbn(x, classes: ones), eb = bn(x)
        #expect(zip(ea.scalars, eb.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
        // Class 0 (γ 1, β 0) differs.
        #expect(cbn(x, classes: .oneHot([0, 0, 0, 0], classes: 2)).scalars != ea.scalars)
    }

    @Test func embeddingUnderSpectralNormHasPyTorchsNames() {
        let e = Embedding(4, 6, rng: RandomGenerator(seed: 2))
        #expect(e.namedParameters().map(\.name) == ["weight"])
        let rows = e(Tensor.oneHot([2, 0], classes: 4))
        #expect(Array(rows.scalars[0..<6]) == Array(e.weight.value.scalars[12..<18]))
        e.enableSpectralNorm(rng: RandomGenerator(seed: 3))
        #expect(e.namedParameters().map(\.name) == ["weight_orig"] && e.namedBuffers().map(\.name) == ["weight_u", "weight_v"])
    }
}

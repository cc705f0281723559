import Foundation
import Testing
@testable import NN
import Tensors

/// `InferencePlan` (batch norm folded into the layer before it, activation fused) computes what
/// the layers compute one by one in evaluation mode.
@Suite struct InferencePlanTests {
    /// Gives every batch norm non-trivial running statistics and affine parameters, as after training.
    static func randomizeStatistics(_ m: Module, seed: UInt64) {
        let rng = RandomGenerator(seed: seed)
        for case let bn as BatchNorm in m.namedModules().map(\.module) {
            let c = bn.weight.shape[0]
            bn.weight.assign(.randomUniform([c], low: 0.5, high: 1.5, using: rng))
            bn.bias.assign(.randomNormal([c], using: rng))
            bn.runningMean.assign(.randomNormal([c], using: rng))
            bn.runningVar.assign(.randomUniform([c], low: 0.2, high: 3, using: rng))
        }
    }

    static func maxRelativeError(_ a: Tensor, _ b: Tensor) -> Float {
        let scale = max(b.scalars.map(abs).max() ?? 0, 1e-3)
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()! / scale
    }

    /// A skip-layer excitation is planned inside (its body's and gate's layers folded and fused)
    /// and computes body · gate; its pieces (GLU, Swish, nearest upsampling, adaptive pooling)
    /// compute their definitions.
    @Test func skipLayerExcitationIsPlannedInside() {
        let rng = RandomGenerator(seed: 4)
        let body = Sequential(Upsample(2), Conv2d(4, 10, kernelSize: 3, padding: .explicit(1, 1), bias: false, rng: rng),
                              BatchNorm2d(10), GLU(), Upsample(2), Conv2d(5, 6, kernelSize: 3, padding: .explicit(1, 1), rng: rng),
                              BatchNorm2d(6), GLU())
        let gate = Sequential(AdaptiveAvgPool2d(4), Conv2d(4, 3, kernelSize: 4, bias: false, rng: rng), Swish(),
                              Conv2d(3, 3, kernelSize: 1, rng: rng), Sigmoid())
        let net = Sequential(SkipExcitation(body: body, gate: gate), Conv2d(3, 2, kernelSize: 1, rng: rng), Tanh())
        Self.randomizeStatistics(net, seed: 5)
        net.setTraining(false)
        let plan = InferencePlan(net.layers)
        // Inside, two upsamplings (into their convolutions), two batch norms and the sigmoid; outside, the tanh.
        #expect(plan.fusedLayers == 6)
        let inside: [InferencePlan] = plan.steps.compactMap { step in
            if case .excitation(_, let planned, _) = step { return planned }
            return nil
        }
        let upsampledConvolutions = inside.first?.steps.filter { step in
            if case .upsampledConv = step { return true }
            return false
        }
        #expect(upsampledConvolutions?.count == 2)
        let x = Tensor.randomNormal([2, 4, 8, 8], using: RandomGenerator(seed: 6))
        let expected = withoutGrad { net(x) }
        #expect(plan(x).shape == [2, 2, 32, 32])
        #expect(Self.maxRelativeError(plan(x), expected) < 1e-5)

        // The pieces, from their definitions.
        let h = withoutGrad { body(x) }, w = withoutGrad { gate(x) }
        #expect(w.shape == [2, 3, 1, 1])
        let gated = withoutGrad { SkipExcitation(body: body, gate: gate)(x) }.scalars, hs = h.scalars, ws = w.scalars
        #expect(gated.indices.allSatisfy { abs(gated[$0] - hs[$0] * ws[$0 / (32 * 32)]) <= 1e-6 * max(1, abs(gated[$0])) })
        let y = Tensor.randomNormal([1, 4, 2, 2], using: rng), ys = y.scalars
        let glu = GLU()(y).scalars
        #expect(glu.indices.allSatisfy { abs(glu[$0] - ys[$0] / (1 + exp(-ys[$0 + 8]))) < 1e-6 })
        let swish = Swish()(y).scalars
        #expect(swish.indices.allSatisfy { abs(swish[$0] - ys[$0] / (1 + exp(-ys[$0]))) < 1e-6 })
        let up = Upsample(2)(y).scalars
        #expect(up[0] == ys[0] && up[1] == ys[0] && up[4] == ys[0] && up[5] == ys[0] && up[2] == ys[1] && up[8] == ys[2])
        let pooled = AdaptiveAvgPool2d(1)(y).scalars
        #expect(abs(pooled[0] - ys[0..<4].reduce(0, +) / 4) < 1e-6)
    }

    @Test func convolutionStacksFoldAndFuse() {
        let rng = RandomGenerator(seed: 1)
        let net = Sequential(
            ConvTranspose2d(6, 8, kernelSize: 4, stride: 1, bias: false, rng: rng), BatchNorm2d(8), ReLU(),
            ConvTranspose2d(8, 5, kernelSize: 5, stride: 2, padding: .same, rng: rng), BatchNorm2d(5), LeakyReLU(0.2),
            Conv2d(5, 7, kernelSize: 4, stride: 2, padding: .explicit(1, 1), rng: rng), BatchNorm2d(7), LeakyReLU(0.2),
            Conv2d(7, 3, kernelSize: 3, padding: .explicit(1, 1), bias: false, rng: rng), Tanh())
        Self.randomizeStatistics(net, seed: 2)
        net.setTraining(false)
        let plan = InferencePlan(net.layers)
        #expect(plan.fusedLayers == 7)
        let x = Tensor.randomNormal([3, 6, 1, 1], using: RandomGenerator(seed: 3))
        let expected = withoutGrad { net(x) }
        let got = plan(x)
        #expect(got.shape == [3, 3, 4, 4])
        #expect(Self.maxRelativeError(got, expected) < 1e-5)
    }

    @Test func denseStackWithReshapeAndBatchNorm1d() {
        let rng = RandomGenerator(seed: 4)
        let net = Sequential(Linear(10, 32, rng: rng), LeakyReLU(0.2),
                             Linear(32, 48, bias: false, rng: rng), BatchNorm1d(48, epsilon: 0.8), LeakyReLU(0.2),
                             Reshape([3, 4, 4]), Conv2d(3, 2, kernelSize: 3, rng: rng), Sigmoid())
        Self.randomizeStatistics(net, seed: 5)
        net.setTraining(false)
        let plan = InferencePlan(net.layers)
        #expect(plan.fusedLayers == 4)
        let x = Tensor.randomNormal([5, 10], using: RandomGenerator(seed: 6))
        #expect(Self.maxRelativeError(plan(x), withoutGrad { net(x) }) < 1e-5)
    }

    /// A plan knows when it no longer describes its layers: after any in-place write to a
    /// parameter or buffer (assign, an optimizer's update, a scaled add) or a mode switch — and
    /// not before, however often it runs.
    @Test func aPlanIsStaleOnceItsLayersChange() {
        let rng = RandomGenerator(seed: 11)
        let conv = Conv2d(2, 4, kernelSize: 3, rng: rng), norm = BatchNorm2d(4)
        let net = Sequential(conv, norm, ReLU())
        net.setTraining(false)
        let x = Tensor.randomNormal([2, 2, 5, 5], using: rng)
        func fresh() -> InferencePlan {
            let plan = InferencePlan(net.layers)
            _ = plan(x)
            #expect(!plan.isStale)
            return plan
        }
        var plan = fresh()
        conv.weight.assign(.randomNormal(conv.weight.shape, using: rng))
        #expect(plan.isStale, "a new weight")
        plan = fresh()
        norm.runningMean.value.scaleAndAdd(0.9, .ones([4]), 0.1)
        #expect(plan.isStale, "running statistics updated in place")
        plan = fresh()
        let p = conv.bias!
        p.value.adamUpdate(grad: .ones(p.shape), m: .zeros(p.shape), v: .zeros(p.shape), AdamStep(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: 1))
        #expect(plan.isStale, "an Adam step")
        plan = fresh()
        net.setTraining(true)
        #expect(plan.isStale, "batch norm back in training mode")
        net.setTraining(false)
        #expect(!plan.isStale, "the mode it was made in again")
        conv.bias!.requiresGrad = false
        #expect(!plan.isStale, "the same values seen without gradients")
    }

    /// A batch norm in training mode normalizes with the batch's own statistics: it cannot be
    /// folded and runs as itself, so the plan still computes the same function.
    @Test func trainingModeBatchNormIsNotFolded() {
        let rng = RandomGenerator(seed: 7)
        let net = Sequential(Conv2d(2, 4, kernelSize: 3, rng: rng), BatchNorm2d(4), ReLU())
        Self.randomizeStatistics(net, seed: 8)
        let plan = InferencePlan(net.layers)
        #expect(plan.fusedLayers == 0)
        let x = Tensor.randomNormal([4, 2, 5, 5], using: RandomGenerator(seed: 9))
        let expected = withoutGrad { net(x) }
        #expect(Self.maxRelativeError(plan(x), expected) < 1e-5)
    }
}

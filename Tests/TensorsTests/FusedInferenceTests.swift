import Foundation
import Testing
@testable import Tensors

/// The inference kernels (no gradient recorded: forward-inference primitives, the activation fused
/// as a oneDNN post-op or run in place) compute the same function as the training path and as the
/// Float64 reference.
@Suite struct FusedInferenceTests {
    static let activations: [EltwiseOp] = [.leakyReLU(slope: 0.2), .leakyReLU(slope: 0), .tanh, .sigmoid]

    static func reference(_ op: EltwiseOp, _ v: Double) -> Double {
        switch op {
        case .leakyReLU(let s): return v > 0 ? v : Double(s) * v
        case .tanh: return Foundation.tanh(v)
        case .sigmoid: return 1 / (1 + Foundation.exp(-v))
        default: fatalError("not used here")
        }
    }

    @Test(arguments: ConvolutionTests.convCases, activations)
    func convolutionWithFusedActivation(_ c: ConvCase, _ op: EltwiseOp) {
        let rng = RandomGenerator(seed: 11)
        let x = Ref.random([c.batch, c.inC, c.size.0, c.size.1], rng)
        let w = Ref.random([c.outC, c.inC, c.kernel, c.kernel], rng, scale: 0.5)
        let b = Ref.random([c.outC], rng)
        let s = (c.stride, c.stride)
        let fused = withoutGrad { Tensor.conv2d(x.tensor, weight: w.tensor, bias: b.tensor, stride: s, padding: c.padding, activation: op) }
        // The training path: recorded (the weight requires a gradient), activation as its own op.
        let plain = Tensor.conv2d(x.tensor, weight: w.tensor.requiringGrad(), bias: b.tensor, stride: s, padding: c.padding,
                                  activation: op)
        let ref = Reference.conv2d(x, w, b, stride: s, pad: ConvolutionTests.resolvedPad(c, transposed: false))
        let expected = ref.values.map { Self.reference(op, $0) }
        #expect(fused.shape == ref.shape)
        #expect(relativeError(fused.scalars.map(Double.init), expected) < 1e-5)
        #expect(relativeError(fused.scalars.map(Double.init), plain.scalars.map(Double.init)) < 1e-5)
    }

    @Test(arguments: ConvolutionTests.transposedCases, activations)
    func transposedConvolutionWithActivation(_ c: ConvCase, _ op: EltwiseOp) {
        let rng = RandomGenerator(seed: 12)
        let x = Ref.random([c.batch, c.inC, c.size.0, c.size.1], rng)
        let w = Ref.random([c.inC, c.outC, c.kernel, c.kernel], rng, scale: 0.5)
        let b = Ref.random([c.outC], rng)
        let s = (c.stride, c.stride), op2 = (c.outputPadding, c.outputPadding)
        let fused = withoutGrad {
            Tensor.convTranspose2d(x.tensor, weight: w.tensor, bias: b.tensor, stride: s, padding: c.padding, outputPadding: op2,
                                   activation: op)
        }
        let plain = Tensor.convTranspose2d(x.tensor, weight: w.tensor.requiringGrad(), bias: b.tensor, stride: s, padding: c.padding,
                                           outputPadding: op2, activation: op)
        let ref = Reference.convTranspose2d(x, w, b, stride: s, pad: ConvolutionTests.resolvedPad(c, transposed: true))
        #expect(fused.shape == ref.shape)
        #expect(relativeError(fused.scalars.map(Double.init), ref.values.map { Self.reference(op, $0) }) < 1e-5)
        #expect(relativeError(fused.scalars.map(Double.init), plain.scalars.map(Double.init)) < 1e-5)
    }

    @Test(arguments: activations)
    func linearWithFusedActivation(_ op: EltwiseOp) {
        let rng = RandomGenerator(seed: 13)
        let x = Ref.random([5, 7], rng), w = Ref.random([3, 7], rng), b = Ref.random([3], rng)
        let fused = withoutGrad { Tensor.linear(x.tensor, weight: w.tensor, bias: b.tensor, activation: op) }
        let plain = Tensor.linear(x.tensor, weight: w.tensor.requiringGrad(), bias: b.tensor, activation: op)
        let expected = Reference.linear(x, w, b).values.map { Self.reference(op, $0) }
        #expect(relativeError(fused.scalars.map(Double.init), expected) < 1e-5)
        #expect(relativeError(fused.scalars.map(Double.init), plain.scalars.map(Double.init)) < 1e-5)
        // Without a bias, and without an activation.
        let bare = withoutGrad { Tensor.linear(x.tensor, weight: w.tensor, bias: nil) }
        #expect(relativeError(bare.scalars.map(Double.init), Reference.linear(x, w, nil).values) < 1e-5)
    }

    /// The activation is part of the function: its gradient flows when recorded.
    @Test func recordedActivationIsDifferentiated() {
        let rng = RandomGenerator(seed: 14)
        let x = Ref.random([2, 3, 6, 6], rng), w = Ref.random([4, 3, 3, 3], rng, scale: 0.5)
        gradCheck([x, w], engine: {
            Tensor.conv2d($0[0], weight: $0[1], stride: (1, 1), padding: .explicit(1, 1), activation: .tanh)
        }, reference: {
            Reference.map(Reference.conv2d($0[0], $0[1], nil, stride: (1, 1), pad: (1, 1, 1, 1))) { Foundation.tanh($0) }
        })
    }
}

import Testing
@testable import Tensors

/// The convolution geometries the GAN presets use, plus odd ones.
struct ConvCase: CustomTestStringConvertible, Sendable {
    let batch: Int, inC: Int, outC: Int, size: (Int, Int), kernel: Int, stride: Int
    let padding: Padding, outputPadding: Int
    var testDescription: String {
        "n\(batch) \(inC)→\(outC) \(size.0)×\(size.1) k\(kernel) s\(stride) \(padding) op\(outputPadding)"
    }
}

@Suite struct ConvolutionTests {
    static let convCases: [ConvCase] = [
        .init(batch: 1, inC: 3, outC: 4, size: (8, 8), kernel: 4, stride: 2, padding: .explicit(1, 1), outputPadding: 0),
        .init(batch: 2, inC: 5, outC: 3, size: (7, 7), kernel: 5, stride: 2, padding: .same, outputPadding: 0),
        .init(batch: 2, inC: 4, outC: 1, size: (4, 4), kernel: 4, stride: 1, padding: .valid, outputPadding: 0),
        .init(batch: 3, inC: 2, outC: 5, size: (6, 5), kernel: 3, stride: 1, padding: .explicit(1, 1), outputPadding: 0),
        .init(batch: 1, inC: 17, outC: 9, size: (5, 6), kernel: 3, stride: 2, padding: .explicit(0, 1), outputPadding: 0),
        .init(batch: 2, inC: 3, outC: 2, size: (9, 9), kernel: 5, stride: 1, padding: .same, outputPadding: 0),
    ]

    static let transposedCases: [ConvCase] = [
        // DCGAN 64: 1×1 → 4×4 (k4 s1 p0), then ×2 with k4 s2 p1.
        .init(batch: 2, inC: 6, outC: 4, size: (1, 1), kernel: 4, stride: 1, padding: .valid, outputPadding: 0),
        .init(batch: 1, inC: 4, outC: 3, size: (4, 4), kernel: 4, stride: 2, padding: .explicit(1, 1), outputPadding: 0),
        // TensorFlow 'same' 5×5 stride 2: 7 → 14 (and odd 3 → 6).
        .init(batch: 2, inC: 3, outC: 2, size: (7, 7), kernel: 5, stride: 2, padding: .same, outputPadding: 0),
        .init(batch: 1, inC: 16, outC: 5, size: (3, 3), kernel: 5, stride: 2, padding: .same, outputPadding: 0),
        // PyTorch k5 s2 p2 output_padding 1 (also 7 → 14).
        .init(batch: 2, inC: 2, outC: 3, size: (7, 7), kernel: 5, stride: 2, padding: .explicit(2, 2), outputPadding: 1),
        // CatDCGAN's last layer: k5 s1 'same' to 3 channels.
        .init(batch: 1, inC: 8, outC: 3, size: (6, 6), kernel: 5, stride: 1, padding: .same, outputPadding: 0),
        .init(batch: 3, inC: 2, outC: 2, size: (3, 4), kernel: 3, stride: 3, padding: .explicit(1, 0), outputPadding: 2),
    ]

    static func resolvedPad(_ c: ConvCase, transposed: Bool) -> (Int, Int, Int, Int) {
        var p = c.padding.resolve(input: c.size, kernel: (c.kernel, c.kernel), stride: (c.stride, c.stride),
                                  transposed: transposed)
        p.bottom -= c.outputPadding; p.right -= c.outputPadding
        return (p.top, p.left, p.bottom, p.right)
    }

    @Test(arguments: convCases)
    func conv2dMatchesReferenceAndFiniteDifferences(_ c: ConvCase) {
        let rng = RandomGenerator(seed: 1)
        let x = Ref.random([c.batch, c.inC, c.size.0, c.size.1], rng)
        let w = Ref.random([c.outC, c.inC, c.kernel, c.kernel], rng, scale: 0.5)
        let b = Ref.random([c.outC], rng)
        let pad = Self.resolvedPad(c, transposed: false)
        gradCheck([x, w, b], engine: {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (c.stride, c.stride), padding: c.padding)
        }, reference: { Reference.conv2d($0[0], $0[1], $0[2], stride: (c.stride, c.stride), pad: pad) })
    }

    @Test(arguments: transposedCases)
    func convTranspose2dMatchesReferenceAndFiniteDifferences(_ c: ConvCase) {
        let rng = RandomGenerator(seed: 2)
        let x = Ref.random([c.batch, c.inC, c.size.0, c.size.1], rng)
        let w = Ref.random([c.inC, c.outC, c.kernel, c.kernel], rng, scale: 0.5)
        let b = Ref.random([c.outC], rng)
        let pad = Self.resolvedPad(c, transposed: true)
        gradCheck([x, w, b], engine: {
            Tensor.convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (c.stride, c.stride), padding: c.padding,
                                   outputPadding: (c.outputPadding, c.outputPadding))
        }, reference: { Reference.convTranspose2d($0[0], $0[1], $0[2], stride: (c.stride, c.stride), pad: pad) })
    }

    @Test func tensorFlowSameDoublesTheSize() {
        let rng = RandomGenerator(seed: 3)
        var x = Tensor.randomNormal([2, 8, 7, 7], using: rng)
        for (c, size) in [(4, 14), (2, 28)] {
            let w = Tensor.randomNormal([x.shape[1], c, 5, 5], std: 0.1, using: rng)
            x = Tensor.convTranspose2d(x, weight: w, stride: (2, 2), padding: .same)
            #expect(x.shape == [2, c, size, size])
        }
    }

    @Test func convWithoutBiasAndFrozenWeightGivesOnlyInputGradient() {
        let rng = RandomGenerator(seed: 4)
        let x = Tensor.randomNormal([2, 3, 6, 6], using: rng).requiringGrad()
        let w = Tensor.randomNormal([4, 3, 3, 3], using: rng)  // frozen: no gradient wanted
        let y = Tensor.conv2d(x, weight: w, padding: .explicit(1, 1))
        y.sum().backward()
        #expect(x.grad?.shape == [2, 3, 6, 6])
        #expect(w.grad == nil)
    }
}

/// Shapes drawn at random (seeded) beyond the hand-picked ones: any geometry must match the reference.
@Suite struct RandomConvolutionTests {
    @Test(arguments: 0..<6)
    func randomGeometry(_ trial: Int) {
        let rng = RandomGenerator(seed: 100 + UInt64(trial))
        func pick(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.nextUInt32() % UInt32(r.count)) }
        let k = pick(1...5), s = pick(1...3)
        let pad = (pick(0...(k - 1)), pick(0...(k - 1)), pick(0...(k - 1)), pick(0...(k - 1)))
        let n = pick(1...3), c = pick(1...9), o = pick(1...9)
        let h = pick(max(k, 2)...9), w = pick(max(k, 2)...9)
        let x = Ref.random([n, c, h, w], rng)
        let b = Ref.random([o], rng)
        let padding = Padding.asymmetric(top: pad.0, left: pad.1, bottom: pad.2, right: pad.3)
        if trial % 2 == 0 {
            let wt = Ref.random([o, c, k, k], rng, scale: 0.5)
            gradCheck([x, wt, b], engine: { Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (s, s), padding: padding) },
                      reference: { Reference.conv2d($0[0], $0[1], $0[2], stride: (s, s), pad: pad) })
        } else {
            // A transposed convolution may not crop more than its full output.
            let crop = (min(pad.0, k - 1), min(pad.1, k - 1), min(pad.2, k - 1), min(pad.3, k - 1))
            let wt = Ref.random([c, o, k, k], rng, scale: 0.5)
            gradCheck([x, wt, b], engine: {
                Tensor.convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (s, s),
                                       padding: .asymmetric(top: crop.0, left: crop.1, bottom: crop.2, right: crop.3))
            }, reference: { Reference.convTranspose2d($0[0], $0[1], $0[2], stride: (s, s), pad: crop) })
        }
    }
}

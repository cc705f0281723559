import Foundation
import Testing
@testable import Tensors

/// bf16 training convolutions (`Engine.withPrecision(.bf16)`): the same function as fp32 within
/// bf16's rounding, computed by oneDNN's bf16 kernels. On a CPU without bf16 dot products these
/// tests are skipped, with the reason printed.
@Suite(.serialized, .enabled(if: Precision.bf16.isAvailable, "bf16 needs AVX512-BF16 or AMX-BF16: \(Precision.bf16.unavailableReason ?? "")"))
struct BF16Tests {
    static let cases: [ConvCase] = [
        // The 64×64 DCGAN's D and G layers (channels cut down), TensorFlow's 'same' 5×5 layers.
        .init(batch: 4, inC: 32, outC: 64, size: (16, 16), kernel: 4, stride: 2, padding: .explicit(1, 1), outputPadding: 0),
        .init(batch: 4, inC: 16, outC: 32, size: (14, 14), kernel: 5, stride: 2, padding: .same, outputPadding: 0),
        .init(batch: 2, inC: 3, outC: 16, size: (16, 16), kernel: 4, stride: 2, padding: .explicit(1, 1), outputPadding: 0),
    ]
    static let transposedCases: [ConvCase] = [
        .init(batch: 4, inC: 64, outC: 32, size: (4, 4), kernel: 4, stride: 2, padding: .explicit(1, 1), outputPadding: 0),
        .init(batch: 4, inC: 32, outC: 16, size: (7, 7), kernel: 5, stride: 2, padding: .same, outputPadding: 0),
        .init(batch: 2, inC: 16, outC: 3, size: (8, 8), kernel: 4, stride: 2, padding: .explicit(1, 1), outputPadding: 0),
    ]

    /// Output, input gradient and weight gradient of one layer under a random linear loss.
    static func pass(_ c: ConvCase, transposed: Bool, _ precision: Precision) -> (y: [Double], dx: [Double], dw: [Double]) {
        let rng = RandomGenerator(seed: 21)
        let x = Tensor.randomNormal([c.batch, c.inC, c.size.0, c.size.1], using: rng).requiringGrad()
        let wShape = transposed ? [c.inC, c.outC, c.kernel, c.kernel] : [c.outC, c.inC, c.kernel, c.kernel]
        let w = Tensor.randomNormal(wShape, std: 0.1, using: rng).requiringGrad()
        let s = (c.stride, c.stride)
        let y = Engine.withPrecision(precision) {
            transposed ? Tensor.convTranspose2d(x, weight: w, stride: s, padding: c.padding)
                       : Tensor.conv2d(x, weight: w, stride: s, padding: c.padding)
        }
        let r = Tensor.randomNormal(y.shape, using: RandomGenerator(seed: 22))
        let (dx, dw) = { (g: [Tensor]) in (g[0], g[1]) }((y * r).sum().gradients(wrt: [x, w]))
        func d(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }
        return (d(y), d(dx), d(dw))
    }

    /// Max |bf16 − fp32| over max |fp32|: bf16 keeps 8 significant bits (relative rounding 2⁻⁹ per
    /// operand), so sums of products land within a few 1e-3 of fp32; a wrong kernel or layout is O(1).
    /// A layer that writes an image (fewer than 16 output channels) stays fp32: exactly fp32's; one
    /// that reads an image (D's first) runs bf16, its input gradient from the bf16 GEMM kernel.
    static func check(_ c: ConvCase, transposed: Bool) {
        let bf16 = pass(c, transposed: transposed, .bf16), fp32 = pass(c, transposed: transposed, .fp32)
        let imageLayer = c.outC < 16
        for (name, a, b) in [("output", bf16.y, fp32.y), ("input gradient", bf16.dx, fp32.dx), ("weight gradient", bf16.dw, fp32.dw)] {
            let e = relativeError(a, b)
            if imageLayer {
                #expect(e == 0, "\(c.testDescription) \(name): an image layer must stay fp32, differs by \(e)")
            } else {
                #expect(e < 2e-2, "\(c.testDescription) \(name): bf16 differs from fp32 by \(e)")
                #expect(e > 1e-6, "\(c.testDescription) \(name): bf16 equals fp32 exactly: no bf16 rounding happened")
            }
        }
    }

    /// A transposed convolution with a bias (CatDCGAN's generator): the bias is added after the
    /// bf16 kernel by the host loop (`addChannelBias`), and output, input, weight and bias
    /// gradients are fp32's within bf16's rounding.
    @Test func transposedConvolutionWithABias() {
        func pass(_ precision: Precision) -> [[Double]] {
            let rng = RandomGenerator(seed: 41)
            let x = Tensor.randomNormal([4, 32, 8, 8], using: rng).requiringGrad()
            let w = Tensor.randomNormal([32, 16, 5, 5], std: 0.1, using: rng).requiringGrad()
            let b = Tensor.randomNormal([16], using: rng).requiringGrad()
            let y = Engine.withPrecision(precision) {
                Tensor.convTranspose2d(x, weight: w, bias: b, stride: (2, 2), padding: .same)
            }
            let r = Tensor.randomNormal(y.shape, using: RandomGenerator(seed: 42))
            let grads = (y * r).sum().gradients(wrt: [x, w, b])
            return ([y] + grads).map { $0.scalars.map(Double.init) }
        }
        Profiler.shared.reset()
        Profiler.shared.enabled = true
        let bf16 = pass(.bf16)
        Profiler.shared.enabled = false
        #expect(Profiler.shared.entries.contains { $0.kind == "bias add bf16 (host)" }, "\(Profiler.shared.entries.map(\.kind))")
        Profiler.shared.reset()
        let fp32 = pass(.fp32)
        let names = ["output", "input gradient", "weight gradient", "bias gradient"]
        for i in names.indices {
            let e = relativeError(bf16[i], fp32[i])
            #expect(e < 2e-2 && e > 1e-7, "\(names[i]): bf16 differs from fp32 by \(e)")
        }
    }

    @Test(arguments: cases) func convolution(_ c: ConvCase) { Self.check(c, transposed: false) }
    @Test(arguments: transposedCases) func transposedConvolution(_ c: ConvCase) { Self.check(c, transposed: true) }

    /// A host loop (dropout) after a bf16 convolution reads its values, not its bf16 bytes as floats:
    /// each output is the convolution's value times 0 or 1/keep.
    @Test func dropoutAfterABF16ConvolutionSeesItsValues() {
        let rng = RandomGenerator(seed: 31)
        let x = Tensor.randomNormal([2, 16, 8, 8], using: rng).requiringGrad()
        let w = Tensor.randomNormal([32, 16, 3, 3], std: 0.1, using: rng).requiringGrad()
        let (y, dropped) = Engine.withPrecision(.bf16) { () -> (Tensor, Tensor) in
            let y = Tensor.conv2d(x, weight: w, padding: .explicit(1, 1))
            return (y, y.dropout(0.5, using: RandomGenerator(seed: 32)))
        }
        let ys = y.scalars, ds = dropped.scalars
        #expect(ys.count == ds.count)
        let kept = zip(ys, ds).filter { $1 != 0 }
        #expect(kept.allSatisfy { abs($1 - 2 * $0) <= 1e-6 * abs($0) }, "kept values are not 2 × the convolution's")
        #expect(abs(Double(kept.count) / Double(ys.count) - 0.5) < 0.05, "kept \(kept.count) of \(ys.count)")
    }

    /// The layers with 16 or more channels on both sides run oneDNN's bf16 kernels, not f32 ones.
    @Test func theKernelsAreOneDNNsBF16Ones() {
        Engine.removeCachedPrimitives()
        var created: [(String, String)] = []
        CPUBackend.shared.onPrimitiveCreated = { created.append(($0, $1)) }
        defer { CPUBackend.shared.onPrimitiveCreated = nil }
        _ = Self.pass(Self.cases[0], transposed: false, .bf16)
        _ = Self.pass(Self.transposedCases[0], transposed: true, .bf16)
        let convolutions = created.filter { $0.0.contains("convolution") }
        #expect(convolutions.count == 6, "\(created)")
        for (what, implementation) in convolutions {
            #expect(what.contains("bf16") && implementation.contains("bf16"), "\(what): \(implementation)")
        }
    }
}

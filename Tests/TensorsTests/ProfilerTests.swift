import Testing
@testable import Tensors

/// The profiler counts each kernel call once, under its op and shapes, with the convolution's
/// floating-point work computed from its geometry; it records nothing while off.
@Suite struct ProfilerTests {
    @Test func recordsKernelsWithTheirWork() {
        let rng = RandomGenerator(seed: 1)
        let x = Tensor.randomNormal([2, 3, 8, 8], using: rng), w = Tensor.randomNormal([4, 3, 3, 3], using: rng)
        let profiler = Profiler.shared
        profiler.reset()
        _ = Tensor.conv2d(x, weight: w, padding: .explicit(1, 1))  // off: nothing recorded
        #expect(profiler.entries.isEmpty)
        profiler.enabled = true
        defer { profiler.enabled = false; profiler.reset() }
        _ = Tensor.conv2d(x, weight: w, padding: .explicit(1, 1))
        _ = Tensor.conv2d(x, weight: w, padding: .explicit(1, 1))
        let conv = profiler.entries.filter { $0.kind.hasPrefix("convolution") }
        #expect(conv.count == 1 && conv[0].calls == 2, "\(profiler.entries.map(\.name))")
        // 2 FLOPs × 2 images × (4 × 3 channel pairs) × the taps inside the image, per call: along each
        // axis 8 outputs × 3 taps, less the two that fall on the padding at either edge.
        #expect(conv.first?.flops == 2 * 2 * Double(2 * 4 * 3 * 22 * 22))
        #expect(conv.first.map { $0.name.contains("x[2, 3, 8, 8] w[4, 3, 3, 3]") } == true)
        #expect(conv.allSatisfy { $0.seconds > 0 })
    }

    /// The taps a rate counts are those that meet the image, counted here pixel by pixel: for a
    /// convolution each output pixel's taps whose input is inside the input, for a transposed one
    /// each input pixel's taps that land inside the output (TensorFlow's 'same', padding unequal).
    @Test(arguments: [false, true])
    func workCountsTheTapsInsideTheImage(transposed: Bool) {
        let (h, k, stride) = (7, 5, 2)
        let pad = Padding.same.resolve(input: (h, h), kernel: (k, k), stride: (stride, stride), transposed: transposed)
        let g = ConvGeometry(stride: (stride, stride), padding: pad, transposed: transposed)
        let (oh, _) = g.outputSize(inputH: h, inputW: h, kernelH: k, kernelW: k)
        var inside = 0
        for (r, c) in (0..<(transposed ? h : oh)).flatMap({ r in (0..<(transposed ? h : oh)).map { (r, $0) } }) {
            for (kr, kc) in (0..<k).flatMap({ a in (0..<k).map { (a, $0) } }) {
                let (y, x) = (r * stride - pad.top + kr, c * stride - pad.left + kc)
                let bound = transposed ? oh : h
                if (0..<bound).contains(y) && (0..<bound).contains(x) { inside += 1 }
            }
        }
        let w = transposed ? [16, 8, k, k] : [8, 16, k, k]
        let shape = ConvShape(x: [3, 16, h, h], w: w, g)
        #expect(shape.flops == 2 * 3 * Double(8 * 16 * inside), "\(shape.flops) against \(inside) taps")
        #expect(inside < (transposed ? h * h : oh * oh) * k * k, "some taps fall on the padding here")
    }
}

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
        // 2 FLOPs × (2 images × 8 × 8 output pixels) × (4 × 3 × 3 × 3 weights), per call.
        #expect(conv.first?.flops == 2 * 2 * Double(2 * 8 * 8 * 4 * 3 * 3 * 3))
        #expect(conv.first.map { $0.name.contains("x[2, 3, 8, 8] w[4, 3, 3, 3]") } == true)
        #expect(conv.allSatisfy { $0.seconds > 0 })
    }
}

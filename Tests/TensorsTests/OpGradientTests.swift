import Foundation
import Testing
@testable import Tensors

/// Every differentiable op other than the convolutions, against Float64 references.
@Suite struct OpGradientTests {
    let rng = RandomGenerator(seed: 11)

    @Test(arguments: [(1, 5, 3), (4, 7, 2), (3, 1, 6)])
    func linearWithBias(_ n: Int, _ inF: Int, _ outF: Int) {
        let x = Ref.random([n, inF], rng), w = Ref.random([outF, inF], rng), b = Ref.random([outF], rng)
        gradCheck([x, w, b], engine: { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) },
                  reference: { Reference.linear($0[0], $0[1], $0[2]) })
        gradCheck([x, w], engine: { Tensor.linear($0[0], weight: $0[1], bias: nil) },
                  reference: { Reference.linear($0[0], $0[1], nil) })
    }

    /// Nearest-neighbour upsampling and its adjoint, the block sums (FastGAN's G and D's decoder).
    @Test(arguments: [([2, 3, 2, 3], 2), ([1, 2, 3, 1], 3), ([2, 1, 2, 2], 1)])
    func upsamplingAndBlockSums(_ shape: [Int], _ factor: Int) {
        let x = Ref.random(shape, rng)
        gradCheck([x], engine: { $0[0].upsampledNearest(factor) }, reference: { Reference.upsampleNearest($0[0], factor) })
        let big = Ref.random([shape[0], shape[1], shape[2] * factor, shape[3] * factor], rng)
        gradCheck([big], engine: { $0[0].blockSums(factor) }, reference: { Reference.blockSums($0[0], factor) })
    }

    /// Nearest upsampling then a 3×3 convolution (padding 1), computed as one stride-2 transposed
    /// convolution with a derived 4×4 kernel: against the two ops of the Float64 reference, in x,
    /// the weight and the bias; and the kernel's derivation with its adjoint, to second order.
    @Test(arguments: [(2, 3, 4, 3, 5), (1, 2, 5, 4, 4), (3, 1, 2, 2, 3)])
    func upsamplingThenConvolutionAsOneTransposedConvolution(_ n: Int, _ c: Int, _ o: Int, _ h: Int, _ w: Int) {
        let x = Ref.random([n, c, h, w], rng), k = Ref.random([o, c, 3, 3], rng), b = Ref.random([o], rng)
        gradCheck([x, k, b], engine: { Tensor.upsampledConv3x3($0[0], weight: $0[1], bias: $0[2]) },
                  reference: { Reference.conv2d(Reference.upsampleNearest($0[0], 2), $0[1], $0[2], stride: (1, 1), pad: (1, 1, 1, 1)) })
        // The kernel's derivation and its adjoint, each the other's gradient: second order too.
        let r = Ref.random([o, c, 3, 3], rng)
        gradGradCheck([r], engine: { $0[0].subPixelKernel().square().subPixelKernelAdjoint() }, reference: { r in
            Self.subPixelAdjoint(Reference.map(Self.subPixel(r[0])) { $0 * $0 })
        })
    }

    static let taps = [[2], [1, 2], [0, 1], [0]]
    static func subPixel(_ w: Ref) -> Ref {
        let (o, c) = (w.shape[0], w.shape[1])
        var k = [Double](repeating: 0, count: c * o * 16)
        for oi in 0..<o { for ci in 0..<c { for p in 0..<4 { for q in 0..<4 { for i in taps[p] { for j in taps[q] {
            k[((ci * o + oi) * 4 + p) * 4 + q] += w.values[((oi * c + ci) * 3 + i) * 3 + j]
        } } } } } }
        return Ref(k, [c, o, 4, 4])
    }
    static func subPixelAdjoint(_ k: Ref) -> Ref {
        let (c, o) = (k.shape[0], k.shape[1])
        var w = [Double](repeating: 0, count: o * c * 9)
        for oi in 0..<o { for ci in 0..<c { for p in 0..<4 { for q in 0..<4 { for i in taps[p] { for j in taps[q] {
            w[((oi * c + ci) * 3 + i) * 3 + j] += k.values[((ci * o + oi) * 4 + p) * 4 + q]
        } } } } } }
        return Ref(w, [o, c, 3, 3])
    }

    @Test(arguments: [(1, 1, 1), (3, 4, 5), (6, 2, 3)])
    func matmul(_ m: Int, _ k: Int, _ n: Int) {
        let a = Ref.random([m, k], rng), b = Ref.random([k, n], rng)
        gradCheck([a, b], engine: { $0[0].matmul($0[1]) }, reference: { Reference.matmul($0[0], $0[1]) })
    }

    @Test(arguments: [[4, 3], [1, 5], [2, 3, 4, 5], [3, 17, 3, 3], [1, 8, 2, 2]])
    func batchNormTraining(_ shape: [Int]) {
        let c = shape[1]
        let x = Ref.random(shape, rng), g = Ref((0..<c).map { _ in 0.5 + Double(rng.uniform()) }, [c])
        let b = Ref.random([c], rng)
        // Batch norm over a single value per channel has zero variance: its gradient is ill-defined.
        guard shape[0] * shape.dropFirst(2).reduce(1, *) > 1 else { return }
        gradCheck([x, g, b], engine: { Tensor.batchNorm($0[0], scale: $0[1], shift: $0[2], epsilon: 1e-5).y },
                  reference: { Reference.batchNorm($0[0], $0[1], $0[2], eps: 1e-5) })
    }

    /// Synchronized batch norm in one process (the reduction the identity) is batch norm; with a
    /// reduction that doubles every sum (two processes holding the same batch and the same
    /// incoming gradient) its output, statistics and input gradient are those of one process.
    @Test(arguments: [[4, 3], [2, 3, 4, 5], [3, 17, 3, 3]])
    func synchronizedBatchNorm(_ shape: [Int]) {
        let c = shape[1]
        let x = Ref.random(shape, rng), g = Ref((0..<c).map { _ in 0.5 + Double(rng.uniform()) }, [c]), b = Ref.random([c], rng)
        gradCheck([x, g, b], engine: { Tensor.synchronizedBatchNorm($0[0], scale: $0[1], shift: $0[2], epsilon: 1e-5, reduce: { _ in }).y },
                  reference: { Reference.batchNorm($0[0], $0[1], $0[2], eps: 1e-5) })
        let leaf = x.tensor.requiringGrad()
        let (y, mean, _, count) = Tensor.synchronizedBatchNorm(leaf, scale: g.tensor, shift: b.tensor, epsilon: 1e-5,
                                                               reduce: { $0 = $0.map { 2 * $0 } })
        #expect(count == 2 * x.values.count / c)
        #expect(relativeError(y.scalars.map(Double.init), Reference.batchNorm(x, g, b, eps: 1e-5).values) < 1e-5)
        #expect(relativeError(mean.scalars.map(Double.init), Reference.channelStats(x).mean) < 1e-5)
        let r = Ref.random(shape, rng)
        y.backward(seed: r.tensor)
        let single = x.tensor.requiringGrad()
        Tensor.batchNorm(single, scale: g.tensor, shift: b.tensor, epsilon: 1e-5).y.backward(seed: r.tensor)
        #expect(relativeError(leaf.grad!.scalars.map(Double.init), single.grad!.scalars.map(Double.init)) < 1e-4)
    }

    @Test func batchNormStatisticsAreTheBatchMeanAndBiasedVariance() {
        let x = Ref.random([5, 3, 2, 2], rng)
        let (_, mean, variance) = Tensor.batchNorm(x.tensor, scale: .ones([3]), shift: .zeros([3]), epsilon: 1e-5)
        let stats = Reference.channelStats(x)
        #expect(relativeError(mean.scalars.map(Double.init), stats.mean) < 1e-5)
        #expect(relativeError(variance.scalars.map(Double.init), stats.variance) < 1e-5)
    }

    @Test(arguments: [[4, 3], [2, 5, 3, 3]])
    func batchNormEvaluation(_ shape: [Int]) {
        let c = shape[1]
        let x = Ref.random(shape, rng), g = Ref.random([c], rng), b = Ref.random([c], rng)
        let mean = (0..<c).map { _ in Double(rng.uniform()) - 0.5 }, variance = (0..<c).map { _ in 0.5 + Double(rng.uniform()) }
        let m = Tensor(mean, shape: [c]), v = Tensor(variance, shape: [c])
        gradCheck([x, g, b], engine: { Tensor.batchNorm($0[0], scale: $0[1], shift: $0[2], mean: m, variance: v, epsilon: 0.8) },
                  reference: { Reference.batchNorm($0[0], $0[1], $0[2], eps: 0.8, stats: (mean, variance)) })
    }

    /// Class weights [n, k]: one-hot rows, except the last, a mixture (as an interpolation
    /// between classes gives), so the gradient with respect to the classes is checked too.
    func classWeights(_ n: Int, _ k: Int) -> Ref {
        var v = [Double](repeating: 0, count: n * k)
        for i in 0..<(n - 1) { v[i * k + i % k] = 1 }
        for j in 0..<k { v[(n - 1) * k + j] = Double(j + 1) / Double(k * (k + 1) / 2) }
        return Ref(v, [n, k])
    }

    @Test(arguments: [[4, 3], [2, 3, 4, 5], [3, 17, 3, 3]])
    func channelAffine(_ shape: [Int]) {
        let (n, c) = (shape[0], shape[1]), inner = shape.dropFirst(2).reduce(1, *)
        let x = Ref.random(shape, rng), a = Ref.random([n, c], rng), b = Ref.random([n, c], rng)
        gradCheck([x, a, b], engine: { Tensor.channelAffine($0[0], scale: $0[1], shift: $0[2]) }, reference: { r in
            Ref(r[0].values.indices.map { i in r[0].values[i] * r[1].values[i / inner] + r[2].values[i / inner] }, r[0].shape)
        })
    }

    @Test(arguments: [[4, 3], [5, 3, 2, 2], [3, 17, 3, 3]])
    func conditionalBatchNormTraining(_ shape: [Int]) {
        let (n, c, k) = (shape[0], shape[1], 3)
        let x = Ref.random(shape, rng), classes = classWeights(n, k)
        let g = Ref((0..<(k * c)).map { _ in 0.5 + Double(rng.uniform()) }, [k, c]), b = Ref.random([k, c], rng)
        gradCheck([x, classes, g, b], engine: { Tensor.conditionalBatchNorm($0[0], classes: $0[1], scale: $0[2], shift: $0[3], epsilon: 1e-5).y },
                  reference: { Reference.conditionalBatchNorm($0[0], $0[1], $0[2], $0[3], eps: 1e-5) })
    }

    @Test(arguments: [[4, 3], [2, 5, 3, 3]])
    func conditionalBatchNormEvaluation(_ shape: [Int]) {
        let (n, c, k) = (shape[0], shape[1], 4)
        let x = Ref.random(shape, rng), classes = classWeights(n, k), g = Ref.random([k, c], rng), b = Ref.random([k, c], rng)
        let mean = (0..<c).map { _ in Double(rng.uniform()) - 0.5 }, variance = (0..<c).map { _ in 0.5 + Double(rng.uniform()) }
        let m = Tensor(mean, shape: [c]), v = Tensor(variance, shape: [c])
        gradCheck([x, classes, g, b],
                  engine: { Tensor.conditionalBatchNorm($0[0], classes: $0[1], scale: $0[2], shift: $0[3], mean: m, variance: v, epsilon: 0.8) },
                  reference: { Reference.conditionalBatchNorm($0[0], $0[1], $0[2], $0[3], eps: 0.8, stats: (mean, variance)) })
    }

    @Test func conditionalBatchNormWithOneHotClassesIsBatchNormWithThatClassRow() {
        // Every sample of one class: the same as plain batch norm with that class's γ and β.
        let x = Ref.random([6, 4, 2, 2], rng), g = Ref.random([3, 4], rng), b = Ref.random([3, 4], rng)
        let y = Tensor.conditionalBatchNorm(x.tensor, classes: .oneHot([Int32](repeating: 2, count: 6), classes: 3),
                                            scale: g.tensor, shift: b.tensor, epsilon: 1e-5).y
        let plain = Reference.batchNorm(x, Ref(Array(g.values[8..<12]), [4]), Ref(Array(b.values[8..<12]), [4]), eps: 1e-5)
        #expect(relativeError(y.scalars.map(Double.init), plain.values) < 1e-5)
    }

    @Test(arguments: [(4, 6, 3), (1, 5, 2), (5, 16, 10)])
    func projection(_ n: Int, _ f: Int, _ k: Int) {
        let features = Ref.random([n, f], rng), classes = classWeights(n, k), embedding = Ref.random([k, f], rng)
        gradCheck([features, classes, embedding], engine: { Tensor.projection($0[0], classes: $0[1], embedding: $0[2]) },
                  reference: { Reference.projection($0[0], $0[1], $0[2]) })
    }

    @Test(arguments: [[7], [3, 4], [2, 3, 4, 5], [2, 17, 3, 3]])
    func activations(_ shape: [Int]) {
        // Keep inputs away from ReLU's kink, where finite differences are meaningless.
        var x = Ref.random(shape, rng, scale: 2)
        x.values = x.values.map { abs($0) < 0.01 ? $0 + 0.05 : $0 }
        gradCheck([x], engine: { $0[0].relu() }, reference: { Reference.map($0[0]) { max($0, 0) } })
        gradCheck([x], engine: { $0[0].leakyReLU(0.2) }, reference: { Reference.map($0[0]) { $0 > 0 ? $0 : 0.2 * $0 } })
        gradCheck([x], engine: { $0[0].tanh() }, reference: { Reference.map($0[0]) { Foundation.tanh($0) } })
        gradCheck([x], engine: { $0[0].sigmoid() }, reference: { Reference.map($0[0]) { 1 / (1 + Foundation.exp(-$0)) } })
        gradCheck([x], engine: { $0[0].exp() }, reference: { Reference.map($0[0]) { Foundation.exp($0) } })
        gradCheck([x], engine: { $0[0].square() }, reference: { Reference.map($0[0]) { $0 * $0 } })
        gradCheck([x], engine: { 3 - $0[0] * 2.5 + 1 }, reference: { Reference.map($0[0]) { 4 - 2.5 * $0 } })
        gradCheck([x], engine: { -($0[0] / 4) }, reference: { Reference.map($0[0]) { -$0 / 4 } })
    }

    /// Operands broadcast per image, per (image, channel) or per pixel ([N, 1, 1, 1], [N, C, 1, 1],
    /// [N, 1, H, W]) take the host loop; a per-channel one ([1, C, 1, 1]) oneDNN's binary primitive.
    @Test(arguments: [([2, 3], [2, 3]), ([2, 3, 4, 4], [1, 3, 1, 1]), ([4, 5], [1, 5]), ([1, 3], [4, 3]),
                      ([3, 2, 4, 5], [3, 1, 1, 1]), ([2, 3, 4, 4], [2, 3, 1, 1]), ([2, 3, 4, 4], [1, 1, 1, 1]), ([4, 5], [4, 1]),
                      ([2, 3, 4, 5], [2, 1, 4, 5]), ([2, 3, 4, 5], [2, 3, 1, 5]), ([1, 3, 2, 2], [1, 1, 2, 2])])
    func binaryOpsWithBroadcasting(_ aShape: [Int], _ bShape: [Int]) {
        let a = Ref.random(aShape, rng)
        var b = Ref.random(bShape, rng)
        b.values = b.values.map { $0 + ($0 >= 0 ? 1 : -1) }  // away from zero for division
        let outShape = zip(aShape, bShape).map(max)
        func broadcast(_ f: @escaping (Double, Double) -> Double) -> ([Ref]) -> Ref {
            { r in
                let (x, y) = (r[0], r[1])
                let count = outShape.reduce(1, *)
                var out = [Double](repeating: 0, count: count)
                for flat in 0..<count {
                    var rem = flat, ia = 0, ib = 0, sa = 1, sb = 1
                    for d in stride(from: outShape.count - 1, through: 0, by: -1) {
                        let i = rem % outShape[d]; rem /= outShape[d]
                        ia += (x.shape[d] == 1 ? 0 : i) * sa; sa *= x.shape[d]
                        ib += (y.shape[d] == 1 ? 0 : i) * sb; sb *= y.shape[d]
                    }
                    out[flat] = f(x.values[ia], y.values[ib])
                }
                return Ref(out, outShape)
            }
        }
        gradCheck([a, b], engine: { $0[0] + $0[1] }, reference: broadcast(+))
        gradCheck([a, b], engine: { $0[0] - $0[1] }, reference: broadcast(-))
        gradCheck([a, b], engine: { $0[0] * $0[1] }, reference: broadcast(*))
        gradCheck([a, b], engine: { $0[0] / $0[1] }, reference: broadcast(/))
    }

    @Test func reductionsAndShapes() {
        let x = Ref.random([2, 3, 4, 5], rng)
        gradCheck([x], engine: { $0[0].sum() }, reference: { Ref([$0[0].values.reduce(0, +)], []) })
        gradCheck([x], engine: { $0[0].mean() }, reference: { Ref([$0[0].values.reduce(0, +) / 120], []) })
        gradCheck([x], engine: { $0[0].flattened() }, reference: { Ref($0[0].values, [2, 60]) })
        gradCheck([x], engine: { $0[0].reshaped([4, -1, 5]) }, reference: { Ref($0[0].values, [4, 6, 5]) })
        gradCheck([x], engine: { $0[0].sum(to: [1, 3, 1, 1]) }, reference: { r in
            let s = Reference.channelStats(r[0]).mean.map { $0 * 40 }
            return Ref(s, [1, 3, 1, 1])
        })
    }

    @Test func reshapeOfABlockedActivation() {
        // A convolution's output is in a blocked layout; flattening must see logical NCHW order.
        let x = Ref.random([2, 3, 5, 5], rng), w = Ref.random([10, 3, 3, 3], rng)
        gradCheck([x, w], engine: { Tensor.conv2d($0[0], weight: $0[1]).flattened().tanh() },
                  reference: { Reference.map(Ref(Reference.conv2d($0[0], $0[1], nil, stride: (1, 1), pad: (0, 0, 0, 0)).values, [2, 90])) { Foundation.tanh($0) } })
    }

    @Test func concatAlongChannelsAndSlice() {
        let a = Ref.random([2, 3, 2, 2], rng), b = Ref.random([2, 5, 2, 2], rng)
        gradCheck([a, b], engine: { Tensor.concat([$0[0], $0[1]], axis: 1) }, reference: { r in
            var out: [Double] = []
            for n in 0..<2 {
                out += r[0].values[(n * 12)..<((n + 1) * 12)]
                out += r[1].values[(n * 20)..<((n + 1) * 20)]
            }
            return Ref(out, [2, 8, 2, 2])
        })
        gradCheck([b], engine: { $0[0].slice(axis: 1, offset: 1, length: 3) }, reference: { r in
            var out: [Double] = []
            for n in 0..<2 { out += r[0].values[(n * 20 + 4)..<(n * 20 + 16)] }
            return Ref(out, [2, 3, 2, 2])
        })
    }

    @Test(arguments: [Float(1), 0.9, 0])
    func binaryCrossEntropy(_ target: Float) {
        let x = Ref.random([6, 1], rng, scale: 3)
        let t = Ref([Double](repeating: Double(target), count: 6), [6, 1])
        gradCheck([x], engine: { Tensor.binaryCrossEntropy(logits: $0[0], target: target) },
                  reference: { Ref([Reference.bceWithLogits($0[0], t)], []) })
        gradCheck([x], engine: { Tensor.meanSquaredError($0[0], t.tensor) },
                  reference: { r in Ref([zip(r[0].values, t.values).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 6], []) })
    }

    @Test func binaryCrossEntropyIsStableForHugeLogits() {
        let x = Tensor([Float(100), -100, 100, -100], shape: [4, 1]).requiringGrad()
        let t = Tensor([Float(1), 0, 0, 0.9], shape: [4, 1])
        let loss = Tensor.binaryCrossEntropy(logits: x, targets: t)
        // Exact: (0 + 0 + 100 + (100·0.9 … )) / 4 with the stable form max(x,0) − x·t + log1p(e^−|x|).
        let expected: Double = (0 + 0 + 100 + (0 + 90)) / 4
        #expect(abs(Double(loss.item) - expected) < 1e-4)
        loss.backward()
        let g = x.grad!.scalars
        #expect(g.allSatisfy { $0.isFinite })
        #expect(abs(g[0]) < 1e-6 && abs(g[1]) < 1e-6)
        #expect(abs(g[2] - 0.25) < 1e-6 && abs(g[3] - (-0.9 / 4)) < 1e-6)
    }

    @Test func dropoutKeepsExpectationAndMasksTheGradient() {
        let x = Tensor.ones([100, 100]).requiringGrad()
        let y = x.dropout(0.3, using: RandomGenerator(seed: 5))
        let values = y.scalars
        let kept = values.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.7) < 1e-6 })
        #expect(abs(Double(kept.count) / 10_000 - 0.7) < 0.03)
        y.sum().backward()
        #expect(x.grad!.scalars == values)  // dy/dx is exactly the scaled mask
        let again = Tensor.ones([100, 100]).dropout(0.3, using: RandomGenerator(seed: 5)).scalars
        #expect(again == values)
    }
}

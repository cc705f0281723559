import Foundation
import Testing
@testable import Tensors

/// Second derivatives of every op a discriminator and its losses use, against finite differences
/// of first derivatives in Float64 (`gradGradCheck`), and a whole small discriminator's gradient
/// penalty. Ops linear in an input have a zero second derivative there; each is checked inside a
/// product or a square so that what it passes back is exercised.
@Suite(.serialized) struct HigherOrderTests {
    let rng = RandomGenerator(seed: 21)

    static func leaky(_ x: Ref, _ slope: Double = 0.2) -> Ref { Reference.map(x) { $0 > 0 ? $0 : slope * $0 } }
    static func times(_ a: Ref, _ b: Ref) -> Ref { Ref(zip(a.values, b.values).map(*), a.shape) }
    static func square(_ a: Ref) -> Ref { Reference.map(a) { $0 * $0 } }

    @Test(arguments: [(1, 1, 0, 0, 0, 0), (2, 2, 1, 1, 1, 1), (2, 2, 0, 0, 1, 1), (1, 2, 1, 0, 0, 1)])
    func convolution(_ sh: Int, _ sw: Int, _ top: Int, _ left: Int, _ bottom: Int, _ right: Int) {
        let x = Ref.random([2, 3, 5, 6], rng), w = Ref.random([4, 3, 3, 3], rng), b = Ref.random([4], rng)
        let g = ConvGeometry(stride: (sh, sw), padding: (top, left, bottom, right), transposed: false)
        // The output squared: second derivatives in x, in w and across them.
        gradGradCheck([x, w, b], engine: { Tensor.convolution($0[0], $0[1], $0[2], g, "conv2d").square() },
                      reference: { Self.square(Reference.conv2d($0[0], $0[1], $0[2], stride: (sh, sw), pad: (top, left, bottom, right))) })
        // Bilinear alone: the cross terms only.
        gradGradCheck([x, w], engine: { Tensor.convolution($0[0], $0[1], nil, g, "conv2d") },
                      reference: { Reference.conv2d($0[0], $0[1], nil, stride: (sh, sw), pad: (top, left, bottom, right)) })
    }

    @Test(arguments: [(1, 0, 0), (2, 1, 1), (2, 1, 0), (2, 2, 1)])
    func transposedConvolution(_ s: Int, _ pad: Int, _ cropBottom: Int) {
        let x = Ref.random([2, 3, 3, 4], rng), w = Ref.random([3, 2, 4, 4], rng), b = Ref.random([2], rng)
        let g = ConvGeometry(stride: (s, s), padding: (pad, pad, cropBottom, cropBottom), transposed: true)
        gradGradCheck([x, w, b], engine: { Tensor.convolution($0[0], $0[1], $0[2], g, "convTranspose2d").square() },
                      reference: { Self.square(Reference.convTranspose2d($0[0], $0[1], $0[2], stride: (s, s), pad: (pad, pad, cropBottom, cropBottom))) })
    }

    /// Each is the other's gradient, so a gradient of a gradient passes through both.
    @Test func upsamplingAndBlockSums() {
        let x = Ref.random([2, 2, 2, 3], rng), w = Ref.random([2, 2, 4, 6], rng)
        gradGradCheck([x, w], engine: { ($0[0].upsampledNearest(2) * $0[1]).square().blockSums(2) },
                      reference: { Reference.blockSums(Self.square(Self.times(Reference.upsampleNearest($0[0], 2), $0[1])), 2) })
    }

    @Test func linearAndMatmul() {
        let x = Ref.random([3, 5], rng), w = Ref.random([4, 5], rng), b = Ref.random([4], rng)
        gradGradCheck([x, w, b], engine: { Tensor.linear($0[0], weight: $0[1], bias: $0[2]).square() },
                      reference: { Self.square(Reference.linear($0[0], $0[1], $0[2])) })
        let a = Ref.random([3, 4], rng), c = Ref.random([4, 2], rng)
        gradGradCheck([a, c], engine: { $0[0].matmul($0[1]) }, reference: { Reference.matmul($0[0], $0[1]) })
        // Every transposition, through the internal op.
        for (ta, tb) in [(true, false), (false, true), (true, true)] {
            let a = Ref.random(ta ? [4, 3] : [3, 4], rng), c = Ref.random(tb ? [2, 4] : [4, 2], rng)
            gradGradCheck([a, c], engine: { Tensor.matmul($0[0], transposeA: ta, $0[1], transposeB: tb).square() }, reference: { r in
                func t(_ m: Ref) -> Ref {
                    let (rows, cols) = (m.shape[0], m.shape[1])
                    return Ref((0..<(rows * cols)).map { i in m.values[(i % rows) * cols + i / rows] }, [cols, rows])
                }
                return Self.square(Reference.matmul(ta ? t(r[0]) : r[0], tb ? t(r[1]) : r[1]))
            })
        }
    }

    @Test func activations() {
        let x = awayFromZero([2, 3, 4], rng), w = Ref.random([2, 3, 4], rng)
        for slope in [0.2, 0.0] {
            gradGradCheck([x, w], engine: { ($0[0] * $0[1]).leakyReLU(Float(slope)) * $0[1] },
                          reference: { Self.times(Self.leaky(Self.times($0[0], $0[1]), slope), $0[1]) })
        }
        gradGradCheck([x], engine: { $0[0].relu().square() }, reference: { Self.square(Self.leaky($0[0], 0)) })
        gradGradCheck([x], engine: { $0[0].tanh() }, reference: { Reference.map($0[0], Foundation.tanh) })
        gradGradCheck([x], engine: { $0[0].sigmoid() }, reference: { Reference.map($0[0]) { 1 / (1 + Foundation.exp(-$0)) } })
        gradGradCheck([x], engine: { $0[0].exp() }, reference: { Reference.map($0[0], Foundation.exp) })
        let positive = Reference.map(x) { abs($0) + 0.5 }
        gradGradCheck([positive], engine: { $0[0].sqrt() }, reference: { Reference.map($0[0]) { $0.squareRoot() } })
    }

    @Test func arithmeticAndReductions() {
        let a = Ref.random([2, 3, 4], rng), b = Ref.random([1, 3, 1], rng), c = Ref((0..<24).map { _ in 1 + Double(rng.uniform()) }, [2, 3, 4])
        gradGradCheck([a, b], engine: { ($0[0] * $0[1]).square() + $0[0] - $0[1] },
                      reference: { r in Ref(r[0].values.indices.map { i in let v = r[0].values[i] * r[1].values[(i / 4) % 3]; return v * v + r[0].values[i] - r[1].values[(i / 4) % 3] }, [2, 3, 4]) })
        gradGradCheck([a, c], engine: { $0[0] / $0[1] }, reference: { Ref(zip($0[0].values, $0[1].values).map(/), [2, 3, 4]) })
        gradGradCheck([a], engine: { $0[0].square().sum(to: [2, 1, 4]) * 3 }, reference: { r in
            var y = [Double](repeating: 0, count: 8)
            for i in r[0].values.indices { y[(i / 12) * 4 + i % 4] += 3 * r[0].values[i] * r[0].values[i] }
            return Ref(y, [2, 1, 4])
        })
        gradGradCheck([a, c], engine: { ($0[0] * $0[1]).mean().square().reshaped([1]) }, reference: { r in
            let m = zip(r[0].values, r[1].values).map(*).reduce(0, +) / 24
            return Ref([m * m], [1])
        })
    }

    @Test func shapesAndDropout() {
        let x = Ref.random([2, 3, 2, 2], rng), w = Ref.random([12, 3], rng)
        gradGradCheck([x, w], engine: { $0[0].flattened().matmul($0[1]).square() },
                      reference: { Self.square(Reference.matmul(Ref($0[0].values, [2, 12]), $0[1])) })
        let y = Ref.random([2, 2, 2, 2], rng)
        gradGradCheck([x, y], engine: { Tensor.concat([$0[0], $0[1]], axis: 1).slice(axis: 1, offset: 1, length: 3).square() }, reference: { r in
            var out: [Double] = []
            for n in 0..<2 { for c in 1..<4 { for k in 0..<4 { out.append(c < 3 ? r[0].values[(n * 3 + c) * 4 + k] : r[1].values[(n * 2 + c - 3) * 4 + k]) } } }
            return Self.square(Ref(out, [2, 3, 2, 2]))
        })
        // Dropout's mask is drawn from the generator: the reference reads the same mask.
        let mask = Tensor.ones([2, 3, 2, 2]).dropout(0.5, using: RandomGenerator(seed: 4)).scalars.map(Double.init)
        gradGradCheck([x], engine: { $0[0].dropout(0.5, using: RandomGenerator(seed: 4)).square() },
                      reference: { Self.square(Self.times($0[0], Ref(mask, [2, 3, 2, 2]))) })
    }

    @Test func batchNormAndClassConditioning() {
        let x = Ref.random([4, 3, 2, 2], rng), scale = Ref((0..<3).map { _ in 0.5 + Double(rng.uniform()) }, [3]), shift = Ref.random([3], rng)
        gradGradCheck([x, scale, shift], engine: { Tensor.batchNorm($0[0], scale: $0[1], shift: $0[2], epsilon: 1e-5).y.square() },
                      reference: { Self.square(Reference.batchNorm($0[0], $0[1], $0[2], eps: 1e-5)) })
        let flat = Ref.random([5, 3], rng)
        gradGradCheck([flat, scale, shift], engine: { Tensor.batchNorm($0[0], scale: $0[1], shift: $0[2], epsilon: 1e-5).y },
                      reference: { Reference.batchNorm($0[0], $0[1], $0[2], eps: 1e-5) })
        let classes = Ref([1, 0, 0, 1, 0.3, 0.7, 0, 1], [4, 2]), table = Ref.random([2, 3], rng), tshift = Ref.random([2, 3], rng)
        gradGradCheck([x, table, tshift], engine: { Tensor.conditionalBatchNorm($0[0], classes: classes.tensor, scale: $0[1], shift: $0[2], epsilon: 1e-5).y.square() },
                      reference: { Self.square(Reference.conditionalBatchNorm($0[0], classes, $0[1], $0[2], eps: 1e-5)) })
        let features = Ref.random([4, 5], rng), embedding = Ref.random([2, 5], rng)
        gradGradCheck([features, classes, embedding], engine: { Tensor.projection($0[0], classes: $0[1], embedding: $0[2]) },
                      reference: { Reference.projection($0[0], $0[1], $0[2]) })
    }

    @Test func spectralNormAndAugmentation() {
        let state = SpectralNormState(weightShape: [3, 4], outputAxis: 0, rng: rng)
        let w = Ref.random([3, 4], rng), x = Ref.random([2, 4], rng)
        gradGradCheck([w, x], engine: { Tensor.linear($0[1], weight: $0[0].spectrallyNormalized(state).weight, bias: nil) }, reference: { r in
            var sigma = 0.0
            for i in 0..<3 { for j in 0..<4 { sigma += Double(state.u[i]) * r[0].values[i * 4 + j] * Double(state.v[j]) } }
            return Reference.linear(r[1], Ref(r[0].values.map { $0 / sigma }, [3, 4]), nil)
        })
        let images = Ref.random([2, 3, 4, 4], rng), draws = Ref((0..<2).map { _ in Double(rng.uniform()) }, [2, 1, 1, 1])
        gradGradCheck([images, draws], engine: { DiffAugment.contrast(DiffAugment.saturation(DiffAugment.brightness($0[0], $0[1]), $0[1]), $0[1]).square() },
                      reference: { r in
            let (x, d) = (r[0], r[1].values)
            var y = x.values
            for i in y.indices { y[i] += d[i / 48] - 0.5 }
            for n in 0..<2 { for p in 0..<16 {
                let mean = (0..<3).map { y[(n * 3 + $0) * 16 + p] }.reduce(0, +) / 3
                for c in 0..<3 { let i = (n * 3 + c) * 16 + p; y[i] = (y[i] - mean) * 2 * d[n] + mean }
            } }
            for n in 0..<2 {
                let mean = y[(n * 48)..<(n * 48 + 48)].reduce(0, +) / 48
                for i in (n * 48)..<(n * 48 + 48) { y[i] = (y[i] - mean) * (d[n] + 0.5) + mean }
            }
            return Self.square(Ref(y, x.shape))
        })
        let offsets = [(dy: 1, dx: -1), (dy: -2, dx: 0)], corners = [(0, 1), (2, -1)]
        gradGradCheck([images], engine: { DiffAugment.cutout($0[0].translated(offsets), corners: corners, size: (2, 2)).square() }, reference: { r in
            var y = [Double](repeating: 0, count: 96)
            for n in 0..<2 { for c in 0..<3 { for i in 0..<4 { for j in 0..<4 {
                let (si, sj) = (i + offsets[n].dy, j + offsets[n].dx)
                let cut = i >= corners[n].0 && i < corners[n].0 + 2 && j >= corners[n].1 && j < corners[n].1 + 2
                if si >= 0 && si < 4 && sj >= 0 && sj < 4 && !cut { y[((n * 3 + c) * 4 + i) * 4 + j] = r[0].values[((n * 3 + c) * 4 + si) * 4 + sj] }
            } } } }
            return Self.square(Ref(y, r[0].shape))
        })
    }

    @Test func losses() {
        let logits = Ref.random([6, 1], rng, scale: 2), targets = Ref((0..<6).map { _ in Double(rng.uniform()) }, [6, 1])
        gradGradCheck([logits], engine: { Tensor.binaryCrossEntropy(logits: $0[0], targets: targets.tensor).reshaped([1]) },
                      reference: { Ref([Reference.bceWithLogits($0[0], targets)], [1]) })
        let away = awayFromZero([6, 1], rng)
        gradGradCheck([away], engine: { ((1 - $0[0]).relu().mean() + (1 + $0[0]).relu().mean()).reshaped([1]) }, reference: { r in
            Ref([r[0].values.map { max(1 - $0, 0) + max(1 + $0, 0) }.reduce(0, +) / 6], [1])
        })
    }

    /// Conv (stride 2) → LeakyReLU → conv → batch norm → LeakyReLU → flatten → dense: the R1
    /// penalty's ingredients end to end. Second derivatives in the image and in every parameter.
    @Test func smallDiscriminator() {
        let x = Ref.random([3, 1, 6, 6], rng), w1 = Ref.random([4, 1, 3, 3], rng, scale: 0.5), b1 = Ref.random([4], rng, scale: 0.1)
        let w2 = Ref.random([4, 4, 3, 3], rng, scale: 0.3), scale = Ref((0..<4).map { _ in 0.5 + Double(rng.uniform()) }, [4])
        let shift = Ref.random([4], rng, scale: 0.1), w3 = Ref.random([1, 36], rng, scale: 0.3), b3 = Ref.random([1], rng)
        let g1 = ConvGeometry(stride: (2, 2), padding: (1, 1, 1, 1), transposed: false), g2 = ConvGeometry(stride: (1, 1), padding: (1, 1, 1, 1), transposed: false)
        gradGradCheck([x, w1, b1, w2, scale, shift, w3, b3], engine: { p in
            let h1 = Tensor.convolution(p[0], p[1], p[2], g1, "conv2d").leakyReLU(0.2)
            let h2 = Tensor.batchNorm(Tensor.convolution(h1, p[3], nil, g2, "conv2d"), scale: p[4], shift: p[5], epsilon: 1e-5).y.leakyReLU(0.2)
            return Tensor.linear(h2.flattened(), weight: p[6], bias: p[7])
        }, reference: { p in
            let h1 = Self.leaky(Reference.conv2d(p[0], p[1], p[2], stride: (2, 2), pad: (1, 1, 1, 1)))
            let h2 = Self.leaky(Reference.batchNorm(Reference.conv2d(h1, p[3], nil, stride: (1, 1), pad: (1, 1, 1, 1)), p[4], p[5], eps: 1e-5))
            return Reference.linear(Ref(h2.values, [3, 36]), p[6], p[7])
        })
    }

    /// The R1 penalty ‖∇ₓD(x)‖² of a dense discriminator tanh(x·W₁ᵀ)·w₂ has a closed form; its
    /// gradient in W₁ from the engine's recorded backward pass matches the Float64 derivative of it.
    @Test func gradientPenaltyOfADenseDiscriminator() {
        let x = Ref.random([3, 4], rng), w1 = Ref.random([5, 4], rng), w2 = Ref.random([1, 5], rng)
        let xs = x.tensor.requiringGrad(), w1s = w1.tensor.requiringGrad(), w2s = w2.tensor.requiringGrad()
        let d = Tensor.linear(Tensor.linear(xs, weight: w1s, bias: nil).tanh(), weight: w2s, bias: nil)
        let grad = d.sum().gradients(wrt: [xs], createGraph: true)[0]
        let penalty = grad.square().sum()
        penalty.backward()
        func reference(_ w: [Double]) -> Double {
            var total = 0.0
            for n in 0..<3 {
                // ∂D/∂x_j = Σ_k w2_k (1 − tanh²(a_k)) W1_kj
                var gx = [Double](repeating: 0, count: 4)
                for k in 0..<5 {
                    let a = (0..<4).map { w[k * 4 + $0] * x.values[n * 4 + $0] }.reduce(0, +)
                    let t = Foundation.tanh(a)
                    for j in 0..<4 { gx[j] += w2.values[k] * (1 - t * t) * w[k * 4 + j] }
                }
                total += gx.map { $0 * $0 }.reduce(0, +)
            }
            return total
        }
        #expect(abs(Double(penalty.item) - reference(w1.values)) < 1e-4 * max(1, reference(w1.values)))
        let numeric = w1.values.indices.map { i -> Double in
            var p = w1.values, m = w1.values
            p[i] += 1e-6; m[i] -= 1e-6
            return (reference(p) - reference(m)) / 2e-6
        }
        #expect(relativeError(w1s.grad!.scalars.map(Double.init), numeric) < 1e-4)
        #expect(xs.grad != nil && w2s.grad != nil)
    }
}

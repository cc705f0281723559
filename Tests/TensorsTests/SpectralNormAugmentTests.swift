import Foundation
import Testing
@testable import Tensors

/// Spectral normalisation and the DiffAugment operations against Float64 references written from
/// their definitions, values and gradients (central finite differences).
@Suite(.serialized) struct SpectralNormAugmentTests {
    /// W / (uᵀ W v) with u, v fixed, for a convolution (rows on axis 0), a transposed convolution
    /// (axis 1) and a dense layer.
    @Test(arguments: [([3, 2, 3, 3], 0), ([2, 3, 3, 3], 1), ([4, 5], 0)])
    func spectralNormMatchesReferenceAndFiniteDifferences(_ shape: [Int], _ axis: Int) {
        let rng = RandomGenerator(seed: 11)
        let state = SpectralNormState(weightShape: shape, outputAxis: axis, rng: rng)
        let w = Ref.random(shape, rng)
        gradCheck([w], engine: { $0[0].spectrallyNormalized(state).weight }, reference: { r in
            let (rows, _, index) = state.layout(shape)
            var sigma = 0.0
            for i in r[0].values.indices {
                let (row, col) = index(i)
                sigma += Double(state.u[row]) * r[0].values[i] * Double(state.v[col])
            }
            #expect(rows == state.u.count)
            return Ref(r[0].values.map { $0 / sigma }, shape)
        })
    }

    /// The matrix view of a transposed convolution's weight is PyTorch's
    /// `weight.permute(1, 0, 2, 3).reshape(out, -1)`.
    @Test func transposedWeightsAreReadOutputChannelFirst() {
        let state = SpectralNormState(u: [0, 0, 0], v: [Float](repeating: 0, count: 2 * 4), outputAxis: 1)
        let (rows, cols, index) = state.layout([2, 3, 2, 2])
        #expect(rows == 3 && cols == 8)
        // Element [a=1, o=2, y=0, x=1] is flat ((1·3 + 2)·2 + 0)·2 + 1 = 21; permuted, [2, 1, 0, 1] → row 2, column 1·4 + 1.
        #expect(index(21) == (2, 5))
    }

    /// Power iteration converges to the largest singular value: 3 for diag(3, 1, 0.5) laid out as a
    /// 1×1 convolution, |a|·|b| for a rank-one a bᵀ.
    @Test func powerIterationFindsTheLargestSingularValue() {
        var state = SpectralNormState(weightShape: [3, 3, 1, 1], outputAxis: 0, rng: RandomGenerator(seed: 2))
        let diagonal = Tensor([3, 0, 0, 0, 1, 0, 0, 0, 0.5] as [Float], shape: [3, 3, 1, 1])
        for _ in 0..<30 { state.iterate(diagonal) }
        #expect(abs(diagonal.spectrallyNormalized(state).sigma.scalars[0] - 3) < 1e-4)
        let a: [Float] = [1, -2, 2], b: [Float] = [0.5, 0.5, 0.5, 0.5]
        let rankOne = Tensor(a.flatMap { x in b.map { x * $0 } }, shape: [3, 4])
        var s2 = SpectralNormState(weightShape: [3, 4], outputAxis: 0, rng: RandomGenerator(seed: 3))
        s2.iterate(rankOne)  // one iteration is exact for rank one
        #expect(abs(rankOne.spectrallyNormalized(s2).sigma.scalars[0] - 3) < 1e-5)
        #expect(abs(s2.u.map { Double($0 * $0) }.reduce(0, +) - 1) < 1e-6)
    }

    @Test func translationMovesEachImageByItsOffset() {
        let x = Ref.random([3, 2, 5, 4], RandomGenerator(seed: 5))
        let offsets = [(dy: 1, dx: -2), (dy: 0, dx: 0), (dy: -3, dx: 1)]
        gradCheck([x], engine: { $0[0].translated(offsets) }, reference: { r in
            var y = [Double](repeating: 0, count: r[0].values.count)
            for b in 0..<3 { for c in 0..<2 { for i in 0..<5 { for j in 0..<4 {
                let (si, sj) = (i + offsets[b].dy, j + offsets[b].dx)
                if si >= 0 && si < 5 && sj >= 0 && sj < 4 { y[((b * 2 + c) * 5 + i) * 4 + j] = r[0].values[((b * 2 + c) * 5 + si) * 4 + sj] }
            } } } }
            return Ref(y, r[0].shape)
        })
        // Offsets of the whole size or more leave nothing.
        let far = Tensor.ones([1, 1, 2, 2]).translated([(dy: 5, dx: 0)])
        #expect(far.scalars == [0, 0, 0, 0])
    }

    @Test func cutoutZeroesARectanglePerImage() {
        let x = Ref.random([2, 3, 4, 5], RandomGenerator(seed: 6))
        let corners = [(-1, 2), (2, 0)], size = (2, 3)
        gradCheck([x], engine: { DiffAugment.cutout($0[0], corners: corners, size: size) }, reference: { r in
            var y = r[0].values
            for b in 0..<2 { for c in 0..<3 { for i in 0..<4 { for j in 0..<5 {
                let inside = i >= corners[b].0 && i < corners[b].0 + size.0 && j >= corners[b].1 && j < corners[b].1 + size.1
                if inside { y[((b * 3 + c) * 4 + i) * 5 + j] = 0 }
            } } } }
            return Ref(y, r[0].shape)
        })
    }

    /// Brightness, saturation and contrast: gradients with respect to the images and to the
    /// per-image random factors.
    @Test func colourOperationsMatchTheirDefinitions() {
        let rng = RandomGenerator(seed: 8)
        let x = Ref.random([2, 3, 3, 2], rng), r = Ref((0..<2).map { _ in Double(rng.uniform()) }, [2, 1, 1, 1])
        func perImage(_ f: @escaping (_ v: Double, _ b: Int, _ c: Int, _ p: Int, _ x: Ref, _ r: Ref) -> Double) -> ([Ref]) -> Ref {
            { refs in
                let (x, r) = (refs[0], refs[1])
                var y = x.values
                for b in 0..<2 { for c in 0..<3 { for p in 0..<6 { y[(b * 3 + c) * 6 + p] = f(x.values[(b * 3 + c) * 6 + p], b, c, p, x, r) } } }
                return Ref(y, x.shape)
            }
        }
        gradCheck([x, r], engine: { DiffAugment.brightness($0[0], $0[1]) },
                  reference: perImage { v, b, _, _, _, r in v + r.values[b] - 0.5 })
        gradCheck([x, r], engine: { DiffAugment.saturation($0[0], $0[1]) }, reference: perImage { v, b, _, p, x, r in
            let mean = (0..<3).map { x.values[(b * 3 + $0) * 6 + p] }.reduce(0, +) / 3
            return (v - mean) * 2 * r.values[b] + mean
        })
        gradCheck([x, r], engine: { DiffAugment.contrast($0[0], $0[1]) }, reference: perImage { v, b, _, _, x, r in
            let mean = x.values[(b * 18)..<(b * 18 + 18)].reduce(0, +) / 18
            return (v - mean) * (r.values[b] + 0.5) + mean
        })
    }

    /// The same generator state gives the same augmentation; the policy parses and refuses.
    @Test func augmentationIsAFunctionOfItsRandomStream() throws {
        let x = Tensor.randomNormal([4, 3, 8, 8], using: RandomGenerator(seed: 1))
        let policy = try DiffAugment(parsing: "cutout, translation,color")
        #expect(policy.description == "color,translation,cutout")
        let a = policy.apply(x, using: RandomGenerator(seed: 9)).scalars, b = policy.apply(x, using: RandomGenerator(seed: 9)).scalars
        let c = policy.apply(x, using: RandomGenerator(seed: 10)).scalars
        #expect(a == b && a != c)
        #expect(throws: DiffAugmentError.unknown("flip")) { try DiffAugment(parsing: "color,flip") }
    }
}

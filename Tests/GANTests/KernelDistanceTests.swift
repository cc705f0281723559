import Foundation
import Testing
@testable import GANEvaluation
import Tensors

/// The kernel distance (KID's formula) against NumPy's evaluation of the same estimator, and its
/// defining behaviour: about 0 between samples of one distribution, growing with a shift.
@Suite struct KernelDistanceTests {
    static func gaussian(_ n: Int, _ d: Int, shift: Float, seed: UInt64) -> [Float] {
        Tensor.randomNormal([n, d], using: RandomGenerator(seed: seed)).scalars.map { $0 + shift }
    }

    /// With subsets as large as the sets, the estimate is the unbiased MMD² of the whole sets,
    /// which NumPy computes in Float64 from the definition.
    @Test func matchesTheUnbiasedMMDComputedByNumPy() throws {
        let d = 16, real = Self.gaussian(300, d, shift: 0, seed: 1), fake = Self.gaussian(300, d, shift: 0.3, seed: 2)
        let ours = KernelDistance.kid(real: real, fake: fake, dimension: d, subsets: 1, subsetSize: 1_000)
        let input = scratch("kid") + "/x.json"
        try JSONSerialization.data(withJSONObject: ["d": d, "real": real.map(Double.init), "fake": fake.map(Double.init)])
            .write(to: URL(fileURLWithPath: input))
        let reference = try python("""
        import sys, json, numpy as np
        a = json.load(open(sys.argv[1])); d = a['d']
        x = np.array(a['real'], np.float32).astype(np.float64).reshape(-1, d); y = np.array(a['fake'], np.float32).astype(np.float64).reshape(-1, d)
        k = lambda u, v: (u @ v.T / d + 1) ** 3
        m = len(x); kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
        print((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
        """, [input])
        let expected = try #require(Double(reference.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(abs(ours - expected) < 1e-4 * abs(expected) + 1e-7, "\(ours) vs NumPy \(expected)")
    }

    @Test func nearZeroForOneDistributionAndGrowingWithAShift() {
        let d = 8, real = Self.gaussian(800, d, shift: 0, seed: 3)
        let same = KernelDistance.kid(real: real, fake: Self.gaussian(800, d, shift: 0, seed: 4), dimension: d, subsets: 5, subsetSize: 500)
        let near = KernelDistance.kid(real: real, fake: Self.gaussian(800, d, shift: 0.25, seed: 5), dimension: d, subsets: 5, subsetSize: 500)
        let far = KernelDistance.kid(real: real, fake: Self.gaussian(800, d, shift: 1, seed: 6), dimension: d, subsets: 5, subsetSize: 500)
        #expect(abs(same) < 0.02 && same < near && near < far, "same \(same), shifted 0.25: \(near), shifted 1: \(far)")
    }
}

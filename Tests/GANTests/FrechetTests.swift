import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Tensors

@Suite struct FrechetTests {
    /// A random orthogonal matrix (Gram–Schmidt on Gaussian columns), row-major.
    static func orthogonal(_ n: Int, _ rng: RandomGenerator) -> [Double] {
        var cols: [[Double]] = []
        while cols.count < n {
            var v = (0..<n).map { _ in Double(Tensor.randomNormal([1], using: rng).item) }
            for c in cols { let d = zip(v, c).map(*).reduce(0, +); v = zip(v, c).map { $0 - d * $1 } }
            let norm = v.map { $0 * $0 }.reduce(0, +).squareRoot()
            if norm > 1e-6 { cols.append(v.map { $0 / norm }) }
        }
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { q[i * n + j] = cols[j][i] } }
        return q
    }

    static func compose(_ q: [Double], _ d: [Double]) -> [Double] {
        let n = d.count
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { out[i * n + j] += q[i * n + k] * d[k] * q[j * n + k] } } }
        return out
    }

    /// Covariances sharing an eigenbasis commute, so (Σ₁Σ₂)^½ has eigenvalues √(d₁d₂): closed form,
    /// including eigenvalues at 0 and 1e-12 (nearly singular).
    @Test(arguments: [4, 16, 64])
    func commutingCovariancesMatchTheClosedForm(_ n: Int) {
        let rng = RandomGenerator(seed: UInt64(n))
        let q = Self.orthogonal(n, rng)
        var d1 = (0..<n).map { _ in Double(rng.uniform()) * 3 + 0.1 }, d2 = (0..<n).map { _ in Double(rng.uniform()) * 2 }
        d1[0] = 0; d1[1] = 1e-12; d2[2] = 1e-12
        let m1 = (0..<n).map { _ in Double(rng.uniform()) }, m2 = (0..<n).map { _ in Double(rng.uniform()) - 0.5 }
        let a = FeatureStatistics(dimension: n, count: 100, mean: m1, covariance: Self.compose(q, d1))
        let b = FeatureStatistics(dimension: n, count: 100, mean: m2, covariance: Self.compose(q, d2))
        let expected = zip(m1, m2).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            + zip(d1, d2).map { $0 + $1 - 2 * ($0 * $1).squareRoot() }.reduce(0, +)
        // Zero eigenvalues come back as ±ε‖Σ‖, whose square roots are ~1e-8: that bounds the accuracy.
        let fd = Frechet.distance(a, b)
        #expect(abs(fd - expected) < 1e-6 * max(1, expected), "\(fd) vs \(expected)")
        #expect(abs(Frechet.distance(a, a)) < 1e-6)
        // Σ₂ = c·Σ₁: Tr((Σ₁Σ₂)^½) = √c·Tr Σ₁.
        let c = 2.5
        let scaled = FeatureStatistics(dimension: n, count: 100, mean: m1, covariance: a.covariance.map { $0 * c })
        let trace = d1.reduce(0, +)
        #expect(abs(Frechet.distance(a, scaled) - (1 + c - 2 * c.squareRoot()) * trace) < 1e-6 * max(1, trace))
    }

    /// Non-commuting covariances against SciPy's `sqrtm` (an independent algorithm: Schur).
    @Test func generalCovariancesMatchSciPy() throws {
        let rng = RandomGenerator(seed: 9)
        let n = 12, count = 50
        let fa = (0..<(count * n)).map { _ in Float(Tensor.randomNormal([1], using: rng).item) }
        let fb = (0..<(count * n)).map { i in Float(i % n) * 0.1 + 2 * Float(Tensor.randomNormal([1], using: rng).item) }
        let a = FeatureStatistics(features: fa, count: count, dimension: n)
        let b = FeatureStatistics(features: fb, count: count, dimension: n)
        let script = """
        import sys, json, numpy as np, scipy.linalg
        d = json.loads(open(sys.argv[1]).read())
        a = np.array(d['a'], dtype=np.float64).reshape(-1, d['n']); b = np.array(d['b'], dtype=np.float64).reshape(-1, d['n'])
        ma, mb = a.mean(0), b.mean(0); ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        root = scipy.linalg.sqrtm(ca @ cb).real
        print(json.dumps({'fd': float(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * root)), 'cov00': float(ca[0, 0]), 'cov01': float(ca[0, 1])}))
        """
        let input = scratch("frechet") + "/in.json"
        try JSONSerialization.data(withJSONObject: ["n": n, "a": fa.map(Double.init), "b": fb.map(Double.init)])
            .write(to: URL(fileURLWithPath: input))
        let out = try json(try python(script, [input])) as! [String: Double]
        #expect(abs(a.covariance[0] - out["cov00"]!) < 1e-9 && abs(a.covariance[1] - out["cov01"]!) < 1e-9)
        let fd = Frechet.distance(a, b)
        #expect(abs(fd - out["fd"]!) < 1e-6 * max(1, fd), "\(fd) vs SciPy \(out["fd"]!)")
    }
}

import Foundation
import Testing
@testable import GANEvaluation
import TestSupport

/// `SymmetricEigen` (Householder + implicit QL in Swift, which replaced LAPACK's dsyevd): the
/// defining equations on random, structured and hard matrices, and SciPy's `eigh` as the
/// independent reference.
@Suite struct SymmetricEigenTests {
    static func random(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix(state: seed)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i {
            let x = Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1
            a[i * n + j] = x; a[j * n + i] = x
        } }
        return a
    }

    /// ‖AV − VΛ‖ and ‖VᵀV − I‖, each relative to ‖A‖ (largest entry), and whether the values ascend.
    static func check(_ a: [Double], _ n: Int, _ e: SymmetricEigen) -> (residual: Double, orthogonality: Double, ascending: Bool) {
        let scale = max(a.map(abs).max() ?? 0, .leastNormalMagnitude)
        var residual = 0.0, orthogonality = 0.0
        for k in 0..<n {
            for i in 0..<n {
                var s = 0.0
                for j in 0..<n { s += a[i * n + j] * e.vectors[k * n + j] }
                residual = max(residual, abs(s - e.values[k] * e.vectors[k * n + i]) / scale)
            }
            for l in 0..<n {
                var s = 0.0
                for j in 0..<n { s += e.vectors[k * n + j] * e.vectors[l * n + j] }
                orthogonality = max(orthogonality, abs(s - (k == l ? 1 : 0)))
            }
        }
        return (residual, orthogonality, zip(e.values, e.values.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test(arguments: [1, 2, 3, 5, 17, 64, 128])
    func randomMatricesSatisfyTheDefinition(_ n: Int) {
        let a = Self.random(n, seed: UInt64(n))
        let e = SymmetricEigen(a, n: n)
        let (residual, orthogonality, ascending) = Self.check(a, n, e)
        #expect(residual < 1e-13 * Double(max(n, 4)), "n \(n): ‖AV − VΛ‖ \(residual)")
        #expect(orthogonality < 1e-13 * Double(max(n, 4)), "n \(n): ‖VᵀV − I‖ \(orthogonality)")
        #expect(ascending)
        // The values alone are the same numbers.
        let values = SymmetricEigen(a, n: n, vectors: false).values
        #expect(zip(values, e.values).allSatisfy { abs($0 - $1) < 1e-13 * Double(n) }, "n \(n)")
        // Trace and Frobenius norm are the sum of the values and of their squares.
        let trace = (0..<n).map { a[$0 * n + $0] }.reduce(0, +)
        #expect(abs(e.values.reduce(0, +) - trace) < 1e-12 * Double(n))
        #expect(abs(e.values.map { $0 * $0 }.reduce(0, +) - a.map { $0 * $0 }.reduce(0, +)) < 1e-11 * Double(n))
    }

    /// Matrices that take the algorithm's other paths: already diagonal (every reflector skipped,
    /// every off-diagonal negligible at once), zero, the identity (one value n times), a
    /// tridiagonal one with a zero in the middle (it splits), rank one, entries near overflow and
    /// near underflow (the reflectors are scaled), a 2×2 with equal diagonal, and a null space
    /// beside a large block.
    @Test func structuredAndExtremeMatrices() {
        func diagonal(_ d: [Double]) -> [Double] {
            let n = d.count
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n { a[i * n + i] = d[i] }
            return a
        }
        let n = 6
        var tridiagonal = diagonal([4, 1, -2, 3, 0, 5])
        for (i, x) in [1.0, 2, 0, -1, 3].enumerated() { tridiagonal[i * n + i + 1] = x; tridiagonal[(i + 1) * n + i] = x }
        // What a covariance with a null space reduced to (from EvaluatorTests' per-class statistics):
        // zero rows, a row of 1e-203 coupled by 1e-101 to rows of 1e4. Deflating relative to the
        // neighbours or to the rows seen so far stalled here.
        let stalled: [Double] = {
            let d = [0, 0, 0, 3.6165874041789463e-203, 10133.696051462704, 375.12934359142344, 354.9309040002916, 166.19714719136633]
            let e = [0, 0, 8.803381798655437e-101, -1155.7865824197434, -179.79904855867673, 175.89443446042395, 7.945569208770314]
            let k = d.count
            var a = [Double](repeating: 0, count: k * k)
            for i in 0..<k { a[i * k + i] = d[i] }
            for i in 0..<(k - 1) { a[(i + 1) * k + i] = e[i]; a[i * k + i + 1] = e[i] }
            return a
        }()
        let v = [1.0, -2, 3, 0.5, 0, 1]
        let rankOne = (0..<(n * n)).map { v[$0 / n] * v[$0 % n] }
        let random = Self.random(n, seed: 42)
        let cases: [(String, [Double], [Double]?)] = [
            ("diagonal", diagonal([3, -1, 2, 0, 7, -5]), [-5, -1, 0, 2, 3, 7]),
            ("zero", [Double](repeating: 0, count: n * n), [Double](repeating: 0, count: n)),
            ("identity", diagonal([Double](repeating: 1, count: n)), [Double](repeating: 1, count: n)),
            ("split tridiagonal", tridiagonal, nil),
            ("rank one", rankOne, [0, 0, 0, 0, 0, v.map { $0 * $0 }.reduce(0, +)]),
            ("near overflow", random.map { $0 * 1e150 }, nil),
            ("near underflow", random.map { $0 * 1e-150 }, nil),
            ("2×2 equal diagonal", [2, 1, 1, 2], [1, 3]),
            ("null space beside a large block", stalled, nil),
        ]
        for (name, a, expected) in cases {
            let size = Int(Double(a.count).squareRoot())
            let e = SymmetricEigen(a, n: size)
            let (residual, orthogonality, ascending) = Self.check(a, size, e)
            #expect(residual < 1e-13 && orthogonality < 1e-13 && ascending, "\(name): residual \(residual), orthogonality \(orthogonality), values \(e.values)")
            if let expected {
                let scale = max(expected.map(abs).max()!, 1)
                #expect(zip(e.values, expected).allSatisfy { abs($0 - $1) < 1e-13 * scale }, "\(name): \(e.values) against \(expected)")
            }
        }
    }

    /// Features of a diverged generator (NaN, ∞) give NaN, at once: no sweeps that cannot converge.
    @Test func nonFiniteEntriesGiveNaNAtOnce() {
        for bad in [Double.nan, .infinity, -.infinity] {
            var a = Self.random(8, seed: 3)
            a[2 * 8 + 5] = bad
            let e = SymmetricEigen(a, n: 8)
            #expect(e.values.count == 8 && e.values.allSatisfy(\.isNaN) && e.vectors.allSatisfy(\.isNaN))
        }
        let ok = FeatureStatistics(dimension: 3, count: 10, mean: [0, 0, 0], covariance: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let diverged = FeatureStatistics(dimension: 3, count: 10, mean: [0, .nan, 0], covariance: [1, 0, 0, 0, .nan, 0, 0, 0, 1])
        #expect(Frechet.distance(ok, diverged).isNaN)
    }

    /// Against SciPy's `eigh` (LAPACK's dsyevr through SciPy's own OpenBLAS: an independent
    /// implementation) on a covariance-like matrix of the evaluator's dimension, with eigenvalues
    /// spread over eight orders of magnitude.
    @Test func matchesSciPy() throws {
        let n = 128, m = 300
        var rng = SplitMix(state: 7)
        var x = [Double](repeating: 0, count: m * n)
        for i in 0..<(m * n) { x[i] = (Double(rng.next() >> 11) / Double(1 << 53) - 0.5) * pow(10, -Double(i % n) / 16) }
        var c = [Double](repeating: 0, count: n * n)
        for s in 0..<m { for i in 0..<n { for j in 0..<n { c[i * n + j] += x[s * n + i] * x[s * n + j] / Double(m) } } }
        let input = scratch("eigen-scipy") + "/c.json"
        try JSONSerialization.data(withJSONObject: ["n": n, "c": c]).write(to: URL(fileURLWithPath: input))
        let out = try json(try python("""
        import sys, json, numpy as np, scipy.linalg
        d = json.load(open(sys.argv[1])); c = np.array(d['c']).reshape(d['n'], d['n'])
        print(json.dumps(scipy.linalg.eigh(c, eigvals_only=True).tolist()))
        """, [input])) as! [Double]
        let e = SymmetricEigen(c, n: n)
        let largest = out.map(abs).max()!
        let worst = zip(e.values, out).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-14 * largest * Double(n), "largest difference from SciPy \(worst) (largest value \(largest))")
        let (residual, orthogonality, _) = Self.check(c, n, e)
        #expect(residual < 1e-13 && orthogonality < 1e-12, "residual \(residual), orthogonality \(orthogonality)")
    }
}

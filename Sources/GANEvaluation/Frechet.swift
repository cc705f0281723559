import CLinearAlgebra
import Tensors

/// Mean and covariance of a set of feature vectors, in Float64.
public struct FeatureStatistics: Sendable {
    public let dimension: Int
    public let count: Int
    public let mean: [Double]
    /// Row-major d×d, unbiased (divided by n − 1, as `numpy.cov`).
    public let covariance: [Double]

    public init(dimension: Int, count: Int, mean: [Double], covariance: [Double]) {
        precondition(mean.count == dimension && covariance.count == dimension * dimension,
                     "FeatureStatistics: mean \(mean.count) and covariance \(covariance.count) for dimension \(dimension)")
        self.dimension = dimension; self.count = count; self.mean = mean; self.covariance = covariance
    }

    /// Statistics of `count` row-major feature vectors of length `dimension` (the accumulator's
    /// one batch: mean, then the centred products).
    public init(features: [Float], count: Int, dimension: Int) {
        precondition(count >= 2 && features.count == count * dimension,
                     "FeatureStatistics: \(features.count) values for \(count)×\(dimension) (at least 2 vectors)")
        var accumulator = Accumulator(dimension: dimension)
        accumulator.add(features, count: count)
        self = accumulator.statistics
    }
}

/// The Fréchet distance between two Gaussians fitted to feature sets (the FID formula):
/// `‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2·(Σ₁Σ₂)^½)`.
///
/// `Tr((Σ₁Σ₂)^½)` is computed as the sum of square roots of the eigenvalues of the symmetric
/// `Σ₁^½ Σ₂ Σ₁^½` (it has the same eigenvalues as Σ₁Σ₂), with Σ₁^½ from a symmetric
/// eigendecomposition (LAPACK `dsyevd`) and tiny negative eigenvalues from rounding clamped to
/// zero. This stays real and accurate for singular or nearly singular covariances, where the
/// general `sqrtm` of SciPy needs its well-known `+ εI` workaround.
public enum Frechet {
    public static func distance(_ a: FeatureStatistics, _ b: FeatureStatistics) -> Double {
        precondition(a.dimension == b.dimension, "Frechet.distance: dimensions \(a.dimension) and \(b.dimension) differ")
        let d = a.dimension
        let meanTerm = zip(a.mean, b.mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        let traceA = (0..<d).map { a.covariance[$0 * d + $0] }.reduce(0, +)
        let traceB = (0..<d).map { b.covariance[$0 * d + $0] }.reduce(0, +)
        let rootA = symmetricSquareRoot(a.covariance, d)
        let m = multiply(multiply(rootA, b.covariance, d), rootA, d)
        // Symmetrize against rounding before the eigensolver.
        var sym = m
        for i in 0..<d { for j in 0..<d { sym[i * d + j] = (m[i * d + j] + m[j * d + i]) / 2 } }
        let (values, _) = eigen(sym, d)
        let traceRoot = values.map { max($0, 0).squareRoot() }.reduce(0, +)
        return max(meanTerm + traceA + traceB - 2 * traceRoot, 0)
    }

    /// Loads LAPACK, which only the Fréchet distance needs (at run time, so that a process that
    /// computes none maps no LAPACK or BLAS), with its BLAS held to one thread. Throws
    /// `EvaluationError.linearAlgebraUnavailable` when the library is missing.
    public static func loadLinearAlgebra() throws {
        var buffer = [CChar](repeating: 0, count: 512)
        guard sg_linear_algebra_load(&buffer, buffer.count) == 0 else {
            let reason = String(cString: buffer)
            // Present but not mappable: the address space is used up, not the library missing.
            if reason.contains("failed to map segment") || reason.contains("Cannot allocate memory") { Engine.outOfMemory(0) }
            throw EvaluationError.linearAlgebraUnavailable(reason: reason)
        }
    }

    /// Eigenvalues (ascending) and eigenvectors (columns, row-major) of a symmetric matrix.
    static func eigen(_ matrix: [Double], _ n: Int) -> (values: [Double], vectors: [Double]) {
        do { try loadLinearAlgebra() } catch { preconditionFailure("Frechet: \(error)") }
        var a = matrix, w = [Double](repeating: 0, count: n)
        let info = sg_symmetric_eigen(Int32(n), &a, &w)
        precondition(info == 0, "Frechet: LAPACK dsyevd failed with info \(info) on a \(n)×\(n) matrix")
        return (w, a)
    }

    /// V·diag(√max(λ, 0))·Vᵀ.
    static func symmetricSquareRoot(_ matrix: [Double], _ n: Int) -> [Double] {
        let (values, v) = eigen(matrix, n)
        let roots = values.map { max($0, 0).squareRoot() }
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for k in 0..<n where roots[k] != 0 {
            let s = v[i * n + k] * roots[k]
            for j in 0..<n { out[i * n + j] += s * v[j * n + k] }
        } }
        return out
    }

    static func multiply(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for k in 0..<n {
            let aik = a[i * n + k]
            if aik == 0 { continue }
            for j in 0..<n { out[i * n + j] += aik * b[k * n + j] }
        } }
        return out
    }
}

extension FeatureStatistics {
    /// Mean and covariance of feature vectors that arrive in batches, merged by Chan, Golub and
    /// LeVeque's pairwise update (each batch centred on its own mean, then the means' difference
    /// added), so that memory is one d×d matrix however many vectors come, and the result equals
    /// the two-pass `init(features:count:dimension:)` to rounding.
    public struct Accumulator: Sendable {
        public let dimension: Int
        public private(set) var count = 0
        var mean: [Double]
        /// Upper triangle of the sum of centred outer products.
        var m2: [Double]

        public init(dimension: Int) {
            self.dimension = dimension
            mean = [Double](repeating: 0, count: dimension)
            m2 = [Double](repeating: 0, count: dimension * dimension)
        }

        /// Adds `n` row-major vectors.
        public mutating func add(_ features: [Float], count n: Int) {
            let d = dimension
            precondition(features.count == n * d, "FeatureStatistics.Accumulator.add: \(features.count) values for \(n)×\(d)")
            guard n > 0 else { return }
            var batchMean = [Double](repeating: 0, count: d)
            for i in 0..<n { for j in 0..<d { batchMean[j] += Double(features[i * d + j]) } }
            for j in 0..<d { batchMean[j] /= Double(n) }
            var centred = [Double](repeating: 0, count: d)
            for i in 0..<n {
                for j in 0..<d { centred[j] = Double(features[i * d + j]) - batchMean[j] }
                for a in 0..<d where centred[a] != 0 {
                    let ca = centred[a]
                    for b in a..<d { m2[a * d + b] += ca * centred[b] }
                }
            }
            let total = count + n
            let weight = Double(count) * Double(n) / Double(total)
            let delta = (0..<d).map { batchMean[$0] - mean[$0] }
            if count > 0 {
                for a in 0..<d where delta[a] != 0 { for b in a..<d { m2[a * d + b] += weight * delta[a] * delta[b] } }
            }
            for j in 0..<d { mean[j] += delta[j] * Double(n) / Double(total) }
            count = total
        }

        /// The statistics of everything added (at least two vectors).
        public var statistics: FeatureStatistics {
            precondition(count >= 2, "FeatureStatistics.Accumulator: \(count) vectors, at least 2 needed")
            let d = dimension
            var cov = [Double](repeating: 0, count: d * d)
            for a in 0..<d { for b in a..<d {
                let v = m2[a * d + b] / Double(count - 1)
                cov[a * d + b] = v
                cov[b * d + a] = v
            } }
            return FeatureStatistics(dimension: d, count: count, mean: mean, covariance: cov)
        }
    }
}

/// What keeps an evaluation from running.
public enum EvaluationError: Error, Equatable, CustomStringConvertible {
    /// LAPACK (`liblapacke.so.3`, Debian's liblapacke) could not be loaded.
    case linearAlgebraUnavailable(reason: String)

    public var description: String {
        switch self {
        case .linearAlgebraUnavailable(let reason):
            return "the Fréchet distance needs LAPACK (liblapacke.so.3; Debian: apt install liblapacke): \(reason)"
        }
    }
}

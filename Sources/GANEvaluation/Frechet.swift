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
/// `Tr((Σ₁Σ₂)^½)` is the sum of the square roots of the eigenvalues of Σ₁Σ₂, which are those of
/// the symmetric `Λ^½VᵀΣ₂VΛ^½` for Σ₁ = VΛVᵀ (similar to Σ₁^½Σ₂Σ₁^½ through the orthogonal V);
/// both decompositions are `SymmetricEigen`'s, and tiny negative eigenvalues from rounding are
/// clamped to zero. This stays real and accurate for singular or nearly singular covariances,
/// where the general `sqrtm` of SciPy needs its well-known `+ εI` workaround.
public enum Frechet {
    public static func distance(_ a: FeatureStatistics, _ b: FeatureStatistics) -> Double {
        precondition(a.dimension == b.dimension, "Frechet.distance: dimensions \(a.dimension) and \(b.dimension) differ")
        let d = a.dimension
        let meanTerm = zip(a.mean, b.mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        let traceA = (0..<d).map { a.covariance[$0 * d + $0] }.reduce(0, +)
        let traceB = (0..<d).map { b.covariance[$0 * d + $0] }.reduce(0, +)
        let first = SymmetricEigen(a.covariance, n: d)
        // Rows of R: √λₖ·vₖ (the eigenvectors of Σ₁ scaled), so that RΣ₂Rᵀ = Λ^½VᵀΣ₂VΛ^½.
        var r = first.vectors
        for k in 0..<d {
            let root = max(first.values[k], 0).squareRoot()
            for j in 0..<d { r[k * d + j] *= root }
        }
        let m = multiplyTransposed(multiply(r, b.covariance, d), r, d)
        let traceRoot = SymmetricEigen(m, n: d, vectors: false).values.map { max($0, 0).squareRoot() }.reduce(0, +)
        return max(meanTerm + traceA + traceB - 2 * traceRoot, 0)
    }

    /// A·B for row-major n×n matrices.
    static func multiply(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        out.withUnsafeMutableBufferPointer { out in a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
            for i in 0..<n { for k in 0..<n {
                let aik = a[i * n + k]
                if aik == 0 { continue }
                for j in 0..<n { out[i * n + j] += aik * b[k * n + j] }
            } }
        } } }
        return out
    }

    /// A·Bᵀ for row-major n×n matrices (dot products of rows).
    static func multiplyTransposed(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        out.withUnsafeMutableBufferPointer { out in a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
            for i in 0..<n { for j in 0..<n {
                var s = 0.0
                for k in 0..<n { s += a[i * n + k] * b[j * n + k] }
                out[i * n + j] = s
            } }
        } } }
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

import Foundation
import GANModels
import Tensors

/// Scores computed from a classifier's outputs on generated images.
public enum ClassifierMetrics {
    /// The Inception Score's analogue, `exp(E_x[KL(p(y|x) ‖ p(y))])`, from row-major probabilities
    /// [count, classes]. 1 when every image gets the same prediction; `classes` at most.
    public static func score(probabilities p: [Float], count: Int, classes: Int) -> Double {
        precondition(p.count == count * classes && count > 0, "ClassifierMetrics.score: \(p.count) values for \(count)×\(classes)")
        var accumulator = ScoreAccumulator(classes: classes)
        accumulator.add(p, count: count)
        return accumulator.score
    }

    /// Each image's most probable class.
    public static func argmax(probabilities p: [Float], count: Int, classes: Int) -> [Int] {
        (0..<count).map { i in (0..<classes).max { p[i * classes + $0] < p[i * classes + $1] }! }
    }

    /// How many classes receive at least `threshold` (2%) of the predictions.
    public static func coverage(_ predicted: [Int], classes: Int, threshold: Double = 0.02) -> Int {
        coverage(histogram: histogram(predicted, classes: classes), threshold: threshold)
    }

    /// `coverage` from the predicted-class histogram.
    public static func coverage(histogram h: [Int], threshold: Double = 0.02) -> Int {
        let total = h.reduce(0, +)
        return h.filter { Double($0) >= threshold * Double(total) }.count
    }

    /// KL(predicted-class histogram ‖ reference histogram), with add-one smoothing so that an empty
    /// class gives a large but finite value.
    public static func histogramKL(_ predicted: [Int], reference: [Int], classes: Int) -> Double {
        histogramKL(histogram: histogram(predicted, classes: classes), reference: histogram(reference, classes: classes))
    }

    /// `histogramKL` from the two histograms.
    public static func histogramKL(histogram h: [Int], reference r: [Int]) -> Double {
        let classes = h.count, hn = h.reduce(0, +), rn = r.reduce(0, +)
        let p = h.map { Double($0 + 1) / Double(hn + classes) }
        let q = r.map { Double($0 + 1) / Double(rn + classes) }
        return zip(p, q).map { $0 * log($0 / $1) }.reduce(0, +)
    }

    /// The classifier score of probabilities that arrive in batches:
    /// `E[KL(p(y|x) ‖ p(y))] = E[Σ p log p] − Σ p̄ log p̄`, so only the sum of the first term and the
    /// marginal are kept.
    public struct ScoreAccumulator: Sendable {
        var negativeEntropy = 0.0
        var marginal: [Double]
        public private(set) var count = 0

        public init(classes: Int) { marginal = [Double](repeating: 0, count: classes) }

        public mutating func add(_ p: [Float], count n: Int) {
            let classes = marginal.count
            precondition(p.count == n * classes, "ClassifierMetrics.ScoreAccumulator.add: \(p.count) values for \(n)×\(classes)")
            for i in 0..<n { for c in 0..<classes {
                let q = Double(p[i * classes + c])
                marginal[c] += q
                if q > 0 { negativeEntropy += q * log(q) }
            } }
            count += n
        }

        public var score: Double {
            precondition(count > 0, "ClassifierMetrics.ScoreAccumulator: no probabilities")
            let n = Double(count)
            let cross = marginal.map { $0 / n }.reduce(0.0) { $1 > 0 ? $0 + $1 * log($1) : $0 }
            return exp(negativeEntropy / n - cross)
        }
    }

    static func histogram(_ labels: [Int], classes: Int) -> [Int] {
        var h = [Int](repeating: 0, count: classes)
        for l in labels where l >= 0 && l < classes { h[l] += 1 }
        return h
    }
}

/// Precision and recall in feature space (Kynkäänniemi et al., 2019): each set's manifold is the
/// union of balls around its points reaching their k-th nearest neighbour in the same set;
/// precision is the share of generated points inside the real manifold, recall the share of real
/// points inside the generated one.
public enum ManifoldMetrics {
    public static func precisionRecall(real: [Float], fake: [Float], dimension d: Int, k: Int = 3) -> (precision: Double, recall: Double) {
        let nr = real.count / d, nf = fake.count / d
        precondition(nr > k && nf > k && real.count == nr * d && fake.count == nf * d,
                     "ManifoldMetrics: need more than k = \(k) vectors of dimension \(d) in each set")
        let realRadii = kthNeighbourDistances(real, d, k), fakeRadii = kthNeighbourDistances(fake, d, k)
        return (covered(fake, by: real, radii: realRadii, d), covered(real, by: fake, radii: fakeRadii, d))
    }

    /// One side of a distance computation, prepared once: the rows as a transposed matrix for the
    /// engine's matmul, and their squared norms.
    struct Centres {
        let transposed: Tensor, norms: [Float], count: Int
        init(_ b: [Float], _ d: Int) {
            count = b.count / d
            transposed = Tensor(ManifoldMetrics.transpose(b, count, d), shape: [d, count])
            norms = (0..<count).map { j in (0..<d).reduce(Float(0)) { $0 + b[j * d + $1] * b[j * d + $1] } }
        }
    }

    /// Squared distances between rows `rows` of `a` [n, d] and every centre
    /// (‖a‖² + ‖b‖² − 2·a·bᵀ, the product on the engine's matmul).
    static func squaredDistances(_ a: [Float], _ d: Int, rows: Range<Int>, to b: Centres) -> [Float] {
        let m = b.count
        let block = Tensor(Array(a[(rows.lowerBound * d)..<(rows.upperBound * d)]), shape: [rows.count, d])
        let dots = withoutGrad { block.matmul(b.transposed) }.scalars
        var out = [Float](repeating: 0, count: rows.count * m)
        for (r, i) in rows.enumerated() {
            let an = (0..<d).reduce(Float(0)) { $0 + a[i * d + $1] * a[i * d + $1] }
            for j in 0..<m { out[r * m + j] = max(an + b.norms[j] - 2 * dots[r * m + j], 0) }
        }
        return out
    }

    static func transpose(_ x: [Float], _ rows: Int, _ cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<rows { for j in 0..<cols { out[j * rows + i] = x[i * cols + j] } }
        return out
    }

    /// For each row, the squared distance to its k-th nearest other row.
    static func kthNeighbourDistances(_ x: [Float], _ d: Int, _ k: Int) -> [Float] {
        let n = x.count / d
        var radii = [Float](repeating: 0, count: n)
        let centres = Centres(x, d)
        for start in stride(from: 0, to: n, by: 1024) {
            let rows = start..<min(start + 1024, n)
            let dist = squaredDistances(x, d, rows: rows, to: centres)
            for (r, i) in rows.enumerated() {
                // The k smallest distances to other rows, kept sorted in a small buffer.
                var best = [Float](repeating: .infinity, count: k)
                for j in 0..<n where j != i {
                    let v = dist[r * n + j]
                    if v < best[k - 1] {
                        var p = k - 1
                        while p > 0 && best[p - 1] > v { best[p] = best[p - 1]; p -= 1 }
                        best[p] = v
                    }
                }
                radii[i] = best[k - 1]
            }
        }
        return radii
    }

    /// The share of `points` within some ball (centre in `centres`, squared radius in `radii`).
    static func covered(_ points: [Float], by centres: [Float], radii: [Float], _ d: Int) -> Double {
        let n = points.count / d, m = centres.count / d
        var inside = 0
        let prepared = Centres(centres, d)
        for start in stride(from: 0, to: n, by: 1024) {
            let rows = start..<min(start + 1024, n)
            let dist = squaredDistances(points, d, rows: rows, to: prepared)
            for r in 0..<rows.count where (0..<m).contains(where: { dist[r * m + $0] <= radii[$0] }) { inside += 1 }
        }
        return Double(inside) / Double(n)
    }
}

/// The kernel distance of Bińkowski et al. 2018 (KID, "Demystifying MMD GANs") on the classifier's
/// features: the unbiased estimate of the squared maximum mean discrepancy with the polynomial
/// kernel k(x, y) = (xᵀy / d + 1)³, averaged over `subsets` random subsets of `subsetSize` vectors
/// of each side (clean-fid's and torch-fidelity's procedure). Unlike the Fréchet distance it has
/// no bias that depends on the number of images, which is what small sets (2–4 000 real images)
/// need. Lower is better; it can be slightly negative for sets from one distribution.
public enum KernelDistance {
    public static func kid(real: [Float], fake: [Float], dimension d: Int, subsets: Int = 10, subsetSize: Int = 1_000,
                           seed: UInt64 = 0) -> Double {
        let nr = real.count / d, nf = fake.count / d
        precondition(nr >= 2 && nf >= 2 && real.count == nr * d && fake.count == nf * d,
                     "KernelDistance.kid: need at least 2 vectors of dimension \(d) on each side")
        let m = min(nr, nf, subsetSize)
        let rng = RandomGenerator(seed: seed)
        /// `m` distinct rows of `x` (n rows) drawn without replacement (a partial Fisher–Yates shuffle).
        func draw(_ x: [Float], _ n: Int) -> Tensor {
            var order = Array(0..<n)
            for i in 0..<m { order.swapAt(i, i + rng.integer(in: 0...(n - 1 - i))) }
            var rows = [Float](); rows.reserveCapacity(m * d)
            for i in order.prefix(m) { rows += x[(i * d)..<((i + 1) * d)] }
            return Tensor(rows, shape: [m, d])
        }
        /// Σ k(aᵢ, bⱼ) over all pairs; over the pairs i ≠ j when `a` is `b` (`within`: the
        /// symmetric matrix's upper triangle, twice).
        func kernelSum(_ a: Tensor, _ b: Tensor, within: Bool) -> Double {
            let dots = withoutGrad { a.matmul(Tensor(ManifoldMetrics.transpose(b.scalars, m, d), shape: [d, m])) }.scalars
            var sum = 0.0
            let scale = 1 / Double(d)
            dots.withUnsafeBufferPointer { p in
                if within {
                    for i in 0..<m { for j in (i + 1)..<max(m, i + 1) { let k = Double(p[i * m + j]) * scale + 1; sum += 2 * k * k * k } }
                } else {
                    for i in 0..<(m * m) { let k = Double(p[i]) * scale + 1; sum += k * k * k }
                }
            }
            return sum
        }
        var total = 0.0
        for _ in 0..<subsets {
            let x = draw(real, nr), y = draw(fake, nf)
            let mm = Double(m)
            total += (kernelSum(x, x, within: true) + kernelSum(y, y, within: true)) / (mm * (mm - 1))
                - 2 * kernelSum(x, y, within: false) / (mm * mm)
        }
        return total / Double(subsets)
    }
}

import Foundation

/// Eigenvalues and eigenvectors of a real symmetric matrix, in Float64, in Swift: Householder
/// reduction to tridiagonal form, then the implicit QL algorithm with Wilkinson's shift (the method
/// of EISPACK's tred2/tql2 and of LAPACK's dsteqr; Golub & Van Loan §8.3).
///
/// Why not LAPACK: the Fréchet distance was LAPACK's only user, and through it the machine's BLAS
/// (Debian's `libblas.so.3` alternative). OpenBLAS, the alternative as soon as NumPy or SciPy is
/// installed from Debian, retries a failed `mmap` of its 128 MiB buffer forever, so `swiftgan eval`
/// spun under an address-space limit (issue 33). Here every allocation is an ordinary Swift array,
/// which either succeeds or ends the process with the out-of-memory line. At the evaluator's 128
/// features this takes about a millisecond (docs/performance-log.md has the measurement against
/// LAPACK with both BLAS), nothing beside the images' generation.
///
/// Storage is row-major; the eigenvectors are returned as rows (`vectors[k*n ..< (k+1)*n]` is the
/// vector of `values[k]`), which keeps every inner loop of the QL sweeps contiguous.
public struct SymmetricEigen: Sendable {
    public let n: Int
    /// Ascending.
    public let values: [Double]
    /// Row k is the unit eigenvector of `values[k]`; empty when only values were asked for.
    public let vectors: [Double]

    /// Decomposes the symmetric n×n `matrix` (row-major; only its lower triangle is read).
    public init(_ matrix: [Double], n: Int, vectors wantVectors: Bool = true) {
        precondition(n >= 0 && matrix.count == n * n, "SymmetricEigen: \(matrix.count) values for a \(n)×\(n) matrix")
        self.n = n
        guard n > 0 else { values = []; vectors = []; return }
        // A non-finite entry (features of a generator that diverged) has no decomposition: NaN
        // throughout, as LAPACK would give, rather than sweeps that cannot converge.
        guard matrix.allSatisfy(\.isFinite) else {
            values = [Double](repeating: .nan, count: n)
            vectors = wantVectors ? [Double](repeating: .nan, count: n * n) : []
            return
        }
        var a = matrix
        var diagonal = [Double](repeating: 0, count: n), off = [Double](repeating: 0, count: n)
        var basis = [Double]()
        a.withUnsafeMutableBufferPointer { a in
            Self.tridiagonalize(a, n, &diagonal, &off)
            if wantVectors { basis = Self.transformTransposed(a, n) }
        }
        basis.withUnsafeMutableBufferPointer { z in
            Self.implicitQL(&diagonal, &off, n, rows: wantVectors ? z : nil)
        }
        // Ascending order, vectors following their values.
        let order = (0..<n).sorted { diagonal[$0] < diagonal[$1] || (diagonal[$0] == diagonal[$1] && $0 < $1) }
        values = order.map { diagonal[$0] }
        if wantVectors {
            var sorted = [Double](repeating: 0, count: n * n)
            for (to, from) in order.enumerated() {
                for j in 0..<n { sorted[to * n + j] = basis[from * n + j] }
            }
            vectors = sorted
        } else {
            vectors = []
        }
    }

    /// Reduces `a` to the tridiagonal T = QᵀAQ: on return `diagonal[i]` = T[i][i] and `off[i]` =
    /// T[i+1][i] (`off[n-1]` = 0), and column k of `a` below its subdiagonal holds the k-th
    /// Householder vector (with its τ in `a[k*n+k]`), from which `transformTransposed` builds Q.
    ///
    /// Step k reflects x = A[k+1..<n][k] onto α·e₁ with H = I − τvvᵀ, v = x − αe₁, α = −sign(x₀)‖x‖,
    /// then updates the trailing block as A ← HAH = A − vwᵀ − wvᵀ with p = τAv, w = p − (τ/2)(pᵀv)v
    /// (the symmetric rank-2 update), rows kept contiguous.
    static func tridiagonalize(_ a: UnsafeMutableBufferPointer<Double>, _ n: Int, _ diagonal: inout [Double], _ off: inout [Double]) {
        var v = [Double](repeating: 0, count: n), w = [Double](repeating: 0, count: n)
        // The lower triangle is the input: mirror it so that rows can be read whole.
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { a[i * n + j] = a[j * n + i] } }
        for k in 0..<max(n - 2, 0) {
            let start = k + 1
            var norm2 = 0.0
            var scale = 0.0
            for i in start..<n { scale = max(scale, abs(a[i * n + k])) }
            var tau = 0.0, alpha = a[start * n + k]
            if scale > 0 {
                // Scaled against overflow and underflow of the squares.
                for i in start..<n { let x = a[i * n + k] / scale; v[i] = x; norm2 += x * x }
                let tail = norm2 - v[start] * v[start]
                if tail > 0 {
                    let norm = norm2.squareRoot()
                    let alphaScaled = v[start] > 0 ? -norm : norm
                    v[start] -= alphaScaled
                    // vᵀv = ‖x‖² − 2αx₀ + α² = 2(‖x‖² − αx₀).
                    let vv = 2 * (norm2 - alphaScaled * (v[start] + alphaScaled))
                    tau = 2 / vv
                    alpha = alphaScaled * scale
                }
            }
            diagonal[k] = a[k * n + k]
            off[k] = alpha
            guard tau != 0 else {
                for i in start..<n { v[i] = 0 }
                a[k * n + k] = 0
                continue
            }
            // p = τ·A₂₂v (A₂₂ symmetric, rows contiguous), K = (τ/2)·pᵀv, w = p − Kv.
            var pv = 0.0
            for i in start..<n {
                var s = 0.0
                let row = i * n
                for j in start..<n { s += a[row + j] * v[j] }
                w[i] = tau * s
                pv += w[i] * v[i]
            }
            let kHalf = tau / 2 * pv
            for i in start..<n { w[i] -= kHalf * v[i] }
            for i in start..<n {
                let vi = v[i], wi = w[i], row = i * n
                for j in start..<n { a[row + j] -= vi * w[j] + wi * v[j] }
            }
            // Keep the reflector for Q: v in column k below the diagonal, τ on the diagonal.
            for i in start..<n { a[i * n + k] = v[i] }
            a[k * n + k] = tau
        }
        if n >= 2 {
            diagonal[n - 2] = a[(n - 2) * n + (n - 2)]
            off[n - 2] = a[(n - 1) * n + (n - 2)]
        }
        diagonal[n - 1] = a[(n - 1) * n + (n - 1)]
        off[n - 1] = 0
    }

    /// Qᵀ for Q = H₀H₁⋯H_{n−3} from the reflectors `tridiagonalize` left in `a`. Q is accumulated
    /// backwards (H_k changes only rows and columns after k, so each product stays the identity
    /// outside its trailing block), then transposed so that its columns are rows.
    static func transformTransposed(_ a: UnsafeMutableBufferPointer<Double>, _ n: Int) -> [Double] {
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { q[i * n + i] = 1 }
        var row = [Double](repeating: 0, count: n)
        q.withUnsafeMutableBufferPointer { q in
            for k in stride(from: n - 3, through: 0, by: -1) {
                let tau = a[k * n + k]
                guard tau != 0 else { continue }
                let start = k + 1
                // row = vᵀ·Q[start..., start...], then Q −= τ·v·row.
                for j in start..<n { row[j] = 0 }
                for i in start..<n {
                    let vi = a[i * n + k]
                    if vi == 0 { continue }
                    let r = i * n
                    for j in start..<n { row[j] += vi * q[r + j] }
                }
                for i in start..<n {
                    let s = tau * a[i * n + k]
                    if s == 0 { continue }
                    let r = i * n
                    for j in start..<n { q[r + j] -= s * row[j] }
                }
            }
            for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { q.swapAt(i * n + j, j * n + i) } }
        }
        return q
    }

    /// Diagonalizes the symmetric tridiagonal matrix (`diagonal`, `off`) in place by implicit QL
    /// sweeps with Wilkinson's shift, deflating when an off-diagonal element falls below the
    /// rounding of its neighbours. Each sweep's Givens rotations are applied to the rows of `rows`
    /// (the columns of the basis, transposed), when given.
    static func implicitQL(_ d: inout [Double], _ e: inout [Double], _ n: Int, rows z: UnsafeMutableBufferPointer<Double>?) {
        let epsilon = Double.ulpOfOne
        // Deflation is judged against the matrix's norm (the largest |d| + |e|), so the values
        // come out with errors of ε‖T‖, which is what a backward-stable method promises anyway.
        // Tests relative to the neighbouring diagonal (or to the rows reached so far, as EISPACK's
        // tql2 does) stalled on covariances: a block of near-underflowing entries (a null space)
        // never deflates, and a tiny row beside a large one loses its sweeps to rounding. A
        // subnormal off-diagonal element is zero here.
        var norm = 0.0
        for i in 0..<n { norm = max(norm, abs(d[i]) + abs(e[i])) }
        for l in 0..<n {
            var iterations = 0
            while true {
                // The first negligible off-diagonal element at or after l splits the matrix.
                var m = l
                while m < n - 1 {
                    if abs(e[m]) <= epsilon * norm || abs(e[m]) < .leastNormalMagnitude { break }
                    m += 1
                }
                if m == l { break }
                iterations += 1
                precondition(iterations <= 60, "SymmetricEigen: no convergence at eigenvalue \(l) of \(n) after 60 sweeps")
                // Wilkinson's shift from the leading 2×2 block: the eigenvalue closer to d[l].
                var g = (d[l + 1] - d[l]) / (2 * e[l])
                var r = hypot(g, 1)
                g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
                var s = 1.0, c = 1.0, p = 0.0
                var i = m - 1
                var underflow = false
                while i >= l {
                    var f = s * e[i]
                    let b = c * e[i]
                    r = hypot(f, g)
                    e[i + 1] = r
                    if r == 0 {
                        // The rotation is the identity: deflate here and sweep again.
                        d[i + 1] -= p
                        e[m] = 0
                        underflow = true
                        break
                    }
                    s = f / r
                    c = g / r
                    g = d[i + 1] - p
                    r = (d[i] - g) * s + 2 * c * b
                    p = s * r
                    d[i + 1] = g + p
                    g = c * r - b
                    if let z {
                        // Columns i and i+1 of the basis, stored as rows.
                        let ri = i * n, rj = (i + 1) * n
                        for k in 0..<n {
                            f = z[rj + k]
                            z[rj + k] = s * z[ri + k] + c * f
                            z[ri + k] = c * z[ri + k] - s * f
                        }
                    }
                    i -= 1
                }
                if underflow { continue }
                d[l] -= p
                e[l] = g
                e[m] = 0
            }
        }
    }
}

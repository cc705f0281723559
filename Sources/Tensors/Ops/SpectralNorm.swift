// Spectral normalisation (Miyato et al., 2018): a weight divided by an estimate of its largest
// singular value, as PyTorch's `torch.nn.utils.spectral_norm` computes it.

/// The power-iteration state of one spectrally normalised weight: unit vectors `u` (one entry per
/// output unit) and `v` (one per input element), and how the weight is read as a matrix.
///
/// The weight is viewed as a matrix W with the `outputAxis` dimension as rows (0 for convolutions
/// and dense layers, 1 for transposed convolutions, whose weights are [in, out, kh, kw]) and the
/// other dimensions, in order, as columns: PyTorch's `weight.permute(dim, …).reshape(h, -1)`.
public struct SpectralNormState: Sendable, Equatable {
    public var u: [Float]
    public var v: [Float]
    public let outputAxis: Int
    /// Added to norms before dividing (PyTorch's `eps`).
    public static let epsilon: Float = 1e-12

    /// `u` and `v` given (restored from a checkpoint, or PyTorch's).
    public init(u: [Float], v: [Float], outputAxis: Int) {
        self.u = u; self.v = v; self.outputAxis = outputAxis
    }

    /// Random unit vectors for a weight of `shape`, drawn as PyTorch does (normal, then normalised).
    public init(weightShape shape: [Int], outputAxis: Int, rng: RandomGenerator) {
        precondition(outputAxis < shape.count, "SpectralNormState: output axis \(outputAxis) of a weight \(shape)")
        let rows = shape[outputAxis], cols = shape.reduce(1, *) / max(rows, 1)
        var u = [Float](repeating: 0, count: rows), v = [Float](repeating: 0, count: cols)
        u.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        v.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        self.init(u: Self.normalized(u), v: Self.normalized(v), outputAxis: outputAxis)
    }

    static func normalized(_ x: [Float]) -> [Float] {
        let norm = Float(x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        let d = Swift.max(norm, epsilon)
        return x.map { $0 / d }
    }

    /// (rows, columns, the [rows, columns] matrix index of each weight element's position) for a
    /// weight of `shape`.
    func layout(_ shape: [Int]) -> (rows: Int, cols: Int, index: (Int) -> (Int, Int)) {
        let rows = shape[outputAxis], total = shape.reduce(1, *), cols = total / rows
        if outputAxis == 0 { return (rows, cols, { ($0 / cols, $0 % cols) }) }
        // Axis a moved to the front: split the flat index into (before a, a, after a).
        let inner = shape[(outputAxis + 1)...].reduce(1, *)
        return (rows, cols, { i in
            let outer = i / (rows * inner), row = (i / inner) % rows, rest = i % inner
            return (row, outer * inner + rest)
        })
    }

    /// The weight as a 3-D view [before, rows, after] around the output axis, and u and v shaped
    /// to broadcast against it ([1, rows, 1] and [before, 1, after]): W_mat[r, c] with
    /// c = b·after + a is view[b, r, a], so Wᵀu and W v are reductions of broadcast products.
    func views(_ weight: Tensor) -> (w: Tensor, u: Tensor, v: Tensor) {
        let shape = weight.shape, rows = shape[outputAxis]
        let before = shape[..<outputAxis].reduce(1, *), after = shape[(outputAxis + 1)...].reduce(1, *)
        return (weight.reshaped([before, rows, after]), Tensor(u, shape: [1, rows, 1]), Tensor(v, shape: [before, 1, after]))
    }

    /// One power iteration on `weight` (its values only; no gradient): v ← normalise(Wᵀu),
    /// u ← normalise(W v), as PyTorch's (products in the engine, norms in Float64).
    public mutating func iterate(_ weight: Tensor) {
        let (rows, cols, _) = layout(weight.shape)
        precondition(u.count == rows && v.count == cols,
                     "SpectralNormState.iterate: u \(u.count) and v \(v.count) for a weight \(weight.shape) (output axis \(outputAxis))")
        withoutGrad {
            if outputAxis == 0 {
                // The common case (convolutions, dense layers): two matrix-vector products.
                let w = weight.reshaped([rows, cols])
                v = Self.normalized(Tensor(u, shape: [1, rows]).matmul(w).scalars)
                u = Self.normalized(w.matmul(Tensor(v, shape: [cols, 1])).scalars)
            } else {
                let (w, uView, _) = views(weight)
                let (before, after) = (w.shape[0], w.shape[2])
                v = Self.normalized((w * uView).sum(to: [before, 1, after]).scalars)
                u = Self.normalized((w * Tensor(v, shape: [before, 1, after])).sum(to: [1, rows, 1]).scalars)
            }
        }
    }
}

extension Tensor {
    /// The weight divided by σ = uᵀ W v, its largest singular value as the power iteration in
    /// `state` estimates it; u and v are constants and the gradient flows through W and σ, as in
    /// PyTorch. Returns the normalised weight and σ.
    public func spectrallyNormalized(_ state: SpectralNormState) -> (weight: Tensor, sigma: Tensor) {
        checkShapes(state.outputAxis < shape.count && state.u.count == shape[state.outputAxis]
                    && state.v.count * state.u.count == count, "spectrallyNormalized", shape, [state.u.count, state.v.count],
                    note: "u and v must have the weight's rows and columns")
        let ones = [Int](repeating: 1, count: shape.count)
        let sigma: Tensor
        if state.outputAxis == 0 {
            let rows = state.u.count, cols = state.v.count
            sigma = Tensor(state.u, shape: [1, rows]).matmul(reshaped([rows, cols]).matmul(Tensor(state.v, shape: [cols, 1]))).reshaped(ones)
        } else {
            let (w, u, v) = state.views(self)
            sigma = ((w * v).sum(to: [1, u.shape[1], 1]) * u).sum(to: [1, 1, 1]).reshaped(ones)
        }
        return (self / sigma, sigma)
    }
}

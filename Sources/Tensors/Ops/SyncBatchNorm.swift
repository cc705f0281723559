// Batch normalization whose statistics are those of a batch split over several processes: the
// per-channel sums of each process are combined by `reduce` (an all-reduce over MPI; the identity
// in one process) in the forward pass, and the sums its gradient needs in the backward pass, so N
// processes compute what one process computes on the whole batch (PyTorch's SyncBatchNorm).
// Computed on the host in Float64 sums; used only for synchronized data-parallel training.

extension Tensor {
    /// Training-mode batch normalization over every axis but 1 with statistics of the whole,
    /// distributed batch. `reduce` sums its array element-wise across the processes, in place.
    /// Returns the output and the global mean and biased variance (per channel) and element count.
    public static func synchronizedBatchNorm(_ x: Tensor, scale: Tensor, shift: Tensor, epsilon: Float,
                                             reduce: @escaping (inout [Double]) -> Void)
        -> (y: Tensor, mean: Tensor, variance: Tensor, count: Int) {
        checkShapes(x.rank >= 2 && scale.shape == [x.shape[1]] && shift.shape == [x.shape[1]], "synchronizedBatchNorm",
                    x.shape, scale.shape, shift.shape)
        let (n, c) = (x.shape[0], x.shape[1]), inner = x.shape.dropFirst(2).reduce(1, *)
        let xs = x.scalars, gamma = scale.scalars, beta = shift.scalars
        // Local sums, then global: [Σx (C), Σx² (C), count].
        var sums = [Double](repeating: 0, count: 2 * c + 1)
        for i in 0..<n { for ch in 0..<c {
            let base = (i * c + ch) * inner
            var s = 0.0, s2 = 0.0
            for k in 0..<inner { let v = Double(xs[base + k]); s += v; s2 += v * v }
            sums[ch] += s; sums[c + ch] += s2
        } }
        sums[2 * c] = Double(n * inner)
        reduce(&sums)
        let m = sums[2 * c]
        let mean = (0..<c).map { sums[$0] / m }
        let variance = (0..<c).map { max(sums[c + $0] / m - mean[$0] * mean[$0], 0) }
        let invStd = variance.map { 1 / ($0 + Double(epsilon)).squareRoot() }
        var normalized = [Float](repeating: 0, count: xs.count), y = normalized
        for i in 0..<n { for ch in 0..<c {
            let base = (i * c + ch) * inner
            for k in 0..<inner {
                let h = (Double(xs[base + k]) - mean[ch]) * invStd[ch]
                normalized[base + k] = Float(h)
                y[base + k] = Float(h * Double(gamma[ch]) + Double(beta[ch]))
            }
        } }
        let out = record("synchronizedBatchNorm", Tensor(y, shape: x.shape).storage, inputs: [x, scale, shift]) { g, needs in
            precondition(!creatingGraph, "synchronizedBatchNorm: no second-order rule (a gradient penalty needs a discriminator without batch norm across processes)")
            let dy = g.scalars
            // Local Σdy and Σdy·x̂ per channel, then global (for dx); dγ and dβ stay local (the
            // parameters' gradients are averaged across processes afterwards).
            var local = [Double](repeating: 0, count: 2 * c)
            for i in 0..<n { for ch in 0..<c {
                let base = (i * c + ch) * inner
                for k in 0..<inner { local[ch] += Double(dy[base + k]); local[c + ch] += Double(dy[base + k]) * Double(normalized[base + k]) }
            } }
            let dgamma = (0..<c).map { Float(local[c + $0]) }, dbeta = (0..<c).map { Float(local[$0]) }
            var global = local
            if needs[0] { reduce(&global) }
            var dx = [Float](repeating: 0, count: dy.count)
            if needs[0] {
                for i in 0..<n { for ch in 0..<c {
                    let base = (i * c + ch) * inner
                    let a = Double(gamma[ch]) * invStd[ch], mdy = global[ch] / m, mdyx = global[c + ch] / m
                    for k in 0..<inner { dx[base + k] = Float(a * (Double(dy[base + k]) - mdy - Double(normalized[base + k]) * mdyx)) }
                } }
            }
            return [needs[0] ? Tensor(dx, shape: x.shape) : nil, needs[1] ? Tensor(dgamma, shape: [c]) : nil,
                    needs[2] ? Tensor(dbeta, shape: [c]) : nil]
        }
        return (out, Tensor(mean.map(Float.init), shape: [c]), Tensor(variance.map(Float.init), shape: [c]), Int(m))
    }
}

extension Tensor {
    /// Training-mode batch normalization over every axis but 1 (channels):
    /// `y = scale · (x − μ_B) / √(σ²_B + ε) + shift`.
    /// - Returns: the output and the batch's per-channel mean and biased variance (not
    ///   differentiable; layers fold them into running statistics).
    public static func batchNorm(_ x: Tensor, scale: Tensor, shift: Tensor, epsilon: Float)
        -> (y: Tensor, mean: Tensor, variance: Tensor) {
        let (y, mean, variance) = backend.batchNorm(x.storage, scale: scale.storage, shift: shift.storage,
                                                    epsilon: epsilon)
        let out = record("batchNorm", y, inputs: [x, scale, shift]) {
            [xs = x.storage, ss = scale.storage, hs = shift.storage] g, _ in
            let (dx, ds, dh) = Tensor.backend.batchNormBackward(g.storage, x: xs, scale: ss, shift: hs, mean: mean,
                                                                variance: variance, epsilon: epsilon)
            return [Tensor(storage: dx), Tensor(storage: ds), Tensor(storage: dh)]
        }
        return (out, Tensor(storage: mean), Tensor(storage: variance))
    }

    /// Evaluation-mode batch normalization with given statistics.
    public static func batchNorm(_ x: Tensor, scale: Tensor, shift: Tensor, mean: Tensor, variance: Tensor,
                                 epsilon: Float) -> Tensor {
        // y = x·a + b per channel, with a = scale/√(var+ε), b = shift − mean·a.
        let y = backend.batchNormInference(x.storage, scale: scale.storage, shift: shift.storage,
                                           mean: mean.storage, variance: variance.storage, epsilon: epsilon)
        let channelShape = [1, x.shape[1]] + [Int](repeating: 1, count: Swift.max(x.rank - 2, 0))
        return record("batchNorm(eval)", y, inputs: [x, scale, shift]) {
            [xs = x.detached, sc = scale.detached, m = mean.detached, v = variance.detached] g, needs in
            let invStd = 1 / (v + epsilon).sqrtForStats()
            let a = (sc * invStd).reshaped(channelShape)
            let dx = needs[0] ? g * a : nil
            let xhat = (xs - m.reshaped(channelShape)) * invStd.reshaped(channelShape)
            let reduceTo = channelShape
            let ds = needs[1] ? (g * xhat).sum(to: reduceTo).reshaped([x.shape[1]]) : nil
            let dh = needs[2] ? g.sum(to: reduceTo).reshaped([x.shape[1]]) : nil
            return [dx, ds, dh]
        }
    }

    /// Element-wise square root for the small per-channel statistics vectors (host computed).
    func sqrtForStats() -> Tensor {
        Tensor(scalars.map { $0.squareRoot() }, shape: shape)
    }
}

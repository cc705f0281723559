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
            [xs = x.storage, ss = scale.storage, hs = shift.storage] g, needs in
            if creatingGraph { return batchNormGradients(g, x: input(0, xs), scale: input(1, ss), epsilon: epsilon, needs: needs) }
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

    /// Training-mode batch norm's gradients written as differentiable ops, for a backward pass that
    /// records itself: with x̂ = (x − μ)/σ over the m values of a channel,
    /// dx = γ/σ · (g − Σg/m − x̂·Σ(g·x̂)/m), dγ = Σ g·x̂, dβ = Σ g. The statistics are recomputed
    /// from x on the tape, so the penalty's gradient sees how every sample moves every other's
    /// normalization, as PyTorch's double backward of batch norm does.
    static func batchNormGradients(_ g: Tensor, x: Tensor, scale: Tensor, epsilon: Float, needs: [Bool]) -> [Tensor?] {
        let c = x.shape[1], channelShape = [1, c] + [Int](repeating: 1, count: x.rank - 2)
        let m = 1 / Float(x.count / c)
        let centered = x - x.sum(to: channelShape) * m
        let invStd = 1 / ((centered.square().sum(to: channelShape) * m) + epsilon).sqrt()
        let xhat = centered * invStd
        let sumG = g.sum(to: channelShape), sumGX = (g * xhat).sum(to: channelShape)
        let dx = needs[0] ? (g - sumG * m - xhat * (sumGX * m)) * (scale.reshaped(channelShape) * invStd) : nil
        return [dx, needs[1] ? sumGX.reshaped([c]) : nil, needs[2] ? sumG.reshaped([c]) : nil]
    }

    /// Element-wise square root for the small per-channel statistics vectors (host computed).
    func sqrtForStats() -> Tensor {
        Tensor(scalars.map { $0.squareRoot() }, shape: shape)
    }
}

extension Tensor {
    /// `self · other` for 2-D tensors [M, K]·[K, N] → [M, N].
    public func matmul(_ other: Tensor) -> Tensor {
        let y = backend.matmul(storage, transposeA: false, other.storage, transposeB: false)
        return Tensor.record("matmul", y, inputs: [self, other]) { [a = storage, b = other.storage] g, needs in
            let be = Tensor.backend
            return [needs[0] ? Tensor(storage: be.matmul(g.storage, transposeA: false, b, transposeB: true)) : nil,
                    needs[1] ? Tensor(storage: be.matmul(a, transposeA: true, g.storage, transposeB: false)) : nil]
        }
    }

    /// A dense layer: `x · weightᵀ + bias` with `x` [N, in], `weight` [out, in] (PyTorch's layout)
    /// and `bias` [out]; `activation` is applied to the output (in the same kernel when no
    /// gradient is recorded).
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: EltwiseOp? = nil) -> Tensor {
        if !isRecording([x, weight] + (bias.map { [$0] } ?? [])) {
            return Tensor(storage: backend.linearInference(x.storage, weight: weight.storage, bias: bias?.storage,
                                                           activation: activation))
        }
        let y = backend.linear(x.storage, weight: weight.storage, bias: bias?.storage)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        let out = record("linear", y, inputs: inputs) { [xs = x.storage, ws = weight.storage] g, needs in
            let be = Tensor.backend
            let dx = needs[0] ? Tensor(storage: be.linearBackwardData(g.storage, weight: ws, like: xs)) : nil
            guard needs.dropFirst().contains(true) else { return [dx, nil, nil] }
            let (dw, db) = be.linearBackwardWeights(g.storage, x: xs, weight: ws, bias: needs.count > 2)
            return [dx, Tensor(storage: dw), db.map { Tensor(storage: $0) }]
        }
        return activation.map { out.activation($0, "activation") } ?? out
    }
}

extension Tensor {
    /// `self · other` for 2-D tensors [M, K]·[K, N] → [M, N].
    public func matmul(_ other: Tensor) -> Tensor { Tensor.matmul(self, transposeA: false, other, transposeB: false) }

    /// `op(a) · op(b)` where `op` transposes when asked. Its gradients are products of the same
    /// kind, so a backward pass that records itself differentiates them again.
    static func matmul(_ a: Tensor, transposeA ta: Bool, _ b: Tensor, transposeB tb: Bool) -> Tensor {
        let y = backend.matmul(a.storage, transposeA: ta, b.storage, transposeB: tb)
        return record("matmul", y, inputs: [a, b]) { [sa = a.storage, sb = b.storage] g, needs in
            let a = input(0, sa), b = input(1, sb)
            // C = op(A)·op(B): dA = g·op(B)ᵀ (or its transpose), dB = op(A)ᵀ·g (or its transpose).
            let da = !needs[0] ? nil : ta ? matmul(b, transposeA: tb, g, transposeB: true) : matmul(g, transposeA: false, b, transposeB: !tb)
            let db = !needs[1] ? nil : tb ? matmul(g, transposeA: true, a, transposeB: ta) : matmul(a, transposeA: !ta, g, transposeB: false)
            return [da, db]
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
            if creatingGraph {
                // dx = g·W, dW = gᵀ·x, db = Σ_rows g: products and a sum, differentiable again.
                let (x, w) = (input(0, xs), input(1, ws))
                return [needs[0] ? matmul(g, transposeA: false, w, transposeB: false) : nil,
                        needs[1] ? matmul(g, transposeA: true, x, transposeB: false) : nil,
                        needs.count > 2 && needs[2] ? g.sum(to: [1, g.shape[1]]).reshaped([g.shape[1]]) : nil]
            }
            let be = Tensor.backend
            let dx = needs[0] ? Tensor(storage: be.linearBackwardData(g.storage, weight: ws, like: xs)) : nil
            guard needs.dropFirst().contains(true) else { return [dx, nil, nil] }
            let (dw, db) = be.linearBackwardWeights(g.storage, x: xs, weight: ws, bias: needs.count > 2)
            return [dx, Tensor(storage: dw), db.map { Tensor(storage: $0) }]
        }
        return activation.map { out.activation($0, "activation") } ?? out
    }
}

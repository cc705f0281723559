extension Tensor {
    /// Binary cross-entropy on logits, averaged: mean of `max(x,0) − x·t + log(1 + e^−|x|)`.
    /// Stable for any logit (±100 included). `targets` may be smoothed (e.g. 0.9 for real images).
    public static func binaryCrossEntropy(logits: Tensor, targets: Tensor) -> Tensor {
        checkShapes(logits.shape == targets.shape, "binaryCrossEntropy", logits.shape, targets.shape)
        let y = backend.binaryCrossEntropyWithLogits(logits.storage, targets: targets.storage)
        return record("binaryCrossEntropy", y, inputs: [logits]) { [ls = logits.storage, ts = targets.storage] g, _ in
            if creatingGraph {
                // (σ(x) − t)·g/count, differentiable in x and in g.
                let x = input(0, ls), ones = [Int](repeating: 1, count: x.rank)
                return [(x.sigmoid() - Tensor(storage: ts)) * g.reshaped(ones) * (1 / Float(Swift.max(x.count, 1)))]
            }
            return [Tensor(storage: Tensor.backend.binaryCrossEntropyWithLogitsBackward(g.storage, logits: ls, targets: ts))]
        }
    }

    /// Binary cross-entropy on logits against a constant target (1, 0, or a smoothed 0.9).
    public static func binaryCrossEntropy(logits: Tensor, target: Float) -> Tensor {
        binaryCrossEntropy(logits: logits, targets: Tensor.full(logits.shape, target))
    }

    /// Mean squared error `mean((x − t)²)` (least-squares GAN).
    public static func meanSquaredError(_ x: Tensor, _ targets: Tensor) -> Tensor {
        checkShapes(x.shape == targets.shape, "meanSquaredError", x.shape, targets.shape)
        return (x - targets).square().mean()
    }
}

extension Tensor {
    /// Row-wise softmax of [N, K] logits, for evaluation (no gradient).
    public func softmax() -> Tensor { Tensor(storage: backend.softmax(storage)) }

    /// Mean cross-entropy of softmax(logits) [N, K] against class indices `labels` [N].
    public static func softmaxCrossEntropy(logits: Tensor, labels: [Int32]) -> Tensor {
        let l = Tensor(labels.map { Float($0) }, shape: [labels.count])
        let y = backend.softmaxCrossEntropy(logits.storage, labels: l.storage)
        return record("softmaxCrossEntropy", y, inputs: [logits]) { [ls = logits.storage] g, _ in
            precondition(!creatingGraph, "softmaxCrossEntropy: no second-order rule (a gradient of a gradient through it is not supported)")
            return [Tensor(storage: Tensor.backend.softmaxCrossEntropyBackward(g.storage, logits: ls, labels: l.storage))]
        }
    }
}

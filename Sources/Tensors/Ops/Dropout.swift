extension Tensor {
    /// Zeroes each element with probability `p` and scales the rest by 1/(1−p) (inverted dropout,
    /// as PyTorch), with the mask drawn from `rng`.
    public func dropout(_ p: Float, using rng: RandomGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got \(p)")
        if p == 0 { return self }
        var u = [Float](repeating: 0, count: backend.physicalCount(storage))
        u.withUnsafeMutableBufferPointer { rng.fillUniform($0) }
        let (y, mask) = u.withUnsafeBufferPointer { backend.dropout(storage, keep: 1 - p, uniforms: $0) }
        return Tensor.record("dropout", y, inputs: [self]) { g, _ in
            // Times a constant mask: linear in g, so the same rule serves a pass that records itself.
            Tensor.creatingGraph ? [g * Tensor(storage: mask)]
                : [Tensor(storage: Tensor.backend.binary(.multiply, g.storage, mask))]
        }
    }
}

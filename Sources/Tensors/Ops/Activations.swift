extension Tensor {
    /// Applies an element-wise activation; the backward uses the output where that is exact
    /// (tanh, sigmoid, ReLU with a non-negative slope), so the input need not be kept.
    func activation(_ op: EltwiseOp, _ name: StaticString) -> Tensor {
        let y = backend.eltwise(op, storage)
        let source = op.backwardUsesOutput ? y : storage
        return Tensor.record(name, y, inputs: [self]) { g, _ in
            [Tensor(storage: Tensor.backend.eltwiseBackward(op, g.storage, source: source))]
        }
    }

    /// `max(x, 0)`.
    public func relu() -> Tensor { activation(.leakyReLU(slope: 0), "relu") }
    /// `x > 0 ? x : slope·x` (DCGAN's discriminator uses 0.2).
    public func leakyReLU(_ slope: Float = 0.2) -> Tensor { activation(.leakyReLU(slope: slope), "leakyReLU") }
    public func tanh() -> Tensor { activation(.tanh, "tanh") }
    /// The logistic function `1 / (1 + e^−x)`.
    public func sigmoid() -> Tensor { activation(.sigmoid, "sigmoid") }
}

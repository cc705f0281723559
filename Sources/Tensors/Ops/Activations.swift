extension Tensor {
    /// Applies an element-wise activation; the backward uses the output where that is exact
    /// (tanh, sigmoid, ReLU with a non-negative slope), so the input need not be kept.
    func activation(_ op: EltwiseOp, _ name: StaticString) -> Tensor {
        let y = backend.eltwise(op, storage)
        let source = op.backwardUsesOutput ? y : storage
        return Tensor.record(name, y, inputs: [self]) { g, _ in
            if Tensor.creatingGraph { return [Tensor.activationGradient(op, g, source: source)] }
            return [Tensor(storage: Tensor.backend.eltwiseBackward(op, g.storage, source: source))]
        }
    }

    /// The gradient of an activation's input for the output gradient `g`, as differentiable ops
    /// (a backward pass that records itself): `g·f′(x)`, with `f′` written through the output where
    /// the first-order rule reads it.
    static func activationGradient(_ op: EltwiseOp, _ g: Tensor, source: DeviceStorage) -> Tensor {
        switch op {
        case .leakyReLU:
            // g times a constant 0/1/slope mask: linear in g, and its own gradient.
            return g.piecewiseLinearGradient(op, source: source)
        case .linear(let scale, _): return g * scale
        case .tanh: return g * (1 - output(source).square())
        case .sigmoid: let s = output(source); return g * s * (1 - s)
        case .exp: return g * output(source)
        case .square: return g * input(0, source) * 2
        case .sqrt: return g / (output(source) * 2)
        }
    }

    /// `self` (an output gradient) times the slope of a piecewise-linear activation at `source`:
    /// the slopes are constants, so this op is linear and its gradient is itself.
    func piecewiseLinearGradient(_ op: EltwiseOp, source: DeviceStorage) -> Tensor {
        let dx = backend.eltwiseBackward(op, storage, source: source)
        return Tensor.record("activationBackward", dx, inputs: [self]) { gg, _ in [gg.piecewiseLinearGradient(op, source: source)] }
    }

    /// `max(x, 0)`.
    public func relu() -> Tensor { activation(.leakyReLU(slope: 0), "relu") }
    /// `x > 0 ? x : slope·x` (DCGAN's discriminator uses 0.2).
    public func leakyReLU(_ slope: Float = 0.2) -> Tensor { activation(.leakyReLU(slope: slope), "leakyReLU") }
    public func tanh() -> Tensor { activation(.tanh, "tanh") }
    /// The logistic function `1 / (1 + e^−x)`.
    public func sigmoid() -> Tensor { activation(.sigmoid, "sigmoid") }
    /// `√x` (its gradient `1/(2√x)` is infinite at 0: add a small constant first where x may be 0).
    public func sqrt() -> Tensor { activation(.sqrt, "sqrt") }
}

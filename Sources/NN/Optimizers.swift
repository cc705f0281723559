import Tensors

/// Updates parameters from their accumulated gradients.
public protocol Optimizer: AnyObject {
    /// Applies one update to every parameter that has a gradient.
    func step()
    /// Clears the gradients of the optimized parameters.
    func zeroGrad()
    /// The optimizer's state as named tensors (for a checkpoint), scalars included.
    func stateTensors() -> [(name: String, tensor: Tensor)]
    /// Restores what `stateTensors()` returned. Throws when a tensor is missing or misshapen.
    func loadState(_ tensors: [String: Tensor]) throws
}

/// Errors restoring an optimizer's state.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    public var description: String {
        switch self {
        case .missing(let n): return "optimizer state '\(n)' is missing"
        case .shapeMismatch(let n, let e, let f): return "optimizer state '\(n)' has shape \(f), expected \(e)"
        }
    }
}

/// Adam (Kingma & Ba 2015) with bias correction, exactly as PyTorch's `torch.optim.Adam`:
/// `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`, `p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)`.
/// Defaults are PyTorch's; the DCGAN tutorials use `learningRate: 2e-4, beta1: 0.5`.
public final class Adam: Optimizer {
    public let parameters: [(name: String, parameter: Parameter)]
    public var learningRate: Float
    public var beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    /// Updates taken so far (t in the bias corrections).
    public private(set) var stepCount = 0
    private var m: [Tensor], v: [Tensor]

    public init(_ parameters: [(name: String, parameter: Parameter)], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay
        m = parameters.map { Tensor.zeros($0.parameter.shape) }
        v = parameters.map { Tensor.zeros($0.parameter.shape) }
    }

    public convenience init(_ module: Module, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                            epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.init(module.namedParameters(), learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                  weightDecay: weightDecay)
    }

    public func step() {
        stepCount += 1
        let h = AdamStep(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                         weightDecay: weightDecay, step: stepCount)
        // One pass over every parameter that has a gradient.
        let updates = parameters.enumerated().compactMap { i, named in
            named.parameter.grad.map { (param: named.parameter.value, grad: $0, m: m[i], v: v[i]) }
        }
        Tensor.adamUpdate(updates, h)
    }

    public func zeroGrad() { for (_, p) in parameters { p.zeroGrad() } }

    /// PyTorch-like names: `<param>.exp_avg`, `<param>.exp_avg_sq`, and `step`.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = [("step", Tensor(Float(stepCount)))]
        for (i, (name, _)) in parameters.enumerated() {
            out.append((name + ".exp_avg", m[i]))
            out.append((name + ".exp_avg_sq", v[i]))
        }
        return out
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        guard let step = tensors["step"] else { throw OptimizerStateError.missing("step") }
        var newM: [Tensor] = [], newV: [Tensor] = []
        for (name, p) in parameters {
            for (suffix, list) in [(".exp_avg", 0), (".exp_avg_sq", 1)] {
                guard let t = tensors[name + suffix] else { throw OptimizerStateError.missing(name + suffix) }
                guard t.shape == p.shape else {
                    throw OptimizerStateError.shapeMismatch(name: name + suffix, expected: p.shape, found: t.shape)
                }
                let copy = Tensor(t.scalars, shape: t.shape)
                if list == 0 { newM.append(copy) } else { newV.append(copy) }
            }
        }
        m = newM; v = newV
        stepCount = Int(step.item)
    }
}

/// Stochastic gradient descent with momentum, as PyTorch's `torch.optim.SGD`:
/// `b ← μ·b + (1−dampening)·g` (b = g on the first step), `p ← p − lr·(nesterov ? g + μ·b : b)`.
public final class SGD: Optimizer {
    public let parameters: [(name: String, parameter: Parameter)]
    public var learningRate: Float, momentum: Float, dampening: Float, weightDecay: Float
    public let nesterov: Bool
    private var buffers: [Tensor?]

    public init(_ parameters: [(name: String, parameter: Parameter)], learningRate: Float, momentum: Float = 0,
                dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate; self.momentum = momentum; self.dampening = dampening
        self.weightDecay = weightDecay; self.nesterov = nesterov
        buffers = Array(repeating: nil, count: parameters.count)
    }

    public convenience init(_ module: Module, learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                            weightDecay: Float = 0, nesterov: Bool = false) {
        self.init(module.namedParameters(), learningRate: learningRate, momentum: momentum, dampening: dampening,
                  weightDecay: weightDecay, nesterov: nesterov)
    }

    public func step() {
        for (i, (_, p)) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            var h = SGDStep(learningRate: learningRate, momentum: momentum, dampening: dampening,
                            weightDecay: weightDecay, nesterov: nesterov, firstStep: false)
            if momentum != 0 && buffers[i] == nil {
                buffers[i] = Tensor.zeros(p.shape)
                h.firstStep = true
            }
            p.value.sgdUpdate(grad: g, buffer: buffers[i], h)
        }
    }

    public func zeroGrad() { for (_, p) in parameters { p.zeroGrad() } }

    /// `<param>.momentum_buffer` for each parameter that has one.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        zip(parameters, buffers).compactMap { entry, b in b.map { (entry.name + ".momentum_buffer", $0) } }
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        buffers = try parameters.map { name, p in
            guard let t = tensors[name + ".momentum_buffer"] else { return nil }
            guard t.shape == p.shape else {
                throw OptimizerStateError.shapeMismatch(name: name + ".momentum_buffer", expected: p.shape, found: t.shape)
            }
            return Tensor(t.scalars, shape: t.shape)
        }
    }
}

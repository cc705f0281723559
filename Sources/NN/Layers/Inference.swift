import Tensors

/// A chain of layers prepared for inference: every convolution, transposed convolution or dense
/// layer absorbs the batch norm that follows it (running statistics folded into its weight and
/// bias) and the activation after that (applied inside the kernel), so each such group is one
/// oneDNN primitive writing one buffer instead of three primitives and three buffers.
///
/// The weights are folded when the plan is made; `isStale` tells when the layers' parameters,
/// buffers or modes have changed since, and a new plan is needed. Batch norms in training mode are not folded (they need the batch's statistics) and run as they
/// are, as do layers with nothing to fuse (reshape, flatten, pooling, dropout).
///
/// ```swift
/// generator.setTraining(false)
/// let images = InferencePlan(generator.main.layers)(z)   // same function, fewer passes
/// ```
public struct InferencePlan {
    /// One kernel of the plan: a convolution, transposed convolution or dense layer with its
    /// folded weight and bias and the activation fused into it, or a layer run as it is.
    public enum Step {
        case conv(Conv2d, weight: Tensor, bias: Tensor?, activation: EltwiseOp?)
        case deconv(ConvTranspose2d, weight: Tensor, bias: Tensor?, activation: EltwiseOp?)
        case linear(weight: Tensor, bias: Tensor?, activation: EltwiseOp?)
        /// Nearest upsampling ×2 and a 3×3 convolution as one stride-2 transposed convolution
        /// (padding 1) with the derived 4×4 kernel [in, out, 4, 4] (`Tensor.upsampledConv3x3`).
        case upsampledConv(Conv2d, weight: Tensor, bias: Tensor?, activation: EltwiseOp?)
        /// A skip-layer excitation whose body and gate are plans of their own.
        case excitation(SkipExcitation, body: InferencePlan, gate: InferencePlan)
        case layer(Module)
    }

    public let steps: [Step]

    /// How many layers were merged into a preceding kernel (batch norms and activations).
    public let fusedLayers: Int

    /// The layers' parameters and buffers (read as they are now) with their contents when the plan
    /// was made, and the modes of their mode-dependent layers then.
    private let sources: [(current: () -> Tensor, then: Tensor.ContentStamp)]
    private let modes: [(layer: ModeDependent, training: Bool)]

    /// Whether a parameter or buffer of the layers has been written (an optimizer step, a loaded
    /// checkpoint, an averaged generator's update) or a layer's mode switched since the plan was made.
    public var isStale: Bool {
        sources.contains { $0.current().contentStamp != $0.then } || modes.contains { $0.layer.training != $0.training }
    }

    public init(_ layers: [Module]) {
        var steps: [Step] = [], fused = 0, i = 0
        while i < layers.count {
            var layer = layers[i]
            i += 1
            var upsampled = false
            if let up = layer as? Upsample, up.factor == 2, i < layers.count, let conv = layers[i] as? Conv2d, conv.hasSubPixelForm {
                layer = conv
                i += 1
                upsampled = true
                fused += 1
            }
            if let sle = layer as? SkipExcitation {
                let body = InferencePlan(sle.body.layers), gate = InferencePlan(sle.gate.layers)
                steps.append(.excitation(sle, body: body, gate: gate))
                fused += body.fusedLayers + gate.fusedLayers
                continue
            }
            guard layer is Conv2d || layer is ConvTranspose2d || layer is Linear else {
                steps.append(.layer(layer))
                continue
            }
            var norm: BatchNorm?
            if i < layers.count, let bn = layers[i] as? BatchNorm, !bn.training { norm = bn; i += 1; fused += 1 }
            var activation: EltwiseOp?
            if i < layers.count, let op = Self.activation(of: layers[i]) { activation = op; i += 1; fused += 1 }
            switch layer {
            case let c as Conv2d:
                let (w, b) = Self.fold(c.inferenceWeight, c.bias?.value, norm, outputAxis: 0)
                if upsampled {
                    steps.append(.upsampledConv(c, weight: withoutGrad { w.subPixelKernel() }, bias: b, activation: activation))
                } else {
                    steps.append(.conv(c, weight: w, bias: b, activation: activation))
                }
            case let c as ConvTranspose2d:
                let (w, b) = Self.fold(c.inferenceWeight, c.bias?.value, norm, outputAxis: 1)
                steps.append(.deconv(c, weight: w, bias: b, activation: activation))
            case let l as Linear:
                let (w, b) = Self.fold(l.inferenceWeight, l.bias?.value, norm, outputAxis: 0)
                steps.append(.linear(weight: w, bias: b, activation: activation))
            default: preconditionFailure("unreachable")
            }
        }
        self.steps = steps
        fusedLayers = fused
        let modules = layers.flatMap { $0.namedModules().map(\.module) }
        sources = modules.flatMap { m -> [(current: () -> Tensor, then: Tensor.ContentStamp)] in
            m.reflectedChildren().compactMap { _, child in
                if let p = child as? Parameter { return ({ p.value }, p.value.contentStamp) }
                if let b = child as? Buffer { return ({ b.value }, b.value.contentStamp) }
                return nil
            }
        }
        modes = modules.compactMap { m in (m as? ModeDependent).map { ($0, $0.training) } }
    }

    /// The layers' output for `x`, computed without recording gradients. `ClassConditional`
    /// layers (a conditional generator's batch norms, which are not folded: their scale and shift
    /// differ from sample to sample) get `classes`.
    public func callAsFunction(_ x: Tensor, classes: Tensor? = nil) -> Tensor {
        withoutGrad { run(x, classes: classes) }
    }

    func run(_ x: Tensor, classes: Tensor?) -> Tensor {
        steps.reduce(x) { x, step in
            switch step {
            case .conv(let c, let w, let b, let a):
                return Tensor.conv2d(x, weight: w, bias: b, stride: (c.stride, c.stride), padding: c.padding, activation: a)
            case .deconv(let c, let w, let b, let a):
                return Tensor.convTranspose2d(x, weight: w, bias: b, stride: (c.stride, c.stride), padding: c.padding,
                                              outputPadding: (c.outputPadding, c.outputPadding), activation: a)
            case .linear(let w, let b, let a):
                return Tensor.linear(x, weight: w, bias: b, activation: a)
            case .upsampledConv(_, let w, let b, let a):
                return Tensor.convTranspose2d(x, weight: w, bias: b, stride: (2, 2), padding: .explicit(1, 1), activation: a)
            case .excitation(_, let body, let gate):
                return body.run(x, classes: classes) * gate.run(x, classes: classes)
            case .layer(let m):
                if let conditional = m as? any ClassConditional, conditional.classes > 0 {
                    guard let classes else { preconditionFailure("InferencePlan: the class-conditional layer \(type(of: m)) needs classes") }
                    return conditional(x, classes: classes)
                }
                return m(x)
            }
        }
    }

    static func activation(of layer: Module) -> EltwiseOp? {
        switch layer {
        case is ReLU: return .leakyReLU(slope: 0)
        case let l as LeakyReLU: return .leakyReLU(slope: l.slope)
        case is Tanh: return .tanh
        case is Sigmoid: return .sigmoid
        default: return nil
        }
    }

    /// `weight` and `bias` with `norm` folded in: per output channel c (along `outputAxis` of the
    /// weight), s = γ / √(σ² + ε), w' = s·w, b' = s·(b − μ) + β.
    static func fold(_ weight: Tensor, _ bias: Tensor?, _ norm: BatchNorm?, outputAxis: Int) -> (Tensor, Tensor?) {
        guard let norm else { return (weight.detached, bias?.detached) }
        let shape = weight.shape, channels = shape[outputAxis]
        precondition(norm.weight.value.shape == [channels],
                     "InferencePlan: a batch norm over \(norm.weight.value.shape[0]) channels follows a layer with weight \(shape) "
                     + "and \(channels) outputs")
        let gamma = norm.weight.value.scalars, beta = norm.bias.value.scalars
        let mean = norm.runningMean.value.scalars, variance = norm.runningVar.value.scalars
        let scale = (0..<channels).map { gamma[$0] / (variance[$0] + norm.epsilon).squareRoot() }
        let inner = shape[(outputAxis + 1)...].reduce(1, *)
        var w = weight.scalars
        for i in w.indices { w[i] *= scale[(i / inner) % channels] }
        let b = bias?.scalars ?? [Float](repeating: 0, count: channels)
        let folded = (0..<channels).map { scale[$0] * (b[$0] - mean[$0]) + beta[$0] }
        return (Tensor(w, shape: shape), Tensor(folded, shape: [channels]))
    }
}

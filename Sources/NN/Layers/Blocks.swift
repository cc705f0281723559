import Tensors

// The pieces of FastGAN (Liu et al., ICLR 2021) that are not a convolution or a batch norm: the
// gated linear unit it uses as its generator's activation, nearest-neighbour upsampling, Swish,
// adaptive average pooling, and skip-layer excitation — the one place its generator is not a
// chain, expressed as a module holding the chain it skips over, so that the networks stay
// `Sequential`s of modules with PyTorch's names.

/// Nearest-neighbour upsampling by an integer factor (PyTorch's `nn.Upsample(scale_factor: f)`).
public final class Upsample: Module {
    public let factor: Int
    public init(_ factor: Int = 2) {
        precondition(factor >= 1, "Upsample(\(factor)): the factor must be at least 1")
        self.factor = factor
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.upsampledNearest(factor) }
}

/// The gated linear unit over channels (PyTorch's `nn.GLU(dim=1)`): the first half of the
/// channels times the sigmoid of the second half, [N, 2C, …] → [N, C, …].
public final class GLU: Module {
    public init() {}
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let c = x.shape[1] / 2
        precondition(x.rank >= 2 && x.shape[1] == 2 * c, "GLU: input \(x.shape) needs an even number of channels")
        return x.slice(axis: 1, offset: 0, length: c) * x.slice(axis: 1, offset: c, length: c).sigmoid()
    }
}

/// `x · σ(x)` (Swish, SiLU).
public final class Swish: Module {
    public init() {}
    public func callAsFunction(_ x: Tensor) -> Tensor { x * x.sigmoid() }
}

/// Average pooling to a fixed output size (PyTorch's `nn.AdaptiveAvgPool2d(size)`) for inputs
/// whose sides are multiples of it: equal windows, as PyTorch's are then.
public final class AdaptiveAvgPool2d: Module {
    public let size: Int
    public init(_ size: Int) { self.size = size }
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[2] % size == 0 && x.shape[3] % size == 0,
                     "AdaptiveAvgPool2d(\(size)): input \(x.shape) has sides that are not multiples of \(size)")
        let (kh, kw) = (x.shape[2] / size, x.shape[3] / size)
        return kh == 1 && kw == 1 ? x : x.avgPool2d(kernel: (kh, kw))
    }
}

/// Skip-layer excitation (FastGAN's SLE): `body(x) · gate(x)`, where the body carries small
/// feature maps to large ones and the gate turns the small ones into one weight per channel of
/// the large ones ([N, C, 1, 1], broadcast over the pixels) — a shortcut from coarse structure to
/// fine texture. Checkpoint names: `body.<i>.…` and `gate.<i>.…`.
///
/// Class-conditional when its body is: `layer(x, classes:)` passes the classes to the
/// conditional layers inside (a conditional generator's batch norms).
public final class SkipExcitation: ClassConditional {
    public let body: Sequential
    public let gate: Sequential

    public init(body: Sequential, gate: Sequential) { self.body = body; self.gate = gate }

    /// The classes of the first class-conditional layer inside, or 0.
    public var classes: Int {
        (body.layers + gate.layers).lazy.compactMap { ($0 as? any ClassConditional)?.classes }.first ?? 0
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { body(x) * gate(x) }

    public func callAsFunction(_ x: Tensor, classes: Tensor) -> Tensor {
        body.layers.applied(to: x, classes: classes) * gate.layers.applied(to: x, classes: classes)
    }
}

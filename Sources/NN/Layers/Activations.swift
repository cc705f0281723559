import Tensors

/// `max(x, 0)`.
public final class ReLU: Module {
    public init() {}
    public func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
}

/// `x > 0 ? x : slope·x`; DCGAN's discriminator uses slope 0.2.
public final class LeakyReLU: Module {
    public let slope: Float
    public init(_ slope: Float = 0.01) { self.slope = slope }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.leakyReLU(slope) }
}

public final class Tanh: Module {
    public init() {}
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

public final class Sigmoid: Module {
    public init() {}
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// Inverted dropout: in training, zeroes elements with probability `p` and scales the rest by
/// 1/(1−p); in evaluation, the identity. Masks come from `rng`, so runs are reproducible.
public final class Dropout: Module, ModeDependent {
    public let p: Float
    public var training = true
    let rng: Generator
    public init(_ p: Float = 0.5, rng: Generator) {
        precondition(p >= 0 && p < 1, "Dropout(\(p)): probability must be in [0, 1)")
        self.p = p; self.rng = rng
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { training ? x.dropout(p, using: rng) : x }
}

/// [N, …] → [N, product of the rest].
public final class Flatten: Module {
    public init() {}
    public func callAsFunction(_ x: Tensor) -> Tensor { x.flattened() }
}

/// [N, …] → [N] + `shape` (e.g. a dense layer's 12 544 features → [N, 256, 7, 7]).
public final class Reshape: Module {
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.reshaped([x.shape[0]] + shape) }
}

/// Modules applied in order; children are named "0", "1", … as in PyTorch's `nn.Sequential`.
public final class Sequential: Module, CustomChildNames {
    public let layers: [Module]
    public var childNames: [String: String] { ["layers": ""] }
    public init(_ layers: [Module]) { self.layers = layers }
    public convenience init(_ layers: Module...) { self.init(layers) }
    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

/// 2-D max pooling (PyTorch's `nn.MaxPool2d`); the stride defaults to the kernel size.
public final class MaxPool2d: Module {
    public let kernel: Int, stride: Int, padding: Int
    public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
    }
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.maxPool2d(kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
    }
}

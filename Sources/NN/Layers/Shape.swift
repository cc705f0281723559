import Tensors

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

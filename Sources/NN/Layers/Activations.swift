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

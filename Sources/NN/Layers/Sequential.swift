import Tensors

/// Modules applied in order; children are named "0", "1", … as in PyTorch's `nn.Sequential`.
public final class Sequential: Module, CustomChildNames {
    public let layers: [Module]
    public var childNames: [String: String] { ["layers": ""] }
    public init(_ layers: [Module]) { self.layers = layers }
    public convenience init(_ layers: Module...) { self.init(layers) }
    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

import Tensors

/// Modules applied in order; children are named "0", "1", … as in PyTorch's `nn.Sequential`.
/// Nearest-neighbour upsampling ×2 followed by a 3×3 convolution runs as one transposed
/// convolution (`Conv2d.afterNearestUpsampling`): the same function, fewer multiply-adds.
public final class Sequential: Module, CustomChildNames {
    public let layers: [Module]
    public var childNames: [String: String] { ["layers": ""] }
    public init(_ layers: [Module]) { self.layers = layers }
    public convenience init(_ layers: Module...) { self.init(layers) }
    public func callAsFunction(_ x: Tensor) -> Tensor { layers.applied(to: x) }
}

extension Array where Element == Module {
    /// The layers applied in order to `x`, as `Sequential` runs them: each class-conditional one
    /// given `classes` when there are classes, and `Upsample(2)` followed by a `Conv2d` as one
    /// layer (`Conv2d.afterNearestUpsampling`).
    public func applied(to x: Tensor, classes: Tensor? = nil) -> Tensor {
        var x = x, i = startIndex
        while i < endIndex {
            if let up = self[i] as? Upsample, up.factor == 2, i + 1 < endIndex, let conv = self[i + 1] as? Conv2d {
                x = conv.afterNearestUpsampling(x)
                i += 2
                continue
            }
            if let classes, let conditional = self[i] as? any ClassConditional {
                x = conditional(x, classes: classes)
            } else {
                x = self[i](x)
            }
            i += 1
        }
        return x
    }
}

import Tensors

/// Inverted dropout: in training, zeroes elements with probability `p` and scales the rest by
/// 1/(1−p); in evaluation, the identity. Masks come from `rng`, so runs are reproducible.
public final class Dropout: Module, ModeDependent {
    public let p: Float
    public var training = true
    let rng: RandomGenerator
    public init(_ p: Float = 0.5, rng: RandomGenerator) {
        precondition(p >= 0 && p < 1, "Dropout(\(p)): probability must be in [0, 1)")
        self.p = p; self.rng = rng
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { training ? x.dropout(p, using: rng) : x }
}

import Tensors

/// A fully connected layer `y = x·Wᵀ + b`.
///
/// - Input: [N, inFeatures]; output: [N, outFeatures].
/// - Parameters: `weight` [out, in], `bias` [out] (PyTorch's `nn.Linear` names and layout).
/// - Default initialisation: PyTorch's, U(−1/√in, 1/√in) for both.
public final class Linear: Module, WeightedLayer, ModeDependent, CustomChildNames {
    public let weight: Parameter
    public let bias: Parameter?
    public let outputAxis = 0
    /// What is applied to `weight` before use (spectral norm, `enableSpectralNorm`), if anything.
    public var weightParametrization: (any WeightParametrization)?
    public var training = true
    public var childNames: [String: String] { parametrizedNames }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear(\(inFeatures), \(outFeatures)): sizes must be positive")
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Parameter(.randomUniform([outFeatures, inFeatures], low: -bound, high: bound, using: rng))
        self.bias = bias ? Parameter(.randomUniform([outFeatures], low: -bound, high: bound, using: rng)) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(x, weight: computedWeight(training: training), bias: bias?.value)
    }
}

import Tensors

/// 2-D convolution.
///
/// - Input [N, in, H, W]; output [N, out, H′, W′].
/// - Parameters: `weight` [out, in, k, k], `bias` [out] (PyTorch's `nn.Conv2d`).
/// - `padding`: `.explicit(p, p)` as PyTorch, or `.same` as TensorFlow.
/// - Default initialisation: PyTorch's, U(−1/√fan_in, 1/√fan_in).
public final class Conv2d: Module, WeightedLayer, ModeDependent, CustomChildNames {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int
    public let padding: Padding
    public let outputAxis = 0
    /// What is applied to `weight` before use (spectral norm, `enableSpectralNorm`), if anything.
    public var weightParametrization: (any WeightParametrization)?
    public var training = true
    public var childNames: [String: String] { parametrizedNames }

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Padding = .valid,
                bias: Bool = true, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        let bound = 1 / Float(inChannels * kernelSize * kernelSize).squareRoot()
        weight = Parameter(.randomUniform([outChannels, inChannels, kernelSize, kernelSize], low: -bound, high: bound,
                                          using: rng))
        self.bias = bias ? Parameter(.randomUniform([outChannels], low: -bound, high: bound, using: rng)) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: computedWeight(training: training), bias: bias?.value, stride: (stride, stride), padding: padding)
    }

    /// This layer applied to `x` upsampled ×2 by nearest neighbour (`Upsample(2)` then this
    /// layer, as `Sequential` runs them): a 3×3 stride-1 convolution with padding 1 in the
    /// sub-pixel form (`Tensor.upsampledConv3x3`, 2.25× fewer multiply-adds), any other as it is.
    public func afterNearestUpsampling(_ x: Tensor) -> Tensor {
        guard hasSubPixelForm else { return self(x.upsampledNearest(2)) }
        return Tensor.upsampledConv3x3(x, weight: computedWeight(training: training), bias: bias?.value)
    }

    /// Whether after nearest upsampling ×2 this layer is one transposed convolution (3×3, stride 1, padding 1).
    public var hasSubPixelForm: Bool { weight.shape[2] == 3 && weight.shape[3] == 3 && stride == 1 && padding == .explicit(1, 1) }
}

/// 2-D transposed convolution ("deconvolution"), the generator's upsampling layer.
///
/// - Input [N, in, H, W]; output [N, out, (H−1)·stride − 2·padding + k + outputPadding, …], or
///   H·stride with TensorFlow's `.same` padding (7 → 14 → 28 with k 5, stride 2).
/// - Parameters: `weight` [in, out, k, k], `bias` [out] (PyTorch's `nn.ConvTranspose2d` layout).
public final class ConvTranspose2d: Module, WeightedLayer, ModeDependent, CustomChildNames {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int
    public let padding: Padding
    public let outputPadding: Int
    public let outputAxis = 1
    /// What is applied to `weight` before use (spectral norm, `enableSpectralNorm`), if anything.
    public var weightParametrization: (any WeightParametrization)?
    public var training = true
    public var childNames: [String: String] { parametrizedNames }

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Padding = .valid,
                outputPadding: Int = 0, bias: Bool = true, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        // PyTorch computes fan_in from weight.size(1) · k², i.e. the output channels here.
        let bound = 1 / Float(outChannels * kernelSize * kernelSize).squareRoot()
        weight = Parameter(.randomUniform([inChannels, outChannels, kernelSize, kernelSize], low: -bound, high: bound,
                                          using: rng))
        self.bias = bias ? Parameter(.randomUniform([outChannels], low: -bound, high: bound, using: rng)) : nil
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.convTranspose2d(x, weight: computedWeight(training: training), bias: bias?.value, stride: (stride, stride), padding: padding,
                               outputPadding: (outputPadding, outputPadding))
    }
}

import Tensors

/// The weight initialisations of the classic GAN tutorials.
///
/// Fans follow PyTorch and Keras alike: fan_in = shape[1]·k·k and fan_out = shape[0]·k·k (for a
/// transposed convolution's [in, out, k, k] weight that makes fan_in the output channels, as in both).
public enum Initializer: Sendable, Equatable {
    /// N(mean, std²); DCGAN: `.normal(std: 0.02)` for weights, `.normal(mean: 1, std: 0.02)` for BN γ.
    case normal(mean: Float = 0, std: Float)
    /// N(mean, std²) redrawn beyond 2σ (TensorFlow 1's `truncated_normal_initializer(stddev: 0.02)`).
    case truncatedNormal(mean: Float = 0, std: Float)
    /// U(−√(6/fan_in), √(6/fan_in)) (Keras `he_uniform`).
    case heUniform
    /// U(−√(6/(fan_in+fan_out)), +…) (Keras `glorot_uniform`, its default).
    case glorotUniform
    case constant(Float)
    public static let zeros = Initializer.constant(0)
    public static let ones = Initializer.constant(1)

    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (shape[0], shape[0])
        default:
            let receptive = shape.dropFirst(2).reduce(1, *)
            return (shape[1] * receptive, shape[0] * receptive)
        }
    }

    /// A new tensor of `shape` drawn from this distribution.
    public func make(_ shape: [Int], using rng: RandomGenerator) -> Tensor {
        let (fanIn, fanOut) = Self.fans(shape)
        switch self {
        case .normal(let mean, let std): return .randomNormal(shape, mean: mean, std: std, using: rng)
        case .truncatedNormal(let mean, let std): return .randomTruncatedNormal(shape, mean: mean, std: std, using: rng)
        case .heUniform:
            let limit = (6 / Float(fanIn)).squareRoot()
            return .randomUniform(shape, low: -limit, high: limit, using: rng)
        case .glorotUniform:
            let limit = (6 / Float(fanIn + fanOut)).squareRoot()
            return .randomUniform(shape, low: -limit, high: limit, using: rng)
        case .constant(let c): return .full(shape, c)
        }
    }

    /// Overwrites `parameter` in place with a fresh draw.
    public func apply(to parameter: Parameter, using rng: RandomGenerator) {
        parameter.assign(make(parameter.shape, using: rng))
    }
}

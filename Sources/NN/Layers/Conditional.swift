import Tensors

/// A module whose output depends on each sample's class as well as on its input. Classes come as
/// class weights [N, K]: one-hot rows (`Tensor.oneHot`) for hard labels, mixtures to interpolate.
public protocol ClassConditional: Module {
    /// The number of classes K.
    var classes: Int { get }
    func callAsFunction(_ x: Tensor, classes: Tensor) -> Tensor
}

/// A class-conditional discriminator that may also predict the class of what it judges (AC-GAN).
public protocol AuxiliaryClassifying: ClassConditional {
    var hasAuxiliaryClassifier: Bool { get }
    /// The adversarial logits [N, 1] of images `x` of `classes`, and, when `classLogits` and the
    /// network has the head, its class logits [N, K] from the same forward pass.
    func judge(_ x: Tensor, classes: Tensor, classLogits: Bool) -> (logits: Tensor, classLogits: Tensor?)
}

/// Class-conditional batch normalization (de Vries et al. 2017; the generator of BigGAN and of
/// Miyato & Koyama's projection GAN): batch statistics shared by all samples, scale and shift
/// chosen by each sample's class.
///
/// Checkpoint names: `weight` [K, C] (γ of each class), `bias` [K, C] (β), `running_mean`,
/// `running_var`, `num_batches_tracked`: a PyTorch module holding `nn.BatchNorm2d(C, affine=False)`'s
/// buffers beside two [K, C] tables loads them under these names.
public final class ConditionalBatchNorm: ClassConditional, ModeDependent, CustomChildNames, RunningStatistics {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer, runningVar: Buffer, numBatchesTracked: Buffer
    public let momentum: Float, epsilon: Float
    public let unbiasedRunningVariance: Bool
    public var training = true
    public var synchronization: ((inout [Double]) -> Void)?
    public var childNames: [String: String] { runningStatisticsNames }

    public var classes: Int { weight.shape[0] }
    public var features: Int { weight.shape[1] }

    /// Every class starts with γ = 1 and β = 0 (BigGAN's and StudioGAN's initialisation).
    public init(_ features: Int, classes: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, unbiasedRunningVariance: Bool = true) {
        precondition(features > 0 && classes > 0, "ConditionalBatchNorm(\(features), classes: \(classes)): sizes must be positive")
        weight = Parameter(.ones([classes, features]))
        bias = Parameter(.zeros([classes, features]))
        runningMean = Buffer(.zeros([features]))
        runningVar = Buffer(.ones([features]))
        numBatchesTracked = Buffer(.zeros([]), kind: .int64)
        self.momentum = momentum
        self.epsilon = epsilon
        self.unbiasedRunningVariance = unbiasedRunningVariance
    }

    /// The conditional form of `norm`: its settings and running statistics, and its γ and β as
    /// every class's starting row.
    public convenience init(_ norm: BatchNorm, classes: Int) {
        let c = norm.weight.shape[0]
        self.init(c, classes: classes, momentum: norm.momentum, epsilon: norm.epsilon, unbiasedRunningVariance: norm.unbiasedRunningVariance)
        let gamma = norm.weight.value.scalars, beta = norm.bias.value.scalars
        weight.assign(Tensor(Array([[Float]](repeating: gamma, count: classes).joined()), shape: [classes, c]))
        bias.assign(Tensor(Array([[Float]](repeating: beta, count: classes).joined()), shape: [classes, c]))
        runningMean.assign(norm.runningMean.value)
        runningVar.assign(norm.runningVar.value)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        preconditionFailure("ConditionalBatchNorm(\(features), classes: \(classes)): called on \(x.shape) without classes; "
                            + "call it as layer(x, classes:) (a conditional generator needs the classes of its samples)")
    }

    public func callAsFunction(_ x: Tensor, classes: Tensor) -> Tensor {
        guard training else {
            return Tensor.conditionalBatchNorm(x, classes: classes, scale: weight.value, shift: bias.value,
                                               mean: runningMean.value, variance: runningVar.value, epsilon: epsilon)
        }
        if let synchronization {
            let c = features
            let (normalized, mean, variance, count) = Tensor.synchronizedBatchNorm(x, scale: .ones([c]), shift: .zeros([c]), epsilon: epsilon,
                                                                                    reduce: synchronization)
            track(mean: mean, variance: variance, count: count)
            return Tensor.channelAffine(normalized, scale: classes.matmul(weight.value), shift: classes.matmul(bias.value))
        }
        let (y, mean, variance) = Tensor.conditionalBatchNorm(x, classes: classes, scale: weight.value, shift: bias.value,
                                                               epsilon: epsilon)
        track(mean: mean, variance: variance, of: x)
        return y
    }
}

/// A table of one learned vector per class, `weight` [K, F] (PyTorch's `nn.Embedding` name and
/// layout): `embedding(classes)` is `classes · weight`, [N, F], for class weights [N, K].
/// Spectrally normalisable along its rows, as the projection discriminator's embedding is under
/// spectral norm (Miyato & Koyama; StudioGAN's `sn_embedding`).
public final class Embedding: Module, WeightedLayer, ModeDependent, CustomChildNames {
    public let weight: Parameter
    public let outputAxis = 0
    /// What is applied to `weight` before use (spectral norm, `enableSpectralNorm`), if anything.
    public var weightParametrization: (any WeightParametrization)?
    public var training = true
    public var childNames: [String: String] { parametrizedNames }

    public var classes: Int { weight.shape[0] }
    public var features: Int { weight.shape[1] }

    /// Glorot-uniform initialisation, U(±√(6 / (K + F))), as Miyato & Koyama's projection.
    public init(_ classes: Int, _ features: Int, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        precondition(classes > 0 && features > 0, "Embedding(\(classes), \(features)): sizes must be positive")
        let bound = (6 / Float(classes + features)).squareRoot()
        weight = Parameter(.randomUniform([classes, features], low: -bound, high: bound, using: rng))
    }

    /// The class vectors of class weights [N, K]: [N, F].
    public func callAsFunction(_ classes: Tensor) -> Tensor {
        checkClasses(classes)
        return classes.matmul(computedWeight(training: training))
    }

    /// The projection term ⟨embedding_c, features⟩ of each sample, [N, 1], for features [N, F].
    public func project(_ features: Tensor, classes: Tensor) -> Tensor {
        checkClasses(classes)
        precondition(features.rank == 2 && features.shape[1] == self.features && features.shape[0] == classes.shape[0],
                     "Embedding.project: features \(features.shape) and classes \(classes.shape) for an embedding [\(self.classes), \(self.features)]")
        return Tensor.projection(features, classes: classes, embedding: computedWeight(training: training))
    }

    func checkClasses(_ classes: Tensor) {
        precondition(classes.rank == 2 && classes.shape[1] == self.classes,
                     "Embedding: class weights \(classes.shape) for \(self.classes) classes (expected [N, \(self.classes)])")
    }
}

import Tensors

/// Batch normalization over the channel axis of [N, C] or [N, C, H, W] inputs
/// (PyTorch's `BatchNorm1d` and `BatchNorm2d` in one class).
///
/// Training mode normalizes with the batch's statistics and folds them into running statistics:
/// `running ← (1 − momentum)·running + momentum·batch` (PyTorch's convention; the running variance
/// takes the unbiased batch variance). Evaluation mode normalizes with the running statistics.
///
/// Keras's `BatchNormalization(momentum: m)` weights the *old* value by m: Keras momentum 0.1 is
/// `momentum: 0.9` here. The Fashion-MNIST tutorial's ε 0.8 is `epsilon: 0.8`.
///
/// Checkpoint names: `weight` (γ), `bias` (β), `running_mean`, `running_var`, `num_batches_tracked`.
public final class BatchNorm: Module, ModeDependent, CustomChildNames, RunningStatistics {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer
    public let runningVar: Buffer
    public let numBatchesTracked: Buffer
    public let momentum: Float
    public let epsilon: Float
    public let unbiasedRunningVariance: Bool
    public var training = true
    /// Sums per-channel statistics across the processes of a data-parallel job (sync batch norm);
    /// nil: this process's batch alone.
    public var synchronization: ((inout [Double]) -> Void)?

    public var childNames: [String: String] { runningStatisticsNames }

    public init(_ features: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, unbiasedRunningVariance: Bool = true) {
        precondition(features > 0, "BatchNorm(\(features)): feature count must be positive")
        weight = Parameter(.ones([features]))
        bias = Parameter(.zeros([features]))
        runningMean = Buffer(.zeros([features]))
        runningVar = Buffer(.ones([features]))
        numBatchesTracked = Buffer(.zeros([]), kind: .int64)
        self.momentum = momentum
        self.epsilon = epsilon
        self.unbiasedRunningVariance = unbiasedRunningVariance
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard training else {
            return Tensor.batchNorm(x, scale: weight.value, shift: bias.value, mean: runningMean.value,
                                    variance: runningVar.value, epsilon: epsilon)
        }
        if let synchronization {
            let (y, mean, variance, count) = Tensor.synchronizedBatchNorm(x, scale: weight.value, shift: bias.value, epsilon: epsilon,
                                                                           reduce: synchronization)
            track(mean: mean, variance: variance, count: count)
            return y
        }
        let (y, mean, variance) = Tensor.batchNorm(x, scale: weight.value, shift: bias.value, epsilon: epsilon)
        track(mean: mean, variance: variance, of: x)
        return y
    }
}

/// A normalization layer that keeps running statistics of its batches (`BatchNorm`,
/// `ConditionalBatchNorm`), under PyTorch's names.
public protocol RunningStatistics: AnyObject {
    /// Sums per-channel statistics across processes (sync batch norm), or nil.
    var synchronization: ((inout [Double]) -> Void)? { get set }
    var runningMean: Buffer { get }
    var runningVar: Buffer { get }
    var numBatchesTracked: Buffer { get }
    var momentum: Float { get }
    var unbiasedRunningVariance: Bool { get }
}

extension RunningStatistics {
    /// The checkpoint names of the statistics.
    public var runningStatisticsNames: [String: String] {
        ["runningMean": "running_mean", "runningVar": "running_var", "numBatchesTracked": "num_batches_tracked"]
    }

    /// Folds a batch's mean and biased variance (over every axis of `x` but 1) into the running
    /// statistics: `running ← (1 − momentum)·running + momentum·batch`, the variance made
    /// unbiased first when `unbiasedRunningVariance` (PyTorch's convention).
    func track(mean: Tensor, variance: Tensor, of x: Tensor) { track(mean: mean, variance: variance, count: x.count / x.shape[1]) }

    /// The same for statistics over `count` values per channel (a synchronized batch's).
    func track(mean: Tensor, variance: Tensor, count: Int) {
        let n = Float(count)
        let correction = unbiasedRunningVariance && n > 1 ? n / (n - 1) : 1
        runningMean.value.scaleAndAdd(1 - momentum, mean, momentum)
        runningVar.value.scaleAndAdd(1 - momentum, variance, momentum * correction)
        numBatchesTracked.value.scaleAndAdd(1, Tensor.ones([]), 1)
    }
}

public typealias BatchNorm1d = BatchNorm
public typealias BatchNorm2d = BatchNorm

extension Module {
    /// Makes every batch norm inside (conditional ones too) normalize with the statistics of the
    /// whole batch across processes, combined by `reduce` (nil: each process's own batch).
    public func synchronizeBatchNorm(_ reduce: ((inout [Double]) -> Void)?) {
        for (_, m) in namedModules() { (m as? any RunningStatistics)?.synchronization = reduce }
    }
}

/// The seam between the tensor engine and the hardware.
///
/// `Tensor` and its autodiff know nothing of oneDNN: every computation goes through a `Backend`,
/// and every tensor's data lives in a `DeviceStorage` that only its backend can read. The CPU
/// backend (oneDNN) is the default; a CUDA backend can be added beside it without touching the
/// layers or models above.
///
/// Conventions every backend honours:
/// - A storage has a *logical* shape (row-major / NCHW) and a *physical* layout of the backend's
///   choosing. `download` always returns logical order.
/// - The gradient of a storage is returned in that storage's own layout, so gradients from two
///   consumers of one tensor can always be added.
/// - Functions named `…Backward…` take the values that the matching forward returned.
package protocol Backend: AnyObject {
    /// A short human-readable description, e.g. "cpu (oneDNN 2.6.3, avx2)".
    var name: String { get }

    // MARK: Memory
    /// A new storage in plain logical layout holding `values` (count == shape product).
    func upload(_ values: UnsafeBufferPointer<Float>, shape: [Int]) -> DeviceStorage
    /// A new plain storage with every element equal to `value`.
    func full(shape: [Int], value: Float) -> DeviceStorage
    /// The values in logical (row-major) order.
    func download(_ s: DeviceStorage) -> [Float]
    /// `s` in plain row-major layout (returns `s` itself when it already is).
    func plain(_ s: DeviceStorage) -> DeviceStorage
    /// `s` converted to the physical layout of `other` (same logical shape required).
    func relayout(_ s: DeviceStorage, like other: DeviceStorage) -> DeviceStorage
    /// A plain storage sharing `s`'s memory viewed with another shape of the same element count.
    func reshape(_ s: DeviceStorage, to shape: [Int]) -> DeviceStorage
    /// A plain copy that no other storage aliases.
    func copy(_ s: DeviceStorage) -> DeviceStorage
    /// Overwrites `dst`'s values with `src`'s (same logical shape), in place.
    func assign(_ dst: DeviceStorage, from src: DeviceStorage)

    // MARK: Convolutions (plain and transposed)
    /// Forward convolution. Returns the output and the input as the kernel consumed it
    /// (`saved`, possibly reordered or rounded to bf16), which the backward functions take. With
    /// `precision` bf16 the kernels multiply in bf16 (where the CPU has such kernels), the output
    /// and the input gradient are bf16 and the weight gradients f32; the backward passes take the
    /// forward's precision.
    func convolution(_ x: DeviceStorage, weight: DeviceStorage, bias: DeviceStorage?, _ g: ConvGeometry,
                     precision: Precision) -> (y: DeviceStorage, saved: DeviceStorage)
    /// Gradient with respect to the input, in the layout of `like` (the original input).
    func convolutionBackwardData(_ dy: DeviceStorage, weight: DeviceStorage, like x: DeviceStorage, _ g: ConvGeometry,
                                 precision: Precision) -> DeviceStorage
    /// Gradients with respect to the weight (in the weight's layout) and, when `bias`, the bias.
    func convolutionBackwardWeights(_ dy: DeviceStorage, saved: DeviceStorage, weight: DeviceStorage, bias: Bool,
                                    _ g: ConvGeometry, precision: Precision) -> (dw: DeviceStorage, db: DeviceStorage?)

    /// Forward convolution for inference only (nothing is kept for a backward pass), with
    /// `activation` applied to the output in the same kernel when given; in bf16, the output is
    /// bf16 (what the next bf16 layer reads) except for layers that write images.
    func convolutionInference(_ x: DeviceStorage, weight: DeviceStorage, bias: DeviceStorage?, _ g: ConvGeometry,
                              activation: EltwiseOp?, precision: Precision) -> DeviceStorage

    // MARK: Dense
    /// `linear` for inference only, with `activation` applied in the same kernel when given.
    func linearInference(_ x: DeviceStorage, weight: DeviceStorage, bias: DeviceStorage?, activation: EltwiseOp?) -> DeviceStorage
    /// `y = x·wᵀ + b` with `x` [N, in], `w` [out, in] (PyTorch's Linear layout), `b` [out].
    func linear(_ x: DeviceStorage, weight: DeviceStorage, bias: DeviceStorage?) -> DeviceStorage
    func linearBackwardData(_ dy: DeviceStorage, weight: DeviceStorage, like x: DeviceStorage) -> DeviceStorage
    func linearBackwardWeights(_ dy: DeviceStorage, x: DeviceStorage, weight: DeviceStorage, bias: Bool)
        -> (dw: DeviceStorage, db: DeviceStorage?)
    /// `op(a)·op(b)` for 2-D storages, where op transposes when asked.
    func matmul(_ a: DeviceStorage, transposeA: Bool, _ b: DeviceStorage, transposeB: Bool) -> DeviceStorage

    // MARK: Normalization
    /// Training-mode batch norm over all axes but 1. Returns the output and the batch mean and
    /// (biased) variance per channel.
    func batchNorm(_ x: DeviceStorage, scale: DeviceStorage, shift: DeviceStorage, epsilon: Float)
        -> (y: DeviceStorage, mean: DeviceStorage, variance: DeviceStorage)
    /// Batch norm with given statistics (evaluation mode).
    func batchNormInference(_ x: DeviceStorage, scale: DeviceStorage, shift: DeviceStorage,
                            mean: DeviceStorage, variance: DeviceStorage, epsilon: Float) -> DeviceStorage
    func batchNormBackward(_ dy: DeviceStorage, x: DeviceStorage, scale: DeviceStorage, shift: DeviceStorage,
                           mean: DeviceStorage, variance: DeviceStorage, epsilon: Float)
        -> (dx: DeviceStorage, dscale: DeviceStorage, dshift: DeviceStorage)

    // MARK: Pooling
    /// Max or average pooling over each channel's spatial planes. Returns the output and, for max
    /// pooling, the record of where each maximum was, which the backward takes.
    func pooling(_ x: DeviceStorage, _ g: PoolGeometry) -> (y: DeviceStorage, workspace: DeviceStorage?)
    /// Gradient with respect to the input, in the layout of `like`.
    func poolingBackward(_ dy: DeviceStorage, like x: DeviceStorage, workspace: DeviceStorage?, _ g: PoolGeometry)
        -> DeviceStorage

    // MARK: Resampling
    /// Nearest-neighbour upsampling of [N, C, H, W] by `factor` along both spatial axes.
    func upsampleNearest(_ x: DeviceStorage, factor: Int) -> DeviceStorage
    /// The sum over each `factor`×`factor` block of [N, C, H, W]: the adjoint of `upsampleNearest`.
    func blockSums(_ x: DeviceStorage, factor: Int) -> DeviceStorage

    // MARK: Element-wise
    func eltwise(_ op: EltwiseOp, _ x: DeviceStorage) -> DeviceStorage
    /// `source` is the forward input, or the forward output when `op.backwardUsesOutput`.
    func eltwiseBackward(_ op: EltwiseOp, _ dy: DeviceStorage, source: DeviceStorage) -> DeviceStorage
    /// `a ∘ b` for equal shapes, or `b` broadcast along axes where it has size 1.
    func binary(_ op: BinaryOp, _ a: DeviceStorage, _ b: DeviceStorage) -> DeviceStorage
    /// Sums `s` over the axes where `shape` has size 1 (the reverse of broadcasting), giving `shape`.
    func reduceSum(_ s: DeviceStorage, to shape: [Int]) -> DeviceStorage
    /// Compute threads of the kernels.
    var threads: Int { get set }
    /// `y[n, c, …] = x[n, c, …]·scale[n, c] + shift[n, c]`: an affine map per sample and channel
    /// (class-conditional batch norm's), for `x` [N, C, …] and `scale`, `shift` [N, C].
    func channelAffine(_ x: DeviceStorage, scale: DeviceStorage, shift: DeviceStorage) -> DeviceStorage
    /// Its gradients: `dx = dy·scale`, `dscale[n, c] = Σ dy·x`, `dshift[n, c] = Σ dy` (sums over
    /// the axes after the channel).
    func channelAffineBackward(_ dy: DeviceStorage, x: DeviceStorage, scale: DeviceStorage)
        -> (dx: DeviceStorage, dscale: DeviceStorage, dshift: DeviceStorage)
    /// `y = x · mask / keep` with a fresh Bernoulli(keep) mask; returns y and the scaled mask.
    func dropout(_ x: DeviceStorage, keep: Float, uniforms: UnsafeBufferPointer<Float>)
        -> (y: DeviceStorage, mask: DeviceStorage)
    /// Number of physical elements (≥ logical count for padded blocked layouts); `dropout` takes
    /// that many uniforms.
    func physicalCount(_ s: DeviceStorage) -> Int
    /// Concatenation along `axis` of storages equal in every other dimension.
    func concat(_ parts: [DeviceStorage], axis: Int) -> DeviceStorage
    /// The slice `[offset, offset+length)` along `axis`, plain.
    func slice(_ s: DeviceStorage, axis: Int, offset: Int, length: Int) -> DeviceStorage

    // MARK: Losses (scalar results are shape [])
    /// Mean of `max(x,0) − x·t + log(1 + e^−|x|)`; stable for any logit.
    func binaryCrossEntropyWithLogits(_ logits: DeviceStorage, targets: DeviceStorage) -> DeviceStorage
    /// Mean over rows of `−log softmax(x)[label]` for logits [N, K] and labels [N] (class indices as floats).
    func softmaxCrossEntropy(_ logits: DeviceStorage, labels: DeviceStorage) -> DeviceStorage
    /// `dLoss/dlogits = scale · (softmax(x) − onehot(label)) / N`.
    func softmaxCrossEntropyBackward(_ dloss: DeviceStorage, logits: DeviceStorage, labels: DeviceStorage) -> DeviceStorage
    /// Row-wise softmax of [N, K] logits (no gradient: for evaluation).
    func softmax(_ logits: DeviceStorage) -> DeviceStorage
    /// `dLoss/dlogits = scale · (σ(x) − t) / count` where `scale` is the incoming scalar gradient.
    func binaryCrossEntropyWithLogitsBackward(_ dloss: DeviceStorage, logits: DeviceStorage, targets: DeviceStorage)
        -> DeviceStorage

    // MARK: In-place parameter updates (optimizers and running statistics)
    /// `y ← a·y + b·x`, element-wise, in place.
    func axpby(_ y: DeviceStorage, a: Float, _ x: DeviceStorage, b: Float)
    /// One Adam step (PyTorch's formulation) in place on `param`, `m` and `v`.
    /// One Adam step (PyTorch's formulation) in place on every `param` and its `m` and `v`, as one
    /// pass over all of them (a network's whole parameter set in one call).
    func adam(_ tensors: [AdamTensors], _ h: AdamStep)
    /// One SGD step with momentum (PyTorch's formulation) in place on `param` and `buffer`.
    func sgd(param: DeviceStorage, grad: DeviceStorage, buffer: DeviceStorage?, _ h: SGDStep)

    // MARK: Introspection
    var statistics: BackendStatistics { get }
    /// Drops every cached primitive (they are made again on next use).
    func removeCachedPrimitives()
    /// Returns pooled buffers that no tensor holds to the system.
    func releaseCachedMemory()
}

/// Backend-owned memory holding one tensor's values. Opaque above the backend.
package protocol DeviceStorage: AnyObject {
    /// The logical shape.
    var shape: [Int] { get }
    /// How many times the values have been written in place (`Tensor.assign`, optimizer steps):
    /// what caches derived from the values compare.
    var contentVersion: Int { get }
}

/// Counters a backend keeps so tests and benchmarks can see what the engine did.
public struct BackendStatistics: Sendable, Equatable {
    /// Compute primitives (kernels) created since start: a steady-state step creates none.
    public var primitivesCreated = 0
    /// Bytes of buffers currently held (in use or pooled for reuse).
    public var bytesReserved = 0
    /// Bytes in live tensors right now.
    public var bytesInUse = 0
    /// The most bytes ever in live tensors at once.
    public var peakBytesInUse = 0
    /// Fresh buffer allocations (pool misses).
    public var allocations = 0
    /// Implementation names of the kernels in use (e.g. "jit:avx2", "gemm:jit").
    public var implementations: Set<String> = []
    /// The ops whose kernel is oneDNN's slow reference code (should be none).
    public var referenceKernels: [String] = []
    public init() {}
}

/// Geometry of a 2-D convolution or transposed convolution. The kernel size comes from the weight.
public struct ConvGeometry: Hashable, Sendable {
    public var stride: (Int, Int) { (strideH, strideW) }
    public let strideH: Int, strideW: Int
    /// Padding before (top, left) and after (bottom, right); may differ (TensorFlow 'same').
    public let padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    /// Transposed convolution (oneDNN's deconvolution): weight is [in, out, kh, kw].
    public let transposed: Bool

    public init(stride: (Int, Int), padding: (top: Int, left: Int, bottom: Int, right: Int), transposed: Bool) {
        precondition(stride.0 > 0 && stride.1 > 0, "ConvGeometry: stride must be positive, got \(stride)")
        strideH = stride.0; strideW = stride.1
        padTop = padding.top; padLeft = padding.left; padBottom = padding.bottom; padRight = padding.right
        self.transposed = transposed
    }

    /// Output spatial size for an input of `h`×`w` and a `kh`×`kw` kernel.
    public func outputSize(inputH h: Int, inputW w: Int, kernelH kh: Int, kernelW kw: Int) -> (Int, Int) {
        if transposed {
            return ((h - 1) * strideH - padTop - padBottom + kh, (w - 1) * strideW - padLeft - padRight + kw)
        }
        return ((h + padTop + padBottom - kh) / strideH + 1, (w + padLeft + padRight - kw) / strideW + 1)
    }
}

/// Geometry of a 2-D pooling window.
public struct PoolGeometry: Hashable, Sendable {
    public enum Kind: Int, Sendable { case max, average }
    public let kind: Kind
    public let kernelH: Int, kernelW: Int, strideH: Int, strideW: Int
    public let padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    public init(_ kind: Kind, kernel: (Int, Int), stride: (Int, Int), padding: (top: Int, left: Int, bottom: Int, right: Int)) {
        precondition(kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0,
                     "PoolGeometry: kernel \(kernel) and stride \(stride) must be positive")
        self.kind = kind
        kernelH = kernel.0; kernelW = kernel.1; strideH = stride.0; strideW = stride.1
        padTop = padding.top; padLeft = padding.left; padBottom = padding.bottom; padRight = padding.right
    }

    public func outputSize(inputH h: Int, inputW w: Int) -> (Int, Int) {
        ((h + padTop + padBottom - kernelH) / strideH + 1, (w + padLeft + padRight - kernelW) / strideW + 1)
    }
}

/// Element-wise activation functions, each with an exact backward.
public enum EltwiseOp: Hashable, Sendable {
    /// `x > 0 ? x : slope·x` (slope 0 is ReLU).
    case leakyReLU(slope: Float)
    case tanh
    case sigmoid
    /// `scale·x + shift`.
    case linear(scale: Float, shift: Float)
    case square
    case exp
    /// `√x`.
    case sqrt

    /// Whether the backward is computed from the forward's output rather than its input.
    public var backwardUsesOutput: Bool {
        switch self {
        case .tanh, .sigmoid, .exp, .sqrt: return true
        case .leakyReLU(let s): return s >= 0
        default: return false
        }
    }
}

public enum BinaryOp: Int, Hashable, Sendable { case add, subtract, multiply, divide, maximum, minimum }

/// A parameter, its gradient and its two Adam moments, as one `Backend.adam` call takes them.
package struct AdamTensors {
    package var param: DeviceStorage, grad: DeviceStorage, m: DeviceStorage, v: DeviceStorage
    package init(param: DeviceStorage, grad: DeviceStorage, m: DeviceStorage, v: DeviceStorage) {
        self.param = param; self.grad = grad; self.m = m; self.v = v
    }
}

/// One Adam update's hyper-parameters; `step` counts from 1.
public struct AdamStep: Sendable {
    public var learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public var step: Int
    public init(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, step: Int) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay; self.step = step
    }
}

public struct SGDStep: Sendable {
    public var learningRate: Float, momentum: Float, dampening: Float, weightDecay: Float
    public var nesterov: Bool
    /// The first step initialises the momentum buffer with the gradient, as PyTorch does.
    public var firstStep: Bool
    public init(learningRate: Float, momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool, firstStep: Bool) {
        self.learningRate = learningRate; self.momentum = momentum; self.dampening = dampening
        self.weightDecay = weightDecay; self.nesterov = nesterov; self.firstStep = firstStep
    }
}

/// An n-dimensional array of `Float` with a logical row-major (NCHW) shape.
///
/// A `Tensor` is an immutable value: every operation returns a new tensor, and the backend may keep
/// its data in whatever physical layout is fastest (oneDNN's blocked layouts between layers),
/// converting only when values are read back. In-place updates are the one exception
/// (`Ops/InPlace.swift`: optimizers and running statistics), and every copy of the tensor sees them.
///
/// When a tensor requires gradients, the operations that consume it are recorded on a tape;
/// `backward()` on a scalar result then accumulates gradients into the leaves (see `Autograd.swift`).
///
/// ```swift
/// let x = Tensor([1, 2, 3, 4], shape: [2, 2])
/// let w = Tensor.randomNormal([2, 2], std: 0.02, using: RandomGenerator(seed: 0)).requiringGrad()
/// let loss = x.matmul(w).square().mean()
/// loss.backward()
/// print(w.grad!.scalars)
/// ```
public struct Tensor {
    /// The logical shape; `[]` is a scalar.
    public let shape: [Int]
    /// The values, owned by `Tensor.backend`.
    package let storage: DeviceStorage
    /// The tape node that produced this tensor, or its leaf node; nil when no gradient flows.
    let node: GradNode?

    /// The backend every tensor operation runs on.
    nonisolated(unsafe) package static var backend: Backend = CPUBackend.shared

    init(storage: DeviceStorage, node: GradNode? = nil) {
        self.storage = storage
        self.shape = storage.shape
        self.node = node
    }

    /// A tensor with the given values in row-major order.
    public init(_ values: [Float], shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(shape:): negative dimension in \(shape)")
        precondition(values.count == shape.reduce(1, *),
                     "Tensor(shape:): \(values.count) values do not fill shape \(shape)")
        self.init(storage: values.withUnsafeBufferPointer { Tensor.backend.upload($0, shape: shape) })
    }

    /// A scalar tensor (shape `[]`).
    public init(_ value: Float) { self.init([value], shape: []) }

    /// A tensor from a Float64 array (rounded to Float32).
    public init(_ values: [Double], shape: [Int]) { self.init(values.map { Float($0) }, shape: shape) }

    // MARK: Filled and random

    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        Tensor(storage: backend.full(shape: shape, value: value))
    }

    /// Samples of N(mean, std²).
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, using rng: RandomGenerator) -> Tensor {
        host(shape) { rng.fillNormal($0, mean: mean, std: std) }
    }

    /// Samples of N(mean, std²) redrawn until within two standard deviations (TensorFlow's
    /// `truncated_normal`).
    public static func randomTruncatedNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                             using rng: RandomGenerator) -> Tensor {
        host(shape) { rng.fillTruncatedNormal($0, mean: mean, std: std) }
    }

    /// Samples uniform in [low, high).
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, using rng: RandomGenerator) -> Tensor {
        host(shape) { rng.fillUniform($0, low: low, high: high) }
    }

    /// A tensor whose values `fill` writes on the host.
    public static func host(_ shape: [Int], _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        values.withUnsafeMutableBufferPointer { fill($0) }
        return Tensor(values, shape: shape)
    }

    // MARK: Reading back

    /// The values in logical row-major order.
    public var scalars: [Float] { Tensor.backend.download(storage) }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "Tensor.item: tensor of shape \(shape) has \(count) elements, expected 1")
        return scalars[0]
    }

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = scalars
        let shown = values.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(values.count > 8 ? ", …" : "")])"
    }
}

/// Stops with a message naming the op and the offending shapes (a programmer error).
@inline(__always)
func checkShapes(_ condition: Bool, _ op: String, _ shapes: [Int]..., note: @autoclosure () -> String = "") {
    if !condition {
        let described = shapes.map { "\($0)" }.joined(separator: " and ")
        let extra = note()
        preconditionFailure("\(op): incompatible shapes \(described)\(extra.isEmpty ? "" : ": " + extra)")
    }
}

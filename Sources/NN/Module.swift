import Tensors

/// A trainable tensor: a leaf of the autodiff tape that optimizers update in place.
public final class Parameter {
    /// The current value. Reading it inside a forward pass records the use for `backward()`.
    public private(set) var value: Tensor

    public init(_ value: Tensor, requiresGrad: Bool = true) {
        self.value = requiresGrad ? value.detached.requiringGrad() : value.detached
    }

    public var shape: [Int] { value.shape }

    /// Whether `backward()` computes a gradient for this parameter. Freezing the discriminator
    /// during the generator's update skips its weight gradients (only its input gradient flows).
    public var requiresGrad: Bool {
        get { value.requiresGrad }
        set { if newValue != value.requiresGrad { value = newValue ? value.detached.requiringGrad() : value.detached } }
    }

    /// The gradient accumulated by `backward()`, or nil.
    public var grad: Tensor? { value.grad }
    public func zeroGrad() { value.zeroGrad() }

    /// Overwrites the values in place (shape must match).
    public func assign(_ newValue: Tensor) {
        precondition(newValue.shape == shape, "Parameter.assign: shape \(newValue.shape) does not match \(shape)")
        value.assign(newValue)
    }
}

/// Non-trainable state saved with a model (batch norm's running statistics).
public final class Buffer {
    public enum Kind: Sendable { case float32, int64 }
    public private(set) var value: Tensor
    /// How the buffer is stored in a checkpoint (PyTorch keeps `num_batches_tracked` as int64).
    public let kind: Kind
    public init(_ value: Tensor, kind: Kind = .float32) { self.value = value; self.kind = kind }
    public func assign(_ newValue: Tensor) {
        precondition(newValue.shape == value.shape, "Buffer.assign: shape \(newValue.shape) does not match \(value.shape)")
        value.assign(newValue)
    }
}

/// A layer or a model: a function of one tensor with parameters found by reflection.
///
/// Conforming classes store their parameters (`Parameter`), buffers (`Buffer`) and sub-modules
/// (`Module`, or arrays of them) as properties; names follow PyTorch's `state_dict` (`main.0.weight`),
/// taken from the property names and array indices, so checkpoints load in PyTorch.
///
/// ```swift
/// final class Discriminator: Module {
///     let main = Sequential(Linear(784, 256), LeakyReLU(0.2), Linear(256, 1))
///     func callAsFunction(_ x: Tensor) -> Tensor { main(x.flattened()) }
/// }
/// ```
public protocol Module: AnyObject {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// A module whose behaviour differs between training and evaluation (batch norm, dropout).
public protocol ModeDependent: AnyObject {
    var training: Bool { get set }
}

extension Module {
    /// This module and every module inside it, depth first, with their dotted names ("" for self).
    public func namedModules(prefix: String = "") -> [(name: String, module: Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for (name, child) in reflectedChildren() {
            if let m = child as? Module {
                out += m.namedModules(prefix: Self.join(prefix, name))
            } else if let ms = child as? [Module] {
                for (i, m) in ms.enumerated() { out += m.namedModules(prefix: Self.join(Self.join(prefix, name), "\(i)")) }
            }
        }
        return out
    }

    /// Every parameter with its `state_dict` name, in declaration order.
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        namedModules().flatMap { prefix, m in
            m.reflectedChildren().compactMap { name, v in (v as? Parameter).map { (Self.join(prefix, name), $0) } }
        }
    }

    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// Every buffer with its `state_dict` name.
    public func namedBuffers() -> [(name: String, buffer: Buffer)] {
        namedModules().flatMap { prefix, m in
            m.reflectedChildren().compactMap { name, v in (v as? Buffer).map { (Self.join(prefix, name), $0) } }
        }
    }

    /// Switches batch norm and dropout between training and evaluation behaviour.
    public func setTraining(_ training: Bool) {
        for (_, m) in namedModules() { (m as? ModeDependent)?.training = training }
    }

    /// Whether gradients are computed for all parameters (see `Parameter.requiresGrad`).
    public func setRequiresGrad(_ on: Bool) {
        for p in parameters { p.requiresGrad = on }
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Stored properties, with Swift's lazy-storage prefix removed from names.
    func reflectedChildren() -> [(String, Any)] {
        var out: [(String, Any)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        var levels: [Mirror] = []
        while let m = mirror { levels.append(m); mirror = m.superclassMirror }
        for m in levels.reversed() {
            for child in m.children {
                guard var name = child.label else { continue }
                if name.hasPrefix("$__lazy_storage_$_") { name.removeFirst("$__lazy_storage_$_".count) }
                if let custom = self as? CustomChildNames, let renamed = custom.childNames[name] { name = renamed }
                if let group = child.value as? InlineChildren {
                    out += group.inlineChildren  // named as the module's own
                } else {
                    out.append((name, child.value))
                }
            }
        }
        return out
    }

    static func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : b.isEmpty ? a : a + "." + b }
}

/// Lets a module give a property another checkpoint name than its Swift name
/// (e.g. `runningMean` → `running_mean`).
public protocol CustomChildNames {
    var childNames: [String: String] { get }
}

/// A stored value whose parameters or buffers belong to the module that holds it, under names
/// of their own (spectral norm's `weight_u` and `weight_v` beside the layer's `weight_orig`).
public protocol InlineChildren {
    var inlineChildren: [(String, Any)] { get }
}

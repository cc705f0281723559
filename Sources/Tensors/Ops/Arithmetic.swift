// Element-wise arithmetic with broadcasting of one operand, scalar arithmetic, and reductions.
// Each op's gradient rule sits beside it.

extension Tensor {
    var backend: Backend { Tensor.backend }

    /// Whether `small` broadcasts into `big` (equal rank, each dimension equal or 1).
    static func broadcasts(_ small: [Int], into big: [Int]) -> Bool {
        small.count == big.count && zip(big, small).allSatisfy { $1 == $0 || $1 == 1 }
    }

    /// `gradient` summed down to `shape` (the reverse of broadcasting).
    static func unbroadcast(_ gradient: Tensor, to shape: [Int]) -> Tensor {
        gradient.shape == shape ? gradient : gradient.sum(to: shape)
    }

    /// `g` (of `shape` with 1 along broadcast axes, or a scalar) repeated to `shape`, as a
    /// differentiable op: the reverse of a sum, for rules that record themselves.
    static func expand(_ g: Tensor, to shape: [Int]) -> Tensor {
        let small = g.rank == shape.count ? g : g.reshaped([Int](repeating: 1, count: shape.count))
        return Tensor.zeros(shape) + small
    }

    static func binaryOp(_ op: BinaryOp, _ name: StaticString, _ a: Tensor, _ b: Tensor) -> Tensor {
        let swap = a.shape != b.shape && broadcasts(a.shape, into: b.shape)
        checkShapes(a.shape == b.shape || broadcasts(b.shape, into: a.shape) || swap, "\(name)", a.shape, b.shape,
                    note: "shapes must be equal or one must broadcast into the other")
        let y: DeviceStorage
        switch (op, swap) {
        case (.add, true), (.multiply, true):
            y = backend.binary(op, b.storage, a.storage)
        case (.subtract, true):
            y = backend.eltwise(.linear(scale: -1, shift: 0), backend.binary(.subtract, b.storage, a.storage))
        case (.divide, true):
            let ones = backend.full(shape: b.shape, value: 1)
            y = backend.binary(.multiply, backend.binary(.divide, ones, b.storage), a.storage)
        default:
            y = backend.binary(op, a.storage, b.storage)
        }
        let (aShape, bShape) = (a.shape, b.shape)
        return record(name, y, inputs: [a, b]) { [sa = a.storage, sb = b.storage] g, needs in
            // Constants in a first-order pass; on the tape when the pass records itself.
            let a = Tensor.input(0, sa), b = Tensor.input(1, sb)
            switch op {
            case .add:
                return [needs[0] ? unbroadcast(g, to: aShape) : nil, needs[1] ? unbroadcast(g, to: bShape) : nil]
            case .subtract:
                return [needs[0] ? unbroadcast(g, to: aShape) : nil, needs[1] ? unbroadcast(-g, to: bShape) : nil]
            case .multiply:
                return [needs[0] ? unbroadcast(g * b, to: aShape) : nil,
                        needs[1] ? unbroadcast(g * a, to: bShape) : nil]
            case .divide:
                let inv = 1 / b
                return [needs[0] ? unbroadcast(g * inv, to: aShape) : nil,
                        needs[1] ? unbroadcast(-(g * a * inv * inv), to: bShape) : nil]
            case .maximum, .minimum:
                preconditionFailure("\(name): no gradient rule")
            }
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binaryOp(.add, "add", a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binaryOp(.subtract, "subtract", a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binaryOp(.multiply, "multiply", a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binaryOp(.divide, "divide", a, b) }

    // MARK: Scalars

    /// `scale·self + shift` in one pass.
    public func affine(scale: Float, shift: Float) -> Tensor {
        let y = backend.eltwise(.linear(scale: scale, shift: shift), storage)
        return Tensor.record("affine", y, inputs: [self]) { g, _ in [g.affine(scale: scale, shift: 0)] }
    }

    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.affine(scale: -1, shift: s) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    public static func / (s: Float, a: Tensor) -> Tensor { Tensor.full(a.shape, s) / a }
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }

    public func square() -> Tensor {
        let y = backend.eltwise(.square, storage)
        return Tensor.record("square", y, inputs: [self]) { [storage] g, _ in [g * Tensor.input(0, storage) * 2] }
    }

    public func exp() -> Tensor {
        let y = Tensor(storage: backend.eltwise(.exp, storage))
        return Tensor.record("exp", y.storage, inputs: [self]) { [ys = y.storage] g, _ in
            if Tensor.creatingGraph { return [g * Tensor.output(ys)] }
            return [Tensor(storage: Tensor.backend.eltwiseBackward(.exp, g.storage, source: ys))]
        }
    }

    // MARK: Reductions

    /// The sum of all elements, as a scalar (shape `[]`).
    public func sum() -> Tensor {
        let ones = [Int](repeating: 1, count: shape.count)
        let y = backend.reshape(backend.reduceSum(storage, to: ones), to: [])
        return Tensor.record("sum", y, inputs: [self]) { [shape, storage] g, _ in
            if Tensor.creatingGraph { return [Tensor.expand(g, to: shape)] }
            // Broadcast the scalar back to every element, in the input's layout.
            let b = Tensor.backend
            let spread = b.binary(.add, b.full(shape: shape, value: 0), b.reshape(g.storage, to: ones))
            return [Tensor(storage: b.relayout(spread, like: storage))]
        }
    }

    /// Sums over the axes where `shape` has size 1, keeping them as size 1.
    public func sum(to target: [Int]) -> Tensor {
        checkShapes(Tensor.broadcasts(target, into: shape), "sum(to:)", shape, target)
        let y = backend.reduceSum(storage, to: target)
        return Tensor.record("sum(to:)", y, inputs: [self]) { [shape, storage] g, _ in
            if Tensor.creatingGraph { return [Tensor.expand(g, to: shape)] }
            let b = Tensor.backend
            return [Tensor(storage: b.relayout(b.binary(.add, b.full(shape: shape, value: 0), g.storage), like: storage))]
        }
    }

    /// The mean of all elements, as a scalar.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }
}

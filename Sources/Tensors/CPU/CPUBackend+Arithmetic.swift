import CDNNL

// Element-wise arithmetic of two tensors (oneDNN binary primitives, broadcasting the second) and
// its reverse, the sum over broadcast axes (a host loop).
extension CPUBackend {
    package func binary(_ op: BinaryOp, _ a: DeviceStorage, _ b: DeviceStorage) -> DeviceStorage {
        let a = cpu(a)
        let sameShape = a.shape == b.shape
        checkShapes(sameShape || (a.shape.count == b.shape.count
                                  && zip(a.shape, b.shape).allSatisfy { $1 == $0 || $1 == 1 }),
                    "\(op)", a.shape, b.shape, note: "the second operand must equal or broadcast into the first")
        if !sameShape, let y = broadcastBinary(op, a, cpu(b)) { return y }
        // Same shape: both in a's layout. Broadcast: the small operand plain.
        let bs = cpu(sameShape ? relayout(b, like: a) : plain(b))
        let p = cached(.binary(op, a.md.layout, bs.md.layout)) {
            let alg: dnnl_alg_kind_t = switch op {
            case .add: dnnl_binary_add
            case .subtract: dnnl_binary_sub
            case .multiply: dnnl_binary_mul
            case .divide: dnnl_binary_div
            case .maximum: dnnl_binary_max
            case .minimum: dnnl_binary_min
            }
            var d = dnnl_binary_desc_t(), s0 = a.md.raw, s1 = bs.md.raw, o = a.md.raw
            dnnlCheck(dnnl_binary_desc_init(&d, alg, &s0, &s1, &o), "binary \(op)")
            return Primitive(&d, engine: engine, what: "binary \(op) \(a.shape) \(bs.shape)")
        }
        let y = CPUStorage(shape: a.shape, md: a.md)
        execute(p, [(DNNL_ARG_SRC_0, a), (DNNL_ARG_SRC_1, bs), (DNNL_ARG_DST, y)])
        return y
    }

    /// `a op b` for a broadcast `b` ([N, 1, 1, 1], [N, C, 1, 1], [N, 1, H, W]: DiffAugment's
    /// per-image brightness, saturation and contrast, the excitations' per-channel gates) as one
    /// pass over memory on this thread, in plain layout: for each index of the leading axes, one
    /// contiguous block of the trailing axes along which `b` is either broadcast (a scalar) or
    /// not at all (elementwise). Nil for the shapes oneDNN handles well (a per-channel operand
    /// [1, C, 1, 1]) and for max/min. oneDNN 2.6's binary primitive runs the others through its
    /// reference kernel: 3 ms for a [32, 3, 64, 64] batch, 13% of a FastGAN step at 64 pixels,
    /// where this loop takes about a hundredth of that.
    func broadcastBinary(_ op: BinaryOp, _ a: CPUStorage, _ b: CPUStorage) -> CPUStorage? {
        guard op != .maximum, op != .minimum, b.shape.first != 1 || a.shape.first == 1 else { return nil }
        let rank = a.shape.count
        func broadcast(_ d: Int) -> Bool { b.shape[d] == 1 && a.shape[d] != 1 }
        // The trailing block: b broadcast along all of it (scalar) or along none (elementwise).
        let scalar = broadcast(rank - 1)
        var k = rank
        while k > 0 && (a.shape[k - 1] == 1 || broadcast(k - 1) == scalar) { k -= 1 }
        let block = a.shape[k...].reduce(1, *), outer = a.shape[..<k].reduce(1, *)
        var bStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { bStrides[d] = bStrides[d + 1] * b.shape[d + 1] }
        let ap = cpu(plain(a)), bp = cpu(plain(b))
        return Profiler.shared.measure("binary \(op) broadcast (host)") {
            let y = CPUStorage(shape: a.shape, md: ap.md)
            let x = ap.floats, v = bp.floats, out = y.floats
            for o in 0..<outer {
                var rest = o, offset = 0
                for d in stride(from: k - 1, through: 0, by: -1) {
                    let i = rest % a.shape[d]
                    rest /= a.shape[d]
                    if !broadcast(d) { offset += i * bStrides[d] }
                }
                let xs = x + o * block, ys = out + o * block
                if scalar {
                    let s = v[offset]
                    switch op {
                    case .add: for i in 0..<block { ys[i] = xs[i] + s }
                    case .subtract: for i in 0..<block { ys[i] = xs[i] - s }
                    case .multiply: for i in 0..<block { ys[i] = xs[i] * s }
                    case .divide: for i in 0..<block { ys[i] = xs[i] / s }
                    case .maximum, .minimum: preconditionFailure("unreachable")
                    }
                } else {
                    let vs = v + offset
                    switch op {
                    case .add: for i in 0..<block { ys[i] = xs[i] + vs[i] }
                    case .subtract: for i in 0..<block { ys[i] = xs[i] - vs[i] }
                    case .multiply: for i in 0..<block { ys[i] = xs[i] * vs[i] }
                    case .divide: for i in 0..<block { ys[i] = xs[i] / vs[i] }
                    case .maximum, .minimum: preconditionFailure("unreachable")
                    }
                }
            }
            return y
        }
    }

    package func reduceSum(_ s: DeviceStorage, to shape: [Int]) -> DeviceStorage {
        return Profiler.shared.measure("reduce-sum (host)") {
            let x = cpu(plain(s))
            checkShapes(shape.count == x.shape.count && zip(x.shape, shape).allSatisfy { $1 == $0 || $1 == 1 },
                        "reduceSum", x.shape, shape)
            let out = CPUStorage(shape: shape, md: MemoryDesc(plain: shape))
            var acc = [Double](repeating: 0, count: out.logicalCount)
            let rank = shape.count
            // The trailing axes that are summed away form contiguous runs of the input: each run
            // is one tight loop into one output element (a channel's H·W, an image's C·H·W).
            var runAxes = 0
            while runAxes < rank && shape[rank - 1 - runAxes] == 1 { runAxes += 1 }
            let run = x.shape.suffix(runAxes).reduce(1, *)
            let lead = rank - runAxes
            // Row-major strides of the output over the leading axes, zeroed along the reduced ones.
            var outStride = [Int](repeating: 0, count: rank)
            var st = 1
            for i in stride(from: rank - 1, through: 0, by: -1) {
                outStride[i] = shape[i] == 1 && x.shape[i] != 1 ? 0 : st
                st *= shape[i]
            }
            var index = [Int](repeating: 0, count: lead)
            let src = x.floats
            let runs = run == 0 ? 0 : x.logicalCount / run
            for r in 0..<runs {
                var o = 0
                for i in 0..<lead { o += index[i] * outStride[i] }
                var sum = 0.0
                let base = src + r * run
                for k in 0..<run { sum += Double(base[k]) }
                acc[o] += sum
                var i = lead - 1
                while i >= 0 { index[i] += 1; if index[i] < x.shape[i] { break }; index[i] = 0; i -= 1 }
            }
            for i in acc.indices { out.floats[i] = Float(acc[i]) }
            return out
        }
    }
}

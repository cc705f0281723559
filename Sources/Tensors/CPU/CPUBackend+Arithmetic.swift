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

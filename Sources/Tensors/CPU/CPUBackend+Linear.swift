import CDNNL

/// The primitives of one Linear shape, on plain row-major data throughout. The forward is a oneDNN
/// matmul reading the weight [out, in] in place as its transpose (its brgemm kernels run about 1.6×
/// faster than 2.6's inner product on plain weights here, with no weight reorder); the backward
/// passes are inner-product primitives, which already run at GEMM speed on plain data.
final class LinearPlan {
    let forward: Primitive
    let x: MemoryDesc, w: MemoryDesc, y: MemoryDesc, b: MemoryDesc
    let bias: Bool
    /// The inner-product forward the backward primitives are made against (oneDNN takes a forward
    /// descriptor of their own kind as the hint; the matmul that runs the forward is not one).
    private lazy var innerProductForward: Primitive = {
        var d = dnnl_inner_product_desc_t(), xr = x.raw, wr = w.raw, yr = y.raw
        let status = withOptionalPointer(bias ? b.raw : nil) { br in
            dnnl_inner_product_forward_desc_init(&d, dnnl_forward_training, &xr, &wr, br, &yr)
        }
        dnnlCheck(status, "inner_product_forward")
        return Primitive(&d, engine: CPUBackend.shared.engine, what: "linear forward (backward hint) \(x.dims)·\(w.dims)ᵀ")
    }()
    private(set) lazy var backwardData: Primitive = {
        var d = dnnl_inner_product_desc_t(), dx = x.raw, wr = w.raw, dy = y.raw
        dnnlCheck(dnnl_inner_product_backward_data_desc_init(&d, &dx, &wr, &dy), "inner_product_backward_data")
        let p = Primitive(&d, engine: CPUBackend.shared.engine, hint: innerProductForward,
                          what: "linear backward-data \(x.dims)·\(w.dims)ᵀ")
        p.flops = forward.flops
        return p
    }()
    private(set) lazy var backwardWeights: Primitive = {
        var d = dnnl_inner_product_desc_t(), xr = x.raw, dw = w.raw, dy = y.raw
        let status = withOptionalPointer(bias ? b.raw : nil) { db in
            dnnl_inner_product_backward_weights_desc_init(&d, &xr, &dw, db, &dy)
        }
        dnnlCheck(status, "inner_product_backward_weights")
        let p = Primitive(&d, engine: CPUBackend.shared.engine, hint: innerProductForward,
                          what: "linear backward-weights \(x.dims)·\(w.dims)ᵀ")
        p.flops = forward.flops
        return p
    }()

    init(n: Int, inFeatures: Int, outFeatures: Int, bias: Bool) {
        x = MemoryDesc(plain: [n, inFeatures]); w = MemoryDesc(plain: [outFeatures, inFeatures])
        y = MemoryDesc(plain: [n, outFeatures]); b = MemoryDesc(plain: [outFeatures])
        self.bias = bias
        forward = Primitive(matmulForLinear: [n, inFeatures], [outFeatures, inFeatures], bias: bias, attributes: primitiveAttributes,
                            what: "linear forward [\(n), \(inFeatures)]→\(outFeatures)")
    }
}

extension Primitive {
    /// `x [N, in] · wᵀ + b` as a matmul over plain row-major `x` and `y`, with the weight [out, in]
    /// read as [in, out] through swapped strides and the bias as a [1, out] row.
    convenience init(matmulForLinear x: [Int], _ w: [Int], bias: Bool, attributes: dnnl_primitive_attr_t, what: String) {
        var xm = MemoryDesc(plain: x).raw, wm = MemoryDesc(dims: [w[1], w[0]], strides: [1, w[1]]).raw
        var ym = MemoryDesc(plain: [x[0], w[0]]).raw
        var d = dnnl_matmul_desc_t()
        let status = withOptionalPointer(bias ? MemoryDesc(plain: [1, w[0]]).raw : nil) { br in
            dnnl_matmul_desc_init(&d, &xm, &wm, br, &ym)
        }
        dnnlCheck(status, "matmul (\(what))")
        self.init(&d, engine: CPUBackend.shared.engine, attributes: attributes, what: what)
        flops = 2 * Double(x[0]) * Double(x[1]) * Double(w[0])
    }
}

extension CPUBackend {
    /// Stops unless `x` is [N, in], `w` [out, in] and `bias` (when given) [out].
    private func checkLinear(_ x: [Int], _ w: [Int], bias: [Int]? = nil) {
        checkShapes(x.count == 2 && w.count == 2 && x[1] == w[1], "linear", x, w, note: "expected x [N, in] and weight [out, in]")
        if let bias { checkShapes(bias == [w[0]], "linear bias", bias, w) }
    }

    private func linearPlan(_ x: [Int], _ w: [Int], bias: Bool) -> LinearPlan {
        checkLinear(x, w)
        return cached(.linear(x: x, w: w, bias: bias)) {
            LinearPlan(n: x[0], inFeatures: x[1], outFeatures: w[0], bias: bias)
        }
    }

    package func linearInference(_ x: DeviceStorage, weight: DeviceStorage, bias: DeviceStorage?,
                                activation: EltwiseOp?) -> DeviceStorage {
        let (xs, ws) = (x.shape, weight.shape)
        checkLinear(xs, ws, bias: bias?.shape)
        let p = cached(.linearInference(x: xs, w: ws, bias: bias != nil, activation: activation)) {
            let p = Primitive(matmulForLinear: xs, ws, bias: bias != nil, attributes: primitiveAttributes(activation: activation),
                              what: "linear inference\(activation.map { "+\($0)" } ?? "") [\(xs[0]), \(xs[1])]→\(ws[0])")
            return p
        }
        let y = CPUStorage(shape: [xs[0], ws[0]], md: MemoryDesc(plain: [xs[0], ws[0]]))
        var args = [(DNNL_ARG_SRC, cpu(plain(x))), (DNNL_ARG_WEIGHTS, viewAs(cpu(plain(weight)), p.md(dnnl_query_weights_md))),
                    (DNNL_ARG_DST, y)]
        if let bias { args.append((DNNL_ARG_BIAS, viewAs(cpu(plain(bias)), MemoryDesc(plain: [1, ws[0]])))) }
        execute(p, args)
        return y
    }

    package func linear(_ x: DeviceStorage, weight: DeviceStorage, bias: DeviceStorage?) -> DeviceStorage {
        checkLinear(x.shape, weight.shape, bias: bias?.shape)
        let plan = linearPlan(x.shape, weight.shape, bias: bias != nil)
        let y = CPUStorage(shape: [x.shape[0], weight.shape[0]], md: plan.y)
        var args = [(DNNL_ARG_SRC, cpu(plain(x))), (DNNL_ARG_WEIGHTS, viewAs(cpu(plain(weight)), plan.forward.md(dnnl_query_weights_md))),
                    (DNNL_ARG_DST, y)]
        if let bias { args.append((DNNL_ARG_BIAS, viewAs(cpu(plain(bias)), MemoryDesc(plain: [1, weight.shape[0]])))) }
        execute(plan.forward, args)
        return y
    }

    package func linearBackwardData(_ dy: DeviceStorage, weight: DeviceStorage, like x: DeviceStorage) -> DeviceStorage {
        let plan = linearPlan(x.shape, weight.shape, bias: false)
        let dx = CPUStorage(shape: x.shape, md: plan.x)
        execute(plan.backwardData, [(DNNL_ARG_DIFF_DST, cpu(plain(dy))), (DNNL_ARG_WEIGHTS, cpu(plain(weight))),
                                    (DNNL_ARG_DIFF_SRC, dx)])
        return relayout(dx, like: x)
    }

    package func linearBackwardWeights(_ dy: DeviceStorage, x: DeviceStorage, weight: DeviceStorage, bias: Bool)
        -> (dw: DeviceStorage, db: DeviceStorage?) {
        let plan = linearPlan(x.shape, weight.shape, bias: bias)
        let dw = CPUStorage(shape: weight.shape, md: plan.w)
        var args = [(DNNL_ARG_SRC, cpu(plain(x))), (DNNL_ARG_DIFF_DST, cpu(plain(dy))), (DNNL_ARG_DIFF_WEIGHTS, dw)]
        var db: CPUStorage?
        if bias {
            db = CPUStorage(shape: [weight.shape[0]], md: plan.b)
            args.append((DNNL_ARG_DIFF_BIAS, db!))
        }
        execute(plan.backwardWeights, args)
        return (relayout(dw, like: weight), db)
    }

    package func matmul(_ a: DeviceStorage, transposeA: Bool, _ b: DeviceStorage, transposeB: Bool) -> DeviceStorage {
        checkShapes(a.shape.count == 2 && b.shape.count == 2, "matmul", a.shape, b.shape, note: "expected 2-D operands")
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        checkShapes(k == k2, "matmul", a.shape, b.shape,
                    note: "inner dimensions \(k) and \(k2) differ (transposeA: \(transposeA), transposeB: \(transposeB))")
        let p = cached(.matmul(m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)) {
            // A transposed operand is the stored row-major matrix read with swapped strides.
            var am = (transposeA ? MemoryDesc(dims: [m, k], strides: [1, m]) : MemoryDesc(plain: [m, k])).raw
            var bm = (transposeB ? MemoryDesc(dims: [k, n], strides: [1, k]) : MemoryDesc(plain: [k, n])).raw
            var cm = MemoryDesc(plain: [m, n]).raw
            var d = dnnl_matmul_desc_t()
            dnnlCheck(dnnl_matmul_desc_init(&d, &am, &bm, nil, &cm), "matmul_desc_init")
            let p = Primitive(&d, engine: engine, what: "matmul [\(m), \(k)]·[\(k), \(n)]")
            p.flops = 2 * Double(m) * Double(k) * Double(n)
            return p
        }
        let av = viewAs(cpu(plain(a)), p.md(dnnl_query_src_md)), bv = viewAs(cpu(plain(b)), p.md(dnnl_query_weights_md))
        let c = CPUStorage(shape: [m, n], md: MemoryDesc(plain: [m, n]))
        execute(p, [(DNNL_ARG_SRC, av), (DNNL_ARG_WEIGHTS, bv), (DNNL_ARG_DST, c)])
        return c
    }

    /// The same buffer described by `md` (for strided views such as a transposed operand).
    func viewAs(_ s: CPUStorage, _ md: MemoryDesc) -> CPUStorage {
        s.md == md ? s : CPUStorage(shape: md.dims, md: md, buffer: s.buffer)
    }
}

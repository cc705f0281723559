import CDNNL

/// What a convolution's shapes fix, whatever the kernels: oneDNN's logical weight dims, the weight
/// as stored (PyTorch's layout), the output dims and the work of one pass.
package struct ConvShape {
    /// (out, in, kh, kw): oneDNN's logical order for both kinds; a transposed convolution's PyTorch
    /// layout [in, out, kh, kw] is the `iohw` tag of those dims.
    let wDims: [Int]
    let plainWeights: MemoryDesc
    let yDims: [Int]
    /// Multiply-adds ×2 over the kernel taps that fall inside the image, the same count in all three
    /// directions. The kernels skip the taps on padding, so counting them would overstate a rate
    /// beyond the machine's peak: DCGAN-28's 5×5 kernels on 7×7 maps meet the image with 69% of
    /// their taps.
    package let flops: Double

    package init(x: [Int], w: [Int], _ g: ConvGeometry) {
        wDims = g.transposed ? [w[1], w[0], w[2], w[3]] : w
        plainWeights = MemoryDesc(dims: wDims, tag: g.transposed ? dnnl_iohw : dnnl_oihw)
        let (oh, ow) = g.outputSize(inputH: x[2], inputW: x[3], kernelH: w[2], kernelW: w[3])
        yDims = [x[0], wDims[0], oh, ow]
        let rows = Self.taps(input: x[2], output: oh, kernel: w[2], stride: g.strideH, pad: g.padTop, transposed: g.transposed)
        let columns = Self.taps(input: x[3], output: ow, kernel: w[3], stride: g.strideW, pad: g.padLeft, transposed: g.transposed)
        flops = 2 * Double(x[0]) * Double(wDims[0] * wDims[1]) * Double(rows * columns)
    }

    /// Along one axis, the (output position, kernel tap) pairs of a convolution whose input position
    /// is inside the input; for a transposed one, the (input position, tap) pairs that land inside
    /// the output.
    static func taps(input: Int, output: Int, kernel: Int, stride: Int, pad: Int, transposed: Bool) -> Int {
        let (from, to) = transposed ? (input, output) : (output, input)
        var count = 0
        for i in 0..<from {
            for k in 0..<kernel where (0..<to).contains(i * stride - pad + k) { count += 1 }
        }
        return count
    }
}

/// The three primitives of one convolution shape (forward, backward-data, backward-weights) and
/// the layouts they agreed on.
///
/// Layouts are left to oneDNN (`format_tag_any`), which picks blocked ones and its JIT kernels. For
/// the layers with one or three channels (a discriminator's image input, a generator's image
/// output), oneDNN 2.6 has no blocked backward kernel and would fall back to its reference code,
/// up to 100× slower; those layers run on plain NCHW instead, where the GEMM-based kernels apply.
///
/// In bf16, the output and the input gradient are bf16 too (an image's gradient is f32, as the
/// image), so batch norm and activations between two bf16 convolutions run on bf16 data (oneDNN's
/// bf16 kernels, statistics in f32) and nothing is cast on the way; an f32 input (an image) or
/// incoming gradient (from G's fp32 image layer) is rounded once.
/// Weights are rounded once per update; weight and bias gradients are f32 for the f32 optimizer.
final class ConvPlan {
    let forward: Primitive, backwardData: Primitive, backwardWeights: Primitive
    let src: MemoryDesc, weights: MemoryDesc, dst: MemoryDesc
    /// Whether the forward's bias is added by `addChannelBias` after the kernel (bf16 transposed).
    let separateBias: Bool
    /// The weight as stored (PyTorch layout) in oneDNN's logical (out, in, kh, kw) order.
    let plainWeights: MemoryDesc
    let xDims: [Int], wDims: [Int], yDims: [Int], bias: Bool
    let g: ConvGeometry

    /// The kernels a plan runs on.
    enum Kernels { case blocked, plain, bf16 }

    /// The plan for `precision`: bf16 kernels where oneDNN has them (else f32), blocked layouts
    /// unless oneDNN has only its reference kernel for them. A layer that writes an image (1 or 3
    /// channels: G's last) stays f32 in bf16 runs: its blocked kernels vectorize over blocks of 16
    /// output channels and gain little from bf16. A layer that reads one (D's first) runs bf16, as
    /// TensorFlow's and PyTorch's mixed precision do — its forward and weight gradient 3× faster
    /// than the f32 GEMM kernel on DCGAN-28 (0.37 against 1.10 ms, 0.48 against 1.57 at batch
    /// 128), the image's gradient from the bf16 GEMM kernel.
    static func make(backend: CPUBackend, x: [Int], w: [Int], bias: Bool, g: ConvGeometry, precision: Precision) -> ConvPlan {
        if precision == .bf16 && (!isImageLayer(w) || readsImage(w, g)) {
            let bf16 = ConvPlan(backend: backend, x: x, w: w, bias: bias, g: g, kernels: .bf16)
            if !bf16.usesReferenceKernel { return bf16 }
        }
        let blocked = ConvPlan(backend: backend, x: x, w: w, bias: bias, g: g, kernels: .blocked)
        if !blocked.usesReferenceKernel { return blocked }
        return ConvPlan(backend: backend, x: x, w: w, bias: bias, g: g, kernels: .plain)
    }

    /// A layer with fewer than 16 channels on a side (`w` as stored): it reads or writes an image.
    static func isImageLayer(_ w: [Int]) -> Bool { min(w[0], w[1]) < 16 }

    /// A convolution from an image (fewer than 16 channels) to 16 or more: a discriminator's first layer.
    static func readsImage(_ w: [Int], _ g: ConvGeometry) -> Bool { !g.transposed && w[1] < 16 && w[0] >= 16 }

    /// The bf16 forward primitive of a layer, and whether its bias is to be added after it by
    /// `addChannelBias`: for a transposed convolution whose output is blocked by 16 channels, since
    /// oneDNN 2.6's bf16 deconvolution with a bias runs at half speed (DCGAN-64's generator: 494–534
    /// images/s against 1 201–1 343 without; CatDCGAN's 128→64 training layer: 135 GF/s against 410).
    static func bf16Forward(_ g: ConvGeometry, x: [Int], wDims: [Int], yDims: [Int], bias: MemoryDesc?, inference: Bool,
                            engine: dnnl_engine_t, attributes: dnnl_primitive_attr_t = primitiveAttributes,
                            what: String) -> (primitive: Primitive, separateBias: Bool) {
        func make(withBias: Bool) -> Primitive {
            var d = descriptor(g, src: .any(x, dnnl_bf16), weights: .any(wDims, dnnl_bf16), bias: withBias ? bias : nil,
                               dst: .any(yDims, dnnl_bf16), kind: .forward, inference: inference)
            return Primitive(&d, engine: engine, attributes: attributes, what: what)
        }
        guard g.transposed, bias != nil else { return (make(withBias: true), false) }
        let bare = make(withBias: false)
        if bare.md(dnnl_query_dst_md).channelBlocked16Strides != nil { return (bare, true) }
        return (make(withBias: true), false)  // blocked otherwise: the kernel adds it
    }

    var usesReferenceKernel: Bool {
        [forward, backwardData, backwardWeights].contains { $0.implementation.hasPrefix("ref:") }
    }

    private init(backend: CPUBackend, x: [Int], w: [Int], bias: Bool, g: ConvGeometry, kernels: Kernels) {
        self.g = g; self.bias = bias; xDims = x
        let shape = ConvShape(x: x, w: w, g)
        let (wDims, plainWeights, yDims) = (shape.wDims, shape.plainWeights, shape.yDims)
        self.wDims = wDims; self.plainWeights = plainWeights; self.yDims = yDims
        let biasMD = bias ? MemoryDesc(plain: [wDims[0]]) : nil
        let engine = backend.engine, readsImage = Self.readsImage(w, g)
        let what = { (direction: String) in Self.describe(direction + (kernels == .bf16 ? " bf16" : ""), g, x, w) }
        if kernels == .bf16 {
            // bf16 in (input, weight, incoming gradient), f32 out; each kernel picks its layouts.
            let (bf16, f32) = (dnnl_bf16, dnnl_f32)
            (forward, separateBias) = Self.bf16Forward(g, x: x, wDims: wDims, yDims: yDims, bias: biasMD, inference: false,
                                                       engine: engine, what: what("forward"))
            var d: dnnl_convolution_desc_t
            src = forward.md(dnnl_query_src_md)
            weights = forward.md(dnnl_query_weights_md)
            dst = forward.md(dnnl_query_dst_md)
            if readsImage {
                // The image's gradient (1 or 3 channels, f32 as the image) from the GEMM kernel on
                // plain layouts: the blocked kernel would compute it in 16-channel blocks, 3× slower.
                d = Self.descriptor(g, src: MemoryDesc(dims: x, tag: dnnl_nchw), weights: MemoryDesc(dims: wDims, tag: dnnl_oihw, dataType: bf16),
                                    bias: nil, dst: MemoryDesc(dims: yDims, tag: dnnl_nchw, dataType: bf16), kind: .backwardData)
            } else {
                d = Self.descriptor(g, src: .any(x, bf16), weights: .any(wDims, bf16), bias: nil, dst: .any(yDims, bf16),
                                    kind: .backwardData)
            }
            backwardData = Primitive(&d, engine: engine, hint: forward, what: what("backward-data"))
            d = Self.descriptor(g, src: src, weights: .any(wDims, f32), bias: biasMD, dst: .any(yDims, bf16),
                                kind: .backwardWeights)
            backwardWeights = Primitive(&d, engine: engine, hint: forward, what: what("backward-weights"))
        } else {
            separateBias = false
            let plain = kernels == .plain
            func layout(_ dims: [Int]) -> MemoryDesc { plain ? MemoryDesc(plain: dims) : .any(dims) }
            // On the plain path the GEMM kernels take the weight as stored: no reorder either way.
            let weightLayout = plain ? plainWeights : .any(wDims)
            var d = Self.descriptor(g, src: layout(x), weights: weightLayout, bias: biasMD, dst: layout(yDims), kind: .forward)
            forward = Primitive(&d, engine: engine, what: what("forward"))
            src = forward.md(dnnl_query_src_md)
            weights = forward.md(dnnl_query_weights_md)
            dst = forward.md(dnnl_query_dst_md)
            // Backward passes take gradients in the forward's layouts; weights as each kernel likes.
            d = Self.descriptor(g, src: src, weights: weightLayout, bias: nil, dst: dst, kind: .backwardData)
            backwardData = Primitive(&d, engine: engine, hint: forward, what: what("backward-data"))
            d = Self.descriptor(g, src: src, weights: weightLayout, bias: biasMD, dst: dst, kind: .backwardWeights)
            backwardWeights = Primitive(&d, engine: engine, hint: forward, what: what("backward-weights"))
        }
        for p in [forward, backwardData, backwardWeights] { p.flops = shape.flops }
    }

    enum Direction { case forward, backwardData, backwardWeights }

    static func describe(_ dir: String, _ g: ConvGeometry, _ x: [Int], _ w: [Int]) -> String {
        "\(g.transposed ? "deconvolution" : "convolution") \(dir) x\(x) w\(w)"
    }

    /// The op descriptor for one direction (a C struct; its address goes to primitive creation).
    static func descriptor(_ g: ConvGeometry, src: MemoryDesc, weights: MemoryDesc, bias: MemoryDesc?,
                           dst: MemoryDesc, kind: Direction, inference: Bool = false) -> dnnl_convolution_desc_t {
        let prop = inference ? dnnl_forward_inference : dnnl_forward_training
        var d = dnnl_convolution_desc_t()
        let strides: [Int64] = [Int64(g.strideH), Int64(g.strideW)]
        let pl: [Int64] = [Int64(g.padTop), Int64(g.padLeft)], pr: [Int64] = [Int64(g.padBottom), Int64(g.padRight)]
        var s = src.raw, w = weights.raw, o = dst.raw
        let status: dnnl_status_t = withOptionalPointer(bias?.raw) { bp in
            // dnnl_deconvolution_desc_t is a typedef of dnnl_convolution_desc_t in oneDNN 2.x.
            switch (kind, g.transposed) {
            case (.forward, false):
                return dnnl_convolution_forward_desc_init(&d, prop, dnnl_convolution_direct,
                                                          &s, &w, bp, &o, strides, pl, pr)
            case (.forward, true):
                return dnnl_deconvolution_forward_desc_init(&d, prop, dnnl_deconvolution_direct,
                                                            &s, &w, bp, &o, strides, pl, pr)
            case (.backwardData, false):
                return dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &s, &w, &o,
                                                                strides, pl, pr)
            case (.backwardData, true):
                return dnnl_deconvolution_backward_data_desc_init(&d, dnnl_deconvolution_direct, &s, &w, &o,
                                                                  strides, pl, pr)
            case (.backwardWeights, false):
                return dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &s, &w, bp, &o,
                                                                   strides, pl, pr)
            case (.backwardWeights, true):
                return dnnl_deconvolution_backward_weights_desc_init(&d, dnnl_deconvolution_direct, &s, &w, bp,
                                                                     &o, strides, pl, pr)
            }
        }
        dnnlCheck(status, "convolution descriptor src\(src.dims) w\(weights.dims) dst\(dst.dims)")
        return d
    }

}

/// A forward-only convolution for inference (no backward follows, so nothing is kept for one),
/// with an optional activation fused into the kernel as a oneDNN post-op: one pass over the
/// output instead of two, and one buffer instead of two.
///
/// Transposed convolutions take the activation as a second, in-place pass instead: oneDNN 2.6's
/// AVX2 deconvolution (its backward-data kernel run forward) slows 2.6× with an eltwise post-op
/// (the 64×64 DCGAN generator: 195 against 513 images/s), while in place still saves the buffer.
final class ConvInferencePlan {
    let forward: Primitive
    /// The activation to run in place after `forward` (when not fused into it).
    let separateActivation: EltwiseOp?
    /// Whether the bias is added in place after `forward` rather than by it (`ConvPlan.bf16Forward`).
    let separateBias: Bool
    let src: MemoryDesc, weights: MemoryDesc, plainWeights: MemoryDesc
    let yDims: [Int]
    let transposed: Bool

    /// In bf16 (where oneDNN has a bf16 kernel for the layer): input, weight and output bf16, bias
    /// and accumulation f32; a layer with fewer than 16 channels on a side (an image layer) reads
    /// bf16 on plain layouts through the GEMM kernel and writes f32.
    init(backend: CPUBackend, x: [Int], w: [Int], bias: Bool, g: ConvGeometry, activation: EltwiseOp?, precision: Precision) {
        let shape = ConvShape(x: x, w: w, g)
        let (wDims, plainWeights, yDims) = (shape.wDims, shape.plainWeights, shape.yDims)
        self.plainWeights = plainWeights; self.yDims = yDims
        transposed = g.transposed
        let biasMD = bias ? MemoryDesc(plain: [wDims[0]]) : nil
        let attributes = primitiveAttributes(activation: g.transposed ? nil : activation)
        let fused = g.transposed ? nil : activation
        let what = { (bf16: Bool) in
            "\(g.transposed ? "deconvolution" : "convolution") inference\(bf16 ? " bf16" : "")\(fused.map { "+\($0)" } ?? "") x\(x) w\(w)"
        }
        func make(plain: Bool) -> Primitive {
            let layout = { (dims: [Int]) in plain ? MemoryDesc(plain: dims) : .any(dims) }
            var d = ConvPlan.descriptor(g, src: layout(x), weights: plain ? plainWeights : .any(wDims), bias: biasMD,
                                        dst: layout(yDims), kind: .forward, inference: true)
            return Primitive(&d, engine: backend.engine, attributes: attributes, what: what(false))
        }
        separateActivation = g.transposed ? activation : nil
        func makeImageBF16() -> Primitive? {
            var d = ConvPlan.descriptor(g, src: MemoryDesc(dims: x, tag: dnnl_nchw, dataType: dnnl_bf16),
                                        weights: MemoryDesc(dims: wDims, tag: g.transposed ? dnnl_iohw : dnnl_oihw, dataType: dnnl_bf16),
                                        bias: biasMD, dst: MemoryDesc(plain: yDims), kind: .forward, inference: true)
            let p = Primitive(&d, engine: backend.engine, attributes: attributes, what: what(true))
            return p.implementation.hasPrefix("ref:") ? nil : p
        }
        let imageLayer = ConvPlan.isImageLayer(w)
        if precision == .bf16 && !imageLayer,
           case let bf16 = ConvPlan.bf16Forward(g, x: x, wDims: wDims, yDims: yDims, bias: biasMD, inference: true,
                                                engine: backend.engine, attributes: attributes, what: what(true)),
           !bf16.primitive.implementation.hasPrefix("ref:") {
            (forward, separateBias) = bf16
        } else {
            separateBias = false
            // As for training: blocked layouts unless oneDNN has only its reference kernel for them.
            // An image layer runs on plain layouts, as in training: oneDNN 2.6's blocked JIT
            // transposed convolution computes 1 or 3 output channels in 16-channel blocks
            // (DCGAN-28's 64→1 layer: 14 GF/s), where the GEMM kernel on NCHW does not waste them.
            let blocked = imageLayer ? nil : make(plain: false)
            // In bf16, the image layer's GEMM kernel reads bf16 (the previous layer's output as it
            // is, its weight rounded once) and writes the image in f32: 1.2–1.3× the f32 kernel
            // and no conversion of its input to f32 (its result within bf16's rounding, as for
            // the layers before it).
            let imageBF16 = imageLayer && precision == .bf16 ? makeImageBF16() : nil
            forward = imageBF16 ?? blocked.flatMap { $0.implementation.hasPrefix("ref:") ? nil : $0 } ?? make(plain: true)
        }
        forward.flops = shape.flops
        src = forward.md(dnnl_query_src_md)
        weights = forward.md(dnnl_query_weights_md)
    }
}

extension CPUBackend {
    package func convolutionInference(_ x: DeviceStorage, weight w: DeviceStorage, bias: DeviceStorage?, _ g: ConvGeometry,
                                     activation: EltwiseOp?, precision: Precision) -> DeviceStorage {
        let x = cpu(x), w = cpu(w)
        checkConv(x, w, g)
        let key = PlanKey.convolutionInference(g, x: x.shape, w: w.shape, bias: bias != nil, activation: activation, precision)
        let plan = cached(key) {
            ConvInferencePlan(backend: self, x: x.shape, w: w.shape, bias: bias != nil, g: g, activation: activation, precision: precision)
        }
        if let bias { checkShapes(bias.shape == [plan.yDims[1]], "conv bias", bias.shape, [plan.yDims[1]]) }
        let xs = x.md == plan.src ? x : reorder(x, to: plan.src)
        // Kept whatever its size: a generator's weights do not change between its batches.
        let ws = reorderCached(w, viewedAs: plan.transposed ? plan.plainWeights : nil, to: plan.weights, evenIfLarge: true)
        let y = CPUStorage(shape: plan.yDims, md: plan.forward.md(dnnl_query_dst_md))
        var args = [(DNNL_ARG_SRC, xs), (DNNL_ARG_WEIGHTS, ws), (DNNL_ARG_DST, y)]
        if let bias, !plan.separateBias { args.append((DNNL_ARG_BIAS, cpu(plain(bias)))) }
        execute(plan.forward, args)
        if let bias, plan.separateBias { addChannelBias(y, cpu(plain(bias))) }
        if let op = plan.separateActivation { execute(eltwisePlan(op, y.md).forward, [(DNNL_ARG_SRC, y), (DNNL_ARG_DST, y)]) }
        return y
    }

    /// y[n, c, h, w] += bias[c] for bf16 `y` blocked by 16 channels, in place: a host loop over
    /// 16-lane rows (widened to f32, added, rounded to nearest even), split across the cores. It
    /// replaces the kernel's own bias, which in oneDNN 2.6 halves the speed of the bf16 transposed
    /// convolution (dcgan64's generator: 494–534 images/s against 1 201–1 343 without, measured
    /// alternating), and its reference-only bf16 binary add.
    func addChannelBias(_ y: CPUStorage, _ bias: CPUStorage) {
        Profiler.shared.measure("bias add bf16 (host)") {
            let strides = y.md.channelBlocked16Strides!, dims = y.shape
            let blocks = (dims[1] + 15) / 16, rows = dims[0] * blocks
            let data = y.buffer.pointer.assumingMemoryBound(to: UInt16.self), b = bias.floats
            var padded = [Float](repeating: 0, count: blocks * 16)
            for c in 0..<dims[1] { padded[c] = b[c] }
            padded.withUnsafeBufferPointer { lanes in
                parallelFor(rows, grain: 1) { range in
                    for row in range {
                        let (n, block) = (row / blocks, row % blocks)
                        let add = UnsafeRawPointer(lanes.baseAddress! + block * 16).loadUnaligned(as: SIMD16<Float>.self)
                        for h in 0..<dims[2] {
                            for w in 0..<dims[3] {
                                let at = UnsafeMutableRawPointer(data + n * strides[0] + block * strides[1] + h * strides[2] + w * strides[3])
                                let bits = SIMD16<UInt32>(truncatingIfNeeded: at.loadUnaligned(as: SIMD16<UInt16>.self)) &<< 16
                                let sum = unsafeBitCast(unsafeBitCast(bits, to: SIMD16<Float>.self) + add, to: SIMD16<UInt32>.self)
                                let rounded = (sum &+ 0x7FFF &+ ((sum &>> 16) & 1)) &>> 16
                                at.storeBytes(of: SIMD16<UInt16>(truncatingIfNeeded: rounded), as: SIMD16<UInt16>.self)
                            }
                        }
                    }
                }
            }
            y.buffer.version += 1
        }
    }

    func convPlan(x: [Int], w: [Int], bias: Bool, _ g: ConvGeometry, _ precision: Precision) -> ConvPlan {
        cached(.convolution(g, x: x, w: w, bias: bias, precision)) {
            ConvPlan.make(backend: self, x: x, w: w, bias: bias, g: g, precision: precision)
        }
    }

    /// The weight in the layout `md` (reordered once per update).
    private func weight(_ w: CPUStorage, _ plan: ConvPlan, as md: MemoryDesc) -> CPUStorage {
        reorderCached(w, viewedAs: plan.g.transposed ? plan.plainWeights : nil, to: md)
    }

    func checkConv(_ x: CPUStorage, _ w: CPUStorage, _ g: ConvGeometry) {
        let op = g.transposed ? "convTranspose2d" : "conv2d"
        checkShapes(x.shape.count == 4 && w.shape.count == 4, op, x.shape, w.shape, note: "expected 4-D input and weight")
        let inChannels = g.transposed ? w.shape[0] : w.shape[1]
        checkShapes(x.shape[1] == inChannels, op, x.shape, w.shape,
                    note: "input has \(x.shape[1]) channels, weight expects \(inChannels)")
        let (oh, ow) = g.outputSize(inputH: x.shape[2], inputW: x.shape[3], kernelH: w.shape[2], kernelW: w.shape[3])
        checkShapes(oh > 0 && ow > 0, op, x.shape, w.shape, note: "output would be \(oh)×\(ow)")
    }

    package func convolution(_ x: DeviceStorage, weight w: DeviceStorage, bias: DeviceStorage?, _ g: ConvGeometry,
                             precision: Precision) -> (y: DeviceStorage, saved: DeviceStorage) {
        let x = cpu(x), w = cpu(w)
        checkConv(x, w, g)
        let plan = convPlan(x: x.shape, w: w.shape, bias: bias != nil, g, precision)
        if let bias { checkShapes(bias.shape == [plan.wDims[0]], "conv bias", bias.shape, [plan.wDims[0]]) }
        let xs = x.md == plan.src ? x : reorder(x, to: plan.src)
        let ws = weight(w, plan, as: plan.weights)
        let y = CPUStorage(shape: plan.yDims, md: plan.dst)
        var args = [(DNNL_ARG_SRC, xs), (DNNL_ARG_WEIGHTS, ws), (DNNL_ARG_DST, y)]
        if let bias, !plan.separateBias { args.append((DNNL_ARG_BIAS, cpu(bias))) }
        execute(plan.forward, args)
        if let bias, plan.separateBias { addChannelBias(y, cpu(plain(bias))) }
        return (y, xs)
    }

    package func convolutionBackwardData(_ dy: DeviceStorage, weight w: DeviceStorage, like x: DeviceStorage,
                                        _ g: ConvGeometry, precision: Precision) -> DeviceStorage {
        let x = cpu(x), w = cpu(w), dy = cpu(dy)
        // The plan is the forward's (same key); whether it had a bias does not matter here, so try both.
        let plan = existingPlan(x: x.shape, w: w.shape, g, precision)
        let p = plan.backwardData
        let dys = incomingGradient(dy, as: p.md(dnnl_query_diff_dst_md))
        let ws = weight(w, plan, as: p.md(dnnl_query_weights_md))
        let dx = CPUStorage(shape: x.shape, md: p.md(dnnl_query_diff_src_md))
        execute(p, [(DNNL_ARG_DIFF_DST, dys), (DNNL_ARG_WEIGHTS, ws), (DNNL_ARG_DIFF_SRC, dx)])
        return dx.md == x.md ? dx : reorder(dx, to: x.md)
    }

    package func convolutionBackwardWeights(_ dy: DeviceStorage, saved: DeviceStorage, weight w: DeviceStorage,
                                           bias: Bool, _ g: ConvGeometry, precision: Precision) -> (dw: DeviceStorage, db: DeviceStorage?) {
        let xs = cpu(saved), w = cpu(w), dy = cpu(dy)
        let plan = convPlan(x: xs.shape, w: w.shape, bias: bias, g, precision)
        let p = plan.backwardWeights
        let dys = incomingGradient(dy, as: p.md(dnnl_query_diff_dst_md))
        let xsrc = xs.md == p.md(dnnl_query_src_md) ? xs : reorder(xs, to: p.md(dnnl_query_src_md))
        let dwBlocked = CPUStorage(shape: plan.wDims, md: p.md(dnnl_query_diff_weights_md))
        var args = [(DNNL_ARG_SRC, xsrc), (DNNL_ARG_DIFF_DST, dys), (DNNL_ARG_DIFF_WEIGHTS, dwBlocked)]
        var db: CPUStorage?
        if bias {
            db = CPUStorage(shape: [plan.wDims[0]], md: MemoryDesc(plain: [plan.wDims[0]]))
            args.append((DNNL_ARG_DIFF_BIAS, db!))
        }
        execute(p, args)
        // Back to the parameter's own (PyTorch) layout: the optimizer works element-wise on it.
        let dwPlain = dwBlocked.md == plan.plainWeights ? dwBlocked : reorder(dwBlocked, to: plan.plainWeights)
        let dw = CPUStorage(shape: w.shape, md: MemoryDesc(plain: w.shape), buffer: dwPlain.buffer)
        return (relayout(dw, like: w), db)
    }

    /// `dy` in layout `md`: the backward-data and backward-weights passes of one layer take the
    /// same incoming gradient, and in bf16 both want it rounded to bf16, so the last conversion is
    /// kept for the second pass (the gradient is never written after it is made).
    private func incomingGradient(_ dy: CPUStorage, as md: MemoryDesc) -> CPUStorage {
        if dy.md == md { return dy }
        if let last = lastGradientConversion, last.source === dy, last.converted.md == md { return last.converted }
        let converted = reorder(dy, to: md)
        lastGradientConversion = (dy, converted)
        return converted
    }

    private func existingPlan(x: [Int], w: [Int], _ g: ConvGeometry, _ precision: Precision) -> ConvPlan {
        if let hit = cachedIfPresent(.convolution(g, x: x, w: w, bias: true, precision), as: ConvPlan.self) { return hit }
        return convPlan(x: x, w: w, bias: false, g, precision)
    }
}

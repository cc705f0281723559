import CDNNL

/// Batch-normalization primitives for one input layout and ε (scale and shift always on).
///
/// A plain [N, C] input (batch norm after a linear layer) runs as [N, C, 1, 1] in the channels-last
/// layout, the same bytes: oneDNN 2.6 has only its generic loop for 2-D data (`ncsp_bnorm`) but a
/// JIT kernel for channels-last.
final class NormPlan {
    let training: Primitive
    let data: MemoryDesc, stat: MemoryDesc
    /// The 4-D channels-last view the kernels see of plain 2-D data (nil: they see `data`).
    let view: MemoryDesc?
    let epsilon: Float
    private let flags = UInt32(dnnl_use_scale.rawValue | dnnl_use_shift.rawValue)
    private(set) lazy var inference: Primitive = {
        var d = dnnl_batch_normalization_desc_t(), x = data.raw
        dnnlCheck(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_inference, &x, epsilon,
                                                              flags | UInt32(dnnl_use_global_stats.rawValue)),
                  "batch_normalization inference")
        return Primitive(&d, engine: CPUBackend.shared.engine, what: "batch-norm inference \(data.dims)")
    }()
    private(set) lazy var backward: Primitive = {
        var d = dnnl_batch_normalization_desc_t(), x = data.raw
        dnnlCheck(dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, &x, &x, epsilon, flags),
                  "batch_normalization backward")
        return Primitive(&d, engine: CPUBackend.shared.engine, hint: training, what: "batch-norm backward \(data.dims)")
    }()

    init(data given: MemoryDesc, channels: Int, epsilon: Float) {
        let dims = given.dims
        view = dims.count == 2 && given == MemoryDesc(plain: dims) ? MemoryDesc(dims: dims + [1, 1], tag: dnnl_acdb) : nil
        data = view ?? given
        self.epsilon = epsilon
        stat = MemoryDesc(plain: [channels])
        var d = dnnl_batch_normalization_desc_t(), x = data.raw
        dnnlCheck(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_training, &x, epsilon, flags),
                  "batch_normalization training")
        training = Primitive(&d, engine: CPUBackend.shared.engine, what: "batch-norm training \(data.dims)")
    }
}

extension NormPlan {
    /// `s` as the kernels see it (its buffer under `view`), or `s` itself.
    func kernelView(_ s: CPUStorage) -> CPUStorage {
        view.map { CPUStorage(shape: $0.dims, md: $0, buffer: s.buffer) } ?? s
    }
}

extension CPUBackend {
    private func normPlan(_ x: CPUStorage, _ scale: DeviceStorage, _ epsilon: Float) -> NormPlan {
        checkShapes(x.shape.count >= 2 && scale.shape == [x.shape[1]], "batchNorm", x.shape, scale.shape,
                    note: "expected input [N, C, …] and per-channel parameters [C]")
        checkShapes(x.shape[0] > 0, "batchNorm", x.shape, note: "empty batch")
        return cached(.batchNorm(x.md.layout, epsilon: epsilon)) { NormPlan(data: x.md, channels: x.shape[1], epsilon: epsilon) }
    }

    package func batchNorm(_ x: DeviceStorage, scale: DeviceStorage, shift: DeviceStorage, epsilon: Float)
        -> (y: DeviceStorage, mean: DeviceStorage, variance: DeviceStorage) {
        let x = cpu(x)
        let plan = normPlan(x, scale, epsilon)
        let y = CPUStorage(shape: x.shape, md: x.md)
        let mean = CPUStorage(shape: scale.shape, md: plan.stat), variance = CPUStorage(shape: scale.shape, md: plan.stat)
        execute(plan.training, [(DNNL_ARG_SRC, plan.kernelView(x)), (DNNL_ARG_DST, plan.kernelView(y)), (DNNL_ARG_SCALE, cpu(plain(scale))),
                                (DNNL_ARG_SHIFT, cpu(plain(shift))), (DNNL_ARG_MEAN, mean), (DNNL_ARG_VARIANCE, variance)])
        return (y, mean, variance)
    }

    package func batchNormInference(_ x: DeviceStorage, scale: DeviceStorage, shift: DeviceStorage,
                                   mean: DeviceStorage, variance: DeviceStorage, epsilon: Float) -> DeviceStorage {
        let x = cpu(x)
        let plan = normPlan(x, scale, epsilon)
        let y = CPUStorage(shape: x.shape, md: x.md)
        execute(plan.inference, [(DNNL_ARG_SRC, plan.kernelView(x)), (DNNL_ARG_DST, plan.kernelView(y)), (DNNL_ARG_SCALE, cpu(plain(scale))),
                                 (DNNL_ARG_SHIFT, cpu(plain(shift))), (DNNL_ARG_MEAN, cpu(plain(mean))),
                                 (DNNL_ARG_VARIANCE, cpu(plain(variance)))])
        return y
    }

    package func batchNormBackward(_ dy: DeviceStorage, x: DeviceStorage, scale: DeviceStorage, shift: DeviceStorage,
                                  mean: DeviceStorage, variance: DeviceStorage, epsilon: Float)
        -> (dx: DeviceStorage, dscale: DeviceStorage, dshift: DeviceStorage) {
        let x = cpu(x)
        let plan = normPlan(x, scale, epsilon)
        let dx = CPUStorage(shape: x.shape, md: x.md)
        let ds = CPUStorage(shape: scale.shape, md: plan.stat), db = CPUStorage(shape: scale.shape, md: plan.stat)
        // oneDNN 2.6 wants SHIFT passed to the backward even though it does not read it.
        execute(plan.backward, [(DNNL_ARG_SRC, plan.kernelView(x)), (DNNL_ARG_DIFF_DST, plan.kernelView(cpu(relayout(dy, like: x)))),
                                (DNNL_ARG_SCALE, cpu(plain(scale))), (DNNL_ARG_SHIFT, cpu(plain(shift))),
                                (DNNL_ARG_MEAN, cpu(mean)), (DNNL_ARG_VARIANCE, cpu(variance)),
                                (DNNL_ARG_DIFF_SRC, plan.kernelView(dx)), (DNNL_ARG_DIFF_SCALE, ds), (DNNL_ARG_DIFF_SHIFT, db)])
        return (dx, ds, db)
    }
}

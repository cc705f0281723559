import CDNNL

/// Forward and backward eltwise primitives for one layout and function.
final class EltwisePlan {
    let forward: Primitive
    let data: MemoryDesc
    let alg: dnnl_alg_kind_t, alpha: Float, beta: Float
    private(set) lazy var backward: Primitive = {
        var d = dnnl_eltwise_desc_t(), x = data.raw
        dnnlCheck(dnnl_eltwise_backward_desc_init(&d, alg, &x, &x, alpha, beta), "eltwise backward")
        return Primitive(&d, engine: CPUBackend.shared.engine, hint: forward, what: "eltwise backward \(data.dims)")
    }()

    init(_ op: EltwiseOp, data: MemoryDesc) {
        self.data = data
        switch op {
        case .leakyReLU(let s):
            (alg, alpha, beta) = (s >= 0 ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu, s, 0)
        case .tanh: (alg, alpha, beta) = (dnnl_eltwise_tanh_use_dst_for_bwd, 0, 0)
        case .sigmoid: (alg, alpha, beta) = (dnnl_eltwise_logistic_use_dst_for_bwd, 0, 0)
        case .exp: (alg, alpha, beta) = (dnnl_eltwise_exp_use_dst_for_bwd, 0, 0)
        case .sqrt: (alg, alpha, beta) = (dnnl_eltwise_sqrt_use_dst_for_bwd, 0, 0)
        case .linear(let scale, let shift): (alg, alpha, beta) = (dnnl_eltwise_linear, scale, shift)
        case .square: (alg, alpha, beta) = (dnnl_eltwise_square, 0, 0)
        }
        var d = dnnl_eltwise_desc_t(), x = data.raw
        dnnlCheck(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, alg, &x, alpha, beta), "eltwise forward")
        forward = Primitive(&d, engine: CPUBackend.shared.engine, what: "eltwise \(op) \(data.dims)")
    }
}

extension CPUBackend {
    func eltwisePlan(_ op: EltwiseOp, _ md: MemoryDesc) -> EltwisePlan {
        return cached(.eltwise(op, md.layout)) { EltwisePlan(op, data: md) }
    }

    package func eltwise(_ op: EltwiseOp, _ x: DeviceStorage) -> DeviceStorage {
        let x = cpu(x)
        let plan = eltwisePlan(op, x.md)
        let y = CPUStorage(shape: x.shape, md: x.md)
        execute(plan.forward, [(DNNL_ARG_SRC, x), (DNNL_ARG_DST, y)])
        return y
    }

    package func eltwiseBackward(_ op: EltwiseOp, _ dy: DeviceStorage, source: DeviceStorage) -> DeviceStorage {
        let src = cpu(source)
        let plan = eltwisePlan(op, src.md)
        let dx = CPUStorage(shape: src.shape, md: src.md)
        let data = op.backwardUsesOutput ? DNNL_ARG_DST : DNNL_ARG_SRC
        execute(plan.backward, [(data, src), (DNNL_ARG_DIFF_DST, cpu(relayout(dy, like: src))), (DNNL_ARG_DIFF_SRC, dx)])
        return dx
    }
}

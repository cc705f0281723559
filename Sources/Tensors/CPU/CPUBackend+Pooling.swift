import CDNNL

/// Pooling primitives for one input layout and window.
final class PoolPlan {
    let forward: Primitive, backward: Primitive
    let src: MemoryDesc, dst: MemoryDesc
    let workspace: MemoryDesc?

    init(x: MemoryDesc, dims: [Int], _ g: PoolGeometry, engine: dnnl_engine_t) {
        let (oh, ow) = g.outputSize(inputH: dims[2], inputW: dims[3])
        let yDims = [dims[0], dims[1], oh, ow]
        let alg = g.kind == .max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding
        let strides: [Int64] = [Int64(g.strideH), Int64(g.strideW)], kernel: [Int64] = [Int64(g.kernelH), Int64(g.kernelW)]
        let pl: [Int64] = [Int64(g.padTop), Int64(g.padLeft)], pr: [Int64] = [Int64(g.padBottom), Int64(g.padRight)]
        var d = dnnl_pooling_desc_t(), s = x.raw, o = MemoryDesc.any(yDims).raw
        dnnlCheck(dnnl_pooling_forward_desc_init(&d, dnnl_forward_training, alg, &s, &o, strides, kernel, pl, pr), "pooling forward")
        forward = Primitive(&d, engine: engine, what: "pooling \(g.kind) forward \(dims)")
        src = x
        dst = forward.md(dnnl_query_dst_md)
        let ws = forward.md(dnnl_query_workspace_md)
        workspace = ws.byteCount > 0 ? ws : nil
        var b = dnnl_pooling_desc_t(), ds = x.raw, dd = dst.raw
        dnnlCheck(dnnl_pooling_backward_desc_init(&b, alg, &ds, &dd, strides, kernel, pl, pr), "pooling backward")
        backward = Primitive(&b, engine: engine, hint: forward, what: "pooling \(g.kind) backward \(dims)")
    }
}

extension CPUBackend {
    private func poolPlan(_ x: CPUStorage, _ g: PoolGeometry) -> PoolPlan {
        checkShapes(x.shape.count == 4, "pool2d", x.shape, note: "expected a 4-D input [N, C, H, W]")
        let (oh, ow) = g.outputSize(inputH: x.shape[2], inputW: x.shape[3])
        checkShapes(oh > 0 && ow > 0, "pool2d", x.shape, note: "output would be \(oh)×\(ow)")
        return cached(.pooling(g, x.md.layout)) { PoolPlan(x: x.md, dims: x.shape, g, engine: engine) }
    }

    package func pooling(_ x: DeviceStorage, _ g: PoolGeometry) -> (y: DeviceStorage, workspace: DeviceStorage?) {
        let x = cpu(x)
        let plan = poolPlan(x, g)
        let (oh, ow) = g.outputSize(inputH: x.shape[2], inputW: x.shape[3])
        let y = CPUStorage(shape: [x.shape[0], x.shape[1], oh, ow], md: plan.dst)
        let ws = plan.workspace.map { CPUStorage(shape: [$0.byteCount], md: $0) }
        var args = [(DNNL_ARG_SRC, x), (DNNL_ARG_DST, y)]
        if let ws { args.append((DNNL_ARG_WORKSPACE, ws)) }
        execute(plan.forward, args)
        return (y, ws)
    }

    package func poolingBackward(_ dy: DeviceStorage, like x: DeviceStorage, workspace: DeviceStorage?, _ g: PoolGeometry)
        -> DeviceStorage {
        let x = cpu(x)
        let plan = poolPlan(x, g)
        let dx = CPUStorage(shape: x.shape, md: plan.src)
        let d = cpu(dy)
        var args = [(DNNL_ARG_DIFF_DST, d.md == plan.dst ? d : reorder(d, to: plan.dst)), (DNNL_ARG_DIFF_SRC, dx)]
        if let workspace { args.append((DNNL_ARG_WORKSPACE, cpu(workspace))) }
        execute(plan.backward, args)
        return dx.md == x.md ? dx : reorder(dx, to: x.md)
    }
}

import CDNNL

/// oneDNN's nearest-neighbour resampling for one layout and factor: forward (upsampling) and
/// backward (the sum over each block), in the layout and data type the tensors already have (bf16
/// between two bf16 convolutions).
final class ResamplePlan {
    let primitive: Primitive
    let output: MemoryDesc

    /// Upsampling of `x` [N, C, H, W] (forward), or, with `adjoint`, the block sums of `x`
    /// [N, C, fH, fW] (oneDNN's backward pass of the upsampling, run on its own).
    init(x: MemoryDesc, dims: [Int], factor: Int, adjoint: Bool, engine: dnnl_engine_t) {
        let factors = [Float(factor), Float(factor)]
        let f = factor, type = x.raw.data_type
        if !adjoint {
            var d = dnnl_resampling_desc_t(), s = x.raw, o = MemoryDesc.any([dims[0], dims[1], dims[2] * f, dims[3] * f], type).raw
            dnnlCheck(dnnl_resampling_forward_desc_init(&d, dnnl_forward_training, dnnl_resampling_nearest, factors, &s, &o),
                      "resampling forward")
            primitive = Primitive(&d, engine: engine, what: "upsampling ×\(f) \(dims)")
            output = primitive.md(dnnl_query_dst_md)
        } else {
            let small = [dims[0], dims[1], dims[2] / f, dims[3] / f]
            var fd = dnnl_resampling_desc_t(), s = MemoryDesc(dims: small, tag: dnnl_abcd, dataType: type).raw, o = x.raw
            dnnlCheck(dnnl_resampling_forward_desc_init(&fd, dnnl_forward_training, dnnl_resampling_nearest, factors, &s, &o),
                      "resampling forward (hint)")
            let hint = Primitive(&fd, engine: engine, what: "upsampling ×\(f) \(small) (hint)")
            var b = dnnl_resampling_desc_t(), ds = MemoryDesc.any(small, type).raw, dd = x.raw
            dnnlCheck(dnnl_resampling_backward_desc_init(&b, dnnl_resampling_nearest, factors, &ds, &dd), "resampling backward")
            primitive = Primitive(&b, engine: engine, hint: hint, what: "block sums ×\(f) \(dims)")
            output = primitive.md(dnnl_query_diff_src_md)
        }
    }
}

extension CPUBackend {
    package func upsampleNearest(_ x: DeviceStorage, factor: Int) -> DeviceStorage {
        let x = cpu(x)
        checkShapes(x.shape.count == 4 && factor >= 1, "upsampleNearest", x.shape, note: "expected [N, C, H, W] and a factor of at least 1")
        let plan = cached(.resampling(factor: factor, adjoint: false, x.shape, x.md.layout)) {
            ResamplePlan(x: x.md, dims: x.shape, factor: factor, adjoint: false, engine: engine)
        }
        let y = CPUStorage(shape: [x.shape[0], x.shape[1], x.shape[2] * factor, x.shape[3] * factor], md: plan.output)
        execute(plan.primitive, [(DNNL_ARG_SRC, x), (DNNL_ARG_DST, y)])
        return y
    }

    package func blockSums(_ x: DeviceStorage, factor: Int) -> DeviceStorage {
        let x = cpu(x)
        checkShapes(x.shape.count == 4 && factor >= 1 && x.shape[2] % factor == 0 && x.shape[3] % factor == 0, "blockSums", x.shape,
                    note: "expected [N, C, H, W] with H and W multiples of the factor")
        let plan = cached(.resampling(factor: factor, adjoint: true, x.shape, x.md.layout)) {
            ResamplePlan(x: x.md, dims: x.shape, factor: factor, adjoint: true, engine: engine)
        }
        let y = CPUStorage(shape: [x.shape[0], x.shape[1], x.shape[2] / factor, x.shape[3] / factor], md: plan.output)
        execute(plan.primitive, [(DNNL_ARG_DIFF_DST, x), (DNNL_ARG_DIFF_SRC, y)])
        return y
    }
}

import CDNNL
import Tensors


/// The ceiling: one layer's three oneDNN primitives called straight through the C API, with
/// every operand already in the layout the kernel wants and nothing else in the loop. Written
/// independently of the engine's backend so that it measures oneDNN, not the engine twice.
final class DirectConvolution {
    private var engine: dnnl_engine_t?
    private var stream: dnnl_stream_t?
    private var primitives: [Direction: dnnl_primitive_t] = [:]
    private var pds: [dnnl_primitive_desc_t] = []
    private var memories: [dnnl_memory_t] = []
    private var args: [Direction: [dnnl_exec_arg_t]] = [:]

    init(_ layer: ConvLayer) {
        dnnl_engine_create(&engine, dnnl_cpu, 0)
        dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue))
        // Like the engine: blocked layouts unless a pass would fall back to the reference kernel.
        if !build(layer, plain: false) { _ = build(layer, plain: true) }
    }

    deinit {
        for p in primitives.values { dnnl_primitive_destroy(p) }
        for pd in pds { dnnl_primitive_desc_destroy(pd) }
        for m in memories { dnnl_memory_destroy(m) }
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    /// Creates the primitives and operands; false if any pass got a `ref:` kernel.
    private func build(_ layer: ConvLayer, plain: Bool) -> Bool {
        for p in primitives.values { dnnl_primitive_destroy(p) }
        primitives = [:]
        let (oh, ow) = layer.output
        // oneDNN's logical channels: a deconvolution maps in → out just as a convolution does.
        let oc = layer.outChannels, ic = layer.inChannels
        func md(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
            var m = dnnl_memory_desc_t()
            let d = dims.map { Int64($0) }
            dnnl_memory_desc_init_by_tag(&m, Int32(d.count), d, dnnl_f32, tag)
            return m
        }
        let layout = plain ? dnnl_abcd : dnnl_format_tag_any
        var src = md([layer.batch, ic, layer.height, layer.width], layout)
        // Plain path: weights as stored (PyTorch's oihw, or iohw for a transposed convolution).
        let weightLayout = plain ? (layer.transposed ? dnnl_iohw : dnnl_oihw) : dnnl_format_tag_any
        var wei = md([oc, ic, layer.kernel, layer.kernel], weightLayout)
        var dst = md([layer.batch, oc, oh, ow], layout)
        let strides: [Int64] = [Int64(layer.stride), Int64(layer.stride)]
        let pl: [Int64] = [Int64(layer.padding.top), Int64(layer.padding.left)]
        let pr: [Int64] = [Int64(layer.padding.bottom), Int64(layer.padding.right)]
        let alg = layer.transposed ? dnnl_deconvolution_direct : dnnl_convolution_direct

        var fd = dnnl_convolution_desc_t()
        if layer.transposed {
            dnnl_deconvolution_forward_desc_init(&fd, dnnl_forward_training, alg, &src, &wei, nil, &dst, strides, pl, pr)
        } else {
            dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg, &src, &wei, nil, &dst, strides, pl, pr)
        }
        var fpd: dnnl_primitive_desc_t?
        dnnl_primitive_desc_create(&fpd, &fd, nil, engine, nil)
        pds.append(fpd!)
        src = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0).pointee
        dst = dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0).pointee

        var bd = dnnl_convolution_desc_t(), wd = dnnl_convolution_desc_t()
        var anyW = md([oc, ic, layer.kernel, layer.kernel], weightLayout)
        if layer.transposed {
            dnnl_deconvolution_backward_data_desc_init(&bd, alg, &src, &anyW, &dst, strides, pl, pr)
            dnnl_deconvolution_backward_weights_desc_init(&wd, alg, &src, &anyW, nil, &dst, strides, pl, pr)
        } else {
            dnnl_convolution_backward_data_desc_init(&bd, alg, &src, &anyW, &dst, strides, pl, pr)
            dnnl_convolution_backward_weights_desc_init(&wd, alg, &src, &anyW, nil, &dst, strides, pl, pr)
        }
        var bpd: dnnl_primitive_desc_t?, wpd: dnnl_primitive_desc_t?
        dnnl_primitive_desc_create(&bpd, &bd, nil, engine, fpd)
        dnnl_primitive_desc_create(&wpd, &wd, nil, engine, fpd)
        pds += [bpd!, wpd!]

        var usesReference = false
        for (dir, pd) in [(Direction.forward, fpd!), (.backwardData, bpd!), (.backwardWeights, wpd!)] {
            var p: dnnl_primitive_t?
            dnnl_primitive_create(&p, pd)
            primitives[dir] = p!
            var info: UnsafePointer<CChar>?
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info)
            if let info, String(cString: info).hasPrefix("ref:") { usesReference = true }
        }
        func memory(_ pd: dnnl_primitive_desc_t, _ q: dnnl_query_t) -> dnnl_memory_t {
            var m: dnnl_memory_t?
            dnnl_memory_create(&m, dnnl_primitive_desc_query_md(pd, q, 0), engine, cdnnl_memory_allocate())
            var handle: UnsafeMutableRawPointer?
            dnnl_memory_get_data_handle(m, &handle)
            let count = Int(dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, q, 0))) / 4
            let f = handle!.assumingMemoryBound(to: Float.self)
            for i in 0..<count { f[i] = Float((i * 7919) % 2001 - 1000) * 1e-3 }  // small, non-denormal values
            memories.append(m!)
            return m!
        }
        args[.forward] = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: memory(fpd!, dnnl_query_src_md)),
                          dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: memory(fpd!, dnnl_query_weights_md)),
                          dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: memory(fpd!, dnnl_query_dst_md))]
        args[.backwardData] = [dnnl_exec_arg_t(arg: DNNL_ARG_DIFF_DST, memory: memory(bpd!, dnnl_query_diff_dst_md)),
                               dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: memory(bpd!, dnnl_query_weights_md)),
                               dnnl_exec_arg_t(arg: DNNL_ARG_DIFF_SRC, memory: memory(bpd!, dnnl_query_diff_src_md))]
        args[.backwardWeights] = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: memory(wpd!, dnnl_query_src_md)),
                                  dnnl_exec_arg_t(arg: DNNL_ARG_DIFF_DST, memory: memory(wpd!, dnnl_query_diff_dst_md)),
                                  dnnl_exec_arg_t(arg: DNNL_ARG_DIFF_WEIGHTS, memory: memory(wpd!, dnnl_query_diff_weights_md))]
        return !usesReference
    }

    /// Mean seconds per pass over `n` back-to-back executions.
    func time(_ dir: Direction, _ n: Int) -> Double {
        var a = args[dir]!
        let p = primitives[dir]!
        let t0 = Profiler.now()
        for _ in 0..<n {
            dnnl_primitive_execute(p, stream, Int32(a.count), &a)
            dnnl_stream_wait(stream)
        }
        return (Profiler.now() - t0) / Double(n)
    }
}

import CDNNL

// The thin layer over oneDNN's C API. Every oneDNN call of the project goes through this file or
// `CPUBackend.swift`, so moving to oneDNN 3.x (opaque memory descriptors, new *_primitive_desc_create
// functions) touches only these two files.

/// Stops on a oneDNN failure: every call here is with arguments the engine built itself, so a
/// failure is a bug, reported with the call that failed — except running out of memory, which is
/// the engine's out-of-memory handler's.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
    if status != dnnl_success {
        if status == dnnl_out_of_memory { Engine.outOfMemory(0) }
        preconditionFailure("oneDNN \(what()) failed with status \(status.rawValue)")
    }
}

/// A oneDNN memory descriptor: logical dims plus a physical layout.
struct MemoryDesc {
    var raw: dnnl_memory_desc_t

    init(_ raw: dnnl_memory_desc_t) { self.raw = raw }

    /// Plain row-major layout (`a`, `ab`, `abc`, …) for `dims`; a scalar is `[1]`.
    init(plain dims: [Int]) {
        let tags = [dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde, dnnl_abcdef]
        let d = dims.isEmpty ? [1] : dims
        precondition(d.count <= tags.count, "Tensor: rank \(d.count) exceeds the supported 6")
        self.init(dims: d, tag: tags[d.count - 1])
    }

    init(dims: [Int], tag: dnnl_format_tag_t, dataType: dnnl_data_type_t = dnnl_f32) {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        dnnlCheck(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, dataType, tag),
                  "memory_desc_init_by_tag(\(dims))")
        raw = md
    }

    /// A layout left for the primitive to choose (`format_tag_any`), of f32 or of `dataType`.
    static func any(_ dims: [Int], _ dataType: dnnl_data_type_t = dnnl_f32) -> MemoryDesc {
        MemoryDesc(dims: dims, tag: dnnl_format_tag_any, dataType: dataType)
    }

    /// Row-major dims with explicit strides (used for transposed matmul operands).
    init(dims: [Int], strides: [Int]) {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }, s = strides.map { Int64($0) }
        dnnlCheck(dnnl_memory_desc_init_by_strides(&md, Int32(d.count), d, dnnl_f32, s),
                  "memory_desc_init_by_strides(\(dims), \(strides))")
        raw = md
    }

    var byteCount: Int { withUnsafePointer(to: raw) { Int(dnnl_memory_desc_get_size($0)) } }

    /// Bytes per element: 4 for f32, 2 for bf16 (the two types the engine stores).
    var elementSize: Int { raw.data_type == dnnl_bf16 ? 2 : 4 }

    /// The same layout holding another data type (blocked strides count elements, not bytes).
    func withDataType(_ dataType: dnnl_data_type_t) -> MemoryDesc {
        var copy = raw
        copy.data_type = dataType
        return MemoryDesc(copy)
    }

    /// For a 4-D layout whose only inner block is 16 channels (oneDNN's nChw16c, `aBcd16b`): the
    /// element strides of (n, channel block, h, w); nil for any other layout.
    var channelBlocked16Strides: [Int]? {
        guard raw.ndims == 4, raw.format_kind == dnnl_blocked else { return nil }
        let b = raw.format_desc.blocking
        guard b.inner_nblks == 1, b.inner_blks.0 == 16, b.inner_idxs.0 == 1 else { return nil }
        return [Int(b.strides.0), Int(b.strides.1), Int(b.strides.2), Int(b.strides.3)]
    }

    var dims: [Int] {
        withUnsafeBytes(of: raw.dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(raw.ndims))).map { Int($0) } }
    }

    static func == (a: MemoryDesc, b: MemoryDesc) -> Bool {
        withUnsafePointer(to: a.raw) { pa in withUnsafePointer(to: b.raw) { pb in dnnl_memory_desc_equal(pa, pb) != 0 } }
    }
    static func != (a: MemoryDesc, b: MemoryDesc) -> Bool { !(a == b) }

    /// What identifies this layout in a plan key: data type, dims, padding, strides and
    /// inner blocks (the union's other members are never used for f32 activations and weights).
    var layout: Layout {
        var key: [Int64] = []
        let n = Int(raw.ndims)
        key.append(Int64(n)); key.append(Int64(raw.data_type.rawValue)); key.append(Int64(raw.format_kind.rawValue))
        key.append(raw.offset0)
        withUnsafeBytes(of: raw.dims) { key.append(contentsOf: $0.bindMemory(to: Int64.self).prefix(n)) }
        withUnsafeBytes(of: raw.padded_dims) { key.append(contentsOf: $0.bindMemory(to: Int64.self).prefix(n)) }
        if raw.format_kind == dnnl_blocked {
            let b = raw.format_desc.blocking
            withUnsafeBytes(of: b.strides) { key.append(contentsOf: $0.bindMemory(to: Int64.self).prefix(n)) }
            let nb = Int(b.inner_nblks)
            key.append(Int64(nb))
            withUnsafeBytes(of: b.inner_blks) { key.append(contentsOf: $0.bindMemory(to: Int64.self).prefix(nb)) }
            withUnsafeBytes(of: b.inner_idxs) { key.append(contentsOf: $0.bindMemory(to: Int64.self).prefix(nb)) }
        }
        return Layout(words: key)
    }
}

/// A memory layout's identity in a plan key (the words of `MemoryDesc.layout`).
struct Layout: Hashable {
    let words: [Int64]
}

/// Attributes every primitive is created with: the caller provides the scratchpad.
///
/// With oneDNN's default (library-managed) scratchpad a primitive must run on the thread that
/// created it, since the scratchpad is thread-local: a cached primitive used from another thread
/// reads a null or too-small buffer (seen here as a crash in a memset). With a user scratchpad,
/// taken from the engine's buffer pool at each execution, primitives may move between threads and
/// no hidden allocation happens inside oneDNN.
let primitiveAttributes: dnnl_primitive_attr_t = {
    var attr: dnnl_primitive_attr_t?
    dnnlCheck(dnnl_primitive_attr_create(&attr), "primitive_attr_create")
    dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
    return attr!
}()

/// The attributes of a primitive that applies `activation` to its output in the same pass (a
/// oneDNN eltwise post-op), with the user scratchpad as above. One per activation, kept for the
/// life of the process.
func primitiveAttributes(activation: EltwiseOp?) -> dnnl_primitive_attr_t {
    guard let activation else { return primitiveAttributes }
    if let hit = postOpAttributes[activation] { return hit }
    var attr: dnnl_primitive_attr_t?, ops: dnnl_post_ops_t?
    dnnlCheck(dnnl_primitive_attr_create(&attr), "primitive_attr_create")
    dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
    dnnlCheck(dnnl_post_ops_create(&ops), "post_ops_create")
    let (alg, alpha, beta) = activation.forwardAlgorithm
    dnnlCheck(dnnl_post_ops_append_eltwise(ops, 1, alg, alpha, beta), "post_ops_append_eltwise(\(activation))")
    dnnlCheck(dnnl_primitive_attr_set_post_ops(attr, ops), "set_post_ops")
    dnnl_post_ops_destroy(ops)
    postOpAttributes[activation] = attr!
    return attr!
}

nonisolated(unsafe) private var postOpAttributes: [EltwiseOp: dnnl_primitive_attr_t] = [:]

extension EltwiseOp {
    /// oneDNN's forward algorithm and parameters (the `use_dst_for_bwd` variants compute the same).
    var forwardAlgorithm: (dnnl_alg_kind_t, Float, Float) {
        switch self {
        case .leakyReLU(let s): return (dnnl_eltwise_relu, s, 0)
        case .tanh: return (dnnl_eltwise_tanh, 0, 0)
        case .sigmoid: return (dnnl_eltwise_logistic, 0, 0)
        case .exp: return (dnnl_eltwise_exp, 0, 0)
        case .sqrt: return (dnnl_eltwise_sqrt, 0, 0)
        case .linear(let scale, let shift): return (dnnl_eltwise_linear, scale, shift)
        case .square: return (dnnl_eltwise_square, 0, 0)
        }
    }
}

/// A oneDNN primitive with its descriptor; destroyed with this object.
final class Primitive {
    let pd: dnnl_primitive_desc_t
    let handle: dnnl_primitive_t
    /// The implementation oneDNN picked, e.g. "jit:avx2" or "gemm:jit".
    let implementation: String
    /// The scratchpad each execution needs (nil when none).
    let scratchpad: MemoryDesc?
    /// What it computes, with shapes ("convolution forward x[…] w[…]"), and without them.
    let what: String, kind: String
    /// Floating-point operations per execution, where counted (convolutions, dense, matmul).
    var flops = 0.0

    /// Creates the primitive for `opDesc` (a pointer to one of oneDNN's *_desc_t structs).
    convenience init(_ opDesc: UnsafeRawPointer, engine: dnnl_engine_t, hint: Primitive? = nil,
                     attributes: dnnl_primitive_attr_t = primitiveAttributes, what: String) {
        var pd: dnnl_primitive_desc_t?
        dnnlCheck(dnnl_primitive_desc_create(&pd, opDesc, attributes, engine, hint?.pd), "create \(what)")
        self.init(pd: pd!, what: what)
    }

    init(pd: dnnl_primitive_desc_t, what: String) {
        self.pd = pd
        self.what = what
        kind = what.split(separator: " ").prefix { !$0.contains("[") }.joined(separator: " ")
        var prim: dnnl_primitive_t?
        dnnlCheck(dnnl_primitive_create(&prim, pd), "primitive_create(\(what))")
        handle = prim!
        var info: UnsafePointer<CChar>?
        dnnlCheck(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info), "query impl")
        implementation = info.map { String(cString: $0) } ?? "?"
        let pad = MemoryDesc(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0).pointee)
        scratchpad = pad.byteCount > 0 ? pad : nil
        CPUBackend.shared.noteCreated(self, what: what)
    }

    deinit {
        CPUBackend.shared.noteDestroyed(self)
        dnnl_primitive_destroy(handle)
        dnnl_primitive_desc_destroy(pd)
    }

    func md(_ what: dnnl_query_t, _ index: Int32 = 0) -> MemoryDesc {
        MemoryDesc(dnnl_primitive_desc_query_md(pd, what, index).pointee)
    }
}

/// Calls `body` with a pointer to `value`, or nil when there is none (optional C arguments).
func withOptionalPointer<T, R>(_ value: T?, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard var v = value else { return body(nil) }
    return withUnsafePointer(to: &v) { body($0) }
}

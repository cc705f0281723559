import CDNNL
import Glibc
import Synchronization

/// The CPU backend: oneDNN primitives for the heavy ops, plain loops for the light ones.
///
/// Primitives are created once per (op, shapes, layouts, direction) and cached; activations stay in
/// the blocked layouts the kernels choose (`format_tag_any`), and are reordered only when a caller
/// reads them or an op needs plain data. One compute thread owns the backend (oneDNN runs one
/// OpenMP team per calling thread, so two callers gain nothing); buffers come from a pool.
package final class CPUBackend: Backend {
    nonisolated(unsafe) package static let shared = CPUBackend()

    /// OpenMP's team size, which oneDNN's kernels and `parallelFor` use.
    package var threads: Int {
        get { Int(cdnnl_threads()) }
        set { cdnnl_set_threads(Int32(max(newValue, 1))) }
    }

    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    private var cache: [PlanKey: AnyObject] = [:]
    /// A convolution's incoming gradient as last converted for its kernels (see `incomingGradient`).
    var lastGradientConversion: (source: CPUStorage, converted: CPUStorage)?
    private var created = 0
    /// Description and implementation of every live primitive.
    private var live: [ObjectIdentifier: (what: String, implementation: String)] = [:]
    /// Called with each new primitive's description and implementation (for tracing).
    package var onPrimitiveCreated: ((_ what: String, _ implementation: String) -> Void)?

    private init() {
        var e: dnnl_engine_t?
        dnnlCheck(dnnl_engine_create(&e, dnnl_cpu, 0), "engine_create(cpu)")
        engine = e!
        var s: dnnl_stream_t?
        dnnlCheck(dnnl_stream_create(&s, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream_create")
        stream = s!
    }

    package var name: String {
        let v = cdnnl_runtime_version()
        return "cpu (oneDNN \(v / 10000).\(v / 100 % 100).\(v % 100))"
    }

    package var statistics: BackendStatistics {
        var s = BufferPool.shared.stats
        s.primitivesCreated = created
        s.implementations = Set(live.values.map(\.implementation))
        s.referenceKernels = live.values.filter { $0.implementation.hasPrefix("ref:") }.map(\.what).sorted()
        return s
    }

    /// Returns pooled buffers that no tensor holds to the system.
    package func releaseCachedMemory() { BufferPool.shared.trim() }

    /// Drops every cached primitive (they are made again on next use).
    package func removeCachedPrimitives() { cache.removeAll() }

    func noteCreated(_ p: Primitive, what: String) {
        created += 1
        live[ObjectIdentifier(p)] = (what, p.implementation)
        onPrimitiveCreated?(what, p.implementation)
    }

    func noteDestroyed(_ p: Primitive) { live[ObjectIdentifier(p)] = nil }

    /// The cached plan for `key`, made by `make` on first use. (Each kind of key is made by one
    /// kind of plan, so the cast cannot fail.)
    func cached<T: AnyObject>(_ key: PlanKey, _ make: () -> T) -> T {
        // The cache is the backend's one owner's: two threads in it at once would corrupt it (the
        // studio once ran a projection on a thread beside its worker and crashed). Say so instead.
        // (Making a plan may look up others: the same thread may enter again.)
        let me = UInt(pthread_self())
        let outermost = owner.compareExchange(expected: 0, desired: me, ordering: .acquiring).exchanged
        precondition(outermost || owner.load(ordering: .relaxed) == me,
                     "CPUBackend: used from two threads at once (the engine has one owner thread; run its work on one)")
        defer { if outermost { owner.store(0, ordering: .releasing) } }
        if let hit = cache[key] { return hit as! T }
        let made = make()
        cache[key] = made
        return made
    }
    /// The thread inside `cached` now (pthread_self), or 0.
    private let owner = Atomic<UInt>(0)

    func cachedIfPresent<T: AnyObject>(_ key: PlanKey, as: T.Type) -> T? { cache[key].map { $0 as! T } }

    func execute(_ p: Primitive, _ args: [(Int32, CPUStorage)]) {
        var a = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }
        // The scratchpad comes from the pool and lives until the primitive has finished.
        let scratchpad = p.scratchpad.map { CPUStorage(shape: [$0.byteCount], md: $0) }
        if let scratchpad { a.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpad.memory)) }
        defer { withExtendedLifetime(scratchpad) {} }
        let profiler = Profiler.shared, t0 = profiler.enabled ? Profiler.now() : 0
        dnnlCheck(dnnl_primitive_execute(p.handle, stream, Int32(a.count), &a), "execute(\(p.what))")
        dnnlCheck(dnnl_stream_wait(stream), "stream_wait")
        if profiler.enabled { profiler.record(p.what, kind: p.kind, seconds: Profiler.now() - t0, flops: p.flops) }
    }

    @inline(__always) func cpu(_ s: DeviceStorage) -> CPUStorage { unsafeDowncast(s, to: CPUStorage.self) }

    // MARK: Memory

    package func upload(_ values: UnsafeBufferPointer<Float>, shape: [Int]) -> DeviceStorage {
        let s = CPUStorage(shape: shape, md: MemoryDesc(plain: shape))
        if let base = values.baseAddress { s.floats.update(from: base, count: values.count) }
        return s
    }

    package func full(shape: [Int], value: Float) -> DeviceStorage {
        let s = CPUStorage(shape: shape, md: MemoryDesc(plain: shape))
        s.floats.update(repeating: value, count: s.physicalCount)
        return s
    }

    package func download(_ s: DeviceStorage) -> [Float] {
        let p = cpu(plain(s))
        return Array(UnsafeBufferPointer(start: p.floats, count: p.logicalCount))
    }

    package func plain(_ s: DeviceStorage) -> DeviceStorage {
        let c = cpu(s)
        return c.isPlain ? c : reorder(c, to: MemoryDesc(plain: c.shape))
    }

    package func relayout(_ s: DeviceStorage, like other: DeviceStorage) -> DeviceStorage {
        let c = cpu(s), o = cpu(other)
        checkShapes(c.shape == o.shape, "relayout", c.shape, o.shape)
        return c.md == o.md ? c : reorder(c, to: o.md)
    }

    package func reshape(_ s: DeviceStorage, to shape: [Int]) -> DeviceStorage {
        let p = cpu(plain(s))
        checkShapes(p.logicalCount == shape.reduce(1, *), "reshape", p.shape, shape)
        return CPUStorage(shape: shape, md: MemoryDesc(plain: shape), buffer: p.buffer)
    }

    package func copy(_ s: DeviceStorage) -> DeviceStorage {
        let p = cpu(plain(s))
        let out = CPUStorage(shape: p.shape, md: p.md)
        out.floats.update(from: p.floats, count: p.physicalCount)
        return out
    }

    package func assign(_ dst: DeviceStorage, from src: DeviceStorage) {
        let d = cpu(dst), s = cpu(src)
        checkShapes(d.shape == s.shape, "assign", d.shape, s.shape)
        if d.md == s.md {
            d.buffer.pointer.copyMemory(from: s.buffer.pointer, byteCount: d.md.byteCount)
        } else {
            execute(reorderPrimitive(from: s.md, to: d.md), [(DNNL_ARG_FROM, s), (DNNL_ARG_TO, d)])
        }
        d.buffer.version += 1
    }

    package func physicalCount(_ s: DeviceStorage) -> Int { cpu(s).physicalCount }

    /// `s` with f32 values in its own layout (itself when it holds f32): what host loops read.
    func f32(_ s: CPUStorage) -> CPUStorage {
        s.md.raw.data_type == dnnl_f32 ? s : reorder(s, to: s.md.withDataType(dnnl_f32))
    }

    /// `s` in layout `md` (a new storage; `s` is unchanged).
    func reorder(_ s: CPUStorage, to md: MemoryDesc) -> CPUStorage {
        let out = CPUStorage(shape: s.shape, md: md)
        execute(reorderPrimitive(from: s.md, to: md), [(DNNL_ARG_FROM, s), (DNNL_ARG_TO, out)])
        return out
    }

    /// Weights at least this large are reordered at each use into a pooled temporary instead of
    /// being kept in each kernel's layout: a copy per layout (forward and backward-data differ)
    /// would hold two more copies of every large weight, while the reorder is a pass over the
    /// weight against a convolution that reads it once per output pixel.
    static let uncachedReorderBytes = 4 << 20

    /// `s` in layout `md`, remembered on `s` until its contents change: weights are reordered once
    /// per update, not once per use. `view` reinterprets `s`'s buffer first (a transposed
    /// convolution's weight seen with oneDNN's logical dims). `evenIfLarge` keeps a copy of a weight
    /// of `uncachedReorderBytes` or more too (inference: one layout per weight, no update between uses).
    func reorderCached(_ s: CPUStorage, viewedAs view: MemoryDesc? = nil, to md: MemoryDesc, evenIfLarge: Bool = false) -> CPUStorage {
        let source = view.map { CPUStorage(shape: $0.dims, md: $0, buffer: s.buffer) } ?? s
        if source.md == md { return source }
        if !evenIfLarge && s.buffer.byteCount >= Self.uncachedReorderBytes { return reorder(source, to: md) }
        let version = s.buffer.version
        if let i = s.derived.firstIndex(where: { $0.storage.md == md }) {
            let hit = s.derived[i].storage
            if s.derived[i].version != version {
                execute(reorderPrimitive(from: source.md, to: md), [(DNNL_ARG_FROM, source), (DNNL_ARG_TO, hit)])
                s.derived[i].version = version
            }
            return hit
        }
        let out = reorder(source, to: md)
        s.derived.append((version, out))
        return out
    }

    func reorderPrimitive(from a: MemoryDesc, to b: MemoryDesc) -> Primitive {
        return cached(.reorder(from: a.layout, to: b.layout)) {
            var pd: dnnl_primitive_desc_t?
            withUnsafePointer(to: a.raw) { pa in
                withUnsafePointer(to: b.raw) { pb in
                    dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, pa, engine, pb, engine, primitiveAttributes),
                              "reorder \(a.dims)")
                }
            }
            return Primitive(pd: pd!, what: "reorder \(a.dims)")
        }
    }
}

/// What a cached primitive plan is made for: the op and everything its kernels depend on (shapes,
/// layouts, geometry, fused activation).
enum PlanKey: Hashable {
    case reorder(from: Layout, to: Layout)
    case convolution(ConvGeometry, x: [Int], w: [Int], bias: Bool, Precision)
    case convolutionInference(ConvGeometry, x: [Int], w: [Int], bias: Bool, activation: EltwiseOp?, Precision)
    case linear(x: [Int], w: [Int], bias: Bool)
    case linearInference(x: [Int], w: [Int], bias: Bool, activation: EltwiseOp?)
    case matmul(m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool)
    case batchNorm(Layout, epsilon: Float)
    case eltwise(EltwiseOp, Layout)
    case binary(BinaryOp, Layout, Layout)
    case pooling(PoolGeometry, Layout)
    case resampling(factor: Int, adjoint: Bool, [Int], Layout)
}

import CDNNL

/// A tensor's data on the CPU: a pooled host buffer viewed through a oneDNN memory descriptor.
final class CPUStorage: DeviceStorage {
    let shape: [Int]
    let md: MemoryDesc
    let buffer: HostBuffer
    private var memoryHandle: dnnl_memory_t?
    /// Copies of this storage in other layouts (a weight as each kernel wants it), valid while the
    /// buffer's version is unchanged.
    var derived: [(version: Int, storage: CPUStorage)] = []

    var contentVersion: Int { buffer.version }

    init(shape: [Int], md: MemoryDesc, buffer: HostBuffer? = nil) {
        self.shape = shape
        self.md = md
        self.buffer = buffer ?? HostBuffer(byteCount: md.byteCount)
    }

    deinit { if let memoryHandle { dnnl_memory_destroy(memoryHandle) } }

    /// The oneDNN memory object over this buffer (created once).
    var memory: dnnl_memory_t {
        if let memoryHandle { return memoryHandle }
        var m: dnnl_memory_t?
        withUnsafePointer(to: md.raw) { p in
            dnnlCheck(dnnl_memory_create(&m, p, CPUBackend.shared.engine, buffer.pointer), "memory_create")
        }
        memoryHandle = m
        return m!
    }

    /// The values as f32, for host loops; only f32 storages have them (bf16 ones are converted
    /// first, see `CPUBackend.f32`).
    var floats: UnsafeMutablePointer<Float> {
        precondition(md.raw.data_type == dnnl_f32, "host loop over a \(md.raw.data_type == dnnl_bf16 ? "bf16" : "non-f32") storage \(shape)")
        return buffer.pointer.assumingMemoryBound(to: Float.self)
    }
    /// Elements physically present (a padded blocked layout holds more than the logical count).
    var physicalCount: Int { md.byteCount / md.elementSize }
    var logicalCount: Int { shape.reduce(1, *) }
    private(set) lazy var isPlain: Bool = md == MemoryDesc(plain: shape)
}

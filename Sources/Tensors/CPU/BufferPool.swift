import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A block of 64-byte-aligned host memory. When the last reference goes, the block returns to the
/// pool for the next request of the same size, so a training loop's steady state allocates nothing:
/// the same step needs the same sizes every time.
final class HostBuffer {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    /// Bumped by every in-place write, so caches derived from the contents (reordered weights) know
    /// when they are stale.
    var version = 0

    init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = BufferPool.shared.take(byteCount)
    }

    deinit { BufferPool.shared.give(pointer, byteCount) }
}

final class BufferPool: Sendable {
    static let shared = BufferPool()

    private struct State {
        var free: [Int: [UnsafeMutableRawPointer]] = [:]
        var stats = BackendStatistics()
    }
    private let state = Mutex(State())

    func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        let size = Swift.max(bytes, 64)
        let pooled = state.withLock { s -> UnsafeMutableRawPointer? in
            s.stats.bytesInUse += size
            s.stats.peakBytesInUse = Swift.max(s.stats.peakBytesInUse, s.stats.bytesInUse)
            if let p = s.free[size]?.popLast() { return p }
            s.stats.allocations += 1
            s.stats.bytesReserved += size
            return nil
        }
        if let pooled { return pooled }
        if let p = aligned_alloc(64, (size + 63) & ~63) { return p }
        // Out of memory: the idle buffers of other sizes go back to the system, and one more try.
        trim()
        if let p = aligned_alloc(64, (size + 63) & ~63) { return p }
        Engine.outOfMemory(size)
    }

    func give(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        let size = Swift.max(bytes, 64)
        state.withLock { s in
            s.stats.bytesInUse -= size
            s.free[size, default: []].append(p)
        }
    }

    /// Frees every pooled block that no tensor holds.
    func trim() {
        state.withLock { s in
            for (size, list) in s.free {
                for p in list { free(p) }
                s.stats.bytesReserved -= size * list.count
            }
            s.free = [:]
        }
    }

    var stats: BackendStatistics { state.withLock { $0.stats } }
}

/// The engine behind every tensor, as the layers above see it: what it runs on, what it has done,
/// and the two caches it keeps. Its backend and storage stay inside this target.
public enum Engine {
    /// A short description, e.g. "cpu (oneDNN 2.6.3)".
    public static var name: String { Tensor.backend.name }

    /// Counters of primitives, buffers and kernels (see `BackendStatistics`).
    public static var statistics: BackendStatistics { Tensor.backend.statistics }

    /// Drops every cached kernel (made again on next use): lets a test judge one model's kernels.
    public static func removeCachedPrimitives() { Tensor.backend.removeCachedPrimitives() }

    /// Returns pooled buffers that no tensor holds to the system.
    public static func releaseCachedMemory() { Tensor.backend.releaseCachedMemory() }
}

/// The engine behind every tensor, as the layers above see it: what it runs on, what it has done,
/// and the two caches it keeps. Its backend and storage stay inside this target.
public enum Engine {
    /// Compute threads of the engine's kernels (OpenMP's team size; all cores by default).
    public static var threads: Int {
        get { Tensor.backend.threads }
        set { Tensor.backend.threads = newValue }
    }

    /// A short description, e.g. "cpu (oneDNN 2.6.3)".
    public static var name: String { Tensor.backend.name }

    /// Counters of primitives, buffers and kernels (see `BackendStatistics`).
    public static var statistics: BackendStatistics { Tensor.backend.statistics }

    /// Drops every cached kernel (made again on next use): lets a test judge one model's kernels.
    public static func removeCachedPrimitives() { Tensor.backend.removeCachedPrimitives() }

    /// Returns pooled buffers that no tensor holds to the system.
    public static func releaseCachedMemory() { Tensor.backend.releaseCachedMemory() }

    /// What happens when memory runs out (a tensor's buffer or a kernel's scratch memory cannot be
    /// had, after the pool's idle buffers were returned): the handler gets the bytes asked for (0
    /// when a kernel does not say). Without one the process stops with a message naming them; a
    /// program that speaks to a user (the CLI) sets its own, as C++'s `std::set_new_handler`.
    nonisolated(unsafe) public static var outOfMemoryHandler: ((_ bytes: Int) -> Never)?

    /// Reports memory running out to `outOfMemoryHandler` (`bytes` asked for; 0 when not known):
    /// for the engine's own allocations, and for code that finds memory short elsewhere (a
    /// library that could not be mapped).
    public static func outOfMemory(_ bytes: Int) -> Never {
        if let outOfMemoryHandler { outOfMemoryHandler(bytes) }
        fatalError("SwiftGAN: out of memory allocating \(bytes) bytes")
    }

    /// The arithmetic of the convolutions recorded for training now (fp32
    /// unless inside `withPrecision`). Their backward passes keep the precision of their forward.
    public static var precision: Precision { current }
    nonisolated(unsafe) private static var current = Precision.fp32

    /// Runs `body` with the training convolutions multiplying in `precision`, as PyTorch's
    /// autocast does: in bf16 their inputs, weights and outputs are bf16 (so batch norm and
    /// activations between two of them run on bf16 data), while parameters, their gradients, the
    /// batch-norm statistics and the optimizer stay f32. Requires `precision.isAvailable`.
    public static func withPrecision<R, E: Error>(_ precision: Precision, _ body: () throws(E) -> R) throws(E) -> R {
        precondition(precision.isAvailable, "Engine.withPrecision(\(precision)): \(precision.unavailableReason ?? "")")
        let saved = current
        current = precision
        defer { current = saved }
        return try body()
    }
}

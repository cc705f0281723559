#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the time of a computation goes, kernel by kernel: each oneDNN primitive (by op,
/// direction and shapes) and each host loop (by op) with its calls, seconds and, for the
/// convolutions and matrix products, floating-point work. Off by default; when off it costs one
/// branch per kernel. `swiftgan bench --profile` prints it.
public final class Profiler {
    nonisolated(unsafe) public static let shared = Profiler()

    public struct Entry: Sendable {
        /// The kernel with its shapes, e.g. "deconvolution backward-data x[64, 512, 4, 4] w[512, 256, 4, 4]".
        public var name: String
        /// The op and direction without shapes, e.g. "deconvolution backward-data".
        public var kind: String
        public var calls = 0
        public var seconds = 0.0
        /// Floating-point operations done (0 where not counted).
        public var flops = 0.0

        public init(name: String, kind: String) { self.name = name; self.kind = kind }
    }

    public var enabled = false
    private var table: [String: Entry] = [:]

    public func reset() { table.removeAll(keepingCapacity: true) }

    /// Everything recorded since the last reset, slowest first.
    public var entries: [Entry] { table.values.sorted { $0.seconds > $1.seconds } }

    /// Adds one timed call.
    public func record(_ name: String, kind: String, seconds: Double, flops: Double = 0) {
        table[name, default: Entry(name: name, kind: kind)].calls += 1
        table[name]!.seconds += seconds
        table[name]!.flops += flops
    }

    /// Runs `body`, recording its time under `name` when profiling.
    @inline(__always)
    public func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let t0 = Profiler.now()
        defer { record(name, kind: name, seconds: Profiler.now() - t0) }
        return try body()
    }

    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

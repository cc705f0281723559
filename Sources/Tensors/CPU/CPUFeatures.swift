#if canImport(Glibc)
import Glibc
#endif

/// What the CPU offers for the precisions (from /proc/cpuinfo on Linux).
public enum CPUFeatures {
    /// The CPU's feature flags, e.g. "avx2", "avx512_bf16", "amx_bf16" (empty where unknown).
    public static let flags: Set<String> = Set((cpuinfo("flags") ?? cpuinfo("Features") ?? "").split(separator: " ").map(String.init))

    /// The CPU's model name, for messages.
    public static let modelName: String = cpuinfo("model name") ?? "this CPU"

    /// Whether the CPU has bf16 dot products (AVX512-BF16 or AMX-BF16), which oneDNN's fast bf16
    /// kernels need; without them oneDNN 2.6 has no bf16 convolution worth running.
    public static var hasBF16: Bool { flags.contains("avx512_bf16") || flags.contains("amx_bf16") }

    /// The value of the first /proc/cpuinfo line `field : value`, without surrounding blanks.
    static func cpuinfo(_ field: String) -> String? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line); fclose(file) }
        while getline(&line, &capacity, file) > 0 {
            let parts = String(cString: line!).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingBlanks == field else { continue }
            return parts[1].trimmingBlanks
        }
        return nil
    }
}

private extension Substring {
    var trimmingBlanks: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }
}

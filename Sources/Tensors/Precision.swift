#if canImport(Glibc)
import Glibc
#endif

/// The arithmetic a training run uses.
public enum Precision: String, CaseIterable, Sendable, Codable {
    /// 32-bit floats everywhere.
    case fp32
    /// bfloat16 convolutions with fp32 master weights and fp32 batch-norm statistics.
    case bf16
}

/// What the CPU offers for the precisions (from /proc/cpuinfo's flags on Linux).
public enum CPUFeatures {
    /// The CPU's feature flags, e.g. "avx2", "avx512_bf16", "amx_bf16" (empty where unknown).
    public static let flags: Set<String> = {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            if text.hasPrefix("flags") || text.hasPrefix("Features") {
                free(line)
                return Set(text.split(separator: ":", maxSplits: 1).last?.split(separator: " ").map { String($0.filter { !$0.isNewline }) } ?? [])
            }
        }
        free(line)
        return []
    }()

    /// The CPU's model name, for messages.
    public static let modelName: String = {
        guard let file = fopen("/proc/cpuinfo", "r") else { return "this CPU" }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            if text.hasPrefix("model name") {
                return text.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters() } ?? "this CPU"
            }
        }
        return "this CPU"
    }()

    /// Whether the CPU has bf16 dot products (AVX512-BF16 or AMX-BF16), which oneDNN's fast bf16
    /// kernels need; without them oneDNN 2.6 has no bf16 convolution worth running.
    public static var hasBF16: Bool { flags.contains("avx512_bf16") || flags.contains("amx_bf16") }
}

private extension Substring {
    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed())
    }
}

/// The arithmetic a training run uses.
public enum Precision: String, CaseIterable, Sendable, Codable {
    /// 32-bit floats everywhere.
    case fp32
    /// bfloat16 convolutions (bf16 inputs, weights and outputs; batch norm and activations
    /// between them in bf16 too), with fp32 master weights, weight gradients, optimizer state and
    /// batch-norm statistics.
    case bf16

    /// Whether this machine can compute in this precision at speed: bf16 needs bf16 dot products
    /// (AVX512-BF16 or AMX-BF16), without which oneDNN 2.6 has no bf16 convolution worth running.
    public var isAvailable: Bool { unavailableReason == nil }

    /// Why not, naming the CPU and what it lacks; nil when available.
    public var unavailableReason: String? {
        switch self {
        case .fp32: return nil
        case .bf16:
            return CPUFeatures.hasBF16 ? nil : "\(CPUFeatures.modelName) has neither AVX512-BF16 nor AMX-BF16"
        }
    }
}

/// The arithmetic a training run uses.
public enum Precision: String, CaseIterable, Sendable, Codable {
    /// 32-bit floats everywhere.
    case fp32
    /// bfloat16 convolutions with fp32 master weights and fp32 batch-norm statistics.
    case bf16
}

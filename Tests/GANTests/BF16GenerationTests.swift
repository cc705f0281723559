import Foundation
import Testing
@testable import GANModels
import NN
import Tensors

/// Generation in bf16 (`Sampler.precision`, `swiftgan sample --precision bf16`): the images of every
/// generator are those of fp32 within bf16's rounding, the same on every call, and the bf16 kernels
/// (with the bias of a transposed convolution added by the host loop) are really used. Skipped,
/// with the reason printed, on CPUs without bf16 dot products.
@Suite(.serialized, .enabled(if: Precision.bf16.isAvailable, "bf16 needs AVX512-BF16 or AMX-BF16: \(Precision.bf16.unavailableReason ?? "")"))
struct BF16GenerationTests {
    /// A generator whose batch norms hold running statistics away from (0, 1), as a trained one's.
    static func generator(_ c: ModelConfig) -> GANGenerator {
        let (g, _) = Models.make(c, rng: RandomGenerator(seed: 1))
        for s in 0..<2 {
            let z = c.noise(16, using: RandomGenerator(seed: UInt64(10 + s)))
            _ = withoutGrad { c.isConditional ? g(z, classes: .oneHot((0..<16).map { Int32($0 % c.classes) }, classes: c.classes)) : g(z) }
        }
        return g
    }

    /// Width 32 at least, so that the middle layers have the 16 channels bf16 kernels need (D's
    /// image layer is not here; G's reads bf16 and writes the f32 image).
    @Test(arguments: [(ModelPreset.dcgan, 28, 0), (.dcgan, 64, 0), (.dcgan, 64, 3), (.dcganCPU, 32, 0), (.sngan, 32, 0), (.mlp, 28, 0),
                      (.fastgan, 64, 0), (.fastgan, 64, 3)])
    func imagesAreFP32sWithinRoundingAndRepeatable(_ preset: ModelPreset, _ size: Int, _ classes: Int) {
        let c = ModelConfig(preset: preset, imageSize: size, channels: size == 64 ? 3 : 1, latent: 24, width: 32,
                            classNames: (0..<classes).map { "c\($0)" })
        let g = Self.generator(c)
        let z = c.noise(40, using: RandomGenerator(seed: 3))
        let labels = classes > 0 ? Tensor.oneHot((0..<40).map { Int32($0 % classes) }, classes: classes) : nil
        let fp32 = Sampler(generator: g, config: c).generate(z, classes: labels)
        let bf16Sampler = Sampler(generator: g, config: c, precision: .bf16)
        let bf16 = bf16Sampler.generate(z, classes: labels), again = bf16Sampler.generate(z, classes: labels)
        let differences = zip(fp32.scalars, bf16.scalars).map { abs($0 - $1) }
        let largest = differences.max()!, mean = differences.reduce(0, +) / Float(differences.count)
        print("bf16 generation \(preset.rawValue) \(size)px\(classes > 0 ? " conditional" : ""): max |Δ| \(largest), mean |Δ| \(mean)")
        #expect(bf16.shape == fp32.shape && bf16.scalars == again.scalars)
        #expect(largest < 0.06 && mean < 0.006, "max |Δ| \(largest), mean |Δ| \(mean)")
        // The MLP's dense layers stay fp32 (bf16 is the convolutions'): its images are fp32's exactly.
        if preset == .mlp { #expect(largest == 0) } else { #expect(largest > 0, "no bf16 kernel ran") }
    }

    /// The profile shows the bf16 kernels and the host loop that adds the transposed convolutions' bias.
    @Test func theBF16KernelsAndTheBiasLoopRun() {
        let c = ModelConfig(preset: .dcgan, imageSize: 64, channels: 3, latent: 24, width: 32)
        let sampler = Sampler(generator: Self.generator(c), config: c, precision: .bf16)
        Profiler.shared.reset()
        Profiler.shared.enabled = true
        _ = sampler.generate(c.noise(8, using: RandomGenerator(seed: 5)))
        Profiler.shared.enabled = false
        let kinds = Set(Profiler.shared.entries.map(\.kind))
        #expect(kinds.contains("deconvolution inference bf16") && kinds.contains("bias add bf16 (host)"), "\(kinds.sorted())")
        // The image layer (32 → 3 channels) reads the bf16 activations through the bf16 GEMM kernel
        // (its output, the image, is f32: the sampler's result above is a Float tensor).
        let imageLayer = Profiler.shared.entries.filter { $0.name.contains("w[32, 3, 4, 4]") }.map(\.kind)
        #expect(imageLayer == ["deconvolution inference bf16"], "\(imageLayer)")
    }
}

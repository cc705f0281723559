import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import NN
import Tensors

/// Every preset's generator against its PyTorch definition (Fixtures/pytorch/generators.py, which
/// made the golden values and says how to run it): the same `state_dict` names and shapes — what
/// PyTorch's `load_state_dict(strict=True)` checks, so a SwiftGAN `generator.safetensors` loads —
/// and, with every tensor filled by the same formula, the same images within 1e-4.
@Suite(.serialized) struct PyTorchParityTests {
    static let golden = try! SafeTensors(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pytorch/pytorch.safetensors").path)

    static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// generators.py's `fill`.
    static func fill(_ name: String, _ shape: [Int]) -> [Float] {
        let count = shape.reduce(1, *)
        let phase = Double(fnv1a(name) % 1000) / 100
        let wave = (0..<count).map { sin(0.61 * Double($0) + phase) }
        let last = name.split(separator: ".").last.map(String.init) ?? name
        switch last {
        case "running_var": return wave.map { Float(1 + 0.5 * abs($0)) }
        case "running_mean": return wave.map { Float(0.1 * $0) }
        case "num_batches_tracked": return [7]
        default:
            if shape.count >= 2 && !name.hasPrefix("cbn:") {
                let scale = 1.5 / (Double(count) / Double(max(shape[0], shape[1]))).squareRoot()
                return wave.map { Float(scale * $0) }
            }
            let base = last == "weight" ? 1.0 : 0.0
            return wave.map { Float(base + 0.2 * $0) }
        }
    }

    @Test(arguments: [("mlp", ModelPreset.mlp, 28, 1, 4, 0), ("dcgan28", .dcgan, 28, 1, 4, 0), ("dcgan32", .dcgan, 32, 3, 4, 0),
                      ("dcgan64", .dcgan, 64, 3, 4, 0), ("catdcgan", .catdcgan, 128, 3, 2, 0), ("sngan28", .sngan, 28, 1, 4, 0),
                      ("sngan64", .sngan, 64, 3, 4, 0), ("cond-dcgan28", .dcgan, 28, 1, 4, 3), ("cond-dcgan64", .dcgan, 64, 1, 4, 3),
                      // The default preset builds DCGAN's layers: the same PyTorch definition.
                      ("dcgan28", .dcganCPU, 28, 1, 4, 0), ("dcgan64", .dcganCPU, 64, 3, 4, 0),
                      // FastGAN at each size its layout differs (one gate from 4×4; one from 8×8; nested gates), spectral norm in G.
                      ("fastgan32", .fastgan, 32, 3, 4, 0), ("fastgan64", .fastgan, 64, 3, 4, 0), ("fastgan128", .fastgan, 128, 3, 4, 0),
                      ("cond-fastgan64", .fastgan, 64, 3, 4, 3)])
    func generatorMatchesItsPyTorchDefinition(_ name: String, _ preset: ModelPreset, _ size: Int, _ channels: Int, _ width: Int,
                                              _ classes: Int) throws {
        let c = ModelConfig(preset: preset, imageSize: size, channels: channels, latent: 12, width: width,
                            classNames: (0..<classes).map { "class \($0)" })
        let (g, _) = Models.make(c, rng: RandomGenerator(seed: 1))
        let conditional = Set(g.namedModules().filter { $0.module is ConditionalBatchNorm }.map(\.name))
        var mine: [String: [Int]] = [:]
        func key(_ tensorName: String) -> String {
            let parts = tensorName.split(separator: ".")
            let owner = parts.dropLast().joined(separator: "."), last = parts.last.map(String.init) ?? ""
            return conditional.contains(owner) && (last == "weight" || last == "bias") ? "cbn:" + tensorName : tensorName
        }
        for (n, p) in g.namedParameters() { mine[n] = p.shape; p.assign(Tensor(Self.fill(key(n), p.shape), shape: p.shape)) }
        for (n, b) in g.namedBuffers() { mine[n] = b.value.shape; b.assign(Tensor(Self.fill(key(n), b.value.shape), shape: b.value.shape)) }
        // generators.py's converge_spectral_norms: u and v the top singular vectors, as after training.
        for case let layer as any WeightedLayer in g.namedModules().map(\.module) {
            layer.spectralNorm?.iterate(layer.weight.value, count: 100)
        }

        let names = String(decoding: try Self.golden.tensor("\(name).names").scalars.map { UInt8($0) }, as: UTF8.self)
            .split(separator: "\n").map(String.init)
        var theirs: [String: [Int]] = [:]
        for n in names { theirs[n] = try Self.golden.tensor("\(name).shape.\(n)").scalars.map { Int($0) } }
        // num_batches_tracked is a scalar in both; PyTorch lists it with shape [].
        #expect(mine == theirs, "\(name): state_dict names and shapes differ")

        var values: [Float] = []
        for k in 0..<24 {
            let angle: Double = 0.37 * Double(k) + 1
            values.append(Float(sin(angle) * 1.2))
        }
        let z = Tensor(values, shape: [2, 12])
        let latents = z.reshaped(c.latentShape(2))
        let images = Sampler(generator: g, config: c).generate(latents, classes: classes > 0 ? .oneHot([0, 1], classes: classes) : nil)
        let expected = try Self.golden.tensor("\(name).images")
        #expect(images.shape == expected.shape)
        let error = zip(images.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
        let largest = expected.scalars.map(abs).max() ?? 0
        print("PyTorch parity \(name): max abs difference \(error), largest value \(largest)")
        // FastGAN's spectrally normalised layers (σ = 1) draw fainter images: compared to 1e-6.
        let (tolerance, faintest): (Float, Float) = preset == .fastgan ? (1e-6, 0.02) : (1e-4, 0.05)
        #expect(error < tolerance && largest > faintest, "\(name): \(error) (largest value \(largest))")
    }
}

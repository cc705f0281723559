import Foundation
import Testing
@testable import NN
import Tensors

/// Spectral normalisation against PyTorch's `torch.nn.utils.spectral_norm` on fixed inputs
/// (Fixtures/spectral_norm.py made the values, and says how to run it).
@Suite(.serialized) struct SpectralNormTests {
    static let golden = try! SafeTensors(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/spectral_norm.safetensors").path).allTensors()

    static func layer(_ name: String) -> any WeightedLayer {
        switch name {
        case "conv": return Conv2d(3, 4, kernelSize: 3)
        case "deconv": return ConvTranspose2d(4, 3, kernelSize: 4, stride: 2, padding: .explicit(1, 1))
        default: return Linear(6, 5)
        }
    }

    static func maxError(_ a: Tensor, _ b: Tensor) -> Float {
        #expect(a.shape == b.shape)
        let scale = max(b.scalars.map(abs).max() ?? 0, 1e-3)
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()! / scale
    }

    @Test(arguments: ["conv", "deconv", "linear"])
    func matchesPyTorch(_ name: String) throws {
        let g = { (key: String) in Self.golden[name + "." + key]! }
        let layer = Self.layer(name)
        layer.enableSpectralNorm(rng: RandomGenerator(seed: 0))
        // PyTorch's names: weight_orig, bias; buffers weight_u, weight_v.
        #expect(layer.namedParameters().map(\.name) == ["weight_orig", "bias"])
        #expect(layer.namedBuffers().map(\.name) == ["weight_u", "weight_v"])
        layer.weight.assign(g("weight_orig"))
        (layer.namedParameters().first { $0.name == "bias" })!.parameter.assign(g("bias"))
        layer.spectralNorm!.u.assign(g("weight_u"))
        layer.spectralNorm!.v.assign(g("weight_v"))
        let x = g("x").requiringGrad()
        let y1 = layer(x)
        let y2 = layer(x)
        y2.backward(seed: g("r"))
        let errors = [("y1", Self.maxError(y1, g("y1"))), ("y2", Self.maxError(y2, g("y2"))),
                      ("grad_weight_orig", Self.maxError(layer.weight.grad!, g("grad_weight_orig"))),
                      ("grad_x", Self.maxError(x.grad!, g("grad_x"))),
                      ("u_after", Self.maxError(layer.spectralNorm!.u.value, g("u_after"))),
                      ("v_after", Self.maxError(layer.spectralNorm!.v.value, g("v_after")))]
        layer.setTraining(false)
        let yEval = withoutGrad { layer(g("x")) }
        let all = errors + [("y_eval", Self.maxError(yEval, g("y_eval")))]
        for (what, e) in all { #expect(e < 2e-5, "\(name) \(what): relative error \(e)") }
        print("spectral norm vs PyTorch, \(name): " + all.map { "\($0.0) \(String(format: "%.1e", $0.1))" }.joined(separator: ", "))
    }
}

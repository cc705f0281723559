import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Imaging
import NN
import Tensors

/// Every preset's generator exported to ONNX, checked by `onnx.checker` and run by onnxruntime on
/// fixed latents: the same images as the `Sampler` (what `swiftgan sample` runs) within 1e-4.
@Suite(.serialized) struct ONNXExportTests {
    static let runner = """
    import sys, json, numpy as np, onnx, onnxruntime as ort
    model, z, expected = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3])
    onnx.checker.check_model(onnx.load(model), full_check=True)
    session = ort.InferenceSession(model, providers=['CPUExecutionProvider'])
    feeds = {'z': z}
    if len(sys.argv) > 4: feeds['class'] = np.load(sys.argv[4]).astype(np.int64)
    out = session.run(None, feeds)[0]
    inputs = [(i.name, i.shape, i.type) for i in session.get_inputs()]
    print(json.dumps({'shape': list(out.shape), 'dtype': str(out.dtype), 'error': float(np.abs(out.astype(np.float64) - expected).max()),
                      'inputs': [[n, [str(d) for d in s], t] for n, s, t in inputs]}))
    """

    struct Result: Decodable { var shape: [Int]; var dtype: String; var error: Double; var inputs: [[Value]]
        enum Value: Decodable {
            case text(String), list([String])
            init(from d: Decoder) throws { let c = try d.singleValueContainer(); if let s = try? c.decode(String.self) { self = .text(s) } else { self = .list(try c.decode([String].self)) } }
        }
    }

    func check(_ c: ModelConfig, options: ONNXExport.Options = .init(), name: String) throws -> Result {
        let (g, _) = Models.make(c, rng: RandomGenerator(seed: 5))
        // Weights at the scale that keeps activations O(1) (the presets' N(0, 0.02) would make the
        // images nearly flat, and an absolute comparison meaningless); batch-norm tables varied.
        let rng = RandomGenerator(seed: 9)
        for (name, p) in g.namedParameters() {
            let s = p.shape
            if s.count >= 2 && !(g.namedModules().contains { $0.module is ConditionalBatchNorm && name.hasPrefix($0.name + ".") }) {
                let fanIn = Float(p.value.count / (s.count == 4 && name.contains("main") ? max(s[0], s[1]) : s[0]))
                p.assign(Tensor.randomNormal(s, using: rng) * (1.5 / fanIn.squareRoot()))
            } else {
                p.assign(p.value + Tensor.randomNormal(s, using: rng) * 0.2)
            }
        }
        let classes = c.isConditional ? Tensor.oneHot((0..<5).map { Int32($0 % c.classes) }, classes: c.classes) : nil
        // Two training-mode passes move the running statistics away from (0, 1).
        for s in 0..<2 {
            let z = c.noise(5, using: RandomGenerator(seed: UInt64(10 + s)))
            _ = withoutGrad { classes.map { g(z, classes: $0) } ?? g(z) }
        }
        let dir = scratch("onnx-\(name)")
        let z = c.noise(5, using: RandomGenerator(seed: 3))
        let images = Sampler(generator: g, config: c).generate(z, classes: classes)
        var expected = images.scalars
        if options.uint8 { expected = expected.map { Float(Image.byte(fromSigned: $0)) } }
        try NPY.encode(z.scalars, shape: [5, c.latent]).write(to: URL(fileURLWithPath: dir + "/z.npy"))
        try NPY.encode(expected, shape: images.shape).write(to: URL(fileURLWithPath: dir + "/expected.npy"))
        var args = [dir + "/g.onnx", dir + "/z.npy", dir + "/expected.npy"]
        if c.isConditional {
            try NPY.encode((0..<5).map { Float($0 % c.classes) }, shape: [5]).write(to: URL(fileURLWithPath: dir + "/class.npy"))
            args.append(dir + "/class.npy")
        }
        try ONNXExport.write(g, to: args[0], options: options)
        let r = try JSONDecoder().decode(Result.self, from: Data(try python(Self.runner, args).utf8))
        let scale = expected.map(abs).max() ?? 0
        print("ONNX \(name): onnxruntime vs Sampler max abs difference \(r.error), largest value \(scale)")
        // FastGAN's spectrally normalised G draws fainter images from random weights: compared to 1e-6 below.
        #expect(scale > (options.uint8 ? 100 : c.preset == .fastgan ? 0.05 : 0.5), "\(name): images too flat to compare (largest |value| \(scale))")
        #expect(r.shape == images.shape, "\(name)")
        return r
    }

    @Test(arguments: [("mlp", ModelPreset.mlp, 28, 1), ("dcgan28", .dcgan, 28, 1), ("dcgan32", .dcgan, 32, 3), ("dcgan64", .dcgan, 64, 3),
                      ("catdcgan", .catdcgan, 128, 3), ("sngan28", .sngan, 28, 1), ("sngan64", .sngan, 64, 3),
                      ("fastgan32", .fastgan, 32, 3), ("fastgan64", .fastgan, 64, 3), ("fastgan128", .fastgan, 128, 3)])
    func everyPresetRunsInONNXRuntime(_ name: String, _ preset: ModelPreset, _ size: Int, _ channels: Int) throws {
        let c = ModelConfig(preset: preset, imageSize: size, channels: channels, latent: 12, width: 4)
        let r = try check(c, name: name)
        // FastGAN's graph (Resize, Slice, AveragePool and the excitations' Mul) within 1e-6 of its fainter images.
        #expect(r.error < (preset == .fastgan ? 1e-6 : 1e-4) && r.dtype == "float32", "\(name): \(r.error)")
    }

    @Test func conditionalUint8AndFixedBatch() throws {
        for (size, name) in [(28, "cond28"), (64, "cond64")] {
            let c = ModelConfig(preset: .dcgan, imageSize: size, channels: 1, latent: 12, width: 4, classNames: ["a", "b", "c"])
            let r = try check(c, name: name)
            #expect(r.error < 1e-4, "\(name): \(r.error)")
            guard case .text(let first) = r.inputs[1][0] else { Issue.record("no class input"); continue }
            #expect(first == "class")
        }
        let c = ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 12, width: 4)
        let bytes = try check(c, options: .init(batch: .fixed(5), uint8: true), name: "uint8")
        // torchvision's rounding happens in float32 on both sides; a value on a .5 boundary may round apart.
        #expect(bytes.dtype == "uint8" && bytes.error <= 1, "uint8: \(bytes.error)")
        if case .list(let dims) = bytes.inputs[0][1] { #expect(dims == ["5", "12"]) }
    }
}

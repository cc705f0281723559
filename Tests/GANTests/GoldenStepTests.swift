import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import NN
import Tensors

/// One training step of the 28×28 DCGAN preset (width 8, latent 16, batch 4) against PyTorch, in
/// the manner of llm.c's test: from the same weights, batch and noise, every layer's activations,
/// both losses, every parameter's gradient, both optimizers' Adam moments and the batch norms'
/// running statistics after the step. The values were dumped once by
/// `Fixtures/golden/dcgan28_step.py` (kept beside them, with how to run it).
@Suite struct GoldenStepTests {
    static let directory = ConfigurationTests.fixtures + "/golden"

    /// Tolerances: 5e-5 of the scale for activations and statistics, 1e-5 for the losses, 1e-4 for
    /// gradients and moments — 3–10× what this machine measures (float32 sums in another order than
    /// PyTorch's; another CPU's kernels add their own), while a wrong rule is off by 1e-3 or more
    /// (a 1% change of one bias gradient: 2.5e-3).
    ///
    /// Each tensor compared as max |ours − PyTorch| ≤ tolerance · scale + allowance, where the scale
    /// is the tensor's own max |PyTorch|, or that of its whole family (all of a network's gradients)
    /// when given; and a plain report of every comparison.
    ///
    /// Families matter for the biases of convolutions followed by batch norm: their true gradient
    /// is 0 (the norm subtracts the mean), so both frameworks return rounding noise (~1e-6 here),
    /// which only the scale of the network's other gradients can judge.
    struct Report {
        let golden: [String: Tensor]
        var lines: [String] = [], failures: [String] = [], worst = 0.0

        /// Max |value| over the golden tensors whose names start with `prefix` and end with `suffix`.
        func scale(prefix: String, suffix: String = "") -> Double {
            golden.filter { $0.key.hasPrefix(prefix) && $0.key.hasSuffix(suffix) }
                .map { Double($0.value.scalars.map { abs($0) }.max() ?? 0) }.max() ?? 0
        }

        mutating func check(_ name: String, _ ours: Tensor, tolerance: Double, scale family: Double = 0, allowance: Double = 0) {
            guard let reference = golden[name] else { failures.append("\(name): not in the golden file"); return }
            guard reference.shape == ours.shape || reference.count == ours.count else {
                failures.append("\(name): shape \(ours.shape), PyTorch's \(reference.shape)"); return
            }
            let a = ours.scalars, b = reference.scalars
            let scale = max(Double(b.map { abs($0) }.max() ?? 0), family)
            let diff = Double(zip(a, b).map { abs($0 - $1) }.max() ?? 0)
            let relative = max(diff - allowance, 0) / max(scale, 1e-12)
            worst = max(worst, relative)
            let ok = relative <= tolerance
            lines.append(String(format: "%@ %-44@ max|Δ| %.2e  scale %.2e  relative %.2e", ok ? "ok  " : "FAIL", name, diff, scale, relative))
            if !ok { failures.append(name) }
        }

        /// Every parameter's gradient of `module` (`grad.TAG.NAME`, on the scale of all of them) and
        /// its optimizer's Adam moments (`adam.TAG.NAME.exp_avg`, `.exp_avg_sq`, each on its family's scale).
        mutating func checkNetwork(_ tag: String, _ module: Module, _ optimizer: Adam) throws {
            let gradients = scale(prefix: "grad.\(tag).")
            for (name, p) in module.namedParameters() {
                check("grad.\(tag).\(name)", try #require(p.grad, "\(name) has no gradient"), tolerance: 1e-4, scale: gradients)
            }
            for (name, t) in optimizer.stateTensors() where name != "step" {
                let suffix = name.hasSuffix("_sq") ? "_sq" : "exp_avg"
                check("adam.\(tag).\(name)", t, tolerance: 1e-4, scale: scale(prefix: "adam.\(tag).", suffix: suffix))
            }
        }
    }

    static func model() throws -> GANStep<GANGenerator, GANDiscriminator> {
        let config = TrainingConfig(model: ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 16, width: 8),
                                    dataPath: "golden")
        let gan = GANStep(config: config)
        try gan.generator.load(from: directory + "/generator.safetensors")
        try gan.discriminator.load(from: directory + "/discriminator.safetensors")
        return gan
    }

    @Test func oneStepOfTheDCGAN28MatchesPyTorch() throws {
        let golden = try SafeTensors(contentsOf: Self.directory + "/step.safetensors").allTensors()
        var report = Report(golden: golden)
        let real = try #require(golden["input.real"]), noise = try #require(golden["input.noise"])

        // Activations, layer by layer, on a copy of the networks: a training-mode forward pass
        // updates batch-norm statistics, which the step below must see untouched.
        let probe = try Self.model()
        var x = noise
        for (i, layer) in probe.generator.main.layers.enumerated() {
            x = layer(x)
            report.check("act.g.\(i)", x, tolerance: 5e-5)
        }
        for (tag, input) in [("d_real", real), ("d_fake", x.detached)] {
            var y = input
            for (i, layer) in probe.discriminator.main.layers.enumerated() {
                y = layer(y)
                report.check("act.\(tag).\(i)", y, tolerance: 5e-5)
            }
        }

        // The step itself, in its two halves (what `GANStep.callAsFunction` does), so that D's
        // gradients can be read before G's half freezes D (which drops them).
        let gan = try Self.model()
        let fake = gan.generator(noise)
        let d = try gan.updateDiscriminator(real: real, fake: fake)
        report.check("loss.d", Tensor(d.lossD), tolerance: 1e-5)
        try report.checkNetwork("d", gan.discriminator, gan.optimizerD)
        let lossG = try gan.updateGenerator(fake: fake)
        report.check("loss.g", Tensor(lossG), tolerance: 1e-5)
        try report.checkNetwork("g", gan.generator, gan.optimizerG)
        // D's third pass (in G's half) sees the biases after Adam's first step, which moves each by
        // ±lr·g/(|g|+ε) ≈ ±lr whatever |g| is: for the zero-gradient biases before batch norm the
        // sign is the sign of rounding noise, and batch norm's running mean takes momentum × that
        // bias. So D's running means may differ by up to 2 · momentum · lr.
        for (tag, module) in [("d", gan.discriminator as Module), ("g", gan.generator)] {
            for (name, b) in module.namedBuffers() {
                let noiseSignedBias = tag == "d" && name.hasSuffix("running_mean") ? 2 * 0.1 * 2e-4 : 0
                report.check("after.\(tag).\(name)", b.value, tolerance: 5e-5, allowance: noiseSignedBias)
            }
        }
        print("Golden step (DCGAN 28, width 8, batch 4) against PyTorch:\n" + report.lines.joined(separator: "\n")
              + String(format: "\n%d compared, %d failed, worst relative difference %.2e", report.lines.count,
                       report.failures.count, report.worst))
        #expect(report.failures.isEmpty, "differs from PyTorch: \(report.failures)")
        #expect(report.lines.count == golden.count - 2, "every golden tensor but the inputs is compared")
    }
}

/// One training step of the FastGAN preset at 32×32 (width 4, latent 12, batch 4, no augmentation)
/// against PyTorch: hinge loss, spectral norm on every convolution of both networks (one power
/// iteration per forward pass in training mode, as `torch.nn.utils.spectral_norm`), skip-layer
/// excitation, GLU, and D's reconstruction loss from the same pass as its judgement of the real
/// batch — both losses and the reconstruction's, every gradient, Adam's moments, and every buffer
/// after the step (running statistics, spectral norm's u and v). Dumped once by
/// `Fixtures/golden/fastgan_step.py`.
@Suite struct GoldenFastGANStepTests {
    @Test func oneStepOfFastGANMatchesPyTorch() throws {
        let directory = GoldenStepTests.directory
        let golden = try SafeTensors(contentsOf: directory + "/fastgan-step.safetensors").allTensors()
        var report = GoldenStepTests.Report(golden: golden)
        let real = try #require(golden["input.real"]), noise = try #require(golden["input.noise"])
        var config = TrainingConfig(model: ModelConfig(preset: .fastgan, imageSize: 32, channels: 3, latent: 12, width: 4), dataPath: "golden")
        config.augment = []
        let gan = GANStep(config: config)
        try gan.generator.load(from: directory + "/fastgan-generator.safetensors")
        try gan.discriminator.load(from: directory + "/fastgan-discriminator.safetensors")
        #expect(gan.loss == .hinge && gan.reconstructionWeight == 1 && gan.augment.isEmpty)

        let fake = gan.generator(noise)
        let d = try gan.updateDiscriminator(real: real, fake: fake)
        report.check("loss.d", Tensor(d.lossD), tolerance: 1e-5)
        report.check("loss.recon", Tensor(try #require(d.reconstruction)), tolerance: 1e-5)
        try report.checkNetwork("d", gan.discriminator, gan.optimizerD)
        let lossG = try gan.updateGenerator(fake: fake)
        report.check("loss.g", Tensor(lossG), tolerance: 1e-5)
        try report.checkNetwork("g", gan.generator, gan.optimizerG)
        for (tag, module) in [("d", gan.discriminator as Module), ("g", gan.generator)] {
            for (name, b) in module.namedBuffers() { report.check("after.\(tag).\(name)", b.value, tolerance: 5e-5) }
        }
        print("Golden step (FastGAN 32, width 4, batch 4) against PyTorch:\n" + report.lines.joined(separator: "\n")
              + String(format: "\n%d compared, %d failed, worst relative difference %.2e", report.lines.count,
                       report.failures.count, report.worst))
        #expect(report.failures.isEmpty, "differs from PyTorch: \(report.failures)")
        #expect(report.lines.count == golden.count - 2, "every golden tensor but the inputs is compared")
    }
}

/// One discriminator step with each gradient penalty against PyTorch's
/// `torch.autograd.grad(create_graph=True)`: R1 and R2 (bce loss, γ 10) and WGAN-GP (λ 10), on the
/// 28×28 DCGAN preset's discriminator (batch norm included) with the golden weights. The values
/// were dumped once by `Fixtures/golden/penalties.py` (kept beside them, with how to run it):
/// the total loss, the weighted penalty and every parameter's gradient of the whole loss.
@Suite(.serialized) struct GoldenPenaltyTests {
    @Test(arguments: ["r1", "r2", "wgan"])
    func oneDiscriminatorStepWithThePenaltyMatchesPyTorch(_ variant: String) throws {
        let golden = try SafeTensors(contentsOf: GoldenStepTests.directory + "/penalties.safetensors").allTensors()
        var report = GoldenStepTests.Report(golden: golden)
        let real = try #require(golden["input.real"]), fake = try #require(golden["input.fake"])
        let gan = try GoldenStepTests.model()
        switch variant {
        case "r1": gan.penalties = GradientPenalties(r1: 10)
        case "r2": gan.penalties = GradientPenalties(r2: 10)
        default:
            gan.loss = .wganGP
            gan.penalties = GradientPenalties(wgan: 10)
            gan.interpolationWeights = try #require(golden["input.epsilon"])
        }
        let d = try gan.updateDiscriminator(real: real, fake: fake)
        report.check("\(variant).loss_d", Tensor(d.lossD), tolerance: 1e-5)
        report.check("\(variant).penalty", Tensor(try #require(d.penalty)), tolerance: 1e-5)
        let scale = report.scale(prefix: "\(variant).grad.")
        for (name, p) in gan.discriminator.namedParameters() {
            report.check("\(variant).grad.\(name)", try #require(p.grad, "\(name) has no gradient"), tolerance: 1e-4, scale: scale)
        }
        print("Golden \(variant) step (DCGAN 28 discriminator, width 8, batch 4) against PyTorch:\n" + report.lines.joined(separator: "\n")
              + String(format: "\n%d compared, %d failed, worst relative difference %.2e", report.lines.count, report.failures.count, report.worst))
        #expect(report.failures.isEmpty, "differs from PyTorch: \(report.failures)")
        #expect(report.lines.count == golden.keys.filter { $0.hasPrefix(variant + ".") }.count, "every golden tensor of \(variant) is compared")
        #expect(d.penalty! > 0.01 * d.lossD, "the penalty matters in this step: \(d.penalty!) of \(d.lossD)")
    }
}

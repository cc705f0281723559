import Foundation
import RunFormat
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Datasets
import NN
import Tensors

@Suite(.serialized) struct TrainerTests {
    /// Every real image has a bright square in one place. At initialisation the generator's
    /// images are not brighter there; after training they are.
    @Test func theGeneratorLearnsWhereTheSquareIs() throws {
        var config = tinyConfig(epochs: 12)
        config.batchSize = 32
        let (before, after) = try squareContrastBeforeAndAfterTraining(config, directory: "learn")
        #expect(abs(before) < 0.2, "contrast before training \(before)")
        #expect(after > 0.7, "contrast after training \(after)")
    }

    /// FastGAN with its recipe (hinge loss, spectral norm in G and D, DiffAugment, EMA, D's
    /// reconstruction): it learns where the square is, and a resumed run is the same computation
    /// bitwise — weights, batch-norm statistics and spectral norm's vectors.
    @Test func fastGANLearnsAndResumesBitwise() throws {
        var config = tinyConfig(preset: .fastgan, epochs: 12)
        config.batchSize = 32
        config.learningRateG = 2e-4
        config.learningRateD = 2e-4
        var metrics = ""
        let (before, after) = try squareContrastBeforeAndAfterTraining(config, directory: "fastgan-learn") { metrics = $0.directory.path + "/metrics.jsonl" }
        #expect(abs(before) < 0.2, "contrast before training \(before)")
        #expect(after > 0.5, "contrast after training \(after)")
        // D's decoder learns to reconstruct the real images: its loss, logged, falls.
        let lines = try String(contentsOfFile: metrics, encoding: .utf8)
            .split(separator: "\n").map { try JSONDecoder().decode(MetricsLine.self, from: Data($0.utf8)) }
        let reconstruction = lines.compactMap(\.reconstruction)
        print("fastgan on bright squares: contrast \(before) → \(after); reconstruction loss \(reconstruction.first ?? .nan) → \(reconstruction.last ?? .nan)")
        #expect(reconstruction.count > 10 && reconstruction.last! < 0.7 * reconstruction.first!, "\(reconstruction)")

        let data = brightSquares(64)
        let straight = try Trainer(config: tinyConfig(preset: .fastgan, epochs: 2), dataset: data, runDirectory: scratch("fastgan-straight"))
        _ = try straight.run()
        let dir = scratch("fastgan-resumed")
        _ = try Trainer(config: tinyConfig(preset: .fastgan, epochs: 1), dataset: data, runDirectory: dir).run()
        let second = try Trainer.resume(runDirectory: dir, dataset: data, epochs: 2)
        _ = try second.run()
        #expect(second.state.step == straight.state.step && straight.state.step == 8)
        for (a, b) in zip(straight.generator.namedParameters() + straight.discriminator.namedParameters(),
                          second.generator.namedParameters() + second.discriminator.namedParameters()) {
            #expect(a.parameter.value.scalars == b.parameter.value.scalars, "\(a.name)")
        }
        for (a, b) in zip(straight.generator.namedBuffers() + straight.discriminator.namedBuffers(),
                          second.generator.namedBuffers() + second.discriminator.namedBuffers()) {
            #expect(a.buffer.value.scalars == b.buffer.value.scalars, "\(a.name)")
        }
    }

    /// Two epochs straight, or one epoch then a resume for the second: bitwise the same weights.
    @Test func resumingIsTheSameComputation() throws {
        let data = brightSquares(64)
        let straight = try Trainer(config: tinyConfig(epochs: 2), dataset: data, runDirectory: scratch("straight"))
        _ = try straight.run()
        let dir = scratch("resumed")
        let first = try Trainer(config: tinyConfig(epochs: 1), dataset: data, runDirectory: dir)
        _ = try first.run()
        let second = try Trainer.resume(runDirectory: dir, dataset: data, epochs: 2)
        #expect(second.state.epoch == 1 && second.state.step == 4)
        _ = try second.run()
        #expect(second.state.step == straight.state.step)
        for (a, b) in zip(straight.generator.parameters + straight.discriminator.parameters,
                          second.generator.parameters + second.discriminator.parameters) {
            #expect(a.value.scalars == b.value.scalars)
        }
        for (a, b) in zip(straight.generator.namedBuffers(), second.generator.namedBuffers()) {
            #expect(a.buffer.value.scalars == b.buffer.value.scalars, "\(a.name)")
        }
        // And an interrupted epoch resumes mid-epoch just as well.
        let midDir = scratch("mid")
        let mid = try Trainer(config: tinyConfig(epochs: 2), dataset: data, runDirectory: midDir)
        let outcome = try mid.run(shouldStop: { mid.state.step == 6 })
        guard case .interrupted = outcome else { Issue.record("expected an interruption, got \(outcome)"); return }
        #expect(mid.state.step == 6 && mid.state.batchInEpoch == 2)
        let rest = try Trainer.resume(runDirectory: midDir, dataset: data)
        _ = try rest.run()
        #expect(rest.generator.parameters.map { $0.value.scalars } == straight.generator.parameters.map { $0.value.scalars })
    }

    /// A time budget (`maxMinutes`) ends the run within one step of it — wall clock, grids and
    /// checkpoints included — as a finished run (checkpoint, final grid), whatever the epochs; the
    /// spent time is in the checkpoint, so a resume with a larger budget trains only the rest,
    /// and one with the same budget trains nothing more.
    @Test func aTimeBudgetEndsTheRunWithinAStepAndResumesTheRest() throws {
        let data = brightSquares(64)
        var config = tinyConfig(epochs: TrainingSettings.unlimitedEpochs)
        config.maxMinutes = 1.5 / 60
        let dir = scratch("budget")
        let trainer = try Trainer(config: config, dataset: data, runDirectory: dir)
        var stepTimes: [Double] = [], last = Date(), messages: [String] = []
        let outcome = try trainer.run(progress: { _ in stepTimes.append(Date().timeIntervalSince(last)); last = Date() },
                                      message: { messages.append($0) })
        guard case .finished(let checkpoint) = outcome else { Issue.record("expected a finished run, got \(outcome)"); return }
        let spent = trainer.state.elapsedSeconds, step = stepTimes.max() ?? 0
        #expect(spent >= 1.5 && spent < 1.5 + step + 0.05, "spent \(spent) s of 1.5 (longest step \(step) s)")
        #expect(trainer.state.step > 4, "\(trainer.state.step) steps")
        #expect(messages.contains { $0.hasPrefix("the time budget of 0.025 minutes is spent") }, "\(messages)")
        #expect(FileManager.default.fileExists(atPath: dir + "/samples/final.png"))
        #expect(try Checkpoint.readState(checkpoint).elapsedSeconds == spent)
        // The same budget again: nothing left to train.
        let again = try Trainer.resume(runDirectory: dir, dataset: data)
        let stepsBefore = again.state.step
        _ = try again.run()
        #expect(again.state.step == stepsBefore)
        // A larger budget: only the rest (another 1.5 s).
        let more = try Trainer.resume(runDirectory: dir, dataset: data, maxMinutes: 3 / 60)
        _ = try more.run()
        #expect(more.state.step > stepsBefore && more.state.elapsedSeconds >= 3 && more.state.elapsedSeconds < 3 + step + 0.05 + 0.5,
                "\(more.state.elapsedSeconds) s")
    }

    @Test func aCrashDuringACheckpointLeavesThePreviousOneLatest() throws {
        let data = brightSquares(64)
        let dir = scratch("crash")
        let trainer = try Trainer(config: tinyConfig(epochs: 1), dataset: data, runDirectory: dir)
        _ = try trainer.run()
        let good = Checkpoint.list(dir + "/checkpoints")
        #expect(good.count == 2)  // the initial state and the end of the epoch
        // More training, then a checkpoint write that dies after two of its four files.
        _ = try trainer.trainStep(Tensor.zeros([16, 1, 32, 32]))
        #expect(throws: CheckpointError.self) {
            try Checkpoint.write(state: trainer.state, trainer.gan, in: dir + "/checkpoints", keep: 3, name: nil, failAfterFiles: 2)
        }
        #expect(Checkpoint.list(dir + "/checkpoints") == good)
        #expect(try Checkpoint.resolve(dir) == good.last)
        let resumed = try Trainer.resume(runDirectory: dir, dataset: data)
        #expect(resumed.state.step == 4)
    }

    @Test func checkpointRoundTripsThroughTheSampler() throws {
        let data = brightSquares(64)
        let dir = scratch("roundtrip")
        let trainer = try Trainer(config: tinyConfig(epochs: 1), dataset: data, runDirectory: dir)
        _ = try trainer.run()
        let sampler = try Sampler(checkpoint: dir)
        let z = sampler.noise(count: 8, seed: 5)
        let ours = Sampler(generator: trainer.generator, config: trainer.config.model).generate(z)
        #expect(sampler.generate(z).scalars == ours.scalars)
        #expect(sampler.images(count: 3, seed: 1) == sampler.images(count: 3, seed: 1))
        #expect(sampler.interpolate(from: 1, to: 2, steps: 5).count == 5)
        // The interpolation's ends are the seeds' own images.
        #expect(sampler.interpolate(from: 1, to: 2, steps: 3)[0] == sampler.images(count: 1, seed: 1)[0])
    }

    /// One-sided label smoothing and separate learning rates act for real.
    @Test func labelSmoothingAndTwoLearningRatesAreApplied() throws {
        let data = brightSquares(32)
        func oneStep(_ edit: (inout TrainingConfig) -> Void) throws -> (g: [[Float]], d: [[Float]], g0: [[Float]], d0: [[Float]]) {
            var c = tinyConfig()
            edit(&c)
            let t = try Trainer(config: c, dataset: data, runDirectory: scratch("knobs-\(UUID().uuidString)"))
            let g0 = t.generator.parameters.map { $0.value.scalars }, d0 = t.discriminator.parameters.map { $0.value.scalars }
            _ = try t.trainStep(Batcher(data, batchSize: 16, seed: 1).epoch(0).next()!.images)
            return (t.generator.parameters.map { $0.value.scalars }, t.discriminator.parameters.map { $0.value.scalars }, g0, d0)
        }
        func maxChange(_ a: [[Float]], _ b: [[Float]]) -> Float { zip(a, b).flatMap { zip($0, $1).map { abs($0 - $1) } }.max()! }
        // Adam's first step moves each weight by lr·g/(|g|+ε) ≈ lr: the two rates show directly.
        let r = try oneStep { $0.learningRateG = 1e-3; $0.learningRateD = 1e-5 }
        #expect(abs(maxChange(r.g, r.g0) - 1e-3) < 1e-4, "G moved \(maxChange(r.g, r.g0))")
        #expect(abs(maxChange(r.d, r.d0) - 1e-5) < 1e-6, "D moved \(maxChange(r.d, r.d0))")
        let smooth = try oneStep { $0.realLabel = 0.9 }, hard = try oneStep { $0.realLabel = 1 }
        #expect(smooth.d != hard.d, "the real label must change the discriminator's update")
    }

    /// A state.json written before the evaluation settings existed still loads, with their defaults.
    @Test func olderCheckpointStateStillDecodes() throws {
        var state = TrainingState(config: tinyConfig())
        (state.epoch, state.step, state.adamStepsG, state.adamStepsD, state.noiseSeed, state.trainingSeconds) = (1, 4, 4, 4, 1, 1)
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(state)) as! [String: Any]
        var config = object["config"] as! [String: Any]
        config["evalEvery"] = nil
        config["evalCount"] = nil
        // Written before conditional models: no class names, so an unconditional model.
        var model = config["model"] as! [String: Any]
        model["classNames"] = nil
        config["model"] = model
        object["config"] = config
        let decoded = try JSONDecoder().decode(TrainingState.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded.config.evalEvery == 0 && decoded.config.evalCount == 2000 && decoded.step == 4)
        #expect(decoded.config.model == state.config.model && !decoded.config.model.isConditional)
    }

    @Test func datasetsOfTheWrongSizeAreRefusedWithSizesNamed() {
        let data = brightSquares(32, size: 16)
        #expect { try Trainer(config: tinyConfig(), dataset: data, runDirectory: scratch("size")) } throws: {
            "\($0)" == "bright-squares: images are 16×16, the model makes 32×32"
        }
    }

    @Test func nonFiniteLossStopsWithTheStepNamed() throws {
        var c = tinyConfig()
        c.learningRateD = 1e30
        c.learningRateG = 1e30
        let t = try Trainer(config: c, dataset: brightSquares(64), runDirectory: scratch("nan"))
        #expect { _ = try t.run() } throws: { error in
            guard case .nonFinite(let step, _, _) = error as? TrainingError else { return false }
            return step >= 1 && "\(error)".contains("Try lower learning rates")
        }
    }
}

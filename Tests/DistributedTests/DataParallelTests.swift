import Datasets
import Foundation
import Testing
import TestSupport
@testable import Distributed
@testable import GANModels
@testable import GANTraining
import NN
import Tensors

/// Data parallelism without mpiexec: the ranks are threads of this process (`LocalCollective`,
/// taking turns at the engine). The mpiexec tests (swiftganTests.DistributedTests) are the
/// integration tests of the same code over MPI.
@Suite(.serialized) struct DataParallelTests {
    static let data = brightSquares(64, size: 28)

    static func config(sync: Bool = true, steps: Int = 6) -> TrainingConfig {
        var c = TrainingConfig(model: ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 8, width: 4), dataPath: "memory")
        c.batchSize = 16
        c.maxSteps = steps
        c.seed = 5
        c.sampleEvery = 0
        c.sampleCount = 16
        c.syncBatchNorm = sync
        return c
    }


    /// Every parameter and buffer of a trainer's networks, by name.
    static func tensors(_ t: Trainer) -> [String: [Float]] {
        var all: [String: [Float]] = [:]
        for (prefix, m) in [("generator.", t.generator as Module), ("discriminator.", t.discriminator)] {
            for p in m.namedParameters() { all[prefix + p.name] = p.parameter.value.scalars }
            for b in m.namedBuffers() { all[prefix + b.name] = b.buffer.value.scalars }
        }
        return all
    }

    /// Two ranks with synchronized batch norm compute what one process does on the whole batch:
    /// the ranks end bitwise equal to each other (same all-reduced gradients, same Adam steps) and
    /// equal to one process up to summation order. Left out, as in the mpiexec test: biases that a
    /// batch norm follows and that norm's running mean (their gradient is zero in exact arithmetic).
    @Test func twoRanksWithSyncBatchNormComputeWhatOneDoes() throws {
        let one = try Trainer(config: Self.config(), dataset: Self.data, runDirectory: scratch("dp-one") + "/run")
        _ = try one.run()
        let directory = scratch("dp-two") + "/run"
        let ranks = try LocalCollective.run(ranks: 2, takingTurns: true) { c -> [String: [Float]] in
            let trainer = try Trainer(config: Self.config(), dataset: Self.data, runDirectory: directory, dataParallel: DataParallel(c))
            _ = try trainer.run()
            #expect(trainer.state.worldSize == 2 && trainer.writes == (c.rank == 0))
            return Self.tensors(trainer)
        }
        #expect(ranks[0] == ranks[1], "the ranks' weights differ")
        let single = Self.tensors(one)
        let nullSpace: Set<String> = ["discriminator.main.2.bias", "discriminator.main.3.running_mean",
                                      "discriminator.main.5.bias", "discriminator.main.6.running_mean"]
        let (worst, worstName) = largestDifference(single, ranks[0], excluding: nullSpace)
        print("DataParallelTests: 2 thread ranks vs 1 process after 6 steps: largest difference \(worst) (\(worstName))")
        #expect(worst < 1e-5, "\(worstName): \(worst)")
        // Only rank 0 wrote the run: one checkpoint series, the state names 2 processes.
        let state = try Checkpoint.readState(try Checkpoint.resolve(directory))
        #expect(state.worldSize == 2 && state.step == 6)
    }

    /// The penalties' gradients are all-reduced with the rest: two ranks training R3GAN's recipe
    /// (rpgan, R1, R2) or WGAN-GP on an SNGAN (no batch norm in D; G's synchronized), with all three
    /// augmentations, compute what one process does on the whole batch — the per-image draws
    /// (DiffAugment's, WGAN-GP's ε) are made for the global batch and sliced.
    @Test(arguments: ["r3gan", "wgan-gp"])
    func twoRanksWithGradientPenaltiesComputeWhatOneDoes(_ recipe: String) throws {
        var c = Self.config(steps: 4)
        c.model = ModelConfig(preset: .sngan, imageSize: 28, channels: 1, latent: 8, width: 4)
        if recipe == "r3gan" { c.loss = .rpgan; c.r1 = 1; c.r2 = 1 } else { c.loss = .wganGP }
        c.augment = DiffAugment.Operation.allCases
        c.ema = 0
        let config = c
        let one = try Trainer(config: config, dataset: Self.data, runDirectory: scratch("dp-penalty-one-\(recipe)") + "/run")
        _ = try one.run()
        let directory = scratch("dp-penalty-two-\(recipe)") + "/run"
        let ranks = try LocalCollective.run(ranks: 2, takingTurns: true) { comm -> [String: [Float]] in
            let trainer = try Trainer(config: config, dataset: Self.data, runDirectory: directory, dataParallel: DataParallel(comm))
            _ = try trainer.run()
            return Self.tensors(trainer)
        }
        #expect(ranks[0] == ranks[1], "the ranks' weights differ")
        // Left out as in the test above: G's biases that a batch norm follows (Linear 0, transposed
        // convolutions 4 and 7) and those norms' running means — zero gradient in exact arithmetic.
        let nullSpace: Set<String> = ["generator.main.0.bias", "generator.main.2.running_mean", "generator.main.4.bias",
                                      "generator.main.5.running_mean", "generator.main.7.bias", "generator.main.8.running_mean"]
        let (worst, worstName) = largestDifference(Self.tensors(one), ranks[0], excluding: nullSpace)
        print("DataParallelTests: \(recipe) with DiffAugment, 2 thread ranks vs 1 process after 4 steps: largest difference \(worst) (\(worstName))")
        #expect(worst < 1e-5, "\(worstName): \(worst)")
    }

    /// Without synchronization each rank normalizes its own slice (as DDP does): the ranks still
    /// agree bitwise, and the run learns what one process learns only approximately.
    @Test func withoutSyncTheRanksStillAgree() throws {
        let directory = scratch("dp-nosync") + "/run"
        let ranks = try LocalCollective.run(ranks: 2, takingTurns: true) { c -> [String: [Float]] in
            let trainer = try Trainer(config: Self.config(sync: false), dataset: Self.data, runDirectory: directory,
                                      dataParallel: DataParallel(c))
            _ = try trainer.run()
            return Self.tensors(trainer)
        }
        // Running statistics are per rank (each normalizes its slice); every parameter agrees.
        for (name, x) in ranks[0] where !name.contains("running_") { #expect(x == ranks[1][name], "\(name)") }
    }

    /// A resumed job: rank 0 reads the run and ships its checkpoint to rank 1, which writes nothing
    /// and removes what it received; both continue from the same state.
    @Test func resumingShipsRankZerosCheckpoint() throws {
        let directory = scratch("dp-resume") + "/run"
        _ = try LocalCollective.run(ranks: 2, takingTurns: true) { c in
            _ = try Trainer(config: Self.config(steps: 3), dataset: Self.data, runDirectory: directory, dataParallel: DataParallel(c)).run()
        }
        let received = try LocalCollective.run(ranks: 2, takingTurns: true) { c -> (Int, String?) in
            let trainer = try Trainer.resume(runDirectory: directory, loadingData: { _ in Self.data }, maxSteps: 5,
                                             dataParallel: DataParallel(c))
            let step = trainer.state.step
            _ = try trainer.run()
            return (step, trainer.lastCheckpoint)
        }
        #expect(received.map(\.0) == [3, 3])
        // Rank 1's copy of the checkpoint (a temporary directory) is gone.
        let temporary = (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []
        #expect(!temporary.contains { $0.hasPrefix("swiftgan-rank-1-\(getpid())-") })
        #expect(try Checkpoint.readState(try Checkpoint.resolve(directory)).step == 5)
    }

    /// Copies left by ranks that were killed (their process gone) are removed by the next rank
    /// that receives one; a live process's copy stays.
    @Test func copiesOfKilledRanksAreRemoved() throws {
        let directory = scratch("dp-abandoned")
        let gone = try TestProcess("/bin/true", [])
        gone.finish(within: 30)
        let abandoned = directory + "/" + DataParallel.copyPrefix + "1-\(gone.pid)-deadbeef"
        let live = directory + "/" + DataParallel.copyPrefix + "1-1-cafebabe"  // PID 1 lives as long as the system
        for d in [abandoned, live] { try FileManager.default.createDirectory(atPath: d + "/checkpoints/step-00000003", withIntermediateDirectories: true) }
        DataParallel.removeAbandonedCopies(in: directory)
        #expect(!FileManager.default.fileExists(atPath: abandoned) && FileManager.default.fileExists(atPath: live))
    }

    /// Ranks holding different data are refused, each rank named with its image count.
    @Test func differentDatasetsAreRefused() throws {
        let outcomes = try LocalCollective.run(ranks: 2) { c -> String in
            let data = c.rank == 0 ? Self.data : brightSquares(48, size: 28)
            do { try DataParallel(c).checkSameData(data); return "accepted" } catch { return "\(error)" }
        }
        #expect(outcomes[0] == outcomes[1] && outcomes[0].hasPrefix("the processes' datasets differ (rank 0 on local: 64 images"),
                "\(outcomes)")
    }
}

import Foundation
import Testing
@testable import GANModels
@testable import GANTraining
import Tensors

/// Adaptive augmentation (`--ada`): DiffAugment's operations applied with a probability, the
/// controller that moves it, p rising where D learns a small set by heart, and resuming bitwise.
@Suite struct ADATests {
    /// p = 0 changes nothing; p = 1 is DiffAugment as it was (no extra draws); at p = 0.5 about
    /// half of the images are moved by translation, the others left exactly as they were.
    @Test func augmentationsApplyWithTheirProbability() {
        let rng = RandomGenerator(seed: 5)
        let x = Tensor.randomUniform([200, 3, 16, 16], low: -1, high: 1, using: rng)
        let all = DiffAugment(DiffAugment.Operation.allCases)
        #expect(all.apply(x, using: RandomGenerator(seed: 1), probability: 0).scalars == x.scalars)
        #expect(all.apply(x, using: RandomGenerator(seed: 1), probability: 1).scalars == all.apply(x, using: RandomGenerator(seed: 1)).scalars)
        let moved = DiffAugment([.translation]).apply(x, using: RandomGenerator(seed: 2), probability: 0.5).scalars
        let per = 3 * 16 * 16, xs = x.scalars
        let changed = (0..<200).filter { i in moved[(i * per)..<((i + 1) * per)] != xs[(i * per)..<((i + 1) * per)] }.count
        // Some of the chosen images draw the zero shift (1 in 25 at this size): a little under half change.
        #expect((70...115).contains(changed), "\(changed) of 200 images translated at p = 0.5")
    }

    /// The controller: up while r_t is above 0.6, down below, by batch / 20 000, within [0, 1].
    @Test func theControllerFollowsTheSignOfDsOutputs() {
        #expect(ADA.adjusted(0.5, realSign: 0.9, batch: 200) == 0.51)
        #expect(ADA.adjusted(0.5, realSign: 0.1, batch: 200) == 0.49)
        #expect(ADA.adjusted(0.5, realSign: 0.6, batch: 200) == 0.5)
        #expect(ADA.adjusted(0.001, realSign: -1, batch: 200) == 0 && ADA.adjusted(0.999, realSign: 1, batch: 200) == 1)
    }

    /// On 64 images D soon tells real from fake with confidence: p rises from 0, is logged in
    /// metrics.jsonl, and a run resumed halfway (p from its checkpoint) ends bitwise where the
    /// uninterrupted one does.
    @Test func pRisesOnASmallSetAndResumesBitwise() throws {
        let data = brightSquares(64)
        var config = tinyConfig(epochs: 12)
        config.ada = true
        config.logEvery = 10
        config.checkpointEvery = 0
        let straight = try Trainer(config: config, dataset: data, runDirectory: scratch("ada-straight"))
        _ = try straight.run()
        let p = try #require(straight.state.adaProbability)
        print("ADA: p \(p) after \(straight.state.step) steps on 64 images")
        #expect(p > 0.02, "p \(p) after \(straight.state.step) steps on 64 images")
        let lines = try String(contentsOfFile: straight.directory.path + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.contains { $0.contains("\"ada_p\"") }, "metrics.jsonl has no ada_p")

        var half = config
        half.epochs = 6
        let dir = scratch("ada-resumed")
        _ = try Trainer(config: half, dataset: data, runDirectory: dir).run()
        let rest = try Trainer.resume(runDirectory: dir, dataset: data, epochs: 12)
        #expect(rest.gan.augmentProbability == Float(rest.state.adaProbability!) && rest.state.adaProbability! > 0)
        _ = try rest.run()
        #expect(rest.state.adaProbability == p)
        #expect(rest.generator.parameters.map { $0.value.scalars } == straight.generator.parameters.map { $0.value.scalars })
        #expect(rest.discriminator.parameters.map { $0.value.scalars } == straight.discriminator.parameters.map { $0.value.scalars })
    }
}

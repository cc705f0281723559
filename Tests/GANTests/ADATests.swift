import Datasets
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

extension ADATests {
    /// StyleGAN2-ADA's point: the heuristic measures over-fitting, not the data. The same run for the
    /// same 700 steps rises on 32 images of soft blobs (each seen 350 times: D learns them by heart
    /// after about 400 steps) and stays low on 60 000 of the same kind (each seen once at most).
    @Test func pRisesOnASmallSetAndStaysLowOnALargeOne() throws {
        var config = tinyConfig(size: 28, epochs: 1)
        config.ada = true
        config.logEvery = 100
        config.checkpointEvery = 0
        config.maxSteps = 700
        var p: [Int: Double] = [:]
        for n in [32, 60_000] {
            var c = config
            c.epochs = (700 * 16 + n - 1) / n
            let trainer = try Trainer(config: c, dataset: blobImages(n, size: 28), runDirectory: scratch("ada-\(n)"))
            _ = try trainer.run()
            p[n] = try #require(trainer.state.adaProbability)
            print("ADA: p \(p[n]!) after \(trainer.state.step) steps on \(n) images")
        }
        // Measured: 0.136 and 0 (on the large set r_t stays under the 0.6 target throughout).
        #expect(p[32]! > 0.05 && p[60_000]! < 0.02, "p on 32 images \(p[32]!), on 60 000 \(p[60_000]!)")
    }
}

/// `n` images of three soft blobs each, at random places and brightness: a distribution a small
/// generator learns, in which each of a few dozen images is also easy to know by heart.
func blobImages(_ n: Int, size: Int = 32, seed: UInt64 = 12345) -> ImageDataset {
    var state = seed
    func uniform() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53)
    }
    var px = [UInt8](repeating: 0, count: n * size * size)
    for i in 0..<n {
        var image = [Double](repeating: 0, count: size * size)
        for _ in 0..<3 {
            let cx = uniform() * Double(size), cy = uniform() * Double(size)
            let sigma = 2 + 3 * uniform(), brightness = 0.4 + 0.6 * uniform()
            // A Gaussian is separable: a row profile times a column profile.
            let across = (0..<size).map { exp(-(Double($0) - cx) * (Double($0) - cx) / (2 * sigma * sigma)) }
            let down = (0..<size).map { brightness * exp(-(Double($0) - cy) * (Double($0) - cy) / (2 * sigma * sigma)) }
            for y in 0..<size { for x in 0..<size { image[y * size + x] += down[y] * across[x] } }
        }
        for j in 0..<(size * size) { px[i * size * size + j] = UInt8(min(255, 255 * image[j])) }
    }
    return ImageDataset(name: "blobs", count: n, height: size, width: size, channels: 1, pixels: px, labels: [Int32](repeating: 0, count: n))
}

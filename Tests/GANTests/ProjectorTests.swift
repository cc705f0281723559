import Foundation
import Imaging
import NN
import Testing
@testable import GANModels
@testable import GANTraining
import Tensors
import TestSupport

/// `Projector`: from pictures back to latents.
@Suite(.serialized) struct ProjectorTests {
    /// Runs trained once for the suite: unconditional (bright squares) and conditional (left/right).
    nonisolated(unsafe) static var runs: [Bool: (Trainer, String)] = [:]
    static func run(conditional: Bool = false) throws -> (Trainer, String) {
        if let run = runs[conditional] { return run }
        let made = try trained(conditional ? "projector-conditional" : "projector", conditional: conditional)
        runs[conditional] = made
        return made
    }

    /// Quick settings for a debug build: 2 restarts from 64 candidates.
    static var quick: Projector.Options {
        var o = Projector.Options()
        (o.steps, o.restarts, o.candidates) = (80, 2, 64)
        return o
    }

    /// A DCGAN trained briefly on bright squares, and its run directory.
    static func trained(_ name: String, conditional: Bool = false) throws -> (Trainer, String) {
        var config = conditional ? conditionalConfig(epochs: 3) : tinyConfig(epochs: 3)
        config.checkpointEvery = 1
        let dir = scratch(name)
        let trainer = try Trainer(config: config, dataset: conditional ? leftRightSquares(256) : brightSquares(256), runDirectory: dir)
        _ = try trainer.run()
        return (trainer, dir)
    }

    /// Pictures the generator drew from known latents come back: each within 1% mean absolute
    /// error, and the latents written to a file draw the same pictures bit for bit through a sampler
    /// loaded afresh (what `sample --noise` does).
    @Test func aGeneratedPictureIsRecovered() throws {
        let (_, dir) = try Self.run()
        let projector = try Projector(checkpoint: dir)
        let truth = projector.sampler.noise(count: 6, seed: 42)
        let targets = projector.sampler.generate(truth)
        let options = Self.quick
        var calls = 0
        let result = try projector.project(targets, options: options) { p in
            calls += 1
            #expect(p.images.shape[0] == 6 * options.restarts && p.losses.count == 6 * options.restarts)
            return true
        }
        #expect(calls == options.steps)
        print("recovered: pixel errors \(result.pixelErrors), perceptual \(result.perceptualDistances ?? [])")
        #expect(result.pixelErrors.allSatisfy { $0 <= 1e-2 }, "pixel errors \(result.pixelErrors)")
        // Better than the nearest of the pool it started from.
        let file = scratch("projector-recover-z") + "/z.npy"
        try projector.sampler.saveLatents(result.latents, to: file)
        let fresh = try Sampler(checkpoint: dir)
        #expect(fresh.generate(try fresh.latents(fromFile: file)).scalars == result.reconstructions.scalars)
        #expect(Projector.meanAbsoluteErrors(result.reconstructions, targets) == result.pixelErrors)
    }

    /// The optimisation does better than its starting points (the nearest of the pool), and the
    /// perceptual distance of a picture to itself is 0.
    @Test func optimisationImprovesOnThePoolAndDistancesAreDistances() throws {
        let (trainer, dir) = try Self.run()
        let projector = try Projector(checkpoint: dir)
        // Real training images, which the generator can only approximate.
        let targets = Tensor(trainer.dataset.pixels.prefix(4 * 32 * 32).map { Float($0) / 127.5 - 1 },
                             shape: [4, 1, 32, 32])
        var none = Self.quick
        none.steps = 1
        none.learningRate = 1e-6
        let some = Self.quick
        let start = try projector.project(targets, options: none)
        let end = try projector.project(targets, options: some)
        let (before, after) = (start.pixelErrors.reduce(0, +), end.pixelErrors.reduce(0, +))
        print("pool \(start.pixelErrors) → optimised \(end.pixelErrors)")
        #expect(after < 0.8 * before, "pixel error \(before) from the pool, \(after) optimised")
        let d = projector.discriminator!
        let same = Projector.perceptual(projector.features(d, targets), projector.features(d, targets)).scalars
        #expect(same.allSatisfy { $0 == 0 })
        let other = Projector.perceptual(projector.features(d, targets), projector.features(d, end.reconstructions)).scalars
        #expect(other.allSatisfy { $0 > 0 && $0.isFinite })
    }

    /// Stopping from the progress callback ends the projection with `.stopped`; the networks'
    /// modes and gradient flags are as they were.
    @Test func aProjectionStopsWhenAskedAndLeavesTheNetworksAsTheyWere() throws {
        let (trainer, _) = try Self.run()
        let g = trainer.samplingGenerator, d = trainer.discriminator
        g.setTraining(true)
        let projector = Projector(sampler: Sampler(generator: g, config: trainer.config.model), discriminator: d)
        let targets = projector.sampler.generate(projector.sampler.noise(count: 2, seed: 1))
        g.setTraining(true)
        let flags = (g.parameters + d.parameters).map(\.requiresGrad)
        #expect(throws: ProjectionError.stopped) { try projector.project(targets) { $0.step < 3 } }
        #expect(g.namedModules().contains { ($0.module as? ModeDependent)?.training == true })
        #expect((g.parameters + d.parameters).map(\.requiresGrad) == flags)
    }

    /// A conditional generator: under the true class, and searched over every class, a picture it
    /// drew is recovered; the class found draws it too.
    @Test func conditionalGeneratorsProjectUnderAClassOrSearchAll() throws {
        let (_, dir) = try Self.run(conditional: true)
        let projector = try Projector(checkpoint: dir)
        let truth = projector.sampler.noise(count: 3, seed: 7), labels: [Int32] = [0, 1, 1]
        let targets = projector.sampler.generate(truth, classes: .oneHot(labels, classes: 2))
        let options = Self.quick
        let given = try projector.project(targets, classes: .given(labels.map(Int.init)), options: options)
        #expect(given.labels == labels)
        #expect(given.pixelErrors.allSatisfy { $0 <= 1e-2 }, "under the true class: \(given.pixelErrors)")
        let searched = try projector.project(targets, classes: .search, options: options)
        print("searched: classes \(searched.labels ?? []), errors \(searched.pixelErrors)")
        #expect(searched.pixelErrors.allSatisfy { $0 <= 2e-2 }, "searched: \(searched.pixelErrors)")
        let redrawn = projector.sampler.generate(searched.latents, classes: .oneHot(searched.labels!, classes: 2))
        #expect(redrawn.scalars == searched.reconstructions.scalars)
    }
}

import Datasets
import Foundation
import Imaging
import NN
import Tensors

/// The training loop and its policy: which batch and noise each step gets, when to log, draw a
/// sample grid, evaluate and checkpoint, and how to stop and resume. The step itself is a
/// `GANStep`; the files are a `RunDirectory`'s; the checkpoint format is `Checkpoint`'s.
///
/// ```swift
/// let trainer = try Trainer(config: config, dataset: try DatasetLoader.load(config.dataPath), runDirectory: "runs/a")
/// _ = try trainer.run(progress: { print($0.step, $0.lossD) })
/// // later, or after Ctrl-C:
/// _ = try Trainer.resume(runDirectory: "runs/a", dataset: dataset).run()
/// ```
public final class Trainer {
    public let directory: RunDirectory
    public let gan: GANStep<GANGenerator, GANDiscriminator>
    public internal(set) var state: TrainingState
    public let dataset: ImageDataset
    /// Measures the generator every `evalEvery` epochs when set (it needs a labelled dataset).
    public var evaluator: Evaluator?
    let batcher: Batcher
    let fixedNoise: Tensor
    var history: [MetricsLine] = []
    var lastCheckpoint: String?
    var lastLossG: Float = .nan

    public var config: TrainingConfig { state.config }
    public var generator: GANGenerator { gan.generator }
    public var discriminator: GANDiscriminator { gan.discriminator }

    /// A new run in `runDirectory` (created; it must not hold another run).
    public convenience init(config: TrainingConfig, dataset: ImageDataset, runDirectory: String) throws {
        try config.check(dataset)
        let directory = try RunDirectory.create(at: runDirectory, config: config)
        try self.init(state: TrainingState(config: config), dataset: dataset, directory: directory, checkpoint: nil)
    }

    /// Continues the run in `runDirectory` from its latest checkpoint, optionally with more epochs
    /// or another step limit.
    public static func resume(runDirectory: String, dataset: ImageDataset, epochs: Int? = nil, maxSteps: Int? = nil) throws -> Trainer {
        let directory = RunDirectory(runDirectory)
        guard let latest = Checkpoint.list(directory.checkpointsDirectory).last else {
            throw CheckpointError.notFound(directory.checkpointsDirectory)
        }
        var state = try Checkpoint.readState(latest)
        if let epochs { state.config.epochs = epochs }
        if let maxSteps { state.config.maxSteps = maxSteps }
        try state.config.check(dataset)
        return try Trainer(state: state, dataset: dataset, directory: directory, checkpoint: latest)
    }

    init(state: TrainingState, dataset: ImageDataset, directory: RunDirectory, checkpoint: String?) throws {
        let c = state.config
        self.state = state
        self.dataset = dataset
        self.directory = directory
        gan = GANStep(config: c)
        batcher = Batcher(dataset, batchSize: c.batchSize, shuffle: true, dropLast: true, horizontalFlip: c.horizontalFlip, seed: c.seed)
        fixedNoise = c.model.noise(c.sampleCount, using: Generator(seed: Generator.derivedSeed(c.seed, 0x66697865)))
        if let checkpoint {
            // The saved state keeps its counters; the configuration may have been edited (epochs, steps).
            _ = try Checkpoint.restore(checkpoint, into: gan)
            lastCheckpoint = checkpoint
            history = directory.readHistory(upTo: state.step)
        }
    }

    /// Steps in the whole run.
    public var totalSteps: Int {
        let all = config.epochs * batcher.batchesPerEpoch
        return config.maxSteps.map { min($0, all) } ?? all
    }

    var unfinished: Bool { state.epoch < config.epochs && state.step < totalSteps }

    /// Trains until the configured epochs (or step limit) are done, or `shouldStop` returns true
    /// (checked after every step; the run then checkpoints and returns `.interrupted`).
    public func run(progress: (TrainingProgress) -> Void = { _ in }, message: (String) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> TrainingOutcome {
        let c = config
        let perEpoch = batcher.batchesPerEpoch
        var windowStart = Date(), windowImages = 0, rate = 0.0
        let metrics = try directory.metricsLog()
        while unfinished {
            let epochStart = Date()
            let batches = batcher.epoch(state.epoch, startingAt: state.batchInEpoch)
            for batch in batches {
                let stepStart = Date()
                let result = try trainStep(batch.images)
                state.step += 1
                state.batchInEpoch += 1
                state.trainingSeconds += Date().timeIntervalSince(stepStart)
                windowImages += batch.indices.count
                let elapsed = Date().timeIntervalSince(windowStart)
                if elapsed >= 2 || rate == 0 { rate = Double(windowImages) / max(elapsed, 1e-9); windowStart = Date(); windowImages = 0 }
                let remaining = Double(totalSteps - state.step) * Double(c.batchSize) / max(rate, 1e-9)
                let p = TrainingProgress(epoch: state.epoch, epochs: c.epochs, batch: state.batchInEpoch, batchesPerEpoch: perEpoch,
                                         step: state.step, totalSteps: totalSteps, lossD: result.lossD, lossG: lastLossG,
                                         dReal: result.dReal, dFake: result.dFake, imagesPerSecond: rate, etaSeconds: remaining)
                progress(p)
                if state.step % max(c.logEvery, 1) == 0 || state.step == 1 {
                    let line = MetricsLine(p, loaderWaitSeconds: batches.waitSeconds)
                    history.append(line)
                    metrics.append(line)
                }
                if c.sampleEvery > 0 && state.step % c.sampleEvery == 0 { try directory.writeSamples(sampleGrid(), .step(state.step)) }
                if state.step >= totalSteps { break }
                if shouldStop() { return .interrupted(checkpoint: try checkpoint()) }
            }
            if state.batchInEpoch >= perEpoch {
                state.epoch += 1
                state.batchInEpoch = 0
                try directory.writeSamples(sampleGrid(), .epoch(state.epoch))
                if c.evalEvery > 0, state.epoch % c.evalEvery == 0, let evaluator {
                    try evaluate(evaluator, metrics: metrics, message: message)
                }
                try directory.writeLossPlot(history, markers: state.collapseWarnings ?? [])
                message(String(format: "epoch %d/%d done in %.1f s; samples in %@", state.epoch, c.epochs,
                               Date().timeIntervalSince(epochStart), directory.samplesDirectory))
                if state.epoch % max(c.checkpointEvery, 1) == 0 && unfinished { message("checkpoint " + (try checkpoint())) }
            }
            if shouldStop() && unfinished { return .interrupted(checkpoint: try checkpoint()) }
        }
        let path = try checkpoint()
        try directory.writeSamples(sampleGrid(), .final)
        try directory.writeLossPlot(history, markers: state.collapseWarnings ?? [])
        try directory.writeProgressGIF()
        return .finished(checkpoint: path)
    }

    /// One `GANStep` on the batch `real` with the noise of the current step. (`run` calls it for
    /// each batch and then advances the step count.)
    @discardableResult
    public func trainStep(_ real: Tensor) throws -> GANStepResult {
        do {
            let result = try gan(real: real, noise: state.noise(count: real.shape[0], step: state.step))
            state.adamStepsD += 1
            if let lossG = result.lossG { lastLossG = lossG; state.adamStepsG += 1 }
            return result
        } catch .nonFiniteLoss(let network) {
            throw TrainingError.nonFinite(step: state.step + 1, network: network, lastCheckpoint: lastCheckpoint)
        }
    }

    /// Writes a checkpoint of the current state (`name`, or `step-NNNNNNNN`) and returns its path.
    @discardableResult
    public func checkpoint(name: String? = nil, failAfterFiles: Int? = nil) throws -> String {
        let path = try Checkpoint.write(state: state, gan, in: directory.checkpointsDirectory, keep: config.keepCheckpoints,
                                        name: name, failAfterFiles: failAfterFiles)
        if name == nil { lastCheckpoint = path }
        return path
    }

    /// The fixed noise batch through the generator in evaluation mode, as a grid.
    public func sampleGrid() -> Image {
        let images = Sampler(generator: generator, config: config.model).generate(fixedNoise)
        let m = config.model
        return Grid.make(images.scalars, count: images.shape[0], channels: m.channels, height: m.imageSize, width: m.imageSize,
                         columns: 8, padding: 2, scale: max(1, 64 / m.imageSize))
    }
}

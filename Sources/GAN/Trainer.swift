import Datasets
import Foundation
import Imaging
import NN
import TensorBoard
import Tensors

/// The training loop and its policy: which batch and noise each step gets, when to log, draw a
/// sample grid, evaluate and checkpoint (by epochs, steps or minutes, whichever is due first), and
/// how to stop and resume. A trainer holds its run directory's lock from its creation until `run`
/// returns (and again during a later `run`), so no other process can train the same run. The step itself is a
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
    /// The newest `step-` checkpoint of the run this trainer wrote or resumed from.
    public internal(set) var lastCheckpoint: String?
    var lastLossG: Float = .nan
    var lock: RunLock?
    var metrics: MetricsLog?
    /// The TensorBoard event file, open while `run` runs, and the step of the last grid logged to it.
    var events: EventWriter?
    var lastLoggedGridStep: Int?
    /// When and at which step the last checkpoint was written (or the run started or resumed).
    var lastCheckpointTime = Date()
    var lastCheckpointStep: Int
    /// Wall-clock seconds each checkpoint of this process took to write.
    public private(set) var checkpointSeconds: [Double] = []
    /// Data-parallel training (`mpiexec`): set before `run`. Only rank 0 writes the run's files.
    public var dataParallel: DataParallel? {
        didSet {
            gan.gradientReduction = dataParallel.map { dp in { dp.averageGradients($0) } }
            let sync = config.syncBatchNorm ? dataParallel.map { dp in { (sums: inout [Double]) in dp.sum(&sums) } } : nil
            for network in [gan.generator as Module, gan.discriminator] { network.synchronizeBatchNorm(sync) }
            state.worldSize = dataParallel.map(\.size)
        }
    }
    /// Whether this process writes the run's files (rank 0, or the only process).
    public var writes: Bool { (dataParallel?.rank ?? 0) == 0 }

    public var config: TrainingConfig { state.config }
    /// The generator as the optimizer trains it.
    public var generator: GANGenerator { gan.generator }
    /// The generator that draws the run's pictures: the moving average when `ema` is on.
    public var samplingGenerator: GANGenerator { gan.samplingGenerator }
    public var discriminator: GANDiscriminator { gan.discriminator }

    /// A new run in `runDirectory` (created; it must not hold another run).
    public convenience init(config: TrainingConfig, dataset: ImageDataset, runDirectory: String) throws {
        try config.check(dataset)
        let lock = try RunDirectory(runDirectory).lock()
        let directory = try RunDirectory.create(at: runDirectory, config: config)
        try self.init(state: TrainingState(config: config), dataset: dataset, directory: directory, checkpoint: nil, lock: lock)
    }

    /// Continues the run in `runDirectory` from its latest checkpoint, optionally with more epochs
    /// or another step limit. A checkpoint that cannot be read (truncated, corrupt, unreadable
    /// state) is reported through `warning` and the next older one is tried; only when none can be
    /// read is it an error (the newest one's).
    public static func resume(runDirectory: String, dataset: ImageDataset, epochs: Int? = nil, maxSteps: Int? = nil,
                              warning: (String) -> Void = { _ in }) throws -> Trainer {
        let directory = RunDirectory(runDirectory)
        let lock = try directory.lock()
        Checkpoint.removeAbandonedWrites(in: directory.checkpointsDirectory)
        let candidates = Checkpoint.list(directory.checkpointsDirectory).reversed()
        guard !candidates.isEmpty else { throw CheckpointError.notFound(directory.checkpointsDirectory) }
        var firstError: Error?
        for checkpoint in candidates {
            do {
                var state = try Checkpoint.readState(checkpoint)
                if let epochs { state.config.epochs = epochs }
                if let maxSteps { state.config.maxSteps = maxSteps }
                try state.config.check(dataset)
                let trainer = try Trainer(state: state, dataset: dataset, directory: directory, checkpoint: checkpoint, lock: lock)
                try directory.truncateMetrics(after: state.step)
                return trainer
            } catch let error as TrainingError {
                throw error  // the settings, not the files: an older checkpoint would not help
            } catch {
                warning("warning: skipping checkpoint \(checkpoint): \(error)")
                firstError = firstError ?? error
            }
        }
        throw firstError!
    }

    init(state: TrainingState, dataset: ImageDataset, directory: RunDirectory, checkpoint: String?, lock: RunLock) throws {
        let c = state.config
        self.state = state
        let dataset = c.trainingSubset(of: dataset)
        self.dataset = dataset
        self.directory = directory
        self.lock = lock
        lastCheckpointStep = state.step
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
        if lock == nil { lock = try directory.lock() }
        defer { lock = nil }
        let metrics = try directory.metricsLog()
        self.metrics = metrics
        defer { self.metrics = nil }
        let resuming = lastCheckpoint != nil || state.step > 0
        events = try directory.eventLog(resumingAt: resuming ? state.step : nil)
        defer { events?.sync(); events = nil }
        if !resuming { try logConfiguration() }
        lastCheckpointTime = Date()
        // Every rank starts from rank 0's weights.
        dataParallel?.broadcastState([gan.generator, gan.discriminator] + (gan.average.map { [$0.average] } ?? []))
        // A new run checkpoints its initial state, so that a run killed before its first due
        // checkpoint still resumes (from step 0) rather than having nothing to resume from.
        if state.step == 0 && lastCheckpoint == nil && unfinished { try checkpoint() }
        while unfinished {
            let epochStart = Date()
            let batches = batcher.epoch(state.epoch, startingAt: state.batchInEpoch)
            for batch in batches {
                let stepStart = Date()
                let result = try trainStep(batch.images, labels: batch.labels)
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
                    try metrics.append(line)
                    try logScalars(line)
                }
                if writes && c.sampleEvery > 0 && state.step % c.sampleEvery == 0 { try writeSamples(.step(state.step)) }
                if state.step >= totalSteps { break }
                if stopAgreed(shouldStop()) { return .interrupted(checkpoint: try checkpoint()) }
                if state.batchInEpoch < perEpoch, checkpointDue {
                    let path = try checkpoint()
                    message(String(format: "checkpoint %@ (%.2f s)", path, checkpointSeconds.last ?? 0))
                }
            }
            if state.batchInEpoch >= perEpoch {
                state.epoch += 1
                state.batchInEpoch = 0
                if writes {
                    // The fixed noise is generated once for the grid and the comparison figure.
                    let generated = fixedNoiseImages()
                    try writeSamples(.epoch(state.epoch), grid: Comparison.grid(generated.images, rows: generated.rows))
                    try directory.writeComparison(comparisonFigure(generated: generated), .epoch(state.epoch))
                }
                if c.evalEvery > 0, state.epoch % c.evalEvery == 0, let evaluator {
                    try evaluate(evaluator, metrics: metrics, message: message)
                }
                if writes { try directory.writeLossPlot(history, markers: state.collapseWarnings ?? []) }
                message(String(format: "epoch %d/%d done in %.1f s; samples in %@", state.epoch, c.epochs,
                               Date().timeIntervalSince(epochStart), directory.samplesDirectory))
                if (c.checkpointEvery > 0 && state.epoch % c.checkpointEvery == 0 || checkpointDue) && unfinished {
                    let path = try checkpoint()
                    message(String(format: "checkpoint %@ (%.2f s)", path, checkpointSeconds.last ?? 0))
                }
            }
            if stopAgreed(shouldStop()) && unfinished { return .interrupted(checkpoint: try checkpoint()) }
        }
        let path = try checkpoint()
        if writes {
            let generated = fixedNoiseImages()
            try writeSamples(.final, grid: Comparison.grid(generated.images, rows: generated.rows))
            try directory.writeComparison(comparisonFigure(generated: generated), .final)
            try directory.writeLossPlot(history, markers: state.collapseWarnings ?? [])
            try directory.writeProgressGIF()
        }
        return .finished(checkpoint: path)
    }

    /// One `GANStep` on the batch `real` (of classes `labels`, for a conditional model) with the
    /// noise (and fake classes) of the current step. (`run` calls it for each batch and then
    /// advances the step count.)
    @discardableResult
    public func trainStep(_ real: Tensor, labels: [Int32]? = nil) throws -> GANStepResult {
        let n = real.shape[0], m = config.model
        var realClasses: Tensor?, fakeClasses: Tensor?
        if m.isConditional {
            guard let labels else { preconditionFailure("Trainer.trainStep: a conditional model needs the batch's labels") }
            realClasses = Tensor.oneHot(labels, classes: m.classes)
            fakeClasses = Tensor.oneHot(state.fakeLabels(count: n, step: state.step), classes: m.classes)
        }
        var noise = state.noise(count: n, step: state.step), batch = real
        if let dp = dataParallel {
            // This rank's slice of the global batch, noise and classes.
            (batch, noise) = (dp.slice(real), dp.slice(noise))
            (realClasses, fakeClasses) = (realClasses.map(dp.slice), fakeClasses.map(dp.slice))
        }
        do {
            var result = try gan(real: batch, noise: noise, realClasses: realClasses, fakeClasses: fakeClasses)
            if let dp = dataParallel {
                let mean = dp.average([Double(result.lossD), Double(result.dReal), Double(result.dFake), Double(result.lossG ?? 0)])
                (result.lossD, result.dReal, result.dFake) = (Float(mean[0]), Float(mean[1]), Float(mean[2]))
                if result.lossG != nil { result.lossG = Float(mean[3]) }
            }
            state.adamStepsD += 1
            if let lossG = result.lossG { lastLossG = lossG; state.adamStepsG += 1 }
            return result
        } catch .nonFiniteLoss(let network) {
            throw TrainingError.nonFinite(step: state.step + 1, network: network, lastCheckpoint: lastCheckpoint)
        }
    }

    /// Whether a `step-` checkpoint is due by steps or by time (epochs are checked at epoch ends);
    /// under data parallelism rank 0's clock decides for every rank.
    var checkpointDue: Bool {
        let c = config
        guard state.step > lastCheckpointStep else { return false }
        if c.checkpointSteps > 0 && state.step % c.checkpointSteps == 0 { return true }
        let due = c.checkpointMinutes > 0 && Date().timeIntervalSince(lastCheckpointTime) >= c.checkpointMinutes * 60
        guard let dp = dataParallel else { return due }
        return dp.average([dp.rank == 0 && due ? Double(dp.size) : 0])[0] > 0
    }

    /// Whether to stop: any rank's request stops every rank at the same step.
    func stopAgreed(_ mine: Bool) -> Bool {
        guard let dp = dataParallel else { return mine }
        return dp.average([mine ? 1 : 0])[0] > 0
    }

    /// Writes a checkpoint of the current state (`name`, or `step-NNNNNNNN`) and returns its path.
    /// The metrics written so far are flushed to the disk with it.
    @discardableResult
    public func checkpoint(name: String? = nil, failAfterFiles: Int? = nil) throws -> String {
        guard writes else {
            lastCheckpointStep = state.step
            lastCheckpointTime = Date()
            return directory.checkpointsDirectory + "/" + (name ?? Checkpoint.prefix + String(format: "%08d", state.step))
        }
        let start = Date()
        let path = try Checkpoint.write(state: state, gan, in: directory.checkpointsDirectory, keep: config.keepCheckpoints,
                                        name: name, failAfterFiles: failAfterFiles)
        metrics?.sync()
        events?.sync()
        checkpointSeconds.append(Date().timeIntervalSince(start))
        if name == nil {
            lastCheckpoint = path
            lastCheckpointStep = state.step
            lastCheckpointTime = Date()
        }
        return path
    }

    /// The fixed noise batch through the generator in evaluation mode, as a grid. A conditional
    /// model's grid has one row per class, labelled with its name.
    public func sampleGrid() -> Image {
        let (images, rows) = fixedNoiseImages()
        return Comparison.grid(images, rows: rows)
    }
}

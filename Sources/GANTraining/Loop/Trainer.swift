import Datasets
import Foundation
import GANEvaluation
import GANModels
import Imaging
import NN
import RunFormat
import TensorBoard
import Tensors

/// The training loop and its policy: which batch and noise each step gets, when to log, draw a
/// sample grid, evaluate and checkpoint (by epochs, steps or minutes, whichever is due first), and
/// how to stop and resume. A trainer that writes holds its run directory's lock from its creation
/// until `run` returns (and again during a later `run`), so no other process can train the same
/// run. The step itself is a `GANStep`; the files are a `RunDirectory`'s; the checkpoint format is
/// `Checkpoint`'s; a data-parallel job's plumbing is `DataParallel`'s.
///
/// ```swift
/// let trainer = try Trainer(config: config, dataset: try DatasetLoader.load(config.dataPath), runDirectory: "runs/a")
/// _ = try trainer.run(progress: { print($0.step, $0.lossD) })
/// // later, or after Ctrl-C:
/// _ = try Trainer.resume(runDirectory: "runs/a", dataset: dataset).run()
/// ```
public final class Trainer {
    /// The run's files. Only a trainer that `writes` touches them.
    public let directory: RunDirectory
    public let gan: GANStep<GANGenerator, GANDiscriminator>
    public internal(set) var state: TrainingState
    public let dataset: ImageDataset
    /// Measures the generator every `evalEvery` epochs when set (it needs a labelled dataset).
    public var evaluator: Evaluator?
    /// Data-parallel training: this process's part of the job. Only rank 0 writes the run's files.
    public let dataParallel: DataParallel?
    /// The newest `step-` checkpoint of the run this trainer wrote or resumed from.
    public internal(set) var lastCheckpoint: String?
    /// Wall-clock seconds each checkpoint of this process took to write.
    public internal(set) var checkpointSeconds: [Double] = []
    let batcher: Batcher
    let fixedNoise: Tensor
    var history: [MetricsLine] = []
    var lastLossG: Float = .nan
    var lastPenalty: Float?
    var schedule: CheckpointSchedule
    /// The run's open files while `run` runs (the lock longer: from creation).
    var lock: RunLock?
    var metrics: MetricsLog?
    var events: EventWriter?
    var lastLoggedGridStep: Int?
    /// Set when the ranks agreed that the time budget is spent (rank 0's clock decides, so that
    /// every rank stops at the same step).
    var budgetReached = false

    /// Whether this process writes the run's files (rank 0, or the only process).
    public var writes: Bool { (dataParallel?.rank ?? 0) == 0 }
    public var config: TrainingConfig { state.config }
    /// The generator as the optimizer trains it.
    public var generator: GANGenerator { gan.generator }
    /// The generator that draws the run's pictures: the moving average when `ema` is on.
    public var samplingGenerator: GANGenerator { gan.samplingGenerator }
    public var discriminator: GANDiscriminator { gan.discriminator }

    /// A new run in `runDirectory` (created; it must not hold another run). Under data
    /// parallelism, only rank 0 creates it, once every process agreed on the batch and the data.
    public convenience init(config: TrainingConfig, dataset: ImageDataset, runDirectory: String, dataParallel: DataParallel? = nil) throws {
        // First the processes agree (a collective), so that none fails alone and leaves the others waiting.
        try dataParallel?.checkAgreement(batchSize: config.batchSize, dataset: dataset)
        try config.check(dataset)
        let writes = (dataParallel?.rank ?? 0) == 0
        let lock = writes ? try RunDirectory(runDirectory).lock() : nil
        let directory = writes ? try RunDirectory.create(at: runDirectory, config: config) : RunDirectory(runDirectory)
        try self.init(state: TrainingState(config: config), dataset: dataset, directory: directory, checkpoint: nil, lock: lock,
                      dataParallel: dataParallel)
    }

    init(state: TrainingState, dataset: ImageDataset, directory: RunDirectory, checkpoint: String?, lock: RunLock?,
         dataParallel: DataParallel?) throws {
        let c = state.config
        self.state = state
        let dataset = c.trainingSubset(of: dataset)
        self.dataset = dataset
        self.directory = directory
        self.lock = lock
        self.dataParallel = dataParallel
        schedule = CheckpointSchedule(step: state.step)
        gan = GANStep(config: c)
        batcher = Batcher(dataset, batchSize: c.batchSize, shuffle: true, dropLast: true, horizontalFlip: c.horizontalFlip, seed: c.seed)
        fixedNoise = c.model.noise(c.sampleCount, using: RandomGenerator(seed: RandomGenerator.derivedSeed(c.seed, 0x66697865)))
        if let checkpoint {
            // The saved state keeps its counters; the configuration may have been edited (epochs, steps).
            _ = try Checkpoint.restore(checkpoint, into: gan)
            lastCheckpoint = checkpoint
            if writes { history = directory.readHistory(upTo: state.step) }
        }
        if let dataParallel {
            dataParallel.join(gan, synchronizingBatchNorm: c.syncBatchNorm)
            self.state.worldSize = dataParallel.size
        }
        if c.ada {
            self.state.adaProbability = self.state.adaProbability ?? 0
            gan.augmentProbability = Float(self.state.adaProbability!)
        }
    }

    /// Steps in the whole run.
    public var totalSteps: Int {
        let all = config.epochs * batcher.batchesPerEpoch
        return config.maxSteps.map { min($0, all) } ?? all
    }

    var unfinished: Bool { state.epoch < config.epochs && state.step < totalSteps && !budgetReached }

    /// Seconds of the time budget (`maxMinutes`) left; nil without one.
    public var budgetSecondsLeft: Double? { config.maxMinutes.map { max($0 * 60 - state.elapsedSeconds, 0) } }

    /// Whether the time budget is used up by this process's clock.
    var budgetSpent: Bool { budgetSecondsLeft.map { $0 <= 0 } ?? false }

    /// Trains until the configured epochs, step limit or time budget are done, or `shouldStop`
    /// returns true (checked after every step; the run then checkpoints and returns `.interrupted`).
    /// A run that used up its time budget ends as a finished one: a checkpoint, the final figures
    /// and, when evaluating, an evaluation of the last step.
    public func run(progress: (TrainingProgress) -> Void = { _ in }, message: (String) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> TrainingOutcome {
        try openFiles()
        defer { closeFiles() }
        schedule.wrote(at: state.step)
        // Every rank starts from rank 0's weights.
        dataParallel?.broadcastState([gan.generator, gan.discriminator] + (gan.average.map { [$0.average] } ?? []))
        // A new run checkpoints its initial state, so that a run killed before its first due
        // checkpoint still resumes (from step 0) rather than having nothing to resume from.
        if state.step == 0 && lastCheckpoint == nil && unfinished { try checkpoint() }
        var meter = ThroughputMeter()
        // The wall clock of this call, added to what earlier calls spent.
        let sessionStart = Date(), spentBefore = state.elapsedSeconds
        budgetReached = budgetAgreedSpent()
        func tick() { state.elapsedSeconds = spentBefore + Date().timeIntervalSince(sessionStart) }
        while unfinished {
            let epochStart = Date()
            let batches = batcher.epoch(state.epoch, startingAt: state.batchInEpoch)
            for batch in batches {
                let stepStart = Date()
                let result = try trainStep(batch.images, labels: batch.labels)
                state.step += 1
                state.batchInEpoch += 1
                state.trainingSeconds += Date().timeIntervalSince(stepStart)
                tick()
                meter.add(images: batch.indices.count)
                let stepsLeft = meter.secondsLeft(images: (totalSteps - state.step) * config.batchSize)
                let p = TrainingProgress(epoch: state.epoch, epochs: config.epochs, batch: state.batchInEpoch,
                                         batchesPerEpoch: batcher.batchesPerEpoch, step: state.step, totalSteps: totalSteps,
                                         lossD: result.lossD, lossG: lastLossG, dReal: result.dReal, dFake: result.dFake,
                                         imagesPerSecond: meter.rate,
                                         etaSeconds: budgetSecondsLeft.map { min($0, stepsLeft) } ?? stepsLeft,
                                         penalty: result.penalty ?? lastPenalty,
                                         budgetLimited: budgetSecondsLeft.map { $0 < stepsLeft } ?? false,
                                         augmentProbability: state.adaProbability, reconstruction: result.reconstruction)
                progress(p)
                try afterStep(p, loaderWaitSeconds: batches.waitSeconds)
                tick()
                if budgetAgreedSpent() { budgetReached = true }
                if state.step >= totalSteps || budgetReached { break }
                if stopAgreed(shouldStop()) { return .interrupted(checkpoint: try checkpoint()) }
                if state.batchInEpoch < batcher.batchesPerEpoch, checkpointDue { try checkpoint(reportingTo: message) }
            }
            if state.batchInEpoch >= batcher.batchesPerEpoch { try endEpoch(startedAt: epochStart, message: message) }
            tick()
            if stopAgreed(shouldStop()) && unfinished { return .interrupted(checkpoint: try checkpoint()) }
        }
        if budgetReached {
            message(String(format: "the time budget of %@ minutes is spent: %d steps", "\(config.maxMinutes!)", state.step))
            // The last step is measured unless an epoch's end just did it.
            if config.evalEvery > 0, let evaluator, state.batchInEpoch > 0 || state.epoch % config.evalEvery != 0 {
                try evaluate(evaluator, message: message)
            }
        }
        let path = try checkpoint()
        try writeFinalFigures()
        return .finished(checkpoint: path)
    }

    /// One `GANStep` on the batch `real` (of classes `labels`, for a conditional model) with the
    /// noise (and fake classes) of the current step. (`run` calls it for each batch and then
    /// advances the step count.)
    @discardableResult
    public func trainStep(_ real: Tensor, labels: [Int32]? = nil) throws -> GANStepResult {
        let n = real.shape[0], conditional = config.model.isConditional
        precondition(!conditional || labels != nil, "Trainer.trainStep: a conditional model needs the batch's labels")
        var batch = GANBatch(real: real, noise: state.noise(count: n, step: state.step), realLabels: conditional ? labels : nil,
                             fakeLabels: conditional ? state.fakeLabels(count: n, step: state.step) : nil)
        if let dataParallel { batch = dataParallel.slice(batch) }
        do {
            var result = try gan(batch)
            if let dataParallel { result = dataParallel.average(result) }
            if let p = state.adaProbability {
                // Every rank sees the averaged r_t of the global batch, so p moves alike everywhere.
                state.adaProbability = ADA.adjusted(p, realSign: result.realSign, batch: n)
                gan.augmentProbability = Float(state.adaProbability!)
            }
            state.adamStepsD += 1
            if let lossG = result.lossG { lastLossG = lossG; state.adamStepsG += 1 }
            if let penalty = result.penalty { lastPenalty = penalty }
            return result
        } catch .nonFiniteLoss(let network) {
            throw TrainingError.nonFinite(step: state.step + 1, network: network, lastCheckpoint: lastCheckpoint)
        }
    }

    /// Whether a `step-` checkpoint is due by steps or by time; under data parallelism rank 0's
    /// clock decides for every rank.
    var checkpointDue: Bool {
        let due = schedule.due(at: state.step, config)
        return dataParallel.map { $0.agree(rootSays: due) } ?? due
    }

    /// Whether the time budget is spent, as rank 0's clock says (every rank stops at the same step).
    func budgetAgreedSpent() -> Bool {
        guard config.maxMinutes != nil else { return false }
        let spent = budgetSpent
        return dataParallel.map { $0.agree(rootSays: spent) } ?? spent
    }

    /// Whether to stop: any rank's request stops every rank at the same step.
    func stopAgreed(_ mine: Bool) -> Bool { dataParallel.map { $0.agree(anySays: mine) } ?? mine }

    /// Writes a checkpoint of the current state (`name`, or `step-NNNNNNNN`) and returns its path.
    /// The metrics written so far are flushed to the disk with it.
    @discardableResult
    public func checkpoint(name: String? = nil) throws -> String {
        let path = directory.checkpointsDirectory + "/" + (name ?? Checkpoint.name(step: state.step))
        if writes {
            let start = Date()
            try Checkpoint.write(state: state, gan, in: directory.checkpointsDirectory, keep: config.keepCheckpoints, name: name)
            metrics?.sync()
            events?.sync()
            checkpointSeconds.append(Date().timeIntervalSince(start))
        }
        if name == nil {
            lastCheckpoint = path
            schedule.wrote(at: state.step)
        }
        return path
    }

    func checkpoint(reportingTo message: (String) -> Void) throws {
        let path = try checkpoint()
        message(String(format: "checkpoint %@ (%.2f s)", path, checkpointSeconds.last ?? 0))
    }
}

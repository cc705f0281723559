import Datasets
import Foundation
import Imaging
import NN
import Tensors

/// What a training run reports as it goes.
public struct TrainingProgress: Sendable {
    public var epoch: Int, epochs: Int
    public var batch: Int, batchesPerEpoch: Int
    public var step: Int, totalSteps: Int
    public var lossD: Float, lossG: Float
    /// Mean σ(D(x)) on the real batch and σ(D(G(z))) on the fakes (before D's update).
    public var dReal: Float, dFake: Float
    public var imagesPerSecond: Double
    public var etaSeconds: Double
}

/// How a call to `Trainer.run` ended.
public enum TrainingOutcome: Equatable, Sendable {
    case finished(checkpoint: String)
    /// Stopped on request (SIGINT/SIGTERM) after a checkpoint.
    case interrupted(checkpoint: String)
}

/// Failures while training (beyond the data and checkpoint errors).
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case nonFinite(step: Int, what: String, lastCheckpoint: String?)
    case datasetMismatch(path: String, detail: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .nonFinite(let step, let what, let last):
            return "\(what) became NaN or infinite at step \(step); training stopped"
                + (last.map { ", the last good checkpoint is \($0)" } ?? ", no checkpoint was written yet")
                + ". Try lower learning rates (--lr-g, --lr-d) or another --loss."
        case .datasetMismatch(let p, let d): return "\(p): \(d)"
        case .unwritable(let p, let r): return "\(p): cannot write: \(r)"
        }
    }
}

/// Trains a GAN: one discriminator step per batch, a generator step every `dSteps` batches, with
/// the generator's output computed once and reused (detached for D, through D for G), as
/// PyTorch's reference DCGAN does.
///
/// A run directory holds `config.json`, `metrics.jsonl` (a line per logged step), `samples/`
/// (grids of a fixed noise batch), `loss.png`, `progress.gif` and `checkpoints/`.
public final class Trainer {
    public let runDirectory: String
    public let generator: GANGenerator
    public let discriminator: GANDiscriminator
    public let optimizerG: Adam, optimizerD: Adam
    public private(set) var state: TrainingState
    public let dataset: ImageDataset
    let batcher: Batcher
    let fixedNoise: Tensor
    var history: [(step: Int, lossD: Double, lossG: Double)] = []
    var lastCheckpoint: String?
    var lastLossG: Float = .nan
    /// Measures the generator every `evalEvery` epochs when set (it needs a labelled dataset).
    public var evaluator: Evaluator?

    public var config: TrainingConfig { state.config }
    var samplesDirectory: String { runDirectory + "/samples" }
    var checkpointsDirectory: String { runDirectory + "/checkpoints" }

    /// A new run in `runDirectory` (created; it must not hold another run).
    public convenience init(config: TrainingConfig, dataset: ImageDataset, runDirectory: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: runDirectory + "/config.json") {
            throw TrainingError.unwritable(path: runDirectory, reason: "it already holds a run; use --resume to continue it or choose another --out")
        }
        do {
            try fm.createDirectory(atPath: runDirectory + "/samples", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: runDirectory + "/checkpoints", withIntermediateDirectories: true)
            let probe = runDirectory + "/.write-test"
            try Data("ok".utf8).write(to: URL(fileURLWithPath: probe))
            try fm.removeItem(atPath: probe)
        } catch {
            throw TrainingError.unwritable(path: runDirectory, reason: (error as NSError).localizedDescription)
        }
        let state = TrainingState(config: config, epoch: 0, batchInEpoch: 0, step: 0, adamStepsG: 0, adamStepsD: 0,
                                  noiseSeed: Generator.derivedSeed(config.seed, 0x6e6f697365), trainingSeconds: 0)
        try self.init(state: state, dataset: dataset, runDirectory: runDirectory, checkpoint: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try? encoder.encode(config).write(to: URL(fileURLWithPath: runDirectory + "/config.json"), options: .atomic)
    }

    /// Continues the run in `runDirectory` from its latest checkpoint, optionally with more epochs
    /// or another step limit.
    public static func resume(runDirectory: String, dataset: ImageDataset, epochs: Int? = nil, maxSteps: Int?? = nil) throws -> Trainer {
        guard let latest = Checkpoint.list(runDirectory + "/checkpoints").last else {
            throw CheckpointError.notFound(runDirectory + "/checkpoints")
        }
        var state = try Checkpoint.readState(latest)
        if let epochs { state.config.epochs = epochs }
        if let maxSteps { state.config.maxSteps = maxSteps }
        return try Trainer(state: state, dataset: dataset, runDirectory: runDirectory, checkpoint: latest)
    }

    init(state: TrainingState, dataset: ImageDataset, runDirectory: String, checkpoint: String?) throws {
        let c = state.config
        if let problem = c.model.problem { throw TrainingError.datasetMismatch(path: c.dataPath, detail: problem) }
        guard dataset.height == c.model.imageSize, dataset.width == c.model.imageSize else {
            throw TrainingError.datasetMismatch(path: dataset.name, detail: "images are \(dataset.width)×\(dataset.height), the model makes \(c.model.imageSize)×\(c.model.imageSize)")
        }
        guard dataset.channels == c.model.channels else {
            throw TrainingError.datasetMismatch(path: dataset.name, detail: "images have \(dataset.channels) channels, the model makes \(c.model.channels)")
        }
        guard dataset.count >= c.batchSize else {
            throw TrainingError.datasetMismatch(path: dataset.name, detail: "\(dataset.count) images are fewer than one batch of \(c.batchSize)")
        }
        self.state = state
        self.dataset = dataset
        self.runDirectory = runDirectory
        (generator, discriminator) = Models.make(c.model, rng: Generator(seed: c.seed))
        optimizerG = Adam(generator, learningRate: c.learningRateG, beta1: c.beta1, beta2: c.beta2)
        optimizerD = Adam(discriminator, learningRate: c.learningRateD, beta1: c.beta1, beta2: c.beta2)
        batcher = Batcher(dataset, batchSize: c.batchSize, shuffle: true, dropLast: true, horizontalFlip: c.horizontalFlip, seed: c.seed)
        fixedNoise = c.model.noise(c.sampleCount, using: Generator(seed: Generator.derivedSeed(c.seed, 0x66697865)))
        if let checkpoint {
            try Checkpoint.loadModule(generator, from: checkpoint + "/generator.safetensors", role: "generator", state: state)
            try Checkpoint.loadModule(discriminator, from: checkpoint + "/discriminator.safetensors", role: "discriminator", state: state)
            let file = try SafeTensors(contentsOf: checkpoint + "/optimizer.safetensors")
            let all = try file.allTensors()
            func part(_ prefix: String) -> [String: Tensor] {
                Dictionary(uniqueKeysWithValues: all.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
            }
            do {
                try optimizerG.loadState(part("generator."))
                try optimizerD.loadState(part("discriminator."))
            } catch let e as OptimizerStateError {
                throw CheckpointError.mismatch(path: checkpoint + "/optimizer.safetensors", detail: "\(e)")
            }
            lastCheckpoint = checkpoint
            history = Self.readHistory(runDirectory + "/metrics.jsonl", upTo: state.step)
        }
    }

    /// Steps in the whole run.
    public var totalSteps: Int {
        let all = config.epochs * batcher.batchesPerEpoch
        return config.maxSteps.map { min($0, all) } ?? all
    }

    /// Trains until the configured epochs (or step limit) are done, or `shouldStop` returns true
    /// (checked after every step; the run then checkpoints and returns `.interrupted`).
    public func run(progress: (TrainingProgress) -> Void = { _ in }, message: (String) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> TrainingOutcome {
        let c = config
        let perEpoch = batcher.batchesPerEpoch
        var windowStart = Date(), windowImages = 0, rate = 0.0
        let metrics = try MetricsLog(runDirectory + "/metrics.jsonl")
        while state.epoch < c.epochs && state.step < totalSteps {
            let epochStart = Date()
            let batches = batcher.epoch(state.epoch, startingAt: state.batchInEpoch)
            for batch in batches {
                let stepStart = Date()
                let (lossD, lossG, dReal, dFake) = try trainStep(batch.images)
                state.step += 1
                state.batchInEpoch += 1
                state.trainingSeconds += Date().timeIntervalSince(stepStart)
                windowImages += batch.indices.count
                let elapsed = Date().timeIntervalSince(windowStart)
                if elapsed >= 2 || rate == 0 { rate = Double(windowImages) / max(elapsed, 1e-9); windowStart = Date(); windowImages = 0 }
                let remaining = Double(totalSteps - state.step) * Double(c.batchSize) / max(rate, 1e-9)
                let p = TrainingProgress(epoch: state.epoch, epochs: c.epochs, batch: state.batchInEpoch, batchesPerEpoch: perEpoch,
                                         step: state.step, totalSteps: totalSteps, lossD: lossD, lossG: lossG, dReal: dReal,
                                         dFake: dFake, imagesPerSecond: rate, etaSeconds: remaining)
                progress(p)
                if state.step % max(c.logEvery, 1) == 0 || state.step == 1 {
                    history.append((state.step, Double(lossD), Double(lossG)))
                    metrics.append(p, waitSeconds: batches.waitSeconds)
                }
                if c.sampleEvery > 0 && state.step % c.sampleEvery == 0 {
                    try writeSamples(to: samplesDirectory + "/step-" + String(format: "%08d", state.step) + ".png")
                }
                if state.step >= totalSteps { break }
                if shouldStop() {
                    let path = try checkpoint()
                    return .interrupted(checkpoint: path)
                }
            }
            if state.batchInEpoch >= perEpoch {
                state.epoch += 1
                state.batchInEpoch = 0
                try writeSamples(to: samplesDirectory + "/epoch-" + String(format: "%03d", state.epoch) + ".png")
                if c.evalEvery > 0, state.epoch % c.evalEvery == 0, let evaluator {
                    try evaluate(evaluator, metrics: metrics, message: message)
                }
                try writeLossPlot()
                message(String(format: "epoch %d/%d done in %.1f s; samples in %@", state.epoch, c.epochs,
                               Date().timeIntervalSince(epochStart), samplesDirectory))
                if state.epoch % max(c.checkpointEvery, 1) == 0 && state.epoch < c.epochs && state.step < totalSteps {
                    message("checkpoint " + (try checkpoint()))
                }
            }
            if shouldStop() && (state.epoch < c.epochs && state.step < totalSteps) {
                return .interrupted(checkpoint: try checkpoint())
            }
        }
        let path = try checkpoint()
        try writeSamples(to: samplesDirectory + "/final.png")
        try writeLossPlot()
        try writeProgressGIF()
        return .finished(checkpoint: path)
    }

    /// One discriminator step, and a generator step when it is due, on the batch `real`. Returns
    /// the losses and the discriminator's mean probabilities on the real and fake batch. (`run`
    /// calls it for each batch and keeps the step count; benchmarks call it directly.)
    public func trainStep(_ real: Tensor) throws -> (Float, Float, Float, Float) {
        let c = config
        let z = c.model.noise(real.shape[0], using: Generator(seed: Generator.derivedSeed(state.noiseSeed, UInt64(state.step))))
        let fake = generator(z)
        let realLogits = discriminator(real), fakeLogits = discriminator(fake.detached)
        let lossD = c.loss.discriminator(real: realLogits, fake: fakeLogits, realTarget: c.realLabel)
        let dLoss = lossD.item
        guard dLoss.isFinite else { throw TrainingError.nonFinite(step: state.step + 1, what: "the discriminator's loss", lastCheckpoint: lastCheckpoint) }
        optimizerD.zeroGrad()
        lossD.backward()
        optimizerD.step()
        state.adamStepsD += 1
        let (dReal, dFake) = withoutGrad { (realLogits.sigmoid().mean().item, fakeLogits.sigmoid().mean().item) }
        if (state.step + 1) % max(c.dSteps, 1) == 0 {
            discriminator.setRequiresGrad(false)
            defer { discriminator.setRequiresGrad(true) }
            let lossG = c.loss.generator(fake: discriminator(fake))
            lastLossG = lossG.item
            guard lastLossG.isFinite else { throw TrainingError.nonFinite(step: state.step + 1, what: "the generator's loss", lastCheckpoint: lastCheckpoint) }
            optimizerG.zeroGrad()
            lossG.backward()
            optimizerG.step()
            state.adamStepsG += 1
        }
        return (dLoss, lastLossG, dReal, dFake)
    }

    /// Scores the generator, logs the report, warns on mode collapse (fewer than half the classes
    /// covered, or the Fréchet distance rising three evaluations in a row) and keeps the
    /// checkpoint with the best Fréchet distance as `checkpoints/best`.
    func evaluate(_ evaluator: Evaluator, metrics: MetricsLog, message: (String) -> Void) throws {
        let report = evaluator.evaluate(Sampler(generator: generator, config: config.model), count: config.evalCount,
                                        seed: Generator.derivedSeed(config.seed, 0x6576616c))
        var history = state.frechetHistory ?? []
        history.append(report.frechetDistance)
        state.frechetHistory = history
        metrics.append(evaluation: report, step: state.step, epoch: state.epoch)
        message(String(format: "evaluation at step %d: Fréchet distance %.3f, score %.2f, %d/%d classes, precision %.3f, recall %.3f",
                       state.step, report.frechetDistance, report.classifierScore, report.classCoverage, report.classes,
                       report.precision, report.recall))
        let rising = history.count >= 4 && zip(history.suffix(4), history.suffix(3)).allSatisfy { $1 > $0 }
        if report.modeCollapse || rising {
            state.collapseWarnings = (state.collapseWarnings ?? []) + [state.step]
            message("warning: possible mode collapse at step \(state.step): "
                    + (report.modeCollapse ? "only \(report.classCoverage) of \(report.classes) classes are generated"
                                           : "the Fréchet distance rose in each of the last 3 evaluations")
                    + "; the best checkpoint so far is kept in \(checkpointsDirectory)/best")
        }
        if report.frechetDistance < state.bestFrechetDistance ?? .infinity {
            state.bestFrechetDistance = report.frechetDistance
            try Checkpoint.write(state: state, generator: generator, discriminator: discriminator, optimizerG: optimizerG,
                                 optimizerD: optimizerD, in: checkpointsDirectory, keep: config.keepCheckpoints, name: "best")
        }
    }

    /// Writes a checkpoint of the current state and returns its path.
    @discardableResult
    public func checkpoint(failAfterFiles: Int? = nil) throws -> String {
        let path = try Checkpoint.write(state: state, generator: generator, discriminator: discriminator,
                                        optimizerG: optimizerG, optimizerD: optimizerD, in: checkpointsDirectory,
                                        keep: config.keepCheckpoints, failAfterFiles: failAfterFiles)
        lastCheckpoint = path
        return path
    }

    /// The fixed noise batch through the generator in evaluation mode, as a grid.
    public func sampleGrid() -> Image {
        let images = Sampler(generator: generator, config: config.model).generate(fixedNoise)
        let m = config.model
        return Grid.make(images.scalars, count: images.shape[0], channels: m.channels, height: m.imageSize, width: m.imageSize,
                         columns: 8, padding: 2, scale: max(1, 64 / m.imageSize))
    }

    func writeSamples(to path: String) throws {
        do { try ImageCodec.writePNG(sampleGrid(), to: path) } catch {
            throw TrainingError.unwritable(path: path, reason: "\(error)")
        }
    }

    func writeLossPlot() throws {
        let d = history.map { (x: Double($0.step), y: $0.lossD) }, g = history.map { (x: Double($0.step), y: $0.lossG) }
        let image = Plot.lines([(d, (31, 119, 180)), (g, (255, 127, 14))], markers: (state.collapseWarnings ?? []).map(Double.init))
        do { try ImageCodec.writePNG(image, to: runDirectory + "/loss.png") } catch {
            throw TrainingError.unwritable(path: runDirectory + "/loss.png", reason: "\(error)")
        }
    }

    /// The epoch grids of the run, in order, as one animation.
    func writeProgressGIF() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: samplesDirectory)) ?? [])
            .filter { $0.hasPrefix("epoch-") && $0.hasSuffix(".png") }.sorted()
        let frames = names.compactMap { try? ImageCodec.read(samplesDirectory + "/" + $0) }
        guard !frames.isEmpty else { return }
        do { try GIF.write(frames, delayCentiseconds: 50, to: runDirectory + "/progress.gif") } catch {
            throw TrainingError.unwritable(path: runDirectory + "/progress.gif", reason: "\(error)")
        }
    }

    static func readHistory(_ path: String, upTo step: Int) -> [(step: Int, lossD: Double, lossG: Double)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = o["step"] as? Int, s <= step, let d = o["loss_d"] as? Double, let g = o["loss_g"] as? Double else { return nil }
            return (s, d, g)
        }
    }
}

/// `metrics.jsonl`: one JSON object per logged step, appended.
final class MetricsLog {
    let handle: FileHandle
    init(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw TrainingError.unwritable(path: path, reason: "cannot open for appending") }
        h.seekToEndOfFile()
        handle = h
    }
    deinit { try? handle.close() }
    func append(_ p: TrainingProgress, waitSeconds: Double) {
        func num(_ v: Float) -> String { v.isFinite ? "\(v)" : "null" }
        let line = "{\"step\":\(p.step),\"epoch\":\(p.epoch),\"batch\":\(p.batch),\"loss_d\":\(num(p.lossD)),\"loss_g\":\(num(p.lossG)),"
            + "\"d_real\":\(num(p.dReal)),\"d_fake\":\(num(p.dFake)),\"images_per_second\":\(String(format: "%.1f", p.imagesPerSecond)),"
            + "\"loader_wait_seconds\":\(String(format: "%.4f", waitSeconds))}\n"
        handle.write(Data(line.utf8))
    }

    func append(evaluation r: EvaluationReport, step: Int, epoch: Int) {
        let line = "{\"step\":\(step),\"epoch\":\(epoch),\"eval\":{\"frechet_distance\":\(r.frechetDistance),"
            + "\"classifier_score\":\(r.classifierScore),\"class_coverage\":\(r.classCoverage),\"classes\":\(r.classes),"
            + "\"class_histogram_kl\":\(r.classHistogramKL),\"precision\":\(r.precision),\"recall\":\(r.recall),"
            + "\"images\":\(r.images),\"mode_collapse\":\(r.modeCollapse)}}\n"
        handle.write(Data(line.utf8))
    }
}

import GANModels

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
    /// The gradient penalties' (weighted) part of `lossD` on the last step that applied them.
    public var penalty: Float? = nil
    /// Whether the time budget ends the run before its steps do (`etaSeconds` is then what is left of it).
    public var budgetLimited = false
    /// Adaptive augmentation's probability after this step (with `ada`).
    public var augmentProbability: Double? = nil
    /// D's reconstruction loss (weighted part of `lossD`), when D has a decoder (FastGAN).
    public var reconstruction: Float? = nil

    /// "3/5", or "3" for a run limited by time alone.
    public var epochText: String {
        epochs >= TrainingSettings.unlimitedEpochs ? "\(epoch + 1)" : "\(epoch + 1)/\(epochs)"
    }
}

/// How a call to `Trainer.run` ended.
public enum TrainingOutcome: Equatable, Sendable {
    case finished(checkpoint: String)
    /// Stopped on request (SIGINT/SIGTERM) after a checkpoint.
    case interrupted(checkpoint: String)
}

/// Failures while training (beyond the data, run-directory and checkpoint errors). They speak of
/// values and paths; the CLI adds which flags to change.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// A loss of `network` became NaN or infinite at `step` (1-based); nothing was updated by it.
    case nonFinite(step: Int, network: GANNetwork, lastCheckpoint: String?)
    /// The data does not fit the model or the settings.
    case datasetMismatch(path: String, detail: String)
    /// The settings cannot train (`TrainingConfig.problem`).
    case invalidConfiguration(String)
    /// The processes of a data-parallel job hold different datasets (one line per rank).
    case datasetsDiffer([String])
    /// A global batch that does not split evenly over the processes of a data-parallel job.
    case batchDoesNotSplit(batch: Int, processes: Int)

    public var description: String {
        switch self {
        case .nonFinite(let step, let network, let last):
            return "the \(network.rawValue)'s loss became NaN or infinite at step \(step); training stopped"
                + (last.map { ", the last good checkpoint is \($0)" } ?? ", no checkpoint was written yet")
                + ". Try lower learning rates or another loss."
        case .datasetMismatch(let p, let d): return "\(p): \(d)"
        case .invalidConfiguration(let problem): return "cannot train: \(problem)"
        case .datasetsDiffer(let ranks): return "the processes' datasets differ (\(ranks.joined(separator: "; "))); give every host the same files"
        case .batchDoesNotSplit(let batch, let processes):
            return "a batch of \(batch) does not split over \(processes) processes: it is the global batch, so it must be a multiple of \(processes)"
        }
    }
}

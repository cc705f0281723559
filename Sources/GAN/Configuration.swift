import Datasets
import Foundation
import Tensors

/// Every hyper-parameter of a run: saved as the run's `config.json` and inside each checkpoint's
/// `state.json`.
///
/// Each setting has its one default here, as a stored-property initial value: the CLI's options
/// fall back to it, and a `state.json` written before a setting existed decodes to it. A new
/// setting is a new property with its default and a line in `init(from:)`.
///
/// ```swift
/// var config = TrainingConfig(model: ModelConfig(preset: .dcgan, imageSize: 28, channels: 1),
///                             dataPath: "/usr/share/datasets/fashion-mnist")
/// config.epochs = 2
/// config.learningRateD = 4e-4
/// ```
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var model: ModelConfig
    public var dataPath: String
    public var epochs = 5
    /// Stop after this many steps in all (nil: run every epoch).
    public var maxSteps: Int? = nil
    public var batchSize = 128
    public var learningRateG: Float = 2e-4
    public var learningRateD: Float = 2e-4
    public var beta1: Float = 0.5
    public var beta2: Float = 0.999
    /// Target for real images in the discriminator's loss (1: none; 0.9: one-sided smoothing).
    public var realLabel: Float = 0.9
    public var loss = GANLoss.bce
    /// The generator is updated once every `dSteps` discriminator steps.
    public var dSteps = 1
    public var seed: UInt64 = 0
    public var horizontalFlip = false
    /// Grid of the fixed noise batch every this many steps (0: only at epoch ends).
    public var sampleEvery = 100
    public var sampleCount = 64
    /// Checkpoint every this many epochs (and always at the end); 0: not by epochs.
    public var checkpointEvery = 5
    /// Also checkpoint when this many minutes of wall-clock time have passed since the last one;
    /// 0: not by time.
    public var checkpointMinutes = 10.0
    /// Also checkpoint every this many steps; 0: not by steps.
    public var checkpointSteps = 0
    /// How many `step-` checkpoints to keep (oldest removed first; `best` is kept besides).
    public var keepCheckpoints = 3
    /// Log a metrics line every this many steps.
    public var logEvery = 10
    /// Evaluate (Fréchet distance, coverage, …) every this many epochs; 0: never.
    public var evalEvery = 0
    /// Generated images per evaluation during training.
    public var evalCount = 2000
    /// The arithmetic of the training step's convolutions (see `Precision`).
    public var precision = Precision.fp32
    /// Decay of the generator's exponential moving average (0: none); sampling, evaluation and
    /// the checkpoint's `generator.safetensors` use the average.
    public var ema: Float = 0
    /// DiffAugment operations applied to everything D sees (empty: none).
    public var augment: [DiffAugment.Operation] = []
    /// Train on only the first `limit` images of the dataset, or `limit` drawn at random with
    /// `limitSeed` (nil: all).
    public var limit: Int? = nil
    public var limitRandom = false
    /// Under data-parallel training, batch norms use the statistics of the whole global batch
    /// (all-reduced), so N processes compute what one process does; false: each process's slice.
    public var syncBatchNorm = false

    /// The defaults for `model` trained on the data at `dataPath`. The tutorial presets keep
    /// their tutorials' settings; `sngan` trains with the hinge loss and an averaged generator
    /// (decay 0.999), as SNGAN and StyleGAN2 do.
    public init(model: ModelConfig, dataPath: String) {
        self.model = model
        self.dataPath = dataPath
        if model.preset == .sngan {
            loss = .hinge
            realLabel = 1
            ema = 0.999
        }
    }

    /// Datasets smaller than this get DiffAugment by default under `sngan` (Zhao et al. measure
    /// its gains at 10–20% of CIFAR-10, 5 000–10 000 images).
    public static let smallDataset = 10_000

    /// Applies the data-dependent defaults of the modern preset: DiffAugment (color, translation,
    /// cutout) for a dataset of fewer than `smallDataset` images, unless `augment` was set.
    public mutating func adapt(toDatasetOf count: Int, augmentGiven: Bool) {
        if model.preset == .sngan && !augmentGiven && count < Self.smallDataset { augment = DiffAugment.Operation.allCases }
    }

    /// The images this run trains on: all of `dataset`, or its first `limit` (or `limit` drawn
    /// with the run's seed).
    public func trainingSubset(of dataset: ImageDataset) -> ImageDataset {
        guard let limit, limit < dataset.count else { return dataset }
        if !limitRandom { return dataset.subset(Array(0..<limit)) }
        let order = Batcher(dataset, batchSize: 1, seed: Generator.derivedSeed(seed, 0x6c696d)).order(epoch: 0)
        return dataset.subset(Array(order.prefix(limit)).sorted())
    }

    enum CodingKeys: String, CodingKey {
        case model, dataPath, epochs, maxSteps, batchSize, learningRateG, learningRateD, beta1, beta2, realLabel, loss, dSteps,
             seed, horizontalFlip, sampleEvery, sampleCount, checkpointEvery, checkpointMinutes, checkpointSteps, keepCheckpoints, logEvery, evalEvery, evalCount,
             precision, ema, augment, limit, limitRandom, syncBatchNorm
    }

    /// The model and the data are required; every other setting absent from the file keeps its
    /// default, so checkpoints written before a setting existed keep loading.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(model: try c.decode(ModelConfig.self, forKey: .model), dataPath: try c.decode(String.self, forKey: .dataPath))
        try c.decode(.epochs, ifPresentInto: &epochs)
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps)
        try c.decode(.batchSize, ifPresentInto: &batchSize)
        try c.decode(.learningRateG, ifPresentInto: &learningRateG)
        try c.decode(.learningRateD, ifPresentInto: &learningRateD)
        try c.decode(.beta1, ifPresentInto: &beta1)
        try c.decode(.beta2, ifPresentInto: &beta2)
        try c.decode(.realLabel, ifPresentInto: &realLabel)
        try c.decode(.loss, ifPresentInto: &loss)
        try c.decode(.dSteps, ifPresentInto: &dSteps)
        try c.decode(.seed, ifPresentInto: &seed)
        try c.decode(.horizontalFlip, ifPresentInto: &horizontalFlip)
        try c.decode(.sampleEvery, ifPresentInto: &sampleEvery)
        try c.decode(.sampleCount, ifPresentInto: &sampleCount)
        try c.decode(.checkpointEvery, ifPresentInto: &checkpointEvery)
        try c.decode(.checkpointMinutes, ifPresentInto: &checkpointMinutes)
        try c.decode(.checkpointSteps, ifPresentInto: &checkpointSteps)
        try c.decode(.keepCheckpoints, ifPresentInto: &keepCheckpoints)
        try c.decode(.logEvery, ifPresentInto: &logEvery)
        try c.decode(.evalEvery, ifPresentInto: &evalEvery)
        try c.decode(.evalCount, ifPresentInto: &evalCount)
        try c.decode(.precision, ifPresentInto: &precision)
        try c.decode(.ema, ifPresentInto: &ema)
        try c.decode(.augment, ifPresentInto: &augment)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        try c.decode(.limitRandom, ifPresentInto: &limitRandom)
        try c.decode(.syncBatchNorm, ifPresentInto: &syncBatchNorm)
    }

    /// Why these settings cannot train, naming the setting and the value, or nil when they can.
    /// (The CLI checks its flags before; this guards the library's other callers.)
    public var problem: String? {
        if let problem = model.problem { return problem }
        if batchSize < 1 { return "the batch size must be positive, got \(batchSize)" }
        if epochs < 1 { return "the number of epochs must be positive, got \(epochs)" }
        if checkpointEvery < 0 { return "the epochs between checkpoints must be 0 or more, got \(checkpointEvery)" }
        if checkpointSteps < 0 { return "the steps between checkpoints must be 0 or more, got \(checkpointSteps)" }
        if !(checkpointMinutes >= 0) || !checkpointMinutes.isFinite { return "the minutes between checkpoints must be 0 or more, got \(checkpointMinutes)" }
        if !(ema >= 0 && ema < 1) { return "the EMA decay must be in [0, 1), got \(ema)" }
        if let limit, limit < 1 { return "the image limit must be positive, got \(limit)" }
        if keepCheckpoints < 1 { return "at least one checkpoint must be kept, got \(keepCheckpoints)" }
        if dSteps < 1 { return "the discriminator steps per generator step must be positive, got \(dSteps)" }
        if let reason = precision.unavailableReason { return "\(precision.rawValue) arithmetic is not available: \(reason)" }
        return nil
    }
}

extension TrainingConfig {
    /// Throws when these settings cannot train on `dataset` (images of another size or channel
    /// count than the model makes, fewer images than one batch), or cannot train at all.
    public func check(_ dataset: ImageDataset) throws {
        if let problem { throw TrainingError.invalidConfiguration(problem) }
        let m = model
        guard dataset.height == m.imageSize, dataset.width == m.imageSize else {
            throw TrainingError.datasetMismatch(path: dataset.name, detail: "images are \(dataset.width)×\(dataset.height), the model makes \(m.imageSize)×\(m.imageSize)")
        }
        guard dataset.channels == m.channels else {
            throw TrainingError.datasetMismatch(path: dataset.name, detail: "images have \(dataset.channels) channels, the model makes \(m.channels)")
        }
        if m.isConditional {
            let (_, names) = try dataset.requireLabels()
            guard names == m.classNames else {
                throw TrainingError.datasetMismatch(path: dataset.name, detail: "its classes are \(Self.list(names)), the model's are \(Self.list(m.classNames))")
            }
        }
        let used = min(limit ?? dataset.count, dataset.count)
        guard used >= batchSize else {
            throw TrainingError.datasetMismatch(path: dataset.name, detail: "\(used) images are fewer than one batch of \(batchSize)")
        }
    }

    /// Up to 12 class names for a message.
    static func list(_ names: [String]) -> String {
        "\(names.count) (" + names.prefix(12).joined(separator: ", ") + (names.count > 12 ? ", …" : "") + ")"
    }
}

/// Where a run stands: the contents of a checkpoint's `state.json`, beside the tensors.
///
/// Batches are a function of (seed, epoch) and noise of (`noiseSeed`, step), so these few numbers
/// are the whole random state: a resumed run is the same computation as an uninterrupted one.
public struct TrainingState: Codable, Sendable, Equatable {
    public static let currentFormat = 1
    public var formatVersion = TrainingState.currentFormat
    public var config: TrainingConfig
    /// Epochs fully done.
    public var epoch = 0
    /// Batches done in the current epoch (nonzero only for a checkpoint taken mid-epoch).
    public var batchInEpoch = 0
    /// Discriminator steps done in all.
    public var step = 0
    /// Adam step counts (bias correction) of each optimizer.
    public var adamStepsG = 0
    public var adamStepsD = 0
    /// Noise is drawn from a generator seeded by (noiseSeed, step), so this is the whole RNG state.
    public var noiseSeed: UInt64
    public var trainingSeconds = 0.0
    /// Fréchet distances of the evaluations so far (with `evalEvery`), oldest first.
    public var frechetHistory: [Double]? = nil
    /// The best of them, whose checkpoint is kept as `checkpoints/best`.
    public var bestFrechetDistance: Double? = nil
    /// Steps at which a mode-collapse warning was given (marked on the loss plot).
    public var collapseWarnings: [Int]? = nil
    /// Processes of the data-parallel job that wrote the state (nil: one).
    public var worldSize: Int? = nil

    /// The state of a new run: nothing done yet.
    public init(config: TrainingConfig) {
        self.config = config
        noiseSeed = Generator.derivedSeed(config.seed, 0x6e6f697365)
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion, config, epoch, batchInEpoch, step, adamStepsG, adamStepsD, noiseSeed, trainingSeconds,
             frechetHistory, bestFrechetDistance, collapseWarnings, worldSize
    }

    /// Like the configuration: `config` is required, everything else falls back to a new run's value.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(config: try c.decode(TrainingConfig.self, forKey: .config))
        try c.decode(.formatVersion, ifPresentInto: &formatVersion)
        try c.decode(.epoch, ifPresentInto: &epoch)
        try c.decode(.batchInEpoch, ifPresentInto: &batchInEpoch)
        try c.decode(.step, ifPresentInto: &step)
        try c.decode(.adamStepsG, ifPresentInto: &adamStepsG)
        try c.decode(.adamStepsD, ifPresentInto: &adamStepsD)
        try c.decode(.noiseSeed, ifPresentInto: &noiseSeed)
        try c.decode(.trainingSeconds, ifPresentInto: &trainingSeconds)
        frechetHistory = try c.decodeIfPresent([Double].self, forKey: .frechetHistory)
        bestFrechetDistance = try c.decodeIfPresent(Double.self, forKey: .bestFrechetDistance)
        collapseWarnings = try c.decodeIfPresent([Int].self, forKey: .collapseWarnings)
        worldSize = try c.decodeIfPresent(Int.self, forKey: .worldSize)
    }

    /// The latent batch of step `step` (0-based): the same on every run and after a resume.
    public func noise(count: Int, step: Int) -> Tensor {
        config.model.noise(count, using: Generator(seed: Generator.derivedSeed(noiseSeed, UInt64(step))))
    }

    /// The classes the fakes of step `step` are drawn as, for a conditional model: uniform over the
    /// classes (as StudioGAN and BigGAN sample them), from a stream of (noiseSeed, step) of their own.
    public func fakeLabels(count: Int, step: Int) -> [Int32] {
        let k = config.model.classes
        precondition(k > 0, "TrainingState.fakeLabels: the model is not conditional")
        let rng = Generator(seed: Generator.derivedSeed(noiseSeed, UInt64(step), 0x636c73))
        return (0..<count).map { _ in Int32(rng.integer(in: 0...(k - 1))) }
    }
}

extension KeyedDecodingContainer {
    /// Overwrites `value` with the one stored under `key`, if any: an absent key keeps the default.
    func decode<T: Decodable>(_ key: Key, ifPresentInto value: inout T) throws {
        if let decoded = try decodeIfPresent(T.self, forKey: key) { value = decoded }
    }
}

extension JSONEncoder {
    /// Indented, keys sorted: the files people open (config.json, state.json, `eval --json`).
    public static var readable: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}

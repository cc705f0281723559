import GANModels
import Tensors

/// Where a run stands: the contents of a checkpoint's `state.json`, beside the tensors.
///
/// Batches are a function of (seed, epoch) and noise of (`noiseSeed`, step), so these few numbers
/// are the whole random state: a resumed run is the same computation as an uninterrupted one.
public struct TrainingState: Codable, Sendable, Equatable {
    public var formatVersion = Checkpoint.currentFormat
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
    /// Wall-clock seconds spent in `Trainer.run` (steps, grids, checkpoints, evaluations), across
    /// resumes: what a time budget counts.
    public var elapsedSeconds = 0.0
    /// Fréchet distances of the evaluations so far (with `evalEvery`), oldest first.
    public var frechetHistory: [Double]? = nil
    /// The best of them, whose checkpoint is kept as `checkpoints/best`.
    public var bestFrechetDistance: Double? = nil
    /// Steps at which a mode-collapse warning was given (marked on the loss plot).
    public var collapseWarnings: [Int]? = nil
    /// Processes of the data-parallel job that wrote the state (nil: one).
    public var worldSize: Int? = nil
    /// Adaptive augmentation's probability (with `ada`; nil otherwise).
    public var adaProbability: Double? = nil

    /// The state of a new run: nothing done yet.
    public init(config: TrainingConfig) {
        self.config = config
        noiseSeed = RandomGenerator.derivedSeed(config.seed, 0x6e6f697365)
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion, config, epoch, batchInEpoch, step, adamStepsG, adamStepsD, noiseSeed, trainingSeconds, elapsedSeconds,
             frechetHistory, bestFrechetDistance, collapseWarnings, worldSize, adaProbability
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
        try c.decode(.elapsedSeconds, ifPresentInto: &elapsedSeconds)
        frechetHistory = try c.decodeIfPresent([Double].self, forKey: .frechetHistory)
        bestFrechetDistance = try c.decodeIfPresent(Double.self, forKey: .bestFrechetDistance)
        collapseWarnings = try c.decodeIfPresent([Int].self, forKey: .collapseWarnings)
        worldSize = try c.decodeIfPresent(Int.self, forKey: .worldSize)
        adaProbability = try c.decodeIfPresent(Double.self, forKey: .adaProbability)
    }

    /// The latent batch of step `step` (0-based): the same on every run and after a resume.
    public func noise(count: Int, step: Int) -> Tensor {
        config.model.noise(count, using: RandomGenerator(seed: RandomGenerator.derivedSeed(noiseSeed, UInt64(step))))
    }

    /// The classes the fakes of step `step` are drawn as, for a conditional model: uniform over the
    /// classes (as StudioGAN and BigGAN sample them), from a stream of (noiseSeed, step) of their own.
    public func fakeLabels(count: Int, step: Int) -> [Int32] {
        let k = config.model.classes
        precondition(k > 0, "TrainingState.fakeLabels: the model is not conditional")
        let rng = RandomGenerator(seed: RandomGenerator.derivedSeed(noiseSeed, UInt64(step), 0x636c73))
        return (0..<count).map { _ in Int32(rng.integer(in: 0...(k - 1))) }
    }
}

extension KeyedDecodingContainer {
    /// Overwrites `value` with the one stored under `key`, if any: an absent key keeps the default.
    func decode<T: Decodable>(_ key: Key, ifPresentInto value: inout T) throws {
        if let decoded = try decodeIfPresent(T.self, forKey: key) { value = decoded }
    }
}

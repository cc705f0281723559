import Datasets
import Foundation
import GANModels
import Tensors

/// Every setting of a run: saved as the run's `config.json` and inside each checkpoint's
/// `state.json`.
///
/// The settings are declared once, in `TrainingSettings` (name, flag, help, default, unit, check);
/// each reads and writes as a property of the same name. A setting not set has its default for
/// the model (`sngan` trains with the hinge loss); a file written before a setting existed decodes
/// to it.
///
/// ```swift
/// var config = TrainingConfig(model: ModelConfig(preset: .dcgan, imageSize: 28, channels: 1),
///                             dataPath: "/usr/share/datasets/fashion-mnist")
/// config.epochs = 2
/// config.learningRateD = 4e-4
/// ```
@dynamicMemberLookup
public struct TrainingConfig: Sendable {
    /// The architecture (its settings are `ModelSettings`).
    public var model: ModelConfig
    /// The settings set (given, or read from a file), by key; the others have their defaults.
    var values: [String: any SettingValue] = [:]

    public init(model: ModelConfig, dataPath: String) {
        self.model = model
        self.dataPath = dataPath
    }

    /// The value of a setting of `TrainingSettings`: `config.batchSize`.
    public subscript<Value>(dynamicMember path: KeyPath<TrainingSettings.Type, Setting<Value>>) -> Value {
        get { self[TrainingSettings.self[keyPath: path]] }
        set { self[TrainingSettings.self[keyPath: path]] = newValue }
    }

    /// The value of `setting`: the one set, or its default for this model.
    public subscript<Value>(setting: Setting<Value>) -> Value {
        get {
            precondition(setting.location == .training, "TrainingConfig: \(setting.key) is the model's (config.model)")
            return values[setting.key].map { $0 as! Value } ?? setting.defaultValue(for: model)
        }
        set {
            precondition(setting.location == .training, "TrainingConfig: \(setting.key) is the model's (config.model)")
            values[setting.key] = newValue
        }
    }

    /// Whether `setting` was set (given, or read from a file) rather than left to its default.
    public func isSet(_ setting: any AnySetting) -> Bool { values[setting.key] != nil }

    /// Datasets smaller than this get DiffAugment by default under `sngan` (Zhao et al. measure
    /// its gains at 10–20% of CIFAR-10, 5 000–10 000 images).
    public static let smallDataset = 10_000

    /// Applies the data-dependent default of the modern preset: DiffAugment (color, translation,
    /// cutout) for a dataset of fewer than `smallDataset` images, unless `augment` was set.
    public mutating func adapt(toDatasetOf count: Int) {
        if model.preset == .sngan && !isSet(TrainingSettings.augment) && count < Self.smallDataset {
            self.augment = DiffAugment.Operation.allCases
        }
    }

    /// The images this run trains on: all of `dataset`, or its first `limit` (or `limit` drawn
    /// with the run's seed); followed by their mirror images with `mirror`.
    public func trainingSubset(of dataset: ImageDataset) -> ImageDataset {
        let kept: ImageDataset
        if let limit = self.limit, limit < dataset.count {
            if !self.limitRandom {
                kept = dataset.subset(Array(0..<limit))
            } else {
                let order = Batcher(dataset, batchSize: 1, seed: RandomGenerator.derivedSeed(self.seed, 0x6c696d)).order(epoch: 0)
                kept = dataset.subset(Array(order.prefix(limit)).sorted())
            }
        } else {
            kept = dataset
        }
        return self.mirror ? kept.mirrored() : kept
    }

    /// Why these settings cannot train, naming the setting and the value, or nil when they can.
    public var problem: String? {
        if let problem = model.problem { return problem }
        if let problem = TrainingSettings.stored.lazy.compactMap({ $0.problem(in: self) }).first { return problem.description }
        if self.syncBatchNorm && model.discriminatorHasBatchNorm && (self.r1 > 0 || self.r2 > 0 || self.loss == .wganGP) {
            return "the gradient penalties cannot pass through the discriminator's synchronized batch norm (it has no "
                + "second-order rule across processes); train without synchronized batch norm, or a model whose "
                + "discriminator has none (sngan, mlp)"
        }
        return nil
    }
}

extension TrainingConfig: Equatable {
    /// Equal when every setting has the same value, set or by default.
    public static func == (a: TrainingConfig, b: TrainingConfig) -> Bool {
        a.model == b.model && TrainingSettings.stored.allSatisfy { $0.value(in: a).isEqual(to: $0.value(in: b)) }
    }
}

extension SettingValue {
    func isEqual(to other: any SettingValue) -> Bool { (other as? Self) == self }
}

extension TrainingConfig: Codable {
    /// `{"model": {…}, "dataPath": …, "epochs": …, …}`: every setting, by its key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: SettingKey.self)
        try c.encode(model, forKey: SettingKey("model"))
        for setting in TrainingSettings.stored { try setting.encode(self, to: &c) }
    }

    /// The model and the data are required; every other setting absent from the file keeps its
    /// default, so checkpoints written before a setting existed keep loading.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: SettingKey.self)
        self.init(model: try c.decode(ModelConfig.self, forKey: SettingKey("model")),
                  dataPath: try c.decode(String.self, forKey: SettingKey(TrainingSettings.dataPath.key)))
        for setting in TrainingSettings.stored { try setting.decode(c, into: &self) }
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
        let used = min(self.limit ?? dataset.count, dataset.count)
        guard used >= self.batchSize else {
            throw TrainingError.datasetMismatch(path: dataset.name, detail: "\(used) images are fewer than one batch of \(self.batchSize)")
        }
    }

    /// Up to 12 class names for a message.
    static func list(_ names: [String]) -> String {
        "\(names.count) (" + names.prefix(12).joined(separator: ", ") + (names.count > 12 ? ", …" : "") + ")"
    }
}

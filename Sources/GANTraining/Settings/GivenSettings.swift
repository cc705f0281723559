import Datasets
import GANModels
import Tensors

/// The settings a user gave for a run (on the command line, or in code), checked one by one, not
/// yet combined with the data: what turns them into a `TrainingConfig`, and what refuses the ones
/// that would have no effect.
public struct GivenSettings: Sendable {
    /// The given values by setting key, and the keys in the order given.
    var values: [String: any SettingValue] = [:]
    public private(set) var keys: [String] = []

    public init() {}

    /// A setting given twice takes its last value (as command lines do: a script may append an
    /// override).
    public init(_ assignments: [SettingAssignment]) {
        for a in assignments { add(a) }
    }

    public mutating func add(_ assignment: SettingAssignment) {
        if values.updateValue(assignment.value, forKey: assignment.key) == nil { keys.append(assignment.key) }
    }

    /// The given value of `setting`, if any.
    public subscript<Value>(setting: Setting<Value>) -> Value? { values[setting.key].map { $0 as! Value } }

    public func contains(_ setting: any AnySetting) -> Bool { values[setting.key] != nil }

    /// The value of `setting`: given, or the table's default for the given preset (before the data
    /// is known: at the preset's own image size).
    public func value<Value>(_ setting: Setting<Value>) -> Value {
        if let given = self[setting] { return given }
        if setting.key == ModelSettings.model.key { return preset as! Value }
        return setting.defaultValue(for: ModelConfig(preset: preset, imageSize: preset.defaultImageSize, channels: 3))
    }

    /// The model preset: given, or the default for the data (`ModelSettings.defaultPreset(for:)`:
    /// fastgan for folders of photos and the emoji set, dcgan-cpu for the others).
    public var preset: ModelPreset {
        self[ModelSettings.model] ?? ModelSettings.defaultPreset(for: try? DatasetLoader.format(of: dataPath))
    }
    /// The data: given, or the default (which does not depend on the preset, whose default depends on it).
    public var dataPath: String {
        self[TrainingSettings.dataPath] ?? TrainingSettings.dataPath.defaultValue(
            for: ModelConfig(preset: ModelSettings.defaultPreset, imageSize: ModelSettings.defaultPreset.defaultImageSize, channels: 1))
    }
    /// The size and channels a folder of photos is loaded at.
    public var imageSize: Int { value(ModelSettings.imageSize) }
    public var channels: Int { value(ModelSettings.channels) }

    /// Refuses settings that would have no effect on data of `format` or with the other settings,
    /// rather than train silently without them.
    public func refuseIgnored(format: DatasetFormat) throws(SettingError) {
        if !format.isResizable {
            for s in [ModelSettings.imageSize, ModelSettings.channels] where contains(s) {
                throw SettingError(key: s.key, problem: "applies only to folders of photos and emoji; \(dataPath) is \(format.name), whose images keep their own size and channels")
            }
            if contains(TrainingSettings.background) {
                throw SettingError(key: TrainingSettings.background.key, problem: "applies only to folders of photos and emoji; \(dataPath) is \(format.name), which has no transparency")
            }
        }
        if format != .emoji && self[TrainingSettings.skinTones] == true {
            throw SettingError(key: TrainingSettings.skinTones.key, problem: "applies only to the emoji set (--data emoji)")
        }
        if preset == .mlp, contains(ModelSettings.width) {
            throw SettingError(key: ModelSettings.width.key, problem: "does not apply to the mlp model (its layers have fixed sizes: 128, 256, 512, 1024)")
        }
        if self[ModelSettings.auxiliaryClassifier] == true && self[ModelSettings.conditional] != true {
            throw SettingError(key: ModelSettings.auxiliaryClassifier.key, problem: "applies only to a conditional model (it predicts classes)")
        }
        if contains(TrainingSettings.auxiliaryWeight), self[ModelSettings.auxiliaryClassifier] != true {
            throw SettingError(key: TrainingSettings.auxiliaryWeight.key, problem: "applies only with the auxiliary classifier")
        }
        if self[TrainingSettings.limitRandom] == true && self[TrainingSettings.limit] == nil {
            throw SettingError(key: TrainingSettings.limitRandom.key, problem: "applies only with an image limit")
        }
        if contains(TrainingSettings.realLabel), value(TrainingSettings.loss) == .hinge {
            throw SettingError(key: TrainingSettings.realLabel.key, problem: "does not apply to the hinge loss (its margins have no target label)")
        }
        if contains(TrainingSettings.evalCount), value(TrainingSettings.evalEvery) == 0 {
            throw SettingError(key: TrainingSettings.evalCount.key, problem: "applies only with evaluations during training (off by default)")
        }
    }

    /// The given settings a resumed run cannot change (it keeps the settings it started with):
    /// every one but those marked `changesOnResume`.
    public var fixedOnResume: [any AnySetting] {
        keys.compactMap(TrainingSettings.named).filter { !$0.changesOnResume }
    }

    /// A new run's configuration on `dataset`: the model's settings from the given ones and the
    /// data (its size, channels and, when conditional, its classes), every other setting given or
    /// its default; then the data-dependent defaults (`adapt`).
    public func configuration(for dataset: ImageDataset) throws -> TrainingConfig {
        var classNames: [String] = []
        if self[ModelSettings.conditional] == true { classNames = try dataset.requireLabels().classNames }
        let model = ModelConfig(preset: preset, imageSize: dataset.height, channels: dataset.channels, latent: self[ModelSettings.latent],
                                width: self[ModelSettings.width], noise: self[ModelSettings.noise],
                                spectralNorm: self[ModelSettings.spectralNorm], classNames: classNames,
                                auxiliaryClassifier: self[ModelSettings.auxiliaryClassifier] ?? false)
        if let problem = model.problem {
            throw TrainingError.datasetMismatch(path: dataset.name, detail: "\(preset.rawValue) cannot train on its \(dataset.width)×\(dataset.height) images: \(problem)")
        }
        var config = TrainingConfig(model: model, dataPath: dataPath)
        for key in keys {
            guard let setting = TrainingSettings.named(key), setting.location == .training else { continue }
            setting.assign(values[key]!, to: &config)
        }
        config.adapt(toDatasetOf: min(config.limit ?? dataset.count, dataset.count))
        if contains(TrainingSettings.maxMinutes) && !contains(TrainingSettings.epochs) { config.epochs = TrainingSettings.unlimitedEpochs }
        return config
    }
}

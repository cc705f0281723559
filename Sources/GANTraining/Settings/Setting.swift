import Datasets
import Foundation
import GANModels
import Tensors

/// A value a setting can hold: read from and written as text (command line, help, the training guide) and as
/// JSON (`config.json`, `state.json`).
public protocol SettingValue: Codable, Sendable, Equatable {
    /// The value a user's text names, or nil when it names none.
    init?(settingText: String)
    /// The value as a user would write it.
    var settingText: String { get }
}

extension Int: SettingValue {
    public init?(settingText: String) { self.init(settingText) }
    public var settingText: String { String(self) }
}

extension UInt64: SettingValue {
    public init?(settingText: String) { self.init(settingText) }
    public var settingText: String { String(self) }
}

extension Float: SettingValue {
    public init?(settingText: String) { self.init(settingText) }
    public var settingText: String { "\(self)" }
}

extension Double: SettingValue {
    public init?(settingText: String) { self.init(settingText) }
    public var settingText: String { formatted() }
}

extension Bool: SettingValue {
    public init?(settingText: String) { self.init(settingText) }
    public var settingText: String { "\(self)" }
}

extension String: SettingValue {
    public init?(settingText: String) { self = settingText }
    public var settingText: String { self }
}

extension Optional: SettingValue where Wrapped: SettingValue {
    /// "none" is nil; anything else must name a value.
    public init?(settingText: String) {
        if settingText == "none" { self = .none; return }
        guard let value = Wrapped(settingText: settingText) else { return nil }
        self = .some(value)
    }
    public var settingText: String { map(\.settingText) ?? "none" }
}

extension SettingValue where Self: RawRepresentable, RawValue == String {
    public init?(settingText: String) { self.init(rawValue: settingText) }
    public var settingText: String { rawValue }
}

extension GANLoss: SettingValue {}
extension Precision: SettingValue {}
extension Background: SettingValue {}
extension ModelPreset: SettingValue {}
extension NoiseDistribution: SettingValue {}
extension SpectralNormPlacement: SettingValue {}

extension Array: SettingValue where Element == DiffAugment.Operation {
    /// A comma-separated list of operations, or "none".
    public init?(settingText: String) {
        if settingText == "none" { self = []; return }
        guard let parsed = try? DiffAugment(parsing: settingText) else { return nil }
        self = parsed.operations
    }
    public var settingText: String { isEmpty ? "none" : map(\.rawValue).joined(separator: ",") }
}

/// What a number of a setting counts. Every interval setting names its unit in its help, and
/// accepts it as a suffix of the value (`--sample-every 100steps`, `--checkpoint-every 2epochs`);
/// a value with another unit is refused, unless the setting names a sibling for it
/// (`--checkpoint-every 1000steps` sets the checkpoint interval in steps).
public enum SettingUnit: String, Sendable, CaseIterable {
    case steps, epochs, minutes, images

    /// The spellings accepted after a number, longest first.
    var suffixes: [String] {
        switch self {
        case .steps: return ["steps", "step"]
        case .epochs: return ["epochs", "epoch"]
        case .minutes: return ["minutes", "minute", "min"]
        case .images: return ["images", "image"]
        }
    }

    /// "2h", "1.5 hours": the minutes they are, as text ("120.0"); nil for anything else.
    static func hours(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for suffix in ["hours", "hour", "h"] where trimmed.hasSuffix(suffix) {
            if let h = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), h.isFinite { return String(h * 60) }
        }
        return nil
    }

    /// Splits "100steps" or "100 steps" into the number's text and its unit (nil: none written).
    static func split(_ text: String) -> (number: String, unit: SettingUnit?) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for unit in allCases {
            for suffix in unit.suffixes where trimmed.hasSuffix(suffix) {
                let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
                if let last = number.last, last.isNumber || last == "." { return (number, unit) }
            }
        }
        return (trimmed, nil)
    }
}

/// Where a setting's value lives: in the training configuration, or in the model's architecture
/// (`ModelConfig`, whose own initializer holds those defaults, per preset).
public enum SettingLocation: Sendable {
    case training
    case model
}

/// One training setting, declared once: its name in `config.json`, its command-line flag, what it
/// means, its default, its unit and what values it accepts. `TrainingSettings` lists them all;
/// `TrainingConfig` reads and writes them by name (`config.batchSize`), encodes and decodes them
/// (an absent key is the default), and validates them; the CLI's options, its help, the refusal of
/// changes on `--resume` and the training guide's table of flags (docs/guide/training.md) come from the same list.
public struct Setting<Value: SettingValue>: Sendable {
    /// The key in `config.json` and `state.json`.
    public let key: String
    /// The command-line flag, without its dashes (`batch-size`).
    public let flag: String
    /// What it is, as a noun phrase for messages that speak of values ("the batch size").
    public let noun: String
    public let help: String
    public let unit: SettingUnit?
    /// The placeholder of the value in the help (`N`, `X`, `NAME`); nil for a flag without value.
    public let placeholder: String?
    public let location: SettingLocation
    /// Whether a resumed run may take another value (`--epochs`, `--max-steps`).
    public let changesOnResume: Bool
    /// The default, which may depend on the model (sngan trains with the hinge loss).
    let defaultValue: @Sendable (ModelConfig) -> Value
    /// What is wrong with a value ("must be positive"), or nil.
    let check: @Sendable (Value) -> String?
    /// Settings that take this one's value when it is written in another unit.
    let siblings: [SettingUnit: String]

    public init(_ key: String, flag: String, noun: String, unit: SettingUnit? = nil, placeholder: String? = "N",
                location: SettingLocation = .training, changesOnResume: Bool = false, siblings: [SettingUnit: String] = [:],
                help: String, default defaultValue: @escaping @Sendable (ModelConfig) -> Value, check: @escaping @Sendable (Value) -> String? = { _ in nil }) {
        self.key = key; self.flag = flag; self.noun = noun; self.help = help; self.unit = unit; self.placeholder = placeholder
        self.location = location; self.changesOnResume = changesOnResume; self.siblings = siblings
        self.defaultValue = defaultValue; self.check = check
    }

    /// The same, with one default for every model.
    public init(_ key: String, flag: String, noun: String, unit: SettingUnit? = nil, placeholder: String? = "N",
                location: SettingLocation = .training, changesOnResume: Bool = false, siblings: [SettingUnit: String] = [:],
                help: String, default value: Value, check: @escaping @Sendable (Value) -> String? = { _ in nil }) {
        self.init(key, flag: flag, noun: noun, unit: unit, placeholder: placeholder, location: location,
                  changesOnResume: changesOnResume, siblings: siblings, help: help, default: { _ in value }, check: check)
    }

    /// The default for `model`.
    public func defaultValue(for model: ModelConfig) -> Value { defaultValue(model) }

    /// Why `value` cannot be this setting's ("must be positive, got 0"), or nil.
    public func problem(_ value: Value) -> String? { check(value).map { "\($0), got \(value.settingText)" } }
}

/// A setting of any value type: what the command line, the help and the files need of it.
public protocol AnySetting: Sendable {
    var key: String { get }
    var flag: String { get }
    var noun: String { get }
    var help: String { get }
    var unit: SettingUnit? { get }
    var placeholder: String? { get }
    var location: SettingLocation { get }
    var changesOnResume: Bool { get }
    /// The default as text, for `model` ("128").
    func defaultText(for model: ModelConfig) -> String
    /// Parses a user's text (with an optional unit suffix) into a value of this setting; the value
    /// and the setting it belongs to (a sibling when the text names the sibling's unit).
    func parse(_ text: String) throws(SettingError) -> SettingAssignment
    /// The value in `config` (set, or the default for its model). Settings of the model are read
    /// from `config.model` by their owners, not here.
    func value(in config: TrainingConfig) -> any SettingValue
    /// Sets `value` (of this setting's type) in `config`.
    func assign(_ value: any SettingValue, to config: inout TrainingConfig)
    /// Why the value in `config` cannot train ("the batch size must be positive, got 0"), or nil.
    func problem(in config: TrainingConfig) -> SettingError?
    func encode(_ config: TrainingConfig, to container: inout KeyedEncodingContainer<SettingKey>) throws
    func decode(_ container: KeyedDecodingContainer<SettingKey>, into config: inout TrainingConfig) throws
}

/// A setting's key in a JSON object.
public struct SettingKey: CodingKey {
    public let stringValue: String
    public init(_ key: String) { stringValue = key }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public var intValue: Int? { nil }
    public init?(intValue: Int) { nil }
}

/// A setting's value, parsed and checked, not yet applied to a configuration.
public struct SettingAssignment: Sendable {
    public let key: String
    public let value: any SettingValue
}

/// A setting a user gave that cannot be taken. `description` speaks of the value ("the batch size
/// must be positive, got 0"); the CLI names the flag instead.
public struct SettingError: Error, Equatable, CustomStringConvertible {
    /// The key of the setting.
    public let key: String
    /// What is wrong, without the setting's name ("must be positive, got 0").
    public let problem: String

    public init(key: String, problem: String) { self.key = key; self.problem = problem }

    public var description: String {
        let noun = TrainingSettings.named(key)?.noun ?? key
        return "\(noun) \(problem)"
    }
}

extension Setting: AnySetting {
    public func defaultText(for model: ModelConfig) -> String { defaultValue(model).settingText }

    public func value(in config: TrainingConfig) -> any SettingValue { config[self] }

    public func assign(_ value: any SettingValue, to config: inout TrainingConfig) {
        guard let value = value as? Value else {
            preconditionFailure("Setting \(key): a \(type(of: value)) assigned to a setting of \(Value.self)")
        }
        config[self] = value
    }

    public func problem(in config: TrainingConfig) -> SettingError? {
        check(config[self]).map { SettingError(key: key, problem: "\($0), got \(config[self].settingText)") }
    }

    public func encode(_ config: TrainingConfig, to container: inout KeyedEncodingContainer<SettingKey>) throws {
        try container.encode(config[self], forKey: SettingKey(key))
    }

    public func decode(_ container: KeyedDecodingContainer<SettingKey>, into config: inout TrainingConfig) throws {
        // An absent key keeps the default; `null` is a value only for optional settings.
        guard container.contains(SettingKey(key)) else { return }
        config[self] = try container.decode(Value.self, forKey: SettingKey(key))
    }

    public func parse(_ text: String) throws(SettingError) -> SettingAssignment {
        var text = text
        if unit == .minutes, let hours = SettingUnit.hours(text) { text = hours }
        if let unit {
            let (number, written) = SettingUnit.split(text)
            if let written, written != unit {
                guard let sibling = siblings[written].flatMap(TrainingSettings.named) else {
                    throw SettingError(key: key, problem: "counts \(unit.rawValue), not \(written.rawValue); got \(text)")
                }
                return try sibling.parse(number + sibling.unit!.rawValue)
            }
            text = number
        }
        guard let value = Value(settingText: text) else {
            throw SettingError(key: key, problem: "expects \(Self.kind(of: Value.self))\(unit.map { " (\($0.rawValue))" } ?? ""), got \(text)")
        }
        if let problem = check(value) { throw SettingError(key: key, problem: "\(problem), got \(text)") }
        return SettingAssignment(key: key, value: value)
    }

    /// How the help describes what a value must look like.
    static func kind(of type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int?.Type, is UInt64.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is GANLoss.Type: return "one of " + GANLoss.allCases.map(\.rawValue).joined(separator: ", ")
        case is Precision.Type: return "one of " + Precision.allCases.map(\.rawValue).joined(separator: ", ")
        case is ModelPreset.Type: return "one of " + ModelPreset.allCases.map(\.rawValue).joined(separator: ", ")
        case is NoiseDistribution.Type: return "one of " + NoiseDistribution.allCases.map(\.rawValue).joined(separator: ", ")
        case is SpectralNormPlacement.Type: return "one of " + SpectralNormPlacement.allCases.map(\.rawValue).joined(separator: ", ")
        case is [DiffAugment.Operation].Type: return "a list of " + DiffAugment.Operation.allCases.map(\.rawValue).joined(separator: ", ") + " or none"
        default: return "a value"
        }
    }
}

/// Checks shared by several settings.
enum Checks {
    static func positive<T: Comparable & ExpressibleByIntegerLiteral>(_ v: T) -> String? { v > 0 ? nil : "must be positive" }
    static func nonNegative<T: Comparable & ExpressibleByIntegerLiteral>(_ v: T) -> String? { v >= 0 ? nil : "must be 0 or more" }
    static func positiveOrNone(_ v: Int?) -> String? { v.map { $0 > 0 ? nil : "must be positive" } ?? nil }
    static func positiveFinite(_ v: Float) -> String? { v.isFinite && v > 0 ? nil : "must be a positive number" }
    static func unitInterval(_ v: Float) -> String? { v.isFinite && v >= 0 && v < 1 ? nil : "must be in [0, 1)" }
    static func finiteNonNegative(_ v: Double) -> String? { v.isFinite && v >= 0 ? nil : "must be 0 or more" }
    static func finiteNonNegative(_ v: Float) -> String? { v.isFinite && v >= 0 ? nil : "must be 0 or more" }
}

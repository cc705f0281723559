import Datasets
import Foundation
import Testing
@testable import GANModels
@testable import GANTraining
import Tensors

/// The settings table is the one declaration of every setting: these tests fail when a setting
/// escapes it, when a file loses one, or when the training guide's table drifts from it.
@Suite struct SettingsTableTests {
    static let model = ModelConfig(preset: .dcgan, imageSize: 28, channels: 1)

    /// A value of `setting` other than its default, as a user would write it: the first of a few
    /// texts of every kind that the setting accepts.
    static func example(_ setting: any AnySetting) -> String? {
        let candidates = ["17", "0.25", "true", "lsgan", "bf16", "color,cutout", "none", "sngan", "uniform", "both", "black", "/other/data"]
        return candidates.first { text in
            (try? setting.parse(text))?.key == setting.key && text != setting.defaultText(for: model)
        }
    }

    /// Every setting of `TrainingSettings` set to a value other than its default (its `example`,
    /// parsed as a user would write it) survives config.json and state.json.
    @Test func everySettingRoundTripsThroughTheFiles() throws {
        var config = TrainingConfig(model: Self.model, dataPath: "x")
        for setting in TrainingSettings.stored {
            if setting.key == TrainingSettings.precision.key, let reason = Precision.bf16.unavailableReason {
                print("SettingsTableTests: precision keeps its default here (bf16: \(reason))")
                continue
            }
            let example = try #require(Self.example(setting), "\(setting.key): no value other than its default was accepted")
            let assignment = try setting.parse(example)
            setting.assign(assignment.value, to: &config)
            #expect(setting.value(in: config).isEqual(to: assignment.value), "\(setting.key)")
        }
        #expect(config != TrainingConfig(model: Self.model, dataPath: "x"))
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder.readable.encode(config))
        #expect(decoded == config)
        for setting in TrainingSettings.stored {
            #expect(setting.value(in: decoded).settingText == setting.value(in: config).settingText, "\(setting.key)")
        }
        var state = TrainingState(config: config)
        state.step = 9
        #expect(try JSONDecoder().decode(TrainingState.self, from: JSONEncoder().encode(state)) == state)
    }

    /// The JSON of a configuration holds exactly the model and the table's keys: a setting cannot
    /// be stored without being declared.
    @Test func theFilesHoldExactlyTheTablesSettings() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingConfig(model: Self.model, dataPath: "x"))) as! [String: Any]
        #expect(Set(json.keys) == Set(["model"] + TrainingSettings.stored.map(\.key)))
        let modelKeys = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.model)) as! [String: Any]
        // Every field of the model but its class names (from the data, with --conditional) is a setting.
        #expect(Set(modelKeys.keys).subtracting(["classNames"]) == Set(ModelSettings.all.map(\.key)).subtracting(["conditional"]))
        // Keys and flags are unique.
        #expect(Set(TrainingSettings.all.map(\.key)).count == TrainingSettings.all.count)
        #expect(Set(TrainingSettings.all.map(\.flag)).count == TrainingSettings.all.count)
    }

    /// `stored` is complete: every setting the table's source declares (`= Setting<…>("key", …)`)
    /// is in `all` (the model's settings and `stored`), so a setting declared and forgotten in the
    /// list — never written to `config.json`, never a flag — fails here. (`TrainingConfig` keeps
    /// its values by key, so its fields cannot be compared by reflection.)
    @Test func theStoredListIsComplete() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/GANTraining/Settings/TrainingSettings.swift").standardized
        let text = try String(contentsOf: source, encoding: .utf8)
        // The keys, in the declarations' first argument: `Setting<T>(\n "key", …` or `Setting<T>("key", …`.
        var keys: [String] = []
        var scanner = text[...]
        while let found = scanner.range(of: " = Setting<") {
            let rest = scanner[found.upperBound...]
            if let open = rest.firstIndex(of: "\""), let close = rest[rest.index(after: open)...].firstIndex(of: "\"") {
                keys.append(String(rest[rest.index(after: open)..<close]))
            }
            scanner = rest
        }
        #expect(keys.count >= 40, "found \(keys.count) declarations")
        let known = Set(TrainingSettings.all.map(\.key))
        #expect(Set(keys).isSubset(of: known), "declared but in no list: \(Set(keys).subtracting(known).sorted())")
        // And nothing is listed twice (the lists are what `config.json` and the help are made from).
        #expect(Set(TrainingSettings.all.map(\.key)).count == TrainingSettings.all.count)
    }

    /// Defaults that depend on the model come from the table, and set values stay set when the
    /// model changes.
    @Test func defaultsFollowThePresetUntilSet() {
        var config = TrainingConfig(model: Self.model, dataPath: "x")
        #expect(config.loss == .bce && config.realLabel == 0.9 && config.ema == 0)
        config.model = ModelConfig(preset: .sngan, imageSize: 28, channels: 1)
        #expect(config.loss == .hinge && config.realLabel == 1 && config.ema == 0.999)
        config.loss = .lsgan
        config.model = Self.model
        #expect(config.loss == .lsgan && config.isSet(TrainingSettings.loss) && !config.isSet(TrainingSettings.ema))
    }

    /// Each check speaks of the value in the library and is the same rule the CLI applies.
    @Test func checksNameTheSettingAndTheValue() throws {
        var config = TrainingConfig(model: Self.model, dataPath: "x")
        config.batchSize = 0
        #expect(config.problem == "the batch size must be positive, got 0")
        config.batchSize = 8
        config.checkpointMinutes = -1
        #expect(config.problem == "the minutes between checkpoints must be 0 or more, got -1")
        #expect(throws: SettingError(key: "batchSize", problem: "must be positive, got 0")) { try TrainingSettings.batchSize.parse("0") }
        #expect(throws: SettingError(key: "ema", problem: "must be in [0, 1), got 1")) { try TrainingSettings.ema.parse("1") }
    }

    /// Intervals name their unit; a value may carry it, and a checkpoint interval in another unit
    /// sets that unit's setting.
    @Test func intervalsTakeTheirUnit() throws {
        #expect(try TrainingSettings.sampleEvery.parse("250steps").value.settingText == "250")
        #expect(try TrainingSettings.sampleEvery.parse("250 steps").value.settingText == "250")
        #expect(throws: SettingError.self) { try TrainingSettings.sampleEvery.parse("2epochs") }
        let bySteps = try TrainingSettings.checkpointEvery.parse("1000steps")
        #expect(bySteps.key == "checkpointSteps" && bySteps.value.settingText == "1000")
        let byTime = try TrainingSettings.checkpointEvery.parse("15min")
        #expect(byTime.key == "checkpointMinutes" && byTime.value.settingText == "15")
        #expect(try TrainingSettings.checkpointEvery.parse("2").key == "checkpointEvery")
        for setting in [TrainingSettings.sampleEvery, TrainingSettings.logEvery, TrainingSettings.checkpointSteps] { #expect(setting.unit == .steps) }
        #expect(TrainingSettings.checkpointEvery.unit == .epochs && TrainingSettings.evalEvery.unit == .epochs)
    }

    /// Settings that would have no effect are refused before any work, each naming itself; the
    /// defaults that decide (sngan's hinge loss) come from the table.
    @Test func settingsThatWouldHaveNoEffectAreRefused() throws {
        func given(_ pairs: [(any AnySetting, String)]) throws -> GivenSettings { GivenSettings(try pairs.map { try $0.0.parse($0.1) }) }
        let idx = DatasetFormat.idx(images: "x", labels: nil), folder = DatasetFormat.imageFolder
        #expect(throws: SettingError.self) { try given([(ModelSettings.imageSize, "32")]).refuseIgnored(format: idx) }
        try given([(ModelSettings.imageSize, "32")]).refuseIgnored(format: folder)
        #expect(throws: SettingError.self) { try given([(ModelSettings.model, "mlp"), (ModelSettings.width, "8")]).refuseIgnored(format: idx) }
        #expect(throws: SettingError.self) { try given([(ModelSettings.model, "sngan"), (TrainingSettings.realLabel, "0.9")]).refuseIgnored(format: idx) }
        try given([(ModelSettings.model, "sngan"), (TrainingSettings.loss, "bce"), (TrainingSettings.realLabel, "0.9")]).refuseIgnored(format: idx)
        #expect(throws: SettingError.self) { try given([(TrainingSettings.limitRandom, "true")]).refuseIgnored(format: idx) }
        #expect(throws: SettingError.self) { try given([(TrainingSettings.evalCount, "100")]).refuseIgnored(format: idx) }
        try given([(TrainingSettings.evalCount, "100"), (TrainingSettings.evalEvery, "1")]).refuseIgnored(format: idx)
        // Before the data is known, the defaults a run would load photos at are the table's.
        #expect(try given([(ModelSettings.model, "catdcgan")]).imageSize == 128 && GivenSettings().imageSize == 64 && GivenSettings().channels == 3)
    }

    /// Unit suffixes: with or without a space, singular or plural; a number must come first.
    @Test func unitSuffixesAreRead() {
        func split(_ text: String) -> String { let (number, unit) = SettingUnit.split(text); return number + "|" + (unit?.rawValue ?? "-") }
        #expect(split("100steps") == "100|steps" && split("1 epoch") == "1|epochs" && split("2.5min") == "2.5|minutes")
        #expect(split("64") == "64|-" && split("steps") == "steps|-" && split("10 images") == "10|images")
    }

    /// The time budget: minutes, hours as minutes, `--max-time` as its other name; a budget must be
    /// a positive number of minutes.
    @Test func theTimeBudgetTakesMinutesOrHours() throws {
        func minutes(_ text: String) throws -> Double? { try TrainingSettings.maxMinutes.parse(text).value as? Double }
        #expect(try minutes("30") == 30 && minutes("90min") == 90 && minutes("2h") == 120 && minutes("1.5 hours") == 90)
        #expect(TrainingSettings.flagged("max-time")?.key == TrainingSettings.maxMinutes.key)
        #expect(try TrainingSettings.checkpointMinutes.parse("1h").value as? Double == 60)
        for bad in ["0", "-5", "2days", "nanh"] {
            #expect(throws: SettingError.self, "\(bad)") { try TrainingSettings.maxMinutes.parse(bad) }
        }
    }

    /// A resumed run may change only its length; everything else given is listed.
    @Test func givenSettingsThatCannotChangeOnResumeAreListed() throws {
        let given = GivenSettings([try TrainingSettings.epochs.parse("3"), try TrainingSettings.seed.parse("4"),
                                   try TrainingSettings.learningRateG.parse("0.1")])
        #expect(given.fixedOnResume.map(\.flag) == ["seed", "lr-g"])
        // Given twice, the last value counts (a script may append an override).
        let twice = GivenSettings([try TrainingSettings.seed.parse("1"), try TrainingSettings.seed.parse("2")])
        #expect(twice[TrainingSettings.seed] == 2 && twice.keys == ["seed"])
    }

    /// The training guide's table of flags (docs/guide/training.md) is the table's own rendering.
    @Test func theGuideListsEverySettingAsTheTableDoes() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/guide/training.md").standardized
        let text = try String(contentsOf: readme, encoding: .utf8)
        let begin = "<!-- settings-table: begin -->\n", end = "\n<!-- settings-table: end -->"
        guard let start = text.range(of: begin), let stop = text.range(of: end) else {
            Issue.record("docs/guide/training.md has no settings-table markers")
            return
        }
        let inReadme = String(text[start.upperBound..<stop.lowerBound])
        #expect(inReadme == TrainingSettings.markdownTable,
                "docs/guide/training.md's settings table differs from TrainingSettings.markdownTable; paste `swift run swiftgan train --settings-table` there")
    }
}

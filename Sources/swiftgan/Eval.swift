import ArgumentParser
import Datasets
import Foundation
import GANEvaluation
import GANExport
import GANModels
import GANTraining
import NN
import Tensors

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a generator: Fréchet and kernel distances, classifier score, class coverage, precision and recall.",
        discussion: """
        Features come from a small CNN trained on the dataset's training split (cached under ~/.cache/swiftgan)
        and are compared with the test split; real training images are scored the same way as the floor.
        Unlabelled data (a folder of photos) needs --features: a classifier's safetensors file.
        """)

    @Argument(help: "A run directory (its latest checkpoint) or a checkpoint directory.") var checkpoint: String
    @Option(help: "Generated images to evaluate.") var count: Int = 10_000
    @Option(help: "Seed of the latent vectors.") var seed: UInt64 = 0
    @Option(help: "Dataset (default: the one the run trained on).") var data: String?
    @Option(help: "Classifier weights (safetensors) to use instead of training one; required for unlabelled data.") var features: String?
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(help: "Arithmetic of the generator's convolutions: fp32 or bf16 (AVX512-BF16 or AMX-BF16; images within ~1% of fp32's).")
    var precision: Precision = .fp32

    func validate() throws {
        guard count >= 10 else { throw ValidationError("--count must be at least 10 (k-nearest-neighbour precision and recall), got \(count)") }
        try available(precision)
    }

    func run() throws {
        try reportingErrors {
            let t0 = Date()
            let sampler = try Sampler(checkpoint: checkpoint, precision: precision)
            let state = try Checkpoint.summary(try Checkpoint.resolve(checkpoint))
            let path = data ?? state.dataPath
            let log: (String) -> Void = { if !json { say($0) } }
            let train = try DatasetLoader.load(path, imageSize: sampler.config.imageSize, channels: sampler.config.channels,
                                               background: state.backgroundLevel, skinTones: state.skinTones)
            let classifier: Classifier, accuracy: Double, test: ImageDataset
            if let features {
                (classifier, accuracy) = try Classifier.load(contentsOf: features, imageSize: sampler.config.imageSize,
                                                             channels: sampler.config.channels)
                test = train
            } else {
                guard train.labels != nil else {
                    throw ValidationError("\(path) has no labels, so no classifier can be trained on it: none of the metrics "
                        + "(Fréchet distance, classifier score, class coverage, precision/recall) can be computed. Give --features FILE.")
                }
                test = try Evaluator.testSplit(of: path, train: train)
                (classifier, accuracy) = try Classifier.forDataset(train, test: test, log: log)
            }
            let evaluator = Evaluator(classifier: classifier, accuracy: accuracy, test: test)
            let generated = evaluator.evaluate(sampler, count: count, seed: seed)
            let floor = evaluator.floor(train, count: min(count, train.count))
            let seconds = Date().timeIntervalSince(t0)
            if json {
                let encoder = JSONEncoder.readable
                struct Output: Encodable { let checkpoint: String; let step: Int; let classifierAccuracy: Double?
                    let generated: EvaluationReport; let realFloor: EvaluationReport; let modeCollapse: Bool; let seconds: Double }
                let out = Output(checkpoint: try Checkpoint.resolve(checkpoint), step: state.step,
                                 classifierAccuracy: accuracy.isFinite ? accuracy : nil,
                                 generated: generated, realFloor: floor, modeCollapse: generated.modeCollapse, seconds: seconds)
                print(String(decoding: try encoder.encode(out), as: UTF8.self))
                return
            }
            let judged = accuracy.isFinite ? String(format: "classifier test accuracy %.2f%%", 100 * accuracy) : "classifier accuracy unknown"
            say(String(format: "%@ at step %d: %d generated vs %d real images; %@",
                       try Checkpoint.resolve(checkpoint), state.step, count, test.count, judged))
            func row(_ name: String, _ g: String, _ r: String) { say(name.padding(toLength: 26, withPad: " ", startingAt: 0) + g.leftPad(12) + r.leftPad(14)) }
            row("metric", "generated", "real (floor)")
            // The floor is real training images; the classifier's accuracy above is on the test split.
            row("Fréchet distance ↓", String(format: "%.3f", generated.frechetDistance), String(format: "%.3f", floor.frechetDistance))
            row("kernel distance (KID) ↓", String(format: "%.4f", generated.kernelDistance ?? .nan), String(format: "%.4f", floor.kernelDistance ?? .nan))
            row("classifier score ↑", String(format: "%.3f", generated.classifierScore), String(format: "%.3f", floor.classifierScore))
            row("classes covered (≥ 2%)", "\(generated.classCoverage)/\(generated.classes)", "\(floor.classCoverage)/\(floor.classes)")
            row("class histogram KL ↓", String(format: "%.4f", generated.classHistogramKL), String(format: "%.4f", floor.classHistogramKL))
            row("precision ↑", String(format: "%.3f", generated.precision), String(format: "%.3f", floor.precision))
            row("recall ↑", String(format: "%.3f", generated.recall), String(format: "%.3f", floor.recall))
            if let accuracy = generated.classAccuracy {
                func percent(_ v: Double?) -> String { v.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }
                func distance(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "–" }
                row("class accuracy ↑", percent(accuracy), percent(floor.classAccuracy))
                row("intra-class Fréchet ↓", distance(generated.meanIntraClassFrechetDistance), distance(floor.meanIntraClassFrechetDistance))
                func classRow(_ cells: [String]) {
                    say(cells[0].padding(toLength: 20, withPad: " ", startingAt: 0) + cells.dropFirst().map { $0.leftPad(14) }.joined())
                }
                say("")
                classRow(["class", "Fréchet ↓", "accuracy ↑", "precision ↑", "recall ↑", "real Fréchet", "real acc.", "real recall"])
                func fraction(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "–" }
                for (k, name) in sampler.config.classNames.enumerated() {
                    classRow([name, distance(generated.intraClassFrechetDistances?[k] ?? nil), percent(generated.classAccuracies?[k] ?? nil),
                              fraction(generated.classPrecisions?[k] ?? nil), fraction(generated.classRecalls?[k] ?? nil),
                              distance(floor.intraClassFrechetDistances?[k] ?? nil), percent(floor.classAccuracies?[k] ?? nil),
                              fraction(floor.classRecalls?[k] ?? nil)])
                }
            } else if sampler.config.isConditional {
                say("(no class accuracy: the classifier judges \(classifier.classes) classes, the generator draws \(sampler.config.classes))")
            }
            if generated.modeCollapse { say("warning: mode collapse: only \(generated.classCoverage) of \(generated.classes) classes are generated") }
            say(String(format: "evaluated in %.1f s", seconds))
        }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

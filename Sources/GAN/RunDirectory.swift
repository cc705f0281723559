import Foundation
import Imaging

/// The files of one training run, and the only code that knows their names:
///
/// ```
/// RUN/
///   config.json            every hyper-parameter (TrainingConfig)
///   metrics.jsonl          one MetricsLine per logged step or evaluation
///   loss.png               D (blue) and G (orange) loss, redrawn every epoch
///   progress.gif           the epoch grids as an animation, at the end
///   samples/step-00000100.png, epoch-001.png, final.png
///   checkpoints/step-00000468/ …, best/   (see Checkpoint)
/// ```
///
/// A new kind of file in a run (an event log, a figure) is a method here.
public struct RunDirectory: Sendable, Equatable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var configFile: String { path + "/config.json" }
    public var metricsFile: String { path + "/metrics.jsonl" }
    public var lossPlotFile: String { path + "/loss.png" }
    public var progressFile: String { path + "/progress.gif" }
    public var samplesDirectory: String { path + "/samples" }
    public var checkpointsDirectory: String { path + "/checkpoints" }

    /// Which grid of the fixed noise batch.
    public enum SampleGrid: Sendable {
        case step(Int), epoch(Int), final
        var fileName: String {
            switch self {
            case .step(let n): return "step-" + String(format: "%08d", n) + ".png"
            case .epoch(let n): return "epoch-" + String(format: "%03d", n) + ".png"
            case .final: return "final.png"
            }
        }
    }

    public func samplePath(_ grid: SampleGrid) -> String { samplesDirectory + "/" + grid.fileName }

    /// Makes the folders of a new run and writes its configuration. Refuses a directory that
    /// already holds a run, and one that cannot be written.
    public static func create(at path: String, config: TrainingConfig) throws -> RunDirectory {
        let run = RunDirectory(path), fm = FileManager.default
        if fm.fileExists(atPath: run.configFile) { throw RunDirectoryError.holdsARun(path) }
        do {
            try fm.createDirectory(atPath: run.samplesDirectory, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: run.checkpointsDirectory, withIntermediateDirectories: true)
            try JSONEncoder.readable.encode(config).write(to: URL(fileURLWithPath: run.configFile), options: .atomic)
        } catch {
            throw RunDirectoryError.unwritable(path: path, reason: (error as NSError).localizedDescription)
        }
        return run
    }

    /// Opens `metrics.jsonl` for appending (created when absent).
    public func metricsLog() throws -> MetricsLog { try MetricsLog(metricsFile) }

    /// The logged training lines up to and including `step`, oldest first (evaluation lines and
    /// lines a later, abandoned part of the run wrote are left out).
    public func readHistory(upTo step: Int) -> [MetricsLine] {
        guard let text = try? String(contentsOfFile: metricsFile, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { line in
            guard let m = try? decoder.decode(MetricsLine.self, from: Data(line.utf8)), m.step <= step, m.evaluation == nil
            else { return nil }
            return m
        }
    }

    public func writeSamples(_ grid: Image, _ which: SampleGrid) throws {
        try write(samplePath(which)) { try ImageCodec.writePNG(grid, to: $0) }
    }

    /// The D (blue) and G (orange) losses of `history`, with red marks at the `markers` steps.
    public func writeLossPlot(_ history: [MetricsLine], markers: [Int]) throws {
        let d = history.compactMap { m in m.lossD.map { (x: Double(m.step), y: Double($0)) } }
        let g = history.compactMap { m in m.lossG.map { (x: Double(m.step), y: Double($0)) } }
        let image = Plot.lines([(d, (31, 119, 180)), (g, (255, 127, 14))], markers: markers.map(Double.init))
        try write(lossPlotFile) { try ImageCodec.writePNG(image, to: $0) }
    }

    /// The epoch grids of the run, in order, as one animation.
    public func writeProgressGIF() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: samplesDirectory)) ?? [])
            .filter { $0.hasPrefix("epoch-") && $0.hasSuffix(".png") }.sorted()
        let frames = names.compactMap { try? ImageCodec.read(samplesDirectory + "/" + $0) }
        guard !frames.isEmpty else { return }
        try write(progressFile) { try GIF.write(frames, delayCentiseconds: 50, to: $0) }
    }

    private func write(_ file: String, _ body: (String) throws -> Void) throws {
        do { try body(file) } catch {
            throw RunDirectoryError.unwritable(path: file, reason: "\(error)")
        }
    }
}

/// A run directory that cannot be used.
public enum RunDirectoryError: Error, Equatable, CustomStringConvertible {
    /// The directory already holds a run (its `config.json`).
    case holdsARun(String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .holdsARun(let p): return "\(p): it already holds a run"
        case .unwritable(let p, let r): return "\(p): cannot write: \(r)"
        }
    }
}

/// One line of `metrics.jsonl`: a logged training step, or an evaluation.
public struct MetricsLine: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    /// Batch within the epoch (training lines).
    public var batch: Int?
    /// Losses and mean probabilities; nil (JSON null) when not finite or not yet computed.
    public var lossD: Float?, lossG: Float?
    public var dReal: Float?, dFake: Float?
    public var imagesPerSecond: Double?
    /// Time the loop has waited for data this epoch.
    public var loaderWaitSeconds: Double?
    /// The report of an evaluation line.
    public var evaluation: Evaluation?

    public struct Evaluation: Codable, Sendable, Equatable {
        public var frechetDistance: Double, classifierScore: Double
        public var classCoverage: Int, classes: Int
        public var classHistogramKL: Double, precision: Double, recall: Double
        public var images: Int
        public var modeCollapse: Bool

        enum CodingKeys: String, CodingKey {
            case frechetDistance = "frechet_distance", classifierScore = "classifier_score", classCoverage = "class_coverage"
            case classes, classHistogramKL = "class_histogram_kl", precision, recall, images, modeCollapse = "mode_collapse"
        }

        public init(_ r: EvaluationReport) {
            frechetDistance = r.frechetDistance; classifierScore = r.classifierScore
            classCoverage = r.classCoverage; classes = r.classes; classHistogramKL = r.classHistogramKL
            precision = r.precision; recall = r.recall; images = r.images; modeCollapse = r.modeCollapse
        }
    }

    enum CodingKeys: String, CodingKey {
        case step, epoch, batch, lossD = "loss_d", lossG = "loss_g", dReal = "d_real", dFake = "d_fake"
        case imagesPerSecond = "images_per_second", loaderWaitSeconds = "loader_wait_seconds", evaluation = "eval"
    }

    /// The line of a training step.
    public init(_ p: TrainingProgress, loaderWaitSeconds: Double) {
        func finite(_ v: Float) -> Float? { v.isFinite ? v : nil }
        step = p.step; epoch = p.epoch; batch = p.batch
        lossD = finite(p.lossD); lossG = finite(p.lossG); dReal = finite(p.dReal); dFake = finite(p.dFake)
        imagesPerSecond = (p.imagesPerSecond * 10).rounded() / 10
        self.loaderWaitSeconds = (loaderWaitSeconds * 1e4).rounded() / 1e4
    }

    /// The line of an evaluation.
    public init(_ report: EvaluationReport, step: Int, epoch: Int) {
        self.step = step; self.epoch = epoch
        evaluation = Evaluation(report)
    }
}

/// `metrics.jsonl`, open for appending: one JSON object per line.
public final class MetricsLog {
    let handle: FileHandle
    let encoder = JSONEncoder()

    init(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw RunDirectoryError.unwritable(path: path, reason: "cannot open for appending") }
        h.seekToEndOfFile()
        handle = h
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit { try? handle.close() }

    public func append(_ line: MetricsLine) {
        guard let data = try? encoder.encode(line) else { return }
        handle.write(data + Data("\n".utf8))
    }
}

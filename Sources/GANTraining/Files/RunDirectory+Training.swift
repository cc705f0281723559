import DurableIO
import Foundation
import GANEvaluation
import GANModels
import RunFormat
import TensorBoard

/// What a run directory needs from training: a new run's configuration, the TensorBoard event
/// log, and the metrics lines of training progress and evaluations (the format is `RunFormat`'s).
extension RunDirectory {
    /// Makes the folders of a new run and writes its configuration. Refuses a directory that
    /// already holds a run, and one that cannot be written.
    public static func create(at path: String, config: TrainingConfig) throws -> RunDirectory {
        let run = RunDirectory(path), fm = FileManager.default
        if fm.fileExists(atPath: run.configFile) { throw RunDirectoryError.holdsARun(path) }
        try run.makeFolders()
        do {
            try DurableFile.write(try JSONEncoder.readable.encode(config), to: run.configFile)
        } catch {
            throw RunDirectoryError.unwritable(path: run.configFile, reason: Checkpoint.plainReason(error))
        }
        return run
    }

    /// Opens the run's TensorBoard event file for appending: a new one for a new run; for a run
    /// resumed at `step`, the existing one cut back to the events of steps ≤ `step`.
    public func eventLog(resumingAt step: Int?) throws -> EventWriter {
        do { return try EventWriter(directory: path, keepingStepsUpTo: step) } catch let error as FileError {
            throw RunDirectoryError.unwritable(path: error.path, reason: error.reason)
        }
    }

}

extension MetricsLine {
    /// The line of a training step.
    public init(_ p: TrainingProgress, loaderWaitSeconds: Double) {
        func finite(_ v: Float) -> Float? { v.isFinite ? v : nil }
        self.init(step: p.step, epoch: p.epoch, batch: p.batch, lossD: finite(p.lossD), lossG: finite(p.lossG),
                  dReal: finite(p.dReal), dFake: finite(p.dFake), penalty: p.penalty.flatMap(finite),
                  reconstruction: p.reconstruction.flatMap(finite), imagesPerSecond: (p.imagesPerSecond * 10).rounded() / 10,
                  loaderWaitSeconds: (loaderWaitSeconds * 1e4).rounded() / 1e4, augmentProbability: p.augmentProbability)
    }

    /// The line of an evaluation.
    public init(_ report: EvaluationReport, step: Int, epoch: Int) {
        self.init(step: step, epoch: epoch, evaluation: Evaluation(report))
    }
}

extension MetricsLine.Evaluation {
    public init(_ r: EvaluationReport) {
        self.init(frechetDistance: r.frechetDistance, classifierScore: r.classifierScore, kernelDistance: r.kernelDistance,
                  classCoverage: r.classCoverage, classes: r.classes, classHistogramKL: r.classHistogramKL, precision: r.precision,
                  recall: r.recall, images: r.images, modeCollapse: r.modeCollapse, classAccuracy: r.classAccuracy,
                  intraClassFrechetDistance: r.meanIntraClassFrechetDistance)
    }
}

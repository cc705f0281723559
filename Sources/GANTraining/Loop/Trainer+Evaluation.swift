import GANEvaluation
import GANModels
import RunFormat
import Tensors

extension Trainer {
    /// Evaluations in a row whose Fréchet distance rose, after which a collapse is suspected.
    static let risingEvaluations = 3

    /// Scores the generator, logs the report, warns on mode collapse (fewer than half the classes
    /// covered, or the Fréchet distance rising three evaluations in a row) and keeps the
    /// checkpoint with the best Fréchet distance as `checkpoints/best`.
    func evaluate(_ evaluator: Evaluator, message: (String) -> Void) throws {
        let report = evaluator.evaluate(Sampler(generator: samplingGenerator, config: config.model), count: config.evalCount,
                                        seed: RandomGenerator.derivedSeed(config.seed, 0x6576616c))
        let history = (state.frechetHistory ?? []) + [report.frechetDistance]
        state.frechetHistory = history
        try metrics?.append(MetricsLine(report, step: state.step, epoch: state.epoch))
        try logEvaluation(report)
        let byClass = report.classAccuracy.map { accuracy in
            String(format: ", class accuracy %.1f%%, intra-class Fréchet %.3f", 100 * accuracy, report.meanIntraClassFrechetDistance ?? .nan)
        } ?? ""
        message(String(format: "evaluation at step %d: Fréchet distance %.3f, score %.2f, %d/%d classes, precision %.3f, recall %.3f",
                       state.step, report.frechetDistance, report.classifierScore, report.classCoverage, report.classes,
                       report.precision, report.recall) + byClass)
        let n = Self.risingEvaluations
        let rising = history.count > n && zip(history.suffix(n + 1), history.suffix(n)).allSatisfy { $1 > $0 }
        if report.modeCollapse || rising {
            state.collapseWarnings = (state.collapseWarnings ?? []) + [state.step]
            message("warning: possible mode collapse at step \(state.step): "
                    + (report.modeCollapse ? "only \(report.classCoverage) of \(report.classes) classes are generated"
                                           : "the Fréchet distance rose in each of the last \(n) evaluations")
                    + "; the best checkpoint so far is kept in \(directory.checkpointsDirectory)/\(Checkpoint.bestName)")
        }
        if report.frechetDistance < state.bestFrechetDistance ?? .infinity {
            state.bestFrechetDistance = report.frechetDistance
            try checkpoint(name: Checkpoint.bestName)
        }
    }
}

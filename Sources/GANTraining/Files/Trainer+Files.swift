import DurableIO
import Foundation
import GANEvaluation
import GANModels
import Imaging
import RunFormat
import TensorBoard

/// What a run writes as it trains (only a trainer that `writes`): metrics lines, sample grids,
/// figures, and in TensorBoard the logged scalars under `loss/`, `discriminator/`, `speed/` and
/// `learning_rate/`, each evaluation under `eval/`, the sample grids as `samples`, and the
/// configuration as text.
extension Trainer {
    /// Takes the lock (when not held since creation) and opens the metrics and event files.
    func openFiles() throws {
        guard writes else { return }
        if lock == nil { lock = try directory.lock() }
        metrics = try directory.metricsLog()
        let resuming = lastCheckpoint != nil || state.step > 0
        events = try directory.eventLog(resumingAt: resuming ? state.step : nil)
        if !resuming { try logConfiguration() }
    }

    func closeFiles() {
        events?.sync()
        (events, metrics, lock) = (nil, nil, nil)
    }

    /// The metrics line and the sample grid a step may be due.
    func afterStep(_ p: TrainingProgress, loaderWaitSeconds: Double) throws {
        if state.step % max(config.logEvery, 1) == 0 || state.step == 1 {
            let line = MetricsLine(p, loaderWaitSeconds: loaderWaitSeconds)
            history.append(line)
            try metrics?.append(line)
            try logScalars(line)
        }
        if writes && config.sampleEvery > 0 && state.step % config.sampleEvery == 0 { try writeSamples(.step(state.step)) }
    }

    /// An epoch's end: its grid and comparison figure, an evaluation when due, the loss plot, and a
    /// checkpoint when due.
    func endEpoch(startedAt start: Date, message: (String) -> Void) throws {
        state.epoch += 1
        state.batchInEpoch = 0
        let c = config
        if writes {
            // The fixed noise is generated once for the grid and the comparison figure.
            let generated = fixedNoiseImages()
            try writeSamples(.epoch(state.epoch), grid: Comparison.grid(generated.images, rows: generated.rows))
            try directory.writeComparison(comparisonFigure(generated: generated), .epoch(state.epoch))
        }
        if c.evalEvery > 0, state.epoch % c.evalEvery == 0, let evaluator { try evaluate(evaluator, message: message) }
        if writes { try directory.writeLossPlot(history, markers: state.collapseWarnings ?? []) }
        message(String(format: "epoch %@ done in %.1f s; samples in %@", c.epochs >= TrainingSettings.unlimitedEpochs ? "\(state.epoch)" : "\(state.epoch)/\(c.epochs)",
                       Date().timeIntervalSince(start), directory.samplesDirectory))
        if (c.checkpointEvery > 0 && state.epoch % c.checkpointEvery == 0 || checkpointDue) && unfinished {
            try checkpoint(reportingTo: message)
        }
    }

    /// The last grid, comparison figure, loss plot and the progress animation.
    func writeFinalFigures() throws {
        guard writes else { return }
        let generated = fixedNoiseImages()
        try writeSamples(.final, grid: Comparison.grid(generated.images, rows: generated.rows))
        try directory.writeComparison(comparisonFigure(generated: generated), .final)
        try directory.writeLossPlot(history, markers: state.collapseWarnings ?? [])
        try directory.writeProgressGIF()
    }

    func logConfiguration() throws {
        let json = String(decoding: try JSONEncoder.readable.encode(config), as: UTF8.self)
        // Markdown: indented four spaces, a code block.
        try record { try $0.text("config", json.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"), step: 0) }
    }

    func logScalars(_ line: MetricsLine) throws {
        var values: [(String, Double)] = []
        if let v = line.lossD { values.append(("loss/D", Double(v))) }
        if let v = line.lossG, v.isFinite { values.append(("loss/G", Double(v))) }
        if let v = line.dReal { values.append(("discriminator/D(x)", Double(v))) }
        if let v = line.penalty { values.append(("loss/D_penalty", Double(v))) }
        if let v = line.reconstruction { values.append(("loss/D_reconstruction", Double(v))) }
        if let v = line.dFake { values.append(("discriminator/D(G(z))", Double(v))) }
        if let v = line.imagesPerSecond { values.append(("speed/images_per_second", v)) }
        if let v = line.augmentProbability { values.append(("augment/ada_p", v)) }
        values += [("learning_rate/G", Double(config.learningRateG)), ("learning_rate/D", Double(config.learningRateD))]
        try record { try $0.scalars(values.map { (tag: $0.0, value: $0.1) }, step: line.step) }
    }

    func logEvaluation(_ report: EvaluationReport) throws {
        var values: [(String, Double)] = [("eval/frechet_distance", report.frechetDistance), ("eval/classifier_score", report.classifierScore),
                                          ("eval/kernel_distance", report.kernelDistance ?? .nan),
                                          ("eval/class_coverage", Double(report.classCoverage)), ("eval/precision", report.precision),
                                          ("eval/recall", report.recall), ("eval/class_histogram_kl", report.classHistogramKL)]
        if let v = report.classAccuracy { values.append(("eval/class_accuracy", v)) }
        if let v = report.meanIntraClassFrechetDistance { values.append(("eval/intra_class_frechet_distance", v)) }
        try record { try $0.scalars(values.map { (tag: $0.0, value: $0.1) }, step: self.state.step) }
    }

    /// Writes the grid of the fixed noise to the samples folder and, once per step, to TensorBoard.
    func writeSamples(_ which: RunDirectory.SampleGrid, grid given: Image? = nil) throws {
        let grid = given ?? sampleGrid()
        try directory.writeSamples(grid, which)
        guard lastLoggedGridStep != state.step else { return }
        let png = try ImageCodec.encodePNG(grid)
        try record { try $0.image("samples", png: png, width: grid.width, height: grid.height, channels: grid.channels, step: self.state.step) }
        lastLoggedGridStep = state.step
    }

    /// Writes to the event file (when open), its failures as the run directory's.
    func record(_ body: (EventWriter) throws -> Void) throws {
        guard let events else { return }
        do { try body(events) } catch let error as FileError {
            throw RunDirectoryError.unwritable(path: error.path, reason: error.reason)
        }
    }
}

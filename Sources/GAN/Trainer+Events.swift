import DurableIO
import Foundation
import Imaging
import TensorBoard

/// What a run shows in TensorBoard: the logged scalars under `loss/`, `discriminator/`, `speed/`
/// and `learning_rate/`, each evaluation under `eval/`, the sample grids as `samples`, and the
/// configuration as text.
extension Trainer {
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
        if let v = line.dFake { values.append(("discriminator/D(G(z))", Double(v))) }
        if let v = line.imagesPerSecond { values.append(("speed/images_per_second", v)) }
        values += [("learning_rate/G", Double(config.learningRateG)), ("learning_rate/D", Double(config.learningRateD))]
        try record { try $0.scalars(values.map { (tag: $0.0, value: $0.1) }, step: line.step) }
    }

    func logEvaluation(_ report: EvaluationReport) throws {
        var values: [(String, Double)] = [("eval/frechet_distance", report.frechetDistance), ("eval/classifier_score", report.classifierScore),
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

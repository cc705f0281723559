import DurableIO
import Foundation
import GANModels
import Imaging

/// The files of one training run, and the only code that knows their names:
///
/// ```
/// RUN/
///   config.json            every hyper-parameter (TrainingConfig)
///   metrics.jsonl          one MetricsLine per logged step or evaluation
///   events.out.tfevents.*  the same scalars, the sample grids and the configuration, for TensorBoard
///   loss.png               D and G loss (and evaluations' Fréchet distance), redrawn every epoch
///   progress.gif           the epoch grids as an animation, at the end
///   samples/step-00000100.png, epoch-001.png, final.png
///   samples/compare-epoch-001.png, compare-final.png   real images beside generated ones
///   checkpoints/step-00000468/ …, best/   (see Checkpoint)
///   .lock                  held (flock) by the process training the run (see RunLock)
/// ```
///
/// Files that matter are written durably (`DurableFile`: temporary file, fsync, rename, directory
/// fsync); `metrics.jsonl` is appended to and flushed at each checkpoint.
///
/// A new kind of file in a run (an event log, a figure) is a method here. This module owns the
/// format: training writes through it (`GANTraining` adds what needs a training configuration or
/// TensorBoard: `create(at:config:)`, `eventLog`), and the studio, `eval` and `sample` read
/// through it.
public struct RunDirectory: Sendable, Equatable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var configFile: String { path + "/config.json" }
    public var metricsFile: String { path + "/metrics.jsonl" }
    public var lossPlotFile: String { path + "/loss.png" }
    public var progressFile: String { path + "/progress.gif" }
    public var samplesDirectory: String { path + "/samples" }
    public var checkpointsDirectory: String { path + "/" + Checkpoint.runSubdirectory }

    /// Which grid of the fixed noise batch.
    public enum SampleGrid: Sendable {
        case step(Int), epoch(Int), final
        public var fileName: String {
            switch self {
            case .step(let n): return "step-" + String(format: "%08d", n) + ".png"
            case .epoch(let n): return "epoch-" + String(format: "%03d", n) + ".png"
            case .final: return "final.png"
            }
        }
    }

    public func samplePath(_ grid: SampleGrid) -> String { samplesDirectory + "/" + grid.fileName }

    /// The real-versus-generated figure of an epoch end or of the end: `compare-epoch-NNN.png`,
    /// `compare-final.png`.
    public func comparisonPath(_ grid: SampleGrid) -> String { samplesDirectory + "/compare-" + grid.fileName }

    public func writeComparison(_ figure: Image, _ which: SampleGrid) throws {
        try write(comparisonPath(which)) { try ImageCodec.writePNG(figure, to: $0) }
    }

    /// Makes the run's folders (and the run directory itself) where missing, flushing each new
    /// entry to the disk.
    package func makeFolders() throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
            throw RunDirectoryError.unwritable(path: path, reason: "it is a file, not a directory")
        }
        for folder in [path, samplesDirectory, checkpointsDirectory] {
            do { try DurableFile.createDirectory(folder) } catch {
                throw RunDirectoryError.unwritable(path: error.path, reason: error.reason)
            }
        }
    }

    /// Takes the run's lock (`.lock`), which this process holds until the returned value is
    /// released; it fails while another live process holds it, naming that process. A lock left
    /// by a process that died is free (the system releases it with the process).
    public func lock() throws -> RunLock {
        try makeFolders()
        return try RunLock(path + "/.lock")
    }

    /// Drops the lines of `metrics.jsonl` that a part of the run after `step` wrote (a run killed
    /// after its last checkpoint), so that a resumed run does not log those steps twice.
    public func truncateMetrics(after step: Int) throws {
        guard let data = FileManager.default.contents(atPath: metricsFile) else { return }
        let lines = MetricsLine.lines(in: data)
        let kept = lines.filter { $0.line?.step ?? .max <= step }
        guard kept.count != lines.count else { return }
        var out = Data()
        for k in kept { out += k.bytes + Data("\n".utf8) }
        do { try DurableFile.write(out, to: metricsFile) } catch {
            throw RunDirectoryError.unwritable(path: metricsFile, reason: error.reason)
        }
    }

    /// Every line of `metrics.jsonl` that reads as one, oldest first.
    public func readMetrics() -> [MetricsLine] {
        guard let data = FileManager.default.contents(atPath: metricsFile) else { return [] }
        return MetricsLine.lines(in: data).compactMap(\.line)
    }

    /// Whether `path` looks like a run directory (its checkpoints, metrics or configuration).
    public static func isRun(_ path: String) -> Bool {
        let run = RunDirectory(path), fm = FileManager.default
        return [run.checkpointsDirectory, run.metricsFile, run.configFile].contains { fm.fileExists(atPath: $0) }
    }

    /// Opens `metrics.jsonl` for appending (created when absent).
    public func metricsLog() throws -> MetricsLog { try MetricsLog(metricsFile) }

    /// The logged training lines up to and including `step`, oldest first (evaluation lines and
    /// lines a later, abandoned part of the run wrote are left out).
    public func readHistory(upTo step: Int) -> [MetricsLine] {
        readMetrics().filter { $0.step <= step && $0.evaluation == nil }
    }

    public func writeSamples(_ grid: Image, _ which: SampleGrid) throws {
        try write(samplePath(which)) { try ImageCodec.writePNG(grid, to: $0) }
    }

    /// The loss chart: D (blue) and G (orange) losses of `history` against the step, raw and
    /// smoothed, with dashed red marks at the `markers` steps (mode-collapse warnings); below it,
    /// when the run has evaluated, the Fréchet distance of each evaluation with the same marks.
    public func writeLossPlot(_ history: [MetricsLine], markers: [Int]) throws {
        let d = history.compactMap { m in m.lossD.map { (x: Double(m.step), y: Double($0)) } }
        let g = history.compactMap { m in m.lossG.map { (x: Double(m.step), y: Double($0)) } }
        let marks = markers.map(Double.init)
        var panels = [Chart.Panel(yLabel: "loss", series: [Chart.Series(name: "D loss", points: d, color: (0.12, 0.47, 0.71)),
                                                          Chart.Series(name: "G loss", points: g, color: (1.0, 0.5, 0.05))],
                                  markers: marks)]
        let evaluations = readEvaluations(upTo: history.last?.step ?? 0)
        if !evaluations.isEmpty {
            panels.append(Chart.Panel(yLabel: "Fréchet distance", series: [
                Chart.Series(name: "Fréchet distance (eval)", points: evaluations.map { (Double($0.step), $0.frechetDistance) },
                             color: (0.17, 0.63, 0.17), dots: true)], markers: marks, smoothing: 0))
        }
        let image = Chart.render(panels, xLabel: "step")
        try write(lossPlotFile) { try ImageCodec.writePNG(image, to: $0) }
    }

    /// The evaluations logged in `metrics.jsonl` up to `step`: their steps and Fréchet distances.
    public func readEvaluations(upTo step: Int) -> [(step: Int, frechetDistance: Double)] {
        readMetrics().compactMap { m in m.evaluation.flatMap { m.step <= step ? (m.step, $0.frechetDistance) : nil } }
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
        do { try body(file) } catch let error as ImagingError {
            if case .unwritable(_, let reason) = error { throw RunDirectoryError.unwritable(path: file, reason: reason) }
            throw RunDirectoryError.unwritable(path: file, reason: "\(error)")
        } catch {
            throw RunDirectoryError.unwritable(path: file, reason: Checkpoint.plainReason(error))
        }
    }
}

/// A run directory that cannot be used.
public enum RunDirectoryError: Error, Equatable, CustomStringConvertible {
    /// The directory already holds a run (its `config.json`).
    case holdsARun(String)
    /// Another live process trains this run (`holder`: its process id and command, as it wrote them).
    case busy(path: String, holder: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .holdsARun(let p): return "\(p): it already holds a run"
        case .busy(let p, let h): return "\(p): another process is training this run (\(h)); wait for it to finish or stop it"
        case .unwritable(let p, let r): return "\(p): cannot write: \(r)"
        }
    }
}

/// The lock of a run directory: an exclusive `flock` on `RUN/.lock`, which holds the holder's
/// process id and command line for the message another process gets. The system drops the lock
/// when the process ends however it ends (a crash, `kill -9`), so a stale lock file is simply
/// taken over; the lock is released when this value goes away.
public final class RunLock {
    public let path: String
    let fd: Int32

    init(_ path: String) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunDirectoryError.unwritable(path: path, reason: FileError(path: path, operation: "", code: errno).reason) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            guard code == EWOULDBLOCK else { throw RunDirectoryError.unwritable(path: path, reason: FileError(path: path, operation: "", code: code).reason) }
            let holder = String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw RunDirectoryError.busy(path: DurableFile.parent(of: path), holder: holder.isEmpty ? "a process that has not yet written its id" : holder)
        }
        self.fd = fd
        let me = "process \(getpid()): " + CommandLine.arguments.joined(separator: " ")
        _ = ftruncate(fd, 0)
        _ = me.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        _ = ftruncate(fd, 0)
        close(fd)
    }
}

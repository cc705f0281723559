import Datasets
import Foundation
import GANModels
import RunFormat

extension Trainer {
    /// Continues the run in `runDirectory` from its latest checkpoint, on `dataset`.
    public static func resume(runDirectory: String, dataset: ImageDataset, epochs: Int? = nil, maxSteps: Int? = nil,
                              maxMinutes: Double? = nil, warning: (String) -> Void = { _ in }) throws -> Trainer {
        try resume(runDirectory: runDirectory, loadingData: { _ in dataset }, epochs: epochs, maxSteps: maxSteps, maxMinutes: maxMinutes,
                   warning: warning)
    }

    /// Continues the run in `runDirectory` from its latest checkpoint, optionally with more epochs
    /// or another step limit, on the data `loadingData` returns for the checkpoint's settings (its
    /// `dataPath`, image size and channels). A checkpoint that cannot be read (truncated, corrupt,
    /// unreadable state) is reported through `warning` and the next older one is tried; only when
    /// none can be read is it an error (the newest one's).
    ///
    /// Under data parallelism rank 0 reads the run and sends its checkpoint's files to the other
    /// ranks (no shared disk needed), which write nothing; every rank checks that it holds the same
    /// data and that the batch splits over the ranks.
    /// `maxMinutes` replaces the run's time budget (the time already spent counts against it).
    public static func resume(runDirectory: String, loadingData: (TrainingConfig) throws -> ImageDataset, epochs: Int? = nil,
                              maxSteps: Int? = nil, maxMinutes: Double? = nil, dataParallel: DataParallel? = nil,
                              warning: (String) -> Void = { _ in }) throws -> Trainer {
        func adjusted(_ state: TrainingState) -> TrainingState {
            var state = state
            if let epochs { state.config.epochs = epochs }
            if let maxSteps { state.config.maxSteps = maxSteps }
            if let maxMinutes { state.config.maxMinutes = maxMinutes }
            return state
        }
        let directory = RunDirectory(runDirectory)
        let trainer: Trainer
        if let dataParallel, dataParallel.rank != 0 {
            let checkpoint = try dataParallel.shareCheckpoint(nil)
            defer { try? FileManager.default.removeItem(atPath: (checkpoint as NSString).deletingLastPathComponent) }
            let state = adjusted(try Checkpoint.readState(checkpoint))
            let dataset = try loadingData(state.config)
            try state.config.check(dataset)
            trainer = try Trainer(state: state, dataset: dataset, directory: directory, checkpoint: checkpoint, lock: nil,
                                  dataParallel: dataParallel)
        } else {
            trainer = try resumeFromNewestReadable(directory, loadingData: loadingData, adjusted: adjusted,
                                                   dataParallel: dataParallel, warning: warning)
            _ = try dataParallel?.shareCheckpoint(trainer.lastCheckpoint)
        }
        try dataParallel?.checkAgreement(batchSize: trainer.config.batchSize, dataset: trainer.dataset)
        return trainer
    }

    /// The newest checkpoint of `directory` that can be read, as a trainer holding the run's lock.
    static func resumeFromNewestReadable(_ directory: RunDirectory, loadingData: (TrainingConfig) throws -> ImageDataset,
                                         adjusted: (TrainingState) -> TrainingState, dataParallel: DataParallel?,
                                         warning: (String) -> Void) throws -> Trainer {
        let lock = try directory.lock()
        Checkpoint.removeAbandonedWrites(in: directory.checkpointsDirectory)
        let candidates = Checkpoint.list(directory.checkpointsDirectory).reversed()
        guard !candidates.isEmpty else { throw CheckpointError.notFound(directory.checkpointsDirectory) }
        var firstError: Error?
        // Checkpoints of one run share their data: it is loaded once.
        var loaded: (key: String, dataset: ImageDataset)?
        for checkpoint in candidates {
            func skip(_ error: Error) {
                warning("warning: skipping checkpoint \(checkpoint): \(error)")
                firstError = firstError ?? error
            }
            let state: TrainingState
            do { state = adjusted(try Checkpoint.readState(checkpoint)) } catch { skip(error); continue }
            // The data's own errors end the resume: every checkpoint of the run needs it.
            let m = state.config.model, key = "\(state.config.dataPath) \(m.imageSize) \(m.channels)"
            let dataset = try loaded.flatMap { $0.key == key ? $0.dataset : nil } ?? loadingData(state.config)
            loaded = (key, dataset)
            try state.config.check(dataset)  // the settings, not the files: an older checkpoint would not help
            do {
                let trainer = try Trainer(state: state, dataset: dataset, directory: directory, checkpoint: checkpoint, lock: lock,
                                          dataParallel: dataParallel)
                try directory.truncateMetrics(after: state.step)
                return trainer
            } catch let error as TrainingError {
                throw error
            } catch {
                skip(error)
            }
        }
        throw firstError!
    }
}

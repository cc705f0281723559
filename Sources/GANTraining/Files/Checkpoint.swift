import DurableIO
import Foundation
import GANModels
import NN
import Tensors

/// A whole training state as a checkpoint (see `Checkpoint` for the files): `write` and
/// `restore` are mirrors.
extension Checkpoint {
    /// Writes a checkpoint for `state` under `directory/step-NNNNNNNN` (or `directory/name`),
    /// durably and atomically: every file goes to a hidden temporary directory and is flushed to
    /// the disk; the directory is flushed, renamed into place, and its parent flushed. A crash, a
    /// kill or a full disk at any moment leaves the previous checkpoint as the latest complete one,
    /// never a partial one. Keeps the newest `keep` `step-` checkpoints.
    @discardableResult
    public static func write<G, D>(state: TrainingState, _ gan: GANStep<G, D>, in directory: String, keep: Int,
                                   name: String? = nil) throws -> String {
        try write(state: state, gan, in: directory, keep: keep, name: name, failAfterFiles: nil)
    }

    /// `write`, with a crash simulated after `failAfterFiles` files (tests). In debug builds the
    /// environment variable `SWIFTGAN_TEST_CHECKPOINT_DELAY_MS` makes each file take that much
    /// longer, so that a test can kill a run in the middle of a write.
    static func write<G, D>(state: TrainingState, _ gan: GANStep<G, D>, in directory: String, keep: Int,
                            name fixedName: String?, failAfterFiles: Int?) throws -> String {
        let fm = FileManager.default
        let name = fixedName ?? Checkpoint.name(step: state.step)
        let final = directory + "/" + name, temporary = directory + "/" + temporaryPrefix + name + "-\(getpid())"
        do {
            try DurableFile.createDirectory(directory)
            try? fm.removeItem(atPath: temporary)
            try DurableFile.createDirectory(temporary, sync: false)  // flushed when complete
        } catch {
            throw CheckpointError.unwritable(path: error.path, reason: error.reason)
        }
        var written = 0
        func step() throws {
            written += 1
            if let failAfterFiles, written > failAfterFiles {
                throw CheckpointError.unwritable(path: temporary, reason: "simulated crash after \(failAfterFiles) files")
            }
            if testDelay > 0 { usleep(useconds_t(testDelay * 1000)) }
        }
        do {
            var meta = ["format": "pt", "swiftgan": "\(Checkpoint.currentFormat)", "preset": state.config.model.preset.rawValue]
            if state.config.model.isConditional {
                // The class names for readers of the safetensors file alone (a JSON list, index = class).
                meta["classes"] = String(decoding: try JSONEncoder().encode(state.config.model.classNames), as: UTF8.self)
            }
            if let average = gan.average {
                try average.average.save(to: temporary + "/" + generatorFile, metadata: meta.merging(["ema": "\(average.decay)"]) { $1 })
                try gan.generator.save(to: temporary + "/" + trainedGeneratorFile, metadata: meta)
            } else {
                try gan.generator.save(to: temporary + "/" + generatorFile, metadata: meta)
            }
            try step()
            try gan.discriminator.save(to: temporary + "/" + discriminatorFile, metadata: meta); try step()
            let optimizer = gan.optimizerG.stateTensors().map { (generatorPrefix + $0.name, $0.tensor, SafeTensors.DType.f32) }
                + gan.optimizerD.stateTensors().map { (discriminatorPrefix + $0.name, $0.tensor, SafeTensors.DType.f32) }
            try SafeTensors.write(optimizer, metadata: meta, to: temporary + "/" + optimizerFile); try step()
            try DurableFile.write(try JSONEncoder.readable.encode(state), to: temporary + "/" + stateFile); try step()
            try DurableFile.syncDirectory(temporary)
            // rename(2) cannot replace a non-empty directory: an existing one (`best`) is moved aside first.
            let aside = directory + "/" + temporaryPrefix + "old-" + name + "-\(getpid())"
            let replacing = fm.fileExists(atPath: final)
            if replacing {
                try? fm.removeItem(atPath: aside)
                try fm.moveItem(atPath: final, toPath: aside)
            }
            do { try DurableFile.publish(temporary, as: final) } catch {
                if replacing { try? fm.moveItem(atPath: aside, toPath: final) }  // the old one stays
                throw error
            }
            if replacing { try? fm.removeItem(atPath: aside) }
        } catch let error as CheckpointError {
            try? fm.removeItem(atPath: temporary)
            throw error
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw CheckpointError.unwritable(path: final, reason: plainReason(error))
        }
        // Older checkpoints beyond `keep` go, oldest first.
        let all = list(directory)
        for old in all.dropLast(max(keep, 1)) { try? fm.removeItem(atPath: old) }
        if all.count > keep { try? DurableFile.syncDirectory(directory) }
        return final
    }

    #if DEBUG
    static let testDelay: Int = ProcessInfo.processInfo.environment["SWIFTGAN_TEST_CHECKPOINT_DELAY_MS"].flatMap(Int.init) ?? 0
    #else
    static let testDelay = 0
    #endif

    /// Removes the temporary directories that writers killed mid-checkpoint left in `directory`.
    /// Only the holder of the run's lock may call it.
    public static func removeAbandonedWrites(in directory: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(temporaryPrefix) { try? FileManager.default.removeItem(atPath: directory + "/" + name) }
    }


    /// The checkpoint's `state.json`; settings it lacks take today's defaults.
    public static func readState(_ checkpoint: String) throws -> TrainingState {
        let data = try stateData(checkpoint)
        do { return try JSONDecoder().decode(TrainingState.self, from: data) } catch {
            throw CheckpointError.unreadableState(file: checkpoint + "/" + stateFile, reason: "\(error)")
        }
    }

    /// Loads the networks and optimizer states of `checkpoint` into `gan`, the mirror of `write`,
    /// and returns its state. A missing or misshapen tensor is an error naming the file.
    public static func restore<G, D>(_ checkpoint: String, into gan: GANStep<G, D>) throws -> TrainingState {
        let state = try readState(checkpoint)
        if let average = gan.average {
            try loadModule(gan.generator, from: checkpoint + "/" + trainedGeneratorFile, role: .generator, model: state.config.model)
            try loadModule(average.average, from: checkpoint + "/" + generatorFile, role: .generator, model: state.config.model)
        } else {
            try loadModule(gan.generator, from: checkpoint + "/" + generatorFile, role: .generator, model: state.config.model)
        }
        try loadModule(gan.discriminator, from: checkpoint + "/" + discriminatorFile, role: .discriminator, model: state.config.model)
        let file = checkpoint + "/" + optimizerFile
        let all = try SafeTensors(contentsOf: file).allTensors()
        func part(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: all.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        do {
            try gan.optimizerG.loadState(part(generatorPrefix))
            try gan.optimizerD.loadState(part(discriminatorPrefix))
        } catch let e as OptimizerStateError {
            throw CheckpointError.mismatch(path: file, detail: "\(e)")
        }
        return state
    }
}

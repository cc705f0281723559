import DurableIO
import Foundation
import NN
import Tensors

/// A failure with a checkpoint, naming the directory or file.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case unreadableState(file: String, reason: String)
    case unsupportedFormat(file: String, version: Int)
    case mismatch(path: String, detail: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no checkpoint here (expected a run directory or a checkpoint with state.json)"
        case .unreadableState(let f, let r): return "\(f): unreadable checkpoint state: \(r)"
        case .unsupportedFormat(let f, let v): return "\(f): checkpoint format \(v) is newer than this swiftgan (\(TrainingState.currentFormat))"
        case .mismatch(let p, let d): return "\(p): \(d)"
        case .unwritable(let p, let r): return "\(p): cannot write checkpoint: \(r)"
        }
    }
}

/// A checkpoint directory: `generator.safetensors` (the moving average when the run keeps one,
/// with the trained weights in `generator-trained.safetensors`), `discriminator.safetensors`,
/// `optimizer.safetensors` (both optimizers' state, prefixed `generator.` and `discriminator.`) and
/// `state.json` (`TrainingState`). Tensor names follow PyTorch's `state_dict`. `write` and
/// `restore` are mirrors; the file names and prefixes are known to this type only.
public enum Checkpoint {
    public static let prefix = "step-"
    static let generatorFile = "generator.safetensors", discriminatorFile = "discriminator.safetensors"
    static let optimizerFile = "optimizer.safetensors", stateFile = "state.json"
    /// With an averaged generator, `generator.safetensors` holds the average (what `sample`,
    /// `eval` and a PyTorch user load) and this file the generator as the optimizer left it.
    static let trainedGeneratorFile = "generator-trained.safetensors"
    static let generatorPrefix = "generator.", discriminatorPrefix = "discriminator."

    /// Writes a checkpoint for `state` under `directory/step-NNNNNNNN` (or `directory/name`),
    /// durably and atomically: every file goes to a hidden temporary directory and is flushed to
    /// the disk; the directory is flushed, renamed into place, and its parent flushed. A crash, a
    /// kill or a full disk at any moment leaves the previous checkpoint as the latest complete one,
    /// never a partial one. Keeps the newest `keep` `step-` checkpoints.
    ///
    /// `failAfterFiles` simulates a crash after that many files (tests). The environment variable
    /// `SWIFTGAN_TEST_CHECKPOINT_DELAY_MS` makes each file take that much longer, so that a test can
    /// kill a run in the middle of a write.
    @discardableResult
    public static func write<G, D>(state: TrainingState, _ gan: GANStep<G, D>, in directory: String, keep: Int,
                                   name fixedName: String? = nil, failAfterFiles: Int? = nil) throws -> String {
        let fm = FileManager.default
        let name = fixedName ?? prefix + String(format: "%08d", state.step)
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
            var meta = ["format": "pt", "swiftgan": "\(TrainingState.currentFormat)", "preset": state.config.model.preset.rawValue]
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

    /// Hidden names of checkpoints being written (or left by a killed writer).
    static let temporaryPrefix = ".tmp-"

    static let testDelay: Int = ProcessInfo.processInfo.environment["SWIFTGAN_TEST_CHECKPOINT_DELAY_MS"].flatMap(Int.init) ?? 0

    /// Removes the temporary directories that writers killed mid-checkpoint left in `directory`.
    /// Only the holder of the run's lock may call it.
    public static func removeAbandonedWrites(in directory: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(temporaryPrefix) { try? FileManager.default.removeItem(atPath: directory + "/" + name) }
    }

    /// The system's plain words for a file error ("no space left on device").
    static func plainReason(_ error: Error) -> String {
        switch error {
        case let e as FileError: return e.reason
        case let e as SafeTensorsError:
            if case .unwritable(_, let reason) = e { return reason }
            return "\(e)"
        case let e as CheckpointError:
            if case .unwritable(_, let reason) = e { return reason }
            return "\(e)"
        default:
            let ns = error as NSError
            if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
                return FileError(path: "", operation: "", code: Int32(posix.code)).reason
            }
            return ns.localizedDescription
        }
    }

    /// Complete checkpoints under `directory`, oldest first.
    public static func list(_ directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) && FileManager.default.fileExists(atPath: directory + "/" + $0 + "/" + stateFile) }
            .sorted().map { directory + "/" + $0 }
    }

    /// The checkpoint a path names: itself when it holds `state.json`, else the latest in
    /// `path/checkpoints`, else the latest in `path`.
    public static func resolve(_ path: String) throws -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: path + "/" + stateFile) { return path }
        if let latest = list(RunDirectory(path).checkpointsDirectory).last ?? list(path).last { return latest }
        throw CheckpointError.notFound(path)
    }

    /// The checkpoint's `state.json`; settings it lacks take today's defaults.
    public static func readState(_ checkpoint: String) throws -> TrainingState {
        let file = checkpoint + "/" + stateFile
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw CheckpointError.unreadableState(file: file, reason: (error as NSError).localizedDescription)
        }
        struct Version: Decodable { var formatVersion: Int }
        if let v = try? JSONDecoder().decode(Version.self, from: data), v.formatVersion > TrainingState.currentFormat {
            throw CheckpointError.unsupportedFormat(file: file, version: v.formatVersion)
        }
        do { return try JSONDecoder().decode(TrainingState.self, from: data) } catch {
            throw CheckpointError.unreadableState(file: file, reason: "\(error)")
        }
    }

    /// Loads the networks and optimizer states of `checkpoint` into `gan`, the mirror of `write`,
    /// and returns its state. A missing or misshapen tensor is an error naming the file.
    public static func restore<G, D>(_ checkpoint: String, into gan: GANStep<G, D>) throws -> TrainingState {
        let state = try readState(checkpoint)
        if let average = gan.average {
            try loadModule(gan.generator, from: checkpoint + "/" + trainedGeneratorFile, role: .generator, state: state)
            try loadModule(average.average, from: checkpoint + "/" + generatorFile, role: .generator, state: state)
        } else {
            try loadModule(gan.generator, from: checkpoint + "/" + generatorFile, role: .generator, state: state)
        }
        try loadModule(gan.discriminator, from: checkpoint + "/" + discriminatorFile, role: .discriminator, state: state)
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

    /// Loads the generator of a checkpoint (or run directory) for sampling.
    public static func loadGenerator(_ path: String) throws -> (GANGenerator, TrainingState) {
        let checkpoint = try resolve(path)
        let state = try readState(checkpoint)
        if let problem = state.config.model.problem {
            throw CheckpointError.mismatch(path: checkpoint, detail: "its model cannot be built: \(problem)")
        }
        let (g, _) = Models.make(state.config.model, rng: Generator(seed: 0))
        try loadModule(g, from: checkpoint + "/" + generatorFile, role: .generator, state: state)
        g.setTraining(false)
        return (g, state)
    }

    /// Loads `module` from a safetensors file, turning a missing or misshapen tensor into an error
    /// that names the preset the checkpoint was made for.
    static func loadModule(_ module: Module, from file: String, role: GANNetwork, state: TrainingState) throws {
        do { try module.load(from: file) } catch let error as SafeTensorsError {
            switch error {
            case .missingTensor, .shapeMismatch:
                let m = state.config.model
                throw CheckpointError.mismatch(path: file, detail: "does not hold a \(role.rawValue) for \(m.preset.rawValue) at \(m.imageSize)×\(m.imageSize)×\(m.channels) (latent \(m.latent), width \(m.width)): \(error)")
            default: throw error
            }
        }
    }
}

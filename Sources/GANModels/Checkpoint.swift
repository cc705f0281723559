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
        case .unsupportedFormat(let f, let v): return "\(f): checkpoint format \(v) is newer than this swiftgan (\(Checkpoint.currentFormat))"
        case .mismatch(let p, let d): return "\(p): \(d)"
        case .unwritable(let p, let r): return "\(p): cannot write checkpoint: \(r)"
        }
    }
}

/// One of the two networks of a GAN.
public enum GANNetwork: String, Sendable { case generator, discriminator }

/// A checkpoint directory: `generator.safetensors` (the moving average when the run keeps one,
/// with the trained weights in `generator-trained.safetensors`), `discriminator.safetensors`,
/// `optimizer.safetensors` (both optimizers' state, prefixed `generator.` and `discriminator.`) and
/// `state.json` (the training state, whose `config.model` fixes the architecture). Tensor names
/// follow PyTorch's `state_dict`.
///
/// This module reads what generating needs: where a run's checkpoints are, and a checkpoint's
/// generator with its `ModelConfig`. Writing and restoring a whole training state belong to
/// `GANTraining`, which extends this type; the file names are declared here, once.
public enum Checkpoint {
    /// The version of the checkpoint format this build writes (and the newest it reads).
    public static let currentFormat = 1
    public static let prefix = "step-"
    /// The directory of a run that holds its checkpoints.
    public static let runSubdirectory = "checkpoints"
    package static let generatorFile = "generator.safetensors", discriminatorFile = "discriminator.safetensors"
    package static let optimizerFile = "optimizer.safetensors", stateFile = "state.json"
    /// With an averaged generator, `generator.safetensors` holds the average (what `sample`,
    /// `eval` and a PyTorch user load) and this file the generator as the optimizer left it.
    package static let trainedGeneratorFile = "generator-trained.safetensors"
    package static let generatorPrefix = "generator.", discriminatorPrefix = "discriminator."
    /// Hidden names of checkpoints being written (or left by a killed writer).
    package static let temporaryPrefix = ".tmp-"

    /// The name of the checkpoint of `step`: `step-00001875`.
    public static func name(step: Int) -> String { prefix + String(format: "%08d", step) }

    /// The step a checkpoint's name holds (nil for another name, such as `best`).
    public static func step(ofName name: String) -> Int? {
        name.hasPrefix(prefix) ? Int(name.dropFirst(prefix.count)) : nil
    }

    /// The checkpoint kept at the best evaluation so far.
    public static let bestName = "best"

    /// The system's plain words for a file error ("no space left on device").
    package static func plainReason(_ error: Error) -> String {
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
        if let latest = list(path + "/" + runSubdirectory).last ?? list(path).last { return latest }
        throw CheckpointError.notFound(path)
    }

    /// The bytes of a checkpoint's `state.json`, refused when written by a newer format.
    package static func stateData(_ checkpoint: String) throws -> Data {
        let file = checkpoint + "/" + stateFile
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw CheckpointError.unreadableState(file: file, reason: (error as NSError).localizedDescription)
        }
        struct Version: Decodable { var formatVersion: Int }
        if let v = try? JSONDecoder().decode(Version.self, from: data), v.formatVersion > currentFormat {
            throw CheckpointError.unsupportedFormat(file: file, version: v.formatVersion)
        }
        return data
    }

    /// What a checkpoint says about its generator, without the training state: the architecture,
    /// the step it was taken at and the data it was trained on.
    public struct Summary: Decodable, Sendable, Equatable {
        public let step: Int
        public let model: ModelConfig
        public let dataPath: String
        /// How the data was drawn, where it was (the grey level behind transparent pixels, the emoji
        /// set's skin tones): what a reader of the run loads the data with again.
        public let backgroundLevel: UInt8
        public let skinTones: Bool

        enum Keys: String, CodingKey { case step, config, model, dataPath, background, skinTones }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            step = try c.decodeIfPresent(Int.self, forKey: .step) ?? 0
            let config = try c.nestedContainer(keyedBy: Keys.self, forKey: .config)
            model = try config.decode(ModelConfig.self, forKey: .model)
            dataPath = try config.decode(String.self, forKey: .dataPath)
            backgroundLevel = try config.decodeIfPresent(String.self, forKey: .background) == "black" ? 0 : 255
            skinTones = try config.decodeIfPresent(Bool.self, forKey: .skinTones) ?? false
        }
    }

    /// The summary of `checkpoint` (a checkpoint directory).
    public static func summary(_ checkpoint: String) throws -> Summary {
        let data = try stateData(checkpoint)
        do { return try JSONDecoder().decode(Summary.self, from: data) } catch {
            throw CheckpointError.unreadableState(file: checkpoint + "/" + stateFile, reason: "\(error)")
        }
    }

    /// Loads the generator of a checkpoint (or of a run directory's latest) for sampling, in
    /// evaluation mode.
    public static func loadGenerator(_ path: String) throws -> (GANGenerator, Summary) {
        let checkpoint = try resolve(path)
        let summary = try summary(checkpoint)
        if let problem = summary.model.problem {
            throw CheckpointError.mismatch(path: checkpoint, detail: "its model cannot be built: \(problem)")
        }
        let (g, _) = Models.make(summary.model, rng: RandomGenerator(seed: 0))
        try loadModule(g, from: checkpoint + "/" + generatorFile, role: .generator, model: summary.model)
        g.setTraining(false)
        return (g, summary)
    }

    /// Loads both networks of a checkpoint (or of a run directory's latest), in evaluation mode:
    /// the generator users sample from and the discriminator it was trained against (whose features
    /// the projector compares pictures by).
    public static func loadNetworks(_ path: String) throws -> (GANGenerator, GANDiscriminator, Summary) {
        let (g, summary) = try loadGenerator(path)
        let checkpoint = try resolve(path)
        let (_, d) = Models.make(summary.model, rng: RandomGenerator(seed: 0))
        try loadModule(d, from: checkpoint + "/" + discriminatorFile, role: .discriminator, model: summary.model)
        d.setTraining(false)
        return (g, d, summary)
    }

    /// Loads `module` from a safetensors file, turning a missing or misshapen tensor into an error
    /// that names the preset the checkpoint was made for.
    package static func loadModule(_ module: Module, from file: String, role: GANNetwork, model m: ModelConfig) throws {
        do { try module.load(from: file) } catch let error as SafeTensorsError {
            switch error {
            case .missingTensor, .shapeMismatch:
                throw CheckpointError.mismatch(path: file, detail: "does not hold a \(role.rawValue) for \(m.preset.rawValue) at \(m.imageSize)×\(m.imageSize)×\(m.channels) (latent \(m.latent), width \(m.width)): \(error)")
            default: throw error
            }
        }
    }
}

extension JSONEncoder {
    /// Indented, keys sorted: the files people open (config.json, state.json, `eval --json`).
    public static var readable: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}

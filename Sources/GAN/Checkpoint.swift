import Foundation
import NN
import Tensors

/// Everything about a run that is not a tensor: the architecture, every hyper-parameter, and
/// where the run stands. Saved as `state.json` in each checkpoint and as `config.json` in the run.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var model: ModelConfig
    public var dataPath: String
    public var epochs: Int
    /// Stop after this many steps in all (nil: run every epoch).
    public var maxSteps: Int?
    public var batchSize: Int
    public var learningRateG: Float
    public var learningRateD: Float
    public var beta1: Float
    public var beta2: Float
    /// Target for real images in the discriminator's loss (1: none; 0.9: one-sided smoothing).
    public var realLabel: Float
    public var loss: GANLoss
    /// The generator is updated once every `dSteps` discriminator steps.
    public var dSteps: Int
    public var seed: UInt64
    public var horizontalFlip: Bool
    /// Grid of the fixed noise batch every this many steps (0: only at epoch ends).
    public var sampleEvery: Int
    public var sampleCount: Int
    /// Checkpoint every this many epochs (and always at the end).
    public var checkpointEvery: Int
    /// How many checkpoints to keep (oldest removed first).
    public var keepCheckpoints: Int
    /// Log a metrics line every this many steps.
    public var logEvery: Int
    /// Evaluate (Fréchet distance, coverage, …) every this many epochs; 0: never.
    public var evalEvery: Int = 0
    /// Generated images per evaluation during training.
    public var evalCount: Int = 2000

    public init(model: ModelConfig, dataPath: String, epochs: Int = 5, maxSteps: Int? = nil, batchSize: Int = 128,
                learningRateG: Float = 2e-4, learningRateD: Float = 2e-4, beta1: Float = 0.5, beta2: Float = 0.999,
                realLabel: Float = 0.9, loss: GANLoss = .bce, dSteps: Int = 1, seed: UInt64 = 0,
                horizontalFlip: Bool = false, sampleEvery: Int = 100, sampleCount: Int = 64, checkpointEvery: Int = 5,
                keepCheckpoints: Int = 3, logEvery: Int = 10) {
        self.model = model; self.dataPath = dataPath; self.epochs = epochs; self.maxSteps = maxSteps
        self.batchSize = batchSize; self.learningRateG = learningRateG; self.learningRateD = learningRateD
        self.beta1 = beta1; self.beta2 = beta2; self.realLabel = realLabel; self.loss = loss; self.dSteps = dSteps
        self.seed = seed; self.horizontalFlip = horizontalFlip; self.sampleEvery = sampleEvery
        self.sampleCount = sampleCount; self.checkpointEvery = checkpointEvery; self.keepCheckpoints = keepCheckpoints
        self.logEvery = logEvery
    }
}

extension TrainingConfig {
    enum CodingKeys: String, CodingKey {
        case model, dataPath, epochs, maxSteps, batchSize, learningRateG, learningRateD, beta1, beta2, realLabel, loss, dSteps,
             seed, horizontalFlip, sampleEvery, sampleCount, checkpointEvery, keepCheckpoints, logEvery, evalEvery, evalCount
    }

    /// Settings added after format 1 was first written decode to their defaults when absent, so
    /// older checkpoints keep loading.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(model: try c.decode(ModelConfig.self, forKey: .model), dataPath: try c.decode(String.self, forKey: .dataPath),
                  epochs: try c.decode(Int.self, forKey: .epochs), maxSteps: try c.decodeIfPresent(Int.self, forKey: .maxSteps),
                  batchSize: try c.decode(Int.self, forKey: .batchSize),
                  learningRateG: try c.decode(Float.self, forKey: .learningRateG),
                  learningRateD: try c.decode(Float.self, forKey: .learningRateD),
                  beta1: try c.decode(Float.self, forKey: .beta1), beta2: try c.decode(Float.self, forKey: .beta2),
                  realLabel: try c.decode(Float.self, forKey: .realLabel), loss: try c.decode(GANLoss.self, forKey: .loss),
                  dSteps: try c.decode(Int.self, forKey: .dSteps), seed: try c.decode(UInt64.self, forKey: .seed),
                  horizontalFlip: try c.decode(Bool.self, forKey: .horizontalFlip),
                  sampleEvery: try c.decode(Int.self, forKey: .sampleEvery), sampleCount: try c.decode(Int.self, forKey: .sampleCount),
                  checkpointEvery: try c.decode(Int.self, forKey: .checkpointEvery),
                  keepCheckpoints: try c.decode(Int.self, forKey: .keepCheckpoints), logEvery: try c.decode(Int.self, forKey: .logEvery))
        evalEvery = try c.decodeIfPresent(Int.self, forKey: .evalEvery) ?? 0
        evalCount = try c.decodeIfPresent(Int.self, forKey: .evalCount) ?? 2000
    }
}

/// Where a run stands: the contents of a checkpoint's `state.json`.
public struct TrainingState: Codable, Sendable, Equatable {
    public static let currentFormat = 1
    public var formatVersion = TrainingState.currentFormat
    public var config: TrainingConfig
    /// Epochs fully done.
    public var epoch: Int
    /// Batches done in the current epoch (nonzero only for a checkpoint taken mid-epoch).
    public var batchInEpoch: Int
    /// Discriminator steps done in all.
    public var step: Int
    /// Adam step counts (bias correction) of each optimizer.
    public var adamStepsG: Int
    public var adamStepsD: Int
    /// Noise is drawn from a generator seeded by (seed, step), so this is the whole RNG state.
    public var noiseSeed: UInt64
    public var trainingSeconds: Double
    /// Fréchet distances of the evaluations so far (with `evalEvery`), oldest first.
    public var frechetHistory: [Double]? = nil
    /// The best of them, whose checkpoint is kept as `checkpoints/best`.
    public var bestFrechetDistance: Double? = nil
    /// Steps at which a mode-collapse warning was given (marked on the loss plot).
    public var collapseWarnings: [Int]? = nil
}

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

/// A checkpoint directory: `generator.safetensors`, `discriminator.safetensors`,
/// `optimizer.safetensors` and `state.json`. Tensor names follow PyTorch's `state_dict`.
public enum Checkpoint {
    public static let prefix = "step-"

    /// Writes a checkpoint for `state` under `directory/step-NNNNNNNN`, atomically: everything goes
    /// to a hidden temporary directory that is renamed into place only when complete, so a crash
    /// never leaves a partial checkpoint as the latest. Keeps the newest `keep` checkpoints.
    @discardableResult
    public static func write(state: TrainingState, generator: Module, discriminator: Module, optimizerG: Optimizer,
                             optimizerD: Optimizer, in directory: String, keep: Int, name fixedName: String? = nil,
                             failAfterFiles: Int? = nil) throws -> String {
        let fm = FileManager.default
        let name = fixedName ?? prefix + String(format: "%08d", state.step)
        let final = directory + "/" + name, temporary = directory + "/.tmp-" + name + "-\(getpid())"
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: temporary)
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        } catch {
            throw CheckpointError.unwritable(path: directory, reason: (error as NSError).localizedDescription)
        }
        var written = 0
        func step() throws {
            written += 1
            if let failAfterFiles, written > failAfterFiles {
                throw CheckpointError.unwritable(path: temporary, reason: "simulated crash after \(failAfterFiles) files")
            }
        }
        do {
            let meta = ["format": "pt", "swiftgan": "\(TrainingState.currentFormat)", "preset": state.config.model.preset.rawValue]
            try generator.save(to: temporary + "/generator.safetensors", metadata: meta); try step()
            try discriminator.save(to: temporary + "/discriminator.safetensors", metadata: meta); try step()
            let optimizer = optimizerG.stateTensors().map { ("generator." + $0.name, $0.tensor, SafeTensors.DType.f32) }
                + optimizerD.stateTensors().map { ("discriminator." + $0.name, $0.tensor, SafeTensors.DType.f32) }
            try SafeTensors.write(optimizer, metadata: meta, to: temporary + "/optimizer.safetensors"); try step()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(state).write(to: URL(fileURLWithPath: temporary + "/state.json"), options: .atomic); try step()
            try? fm.removeItem(atPath: final)
            try fm.moveItem(atPath: temporary, toPath: final)
        } catch let error as CheckpointError {
            throw error
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw CheckpointError.unwritable(path: final, reason: "\(error)")
        }
        // Older checkpoints beyond `keep` go, oldest first.
        let all = list(directory)
        for old in all.dropLast(max(keep, 1)) { try? fm.removeItem(atPath: old) }
        return final
    }

    /// Complete checkpoints under `directory`, oldest first.
    public static func list(_ directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) && FileManager.default.fileExists(atPath: directory + "/" + $0 + "/state.json") }
            .sorted().map { directory + "/" + $0 }
    }

    /// The checkpoint a path names: itself when it holds `state.json`, else the latest in
    /// `path/checkpoints`, else the latest in `path`.
    public static func resolve(_ path: String) throws -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: path + "/state.json") { return path }
        if let latest = list(path + "/checkpoints").last ?? list(path).last { return latest }
        throw CheckpointError.notFound(path)
    }

    public static func readState(_ checkpoint: String) throws -> TrainingState {
        let file = checkpoint + "/state.json"
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

    /// Loads the generator of a checkpoint (or run directory) for sampling.
    public static func loadGenerator(_ path: String) throws -> (GANGenerator, TrainingState) {
        let checkpoint = try resolve(path)
        let state = try readState(checkpoint)
        if let problem = state.config.model.problem {
            throw CheckpointError.mismatch(path: checkpoint, detail: "its model cannot be built: \(problem)")
        }
        let (g, _) = Models.make(state.config.model, rng: Generator(seed: 0))
        try loadModule(g, from: checkpoint + "/generator.safetensors", role: "generator", state: state)
        g.setTraining(false)
        return (g, state)
    }

    /// Loads `module` from a safetensors file, turning a missing or misshapen tensor into an error
    /// that names the preset the checkpoint was made for.
    static func loadModule(_ module: Module, from file: String, role: String, state: TrainingState) throws {
        do { try module.load(from: file) } catch let error as SafeTensorsError {
            switch error {
            case .missingTensor, .shapeMismatch:
                let m = state.config.model
                throw CheckpointError.mismatch(path: file, detail: "does not hold a \(role) for \(m.preset.rawValue) at \(m.imageSize)×\(m.imageSize)×\(m.channels) (latent \(m.latent), width \(m.width)): \(error)")
            default: throw error
            }
        }
    }
}

import ArgumentParser
import Datasets
import Distributed
import Foundation
import GAN
import Synchronization
import Tensors

/// Set by SIGINT/SIGTERM; the trainer checks it after every step.
let stopRequested = Atomic<Bool>(false)

extension ModelPreset: ExpressibleByArgument {}
extension GANLoss: ExpressibleByArgument {}
extension NoiseDistribution: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension SpectralNormPlacement: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a GAN on a dataset and write samples, metrics and checkpoints to a run directory.",
        discussion: """
        With no flags: a DCGAN on Fashion-MNIST (Debian's dataset-fashion-mnist), 5 epochs, into runs/<model>-<time>.
        --data takes an IDX file or MNIST-style folder, an SVHN .mat file, CIFAR-10 .bin batches or a folder of
        PNG/JPEG images (resized to --image-size). Ctrl-C finishes the current step, writes a checkpoint and
        prints how to resume.
        """)

    /// The library's defaults, which every unset option falls back to (quoted in the help).
    static let defaults = TrainingConfig(model: ModelConfig(preset: .dcgan, imageSize: 28, channels: 1), dataPath: "")

    @Option(help: "Model: mlp (Keras dense GAN), dcgan (28, or 32–256 powers of two), catdcgan (128×128), sngan (SNGAN's standard CNN: 28, 32, 64, 128).")
    var model: ModelPreset?
    @Option(help: "Dataset path (default: Fashion-MNIST at \(DatasetLoader.defaultPath)).")
    var data: String?
    @Option(help: "Image size for folders of photos (default: \(ModelPreset.allCases.map { "\($0.defaultImageSize) for \($0.rawValue)" }.joined(separator: ", "))); IDX/MAT/CIFAR keep theirs.")
    var imageSize: Int?
    @Option(help: "Channels for folders of photos: 1 or 3 (default: 3).") var channels: Int?
    @Option(help: "Passes over the dataset (default: \(defaults.epochs); with --resume, the checkpoint's).") var epochs: Int?
    @Option(help: "Stop after this many steps in all (default: no limit).") var maxSteps: Int?
    @Option(help: "Images per batch (default: \(defaults.batchSize)).") var batchSize: Int?
    @Option(help: "Generator learning rate (Adam; default: \(defaults.learningRateG)).") var lrG: Float?
    @Option(help: "Discriminator learning rate (Adam; default: \(defaults.learningRateD)).") var lrD: Float?
    @Option(help: "Adam β1 (default: \(defaults.beta1)).") var beta1: Float?
    @Option(help: "Adam β2 (default: \(defaults.beta2)).") var beta2: Float?
    @Option(help: "Target label of real images (one-sided label smoothing; 1 disables it; default: \(defaults.realLabel)).")
    var labelSmoothing: Float?
    @Option(help: "Loss: bce, lsgan or hinge (default: \(defaults.loss.rawValue)).") var loss: GANLoss?
    @Option(help: "Noise: normal or uniform (default: uniform for catdcgan, normal otherwise).") var noise: NoiseDistribution?
    @Option(help: "Latent vector length (default: \(defaults.model.latent); 128 for sngan).") var latent: Int?
    @Option(help: "Base number of filters (DCGAN's ngf/ndf; default: \(defaults.model.width); 32 for sngan at 28 pixels).") var width: Int?
    @Option(help: "Discriminator steps per generator step (default: \(defaults.dSteps)).") var dSteps: Int?
    @Flag(help: "Randomly flip training images horizontally.") var flip = false
    @Option(help: "Random seed: the same seed gives the same run (default: \(defaults.seed)).") var seed: UInt64?
    @Option(help: "Run directory (default: runs/<model>-<date>).") var out: String?
    @Option(help: "Continue the run in this directory from its latest checkpoint.") var resume: String?
    @Option(help: "Write a sample grid every N steps (0: only at epoch ends; default: \(defaults.sampleEvery)).") var sampleEvery: Int?
    @Option(help: "Write a checkpoint every N epochs (and at the end; 0: not by epochs; default: \(defaults.checkpointEvery)).") var checkpointEvery: Int?
    @Option(help: "Also write one when M minutes have passed since the last (0: not by time; default: \(defaults.checkpointMinutes.formatted())).") var checkpointMinutes: Double?
    @Option(help: "Also write one every N steps (0: not by steps; default: \(defaults.checkpointSteps)).") var checkpointSteps: Int?
    @Option(help: "Checkpoints to keep (default: \(defaults.keepCheckpoints)).") var keepCheckpoints: Int?
    @Option(help: "Log metrics every N steps (default: \(defaults.logEvery)).") var logEvery: Int?
    @Option(help: "Evaluate (Fréchet distance, classifier score, coverage, precision/recall) every N epochs; 0: never (the default). Needs a labelled dataset.")
    var evalEvery: Int?
    @Option(help: "Generated images per evaluation during training (default: \(defaults.evalCount)).") var evalCount: Int?

    @Option(help: "Spectral normalisation of every convolution and dense layer: d, g, both or none (default: d for sngan, none otherwise).")
    var spectralNorm: SpectralNormPlacement?
    @Option(help: "Keep an exponential moving average of the generator with this decay, e.g. 0.999; sampling, evaluation and generator.safetensors use it (0: none; default: 0.999 for sngan, 0 otherwise).")
    var ema: Float?
    @Option(help: "DiffAugment for everything D sees: a list of color, translation, cutout, or none (default: all three for sngan on fewer than \(TrainingConfig.smallDataset) images, none otherwise).")
    var augment: String?
    @Flag(help: "Class-conditional GAN: G draws the class it is given (class-conditional batch norm), D judges images with their class (projection). Needs a labelled dataset: IDX with its labels file, CIFAR-10, SVHN, or a folder with one sub-folder per class.")
    var conditional = false
    @Option(help: "Train on only the first N images of the dataset.") var limit: Int?
    @Flag(help: "With --limit: N images drawn at random (from --seed) instead of the first N.") var limitRandom = false

    @Option(help: "Compute threads (default: the cores, divided among the processes of an mpiexec job on this host).")
    var threads: Int?
    @Flag(help: "Under mpiexec: batch norms use the statistics of the whole global batch, so N processes compute what one does (default: each process's slice, as PyTorch DDP).")
    var syncBatchnorm = false

    @Option(help: "Arithmetic of the convolutions: fp32, or bf16 (needs a CPU with AVX512-BF16 or AMX-BF16; weights, weight gradients, batch-norm statistics and Adam stay fp32; default: \(defaults.precision.rawValue)).")
    var precision: Precision?

    func validate() throws {
        if let precision { try available(precision) }
        try positive(epochs, "--epochs")
        try positive(batchSize, "--batch-size")
        try positive(maxSteps, "--max-steps")
        try positive(imageSize, "--image-size")
        if let channels, channels != 1 && channels != 3 { throw ValidationError("--channels must be 1 or 3, got \(channels)") }
        try positiveFinite(lrG, "--lr-g")
        try positiveFinite(lrD, "--lr-d")
        for (value, flag) in [(beta1, "--beta1"), (beta2, "--beta2")] {
            if let value, !(value.isFinite && value >= 0 && value < 1) { throw ValidationError("\(flag) must be in [0, 1), got \(value)") }
        }
        if let labelSmoothing, !(labelSmoothing.isFinite && labelSmoothing > 0 && labelSmoothing <= 1) {
            throw ValidationError("--label-smoothing must be in (0, 1], got \(labelSmoothing)")
        }
        try positive(latent, "--latent")
        try positive(width, "--width")
        try positive(dSteps, "--d-steps")
        if let sampleEvery, sampleEvery < 0 { throw ValidationError("--sample-every must be 0 or more, got \(sampleEvery)") }
        for (value, flag) in [(checkpointEvery, "--checkpoint-every"), (checkpointSteps, "--checkpoint-steps")] {
            if let value, value < 0 { throw ValidationError("\(flag) must be 0 or more, got \(value)") }
        }
        if let checkpointMinutes, !(checkpointMinutes.isFinite && checkpointMinutes >= 0) {
            throw ValidationError("--checkpoint-minutes must be 0 or more, got \(checkpointMinutes)")
        }
        try positive(keepCheckpoints, "--keep-checkpoints")
        try positive(logEvery, "--log-every")
        try positive(limit, "--limit")
        if let ema, !(ema.isFinite && ema >= 0 && ema < 1) { throw ValidationError("--ema must be in [0, 1), got \(ema)") }
        if let augment { _ = try augmentation(augment) }
        if let evalEvery, evalEvery < 0 { throw ValidationError("--eval-every must be 0 or more, got \(evalEvery)") }
        if let evalCount, evalCount < 10 { throw ValidationError("--eval-count must be at least 10, got \(evalCount)") }
    }

    /// The library's defaults with every option given on the command line applied.
    func configuration(for dataset: ImageDataset) -> TrainingConfig {
        var m = ModelConfig(preset: model ?? .dcgan, imageSize: dataset.height, channels: dataset.channels, noise: noise,
                            spectralNorm: spectralNorm)
        if let latent { m.latent = latent }
        if let width { m.width = width }
        if conditional { m.classNames = dataset.classNames ?? [] }
        var c = TrainingConfig(model: m, dataPath: data ?? DatasetLoader.defaultPath)
        func set<T>(_ field: WritableKeyPath<TrainingConfig, T>, _ value: T?) { if let value { c[keyPath: field] = value } }
        set(\.epochs, epochs)
        c.maxSteps = maxSteps
        set(\.batchSize, batchSize)
        set(\.learningRateG, lrG)
        set(\.learningRateD, lrD)
        set(\.beta1, beta1)
        set(\.beta2, beta2)
        set(\.realLabel, labelSmoothing)
        set(\.loss, loss)
        set(\.dSteps, dSteps)
        set(\.seed, seed)
        c.horizontalFlip = flip
        set(\.sampleEvery, sampleEvery)
        set(\.checkpointEvery, checkpointEvery)
        set(\.checkpointMinutes, checkpointMinutes)
        set(\.checkpointSteps, checkpointSteps)
        set(\.keepCheckpoints, keepCheckpoints)
        set(\.logEvery, logEvery)
        set(\.evalEvery, evalEvery)
        set(\.evalCount, evalCount)
        set(\.precision, precision)
        set(\.ema, ema)
        if let augment { c.augment = (try? augmentation(augment))?.operations ?? [] }
        c.limit = limit
        c.limitRandom = limitRandom
        c.syncBatchNorm = syncBatchnorm
        c.adapt(toDatasetOf: min(limit ?? dataset.count, dataset.count), augmentGiven: augment != nil)
        return c
    }

    func run() throws {
        // Under mpiexec: this process's rank; rank 0 alone writes the run and prints progress.
        let world = Communicator.world.flatMap { $0.size > 1 ? $0 : nil }
        defer { world?.finalize() }
        if let world {
            errorPrefix = "rank \(world.rank): "
            quiet = world.rank != 0
            let local = ProcessInfo.processInfo.environment["MPI_LOCALNRANKS"].flatMap(Int.init) ?? world.size
            Engine.threads = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(local, 1))
        } else if let threads {
            Engine.threads = threads
        }
        try reportingErrors {
            if world == nil && syncBatchnorm {
                throw ValidationError("--sync-batchnorm applies only to a job of several processes (mpiexec -n N swiftgan train …)")
            }
            if let world, resume == nil {
                let batch = batchSize ?? Self.defaults.batchSize
                guard batch % world.size == 0 else {
                    throw ValidationError("--batch-size \(batch) does not split over \(world.size) processes: give a multiple of \(world.size) (it is the global batch)")
                }
            }
            let trainer: Trainer
            if let resume {
                let fixed = givenOptions.filter { $0 != "--epochs" && $0 != "--max-steps" && $0 != "--resume" }
                if !fixed.isEmpty {
                    throw ValidationError("\(fixed.joined(separator: ", ")) cannot change when resuming: a run keeps the settings it "
                        + "started with; only --epochs and --max-steps can change (start a new run with --out to change the others)")
                }
                if let world, world.rank != 0 {
                    // Rank 0 reads the run; the others get its checkpoint's files (no shared disk needed).
                    let directory = NSTemporaryDirectory() + "swiftgan-rank-\(world.rank)-\(getpid())"
                    let checkpoint = try receiveCheckpoint(from: world, into: directory)
                    let state = try Checkpoint.readState(checkpoint)
                    let dataset = try load(state.config.dataPath, size: state.config.model.imageSize, channels: state.config.model.channels)
                    trainer = try Trainer.resume(runDirectory: directory, dataset: dataset, epochs: epochs, maxSteps: maxSteps)
                } else {
                    // The data path of the newest checkpoint whose state can be read (the trainer says
                    // which newer ones it skips; when none can be read, the newest one's error).
                    let all = Checkpoint.list(RunDirectory(resume).checkpointsDirectory)
                    guard let newest = all.last else { throw CheckpointError.notFound(RunDirectory(resume).checkpointsDirectory) }
                    let state = try all.reversed().lazy.compactMap { try? Checkpoint.readState($0) }.first ?? Checkpoint.readState(newest)
                    let dataset = try load(state.config.dataPath, size: state.config.model.imageSize, channels: state.config.model.channels)
                    trainer = try Trainer.resume(runDirectory: resume, dataset: dataset, epochs: epochs, maxSteps: maxSteps,
                                                 warning: { say($0) })
                    if let world { try sendCheckpoint(trainer.lastCheckpoint!, to: world) }
                    say("resuming \(resume) at epoch \(trainer.state.epoch + 1), step \(trainer.state.step) from \(trainer.lastCheckpoint ?? "?")")
                }
                let before = trainer.state.worldSize ?? 1, now = world?.size ?? 1
                if before != now {
                    say("note: the run was trained by \(before) process\(before == 1 ? "" : "es") and continues with \(now): it goes on, but "
                        + "not bitwise as an uninterrupted run would (each process's batch-norm statistics and the summation order change)")
                }
                if let world {
                    guard trainer.config.batchSize % world.size == 0 else {
                        throw ValidationError("the run's batch size \(trainer.config.batchSize) does not split over \(world.size) processes")
                    }
                    try checkSameData(trainer.dataset, world)
                    trainer.dataParallel = DataParallel(world)
                } else if trainer.config.syncBatchNorm {
                    say("note: the run synchronized batch norm over \(before) processes; one process normalizes its whole batch, the same statistics")
                }
            } else {
                let model = self.model ?? .dcgan, data = self.data ?? DatasetLoader.defaultPath
                try refuseIgnoredOptions(format: try DatasetLoader.format(of: data), model: model)
                let dataset = try load(data, size: imageSize ?? model.defaultImageSize, channels: channels ?? 3)
                if conditional { _ = try dataset.requireLabels() }
                let config = configuration(for: dataset)
                if let problem = config.model.problem {
                    throw ValidationError("--model \(model.rawValue) with \(dataset.width)×\(dataset.height) images from \(data): \(problem)")
                }
                var directory = out ?? defaultRunDirectory()
                if let world {
                    try checkSameData(dataset, world)
                    if world.rank != 0 {
                        directory = NSTemporaryDirectory() + "swiftgan-rank-\(world.rank)-\(getpid())"
                    }
                }
                trainer = try Trainer(config: config, dataset: dataset, runDirectory: directory)
                if let world {
                    trainer.dataParallel = DataParallel(world)
                    say("data-parallel over \(world.size) processes: global batch \(config.batchSize), \(config.batchSize / world.size) per process, \(Engine.threads) threads each")
                }
                let used = trainer.dataset, c = trainer.config
                say("training \(model.rawValue) on \(used.name): \(used.count) images \(used.width)×\(used.height)×\(used.channels), "
                    + "G \(trainer.generator.parameterCount) and D \(trainer.discriminator.parameterCount) parameters, on \(Engine.name)")
                var recipe = ["loss \(c.loss.rawValue)"]
                if c.model.spectralNorm != .none { recipe.append("spectral norm in \(c.model.spectralNorm.rawValue == "both" ? "G and D" : c.model.spectralNorm.rawValue.uppercased())") }
                if c.ema > 0 { recipe.append("EMA \(c.ema)") }
                if !c.augment.isEmpty { recipe.append("DiffAugment " + c.augment.map(\.rawValue).joined(separator: ",")) }
                if c.model.isConditional {
                    recipe.append("conditional on \(c.model.classes) classes (" + c.model.classNames.prefix(10).joined(separator: ", ")
                                  + (c.model.classes > 10 ? ", …" : "") + "): class-conditional batch norm in G, projection in D")
                }
                say("recipe: " + recipe.joined(separator: ", "))
                say("run directory: \(directory)")
            }
            if trainer.config.evalEvery > 0 {
                let path = trainer.config.dataPath
                guard trainer.dataset.labels != nil else {
                    throw ValidationError("--eval-every needs a labelled dataset; \(path) has no labels")
                }
                let test = try Evaluator.testSplit(of: path)
                let (classifier, accuracy) = try Classifier.forDataset(trainer.dataset, test: test,
                                                                       log: { say($0) })
                trainer.evaluator = Evaluator(classifier: classifier, accuracy: accuracy, test: test)
            }
            if let world {
                // Which process is which rank where: an MPI launcher's fault messages name PIDs and hosts.
                let who = try world.allGather("\(world.hostName) \(getpid())").enumerated().map { rank, text in
                    let parts = text.split(separator: " ")
                    return "rank \(rank) pid \(parts.last ?? "?") on \(parts.first ?? "?")"
                }
                say("processes: " + who.joined(separator: ", "))
            }
            installStopHandlers()
            let display = ProgressDisplay(interactive: isatty(STDOUT_FILENO) != 0)
            let outcome = try trainer.run(progress: display.update, message: display.message,
                                          shouldStop: { stopRequested.load(ordering: .relaxed) })
            display.finish()
            if world?.rank ?? 0 != 0 { try? FileManager.default.removeItem(atPath: trainer.directory.path) }
            let run = trainer.directory
            switch outcome {
            case .finished(let checkpoint):
                say("done: \(trainer.state.step) steps in \(formatDuration(trainer.state.trainingSeconds)); "
                    + "samples in \(run.samplesDirectory) (final.png), checkpoint \(checkpoint)")
            case .interrupted(let checkpoint):
                say("stopped at step \(trainer.state.step); checkpoint \(checkpoint)")
                say("resume with: swiftgan train --resume \(run.path)")
                throw ExitCode(130)
            }
        }
    }

    /// Rank 0's side of a resume under mpiexec: the checkpoint's files, to every other rank.
    func sendCheckpoint(_ checkpoint: String, to world: Communicator) throws {
        var bundle = Data()
        let name = (checkpoint as NSString).lastPathComponent
        let files = try FileManager.default.contentsOfDirectory(atPath: checkpoint).sorted()
        func append(_ bytes: Data) {
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { bundle.append(contentsOf: $0) }
            bundle.append(bytes)
        }
        append(Data(name.utf8))
        for file in files {
            append(Data(file.utf8))
            append(try Data(contentsOf: URL(fileURLWithPath: checkpoint + "/" + file)))
        }
        _ = try world.broadcast(bundle)
    }

    /// The other ranks' side: the files, as a checkpoint under `directory/checkpoints`; its path.
    func receiveCheckpoint(from world: Communicator, into directory: String) throws -> String {
        let bundle = try world.broadcast(Data())
        var offset = bundle.startIndex
        func next() -> Data {
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bundle[offset + $1]) << (8 * UInt64($1)) }
            offset += 8
            defer { offset += Int(length) }
            return bundle[offset..<(offset + Int(length))]
        }
        let checkpoint = directory + "/checkpoints/" + String(decoding: next(), as: UTF8.self)
        try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: true)
        while offset < bundle.endIndex {
            let file = String(decoding: next(), as: UTF8.self)
            try next().write(to: URL(fileURLWithPath: checkpoint + "/" + file))
        }
        return checkpoint
    }

    /// Refuses to train when the processes' datasets differ (another size or content), naming the hosts.
    func checkSameData(_ dataset: ImageDataset, _ world: Communicator) throws {
        var hash = FNV1a()
        hash.add("\(dataset.count) \(dataset.height) \(dataset.width) \(dataset.channels)")
        hash.add(bytes: dataset.pixels)
        if let labels = dataset.labels { hash.add(bytes: labels.map { UInt8(truncatingIfNeeded: $0) }) }
        let all = try world.allGather("\(world.hostName) \(dataset.count) \(String(hash.value, radix: 16))")
        let fingerprints = all.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
        guard Set(fingerprints).count == 1 else {
            let listed = all.enumerated().map { "rank \($0.offset) on \($0.element.split(separator: " ")[0]): \($0.element.split(separator: " ")[1]) images, hash \($0.element.split(separator: " ")[2])" }
            throw ValidationError("the processes' datasets differ (\(listed.joined(separator: "; "))); give every host the same files")
        }
    }

    func load(_ path: String, size: Int, channels: Int) throws -> ImageDataset {
        let dataset = try DatasetLoader.load(path, imageSize: size, channels: channels) { say($0) }
        if !dataset.skipped.isEmpty { say("skipped \(dataset.skipped.count) undecodable files") }
        return dataset
    }

    /// The options given on the command line (the flags that were set), by their flag names.
    var givenOptions: [String] {
        let all: [(String, Bool)] = [
            ("--model", model != nil), ("--data", data != nil), ("--image-size", imageSize != nil), ("--channels", channels != nil),
            ("--epochs", epochs != nil), ("--max-steps", maxSteps != nil), ("--batch-size", batchSize != nil),
            ("--lr-g", lrG != nil), ("--lr-d", lrD != nil), ("--beta1", beta1 != nil), ("--beta2", beta2 != nil),
            ("--label-smoothing", labelSmoothing != nil), ("--loss", loss != nil), ("--noise", noise != nil),
            ("--latent", latent != nil), ("--width", width != nil), ("--d-steps", dSteps != nil), ("--flip", flip),
            ("--seed", seed != nil), ("--out", out != nil), ("--resume", resume != nil), ("--sample-every", sampleEvery != nil),
            ("--checkpoint-every", checkpointEvery != nil), ("--checkpoint-minutes", checkpointMinutes != nil),
            ("--checkpoint-steps", checkpointSteps != nil), ("--keep-checkpoints", keepCheckpoints != nil),
            ("--log-every", logEvery != nil), ("--eval-every", evalEvery != nil), ("--eval-count", evalCount != nil),
            ("--precision", precision != nil), ("--spectral-norm", spectralNorm != nil), ("--ema", ema != nil),
            ("--augment", augment != nil), ("--limit", limit != nil), ("--limit-random", limitRandom), ("--conditional", conditional),
            ("--sync-batchnorm", syncBatchnorm),
        ]
        return all.filter(\.1).map(\.0)
    }

    /// Refuses options that would have no effect on this dataset or model, rather than train
    /// silently without them.
    func refuseIgnoredOptions(format: DatasetFormat, model: ModelPreset) throws {
        let data = self.data ?? DatasetLoader.defaultPath
        if !format.isResizable {
            for (flag, given) in [("--image-size", imageSize != nil), ("--channels", channels != nil)] where given {
                throw ValidationError("\(flag) applies only to folders of photos; \(data) is \(format.name), whose images keep their own size and channels")
            }
        }
        if model == .mlp, width != nil {
            throw ValidationError("--width does not apply to --model mlp (its layers have fixed sizes: 128, 256, 512, 1024)")
        }
        if limitRandom && limit == nil { throw ValidationError("--limit-random applies only with --limit N") }
        if labelSmoothing != nil, (loss ?? (model == .sngan ? .hinge : .bce)) == .hinge {
            throw ValidationError("--label-smoothing does not apply to --loss hinge (its margins have no target label)")
        }
        if evalCount != nil, (evalEvery ?? 0) == 0 {
            throw ValidationError("--eval-count applies only with --eval-every N (evaluations during training are off by default)")
        }
    }

    /// `--augment`'s list ("none": no augmentation).
    func augmentation(_ text: String) throws -> DiffAugment {
        if text == "none" { return DiffAugment([]) }
        do { return try DiffAugment(parsing: text) } catch {
            throw ValidationError("--augment: \(error)")
        }
    }

    func defaultRunDirectory() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "runs/\((model ?? .dcgan).rawValue)-\(f.string(from: Date()))"
    }
}

/// When the first stop request came (monotonic seconds).
let stopRequestedAt = Atomic<Int>(0)

/// Ctrl-C or SIGTERM: finish the step, checkpoint, exit. A second one exits at once — unless it
/// comes within a second of the first: under mpiexec a terminal's Ctrl-C reaches each process
/// twice (from the terminal and forwarded by the launcher), and that is one request.
func installStopHandlers() {
    // A parent may have started us with these signals blocked (a thread of a test runner, a
    // service manager): unblock them, or the request would wait forever.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    for s in [SIGINT, SIGTERM] {
        signal(s) { _ in
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if stopRequested.exchange(true, ordering: .relaxed) {
                if now.tv_sec - stopRequestedAt.load(ordering: .relaxed) >= 1 { _exit(130) }
            } else {
                stopRequestedAt.store(now.tv_sec, ordering: .relaxed)
            }
        }
    }
}

func formatDuration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
}

/// A live status line on a terminal; periodic plain lines otherwise (CI, pipes).
final class ProgressDisplay {
    let interactive: Bool
    var lastDraw = Date.distantPast
    var lastLine = ""

    init(interactive: Bool) { self.interactive = interactive }

    func line(_ p: TrainingProgress) -> String {
        String(format: "epoch %d/%d  step %d/%d  %.0f img/s  ETA %@  D %.3f  G %.3f  D(x) %.2f  D(G(z)) %.2f",
               p.epoch + 1, p.epochs, p.batch, p.batchesPerEpoch, p.imagesPerSecond, formatDuration(p.etaSeconds),
               p.lossD, p.lossG, p.dReal, p.dFake)
    }

    func update(_ p: TrainingProgress) {
        if interactive {
            guard Date().timeIntervalSince(lastDraw) > 0.1 || p.batch == p.batchesPerEpoch else { return }
            lastDraw = Date()
            lastLine = line(p)
            print("\r\u{1B}[K" + lastLine, terminator: "")
            fflush(stdout)
        } else if p.step == 1 || p.step % 50 == 0 || Date().timeIntervalSince(lastDraw) > 30 {
            lastDraw = Date()
            say(line(p))
        }
    }

    func message(_ text: String) {
        if interactive { print("\r\u{1B}[K", terminator: "") }
        say(text)
        if interactive && !lastLine.isEmpty { print(lastLine, terminator: ""); fflush(stdout) }
    }

    func finish() { if interactive { print("") } }
}

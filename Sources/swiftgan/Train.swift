import ArgumentParser
import Datasets
import Distributed
import Foundation
import GANEvaluation
import GANModels
import GANTraining
import Tensors

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a GAN on a dataset and write samples, metrics and checkpoints to a run directory.",
        usage: "swiftgan train [--out RUN_DIR | --resume RUN_DIR] [--threads N] [--SETTING VALUE …]",
        discussion: """
        With no settings: a DCGAN on Fashion-MNIST (Debian's dataset-fashion-mnist),
        5 epochs, into runs/<model>-<time>. Ctrl-C finishes the current step, writes a
        checkpoint and prints how to resume. Intervals take their unit as a suffix too
        (--sample-every 100steps, --checkpoint-every 10min).

        SETTINGS:
        \(SettingFlags.help)
        """)

    @Option(help: "Run directory (default: runs/<model>-<date>).") var out: String?
    @Option(help: "Continue the run in this directory from its latest checkpoint (only --epochs, --max-steps and --minutes may change).")
    var resume: String?
    @Option(help: "Compute threads (default: the cores, divided among the processes of an mpiexec job on this host).")
    var threads: Int?
    @Argument(parsing: .allUnrecognized, help: .hidden) var settings: [String] = []
    /// The training guide's table of settings (docs/guide/training.md; kept equal to it by a test).
    @Flag(help: .hidden) var settingsTable = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
        if out != nil && resume != nil { throw ValidationError("--out and --resume exclude each other: a resumed run stays where it is") }
    }

    func run() throws {
        if settingsTable { return print(TrainingSettings.markdownTable) }
        var job: MPICommunicator?
        do {
            try train { job = $0 }
            job?.finalize()
        } catch let exit as ExitCode {
            // A rank that fails alone (its error already printed) ends the whole job: the others
            // may be waiting for it in a collective, and MPI_Finalize would wait for them. Half a
            // second first, so that ranks failing on the same input (a refused setting) all say so
            // before the first abort ends them.
            if exit.rawValue == 1, let job {
                usleep(500_000)
                job.abort(code: 1)
            }
            job?.finalize()  // a stop (130) is agreed by every rank
            throw exit
        }
    }

    /// The command, reporting the job it joined (under mpiexec) as soon as it has one.
    func train(joined: (MPICommunicator) -> Void) throws {
        try reportingErrors {
            let world = try MPICommunicator.world().flatMap { $0.size > 1 ? $0 : nil }
            if let world { joined(world) }
            let dataParallel = world.map(DataParallel.init)
            if let world {
                errorPrefix = "rank \(world.rank): "
                quiet = world.rank != 0
                let local = ProcessInfo.processInfo.environment["MPI_LOCALNRANKS"].flatMap(Int.init) ?? world.size
                Engine.threads = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(local, 1))
            }
            let given = try SettingFlags.parse(settings)
            if world == nil {
                if let threads { Engine.threads = threads }
                if given[TrainingSettings.syncBatchNorm] == true {
                    throw ValidationError("--sync-batchnorm applies only to a job of several processes (mpiexec -n N swiftgan train …)")
                }
            }
            let trainer = try resume.map { try resumed($0, given, dataParallel) } ?? started(given, dataParallel)
            if trainer.config.evalEvery > 0 { trainer.evaluator = try evaluator(for: trainer) }
            if let dataParallel { say("processes: " + (try dataParallel.processes()).joined(separator: ", ")) }
            StopSignals.stopGracefully(sameRequestWithin: 1)
            let display = ProgressDisplay(interactive: isatty(STDOUT_FILENO) != 0)
            let outcome = try trainer.run(progress: display.update, message: display.message,
                                          shouldStop: { StopSignals.requested })
            display.finish()
            switch outcome {
            case .finished(let checkpoint):
                say("done: \(trainer.state.step) steps in \(formatDuration(trainer.state.trainingSeconds)); "
                    + "samples in \(trainer.directory.samplesDirectory) (final.png), checkpoint \(checkpoint)")
            case .interrupted(let checkpoint):
                say("stopped at step \(trainer.state.step); checkpoint \(checkpoint)")
                say("resume with: swiftgan train --resume \(trainer.directory.path)")
                throw ExitCode(130)
            }
        }
    }

    /// A new run from the given settings.
    func started(_ given: GivenSettings, _ dataParallel: DataParallel?) throws -> Trainer {
        do { try given.refuseIgnored(format: try DatasetLoader.format(of: given.dataPath)) } catch let e as SettingError {
            throw SettingFlags.flagError(e)
        }
        // Before any data is read (the library checks it again with the data, for new and resumed runs).
        do { try dataParallel?.checkBatch(given.value(TrainingSettings.batchSize)) } catch TrainingError.batchDoesNotSplit(let batch, let processes) {
            throw ValidationError("--batch-size \(batch) does not split over \(processes) processes: give a multiple of \(processes) (it is the global batch)")
        }
        let dataset = try load(given.dataPath, size: given.imageSize, channels: given.channels,
                               background: given.value(TrainingSettings.background), skinTones: given.value(TrainingSettings.skinTones))
        let config = try given.configuration(for: dataset)
        let directory = out ?? defaultRunDirectory(config.model.preset)
        let trainer = try Trainer(config: config, dataset: dataset, runDirectory: directory, dataParallel: dataParallel)
        if let dataParallel {
            say("data-parallel over \(dataParallel.size) processes: global batch \(config.batchSize), "
                + "\(config.batchSize / dataParallel.size) per process, \(Engine.threads) threads each")
        }
        let used = trainer.dataset, c = trainer.config
        say("training \(c.model.preset.rawValue) on \(used.name): \(used.count) images \(used.width)×\(used.height)×\(used.channels), "
            + "G \(trainer.generator.parameterCount) and D \(trainer.discriminator.parameterCount) parameters, on \(Engine.name)")
        if !given.contains(ModelSettings.model) && c.model.preset != ModelSettings.defaultPreset {
            say("\(c.model.preset.rawValue) is the default for \(given.dataPath == Emoji.keyword ? "the emoji set" : "folders of pictures") "
                + "(the colour search's choice; --model names another)")
        }
        say("recipe: " + recipe(c))
        say("run directory: \(directory)")
        return trainer
    }

    /// The run in `path`, continued; only the settings that may change on a resume are accepted.
    func resumed(_ path: String, _ given: GivenSettings, _ dataParallel: DataParallel?) throws -> Trainer {
        let fixed = given.fixedOnResume.map { "--" + $0.flag }
        if !fixed.isEmpty {
            let changeable = TrainingSettings.all.filter(\.changesOnResume).map { "--" + $0.flag }
            throw ValidationError("\(fixed.joined(separator: ", ")) cannot change when resuming: a run keeps the settings it started with; "
                + "only \(changeable.dropLast().joined(separator: ", ")) and \(changeable.last!) can change (start a new run with --out to change the others)")
        }
        let trainer = try Trainer.resume(runDirectory: path, loadingData: { c in
            try load(c.dataPath, size: c.model.imageSize, channels: c.model.channels, background: c.background, skinTones: c.skinTones)
        }, epochs: given[TrainingSettings.epochs], maxSteps: given[TrainingSettings.maxSteps] ?? nil,
           maxMinutes: given[TrainingSettings.maxMinutes] ?? nil, dataParallel: dataParallel,
           warning: { say($0) })
        say("resuming \(path) at epoch \(trainer.state.epoch + 1), step \(trainer.state.step) from \(trainer.lastCheckpoint ?? "?")")
        let before = trainer.state.worldSize ?? 1, now = dataParallel?.size ?? 1
        if before != now {
            say("note: the run was trained by \(before) process\(before == 1 ? "" : "es") and continues with \(now): it goes on, but "
                + "not bitwise as an uninterrupted run would (each process's batch-norm statistics and the summation order change)")
        } else if dataParallel == nil && trainer.config.syncBatchNorm {
            say("note: the run synchronized batch norm over \(before) processes; one process normalizes its whole batch, the same statistics")
        }
        return trainer
    }

    /// The judge of the evaluations during training, trained on (or cached for) the run's data.
    func evaluator(for trainer: Trainer) throws -> Evaluator {
        let path = trainer.config.dataPath
        guard trainer.dataset.labels != nil else { throw ValidationError("--eval-every needs a labelled dataset; \(path) has no labels") }
        let test = try Evaluator.testSplit(of: path, train: trainer.dataset)
        let (classifier, accuracy) = try Classifier.forDataset(trainer.dataset, test: test, log: { say($0) })
        return Evaluator(classifier: classifier, accuracy: accuracy, test: test)
    }

    func recipe(_ c: TrainingConfig) -> String {
        var recipe = ["batch \(c.batchSize)", "loss \(c.loss.rawValue)"]
        if c.loss == .wganGP { recipe.append("gradient penalty λ \(c.gradientPenaltyWeight)") }
        if c.r1 > 0 { recipe.append("R1 γ \(c.r1)") }
        if c.r2 > 0 { recipe.append("R2 γ \(c.r2)") }
        if c.penaltyEvery > 1 && (c.r1 > 0 || c.r2 > 0 || c.loss == .wganGP) { recipe.append("penalties every \(c.penaltyEvery) steps") }
        if c.model.spectralNorm != .none { recipe.append("spectral norm in \(c.model.spectralNorm == .both ? "G and D" : c.model.spectralNorm.rawValue.uppercased())") }
        if c.ema > 0 { recipe.append("EMA \(c.ema)") }
        if c.model.preset == .fastgan { recipe.append("D reconstructs the real images from its features") }
        if !c.augment.isEmpty { recipe.append("DiffAugment " + c.augment.settingText) }
        if c.model.isConditional {
            recipe.append("conditional on \(c.model.classes) classes (" + c.model.classNames.prefix(10).joined(separator: ", ")
                          + (c.model.classes > 10 ? ", …" : "") + "): class-conditional batch norm in G, projection in D"
                          + (c.model.auxiliaryClassifier ? " and an auxiliary classifier (λ \(c.auxiliaryWeight))" : ""))
        }
        return recipe.joined(separator: ", ")
    }

    func load(_ path: String, size: Int, channels: Int, background: Background, skinTones: Bool) throws -> ImageDataset {
        let dataset = try DatasetLoader.load(path, imageSize: size, channels: channels, background: background.level, skinTones: skinTones) { say($0) }
        if !dataset.skipped.isEmpty && path != Emoji.keyword { say("skipped \(dataset.skipped.count) undecodable files") }
        return dataset
    }

    func defaultRunDirectory(_ preset: ModelPreset) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "runs/\(preset.rawValue)-\(f.string(from: Date()))"
    }
}

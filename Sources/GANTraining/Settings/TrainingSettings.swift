import Datasets
import GANModels
import Tensors

/// Every setting of a training run, each declared once, here. `TrainingConfig` exposes each as a
/// property of the same name (`config.batchSize`); `swiftgan train` takes each as `--flag`; the
/// training guide's table of flags (docs/guide/training.md) is `TrainingSettings.markdownTable`. A new setting is a new entry
/// (name, flag, help, default, unit, check) and the code that uses it; a `state.json` written
/// before it existed decodes to its default.
public enum TrainingSettings {
    // MARK: The data

    public static let dataPath = Setting<String>(
        "dataPath", flag: "data", noun: "the dataset", placeholder: "PATH",
        help: "an IDX file or MNIST-style folder, an SVHN .mat, CIFAR-10 .bin batches, a folder of PNG/JPEG photos, or emoji (the built-in colour set: Noto Color Emoji, labelled by its 9 groups)",
        default: DatasetLoader.defaultPath)
    public static let background = Setting<Background>(
        "background", flag: "background", noun: "the background", placeholder: "white|black",
        help: "what transparent pixels are composited over (folders of photos and emoji only)", default: .white)
    public static let skinTones = Setting<Bool>(
        "skinTones", flag: "skin-tones", noun: "the skin-tone variants", placeholder: nil,
        help: "keep the emoji set's skin-tone variants (each base emoji again in five skin colours)", default: false)

    // MARK: How long

    public static let epochs = Setting<Int>(
        "epochs", flag: "epochs", noun: "the number of epochs", unit: .epochs, changesOnResume: true,
        help: "passes over the dataset", default: 5, check: Checks.positive)
    public static let maxSteps = Setting<Int?>(
        "maxSteps", flag: "max-steps", noun: "the step limit", unit: .steps, changesOnResume: true,
        help: "stop after this many steps in all (none: no limit)", default: nil, check: Checks.positiveOrNone)
    public static let maxMinutes = Setting<Double?>(
        "maxMinutes", flag: "minutes", noun: "the time budget", unit: .minutes, placeholder: "M", changesOnResume: true,
        help: "train for this long in all (wall clock, across resumes; 2h for hours), then stop with a checkpoint, the final grid and an evaluation when evaluating; --epochs is then unlimited unless given (none: no limit)",
        default: nil, check: { $0.map { $0.isFinite && $0 > 0 ? nil : "must be a positive number of minutes" } ?? nil })

    /// Other names of flags: `--max-time 2h` is `--minutes 120`.
    public static let flagAliases = ["max-time": "minutes"]
    /// The epochs of a run limited by time alone (`--minutes` without `--epochs`).
    public static let unlimitedEpochs = 1_000_000_000

    // MARK: The optimisation

    public static let batchSize = Setting<Int>(
        "batchSize", flag: "batch-size", noun: "the batch size", unit: .images,
        help: "images per step (under mpiexec: the global batch)", default: { $0.preset == .dcganCPU || $0.preset == .fastgan ? 32 : 128 },
        check: Checks.positive)
    public static let learningRateG = Setting<Float>(
        "learningRateG", flag: "lr-g", noun: "the generator's learning rate", placeholder: "X",
        help: "the generator's Adam learning rate", default: 2e-4, check: Checks.positiveFinite)
    public static let learningRateD = Setting<Float>(
        "learningRateD", flag: "lr-d", noun: "the discriminator's learning rate", placeholder: "X",
        help: "the discriminator's Adam learning rate", default: 2e-4, check: Checks.positiveFinite)
    public static let beta1 = Setting<Float>(
        "beta1", flag: "beta1", noun: "Adam's β1", placeholder: "X", help: "Adam's β1", default: 0.5, check: Checks.unitInterval)
    public static let beta2 = Setting<Float>(
        "beta2", flag: "beta2", noun: "Adam's β2", placeholder: "X", help: "Adam's β2", default: 0.999, check: Checks.unitInterval)
    public static let loss = Setting<GANLoss>(
        "loss", flag: "loss", noun: "the loss", placeholder: "bce|lsgan|hinge|wgan-gp|rpgan",
        help: "the adversarial loss: wgan-gp adds its gradient penalty (--gp-weight); rpgan is R3GAN's relativistic pairing loss",
        default: { $0.preset == .sngan || $0.preset == .fastgan ? .hinge : .bce })
    public static let realLabel = Setting<Float>(
        "realLabel", flag: "label-smoothing", noun: "the real label", placeholder: "X",
        help: "target of real images in D's loss: one-sided label smoothing (1: none; bce and lsgan only)",
        default: { $0.preset == .sngan || $0.preset == .fastgan ? 1 : 0.9 }, check: { $0.isFinite && $0 > 0 && $0 <= 1 ? nil : "must be in (0, 1]" })
    public static let dSteps = Setting<Int>(
        "dSteps", flag: "d-steps", noun: "the discriminator steps per generator step",
        help: "discriminator updates per generator update", default: 1, check: Checks.positive)
    public static let seed = Setting<UInt64>(
        "seed", flag: "seed", noun: "the seed", help: "the same seed gives the same run", default: 0)
    public static let horizontalFlip = Setting<Bool>(
        "horizontalFlip", flag: "flip", noun: "horizontal flipping", placeholder: nil,
        help: "randomly flip training images horizontally", default: false)
    public static let mirror = Setting<Bool>(
        "mirror", flag: "mirror", noun: "mirroring", placeholder: nil,
        help: "add each image's mirror image to the data (StyleGAN's --mirror): twice the images, an epoch covers both",
        default: false)
    public static let precision = Setting<Precision>(
        "precision", flag: "precision", noun: "the precision", placeholder: "fp32|bf16",
        help: "arithmetic of the convolutions: bf16 needs AVX512-BF16 or AMX-BF16 (weights, their gradients, batch-norm statistics "
            + "and Adam stay fp32)",
        default: .fp32, check: { $0.unavailableReason.map { "needs a CPU with AVX512-BF16 or AMX-BF16 (\($0); use fp32)" } })

    // MARK: Modern ingredients

    public static let ema = Setting<Float>(
        "ema", flag: "ema", noun: "the EMA decay", placeholder: "DECAY",
        help: "keep an exponential moving average of G with this decay (0: none); sampling, evaluation and generator.safetensors use it",
        default: { [.sngan, .dcganCPU, .fastgan].contains($0.preset) ? 0.999 : 0 }, check: Checks.unitInterval)
    public static let augment = Setting<[DiffAugment.Operation]>(
        "augment", flag: "augment", noun: "the augmentation", placeholder: "LIST",
        help: "DiffAugment for everything D sees: color, translation, cutout (comma-separated), or none; sngan on fewer than "
            + "\(TrainingConfig.smallDataset) images: all three",
        default: { $0.preset == .fastgan ? [.color, .translation] : [] })
    public static let ada = Setting<Bool>(
        "ada", flag: "ada", noun: "adaptive augmentation", placeholder: nil,
        help: "adaptive augmentation (StyleGAN2-ADA's heuristic): each --augment operation (all three when none is named) applied "
            + "to each image with a probability p that rises while the mean sign of D's outputs on real images is above "
            + "\(ADA.target) and falls below it, by up to 1 per \(ADA.imagesPerUnit) images; p is logged and resumed",
        default: false)
    public static let r1 = Setting<Float>(
        "r1", flag: "r1", noun: "the R1 weight", placeholder: "GAMMA",
        help: "R1 penalty γ/2·E‖∇D(x)‖² on real images (StyleGAN2, R3GAN; 0: none)", default: 0, check: Checks.finiteNonNegative)
    public static let r2 = Setting<Float>(
        "r2", flag: "r2", noun: "the R2 weight", placeholder: "GAMMA",
        help: "R2 penalty γ/2·E‖∇D(G(z))‖² on generated images (R3GAN; 0: none)", default: 0, check: Checks.finiteNonNegative)
    public static let gradientPenaltyWeight = Setting<Float>(
        "gradientPenaltyWeight", flag: "gp-weight", noun: "the WGAN-GP weight", placeholder: "LAMBDA",
        help: "λ of WGAN-GP's penalty λ·E(‖∇D(x̂)‖ − 1)² (with --loss wgan-gp)", default: 10, check: Checks.finiteNonNegative)
    public static let penaltyEvery = Setting<Int>(
        "penaltyEvery", flag: "penalty-every", noun: "the steps between penalties", unit: .steps,
        help: "lazy regularization: the gradient penalties every N discriminator steps, weighted ×N (StyleGAN2: 16)",
        default: 1, check: Checks.positive)
    public static let auxiliaryWeight = Setting<Float>(
        "auxiliaryWeight", flag: "aux-weight", noun: "the auxiliary classification weight", placeholder: "LAMBDA",
        help: "λ of the auxiliary classifier's cross-entropy: D's on real images, G's on its own (with --aux-classifier)",
        default: 1, check: Checks.finiteNonNegative)
    public static let syncBatchNorm = Setting<Bool>(
        "syncBatchNorm", flag: "sync-batchnorm", noun: "synchronized batch norm", placeholder: nil,
        help: "under mpiexec: batch norms use the statistics of the whole global batch, so N processes compute what one does",
        default: false)

    // MARK: Which images

    public static let limit = Setting<Int?>(
        "limit", flag: "limit", noun: "the image limit", unit: .images,
        help: "train on only the first N images of the dataset (none: all)", default: nil, check: Checks.positiveOrNone)
    public static let limitRandom = Setting<Bool>(
        "limitRandom", flag: "limit-random", noun: "drawing the limited images at random", placeholder: nil,
        help: "with --limit: N images drawn at random (from the seed) instead of the first N", default: false)

    // MARK: What the run writes, and when

    public static let sampleEvery = Setting<Int>(
        "sampleEvery", flag: "sample-every", noun: "the steps between sample grids", unit: .steps,
        help: "a grid of the fixed noise every N steps (0: only at epoch ends)", default: 100, check: Checks.nonNegative)
    public static let sampleCount = Setting<Int>(
        "sampleCount", flag: "sample-count", noun: "the images of a sample grid", unit: .images,
        help: "images in each sample grid", default: 64, check: Checks.positive)
    public static let checkpointEvery = Setting<Int>(
        "checkpointEvery", flag: "checkpoint-every", noun: "the epochs between checkpoints", unit: .epochs,
        siblings: [.steps: "checkpointSteps", .minutes: "checkpointMinutes"],
        help: "a checkpoint every N epochs and at the end (0: not by epochs); 1000steps or 10min set the intervals below",
        default: 5, check: Checks.nonNegative)
    public static let checkpointSteps = Setting<Int>(
        "checkpointSteps", flag: "checkpoint-steps", noun: "the steps between checkpoints", unit: .steps,
        help: "also a checkpoint every N steps (0: not by steps)", default: 0, check: Checks.nonNegative)
    public static let checkpointMinutes = Setting<Double>(
        "checkpointMinutes", flag: "checkpoint-minutes", noun: "the minutes between checkpoints", unit: .minutes, placeholder: "M",
        help: "also a checkpoint when M minutes have passed since the last (0: not by time)", default: 10,
        check: Checks.finiteNonNegative)
    public static let keepCheckpoints = Setting<Int>(
        "keepCheckpoints", flag: "keep-checkpoints", noun: "the checkpoints kept",
        help: "step- checkpoints kept, the oldest removed first (best is kept besides)", default: 3, check: Checks.positive)
    public static let logEvery = Setting<Int>(
        "logEvery", flag: "log-every", noun: "the steps between metrics lines", unit: .steps,
        help: "a line of metrics.jsonl (and TensorBoard scalars) every N steps", default: 10, check: Checks.positive)
    public static let evalEvery = Setting<Int>(
        "evalEvery", flag: "eval-every", noun: "the epochs between evaluations", unit: .epochs,
        help: "evaluate (Fréchet distance, classifier score, coverage, precision/recall) every N epochs (0: never); needs labels",
        default: 0, check: Checks.nonNegative)
    public static let evalCount = Setting<Int>(
        "evalCount", flag: "eval-count", noun: "the images per evaluation", unit: .images,
        help: "generated images per evaluation during training", default: 2000,
        check: { $0 >= 10 ? nil : "must be at least 10" })

    /// Every setting, the model's first, in the order of the help and the training guide.
    public static let all: [any AnySetting] = ModelSettings.all + stored

    /// The settings a `TrainingConfig` holds itself (the model's are `ModelConfig`'s).
    static let stored: [any AnySetting] = [
        dataPath, background, skinTones, epochs, maxSteps, maxMinutes,
        batchSize, learningRateG, learningRateD, beta1, beta2, loss, realLabel, dSteps, seed, horizontalFlip, mirror, precision,
        ema, augment, ada, r1, r2, gradientPenaltyWeight, penaltyEvery, auxiliaryWeight, syncBatchNorm,
        limit, limitRandom,
        sampleEvery, sampleCount, checkpointEvery, checkpointSteps, checkpointMinutes, keepCheckpoints, logEvery, evalEvery, evalCount,
    ]

    /// The setting with this key.
    public static func named(_ key: String) -> (any AnySetting)? { byKey[key] }
    /// The setting with this flag (without dashes).
    public static func flagged(_ flag: String) -> (any AnySetting)? { byFlag[flagAliases[flag] ?? flag] }

    static let byKey = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
    static let byFlag = Dictionary(uniqueKeysWithValues: all.map { ($0.flag, $0) })
}

/// The settings that fix the model's architecture: `ModelConfig`'s fields, whose defaults per
/// preset are `ModelConfig.init`'s. A new run takes them from the command line and the data; a
/// resumed run keeps them.
public enum ModelSettings {
    // MARK: The model (its defaults per preset are `ModelConfig`'s)

    public static let model = Setting<ModelPreset>(
        "preset", flag: "model", noun: "the model", placeholder: "NAME", location: .model,
        help: "dcgan-cpu (DCGAN's layers, batch 32 and EMA: the recipe search's choice for CPU time), mlp (Keras dense GAN), "
            + "dcgan (the tutorials' DCGAN: 28, or 32–256 powers of two), catdcgan (128×128), sngan (SNGAN's standard CNN: 28, 32, 64, 128), "
            + "fastgan (FastGAN for small colour sets: 32–256 powers of two; the default on folders and the emoji set)",
        default: defaultPreset)
    /// What `swiftgan train` and `make` train unless told otherwise, on the datasets of a fixed
    /// size (Fashion-MNIST, the default data, where the recipe search chose it).
    public static let defaultPreset = ModelPreset.dcganCPU
    /// What trains on folders of photos and the emoji set unless told otherwise: pictures drawn at
    /// the size the model asks for, mostly in colour, where the colour search chose it
    /// (docs/guide/recipes.md).
    public static let picturesPreset = ModelPreset.fastgan

    /// The preset a run on `format` uses when none is named.
    public static func defaultPreset(for format: DatasetFormat?) -> ModelPreset {
        format?.isResizable == true ? picturesPreset : defaultPreset
    }
    public static let imageSize = Setting<Int>(
        "imageSize", flag: "image-size", noun: "the image size", location: .model,
        help: "side photos and emoji are resized to (folders of photos and emoji only; other formats keep theirs)",
        default: { $0.preset.defaultImageSize }, check: Checks.positive)
    public static let channels = Setting<Int>(
        "channels", flag: "channels", noun: "the number of channels", location: .model,
        help: "channels photos and emoji are converted to: 1 or 3 (folders of photos and emoji only)", default: 3,
        check: { $0 == 1 || $0 == 3 ? nil : "must be 1 or 3" })
    public static let latent = Setting<Int>(
        "latent", flag: "latent", noun: "the latent size", location: .model,
        help: "length of the latent vector z", default: { $0.latent }, check: Checks.positive)
    public static let width = Setting<Int>(
        "width", flag: "width", noun: "the width", location: .model,
        help: "base number of filters (DCGAN's ngf = ndf; not for mlp)", default: { $0.width }, check: Checks.positive)
    public static let noise = Setting<NoiseDistribution>(
        "noise", flag: "noise", noun: "the noise", placeholder: "normal|uniform", location: .model,
        help: "distribution of z", default: { $0.noise })
    public static let spectralNorm = Setting<SpectralNormPlacement>(
        "spectralNorm", flag: "spectral-norm", noun: "the spectral norm placement", placeholder: "d|g|both|none", location: .model,
        help: "spectral normalisation of every convolution and dense layer of D, G, both or none", default: { $0.spectralNorm })
    public static let conditional = Setting<Bool>(
        "conditional", flag: "conditional", noun: "class conditioning", placeholder: nil, location: .model,
        help: "class-conditional GAN: G draws the class it is given (class-conditional batch norm), D judges images with their "
            + "class (projection); needs a labelled dataset (IDX with its labels file, CIFAR-10, SVHN, a folder of class folders)",
        default: { $0.isConditional })

    public static let auxiliaryClassifier = Setting<Bool>(
        "auxiliaryClassifier", flag: "aux-classifier", noun: "the auxiliary classifier", placeholder: nil, location: .model,
        help: "AC-GAN beside the projection (with --conditional): D also predicts the class of what it sees (a dense head on its "
            + "features), learning from real images; G learns to make its images classified as the class they were drawn as",
        default: { $0.auxiliaryClassifier })

    public static let all: [any AnySetting] = [model, imageSize, channels, latent, width, noise, spectralNorm, conditional, auxiliaryClassifier]
}

extension TrainingSettings {
    /// A setting's default as the help and the training guide show it: one value, or the value most
    /// presets share and the presets whose default differs ("bce (sngan: hinge)").
    public static func describeDefault(of setting: any AnySetting) -> String {
        if setting.key == ModelSettings.model.key {
            return "\(ModelSettings.defaultPreset.rawValue) (folders and emoji: \(ModelSettings.picturesPreset.rawValue))"
        }
        let models = ModelPreset.allCases.map { ModelConfig(preset: $0, imageSize: $0.defaultImageSize, channels: 1) }
        let texts = models.map { setting.defaultText(for: $0) }
        func share(_ text: String) -> Int { texts.filter { $0 == text }.count }
        let mine = setting.defaultText(for: models[ModelPreset.allCases.firstIndex(of: ModelSettings.defaultPreset)!])
        let base = texts.reduce(mine) { best, text in share(text) > share(best) ? text : best }
        let different = models.filter { setting.defaultText(for: $0) != base }
        guard !different.isEmpty else { return base }
        return base + " (" + different.map { "\($0.preset.rawValue): \(setting.defaultText(for: $0))" }.joined(separator: ", ") + ")"
    }

    /// The training guide's table of `swiftgan train`'s settings (docs/guide/training.md): flag, default, unit, meaning. A test
    /// keeps the guide's copy equal to it.
    public static var markdownTable: String {
        var lines = ["| flag | default | unit | what it sets |", "|---|---|---|---|"]
        for s in all {
            let flag = "`--\(s.flag)" + (s.placeholder.map { " \($0)" } ?? "") + "`"
            let value = s.placeholder == nil ? "off" : "`" + describeDefault(of: s).replacingOccurrences(of: "|", with: "\\|") + "`"
            lines.append("| \(flag.replacingOccurrences(of: "|", with: "\\|")) | \(value) | \(s.unit?.rawValue ?? "") | \(s.help.replacingOccurrences(of: "|", with: "\\|")) |")
        }
        return lines.joined(separator: "\n")
    }
}

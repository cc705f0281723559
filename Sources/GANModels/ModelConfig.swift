import NN
import Tensors

/// The classic GAN architectures, by name.
public enum ModelPreset: String, Codable, Sendable, CaseIterable {
    /// The Keras Fashion-MNIST GAN: dense layers only.
    case mlp
    /// DCGAN: TensorFlow's 5×5 design at 28 and 32 pixels, the canonical 4×4 design (PyTorch's
    /// reference, same parameter names) at 64 to 256.
    case dcgan
    /// The TensorFlow 1 CatDCGAN at 128×128.
    case catdcgan
    /// SNGAN (Miyato et al. 2018): the standard CNN with spectral norm in D, hinge loss; at 28,
    /// 32, 64 and 128 pixels.
    case sngan
    /// The default: DCGAN's layers at every size, trained with the recipe the recipe search chose
    /// for CPU time (docs/guide/recipes.md): batches of 32 and an exponential
    /// moving average of G (decay 0.999). Its defaults are the training settings'
    /// (`TrainingSettings.batchSize`, `.ema`); its checkpoints are DCGAN's, parameter for parameter.
    case dcganCPU = "dcgan-cpu"
    /// FastGAN (Liu et al., ICLR 2021), made for small sets of images: skip-layer excitation,
    /// GLU, nearest-neighbour upsampling in G; a D with a self-supervised decoder; spectral norm
    /// in both, hinge loss, DiffAugment (colour, translation) and EMA; at 32 to 256 pixels, at a
    /// width for CPUs (16: FastGAN's channel table divided by 4).
    case fastgan

    /// The preset whose layers this one builds: itself, except `dcgan-cpu` (DCGAN's).
    public var layers: ModelPreset { self == .dcganCPU ? .dcgan : self }

    /// The size photos are resized to for this preset unless told otherwise (datasets of a fixed
    /// size keep theirs): 28 for the MLP (Fashion-MNIST's), 64 for the DCGAN, 128 for CatDCGAN.
    public var defaultImageSize: Int {
        switch layers {
        case .mlp: return 28
        case .dcgan, .dcganCPU: return 64
        case .catdcgan: return 128
        case .sngan, .fastgan: return 64
        }
    }
}

/// How latent vectors are drawn.
public enum NoiseDistribution: String, Codable, Sendable, CaseIterable {
    /// N(0, 1), as PyTorch's DCGAN.
    case normal
    /// U(−1, 1), as the TensorFlow 1 tutorials.
    case uniform
}

/// Which networks are spectrally normalised.
public enum SpectralNormPlacement: String, Codable, Sendable, CaseIterable {
    case none, d, g, both
    public var discriminator: Bool { self == .d || self == .both }
    public var generator: Bool { self == .g || self == .both }
}

/// Everything that fixes a model's architecture.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var preset: ModelPreset
    public var imageSize: Int
    public var channels: Int
    /// Latent vector length (z).
    public var latent: Int
    /// Base width: filters of the first D layer / last G layer (DCGAN's ngf = ndf).
    public var width: Int
    public var noise: NoiseDistribution
    /// Spectral normalisation of every convolution and dense layer of D, G, both or neither
    /// (sngan: D; the tutorial presets: none).
    public var spectralNorm: SpectralNormPlacement
    /// The classes of a class-conditional model, by index (empty: unconditional). Their number
    /// fixes the architecture: G reads its class twice — as a one-hot vector appended to z, and
    /// through its batch norms, which become class-conditional (per-class γ and β) — and D gains a
    /// projection embedding (Miyato & Koyama 2018).
    public var classNames: [String]
    /// AC-GAN's auxiliary classifier (Odena et al. 2017) in a conditional D, beside the projection:
    /// a dense head from the features the last layer reads to one logit per class.
    public var auxiliaryClassifier: Bool

    public init(preset: ModelPreset, imageSize: Int, channels: Int, latent: Int? = nil, width: Int? = nil,
                noise: NoiseDistribution? = nil, spectralNorm: SpectralNormPlacement? = nil, classNames: [String] = [],
                auxiliaryClassifier: Bool = false) {
        self.preset = preset; self.imageSize = imageSize; self.channels = channels
        self.classNames = classNames
        self.auxiliaryClassifier = auxiliaryClassifier
        self.latent = latent ?? (preset == .sngan || preset == .fastgan ? 128 : 100)
        self.width = width ?? Self.defaultWidth(preset, imageSize: imageSize)
        self.noise = noise ?? (preset == .catdcgan ? .uniform : .normal)
        self.spectralNorm = spectralNorm ?? (preset == .sngan ? .d : preset == .fastgan ? .both : .none)
    }

    /// 64 (DCGAN's ngf = ndf), except SNGAN at 28 pixels: 32, which makes its step cost what the
    /// tutorial DCGAN's does (its 4×4 transposed convolutions from 512 channels cost 4× more), and
    /// FastGAN: 16, a quarter of its paper's channels (its 3×3 convolutions at full resolution
    /// cost more than DCGAN's transposed ones).
    public static func defaultWidth(_ preset: ModelPreset, imageSize: Int) -> Int {
        preset == .fastgan ? 16 : preset == .sngan && imageSize == 28 ? 32 : 64
    }

    /// The number of classes of a conditional model; 0 for an unconditional one.
    public var classes: Int { classNames.count }
    public var isConditional: Bool { !classNames.isEmpty }

    /// Whether the preset's discriminator normalizes with batch norm (the DCGANs'; a test keeps
    /// this equal to what `Models.make` builds).
    public var discriminatorHasBatchNorm: Bool { preset.layers == .dcgan || preset == .catdcgan || preset == .fastgan }

    enum CodingKeys: String, CodingKey { case preset, imageSize, channels, latent, width, noise, spectralNorm, classNames, auxiliaryClassifier }

    /// Files written before spectral norm existed decode to `.none`; before conditional models,
    /// to an unconditional model; before the auxiliary classifier, to a model without it.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(preset: try c.decode(ModelPreset.self, forKey: .preset), imageSize: try c.decode(Int.self, forKey: .imageSize),
                  channels: try c.decode(Int.self, forKey: .channels), latent: try c.decode(Int.self, forKey: .latent),
                  width: try c.decode(Int.self, forKey: .width), noise: try c.decode(NoiseDistribution.self, forKey: .noise),
                  spectralNorm: try c.decodeIfPresent(SpectralNormPlacement.self, forKey: .spectralNorm) ?? SpectralNormPlacement.none,
                  classNames: try c.decodeIfPresent([String].self, forKey: .classNames) ?? [],
                  auxiliaryClassifier: try c.decodeIfPresent(Bool.self, forKey: .auxiliaryClassifier) ?? false)
    }

    /// The index of the class a user names: its name (exactly, or ignoring case and spaces) or
    /// its index. Throws `SamplingError.unknownClass` listing the valid names.
    public func classIndex(_ name: String) throws -> Int {
        guard isConditional else { throw SamplingError.notConditional }
        if let exact = classNames.firstIndex(of: name) { return exact }
        func folded(_ s: String) -> String { s.lowercased().filter { !$0.isWhitespace } }
        let matches = classNames.indices.filter { folded(classNames[$0]) == folded(name) }
        if matches.count == 1 { return matches[0] }
        if let i = Int(name), classNames.indices.contains(i) { return i }
        throw SamplingError.unknownClass(name, valid: classNames)
    }

    /// Why this architecture cannot be built, or nil when it can.
    public var problem: String? {
        guard latent > 0 else { return "the latent size must be positive, got \(latent)" }
        guard width > 0 else { return "the width must be positive, got \(width)" }
        guard channels == 1 || channels == 3 else { return "images must have 1 or 3 channels, got \(channels)" }
        guard classes != 1 else { return "a conditional model needs at least 2 classes, got 1 (\(classNames[0]))" }
        guard !auxiliaryClassifier || isConditional else { return "an auxiliary classifier needs classes: a conditional model" }
        switch preset.layers {
        case .mlp: return imageSize > 0 ? nil : "the image size must be positive"
        case .dcgan, .dcganCPU:
            let ok = imageSize == 28 || (imageSize >= 32 && imageSize <= 256 && imageSize & (imageSize - 1) == 0)
            return ok ? nil : "\(preset.rawValue) is built for 28×28 or a power of two from 32 to 256, not \(imageSize)×\(imageSize)"
        case .catdcgan:
            return imageSize == 128 ? nil : "catdcgan is built for 128×128, not \(imageSize)×\(imageSize)"
        case .sngan:
            return [28, 32, 64, 128].contains(imageSize) ? nil : "sngan is built for 28, 32, 64 or 128 pixels, not \(imageSize)×\(imageSize)"
        case .fastgan:
            return [32, 64, 128, 256].contains(imageSize) ? nil : "fastgan is built for 32, 64, 128 or 256 pixels, not \(imageSize)×\(imageSize)"
        }
    }

    /// The generator's input shape for `n` samples.
    public func latentShape(_ n: Int) -> [Int] {
        (preset.layers == .dcgan && imageSize >= 64) || preset == .fastgan ? [n, latent, 1, 1] : [n, latent]
    }

    /// `n` latent vectors from `rng`.
    public func noise(_ n: Int, using rng: RandomGenerator) -> Tensor {
        switch noise {
        case .normal: return .randomNormal(latentShape(n), using: rng)
        case .uniform: return .randomUniform(latentShape(n), low: -1, high: 1, using: rng)
        }
    }
}

/// A generator: latent vectors → images in [-1, 1], [N, C, H, W]. Parameters are named
/// `main.<index>.<name>` as in PyTorch's reference DCGAN.
///
/// A conditional generator is called with the classes of its samples,
/// `generator(z, classes: .oneHot(labels, classes: k))`: they are appended to z (its first layer
/// reads latent + K values, the class columns of its weight a learned class embedding, as

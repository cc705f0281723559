import GANModels
import Tensors

/// The adversarial objective.
public enum GANLoss: String, Codable, Sendable, CaseIterable {
    /// Binary cross-entropy on logits (the original GAN, non-saturating generator loss).
    case bce
    /// Least squares (Mao et al. 2017): ½·(D(x) − 1)² + ½·D(G(z))²; G: ½·(D(G(z)) − 1)².
    case lsgan
    /// Hinge (Lim & Ye 2017; SAGAN): relu(1 − D(x)) + relu(1 + D(G(z))); G: −D(G(z)).
    case hinge
    /// Wasserstein with gradient penalty (Gulrajani et al. 2017): D(G(z)) − D(x) + λ·(‖∇D(x̂)‖ − 1)²
    /// at x̂ between a real and a fake image (the penalty is `GANStep`'s); G: −D(G(z)).
    case wganGP = "wgan-gp"
    /// Relativistic pairing (Jolicoeur-Martineau 2018; R3GAN, Huang et al. 2024): softplus(D(G(z)) − D(x))
    /// over pairs of a real and a fake image; G: softplus(D(x) − D(G(z))).
    case rpgan

    /// Whether the generator's loss reads D's logits of the real images too.
    public var generatorNeedsReal: Bool { self == .rpgan }

    /// Whether `realTarget` (label smoothing) means anything for this loss.
    public var usesRealTarget: Bool { self == .bce || self == .lsgan }

    /// The discriminator's loss on real and fake logits. `realTarget` is the smoothed label of real
    /// images (0.9 for one-sided label smoothing; 1 for none); only bce and lsgan read it.
    public func discriminator(real: Tensor, fake: Tensor, realTarget: Float) -> Tensor {
        switch self {
        case .bce:
            return Tensor.binaryCrossEntropy(logits: real, target: realTarget) + Tensor.binaryCrossEntropy(logits: fake, target: 0)
        case .lsgan:
            return (Tensor.meanSquaredError(real, .full(real.shape, realTarget)) + fake.square().mean()) * 0.5
        case .hinge:
            return (1 - real).relu().mean() + (1 + fake).relu().mean()
        case .wganGP:
            return fake.mean() - real.mean()
        case .rpgan:
            // softplus(f − r) = −log σ(r − f): cross-entropy of the difference against 1.
            return Tensor.binaryCrossEntropy(logits: real - fake, target: 1)
        }
    }

    /// The generator's loss on the discriminator's logits for fakes (and, for rpgan, for the real
    /// images it is paired with).
    public func generator(fake: Tensor, real: Tensor? = nil) -> Tensor {
        switch self {
        case .bce: return Tensor.binaryCrossEntropy(logits: fake, target: 1)
        case .lsgan: return Tensor.meanSquaredError(fake, .ones(fake.shape)) * 0.5
        case .hinge, .wganGP: return -fake.mean()
        case .rpgan:
            guard let real else { preconditionFailure("GANLoss.rpgan: the generator's loss needs the real images' logits") }
            return Tensor.binaryCrossEntropy(logits: fake - real, target: 1)
        }
    }
}

/// The penalties on the discriminator's gradient with respect to its input, as `GANStep` applies
/// them. Each is a mean over the batch of a function of ‖∇ₓD(x)‖, where ∇ₓD(x) is computed by a
/// backward pass that records itself, so the penalty's own gradient reaches D's parameters.
public struct GradientPenalties: Sendable, Equatable {
    /// R1 (Mescheder et al. 2018): γ/2 · E‖∇D(x)‖² on real images (0: none).
    public var r1: Float = 0
    /// R2: γ/2 · E‖∇D(G(z))‖² on generated images (0: none).
    public var r2: Float = 0
    /// WGAN-GP's λ: λ·E(‖∇D(x̂)‖ − 1)² at x̂ = ε·x + (1 − ε)·G(z), ε uniform per image (0: none).
    public var wgan: Float = 0
    /// Lazy regularization (StyleGAN2): the penalties on every `every`-th discriminator step only,
    /// weighted by `every` so that their strength per image seen is unchanged.
    public var every: Int = 1

    public init(r1: Float = 0, r2: Float = 0, wgan: Float = 0, every: Int = 1) {
        precondition(every >= 1, "GradientPenalties: every must be at least 1, got \(every)")
        self.r1 = r1; self.r2 = r2; self.wgan = wgan; self.every = every
    }

    public var isEmpty: Bool { r1 == 0 && r2 == 0 && wgan == 0 }

    /// Whether the discriminator step `step` (counting from 0) applies them.
    public func due(atStep step: Int) -> Bool { !isEmpty && step % every == 0 }

    /// The per-image gradients of `logits` (D's outputs for `images`, which require gradients)
    /// with respect to `images`, as tensors on the tape, flattened to [N, C·H·W].
    static func inputGradients(_ logits: Tensor, _ images: Tensor) -> Tensor {
        // Σ over the batch: each image's logit depends on its own image only (apart from batch
        // norm's statistics, whose coupling the recorded backward pass keeps).
        logits.sum().gradients(wrt: [images], createGraph: true)[0].flattened()
    }

    /// E‖∇ₓD(x)‖² over the batch (R1's and R2's penalty before γ/2).
    public static func squaredGradientNorm(_ logits: Tensor, _ images: Tensor) -> Tensor {
        inputGradients(logits, images).square().sum() * (1 / Float(images.shape[0]))
    }

    /// E(‖∇ₓD(x)‖ − 1)² over the batch (WGAN-GP's penalty before λ).
    public static func unitGradientNormPenalty(_ logits: Tensor, _ images: Tensor) -> Tensor {
        let g = inputGradients(logits, images)
        // The norm's gradient is undefined at 0; a tiny constant keeps it finite there.
        let norms = (g.square().sum(to: [g.shape[0], 1]) + 1e-12).sqrt()
        return (norms - 1).square().mean()
    }
}

/// Adaptive augmentation's controller (Karras et al. 2020, "Training Generative Adversarial
/// Networks with Limited Data"): the overfitting heuristic r_t = E[sign(D(x_real))] is compared
/// with a target after every step, and the augmentation probability p moves by
/// sign(r_t − target) · batch / `imagesPerUnit`, clamped to [0, 1].
///
/// StyleGAN2-ADA lets p cross [0, 1] in 500 000 images, a day on a GPU; a CPU run of half an hour
/// sees 30 000–100 000 images at 64 px, so p here crosses it in 20 000, fast enough to follow D
/// within such a run (a choice of scale, not of the method; the target is the paper's 0.6).
public enum ADA {
    public static let target: Float = 0.6
    public static let imagesPerUnit = 20_000

    /// The probability after a step on `batch` images whose real logits had mean sign `realSign`.
    public static func adjusted(_ p: Double, realSign: Float, batch: Int) -> Double {
        let direction: Double = realSign > target ? 1 : realSign < target ? -1 : 0
        return min(max(p + direction * Double(batch) / Double(imagesPerUnit), 0), 1)
    }
}


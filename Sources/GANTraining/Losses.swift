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

    /// The discriminator's loss on real and fake logits. `realTarget` is the smoothed label of real
    /// images (0.9 for one-sided label smoothing; 1 for none); hinge ignores it.
    public func discriminator(real: Tensor, fake: Tensor, realTarget: Float) -> Tensor {
        switch self {
        case .bce:
            return Tensor.binaryCrossEntropy(logits: real, target: realTarget) + Tensor.binaryCrossEntropy(logits: fake, target: 0)
        case .lsgan:
            return (Tensor.meanSquaredError(real, .full(real.shape, realTarget)) + fake.square().mean()) * 0.5
        case .hinge:
            return (1 - real).relu().mean() + (1 + fake).relu().mean()
        }
    }

    /// The generator's loss on the discriminator's logits for fakes.
    public func generator(fake: Tensor) -> Tensor {
        switch self {
        case .bce: return Tensor.binaryCrossEntropy(logits: fake, target: 1)
        case .lsgan: return Tensor.meanSquaredError(fake, .ones(fake.shape)) * 0.5
        case .hinge: return -fake.mean()
        }
    }
}

import Tensors

/// The truncation trick (Karras et al., StyleGAN, §B; Brock et al., BigGAN, §3.1): latents pulled
/// towards the generator's mean latent, `z' = z̄ + ψ (z − z̄)`, trade variety for typical, cleaner
/// images. ψ = 1 leaves the latents as drawn, ψ = 0 gives every seed the mean image, ψ < 0 the
/// "anti-image" StyleGAN shows.
///
/// The mean latent is computed as StyleGAN2's code does (`mean_latent(4096)`): the mean of 4 096
/// latents drawn from the generator's noise distribution. StyleGAN averages them after its mapping
/// network; these generators take z itself, so the mean is taken over z (close to, but not exactly,
/// the distribution's mean of zero, as StyleGAN's estimate is close to its w's).
public struct Truncation: Sendable, Equatable {
    /// ψ: 1 is no truncation.
    public let psi: Float
    /// z̄, one latent vector (`config.latent` values).
    public let mean: [Float]

    /// The number of draws averaged into the mean latent, and the seed they come from.
    public static let meanSamples = 4096
    public static let meanSeed = RandomGenerator.derivedSeed(0, 0x7472756e63) // "trunc"
    /// The ψ a user may ask for: StyleGAN's visualizer offers −1…2; values further out only amplify noise.
    public static let psiRange: ClosedRange<Float> = -2...2

    public init(psi: Float, mean: [Float]) {
        precondition(psi.isFinite, "Truncation: ψ must be finite, got \(psi)")
        self.psi = psi; self.mean = mean
    }

    /// Whether this truncation changes latents at all.
    public var isIdentity: Bool { psi == 1 }

    /// `latents` ([N, …], `mean.count` values per row) pulled towards the mean.
    public func apply(_ latents: Tensor) -> Tensor {
        guard !isIdentity else { return latents }
        let row = mean.count, values = latents.scalars
        precondition(values.count % row == 0, "Truncation.apply: latents \(latents.shape) are not rows of \(row) values")
        var out = values
        for i in out.indices { out[i] = mean[i % row] + psi * (values[i] - mean[i % row]) }
        return Tensor(out, shape: latents.shape)
    }
}

extension ModelConfig {
    /// The mean of `Truncation.meanSamples` latents from the generator's noise distribution
    /// (`latent` values): what `Truncation` pulls towards.
    public func meanLatent() -> [Float] {
        let rng = RandomGenerator(seed: Truncation.meanSeed)
        var sum = [Double](repeating: 0, count: latent)
        // In batches: 4 096 × latent values at once would be a large allocation for nothing.
        var left = Truncation.meanSamples
        while left > 0 {
            let n = min(512, left)
            let values = noise(n, using: rng).scalars
            for (i, v) in values.enumerated() { sum[i % latent] += Double(v) }
            left -= n
        }
        return sum.map { Float($0 / Double(Truncation.meanSamples)) }
    }

    /// The truncation of ψ for this generator.
    public func truncation(psi: Float) -> Truncation { Truncation(psi: psi, mean: psi == 1 ? [Float](repeating: 0, count: latent) : meanLatent()) }
}

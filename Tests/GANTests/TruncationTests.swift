import Foundation
import Testing
import GANModels
import NN
import Tensors

/// The truncation trick: latents pulled towards the generator's mean latent, as StyleGAN's
/// `mean_latent(4096)` computes it, through `Sampler.walk` as `interpolate --truncation` uses it.
@Suite struct TruncationTests {
    static let config = ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 16, width: 8)

    /// The mean latent is the average of 4 096 draws of the generator's noise (checked in Double
    /// against the draws themselves), near the distribution's mean; ψ = 1 leaves latents alone,
    /// ψ = 0 maps every latent to the mean, and ψ scales the distance from it.
    @Test func pullsLatentsTowardsTheMeanOfTheNoise() {
        let c = Self.config
        let mean = c.meanLatent()
        let draws = c.noise(Truncation.meanSamples, using: RandomGenerator(seed: Truncation.meanSeed)).scalars
        for k in 0..<c.latent {
            let expected = stride(from: k, to: draws.count, by: c.latent).reduce(0.0) { $0 + Double(draws[$1]) } / Double(Truncation.meanSamples)
            #expect(abs(Double(mean[k]) - expected) < 1e-6)
        }
        // Standard normal draws: the mean of 4 096 lies within 5/√4096 ≈ 0.08 of zero.
        #expect(mean.allSatisfy { abs($0) < 0.08 } && mean.contains { $0 != 0 }, "\(mean)")
        let z = c.noise(5, using: RandomGenerator(seed: 3))
        #expect(c.truncation(psi: 1).apply(z).scalars == z.scalars)
        let zero = c.truncation(psi: 0).apply(z).scalars
        #expect((0..<5).allSatisfy { Array(zero[($0 * c.latent)..<(($0 + 1) * c.latent)]) == mean })
        let half = c.truncation(psi: 0.5).apply(z).scalars, v = z.scalars
        #expect(zip(half.indices, half).allSatisfy { i, x in abs(x - (mean[i % c.latent] + 0.5 * (v[i] - mean[i % c.latent]))) < 1e-6 })
        // Uniform noise (CatDCGAN's): its own mean, near zero too.
        var u = c
        u.noise = .uniform
        #expect(u.meanLatent() != mean && u.meanLatent().allSatisfy { abs($0) < 0.05 })
    }

    /// A truncated walk's ends are the truncated seeds' images, and ψ = 0 walks nowhere.
    @Test func walksBetweenTruncatedEnds() {
        let c = Self.config
        let (g, _) = Models.make(c, rng: RandomGenerator(seed: 1))
        let sampler = Sampler(generator: g, config: c)
        let t = c.truncation(psi: 0.6)
        let frames = sampler.walk(from: 4, to: 9, steps: 3, truncation: t)
        let ends = sampler.generate(Tensor.concat([t.apply(sampler.noise(count: 1, seed: 4)), t.apply(sampler.noise(count: 1, seed: 9))], axis: 0))
        let per = frames.shape[1] * frames.shape[2] * frames.shape[3]
        let f = frames.scalars, e = ends.scalars
        #expect(zip(f[0..<per], e[0..<per]).map { abs($0 - $1) }.max()! < 1e-4)
        #expect(zip(f[(2 * per)...], e[per...]).map { abs($0 - $1) }.max()! < 1e-4)
        let still = sampler.walk(from: 4, to: 9, steps: 3, truncation: c.truncation(psi: 0)).scalars
        #expect(zip(still[0..<per], still[(2 * per)...]).map { abs($0 - $1) }.max()! < 1e-5)
    }
}

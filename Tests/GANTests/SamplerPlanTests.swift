import Testing
import GANModels
import NN
import Tensors

/// A `Sampler` keeps its generator's `InferencePlan` between calls and remakes it when the
/// generator changes, so a sampler held while the generator trains (the trainer's grids, a
/// user's loop) draws the current weights.
@Suite struct SamplerPlanTests {
    @Test func aHeldSamplerFollowsItsGeneratorsWeights() {
        let c = ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 8, width: 8)
        let (g, _) = Models.make(c, rng: RandomGenerator(seed: 1))
        let sampler = Sampler(generator: g, config: c)
        let z = sampler.noise(count: 4, seed: 2)
        let first = sampler.generate(z).scalars
        #expect(sampler.generate(z).scalars == first, "the kept plan gives the same images")
        // One weight changed in place, as an optimizer step would: the images change, and are
        // those of a new sampler of the same generator.
        let p = g.parameters[0]
        p.assign(p.value * 1.5)
        let after = sampler.generate(z).scalars
        #expect(after != first)
        #expect(after == Sampler(generator: g, config: c).generate(z).scalars)
        // A copy of the sampler shares the plan and sees the same.
        let copy = sampler
        #expect(copy.generate(z).scalars == after)
    }
}

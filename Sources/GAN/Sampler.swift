import Foundation
import Imaging
import NN
import Tensors

/// Generates images from a trained generator: the API behind `swiftgan sample`.
///
/// ```swift
/// let sampler = try Sampler(checkpoint: "runs/fashion")       // a run directory or a checkpoint
/// let images = sampler.images(count: 16, seed: 7)             // [Image], 0–255
/// let tensor = sampler.generate(sampler.noise(count: 4, seed: 7))  // [4, C, H, W] in [-1, 1]
/// ```
public struct Sampler {
    public let generator: GANGenerator
    public let config: ModelConfig

    /// Images generated per forward pass, at most.
    public static let batchSize = 64

    /// How `generate` splits `n` images: `count` batches of `size` (the last one padded).
    public static func batches(for n: Int) -> (count: Int, size: Int) {
        let count = max(1, (n + batchSize - 1) / batchSize)
        return (count, (n + count - 1) / count)
    }

    public init(generator: GANGenerator, config: ModelConfig) { self.generator = generator; self.config = config }

    /// Loads the generator of a checkpoint or of a run directory's latest checkpoint.
    public init(checkpoint path: String) throws {
        let (g, state) = try Checkpoint.loadGenerator(path)
        self.init(generator: g, config: state.config.model)
    }

    /// `count` latent vectors; the same seed gives the same vectors on every run.
    public func noise(count: Int, seed: UInt64) -> Tensor { config.noise(count, using: Generator(seed: seed)) }

    /// Images for the given latent vectors, [N, C, H, W] in [-1, 1], with batch norm in evaluation
    /// mode (the generator's training mode is restored afterwards). Runs the generator as an
    /// `InferencePlan`: batch norms folded into the convolutions, activations fused into them.
    public func generate(_ latents: Tensor) -> Tensor {
        let wasTraining = generator.main.layers.contains { ($0 as? BatchNorm)?.training ?? false }
        generator.setTraining(false)
        defer { generator.setTraining(wasTraining) }
        let plan = InferencePlan(generator.main.layers)
        // Batches of at most 64 keep memory flat however many images are asked for. Larger ones
        // gain no speed (measured, 128×128 CatDCGAN: 17.8 images/s at 64, 19.3 at 128, 18.9 at
        // 256) and cost memory linearly (1.8, 2.7 and 4.6 GiB).
        // All batches have one size (n split evenly, the last padded with repeated latents whose
        // images are dropped): a batch of another size would leave a second set of buffers in
        // the engine's pool (1 000 CatDCGAN images as 15 × 64 + 40: 2.7 GiB; as 16 × 63: 1.9 GiB).
        let n = latents.shape[0]
        if n <= Self.batchSize { return plan(latents) }
        let (batches, per) = Self.batches(for: n)
        let parts = (0..<batches).map { b -> Tensor in
            let start = b * per, count = min(per, n - start)
            var z = latents.slice(axis: 0, offset: start, length: count)
            if count < per { z = Tensor.concat([z, latents.slice(axis: 0, offset: 0, length: per - count)], axis: 0) }
            let images = plan(z)
            return count < per ? images.slice(axis: 0, offset: 0, length: count) : images
        }
        return Tensor.concat(parts, axis: 0)
    }

    /// Generates `count` images from the latent vectors of `seed` one batch at a time, handing
    /// each batch ([n, C, H, W] in [-1, 1]) to `body` with the index of its first image; memory
    /// stays that of one batch whatever `count` is. The images are those of
    /// `generate(noise(count: count, seed: seed))` (the latents are drawn from the same stream
    /// in order; batches are of an even size, so a normal pair is never split between two).
    public func generate(count: Int, seed: UInt64, batchSize: Int = Sampler.batchSize,
                         _ body: (_ images: Tensor, _ first: Int) throws -> Void) rethrows {
        precondition(batchSize > 0 && batchSize % 2 == 0, "Sampler.generate: the batch size must be even and positive, got \(batchSize)")
        let rng = Generator(seed: seed)
        var first = 0
        while first < count {
            let n = min(batchSize, count - first)
            var z = config.noise(n, using: rng)
            // The last batch is padded to the others' size (see `generate(_:)` on the engine's pool).
            if n < batchSize && count > batchSize {
                let values = z.scalars, row = values.count / n
                var shape = z.shape
                shape[0] = batchSize
                z = Tensor(values + Array(repeating: Array(values.prefix(row)), count: batchSize - n).joined(), shape: shape)
            }
            var images = generate(z)
            if images.shape[0] > n { images = images.slice(axis: 0, offset: 0, length: n) }
            try body(images, first)
            first += n
        }
    }

    /// `count` images as 8-bit pictures.
    public func images(count: Int, seed: UInt64) -> [Image] { toImages(generate(noise(count: count, seed: seed))) }

    /// An NCHW batch in [-1, 1] as 8-bit pictures.
    public func toImages(_ t: Tensor) -> [Image] {
        Image.batch(fromSigned: t.scalars, count: t.shape[0], channels: t.shape[1], height: t.shape[2], width: t.shape[3])
    }

    /// Images along a straight line between the latent vectors of two seeds (`steps` ≥ 2 frames).
    public func interpolate(from a: UInt64, to b: UInt64, steps: Int) -> [Image] {
        let za = noise(count: 1, seed: a).scalars, zb = noise(count: 1, seed: b).scalars
        var all: [Float] = []
        for s in 0..<steps {
            let t = Float(s) / Float(max(steps - 1, 1))
            all += zip(za, zb).map { (1 - t) * $0 + t * $1 }
        }
        var shape = config.latentShape(steps)
        shape[0] = steps
        return toImages(generate(Tensor(all, shape: shape)))
    }
}

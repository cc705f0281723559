import NN
import Tensors

/// BigGAN's shared embedding), and its batch norms are `ConditionalBatchNorm`s.
public final class GANGenerator: ClassConditional {
    public let main: Sequential
    public let config: ModelConfig
    init(_ config: ModelConfig, _ layers: [Module]) { self.config = config; main = Sequential(layers) }

    public var classes: Int { config.classes }

    public func callAsFunction(_ z: Tensor) -> Tensor {
        precondition(!config.isConditional, "GANGenerator: a conditional generator (\(classes) classes) called on \(z.shape) without classes")
        return main(z)
    }

    public func callAsFunction(_ z: Tensor, classes: Tensor) -> Tensor {
        guard config.isConditional else { return main(z) }
        return main.layers.reduce(input(z, classes: classes)) { x, layer in (layer as? any ClassConditional)?(x, classes: classes) ?? layer(x) }
    }

    /// What the first layer reads: z, and for a conditional generator its class weights [N, K]
    /// appended along axis 1 (shaped [N, K, 1, 1] for a [N, latent, 1, 1] z).
    public func input(_ z: Tensor, classes: Tensor?) -> Tensor {
        guard config.isConditional, let classes else { return z }
        precondition(classes.shape == [z.shape[0], config.classes],
                     "GANGenerator.input: classes \(classes.shape) for z \(z.shape) and \(config.classes) classes")
        let columns = z.rank == 4 ? classes.reshaped([z.shape[0], config.classes, 1, 1]) : classes
        return Tensor.concat([z, columns], axis: 1)
    }
}

/// A discriminator: images → one logit each, [N, 1].
///
/// A conditional discriminator is a projection discriminator (Miyato & Koyama 2018): with φ(x)
/// the features its last layer reads (flattened) and `embedding` a learned vector per class, the
/// logit of an image of class c is `last(φ(x)) + ⟨embedding_c, φ(x)⟩` — the class-dependent part
/// of the last layer's weight. The embedding is `embedding.weight` in its `state_dict`.
public final class GANDiscriminator: AuxiliaryClassifying {
    public let main: Sequential
    public let config: ModelConfig
    public let embedding: Embedding?
    /// AC-GAN's head: the features the last layer reads → one logit per class (`classifier.weight`,
    /// `classifier.bias`), when `config.auxiliaryClassifier`.
    public let classifier: Linear?
    init(_ config: ModelConfig, _ layers: [Module], embedding: Embedding? = nil, classifier: Linear? = nil) {
        self.config = config; main = Sequential(layers); self.embedding = embedding; self.classifier = classifier
    }

    public var classes: Int { config.classes }
    public var hasAuxiliaryClassifier: Bool { classifier != nil }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(embedding == nil, "GANDiscriminator: a conditional discriminator (\(classes) classes) called on \(x.shape) without classes")
        return main(x).flattened()
    }

    public func callAsFunction(_ x: Tensor, classes: Tensor) -> Tensor { judge(x, classes: classes, classLogits: false).logits }

    public func judge(_ x: Tensor, classes: Tensor, classLogits: Bool) -> (logits: Tensor, classLogits: Tensor?) {
        guard let embedding else { return (main(x).flattened(), nil) }
        let features = main.layers.dropLast().reduce(x) { $1($0) }, flat = features.flattened()
        let logits = main.layers.last!(features).flattened() + embedding.project(flat, classes: classes)
        return (logits, classLogits ? classifier.map { $0(flat) } : nil)
    }
}

public enum Models {
    /// The generator and discriminator of `config`, initialised from `rng` as their tutorial does.
    /// Spectral norm's vectors come from a stream derived from `rng`'s seed, so the weights are
    /// those of the same model without it.
    public static func make(_ c: ModelConfig, rng: RandomGenerator) -> (GANGenerator, GANDiscriminator) {
        precondition(c.problem == nil, "Models.make: \(c.problem!)")
        let seed = rng.seed
        var (g, d): (GANGenerator, GANDiscriminator)
        // A conditional generator's first layer reads the class weights too.
        var input = c
        input.latent += c.classes
        switch c.preset.layers {
        case .mlp: (g, d) = mlp(input, rng)
        case .dcgan, .dcganCPU: (g, d) = c.imageSize >= 64 ? canonicalDCGAN(input, rng) : tensorFlowDCGAN(input, rng)
        case .catdcgan: (g, d) = catDCGAN(input, rng)
        case .sngan: (g, d) = sngan(input, rng)
        }
        g = GANGenerator(c, g.main.layers)
        d = GANDiscriminator(c, d.main.layers)
        if c.isConditional { (g, d) = conditional(g, d, seed: seed) }
        if c.spectralNorm.generator { g.enableSpectralNorm(rng: RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0x736e67))) }
        if c.spectralNorm.discriminator { d.enableSpectralNorm(rng: RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0x736e64))) }
        return (g, d)
    }

    /// The class-conditional form of a pair built for latent + K inputs: each batch norm of G
    /// becomes a `ConditionalBatchNorm` starting from its γ and β, and D gains a projection embedding over
    /// the features its last layer reads (that layer has one output, so its weight has as many
    /// values as there are features), drawn from a stream derived from `seed` — and, with
    /// `auxiliaryClassifier`, a dense head from the same features to the classes (another stream).
    static func conditional(_ g: GANGenerator, _ d: GANDiscriminator, seed: UInt64) -> (GANGenerator, GANDiscriminator) {
        let c = g.config
        let layers = g.main.layers.map { layer -> Module in
            (layer as? BatchNorm).map { ConditionalBatchNorm($0, classes: c.classes) } ?? layer
        }
        let last = d.main.layers.last!.namedParameters().first { $0.name == "weight" }!.parameter
        precondition(last.shape.first == 1, "Models.conditional: D's last layer has weight \(last.shape), not one output")
        let embedding = Embedding(c.classes, last.value.count, rng: RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0x656d62)))
        let classifier = c.auxiliaryClassifier
            ? Linear(last.value.count, c.classes, rng: RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0x616378))) : nil
        return (GANGenerator(c, layers), GANDiscriminator(c, d.main.layers, embedding: embedding, classifier: classifier))
    }

    /// Miyato et al.'s "standard CNN" (SNGAN, 2018, table 3), generalised over sizes: G dense
    /// z(128) → b×b×8w, then 4×4 stride-2 transposed convolutions halving the channels (not below
    /// w) with BN + ReLU up to the image size, a 3×3 convolution to C and tanh (b = 4 for powers
    /// of two, 7 at 28). D: for each halving, a 3×3 stride-1 and a 4×4 stride-2 convolution
    /// (w, 2w, 4w, … capped at 8w), then a 3×3 convolution to 8w and a dense layer to one logit;
    /// LeakyReLU 0.1 and no batch norm (spectral norm in its place). PyTorch's default
    /// initialisation.
    static func sngan(_ c: ModelConfig, _ rng: RandomGenerator) -> (GANGenerator, GANDiscriminator) {
        let base = c.imageSize == 28 ? 7 : 4
        var halvings = 0
        while base << halvings < c.imageSize { halvings += 1 }
        let w = c.width
        var ch = 8 * w
        var g: [Module] = [Linear(c.latent, base * base * ch, rng: rng), Reshape([ch, base, base]), BatchNorm2d(ch), ReLU()]
        for _ in 0..<halvings {
            let next = max(ch / 2, w)
            g += [ConvTranspose2d(ch, next, kernelSize: 4, stride: 2, padding: .explicit(1, 1), rng: rng), BatchNorm2d(next), ReLU()]
            ch = next
        }
        g += [Conv2d(ch, c.channels, kernelSize: 3, padding: .explicit(1, 1), rng: rng), Tanh()]
        var d: [Module] = []
        var inCh = c.channels
        for k in 0..<halvings {
            let out = min(w << k, 8 * w)
            d += [Conv2d(inCh, out, kernelSize: 3, padding: .explicit(1, 1), rng: rng), LeakyReLU(0.1),
                  Conv2d(out, out, kernelSize: 4, stride: 2, padding: .explicit(1, 1), rng: rng), LeakyReLU(0.1)]
            inCh = out
        }
        d += [Conv2d(inCh, 8 * w, kernelSize: 3, padding: .explicit(1, 1), rng: rng), LeakyReLU(0.1), Flatten(),
              Linear(base * base * 8 * w, 1, rng: rng)]
        return (GANGenerator(c, g), GANDiscriminator(c, d))
    }

    /// Keras Fashion-MNIST GAN: G 100→128→256→512→1024→H·W·C (BN with Keras momentum 0.1 = 0.9
    /// here, ε 0.8), LeakyReLU 0.2, tanh; D H·W·C→512→256→1, LeakyReLU 0.2. He-uniform kernels.
    static func mlp(_ c: ModelConfig, _ rng: RandomGenerator) -> (GANGenerator, GANDiscriminator) {
        let pixels = c.imageSize * c.imageSize * c.channels
        func linear(_ i: Int, _ o: Int) -> Linear { Linear(i, o, rng: rng) }
        func bn(_ n: Int) -> BatchNorm { BatchNorm1d(n, momentum: 0.9, epsilon: 0.8) }
        let g = GANGenerator(c, [
            linear(c.latent, 128), LeakyReLU(0.2),
            linear(128, 256), bn(256), LeakyReLU(0.2),
            linear(256, 512), bn(512), LeakyReLU(0.2),
            linear(512, 1024), bn(1024), LeakyReLU(0.2),
            linear(1024, pixels), Tanh(), Reshape([c.channels, c.imageSize, c.imageSize])])
        let d = GANDiscriminator(c, [Flatten(), linear(pixels, 512), LeakyReLU(0.2), linear(512, 256), LeakyReLU(0.2),
                                     linear(256, 1)])
        // Keras: he_uniform kernels, zero biases, BN γ = 1 and β = 0.
        for m in [g as Module, d] {
            for case let l as Linear in m.namedModules().map(\.module) {
                Initializer.heUniform.apply(to: l.weight, using: rng)
                l.bias.map { Initializer.zeros.apply(to: $0, using: rng) }
            }
        }
        return (g, d)
    }

    /// TensorFlow's DCGAN at 28 (7→14→28) and 32 (4→8→16→32): G dense → base×base×4w, BN, LReLU;
    /// 5×5 transposed convolutions ('same'), BN + LReLU between, tanh; D 5×5 stride-2 convolutions
    /// w, 2w, 4w with BN except on the first, LReLU 0.2, dense → 1.
    static func tensorFlowDCGAN(_ c: ModelConfig, _ rng: RandomGenerator) -> (GANGenerator, GANDiscriminator) {
        let base = c.imageSize == 28 ? 7 : 4
        let ups = c.imageSize == 28 ? 2 : 3
        let top = 4 * c.width
        var g: [Module] = [Linear(c.latent, base * base * top, bias: false, rng: rng), BatchNorm1d(base * base * top),
                           LeakyReLU(0.2), Reshape([top, base, base])]
        var ch = top
        if ups == 2 {  // the tutorial's extra stride-1 layer at 7×7
            g += [ConvTranspose2d(ch, ch / 2, kernelSize: 5, stride: 1, padding: .same, bias: false, rng: rng),
                  BatchNorm2d(ch / 2), LeakyReLU(0.2)]
            ch /= 2
        }
        for i in 0..<ups {
            let last = i == ups - 1
            let out = last ? c.channels : ch / 2
            g.append(ConvTranspose2d(ch, out, kernelSize: 5, stride: 2, padding: .same, bias: false, rng: rng))
            g += last ? [Tanh()] : [BatchNorm2d(out), LeakyReLU(0.2)]
            ch = out
        }
        var d: [Module] = []
        var size = c.imageSize
        ch = c.channels
        for (i, out) in [c.width, 2 * c.width, 4 * c.width].enumerated() {
            d.append(Conv2d(ch, out, kernelSize: 5, stride: 2, padding: .same, rng: rng))
            if i > 0 { d.append(BatchNorm2d(out)) }
            d.append(LeakyReLU(0.2))
            ch = out
            size = (size + 1) / 2
        }
        d += [Flatten(), Linear(ch * size * size, 1, rng: rng)]
        return initialize(GANGenerator(c, g), GANDiscriminator(c, d), .normal(std: 0.02), rng)
    }

    /// The canonical DCGAN (Radford et al.; PyTorch's example), generalised to any power of two
    /// from 64 to 256: G 1×1 → 4×4 (k4 s1) then ×2 per layer (k4 s2 p1), BN + ReLU, tanh;
    /// D the mirror with LeakyReLU 0.2, BN on all but the first layer, k4 s1 to one logit.
    static func canonicalDCGAN(_ c: ModelConfig, _ rng: RandomGenerator) -> (GANGenerator, GANDiscriminator) {
        var doublings = 0
        while 4 << doublings < c.imageSize { doublings += 1 }
        var ch = c.width << (doublings - 1)
        var g: [Module] = [ConvTranspose2d(c.latent, ch, kernelSize: 4, bias: false, rng: rng), BatchNorm2d(ch), ReLU()]
        for i in 0..<doublings {
            let last = i == doublings - 1
            let out = last ? c.channels : ch / 2
            g.append(ConvTranspose2d(ch, out, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false, rng: rng))
            g += last ? [Tanh()] : [BatchNorm2d(out), ReLU()]
            ch = out
        }
        ch = c.width
        var d: [Module] = [Conv2d(c.channels, ch, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false, rng: rng),
                           LeakyReLU(0.2)]
        for _ in 1..<doublings {
            d += [Conv2d(ch, ch * 2, kernelSize: 4, stride: 2, padding: .explicit(1, 1), bias: false, rng: rng),
                  BatchNorm2d(ch * 2), LeakyReLU(0.2)]
            ch *= 2
        }
        d.append(Conv2d(ch, 1, kernelSize: 4, bias: false, rng: rng))
        return initialize(GANGenerator(c, g), GANDiscriminator(c, d), .normal(std: 0.02), rng)
    }

    /// TensorFlow 1 CatDCGAN: G dense z → 8×8×16w, LReLU; 5×5 stride-2 transposed convolutions to
    /// 8w, 4w, 2w, w (BN + LReLU), last 5×5 stride 1 to 3 channels, tanh. D 5×5 convolutions w, 2w,
    /// 4w (stride 2), 8w (stride 1), 16w (stride 2), each BN + LReLU 0.2, dense → 1.
    /// Truncated-normal 0.02 initialisation.
    static func catDCGAN(_ c: ModelConfig, _ rng: RandomGenerator) -> (GANGenerator, GANDiscriminator) {
        let w = c.width
        var g: [Module] = [Linear(c.latent, 8 * 8 * 16 * w, rng: rng), LeakyReLU(0.2), Reshape([16 * w, 8, 8])]
        var ch = 16 * w
        for _ in 0..<4 {
            g += [ConvTranspose2d(ch, ch / 2, kernelSize: 5, stride: 2, padding: .same, rng: rng), BatchNorm2d(ch / 2), LeakyReLU(0.2)]
            ch /= 2
        }
        g += [ConvTranspose2d(ch, c.channels, kernelSize: 5, stride: 1, padding: .same, rng: rng), Tanh()]
        var d: [Module] = []
        ch = c.channels
        var size = c.imageSize
        for (out, stride) in [(w, 2), (2 * w, 2), (4 * w, 2), (8 * w, 1), (16 * w, 2)] {
            d += [Conv2d(ch, out, kernelSize: 5, stride: stride, padding: .same, rng: rng), BatchNorm2d(out), LeakyReLU(0.2)]
            ch = out
            size = (size + stride - 1) / stride
        }
        d += [Flatten(), Linear(ch * size * size, 1, rng: rng)]
        return initialize(GANGenerator(c, g), GANDiscriminator(c, d), .truncatedNormal(std: 0.02), rng)
    }

    /// Weights of convolutions and dense layers from `weights`, biases zero, BN γ ~ N(1, 0.02), β 0.
    static func initialize(_ g: GANGenerator, _ d: GANDiscriminator, _ weights: Initializer, _ rng: RandomGenerator)
        -> (GANGenerator, GANDiscriminator) {
        for m in [g as Module, d] {
            for (_, module) in m.namedModules() {
                switch module {
                case let l as Conv2d: weights.apply(to: l.weight, using: rng); l.bias.map { Initializer.zeros.apply(to: $0, using: rng) }
                case let l as ConvTranspose2d: weights.apply(to: l.weight, using: rng); l.bias.map { Initializer.zeros.apply(to: $0, using: rng) }
                case let l as Linear: weights.apply(to: l.weight, using: rng); l.bias.map { Initializer.zeros.apply(to: $0, using: rng) }
                case let l as BatchNorm:
                    Initializer.normal(mean: 1, std: 0.02).apply(to: l.weight, using: rng)
                    Initializer.zeros.apply(to: l.bias, using: rng)
                default: break
                }
            }
        }
        return (g, d)
    }
}

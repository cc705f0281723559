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
        return main.layers.applied(to: input(z, classes: classes), classes: classes)
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
///
/// FastGAN's discriminator also has a `decoder`: a small generator from the feature maps of its
/// first `decoderReads` layers back to the image (at a lower resolution), trained to reconstruct
/// the real images it judges — self-supervision that makes D learn features that describe the
/// images rather than only the flaws of the fakes (Liu et al. 2021, section 3.2).
public final class GANDiscriminator: AuxiliaryClassifying {
    public let main: Sequential
    public let config: ModelConfig
    public let embedding: Embedding?
    /// AC-GAN's head: the features the last layer reads → one logit per class (`classifier.weight`,
    /// `classifier.bias`), when `config.auxiliaryClassifier`.
    public let classifier: Linear?
    /// The self-supervised decoder (`decoder.<i>.…`), reading the output of `main`'s first
    /// `decoderReads` layers.
    public let decoder: Sequential?
    public let decoderReads: Int

    init(_ config: ModelConfig, _ layers: [Module], embedding: Embedding? = nil, classifier: Linear? = nil,
         decoder: Sequential? = nil, decoderReads: Int = 0) {
        precondition(decoder == nil || (1..<max(layers.count - 1, 1)).contains(decoderReads),
                     "GANDiscriminator: a decoder reading after layer \(decoderReads) of \(layers.count)")
        self.config = config; main = Sequential(layers); self.embedding = embedding; self.classifier = classifier
        self.decoder = decoder; self.decoderReads = decoderReads
    }

    /// The same discriminator with `main`'s layers, the embedding and the classifier replaced.
    func with(_ config: ModelConfig, layers: [Module], embedding: Embedding? = nil, classifier: Linear? = nil) -> GANDiscriminator {
        GANDiscriminator(config, layers, embedding: embedding, classifier: classifier, decoder: decoder, decoderReads: decoderReads)
    }

    public var classes: Int { config.classes }
    public var hasAuxiliaryClassifier: Bool { classifier != nil }
    public var reconstructs: Bool { decoder != nil }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(embedding == nil, "GANDiscriminator: a conditional discriminator (\(classes) classes) called on \(x.shape) without classes")
        return main(x).flattened()
    }

    public func callAsFunction(_ x: Tensor, classes: Tensor) -> Tensor { judge(x, classes: classes, classLogits: false).logits }

    public func judge(_ x: Tensor, classes: Tensor, classLogits: Bool) -> (logits: Tensor, classLogits: Tensor?) {
        let j = judgement(x, classes: classes, classLogits: classLogits)
        return (j.logits, j.classLogits)
    }

    /// What D makes of images `x` (of `classes`, for a conditional D), from one forward pass: the
    /// logits [N, 1]; with `classLogits`, the auxiliary classifier's [N, K]; with `reconstruct`,
    /// the decoder's reconstruction of `x` [N, C, h, w] (nil without a decoder).
    public func judgement(_ x: Tensor, classes: Tensor?, classLogits: Bool = false, reconstruct: Bool = false)
        -> (logits: Tensor, classLogits: Tensor?, reconstruction: Tensor?) {
        precondition(embedding == nil || classes != nil,
                     "GANDiscriminator: a conditional discriminator (\(self.classes) classes) called on \(x.shape) without classes")
        var layers = main.layers[...], h = x, reconstruction: Tensor?
        if reconstruct, let decoder {
            h = layers.prefix(decoderReads).reduce(h) { $1($0) }
            reconstruction = decoder(h)
            layers = layers.dropFirst(decoderReads)
        }
        guard let embedding, let classes else { return (layers.reduce(h) { $1($0) }.flattened(), nil, reconstruction) }
        let features = layers.dropLast().reduce(h) { $1($0) }, flat = features.flattened()
        let logits = layers.last!(features).flattened() + embedding.project(flat, classes: classes)
        return (logits, classLogits ? classifier.map { $0(flat) } : nil, reconstruction)
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
        case .fastgan: (g, d) = fastGAN(input, rng)
        }
        g = GANGenerator(c, g.main.layers)
        d = d.with(c, layers: d.main.layers)
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
        func conditioned(_ layer: Module) -> Module {
            switch layer {
            case let norm as BatchNorm: return ConditionalBatchNorm(norm, classes: c.classes)
            case let sle as SkipExcitation:
                return SkipExcitation(body: Sequential(sle.body.layers.map(conditioned)), gate: Sequential(sle.gate.layers.map(conditioned)))
            default: return layer
            }
        }
        let layers = g.main.layers.map(conditioned)
        let last = d.main.layers.last!.namedParameters().first { $0.name == "weight" }!.parameter
        precondition(last.shape.first == 1, "Models.conditional: D's last layer has weight \(last.shape), not one output")
        let embedding = Embedding(c.classes, last.value.count, rng: RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0x656d62)))
        let classifier = c.auxiliaryClassifier
            ? Linear(last.value.count, c.classes, rng: RandomGenerator(seed: RandomGenerator.derivedSeed(seed, 0x616378))) : nil
        return (GANGenerator(c, layers), d.with(c, layers: d.main.layers, embedding: embedding, classifier: classifier))
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

    /// FastGAN (Liu et al., ICLR 2021), at 32 to 256 pixels, with its channel table scaled by
    /// `width` (FastGAN's ngf = ndf = 64 is width 64; the CPU default is 16), r ↦ 64w/r up to 32
    /// pixels, 2w at 64, 128w/r above.
    ///
    /// G: z → 4×4 by a 4×4 transposed convolution, BN, GLU; then up-blocks (nearest-neighbour ×2,
    /// 3×3 convolution to twice the channels, BN, GLU) to the image size, a 3×3 convolution to C
    /// and tanh. Skip-layer excitation multiplies the last feature map, channel by channel, by a
    /// gate computed from the 8×8 one (4×4 at 32 pixels): adaptive average pooling to 4×4, a 4×4
    /// convolution, Swish, a 1×1 convolution, sigmoid; from 128 pixels a second one gates the
    /// half-size map from the 16×16 one (FastGAN gates 128 from 8, 256 from 16, 512 from 32).
    /// D: 4×4 stride-2 convolutions (LeakyReLU 0.2; BN from the second) down to 4×4 and a 4×4
    /// convolution to one logit; its decoder (up-blocks, 3×3 convolution, tanh) reconstructs the
    /// image at half its size from D's 8×8 features. Convolutions have no bias; weights N(0, 0.02),
    /// BN γ ~ N(1, 0.02), as FastGAN's `weights_init`; spectral norm on both (the preset's default).
    static func fastGAN(_ c: ModelConfig, _ rng: RandomGenerator) -> (GANGenerator, GANDiscriminator) {
        let s = c.imageSize, w = c.width
        func ch(_ r: Int) -> Int { max(1, r <= 32 ? 64 * w / r : r == 64 ? 2 * w : 128 * w / r) }
        func conv(_ i: Int, _ o: Int, _ k: Int, stride: Int = 1, padding: Int = 0) -> Conv2d {
            Conv2d(i, o, kernelSize: k, stride: stride, padding: .explicit(padding, padding), bias: false, rng: rng)
        }
        func up(_ r: Int) -> [Module] {  // r×r → 2r×2r
            [Upsample(2), conv(ch(r), 2 * ch(2 * r), 3, padding: 1), BatchNorm2d(2 * ch(2 * r)), GLU()]
        }
        func ups(_ from: Int, _ to: Int) -> [Module] {  // from×from → to×to, doubling
            var layers: [Module] = [], r = from
            while r < to { layers += up(r); r *= 2 }
            return layers
        }
        func excitation(_ from: Int, _ to: Int, body: [Module]) -> SkipExcitation {
            SkipExcitation(body: Sequential(body), gate: Sequential(AdaptiveAvgPool2d(4), conv(ch(from), ch(to), 4), Swish(),
                                                                    conv(ch(to), ch(to), 1), Sigmoid()))
        }
        let gateFrom = s == 32 ? 4 : 8
        var g: [Module] = [ConvTranspose2d(c.latent, 2 * ch(4), kernelSize: 4, bias: false, rng: rng), BatchNorm2d(2 * ch(4)), GLU()]
        g += ups(4, gateFrom)
        let body = s >= 128 ? up(8) + [excitation(16, s / 2, body: ups(16, s / 2))] + up(s / 2) : ups(gateFrom, s)
        g += [excitation(gateFrom, s, body: body), conv(ch(s), c.channels, 3, padding: 1), Tanh()]

        var d: [Module] = [conv(c.channels, ch(s / 2), 4, stride: 2, padding: 1), LeakyReLU(0.2)]
        var r = s / 2, reads = 0
        while r > 4 {
            d += [conv(ch(r), ch(r / 2), 4, stride: 2, padding: 1), BatchNorm2d(ch(r / 2)), LeakyReLU(0.2)]
            r /= 2
            if r == 8 { reads = d.count }
        }
        d.append(conv(ch(4), 1, 4))
        let decoder = Sequential(ups(8, s / 2) + [conv(ch(s / 2), c.channels, 3, padding: 1), Tanh()])
        return initialize(GANGenerator(c, g), GANDiscriminator(c, d, decoder: decoder, decoderReads: reads), .normal(std: 0.02), rng)
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

import GANModels
import NN
import Tensors

/// What one training step measured. Losses and probabilities are means over the batch.
public struct GANStepResult: Sendable, Equatable {
    /// The discriminator's loss, before its update.
    public var lossD: Float
    /// The generator's loss, or nil when this step did not update the generator (`dSteps` > 1).
    public var lossG: Float?
    /// Mean σ(D(x)) on the real batch and σ(D(G(z))) on the fakes, before D's update.
    public var dReal: Float, dFake: Float
    /// The gradient penalties' contribution to `lossD` (weighted), or nil when none was applied.
    public var penalty: Float?
    /// Mean sign of D's logits on the real batch, before D's update: StyleGAN2-ADA's r_t, how sure
    /// D is of the real images (near 1 when it has learnt them by heart).
    public var realSign: Float = 0
    /// The self-supervised reconstruction's contribution to `lossD` (weighted), when D has a decoder.
    public var reconstruction: Float?

    public init(lossD: Float, lossG: Float? = nil, dReal: Float, dFake: Float, penalty: Float? = nil, realSign: Float = 0,
                reconstruction: Float? = nil) {
        self.lossD = lossD; self.lossG = lossG; self.dReal = dReal; self.dFake = dFake; self.penalty = penalty; self.realSign = realSign
        self.reconstruction = reconstruction
    }
}

/// What one training step consumes: real images, the generator's latents, and for a conditional
/// GAN the classes of the real images and the classes the fakes are drawn as.
public struct GANBatch {
    /// [N, C, H, W] in [-1, 1].
    public var real: Tensor
    /// [N, latent] (or [N, latent, 1, 1]).
    public var noise: Tensor
    public var realLabels: [Int32]?
    public var fakeLabels: [Int32]?

    public init(real: Tensor, noise: Tensor, realLabels: [Int32]? = nil, fakeLabels: [Int32]? = nil) {
        precondition((realLabels == nil) == (fakeLabels == nil), "GANBatch: labels given for only one of the real and the fake images")
        self.real = real; self.noise = noise; self.realLabels = realLabels; self.fakeLabels = fakeLabels
    }
}

/// A training step that cannot continue.
public enum GANStepError: Error, Equatable {
    /// A loss of `network` became NaN or infinite; that network was not updated.
    case nonFiniteLoss(GANNetwork)
}

/// One training step of a GAN: the two networks, their optimizers and the loss settings, and the
/// method that updates them on one batch of real images.
///
/// A step is one discriminator update and, every `dSteps` steps, one generator update. The
/// generator's output is computed once and reused — detached for D's update, through D for G's —
/// as PyTorch's reference DCGAN does:
///
/// ```
/// fake = G(z);  lossD = loss(D(real), D(fake.detached));  backward; Adam(D)
/// lossG = loss(D(fake)) with D frozen;  backward; Adam(G)
/// ```
///
/// `Trainer` calls it once per batch; the training benchmark and the model-step tests call it
/// directly. Where the next ingredients of a step go:
/// - **an augmentation of what D sees** (DiffAugment, `augment`): in `critic(_:)`, the one place
///   where D is applied to images, so real and fake images are augmented in both updates alike;
/// - **the penalties on D's input gradient** (`penalties`: R1, R2, WGAN-GP): computed on the same
///   forward passes as D's loss in `updateDiscriminator`, by a backward pass that records itself,
///   and added to `lossD` before its backward pass, so one backward and one update serve both;
/// - **a gradient all-reduce** (data-parallel training): in `apply(_:to:)`, between the backward
///   pass and the optimizer's update, the one place both networks' gradients pass;
/// - **an averaged copy of G** (EMA, `average`): after the generator's update in `updateGenerator`;
/// - **class conditioning**: the classes ride along with the images (`realClasses`, `fakeClasses`)
///   into G and into every call of D; AC-GAN's classification losses (`auxiliaryWeight`) come
///   from the same calls (`judge(_:_:)`);
/// - **spectral norm's power iteration** belongs to the layers (it runs on their forward pass in
///   training mode), not here;
/// - **D's self-supervision** (FastGAN's decoder, `reconstructionWeight`): from the same forward
///   pass as D's judgement of the real batch, in `updateDiscriminator`, as a term of `lossD`.
public final class GANStep<G: Module, D: Module> {
    public let generator: G
    public let discriminator: D
    public let optimizerG: Adam
    public let optimizerD: Adam
    public var loss: GANLoss
    /// Target of real images in D's loss (1: none; 0.9: one-sided label smoothing).
    public var realLabel: Float
    /// G is updated once every `dSteps` D updates.
    public var dSteps: Int
    /// The arithmetic of the convolutions in the step (`Engine.withPrecision`);
    /// parameters, their gradients, batch-norm statistics and Adam stay fp32 in either.
    public var precision: Precision
    /// DiffAugment applied to every batch D judges, real or fake, in both updates (empty: none).
    /// Its random draws are a function of `augmentSeed`, D's step count and the call within the
    /// step, so a resumed run draws the same.
    public var augment = DiffAugment([])
    public var augmentSeed: UInt64 = 0
    /// The probability with which each augmentation is applied to each image: 1 for DiffAugment,
    /// adapted by the trainer under ADA (`ada`).
    public var augmentProbability: Float = 1
    /// An exponential moving average of G, updated after each of G's updates (nil: none).
    public var average: ModuleAverage?
    /// Penalties on D's gradient with respect to its input (none by default). On the steps that
    /// apply them, a bf16 step runs D's update in fp32: second derivatives through bf16 kernels
    /// would be noise.
    public var penalties = GradientPenalties()
    /// The seed of WGAN-GP's interpolation draws (with D's step count: a resumed run draws the same).
    public var penaltySeed: UInt64 = 0
    /// AC-GAN's weight λ, when D has an auxiliary classifier (`AuxiliaryClassifying`) and the
    /// step is given classes: D's loss gains λ·CE(D's class logits of the real images, their
    /// classes), G's λ·CE(D's class logits of the fakes, the classes they were drawn as) — D
    /// learns to classify real images only, so it never learns the fakes' flaws as class
    /// features (StudioGAN's AC-GAN). 0: none.
    public var auxiliaryWeight: Float = 0
    /// The weight of D's reconstruction loss when D has a decoder (`GANDiscriminator.decoder`):
    /// D's loss gains w·MSE(decoder's reconstruction of each real image D judged, that image —
    /// augmented as D saw it — average-pooled to the reconstruction's size). 0: none.
    public var reconstructionWeight: Float = 1
    /// WGAN-GP's interpolation weights in place of the draws from `penaltySeed`: the golden test
    /// gives PyTorch's.
    var interpolationWeights: Tensor?
    /// This process's part of a data-parallel batch (`DataParallel.join` sets it): `rank` of
    /// `ranks` equal slices. Per-image random draws (DiffAugment's, WGAN-GP's ε) are made for the
    /// whole global batch and sliced, so the processes draw together what one process draws.
    public var batchPart = (rank: 0, ranks: 1)

    /// (offset, total) of this process's `n` images in the global batch, or nil in one process.
    func globalSlice(_ n: Int) -> (offset: Int, total: Int)? {
        batchPart.ranks > 1 ? (batchPart.rank * n, batchPart.ranks * n) : nil
    }
    /// Calls of `critic` within the current step.
    var criticCalls = 0
    /// Called with the parameters an optimizer is about to update, after their gradients are
    /// computed (data-parallel training averages them across processes here).
    public var gradientReduction: ((_ parameters: [Parameter]) -> Void)?

    public init(generator: G, discriminator: D, optimizerG: Adam, optimizerD: Adam, loss: GANLoss = .bce,
                realLabel: Float = 0.9, dSteps: Int = 1, precision: Precision = .fp32) {
        precondition(dSteps >= 1, "GANStep: dSteps must be at least 1, got \(dSteps)")
        precondition(precision.isAvailable, "GANStep: \(precision) is not available: \(precision.unavailableReason ?? "")")
        self.generator = generator
        self.discriminator = discriminator
        self.optimizerG = optimizerG
        self.optimizerD = optimizerD
        self.loss = loss
        self.realLabel = realLabel
        self.dSteps = dSteps
        self.precision = precision
    }

    /// One step on the batch `real` [N, C, H, W] in [-1, 1] with latent vectors `noise` for the
    /// generator. Throws `GANStepError.nonFiniteLoss` (after no update of that network) when a loss is
    /// NaN or infinite.
    ///
    /// A class-conditional GAN (G and D `ClassConditional`) also takes the real images' classes and
    /// the classes the fakes are drawn as, both as class weights [N, K] (`Tensor.oneHot`): G draws
    /// `fakeClasses`, and D judges each image with its class.
    public func callAsFunction(real: Tensor, noise: Tensor, realClasses: Tensor? = nil,
                               fakeClasses: Tensor? = nil) throws(GANStepError) -> GANStepResult {
        precondition((realClasses == nil) == (fakeClasses == nil), "GANStep: classes given for only one of the real and the fake images")
        return try Engine.withPrecision(precision) { () throws(GANStepError) -> GANStepResult in
            criticCalls = 0
            let fake = Self.apply(generator, noise, fakeClasses)
            var result = try updateDiscriminator(real: real, fake: fake, realClasses: realClasses, fakeClasses: fakeClasses)
            // optimizerD's step count is restored with a checkpoint, so the schedule resumes exactly.
            if optimizerD.stepCount % dSteps == 0 {
                result.lossG = try updateGenerator(fake: fake, classes: fakeClasses, real: real, realClasses: realClasses)
            }
            return result
        }
    }

    /// One step on `batch`; the classes of a conditional GAN as one-hot class weights.
    public func callAsFunction(_ batch: GANBatch) throws(GANStepError) -> GANStepResult {
        let classes = (discriminator as? any ClassConditional)?.classes ?? 0
        func weights(_ labels: [Int32]?) -> Tensor? { labels.map { Tensor.oneHot($0, classes: classes) } }
        return try self(real: batch.real, noise: batch.noise, realClasses: weights(batch.realLabels), fakeClasses: weights(batch.fakeLabels))
    }

    /// `network(x)`, or `network(x, classes:)` when classes are given.
    static func apply(_ network: Module, _ x: Tensor, _ classes: Tensor?) -> Tensor {
        guard let classes else { return network(x) }
        guard let conditional = network as? any ClassConditional else {
            preconditionFailure("GANStep: classes \(classes.shape) given, but \(type(of: network)) is not ClassConditional")
        }
        return conditional(x, classes: classes)
    }

    func updateDiscriminator(real: Tensor, fake: Tensor, realClasses: Tensor? = nil, fakeClasses: Tensor? = nil) throws(GANStepError) -> GANStepResult {
        let penalize = penalties.due(atStep: optimizerD.stepCount)
        // Penalty steps of a bf16 run compute D's update in fp32 (the penalty's second derivatives).
        return try Engine.withPrecision(penalize ? .fp32 : Engine.precision) { () throws(GANStepError) -> GANStepResult in
            // The images whose input gradient a penalty needs are leaves of their own: the penalty's
            // gradient is taken with respect to them (before augmentation, which D's forward applies).
            let realImages = penalize && penalties.r1 > 0 ? real.detached.requiringGrad() : real
            let fakeImages = penalize && penalties.r2 > 0 ? fake.detached.requiringGrad() : fake.detached
            let (realLogits, realClassLogits, reconstruction) = judge(realImages, realClasses, reconstruct: true)
            let fakeLogits = critic(fakeImages, fakeClasses)
            var lossD = loss.discriminator(real: realLogits, fake: fakeLogits, realTarget: realLabel)
            if let realClassLogits, let realClasses { lossD = lossD + auxiliaryLoss(realClassLogits, realClasses) }
            if let reconstruction { lossD = lossD + reconstruction }
            var penalty: Tensor?
            if penalize {
                let p = penaltyTerm(real: (realImages, realLogits), fake: (fakeImages, fakeLogits), realClasses: realClasses)
                lossD = lossD + p
                penalty = p
            }
            let value = lossD.item
            guard value.isFinite else { throw .nonFiniteLoss(.discriminator) }
            apply(lossD, to: optimizerD)
            let (dReal, dFake) = withoutGrad { (realLogits.sigmoid().mean().item, fakeLogits.sigmoid().mean().item) }
            let logits = realLogits.scalars
            let realSign = logits.reduce(Float(0)) { $0 + ($1 > 0 ? 1 : $1 < 0 ? -1 : 0) } / Float(max(logits.count, 1))
            return GANStepResult(lossD: value, lossG: nil, dReal: dReal, dFake: dFake, penalty: penalty?.item, realSign: realSign,
                                 reconstruction: reconstruction?.item)
        }
    }

    /// The weighted sum of the penalties due: γ₁/2·E‖∇D(x)‖² on the reals, γ₂/2·E‖∇D(G(z))‖² on
    /// the fakes (both from the logits D's loss uses), λ·E(‖∇D(x̂)‖ − 1)² on interpolates (one more
    /// forward pass), each times `penalties.every` (lazy regularization).
    func penaltyTerm(real: (images: Tensor, logits: Tensor), fake: (images: Tensor, logits: Tensor), realClasses: Tensor?) -> Tensor {
        let scale = Float(penalties.every)
        var terms: [Tensor] = []
        if penalties.r1 > 0 {
            terms.append(GradientPenalties.squaredGradientNorm(real.logits, real.images) * (penalties.r1 / 2 * scale))
        }
        if penalties.r2 > 0 {
            terms.append(GradientPenalties.squaredGradientNorm(fake.logits, fake.images) * (penalties.r2 / 2 * scale))
        }
        if penalties.wgan > 0 {
            let n = real.images.shape[0]
            let rng = RandomGenerator(seed: RandomGenerator.derivedSeed(penaltySeed, UInt64(optimizerD.stepCount)))
            let epsilon = interpolationWeights
                ?? Tensor(DiffAugment.perImage(n, of: globalSlice(n)) { rng.uniform() }, shape: [n] + [Int](repeating: 1, count: real.images.rank - 1))
            // x̂ on the segment between each real image and a fake; judged as of the real image's class.
            let mixed = (real.images.detached * epsilon + fake.images.detached * (1 - epsilon)).requiringGrad()
            terms.append(GradientPenalties.unitGradientNormPenalty(critic(mixed, realClasses), mixed) * (penalties.wgan * scale))
        }
        return terms.dropFirst().reduce(terms[0], +)
    }

    func updateGenerator(fake: Tensor, classes: Tensor? = nil, real: Tensor? = nil, realClasses: Tensor? = nil) throws(GANStepError) -> Float {
        discriminator.setRequiresGrad(false)
        defer { discriminator.setRequiresGrad(true) }
        // The relativistic loss pairs each fake with a real image, judged again by the updated D.
        let realLogits = loss.generatorNeedsReal ? real.map { critic($0, realClasses).detached } : nil
        let (fakeLogits, fakeClassLogits, _) = judge(fake, classes)
        var lossG = loss.generator(fake: fakeLogits, real: realLogits)
        if let fakeClassLogits, let classes { lossG = lossG + auxiliaryLoss(fakeClassLogits, classes) }
        let value = lossG.item
        guard value.isFinite else { throw .nonFiniteLoss(.generator) }
        apply(lossG, to: optimizerG)
        average?.update(step: optimizerG.stepCount)
        return value
    }

    /// D's logits for a batch of images (of `classes`, for a conditional D), [N, 1]: every image D
    /// judges passes here, augmented when `augment` is set (gradients flow through the
    /// augmentation to G; the classes are not augmented).
    func critic(_ images: Tensor, _ classes: Tensor? = nil) -> Tensor { judge(images, classes, classLogits: false).logits }

    /// `critic`'s logits and, when `classLogits`, the auxiliary loss is on and `classes` are
    /// given, D's class logits [N, K] from the same forward pass; when `reconstruct` and D has a
    /// decoder, the weighted reconstruction loss of what D saw, from that pass too.
    func judge(_ images: Tensor, _ classes: Tensor?, classLogits: Bool = true, reconstruct: Bool = false)
        -> (logits: Tensor, classLogits: Tensor?, reconstruction: Tensor?) {
        var seen = images
        if !augment.isEmpty {
            criticCalls += 1
            let rng = RandomGenerator(seed: RandomGenerator.derivedSeed(augmentSeed, UInt64(optimizerD.stepCount), UInt64(criticCalls)))
            seen = augment.apply(images, using: rng, slice: globalSlice(images.shape[0]), probability: augmentProbability)
        }
        let wantClassLogits = classLogits && classes != nil && auxiliaryWeight > 0
        if reconstruct, reconstructionWeight > 0, let d = discriminator as? GANDiscriminator, d.reconstructs {
            let j = d.judgement(seen, classes: classes, classLogits: wantClassLogits, reconstruct: true)
            let r = j.reconstruction!, factor = seen.shape[2] / r.shape[2]
            let target = factor > 1 ? seen.detached.avgPool2d(kernel: (factor, factor)) : seen.detached
            return (j.logits, j.classLogits, Tensor.meanSquaredError(r, target) * reconstructionWeight)
        }
        if wantClassLogits, let classes, let d = discriminator as? any AuxiliaryClassifying, d.hasAuxiliaryClassifier {
            let (logits, classLogits) = d.judge(seen, classes: classes, classLogits: true)
            return (logits, classLogits, nil)
        }
        return (Self.apply(discriminator, seen, classes), nil, nil)
    }

    /// λ · the mean cross-entropy of class logits [N, K] against the classes of one-hot class weights [N, K].
    func auxiliaryLoss(_ classLogits: Tensor, _ classes: Tensor) -> Tensor {
        let k = classes.shape[1], weights = classes.scalars
        let labels = (0..<classes.shape[0]).map { i in Int32(weights[(i * k)..<((i + 1) * k)].indices.max { weights[$0] < weights[$1] }! - i * k) }
        return Tensor.softmaxCrossEntropy(logits: classLogits, labels: labels) * auxiliaryWeight
    }

    /// The generator to draw pictures with: the average when there is one.
    public var samplingGenerator: G { (average?.average as? G) ?? generator }

    /// Gradients of `loss` into the parameters `optimizer` updates, then its update.
    func apply(_ loss: Tensor, to optimizer: Adam) {
        optimizer.zeroGrad()
        loss.backward()
        gradientReduction?(optimizer.parameters.map(\.parameter))
        optimizer.step()
    }
}

extension GANStep where G == GANGenerator, D == GANDiscriminator {
    /// The networks of `config.model`, initialised from `config.seed` as their tutorial does, with
    /// Adam and the loss settings of `config`.
    public convenience init(config c: TrainingConfig) {
        let (g, d) = Models.make(c.model, rng: RandomGenerator(seed: c.seed))
        self.init(generator: g, discriminator: d,
                  optimizerG: Adam(g, learningRate: c.learningRateG, beta1: c.beta1, beta2: c.beta2),
                  optimizerD: Adam(d, learningRate: c.learningRateD, beta1: c.beta1, beta2: c.beta2),
                  loss: c.loss, realLabel: c.realLabel, dSteps: c.dSteps, precision: c.precision)
        augment = DiffAugment(c.ada && c.augment.isEmpty ? DiffAugment.Operation.allCases : c.augment)
        augmentSeed = RandomGenerator.derivedSeed(c.seed, 0x61756720)
        augmentProbability = c.ada ? 0 : 1
        penalties = GradientPenalties(r1: c.r1, r2: c.r2, wgan: c.loss == .wganGP ? c.gradientPenaltyWeight : 0, every: c.penaltyEvery)
        penaltySeed = RandomGenerator.derivedSeed(c.seed, 0x67702020)
        auxiliaryWeight = c.model.auxiliaryClassifier ? c.auxiliaryWeight : 0
        if c.ema > 0 {
            let (copy, _) = Models.make(c.model, rng: RandomGenerator(seed: c.seed))
            average = ModuleAverage(of: g, into: copy, decay: c.ema)
        }
    }
}

import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Datasets
import Imaging
import NN
import Tensors

/// Two classes of 32×32 images: class "left" has its bright square in the top-left quarter,
/// class "right" in the bottom-right one.
func leftRightSquares(_ n: Int, seed: UInt64 = 1) -> ImageDataset {
    var state = seed
    func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
    let size = 32
    var px = [UInt8](repeating: 0, count: n * size * size)
    for i in 0..<n {
        let offset = i % 2 == 0 ? size / 8 : size * 5 / 8
        for y in 0..<size { for x in 0..<size {
            let inSquare = (offset..<offset + size / 4).contains(x) && (offset..<offset + size / 4).contains(y)
            px[(i * size + y) * size + x] = inSquare ? UInt8(220 + next() % 36) : UInt8(next() % 60)
        } }
    }
    return ImageDataset(name: "left-right", count: n, height: size, width: size, channels: 1, pixels: px,
                        labels: (0..<n).map { Int32($0 % 2) }, classNames: ["left", "right"])
}

/// Mean brightness of the top-left quarter-square minus the bottom-right one, over images [N, 1, 32, 32].
func leftMinusRight(_ values: [Float], count: Int) -> Float {
    let size = 32
    var left: Float = 0, right: Float = 0
    for i in 0..<count { for y in 0..<(size / 4) { for x in 0..<(size / 4) {
        left += values[(i * size + y + size / 8) * size + x + size / 8]
        right += values[(i * size + y + size * 5 / 8) * size + x + size * 5 / 8]
    } } }
    return (left - right) / Float(count * size * size / 16)
}

func conditionalConfig(epochs: Int = 1, preset: ModelPreset = .dcgan) -> TrainingConfig {
    var c = tinyConfig(preset: preset, epochs: epochs)
    c.model.classNames = ["left", "right"]
    return c
}

@Suite(.serialized) struct ConditionalTests {
    /// The proof that the class is learned: at initialisation neither class puts a square
    /// anywhere; after training, the same latents drawn as "left" put the square top-left and
    /// drawn as "right" bottom-right.
    @Test(arguments: [false, true])
    func theGeneratorLearnsToDrawTheClassItIsGiven(auxiliaryClassifier: Bool) throws {
        var config = conditionalConfig(epochs: 10)
        config.batchSize = 32
        config.model.auxiliaryClassifier = auxiliaryClassifier
        let trainer = try Trainer(config: config, dataset: leftRightSquares(256), runDirectory: scratch("cond-learn-\(auxiliaryClassifier)"))
        let z = config.model.noise(32, using: RandomGenerator(seed: 99))
        let sampler = Sampler(generator: trainer.generator, config: config.model)
        func drawn(_ label: Int32) -> Tensor { sampler.generate(z, classes: .oneHot([Int32](repeating: label, count: 32), classes: 2)) }
        let before = (leftMinusRight(drawn(0).scalars, count: 32), leftMinusRight(drawn(1).scalars, count: 32))
        #expect(abs(before.0) < 0.2 && abs(before.1) < 0.2, "before training: \(before)")
        _ = try trainer.run()
        let (left, right) = (leftMinusRight(drawn(0).scalars, count: 32), leftMinusRight(drawn(1).scalars, count: 32))
        print("conditional squares: left-minus-right brightness \(left) drawn as 'left', \(right) drawn as 'right'")
        #expect(left > 0.5, "drawn as left: \(left)")
        #expect(right < -0.5, "drawn as right: \(right)")
        // Swapping one image's label (same noise) changes that image.
        let mixed = sampler.generate(z.slice(axis: 0, offset: 0, length: 2), classes: .oneHot([0, 1], classes: 2))
        let swapped = sampler.generate(z.slice(axis: 0, offset: 0, length: 2), classes: .oneHot([1, 1], classes: 2))
        let first = 32 * 32
        #expect(Array(mixed.scalars[..<first]) != Array(swapped.scalars[..<first]))
        #expect(Array(mixed.scalars[first...]) == Array(swapped.scalars[first...]))
    }

    /// Two epochs straight, or one then a resume: bitwise the same weights, the class tables
    /// included, with the other techniques on too (spectral norm, EMA, DiffAugment).
    @Test func resumingAConditionalRunIsTheSameComputation() throws {
        let data = leftRightSquares(64)
        func config(_ epochs: Int) -> TrainingConfig {
            var c = conditionalConfig(epochs: epochs)
            c.model.spectralNorm = .d
            c.model.auxiliaryClassifier = true
            c.auxiliaryWeight = 0.5
            c.ema = 0.9
            c.augment = [.translation, .cutout]
            return c
        }
        let straight = try Trainer(config: config(2), dataset: data, runDirectory: scratch("cond-straight"))
        _ = try straight.run()
        let dir = scratch("cond-resumed")
        _ = try Trainer(config: config(1), dataset: data, runDirectory: dir).run()
        let second = try Trainer.resume(runDirectory: dir, dataset: data, epochs: 2)
        _ = try second.run()
        let names = straight.generator.namedParameters().map(\.name) + straight.discriminator.namedParameters().map(\.name)
        #expect(names.contains("main.1.weight") && names.contains("embedding.weight_orig") && names.contains("classifier.weight_orig"))
        #expect(straight.samplingGenerator.parameters.map { $0.value.scalars } == second.samplingGenerator.parameters.map { $0.value.scalars })
        for ((name, a), b) in zip(zip(names, straight.generator.parameters + straight.discriminator.parameters),
                                  second.generator.parameters + second.discriminator.parameters) {
            #expect(a.value.scalars == b.value.scalars, "\(name)")
        }
        // The fakes' classes are a function of (seed, step), uniform over the classes.
        let labels = (0..<200).flatMap { straight.state.fakeLabels(count: 16, step: $0) }
        #expect(labels == (0..<200).flatMap { second.state.fakeLabels(count: 16, step: $0) })
        #expect(abs(Double(labels.filter { $0 == 1 }.count) / Double(labels.count) - 0.5) < 0.03)
    }

    /// AC-GAN's terms: D's loss gains λ·CE of its class head on the real images against their
    /// classes, G's λ·CE on the fakes against the classes they were drawn as (the same networks
    /// and batch without the terms give the rest of each loss).
    @Test func theAuxiliaryLossesAreTheClassHeadsCrossEntropies() throws {
        var c = conditionalConfig()
        c.model.auxiliaryClassifier = true
        c.auxiliaryWeight = 2
        var without = c
        without.auxiliaryWeight = 0
        let data = leftRightSquares(16), z = c.model.noise(16, using: RandomGenerator(seed: 4))
        let real = data.images(), realClasses = Tensor.oneHot(data.labels!, classes: 2)
        let fakeLabels = data.labels!.map { 1 - $0 }, fakeClasses = Tensor.oneHot(fakeLabels, classes: 2)
        /// The mean cross-entropy of class logits [N, 2] against `labels`, in Double.
        func crossEntropy(_ logits: Tensor, _ labels: [Int32]) -> Double {
            let x = logits.scalars.map(Double.init)
            return labels.indices.map { i in
                let row = [x[2 * i], x[2 * i + 1]], top = row.max()!
                return top + log(row.map { exp($0 - top) }.reduce(0, +)) - row[Int(labels[i])]
            }.reduce(0, +) / Double(labels.count)
        }
        let (a, b) = (GANStep(config: c), GANStep(config: without))
        #expect(a.auxiliaryWeight == 2 && b.auxiliaryWeight == 0 && a.discriminator.hasAuxiliaryClassifier)
        let heads = withoutGrad { a.discriminator.judge(real, classes: realClasses, classLogits: true).classLogits! }
        #expect(heads.shape == [16, 2])
        let fakeA = a.generator(z, classes: fakeClasses), fakeB = b.generator(z, classes: fakeClasses)
        let withTerm = try a.updateDiscriminator(real: real, fake: fakeA, realClasses: realClasses, fakeClasses: fakeClasses)
        let plain = try b.updateDiscriminator(real: real, fake: fakeB, realClasses: realClasses, fakeClasses: fakeClasses)
        let dTerm = Double(withTerm.lossD - plain.lossD), dExpected = 2 * crossEntropy(heads, data.labels!)
        #expect(abs(dTerm - dExpected) < 1e-4 * max(1, dExpected), "D: \(dTerm) against 2·CE \(dExpected)")
        // G's, from fresh steps: the same D judges the same fakes.
        let (g1, g2) = (GANStep(config: c), GANStep(config: without))
        let fake1 = g1.generator(z, classes: fakeClasses), fake2 = g2.generator(z, classes: fakeClasses)
        let fakeHeads = withoutGrad { g1.discriminator.judge(fake1, classes: fakeClasses, classLogits: true).classLogits! }
        let lossWith: Float = try g1.updateGenerator(fake: fake1, classes: fakeClasses)
        let lossWithout: Float = try g2.updateGenerator(fake: fake2, classes: fakeClasses)
        let gTerm = Double(lossWith - lossWithout)
        let gExpected = 2 * crossEntropy(fakeHeads, fakeLabels)
        #expect(abs(gTerm - gExpected) < 1e-4 * max(1, gExpected), "G: \(gTerm) against 2·CE \(gExpected)")
        #expect(dExpected > 0.1 && gExpected > 0.1)
    }

    /// The checkpoint keeps the classes (state.json and the safetensors metadata); a sampler of it
    /// draws by name; the tables have PyTorch-style names and shapes.
    @Test func checkpointsKeepTheClasses() throws {
        let dir = scratch("cond-checkpoint")
        let trainer = try Trainer(config: conditionalConfig(), dataset: leftRightSquares(64), runDirectory: dir)
        let path = try #require({ if case .finished(let p) = try trainer.run() { return p } else { return nil } }())
        let sampler = try Sampler(checkpoint: dir)
        #expect(sampler.classNames == ["left", "right"])
        #expect(try sampler.config.classIndex("Right") == 1 && (try sampler.config.classIndex("0")) == 0)
        #expect(throws: SamplingError.unknownClass("up", valid: ["left", "right"])) { try sampler.config.classIndex("up") }
        #expect("\(SamplingError.unknownClass("up", valid: ["left", "right"]))" == "no class 'up'; the classes are 0 left, 1 right")
        let file = try SafeTensors(contentsOf: path + "/generator.safetensors")
        #expect(file.metadata["classes"] == #"["left","right"]"#)
        #expect(file.shape(of: "main.1.weight") == [2, 8 * 4 * 4 * 4] && file.shape(of: "main.1.bias") == [2, 8 * 4 * 4 * 4])
        #expect(file.shape(of: "main.1.running_mean") == [8 * 4 * 4 * 4])
        let d = try SafeTensors(contentsOf: path + "/discriminator.safetensors")
        #expect(d.shape(of: "embedding.weight") == [2, 4 * 8 * 4 * 4])
        // The same latents and classes give the same images from the checkpoint as from the trainer.
        let z = sampler.noise(count: 4, seed: 5), classes = Tensor.oneHot([0, 1, 1, 0], classes: 2)
        #expect(sampler.generate(z, classes: classes).scalars
                == Sampler(generator: trainer.samplingGenerator, config: trainer.config.model).generate(z, classes: classes).scalars)
    }

    @Test func samplingChoosesClassesAsAsked() throws {
        let c = ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 8, width: 4, classNames: ["a", "b", "c"])
        let (g, _) = Models.make(c, rng: RandomGenerator(seed: 1))
        let sampler = Sampler(generator: g, config: c)
        #expect(sampler.labels(.cycle([2, 0]), count: 5, seed: 0) == [2, 0, 2, 0, 2])
        let uniform = sampler.labels(.uniform, count: 3000, seed: 7)!
        #expect(uniform == sampler.labels(.uniform, count: 3000, seed: 7))
        #expect(Set(uniform) == [0, 1, 2] && uniform.filter { $0 == 1 }.count > 900)
        // Streaming in batches draws the labels of the whole-count call, in order.
        var streamed: [Int32] = []
        sampler.generate(count: 130, seed: 7, batchSize: 64) { _, labels, _ in streamed += labels! }
        #expect(streamed == Array(uniform.prefix(130)))
        // An unconditional generator has none.
        let plain = Sampler(generator: Models.make(ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 8, width: 4),
                                                   rng: RandomGenerator(seed: 1)).0, config: ModelConfig(preset: .dcgan, imageSize: 28, channels: 1, latent: 8, width: 4))
        #expect(plain.labels(.uniform, count: 3, seed: 0) == nil)
        #expect(throws: SamplingError.notConditional) { try plain.config.classIndex("a") }
    }

    /// Interpolating between classes at fixed noise: the ends are exactly the two classes' images,
    /// the middle is a mixture of their class weights.
    @Test func interpolationBetweenClassesEndsAtEachClass() throws {
        let dir = scratch("cond-interp")
        let trainer = try Trainer(config: conditionalConfig(), dataset: leftRightSquares(64), runDirectory: dir)
        _ = try trainer.run()
        let sampler = try Sampler(checkpoint: dir)
        let frames = sampler.interpolate(from: 4, to: 4, steps: 3, fromClass: 0, toClass: 1)
        let z = sampler.noise(count: 1, seed: 4)
        #expect(frames.first!.pixels == sampler.toImages(sampler.generate(z, classes: .oneHot([0], classes: 2)))[0].pixels)
        #expect(frames.last!.pixels == sampler.toImages(sampler.generate(z, classes: .oneHot([1], classes: 2)))[0].pixels)
        #expect(frames[1].pixels != frames[0].pixels && frames[1].pixels != frames[2].pixels)
    }

    /// Every preset has a conditional form that trains a step; the MLP GAN too: its three batch
    /// norms become conditional and its last dense layer gains the projection.
    @Test(arguments: [(ModelPreset.mlp, 28), (.dcgan, 28), (.dcgan, 32), (.dcgan, 64), (.catdcgan, 128), (.sngan, 32), (.fastgan, 32),
                      (.fastgan, 128)])
    func everyPresetHasAConditionalForm(_ preset: ModelPreset, _ size: Int) throws {
        let c = ModelConfig(preset: preset, imageSize: size, channels: 1, latent: 8, width: 4, classNames: ["a", "b", "c"])
        let (g, d) = Models.make(c, rng: RandomGenerator(seed: 2))
        // Every batch norm of G, those inside FastGAN's skip-layer excitations too, is conditional.
        let modules = g.namedModules().map(\.module)
        let unconditional = Models.make(ModelConfig(preset: preset, imageSize: size, channels: 1, latent: 8, width: 4), rng: RandomGenerator(seed: 2)).0
        #expect(!modules.contains { $0 is BatchNorm })
        #expect(modules.filter { $0 is ConditionalBatchNorm }.count == unconditional.namedModules().filter { $0.module is BatchNorm }.count)
        #expect(d.embedding?.classes == 3)
        if preset == .sngan { #expect(d.namedBuffers().map(\.name).contains("embedding.weight_u")) }
        let step = GANStep(generator: g, discriminator: d, optimizerG: Adam(g, learningRate: 1e-3), optimizerD: Adam(d, learningRate: 1e-3))
        let real = Tensor.randomUniform([4, 1, size, size], low: -1, high: 1, using: RandomGenerator(seed: 3))
        let result = try step(real: real, noise: c.noise(4, using: RandomGenerator(seed: 4)),
                              realClasses: .oneHot([0, 1, 2, 0], classes: 3), fakeClasses: .oneHot([2, 2, 1, 0], classes: 3))
        #expect(result.lossD.isFinite && (result.lossG ?? .nan).isFinite)
        #expect((result.reconstruction != nil) == (preset == .fastgan))
        // The inference plan with its unfolded conditional norms equals the layers in evaluation mode.
        let sampler = Sampler(generator: g, config: c)
        let z = c.noise(5, using: RandomGenerator(seed: 6)), classes = Tensor.oneHot([0, 1, 2, 1, 0], classes: 3)
        let fused = sampler.generate(z, classes: classes)
        g.setTraining(false)
        let plain = withoutGrad { g(z, classes: classes) }
        #expect(zip(fused.scalars, plain.scalars).map { abs($0 - $1) }.max()! < 1e-5)
    }

    @Test func trainingRefusesDataWithoutTheModelsClasses() throws {
        let unlabelled = ImageDataset(name: "plain", count: 64, height: 32, width: 32, channels: 1, pixels: leftRightSquares(64).pixels,
                                      unlabelledReason: "its images are not sorted into class sub-folders (one folder per class)")
        #expect { try Trainer(config: conditionalConfig(), dataset: unlabelled, runDirectory: scratch("cond-refuse")) } throws: {
            "\($0)" == "plain: no class labels: its images are not sorted into class sub-folders (one folder per class)"
        }
        var other = conditionalConfig()
        other.model.classNames = ["up", "down"]
        #expect { try Trainer(config: other, dataset: leftRightSquares(64), runDirectory: scratch("cond-refuse2")) } throws: {
            "\($0)" == "left-right: its classes are 2 (left, right), the model's are 2 (up, down)"
        }
        var one = conditionalConfig()
        one.model.classNames = ["only"]
        #expect(one.problem == "a conditional model needs at least 2 classes, got 1 (only)")
    }

    /// The training grid of a conditional run: one labelled row per class, the same latent down
    /// each column; the label column has ink in each row band.
    @Test func sampleGridsHaveOneLabelledRowPerClass() throws {
        let trainer = try Trainer(config: conditionalConfig(), dataset: leftRightSquares(64), runDirectory: scratch("cond-grid"))
        let grid = trainer.sampleGrid()
        let cell = (32 + 2) * 2  // 32-pixel images, padding 2, scaled ×2
        #expect(grid.height == 2 * cell + 4)
        let gridWidth = 8 * cell + 4
        let column = grid.width - gridWidth
        #expect(column > 20, "label column \(column) px")
        for row in 0..<2 {
            let band = (4 + row * cell)..<(4 + row * cell + 64)
            let ink = band.reduce(0) { sum, y in sum + (0..<column).filter { grid.pixels[y * grid.width + $0] > 100 }.count }
            #expect(ink > 20, "row \(row): \(ink) light pixels of text")
        }
        // Text width grows with the text.
        #expect(Text.width("Ankle boot", size: 14) > Text.width("Bag", size: 14))
    }
}

import Datasets
import Foundation
import GANModels
import NN
import Tensors

/// The judge of the evaluation metrics: a small CNN trained on the dataset itself (Inception is
/// the wrong judge for 28×28 clothes, and its weights cannot be downloaded here).
///
/// conv 3×3 → 32, ReLU, max-pool 2; conv 3×3 → 64, ReLU, max-pool 2; dense → 128 features (ReLU),
/// the penultimate layer the Fréchet distance is computed on; dense → classes.
public final class Classifier: Module {
    public let body: Sequential
    public let head: Linear
    public let classes: Int
    public let imageSize: Int, channels: Int

    public init(imageSize: Int, channels: Int, classes: Int = 10, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        precondition(imageSize >= 4, "Classifier: images of \(imageSize)×\(imageSize) are too small")
        self.classes = classes; self.imageSize = imageSize; self.channels = channels
        let pooled = imageSize / 4
        body = Sequential(
            Conv2d(channels, 32, kernelSize: 3, padding: .explicit(1, 1), rng: rng), ReLU(), MaxPool2d(2),
            Conv2d(32, 64, kernelSize: 3, padding: .explicit(1, 1), rng: rng), ReLU(), MaxPool2d(2),
            Flatten(), Linear(64 * pooled * pooled, Classifier.featureSize, rng: rng), ReLU())
        head = Linear(Classifier.featureSize, classes, rng: rng)
    }

    public static let featureSize = 128

    /// Penultimate features [N, 128].
    public func features(_ x: Tensor) -> Tensor { body(x) }
    public func callAsFunction(_ x: Tensor) -> Tensor { head(body(x)) }

    /// Features and class probabilities of images [N, C, H, W] in [-1, 1], in batches, without gradients.
    public func embed(_ images: Tensor, batch: Int = 500) -> (features: [Float], probabilities: [Float]) {
        var f: [Float] = [], p: [Float] = []
        let n = images.shape[0]
        for start in stride(from: 0, to: n, by: batch) {
            let x = images.slice(axis: 0, offset: start, length: min(batch, n - start))
            let (feats, probs) = withoutGrad { () -> (Tensor, Tensor) in
                let h = features(x)
                return (h, head(h).softmax())
            }
            f += feats.scalars
            p += probs.scalars
        }
        return (f, p)
    }

    /// Where trained judges are kept between runs: `~/.cache/swiftgan/classifiers`.
    public static var defaultCacheDirectory: String { ImageFolder.defaultCacheDirectory + "/classifiers" }

    /// The classifier for a labelled dataset: loaded from `cacheDirectory` when one was trained on
    /// exactly these pixels and labels before, else trained (and cached) now.
    public static func forDataset(_ train: ImageDataset, test: ImageDataset, epochs: Int = 5, seed: UInt64 = 0,
                                  cacheDirectory: String? = defaultCacheDirectory, log: (String) -> Void = { _ in }) throws -> (Classifier, accuracy: Double) {
        let (labels, _) = try train.requireLabels(), (testLabels, _) = try test.requireLabels()
        let classes = Int((labels.max() ?? 0) + 1)
        var hash = FNV1a()
        hash.add(bytes: train.pixels)
        hash.add(bytes: labels.map { UInt8(truncatingIfNeeded: $0) })
        let key = RandomGenerator.derivedSeed(hash.value, UInt64(epochs), seed, UInt64(train.height), UInt64(train.channels))
        let file = cacheDirectory.map { "\($0)/classifier-\(String(key, radix: 16)).safetensors" }
        let model = Classifier(imageSize: train.height, channels: train.channels, classes: classes, rng: RandomGenerator(seed: seed))
        if let file, let cached = try? SafeTensors(contentsOf: file), let acc = cached.metadata[accuracyKey].flatMap(Double.init) {
            try model.load(from: cached)
            log("classifier from the cache \(file) (test accuracy \(String(format: "%.2f", 100 * acc))%)")
            return (model, acc)
        }
        log("training the evaluation classifier on \(train.count) images (\(epochs) epochs)…")
        let adam = Adam(model, learningRate: 1e-3)
        let batcher = Batcher(train, batchSize: 128, seed: seed)
        for epoch in 0..<epochs {
            for batch in batcher.epoch(epoch) {
                adam.zeroGrad()
                Tensor.softmaxCrossEntropy(logits: model(batch.images), labels: batch.labels!).backward()
                adam.step()
            }
        }
        let accuracy = Self.accuracy(model, test, testLabels)
        log(String(format: "classifier test accuracy %.2f%%", 100 * accuracy))
        if let file, let dir = cacheDirectory {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try? model.save(to: file, metadata: [accuracyKey: "\(accuracy)", "dataset": train.name, classesKey: "\(classes)"])
        }
        return (model, accuracy)
    }

    /// The metadata keys a classifier's file carries: its class count and its accuracy on the test split.
    static let classesKey = "classes", accuracyKey = "test_accuracy"

    /// A classifier saved by `forDataset` (or `swiftgan`'s cache) at `path`, for images of
    /// `imageSize` and `channels`, with its test accuracy (NaN when the file does not say).
    public static func load(contentsOf path: String, imageSize: Int, channels: Int) throws -> (Classifier, accuracy: Double) {
        let file = try SafeTensors(contentsOf: path)
        let classes = file.metadata[classesKey].flatMap { Int($0) } ?? 10
        let model = Classifier(imageSize: imageSize, channels: channels, classes: classes)
        try model.load(from: file)
        return (model, file.metadata[accuracyKey].flatMap(Double.init) ?? .nan)
    }

    static func accuracy(_ model: Classifier, _ test: ImageDataset, _ labels: [Int32]) -> Double {
        let (_, probs) = model.embed(test.images())
        let predicted = ClassifierMetrics.argmax(probabilities: probs, count: test.count, classes: model.classes)
        return Double(zip(predicted, labels).filter { $0 == Int($1) }.count) / Double(test.count)
    }
}

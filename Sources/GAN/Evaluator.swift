import Datasets
import Foundation
import Tensors

/// The numbers `swiftgan eval` reports for one set of images against the real test split.
public struct EvaluationReport: Codable, Sendable, Equatable {
    public var images: Int
    /// Fréchet distance of the classifier's penultimate features (lower is better).
    public var frechetDistance: Double
    /// exp(E[KL(p(y|x) ‖ p(y))]); at most the number of classes.
    public var classifierScore: Double
    /// Classes receiving at least 2% of the predictions.
    public var classCoverage: Int
    public var classes: Int
    /// KL of the predicted-class histogram to the real one.
    public var classHistogramKL: Double
    public var precision: Double
    public var recall: Double
    /// Fewer than half the classes covered.
    public var modeCollapse: Bool { classCoverage * 2 < classes }
}

/// Measures generated images against a labelled dataset's test split, through a classifier
/// trained on its training split.
public final class Evaluator {
    public let classifier: Classifier
    public let classifierAccuracy: Double
    let realStatistics: FeatureStatistics
    let realFeatures: [Float]
    let realPredicted: [Int]
    let test: ImageDataset

    public init(classifier: Classifier, accuracy: Double, test: ImageDataset) {
        self.classifier = classifier
        self.classifierAccuracy = accuracy
        self.test = test
        let (features, probabilities) = classifier.embed(test.images())
        realFeatures = features
        realStatistics = FeatureStatistics(features: features, count: test.count, dimension: Classifier.featureSize)
        realPredicted = ClassifierMetrics.argmax(probabilities: probabilities, count: test.count, classes: classifier.classes)
    }

    /// The report for images [N, C, H, W] in [-1, 1]. Precision and recall use at most `manifoldCount`
    /// points of each set (k-NN over all pairs).
    public func evaluate(_ images: Tensor, manifoldCount: Int = 10_000) -> EvaluationReport {
        var accumulation = Accumulation(self, manifoldCount: manifoldCount)
        accumulation.add(images)
        return accumulation.report
    }

    /// `count` generated images from `sampler` with noise from `seed`, generated, embedded and
    /// summarised batch by batch: memory stays that of one batch, the feature statistics and the
    /// first `manifoldCount` feature vectors whatever `count` is.
    public func evaluate(_ sampler: Sampler, count: Int, seed: UInt64, manifoldCount: Int = 10_000) -> EvaluationReport {
        var accumulation = Accumulation(self, manifoldCount: manifoldCount)
        sampler.generate(count: count, seed: seed, batchSize: 500) { images, _, _ in accumulation.add(images) }
        return accumulation.report
    }

    /// What a report needs of the images seen so far: feature statistics, the classifier score's
    /// sums, the predicted-class histogram and the first feature vectors for precision and recall.
    struct Accumulation {
        let evaluator: Evaluator
        let manifoldCount: Int
        var statistics = FeatureStatistics.Accumulator(dimension: Classifier.featureSize)
        var score: ClassifierMetrics.ScoreAccumulator
        var histogram: [Int]
        var manifold: [Float] = []

        init(_ evaluator: Evaluator, manifoldCount: Int) {
            self.evaluator = evaluator
            self.manifoldCount = manifoldCount
            score = .init(classes: evaluator.classifier.classes)
            histogram = [Int](repeating: 0, count: evaluator.classifier.classes)
        }

        mutating func add(_ images: Tensor) {
            let n = images.shape[0], d = Classifier.featureSize, classes = evaluator.classifier.classes
            let (features, probabilities) = evaluator.classifier.embed(images)
            statistics.add(features, count: n)
            score.add(probabilities, count: n)
            for c in ClassifierMetrics.argmax(probabilities: probabilities, count: n, classes: classes) { histogram[c] += 1 }
            let room = min(manifoldCount, evaluator.test.count) * d - manifold.count
            if room > 0 { manifold += features.prefix(room) }
        }

        var report: EvaluationReport {
            let e = evaluator, classes = e.classifier.classes, d = Classifier.featureSize
            let m = min(manifold.count / d, e.realFeatures.count / d)
            let (precision, recall) = ManifoldMetrics.precisionRecall(real: Array(e.realFeatures.prefix(m * d)),
                                                                      fake: Array(manifold.prefix(m * d)), dimension: d)
            return EvaluationReport(
                images: statistics.count, frechetDistance: Frechet.distance(statistics.statistics, e.realStatistics),
                classifierScore: score.score,
                classCoverage: ClassifierMetrics.coverage(histogram: histogram), classes: classes,
                classHistogramKL: ClassifierMetrics.histogramKL(histogram: histogram,
                                                                reference: ClassifierMetrics.histogram(e.realPredicted, classes: classes)),
                precision: precision, recall: recall)
        }
    }

    /// The floor: `count` real training images scored like generated ones.
    public func floor(_ train: ImageDataset, count: Int, seed: UInt64 = 1) -> EvaluationReport {
        let n = min(count, train.count)
        return evaluate(train.images(Array(Batcher(train, batchSize: n, seed: seed).order(epoch: 0).prefix(n))))
    }

    /// The test split that goes with a training set's path (MNIST `t10k-*`, CIFAR `test_batch.bin`,
    /// SVHN `test_32x32.mat` beside `train_32x32.mat`).
    public static func testSplit(of path: String) throws -> ImageDataset {
        if path.hasSuffix("train_32x32.mat") {
            return try DatasetLoader.load(String(path.dropLast("train_32x32.mat".count)) + "test_32x32.mat")
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            return try DatasetLoader.load(path, split: .test)
        }
        return try DatasetLoader.load(path.replacingOccurrences(of: "train-", with: "t10k-"))
    }
}

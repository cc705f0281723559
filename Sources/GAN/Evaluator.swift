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
        let n = images.shape[0]
        let (features, probabilities) = classifier.embed(images)
        let stats = FeatureStatistics(features: features, count: n, dimension: Classifier.featureSize)
        let predicted = ClassifierMetrics.argmax(probabilities: probabilities, count: n, classes: classifier.classes)
        let d = Classifier.featureSize
        let m = min(manifoldCount, n, test.count)
        let (precision, recall) = ManifoldMetrics.precisionRecall(real: Array(realFeatures.prefix(m * d)),
                                                                  fake: Array(features.prefix(m * d)), dimension: d)
        return EvaluationReport(
            images: n, frechetDistance: Frechet.distance(stats, realStatistics),
            classifierScore: ClassifierMetrics.score(probabilities: probabilities, count: n, classes: classifier.classes),
            classCoverage: ClassifierMetrics.coverage(predicted, classes: classifier.classes), classes: classifier.classes,
            classHistogramKL: ClassifierMetrics.histogramKL(predicted, reference: realPredicted, classes: classifier.classes),
            precision: precision, recall: recall)
    }

    /// `count` generated images from `sampler` with noise from `seed`.
    public func evaluate(_ sampler: Sampler, count: Int, seed: UInt64) -> EvaluationReport {
        evaluate(sampler.generate(sampler.noise(count: count, seed: seed)))
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

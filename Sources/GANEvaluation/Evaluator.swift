import Datasets
import Foundation
import GANModels
import Tensors

/// The numbers `swiftgan eval` reports for one set of images against the real test split.
public struct EvaluationReport: Codable, Sendable, Equatable {
    public var images: Int
    /// Fréchet distance of the classifier's penultimate features (lower is better).
    public var frechetDistance: Double
    /// Kernel distance (KID's formula) of the same features: unbiased, for small sets (lower is
    /// better; nil in reports written before it existed).
    public var kernelDistance: Double? = nil
    /// exp(E[KL(p(y|x) ‖ p(y))]); at most the number of classes.
    public var classifierScore: Double
    /// Classes receiving at least 2% of the predictions.
    public var classCoverage: Int
    public var classes: Int
    /// KL of the predicted-class histogram to the real one.
    public var classHistogramKL: Double
    public var precision: Double
    public var recall: Double
    /// For a conditional generator (or real labelled images): how often the classifier assigns an
    /// image to the class it was drawn as (nil when the images have no classes).
    public var classAccuracy: Double? = nil
    /// The class accuracy of each class's images (nil for a class with none).
    public var classAccuracies: [Double?]? = nil
    /// The Fréchet distance of each class's images to the real images of that class (StudioGAN's
    /// intra-class FID), class by class; nil when the images have no classes. A class with fewer
    /// than 2 images on either side has none (nil).
    public var intraClassFrechetDistances: [Double?]? = nil
    /// Precision and recall within each class: each class's images against the real test images of
    /// that class, as many of each (diversity within a class: a generator that draws one good
    /// sneaker has a sneaker precision near 1 and a sneaker recall near 0). nil for a class with
    /// too few images on either side.
    public var classPrecisions: [Double?]? = nil
    public var classRecalls: [Double?]? = nil
    /// Fewer than half the classes covered.
    public var modeCollapse: Bool { classCoverage * 2 < classes }

    /// The mean of the intra-class Fréchet distances (over the classes that have one).
    public var meanIntraClassFrechetDistance: Double? {
        guard let all = intraClassFrechetDistances?.compactMap({ $0 }), !all.isEmpty else { return nil }
        return all.reduce(0, +) / Double(all.count)
    }
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

    /// The test images' feature statistics class by class (nil when the test set is unlabelled or
    /// has other classes than the classifier).
    let realClassStatistics: [FeatureStatistics]?
    /// The test images' feature vectors class by class (with `realClassStatistics`).
    let realClassFeatures: [[Float]]?

    public init(classifier: Classifier, accuracy: Double, test: ImageDataset) {
        self.classifier = classifier
        self.classifierAccuracy = accuracy
        self.test = test
        let (features, probabilities) = classifier.embed(test.images())
        let d = Classifier.featureSize
        realFeatures = features
        realStatistics = FeatureStatistics(features: features, count: test.count, dimension: d)
        realPredicted = ClassifierMetrics.argmax(probabilities: probabilities, count: test.count, classes: classifier.classes)
        if let labels = test.labels, test.classCount == classifier.classes {
            var perClass = [FeatureStatistics.Accumulator](repeating: .init(dimension: d), count: classifier.classes)
            var vectors = [[Float]](repeating: [], count: classifier.classes)
            for (i, label) in labels.enumerated() {
                perClass[Int(label)].add(Array(features[(i * d)..<((i + 1) * d)]), count: 1)
                vectors[Int(label)] += features[(i * d)..<((i + 1) * d)]
            }
            realClassStatistics = perClass.map(\.statistics)
            realClassFeatures = vectors
        } else {
            (realClassStatistics, realClassFeatures) = (nil, nil)
        }
    }

    /// The report for images [N, C, H, W] in [-1, 1] (of classes `labels`, when they have classes).
    /// Precision and recall use at most `manifoldCount` points of each set (k-NN over all pairs).
    public func evaluate(_ images: Tensor, labels: [Int32]? = nil, manifoldCount: Int = 10_000) -> EvaluationReport {
        var accumulation = Accumulation(self, manifoldCount: manifoldCount)
        accumulation.add(images, labels: labels)
        return accumulation.report
    }

    /// `count` generated images from `sampler` with noise from `seed`, generated, embedded and
    /// summarised batch by batch: memory stays that of one batch, the feature statistics and the
    /// first `manifoldCount` feature vectors whatever `count` is. A conditional generator draws
    /// classes uniformly; its report adds the class accuracy and the intra-class Fréchet distances
    /// when the classifier judges the same classes.
    public func evaluate(_ sampler: Sampler, count: Int, seed: UInt64, manifoldCount: Int = 10_000) -> EvaluationReport {
        var accumulation = Accumulation(self, manifoldCount: manifoldCount)
        let judged = sampler.config.classes == classifier.classes
        sampler.generate(count: count, seed: seed, batchSize: 500) { images, labels, _ in
            accumulation.add(images, labels: judged ? labels : nil)
        }
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
        /// With labels: each class's feature statistics and the images the classifier put in their class.
        var perClass: [FeatureStatistics.Accumulator] = []
        var correct = 0, labelled = 0
        var correctByClass: [Int] = [], countByClass: [Int] = []
        /// Each class's first feature vectors, as many as the test set has of the class.
        var manifoldByClass: [[Float]] = []

        init(_ evaluator: Evaluator, manifoldCount: Int) {
            self.evaluator = evaluator
            self.manifoldCount = manifoldCount
            score = .init(classes: evaluator.classifier.classes)
            histogram = [Int](repeating: 0, count: evaluator.classifier.classes)
        }

        mutating func add(_ images: Tensor, labels: [Int32]? = nil) {
            let n = images.shape[0], d = Classifier.featureSize, classes = evaluator.classifier.classes
            let (features, probabilities) = evaluator.classifier.embed(images)
            statistics.add(features, count: n)
            score.add(probabilities, count: n)
            let predicted = ClassifierMetrics.argmax(probabilities: probabilities, count: n, classes: classes)
            for c in predicted { histogram[c] += 1 }
            if let labels {
                precondition(labels.count == n && labels.allSatisfy { $0 >= 0 && Int($0) < classes },
                             "Evaluator: \(labels.count) labels in 0..<\(classes) for \(n) images")
                if perClass.isEmpty {
                    perClass = .init(repeating: .init(dimension: d), count: classes)
                    (correctByClass, countByClass) = ([Int](repeating: 0, count: classes), [Int](repeating: 0, count: classes))
                    manifoldByClass = .init(repeating: [], count: classes)
                }
                // Grouped by class, one accumulator update per class and batch.
                var rows = [[Float]](repeating: [], count: classes), counts = [Int](repeating: 0, count: classes)
                for (i, label) in labels.enumerated() {
                    rows[Int(label)] += features[(i * d)..<((i + 1) * d)]
                    counts[Int(label)] += 1
                    countByClass[Int(label)] += 1
                    if predicted[i] == Int(label) { correct += 1; correctByClass[Int(label)] += 1 }
                    let room = min(manifoldCount * d, evaluator.realClassFeatures?[Int(label)].count ?? 0) - manifoldByClass[Int(label)].count
                    if room >= d { manifoldByClass[Int(label)] += features[(i * d)..<((i + 1) * d)] }
                }
                for k in 0..<classes where counts[k] > 0 { perClass[k].add(rows[k], count: counts[k]) }
                labelled += n
            }
            let room = min(manifoldCount, evaluator.test.count) * d - manifold.count
            if room > 0 { manifold += features.prefix(room) }
        }

        var report: EvaluationReport {
            let e = evaluator, classes = e.classifier.classes, d = Classifier.featureSize
            let m = min(manifold.count / d, e.realFeatures.count / d)
            let (precision, recall) = ManifoldMetrics.precisionRecall(real: Array(e.realFeatures.prefix(m * d)),
                                                                      fake: Array(manifold.prefix(m * d)), dimension: d)
            var report = EvaluationReport(
                images: statistics.count, frechetDistance: Frechet.distance(statistics.statistics, e.realStatistics),
                classifierScore: score.score,
                classCoverage: ClassifierMetrics.coverage(histogram: histogram), classes: classes,
                classHistogramKL: ClassifierMetrics.histogramKL(histogram: histogram,
                                                                reference: ClassifierMetrics.histogram(e.realPredicted, classes: classes)),
                precision: precision, recall: recall)
            report.kernelDistance = KernelDistance.kid(real: Array(e.realFeatures.prefix(m * d)), fake: Array(manifold.prefix(m * d)), dimension: d)
            if labelled > 0 {
                report.classAccuracy = Double(correct) / Double(labelled)
                report.classAccuracies = zip(correctByClass, countByClass).map { $1 == 0 ? nil : Double($0) / Double($1) }
                if let real = e.realClassStatistics {
                    report.intraClassFrechetDistances = zip(perClass, real).map { fake, real in
                        fake.count < 2 || real.count < 2 ? nil : Frechet.distance(fake.statistics, real)
                    }
                }
                if let real = e.realClassFeatures {
                    let within = zip(manifoldByClass, real).map { fake, real -> (Double, Double)? in
                        let m = min(fake.count, real.count) / d
                        guard m > 3 else { return nil }  // more than k = 3 vectors on each side
                        return ManifoldMetrics.precisionRecall(real: Array(real.prefix(m * d)), fake: Array(fake.prefix(m * d)), dimension: d)
                    }
                    report.classPrecisions = within.map { $0?.0 }
                    report.classRecalls = within.map { $0?.1 }
                }
            }
            return report
        }
    }

    /// The floor: `count` real training images scored like generated ones (with their labels, so
    /// the class accuracy and intra-class distances of real images, when the classes are the
    /// classifier's).
    public func floor(_ train: ImageDataset, count: Int, seed: UInt64 = 1) -> EvaluationReport {
        let n = min(count, train.count)
        let indices = Array(Batcher(train, batchSize: n, seed: seed).order(epoch: 0).prefix(n))
        let labels = train.classCount == classifier.classes ? train.labels.map { l in indices.map { l[$0] } } : nil
        return evaluate(train.images(indices), labels: labels)
    }

    /// The test split that goes with a training set's path (MNIST `t10k-*`, CIFAR `test_batch.bin`,
    /// SVHN `test_32x32.mat` beside `train_32x32.mat`). The emoji set has none: it is its own
    /// reference (`train`, as few-shot GAN papers measure against the whole set).
    public static func testSplit(of path: String, train: ImageDataset? = nil) throws -> ImageDataset {
        if path == Emoji.keyword, let train { return train }
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

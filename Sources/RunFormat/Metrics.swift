import Foundation
import GANModels

/// One line of `metrics.jsonl`: a logged training step, or an evaluation.
public struct MetricsLine: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    /// Batch within the epoch (training lines).
    public var batch: Int?
    /// Losses and mean probabilities; absent when not finite or not yet computed.
    public var lossD: Float?, lossG: Float?
    public var dReal: Float?, dFake: Float?
    /// The gradient penalties' weighted part of `lossD` (last applied; absent without penalties).
    public var penalty: Float?
    /// D's reconstruction loss, the weighted part of `lossD` (FastGAN's D; absent otherwise).
    public var reconstruction: Float?
    public var imagesPerSecond: Double?
    /// Time the loop has waited for data this epoch.
    public var loaderWaitSeconds: Double?
    /// Adaptive augmentation's probability (with `ada`).
    public var augmentProbability: Double?
    /// The report of an evaluation line.
    public var evaluation: Evaluation?

    public struct Evaluation: Codable, Sendable, Equatable {
        public var frechetDistance: Double, classifierScore: Double
        /// The kernel distance (KID's formula); nil in lines written before it existed.
        public var kernelDistance: Double?
        public var classCoverage: Int, classes: Int
        public var classHistogramKL: Double, precision: Double, recall: Double
        public var images: Int
        public var modeCollapse: Bool
        /// A conditional generator's class accuracy and mean intra-class Fréchet distance.
        public var classAccuracy: Double?, intraClassFrechetDistance: Double?

        enum CodingKeys: String, CodingKey {
            case frechetDistance = "frechet_distance", classifierScore = "classifier_score", classCoverage = "class_coverage"
            case kernelDistance = "kernel_distance"
            case classes, classHistogramKL = "class_histogram_kl", precision, recall, images, modeCollapse = "mode_collapse"
            case classAccuracy = "class_accuracy", intraClassFrechetDistance = "intra_class_frechet_distance"
        }

        public init(frechetDistance: Double, classifierScore: Double, kernelDistance: Double?, classCoverage: Int, classes: Int,
                    classHistogramKL: Double, precision: Double, recall: Double, images: Int, modeCollapse: Bool,
                    classAccuracy: Double?, intraClassFrechetDistance: Double?) {
            self.frechetDistance = frechetDistance; self.classifierScore = classifierScore; self.kernelDistance = kernelDistance
            self.classCoverage = classCoverage; self.classes = classes; self.classHistogramKL = classHistogramKL
            self.precision = precision; self.recall = recall; self.images = images; self.modeCollapse = modeCollapse
            self.classAccuracy = classAccuracy; self.intraClassFrechetDistance = intraClassFrechetDistance
        }
    }

    enum CodingKeys: String, CodingKey {
        case step, epoch, batch, lossD = "loss_d", lossG = "loss_g", dReal = "d_real", dFake = "d_fake", penalty = "loss_d_penalty"
        case imagesPerSecond = "images_per_second", loaderWaitSeconds = "loader_wait_seconds", evaluation = "eval"
        case augmentProbability = "ada_p", reconstruction = "loss_d_reconstruction"
    }

    public init(step: Int, epoch: Int, batch: Int? = nil, lossD: Float? = nil, lossG: Float? = nil, dReal: Float? = nil, dFake: Float? = nil,
                penalty: Float? = nil, reconstruction: Float? = nil, imagesPerSecond: Double? = nil, loaderWaitSeconds: Double? = nil,
                augmentProbability: Double? = nil, evaluation: Evaluation? = nil) {
        self.step = step; self.epoch = epoch; self.batch = batch
        self.lossD = lossD; self.lossG = lossG; self.dReal = dReal; self.dFake = dFake
        self.penalty = penalty; self.reconstruction = reconstruction
        self.imagesPerSecond = imagesPerSecond; self.loaderWaitSeconds = loaderWaitSeconds
        self.augmentProbability = augmentProbability; self.evaluation = evaluation
    }

    /// The file's one reader: each line of `data` with its bytes and what it reads as (nil for a
    /// line that is not one, such as a last line still being written).
    public static func lines(in data: Data) -> [(bytes: Data, line: MetricsLine?)] {
        let decoder = JSONDecoder()
        return data.split(separator: UInt8(ascii: "\n")).map { bytes in
            let bytes = Data(bytes)
            return (bytes, try? decoder.decode(MetricsLine.self, from: bytes))
        }
    }

    /// The file's one writer's encoding: sorted keys, one line.
    public static func encoded(_ line: MetricsLine) -> Data {
        let encoder = JSONEncoder()
        return (try? encoder.encode(line)) ?? Data("{}".utf8)
    }
}

/// `metrics.jsonl`, open for appending: one JSON object per line.
public final class MetricsLog {
    let handle: FileHandle
    public let path: String

    init(_ path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw RunDirectoryError.unwritable(path: path, reason: "cannot open for appending") }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    /// Appends a line; a failed write (a full disk) is an error naming the file.
    public func append(_ line: MetricsLine) throws {
        do { try handle.write(contentsOf: MetricsLine.encoded(line) + Data("\n".utf8)) } catch {
            throw RunDirectoryError.unwritable(path: path, reason: Checkpoint.plainReason(error))
        }
    }

    /// Flushes the lines written so far to the disk (at each checkpoint).
    public func sync() { try? handle.synchronize() }
}


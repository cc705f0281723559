import Datasets
import DurableIO
import Foundation
import Imaging
import Tensors

/// The pictures a projection matches, read as the dataset loader reads pictures, and what it
/// writes about them: the figure of targets above reconstructions and the report of distances.
public enum ProjectionTargets {
    /// The pictures among `paths`, decoded once: files as given, folders' images (by extension) in
    /// name order. A folder's files that cannot be read are returned as skipped, with the reason; a
    /// file named directly must decode, and a path that does not exist is an error. `minSide` lets a
    /// JPEG decode at a reduced scale (as `ImageCodec.read`).
    public static func read(_ paths: [String], minSide: Int = 0)
        throws -> (files: [String], images: [Image], skipped: [(file: String, reason: String)]) {
        var files: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { throw ProjectionInputError.missing(path) }
            if isDirectory.boolValue {
                let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
                let images = names.filter { ImageFolder.extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                guard !images.isEmpty else { throw ProjectionInputError.noImages(path) }
                files += images.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        var kept: [String] = [], images: [Image] = [], skipped: [(String, String)] = []
        let direct = Set(paths)
        for file in files {
            do {
                images.append(try ImageCodec.read(file, minSide: minSide))
                kept.append(file)
            } catch {
                if direct.contains(file) { throw error }
                skipped.append((file, "\(error)"))
            }
        }
        return (kept, images, skipped)
    }

    /// The pictures of `files` as the generator draws them: [N, channels, size, size] in [-1, 1],
    /// converted as a dataset of that size reads them (transparent pixels on `background`, the
    /// centred square, resized, gray or colour as `channels`; bytes b ↦ b / 127.5 − 1).
    public static func load(_ files: [String], size: Int, channels: Int, background: UInt8) throws -> Tensor {
        let images = try files.map { try ImageCodec.read($0, minSide: size).flattened(onto: background) }
        return tensor(images, size: size, channels: channels)
    }

    /// Decoded pictures (already flattened onto a background) as `load` returns them.
    public static func tensor(_ images: [Image], size: Int, channels: Int) -> Tensor {
        let per = size * size * channels
        var values = [Float](repeating: 0, count: images.count * per)
        for (i, image) in images.enumerated() {
            let p = ImageFolder.prepared(image, size: size, channels: channels).pixels
            for ch in 0..<channels { for j in 0..<(size * size) {
                values[i * per + ch * size * size + j] = Float(p[j * channels + ch]) / 127.5 - 1
            } }
        }
        return Tensor(values, shape: [images.count, channels, size, size])
    }

    /// Targets above their reconstructions, in rows of up to `columns`: a row of targets, the row
    /// of their reconstructions under it, and so on.
    public static func figure(_ targets: Tensor, _ reconstructions: Tensor, channels: Int, size: Int,
                              columns: Int = 8, scale: Int = 1) -> Image {
        let n = targets.shape[0], per = channels * size * size
        let cols = min(columns, n), t = targets.scalars, r = reconstructions.scalars
        var values: [Float] = [], count = 0
        var first = 0
        while first < n {
            let row = min(cols, n - first)
            let blank = [Float](repeating: 1, count: (cols - row) * per)
            values += t[(first * per)..<((first + row) * per)] + blank
            values += r[(first * per)..<((first + row) * per)] + blank
            count += 2 * cols
            first += row
        }
        return Grid.make(values, count: count, channels: channels, height: size, width: size, columns: cols, padding: 2,
                         padValue: 255, scale: scale)
    }

    /// The distances of each image, as the JSON file `swiftgan project` writes.
    public static func report(_ files: [String], _ result: Projector.Result, classNames: [String]) -> ProjectionReport {
        ProjectionReport(images: files.indices.map { i in
            ProjectionReport.Entry(file: files[i], pixelError: result.pixelErrors[i], perceptualDistance: result.perceptualDistances?[i],
                                   classIndex: result.labels.map { Int($0[i]) }, className: result.labels.map { classNames[Int($0[i])] })
        })
    }
}

/// `swiftgan project`'s OUT.json: per image, its file and distances to its reconstruction.
public struct ProjectionReport: Codable, Equatable {
    public struct Entry: Codable, Equatable {
        public let file: String
        /// Mean absolute difference, in units of the full pixel range (0–1).
        public let pixelError: Double
        public let perceptualDistance: Double?
        public let classIndex: Int?, className: String?
        enum CodingKeys: String, CodingKey {
            case file, pixelError = "pixel_error", perceptualDistance = "perceptual_distance", classIndex = "class", className = "class_name"
        }
    }
    public let images: [Entry]
    /// The nearest of `count` random pictures of the generator, per image (`--baseline`).
    public struct Baseline: Codable, Equatable {
        public let count: Int
        public let pixelErrors: [Double]
        public let perceptualDistances: [Double]?
        public init(count: Int, pixelErrors: [Double], perceptualDistances: [Double]?) {
            self.count = count; self.pixelErrors = pixelErrors; self.perceptualDistances = perceptualDistances
        }
        enum CodingKeys: String, CodingKey { case count, pixelErrors = "pixel_errors", perceptualDistances = "perceptual_distances" }
    }
    public var baseline: Baseline?

    public func write(to path: String) throws {
        try DurableFile.write(JSONEncoder.readable.encode(self), to: path)
    }
}

/// Paths a projection cannot read.
public enum ProjectionInputError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case noImages(String)
    public var description: String {
        switch self {
        case .missing(let path): return "\(path): no such file or folder"
        case .noImages(let path): return "\(path): a folder with no images (.png, .jpg, .jpeg)"
        }
    }
}

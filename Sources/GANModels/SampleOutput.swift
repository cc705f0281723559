import DurableIO
import Foundation
import Imaging
import Tensors

/// Where generated images go, told from the path: a grid (`.png`), an array (`.npy`), or a
/// directory with one PNG per image (a path ending in `/`, or an existing directory).
public enum SampleOutput: Equatable, Sendable {
    case grid(String)
    case array(String)
    case directory(String)

    /// A grid's largest size in pixels: Pillow's decompression-bomb threshold, above which the
    /// common readers warn or refuse.
    public static let maximumGridPixels = 89_478_485

    /// The kind of output `path` names, or an error saying which forms are meant.
    public init(path: String) throws {
        var isDir: ObjCBool = false
        let bare = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        let exists = FileManager.default.fileExists(atPath: bare, isDirectory: &isDir)
        let lower = path.lowercased()
        if path.hasSuffix("/") || (exists && isDir.boolValue) {
            guard !exists || isDir.boolValue else { throw SampleOutputError.notADirectory(bare) }
            self = .directory(bare)
        } else if lower.hasSuffix(".png") {
            self = .grid(path)
        } else if lower.hasSuffix(".npy") {
            self = .array(path)
        } else {
            throw SampleOutputError.unknownKind(path)
        }
    }

    public var path: String {
        switch self { case .grid(let p), .array(let p), .directory(let p): return p }
    }

    /// Bytes the output of `count` images of `config` takes at most (PNG files: stored zlib
    /// blocks, filter bytes and chunks, each rounded up to a 4 KiB block).
    public func bytesNeeded(count: Int, config: ModelConfig) -> Int64 {
        let images = imageBytesNeeded(count: count, config: config)
        guard case .array = self, config.isConditional else { return images }
        let (total, overflow) = images.addingReportingOverflow(NPY.fileSize(shape: [count], dtype: .int64))
        return overflow ? .max : total
    }

    /// The labels file beside an `.npy` array of a conditional generator's images:
    /// `x.npy` → `x.labels.npy`.
    public static func labelsPath(ofArray path: String) -> String { String(path.dropLast(4)) + ".labels.npy" }

    /// A class name as a folder name: `/` (as in "T-shirt/top") becomes `-`, a leading `.` `_`.
    public static func folderName(ofClass name: String) -> String {
        var folder = name.replacingOccurrences(of: "/", with: "-").replacingOccurrences(of: "\u{0}", with: "")
        if folder.hasPrefix(".") { folder = "_" + folder.dropFirst() }
        return folder.isEmpty ? "_" : folder
    }

    func imageBytesNeeded(count: Int, config: ModelConfig) -> Int64 {
        let (h, w, c) = (Int64(config.imageSize), Int64(config.imageSize), Int64(config.channels))
        func png(_ height: Int64, _ width: Int64) -> Int64 {
            let raw = height * (width * c + 1)
            return raw + 5 * (raw / 16_383 + 1) + 12 * (raw / 8_192 + 1) + 256
        }
        switch self {
        case .array: return NPY.fileSize(shape: [count, Int(h), Int(w), Int(c)])
        case .directory:
            let (total, overflow) = Int64(count).multipliedReportingOverflow(by: (png(h, w) + 4095) / 4096 * 4096)
            return overflow ? .max : total
        case .grid: return png(h * 64, w * 64)  // bounded by `maximumGridPixels`; small
        }
    }
}

/// An output path that cannot take the images asked for.
public enum SampleOutputError: Error, Equatable, CustomStringConvertible {
    case unknownKind(String)
    case notADirectory(String)
    case gridTooLarge(path: String, count: Int, width: Int, height: Int)
    case noSpace(path: String, needed: Int64, free: Int64)

    public var description: String {
        switch self {
        case .unknownKind(let p):
            return "\(p): expected a grid (.png), an array (.npy) or a directory (an existing one, or a new one written with a trailing /: \(p)/)"
        case .notADirectory(let p): return "\(p): is a file, not a directory"
        case .gridTooLarge(let p, let n, let w, let h):
            return "\(p): a grid of \(n) images would be \(w)×\(h) pixels, more than the \(SampleOutput.maximumGridPixels) that image viewers and Pillow open; write a directory or an .npy array"
        case .noSpace(let p, let needed, let free):
            let size = needed == .max ? "more than 8 EiB" : formatBytes(needed)
            return "\(p): needs \(size) but only \(formatBytes(free)) are free on its disk"
        }
    }
}

func formatBytes(_ n: Int64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) bytes" : String(format: "%.1f %@", v, units[u])
}

extension Sampler {
    /// Writes `count` images from `seed` to `output` as they are generated: memory stays that of
    /// one batch (and of the grid, which is bounded), a count the disk cannot hold is refused
    /// before anything is written, and a failure part-way leaves no file that looks complete (the
    /// array appears only when whole; a directory's images appear one by one, each whole).
    ///
    /// A conditional generator draws the classes `classes` chooses. An array's labels go to
    /// `x.labels.npy` (int64, one per image, the class index); a directory gets one sub-folder per
    /// class (named as `SampleOutput.folderName(ofClass:)`), the layout a labelled image folder has.
    ///
    /// `latents` ([count, …]) replaces the latents of the seed.
    ///
    /// Returns the range of the values written (an array's; a grid's or directory's before their
    /// mapping to bytes), so that what is said about them is what was written.
    @discardableResult
    public func write(count: Int, seed: UInt64, to output: SampleOutput, columns: Int = 8, classes: ClassChoice = .uniform,
                      latents: Tensor? = nil) throws -> ValueRange {
        var range = ValueRange()
        let c = config
        let needed = output.bytesNeeded(count: count, config: c)
        if let free = DurableFile.freeBytes(at: output.path), needed > free {
            throw SampleOutputError.noSpace(path: output.path, needed: needed, free: free)
        }
        let (h, w, ch) = (c.imageSize, c.imageSize, c.channels)
        switch output {
        case .grid(let path):
            let scale = max(1, 64 / c.imageSize), padding = 2
            let columns = min(columns, count), rows = (count + columns - 1) / columns
            let gw = columns * (w * scale + padding) + padding, gh = rows * (h * scale + padding) + padding
            guard gw * gh <= SampleOutput.maximumGridPixels else {
                throw SampleOutputError.gridTooLarge(path: path, count: count, width: gw, height: gh)
            }
            var values: [Float] = []
            values.reserveCapacity(count * h * w * ch)
            generate(count: count, seed: seed, classes: classes, latents: latents) { images, _, _ in
                values += images.scalars
                range.add(images.scalars)
            }
            let grid = Grid.make(values, count: count, channels: ch, height: h, width: w, columns: columns,
                                 padding: padding, scale: scale)
            try ImageCodec.writePNG(grid, to: path)
        case .array(let path):
            let writer = try NPY.Writer(path: path, shape: [count, h, w, ch])
            let labelWriter = try c.isConditional ? NPY.Writer(path: SampleOutput.labelsPath(ofArray: path), shape: [count], dtype: .int64) : nil
            try generate(count: count, seed: seed, classes: classes, latents: latents) { images, labels, _ in
                if let labels { try labelWriter?.append(labels.map(Int64.init)) }
                // N×C×H×W → N×H×W×C, as image arrays are usually laid out in NumPy.
                let v = images.scalars, n = images.shape[0]
                range.add(v)
                var nhwc = [Float](repeating: 0, count: v.count)
                for i in 0..<n { for k in 0..<ch { for y in 0..<h { for x in 0..<w {
                    nhwc[((i * h + y) * w + x) * ch + k] = v[((i * ch + k) * h + y) * w + x]
                } } } }
                try writer.append(nhwc)
            }
            try labelWriter?.finish()
            try writer.finish()
        case .directory(let path):
            do { try DurableFile.createDirectory(path) } catch {
                throw ImagingError.unwritable(file: error.path, reason: error.reason)
            }
            let digits = max(5, String(count - 1).count)
            let folders = c.classNames.map { path + "/" + SampleOutput.folderName(ofClass: $0) }
            var made = Set<Int>()
            try generate(count: count, seed: seed, classes: classes, latents: latents) { images, labels, first in
                range.add(images.scalars)
                for (i, image) in toImages(images).enumerated() {
                    var folder = path
                    if let label = labels.map({ Int($0[i]) }) {
                        folder = folders[label]
                        if made.insert(label).inserted {
                            do { try DurableFile.createDirectory(folder) } catch let error as FileError {
                                throw ImagingError.unwritable(file: error.path, reason: error.reason)
                            }
                        }
                    }
                    let name = String(first + i)
                    try ImageCodec.writePNG(image, to: folder + "/" + String(repeating: "0", count: max(0, digits - name.count)) + name + ".png",
                                            sync: false)
                }
            }
            // One flush for all the files (a flush per file would cost more than the generation).
            do { try DurableFile.syncFileSystem(containing: path) } catch {
                throw ImagingError.unwritable(file: path, reason: error.reason)
            }
        }
        return range
    }
}

/// The smallest and largest of a stream of values, and how many were not finite.
public struct ValueRange: Sendable, Equatable, CustomStringConvertible {
    public private(set) var minimum = Float.infinity, maximum = -Float.infinity
    public private(set) var nonFinite = 0

    public init() {}

    public mutating func add(_ values: [Float]) {
        for v in values {
            guard v.isFinite else { nonFinite += 1; continue }
            if v < minimum { minimum = v }
            if v > maximum { maximum = v }
        }
    }

    /// "[-0.998, 1]", with the count of NaN or infinite values when there are any.
    public var description: String {
        let finite = minimum <= maximum ? "[\(Self.format(minimum)), \(Self.format(maximum))]" : "no finite values"
        return finite + (nonFinite > 0 ? " and \(nonFinite) NaN or infinite" : "")
    }

    static func format(_ v: Float) -> String { String(format: "%.4g", v) }
}

import CCodecs
import Foundation
import Imaging

/// Images in memory as one uint8 array, N×H×W×C, with optional class labels and class names.
public struct ImageDataset: Sendable {
    public let name: String
    public let count: Int, height: Int, width: Int, channels: Int
    public let pixels: [UInt8]
    /// Each image's class, an index into `classNames` (nil: the dataset is unlabelled).
    public let labels: [Int32]?
    /// The classes' names, index by index ("T-shirt/top", …, or "0", "1", … where the format has
    /// no names); nil when unlabelled.
    public let classNames: [String]?
    /// Why an unlabelled dataset has no labels, where its format could have had them (an IDX file
    /// without its labels file, a folder whose images are not all in class sub-folders).
    public let unlabelledReason: String?
    /// Files of a folder that could not be decoded (skipped), with the reason for each.
    public let skipped: [(file: String, reason: String)]

    /// Without `classNames`, labelled images get the names "0", "1", … up to their largest label.
    public init(name: String, count: Int, height: Int, width: Int, channels: Int, pixels: [UInt8],
                labels: [Int32]? = nil, classNames: [String]? = nil, unlabelledReason: String? = nil,
                skipped: [(file: String, reason: String)] = []) {
        precondition(pixels.count == count * height * width * channels,
                     "ImageDataset: \(pixels.count) bytes for \(count)×\(height)×\(width)×\(channels)")
        precondition(labels == nil || labels!.count == count, "ImageDataset: \(labels!.count) labels for \(count) images")
        let names = labels.map { l in classNames ?? (0...Int(max(l.max() ?? 0, 0))).map { String($0) } }
        precondition(labels == nil || labels!.allSatisfy { $0 >= 0 && Int($0) < names!.count },
                     "ImageDataset: a label outside 0..<\(names?.count ?? 0) (the class names)")
        self.name = name; self.count = count; self.height = height; self.width = width
        self.channels = channels; self.pixels = pixels; self.labels = labels; self.skipped = skipped
        self.classNames = names
        self.unlabelledReason = labels == nil ? unlabelledReason : nil
    }

    /// The number of classes (0 when unlabelled).
    public var classCount: Int { classNames?.count ?? 0 }

    /// The labels and class names, or a `DatasetError.unlabelled` saying why there are none.
    public func requireLabels() throws -> (labels: [Int32], classNames: [String]) {
        guard let labels, let classNames else {
            throw DatasetError.unlabelled(path: name, reason: unlabelledReason ?? "the format has no labels")
        }
        return (labels, classNames)
    }

    /// The positions of the images of each class, class by class.
    public func indicesByClass() -> [[Int]] {
        var out = [[Int]](repeating: [], count: classCount)
        for (i, l) in (labels ?? []).enumerated() { out[Int(l)].append(i) }
        return out
    }

    public var imageBytes: Int { height * width * channels }

    /// Image `i` as an `Image`.
    public func image(_ i: Int) -> Image {
        Image(width: width, height: height, channels: channels,
              pixels: Array(pixels[(i * imageBytes)..<((i + 1) * imageBytes)]))
    }

    /// The images at `indices` (and their labels), in that order, as a dataset named
    /// "NAME (N of M images)".
    public func subset(_ indices: [Int]) -> ImageDataset {
        precondition(indices.allSatisfy { $0 >= 0 && $0 < count }, "ImageDataset.subset: an index outside 0..<\(count)")
        var px = [UInt8]()
        px.reserveCapacity(indices.count * imageBytes)
        for i in indices { px += pixels[(i * imageBytes)..<((i + 1) * imageBytes)] }
        return ImageDataset(name: "\(name) (\(indices.count) of \(count) images)", count: indices.count, height: height,
                            width: width, channels: channels, pixels: px, labels: labels.map { l in indices.map { l[$0] } },
                            classNames: classNames, unlabelledReason: unlabelledReason, skipped: skipped)
    }

    /// The images followed by their mirror images (each row reversed), labels repeated: a small
    /// dataset's free doubling (StyleGAN's `--mirror`), named "NAME, mirrored".
    public func mirrored() -> ImageDataset {
        var px = pixels
        px.reserveCapacity(2 * pixels.count)
        let row = width * channels
        pixels.withUnsafeBufferPointer { src in
            for r in 0..<(count * height) {
                let start = r * row
                for x in stride(from: width - 1, through: 0, by: -1) {
                    px.append(contentsOf: src[(start + x * channels)..<(start + (x + 1) * channels)])
                }
            }
        }
        return ImageDataset(name: "\(name), mirrored", count: 2 * count, height: height, width: width, channels: channels, pixels: px,
                            labels: labels.map { $0 + $0 }, classNames: classNames, unlabelledReason: unlabelledReason, skipped: skipped)
    }

    /// How many images carry each label (empty without labels).
    public func labelHistogram() -> [Int32: Int] {
        Dictionary(grouping: labels ?? [], by: { $0 }).mapValues(\.count)
    }
}

/// A failure loading a dataset: one line naming the file and what was expected.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case unreadable(file: String, reason: String)
    case emptyFile(file: String)
    case badMagic(file: String, format: String, found: String)
    case sizeMismatch(file: String, expected: Int, actual: Int)
    case unsupported(file: String, reason: String)
    case missingVariable(file: String, name: String)
    case emptyFolder(path: String)
    case noDecodableImages(path: String, failed: Int, examples: [String])
    case tooManyFailures(path: String, failed: Int, total: Int, examples: [String])
    case countMismatch(images: String, labels: String, imageCount: Int, labelCount: Int)
    case unknownFormat(path: String)
    /// A label outside the classes of the format or of its class-name list.
    case labelOutOfRange(file: String, index: Int, label: Int, classes: Int)
    /// A class list that does not fit (a names file with another count, duplicate names).
    case badClassNames(file: String, reason: String)
    /// The dataset has no labels, and something needs them.
    case unlabelled(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no such file or folder"
        case .unreadable(let f, let r): return "\(f): cannot read: \(r)"
        case .emptyFile(let f): return "\(f): the file is empty"
        case .badMagic(let f, let fmt, let found): return "\(f): not \(fmt) (found \(found))"
        case .sizeMismatch(let f, let e, let a): return "\(f): expected \(e) bytes from its header, found \(a)"
        case .unsupported(let f, let r): return "\(f): \(r)"
        case .missingVariable(let f, let n): return "\(f): no variable '\(n)' in the MAT-file"
        case .emptyFolder(let p): return "\(p): the folder has no PNG or JPEG images"
        case .noDecodableImages(let p, let n, let ex):
            return "\(p): none of its \(n) images could be decoded (e.g. \(ex.joined(separator: "; ")))"
        case .tooManyFailures(let p, let n, let t, let ex):
            return "\(p): \(n) of \(t) images could not be decoded (e.g. \(ex.joined(separator: "; ")))"
        case .countMismatch(let i, let l, let ni, let nl):
            return "\(l): \(nl) labels for the \(ni) images of \(i)"
        case .unknownFormat(let p):
            return "\(p): not a dataset SwiftGAN knows (IDX, SVHN .mat, CIFAR-10 .bin, or a folder of PNG/JPEG images)"
        case .labelOutOfRange(let f, let i, let l, let k):
            return "\(f): label \(i) is \(l); expected a class from 0 to \(k - 1)"
        case .badClassNames(let f, let r): return "\(f): \(r)"
        case .unlabelled(let p, let r): return "\(p): no class labels: \(r)"
        }
    }
}

/// The whole file, gunzipped if it is gzip-compressed.
func readFile(_ path: String, gunzip: Bool = true) throws -> [UInt8] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw DatasetError.notFound(path: path) }
    guard !isDir.boolValue else { throw DatasetError.unreadable(file: path, reason: "is a folder, expected a file") }
    if !gunzip {
        do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw DatasetError.unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
    }
    var out: UnsafeMutablePointer<UInt8>?
    var length = 0
    var buffer = [CChar](repeating: 0, count: 256)
    let status = buffer.withUnsafeMutableBufferPointer { sg_read_maybe_gzip(path, &out, &length, $0.baseAddress, $0.count) }
    guard status == 0 else { throw DatasetError.unreadable(file: path, reason: String(cString: buffer)) }
    defer { sg_free(out) }
    return Array(UnsafeBufferPointer(start: out, count: length))
}

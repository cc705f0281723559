import Foundation

/// Which half of a dataset with a train/test split.
public enum Split: String, Sendable, CaseIterable { case train, test }

/// Opens any dataset SwiftGAN knows, telling the format from the path itself.
///
/// - A folder with `train-images-idx3-ubyte[.gz]` (MNIST, Fashion-MNIST): IDX with labels.
/// - A folder with `data_batch_*.bin` / `test_batch.bin`: CIFAR-10.
/// - A `.mat` file: SVHN format 2.
/// - A `.bin` file: one CIFAR-10 batch.
/// - Any other file starting with an IDX magic number: IDX images (labels beside it if found).
/// - Any other folder: a folder of PNG/JPEG images (needs `imageSize`).
/// - `emoji` (the word, not a path): the built-in colour set, `Emoji` (needs `imageSize`).
public enum DatasetLoader {
    /// Fashion-MNIST from Debian's `dataset-fashion-mnist` package.
    public static let defaultPath = "/usr/share/datasets/fashion-mnist"

    /// What kind of dataset `path` holds, told from the path and its folder listing alone (the
    /// files are not read; `load` checks them).
    public static func format(of path: String, split: Split = .train) throws -> DatasetFormat {
        if path == Emoji.keyword { return .emoji }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw DatasetError.notFound(path: path) }
        if isDir.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            let prefix = split == .train ? "train" : "t10k"
            if let images = names.first(where: { $0 == "\(prefix)-images-idx3-ubyte" || $0 == "\(prefix)-images-idx3-ubyte.gz" }) {
                let labels = names.first { $0 == "\(prefix)-labels-idx1-ubyte" || $0 == "\(prefix)-labels-idx1-ubyte.gz" }
                return .idx(images: path + "/" + images, labels: labels.map { path + "/" + $0 })
            }
            let batches = names.filter { split == .train ? $0.hasPrefix("data_batch_") && $0.hasSuffix(".bin") : $0 == "test_batch.bin" }.sorted()
            if !batches.isEmpty { return .cifar(batches.map { path + "/" + $0 }) }
            return .imageFolder
        }
        let lower = path.lowercased()
        if lower.hasSuffix(".mat") { return .svhn }
        if lower.hasSuffix(".bin") { return .cifar([path]) }
        // An IDX file: labels beside it by the MNIST naming convention, when present.
        var labels: String?
        if path.contains("images-idx3") {
            for candidate in [path.replacingOccurrences(of: "images-idx3", with: "labels-idx1")]
            where candidate != path && FileManager.default.fileExists(atPath: candidate) { labels = candidate }
        }
        return .idx(images: path, labels: labels)
    }

    /// `background` is the grey level transparent pixels are composited over, `skinTones` whether
    /// the emoji set keeps its skin-tone variants (resizable formats only).
    public static func load(_ path: String, split: Split = .train, imageSize: Int? = nil, channels: Int? = nil,
                            background: UInt8 = 255, skinTones: Bool = false,
                            cacheDirectory: String? = ImageFolder.defaultCacheDirectory,
                            log: (String) -> Void = { _ in }) throws -> ImageDataset {
        switch try format(of: path, split: split) {
        case .idx(let images, let labels):
            if images == path {
                let head = try readFile(path).prefix(4)
                guard head.count == 4, head[head.startIndex] == 0, head[head.startIndex + 1] == 0 else {
                    if head.isEmpty { throw DatasetError.emptyFile(file: path) }
                    throw DatasetError.unknownFormat(path: path)
                }
                return try IDX.dataset(images: path, labels: labels, name: path)
            }
            return try IDX.dataset(images: images, labels: labels, name: "\(path) (\(split.rawValue))")
        case .cifar(let files):
            return try CIFAR.dataset(files: files, name: files == [path] ? path : "\(path) (\(split.rawValue))")
        case .svhn:
            return try SVHN.dataset(path, name: path)
        case .imageFolder:
            guard let imageSize else {
                throw DatasetError.unsupported(file: path, reason: "a folder of images needs an image size")
            }
            return try ImageFolder.load(path, size: imageSize, channels: channels ?? 3, background: background,
                                        cacheDirectory: cacheDirectory, log: log)
        case .emoji:
            guard let imageSize else { throw DatasetError.unsupported(file: path, reason: "the emoji set needs an image size") }
            return try Emoji.load(size: imageSize, channels: channels ?? 3, skinTones: skinTones, background: background,
                                  cacheDirectory: cacheDirectory, log: log)
        }
    }
}

/// What transparent pixels of photos and emoji are composited over.
public enum Background: String, Sendable, CaseIterable, Codable {
    case white, black
    /// The grey level.
    public var level: UInt8 { self == .white ? 255 : 0 }
}

/// The kinds of dataset `DatasetLoader` reads.
public enum DatasetFormat: Equatable, Sendable {
    /// IDX images (MNIST, Fashion-MNIST), with the labels file when there is one.
    case idx(images: String, labels: String?)
    /// CIFAR-10 binary batches.
    case cifar([String])
    /// An SVHN format-2 `.mat` file.
    case svhn
    /// A folder of PNG/JPEG/GIF photos, resized to the size asked for.
    case imageFolder
    /// The built-in emoji set (`Emoji`), drawn at the size asked for.
    case emoji

    /// Whether its images can be resized and converted (photo folders and the emoji set; the
    /// others keep their own size and channels).
    public var isResizable: Bool { self == .imageFolder || self == .emoji }

    /// The format's name for messages.
    public var name: String {
        switch self {
        case .idx: return "an IDX dataset"
        case .cifar: return "a CIFAR-10 dataset"
        case .svhn: return "an SVHN .mat file"
        case .imageFolder: return "a folder of photos"
        case .emoji: return "the emoji set"
        }
    }
}

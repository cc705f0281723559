import Imaging

/// The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (0, 0, type, rank), big-endian u32
/// dimensions, then the data. Gzipped files are read transparently.
public enum IDX {
    /// The dimensions and bytes of an unsigned-byte IDX file (type 0x08).
    public static func read(_ path: String) throws -> (dims: [Int], bytes: [UInt8]) {
        let data = try readFile(path)
        guard !data.isEmpty else { throw DatasetError.emptyFile(file: path) }
        guard data.count >= 4, data[0] == 0, data[1] == 0 else {
            throw DatasetError.badMagic(file: path, format: "an IDX file", found: hex(data.prefix(4)))
        }
        guard data[2] == 0x08 else {
            throw DatasetError.unsupported(file: path, reason: "IDX element type 0x\(String(data[2], radix: 16)) is not supported; expected unsigned bytes (0x08)")
        }
        let rank = Int(data[3])
        guard rank >= 1, data.count >= 4 + 4 * rank else {
            throw DatasetError.sizeMismatch(file: path, expected: 4 + 4 * max(rank, 1), actual: data.count)
        }
        let dims = (0..<rank).map { i in
            (0..<4).reduce(0) { $0 << 8 | Int(data[4 + 4 * i + $1]) }
        }
        // The product of up to 255 32-bit dimensions can overflow: any that exceeds the file is wrong.
        let header = 4 + 4 * rank
        guard let elements = elementCount(dims, atMost: data.count) else {
            throw DatasetError.unsupported(file: path, reason: "IDX dimensions \(dims) hold more values than the file's \(data.count) bytes")
        }
        let expected = header + elements
        guard data.count == expected else { throw DatasetError.sizeMismatch(file: path, expected: expected, actual: data.count) }
        return (dims, Array(data[header...]))
    }

    /// Images (rank 3: N×H×W, or rank 4: N×H×W×C) with labels (rank 1) from a second file, if given.
    public static func dataset(images: String, labels: String?, name: String) throws -> ImageDataset {
        let (dims, bytes) = try read(images)
        guard dims.count == 3 || dims.count == 4 else {
            throw DatasetError.unsupported(file: images, reason: "IDX images need 3 or 4 dimensions, found \(dims)")
        }
        guard dims.allSatisfy({ $0 > 0 }) else {
            throw DatasetError.unsupported(file: images, reason: "IDX images need every dimension positive, found \(dims)")
        }
        if dims.count == 4, dims[3] != 1 && dims[3] != 3 {
            throw DatasetError.unsupported(file: images, reason: "IDX images need 1 or 3 channels, found \(dims[3])")
        }
        var labelValues: [Int32]?, names: [String]?
        if let labels {
            let (ldims, lbytes) = try read(labels)
            guard ldims.count == 1 else {
                throw DatasetError.unsupported(file: labels, reason: "IDX labels need 1 dimension, found \(ldims)")
            }
            guard ldims[0] == dims[0] else {
                throw DatasetError.countMismatch(images: images, labels: labels, imageCount: dims[0], labelCount: ldims[0])
            }
            // (Fashion-)MNIST has ten classes; any other IDX labels name classes 0 to their largest.
            names = isFashionMNIST(images) ? fashionMNISTClasses : isMNIST(images) ? (0..<10).map { String($0) } : nil
            if let names, let bad = lbytes.firstIndex(where: { Int($0) >= names.count }) {
                throw DatasetError.labelOutOfRange(file: labels, index: bad, label: Int(lbytes[bad]), classes: names.count)
            }
            labelValues = lbytes.map { Int32($0) }
        }
        let expected = images.contains("images-idx3") ? images.replacingOccurrences(of: "images-idx3", with: "labels-idx1") : nil
        return ImageDataset(name: name, count: dims[0], height: dims[1], width: dims[2],
                            channels: dims.count == 4 ? dims[3] : 1, pixels: bytes, labels: labelValues, classNames: names,
                            unlabelledReason: "no labels file beside \(images)" + (expected.map { " (expected \($0)[.gz])" } ?? ""))
    }

    /// Fashion-MNIST's classes, label by label (Xiao et al., 2017).
    public static let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Whether an IDX file is Fashion-MNIST's, told by its path (Debian's `fashion-mnist`,
    /// torchvision's `FashionMNIST/raw`, Zalando's `fashion-mnist/data/fashion`).
    static func isFashionMNIST(_ path: String) -> Bool { path.lowercased().contains("fashion") }

    /// Whether an IDX file is MNIST's digits (the path names MNIST, and not Fashion-MNIST).
    static func isMNIST(_ path: String) -> Bool { path.lowercased().contains("mnist") && !isFashionMNIST(path) }
}

func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    bytes.map { String(format2: $0) }.joined(separator: " ")
}

extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

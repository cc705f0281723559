import Foundation

/// CIFAR-10's binary batches: records of one label byte and 3 072 pixel bytes (the red, green and
/// blue 32×32 planes, row-major).
public enum CIFAR {
    public static let recordSize = 1 + 3 * 32 * 32

    /// CIFAR-10's classes, label by label, as its `batches.meta.txt` lists them.
    public static let classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    /// The class names of the batches in `folder`: `batches.meta.txt` there (one name a line), or
    /// CIFAR-10's when the file is absent.
    public static func classNames(in folder: String) throws -> [String] {
        let file = folder + "/batches.meta.txt"
        guard FileManager.default.fileExists(atPath: file) else { return classes }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw DatasetError.unreadable(file: file, reason: "not UTF-8 text")
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == 10 else {
            throw DatasetError.badClassNames(file: file, reason: "expected the 10 CIFAR-10 class names, one a line, found \(names.count)")
        }
        guard Set(names).count == names.count else {
            throw DatasetError.badClassNames(file: file, reason: "a class name appears twice")
        }
        return names
    }

    public static func dataset(files: [String], name: String) throws -> ImageDataset {
        let names = try classNames(in: (files.first.map { ($0 as NSString).deletingLastPathComponent } ?? ".").nonEmptyPath)
        var pixels: [UInt8] = [], labels: [Int32] = []
        for file in files {
            let data = try readFile(file, gunzip: false)
            guard !data.isEmpty else { throw DatasetError.emptyFile(file: file) }
            guard data.count % recordSize == 0 else {
                throw DatasetError.unsupported(file: file, reason: "\(data.count) bytes is not a whole number of CIFAR-10 records (\(recordSize) bytes each)")
            }
            let n = data.count / recordSize
            pixels.reserveCapacity(pixels.count + n * 3072)
            for r in 0..<n {
                let base = r * recordSize
                guard data[base] < 10 else {
                    throw DatasetError.labelOutOfRange(file: file, index: r, label: Int(data[base]), classes: 10)
                }
                labels.append(Int32(data[base]))
                for p in 0..<1024 { for c in 0..<3 { pixels.append(data[base + 1 + c * 1024 + p]) } }
            }
        }
        return ImageDataset(name: name, count: labels.count, height: 32, width: 32, channels: 3, pixels: pixels, labels: labels,
                            classNames: names)
    }
}

extension String {
    /// "." for an empty path (a file named without a folder).
    var nonEmptyPath: String { isEmpty ? "." : self }
}

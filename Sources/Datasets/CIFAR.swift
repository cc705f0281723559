/// CIFAR-10's binary batches: records of one label byte and 3 072 pixel bytes (the red, green and
/// blue 32×32 planes, row-major).
public enum CIFAR {
    public static let recordSize = 1 + 3 * 32 * 32

    public static func dataset(files: [String], name: String) throws -> ImageDataset {
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
                    throw DatasetError.unsupported(file: file, reason: "record \(r) has label \(data[base]); CIFAR-10 labels are 0–9")
                }
                labels.append(Int32(data[base]))
                for p in 0..<1024 { for c in 0..<3 { pixels.append(data[base + 1 + c * 1024 + p]) } }
            }
        }
        return ImageDataset(name: name, count: labels.count, height: 32, width: 32, channels: 3, pixels: pixels, labels: labels)
    }
}

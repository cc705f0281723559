import Foundation
import Testing
@testable import Datasets

@Suite(.serialized) struct IDXTests {
    static func idx(_ dims: [Int], _ data: [UInt8]) -> [UInt8] { [0, 0, 8, UInt8(dims.count)] + dims.flatMap(bigEndian32) + data }

    @Test func readsRawAndGzippedFilesWithLabels() throws {
        let dir = scratch("idx")
        let pixels = (0..<(3 * 4 * 5)).map { UInt8($0 * 4 % 256) }
        write(Self.idx([3, 4, 5], pixels), dir + "/train-images-idx3-ubyte")
        write(Self.idx([3], [7, 0, 9]), dir + "/train-labels-idx1-ubyte")
        // The same files gzipped by an independent tool.
        try python("import gzip, shutil, sys\nfor p in sys.argv[1:]:\n    shutil.copyfileobj(open(p, 'rb'), gzip.open(p + '.gz', 'wb'))",
                   [dir + "/train-images-idx3-ubyte", dir + "/train-labels-idx1-ubyte"])
        for suffix in ["", ".gz"] {
            let d = try IDX.dataset(images: dir + "/train-images-idx3-ubyte" + suffix, labels: dir + "/train-labels-idx1-ubyte" + suffix, name: "t")
            #expect(d.count == 3 && d.height == 4 && d.width == 5 && d.channels == 1)
            #expect(d.pixels == pixels)
            #expect(d.labels == [7, 0, 9])
        }
        let loaded = try DatasetLoader.load(dir)
        #expect(loaded.count == 3 && loaded.labels == [7, 0, 9])
    }

    @Test func badFilesNameTheFileAndTheProblem() throws {
        let dir = scratch("idx-bad")
        let magic = dir + "/magic", short = dir + "/short", empty = dir + "/empty", type = dir + "/type"
        write([0x50, 0x4B, 3, 4, 0, 0, 0, 0], magic)
        write(Self.idx([2, 3, 3], [UInt8](repeating: 1, count: 17)), short)
        write([], empty)
        write([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0], type)
        #expect(throws: DatasetError.badMagic(file: magic, format: "an IDX file", found: "50 4b 03 04")) { try IDX.read(magic) }
        #expect(throws: DatasetError.sizeMismatch(file: short, expected: 34, actual: 33)) { try IDX.read(short) }
        #expect(throws: DatasetError.emptyFile(file: empty)) { try IDX.read(empty) }
        #expect { try IDX.read(type) } throws: { "\($0)".contains("IDX element type 0xd is not supported") }
        #expect(throws: DatasetError.notFound(path: dir + "/nope")) { try IDX.read(dir + "/nope") }
        write(Self.idx([2, 2, 2], [UInt8](repeating: 0, count: 8)), dir + "/i")
        write(Self.idx([3], [1, 2, 3]), dir + "/l")
        #expect(throws: DatasetError.countMismatch(images: dir + "/i", labels: dir + "/l", imageCount: 2, labelCount: 3)) {
            try IDX.dataset(images: dir + "/i", labels: dir + "/l", name: "x")
        }
        // A gzip stream cut in half.
        try python("import gzip, sys\nd = gzip.compress(bytes(range(256)) * 100)\nopen(sys.argv[1], 'wb').write(d[: len(d) // 2])", [dir + "/cut.gz"])
        #expect { try IDX.read(dir + "/cut.gz") } throws: { "\($0)".hasPrefix(dir + "/cut.gz: cannot read: corrupt gzip data") }
        #expect("\(DatasetError.sizeMismatch(file: short, expected: 34, actual: 33))" == "\(short): expected 34 bytes from its header, found 33")
    }

    @Test func realFashionMNIST() throws {
        let train = try DatasetLoader.load(DatasetLoader.defaultPath)
        #expect(train.count == 60_000 && train.height == 28 && train.width == 28 && train.channels == 1)
        let histogram = train.labelHistogram()
        #expect(histogram.count == 10 && histogram.values.allSatisfy { $0 == 6_000 })
        let test = try DatasetLoader.load(DatasetLoader.defaultPath, split: .test)
        #expect(test.count == 10_000 && test.labelHistogram().values.allSatisfy { $0 == 1_000 })
    }
}

@Suite struct CIFARTests {
    @Test func recordsMapPlanesToInterleavedPixels() throws {
        let dir = scratch("cifar")
        var bytes: [UInt8] = []
        for r in 0..<3 {
            bytes.append(UInt8(r * 3))
            for c in 0..<3 { for p in 0..<1024 { bytes.append(UInt8((p + 50 * c + r) % 256)) } }
        }
        write(bytes, dir + "/data_batch_1.bin")
        write(Array(bytes.prefix(3073)), dir + "/data_batch_2.bin")
        let d = try DatasetLoader.load(dir)
        #expect(d.count == 4 && d.channels == 3 && d.height == 32 && d.labels == [0, 3, 6, 0])
        let expected: Int = (2 * 32 + 5 + 100 + 1) % 256
        #expect(Int(d.image(1)[5, 2, 2]) == expected)
        write(Array(bytes.prefix(3000)), dir + "/bad.bin")
        #expect { try DatasetLoader.load(dir + "/bad.bin") } throws: {
            "\($0)" == "\(dir)/bad.bin: 3000 bytes is not a whole number of CIFAR-10 records (3073 bytes each)"
        }
    }
}

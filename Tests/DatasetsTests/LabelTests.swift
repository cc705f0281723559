import Foundation
import Imaging
import Testing
@testable import Datasets

/// Labels and class names in every format, and every way they can be missing or wrong.
@Suite(.serialized) struct LabelTests {
    static func idx(_ dir: String, count: Int = 6, labels: [UInt8]?, labelCount: Int? = nil, gzip: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let images: [UInt8] = [0, 0, 8, 3] + bigEndian32(count) + bigEndian32(2) + bigEndian32(2) + [UInt8](repeating: 7, count: count * 4)
        write(images, dir + "/train-images-idx3-ubyte")
        if let labels {
            write([0, 0, 8, 1] + bigEndian32(labelCount ?? labels.count) + labels, dir + "/train-labels-idx1-ubyte")
            if gzip {
                try python("import gzip, shutil, sys, os\np = sys.argv[1]\nshutil.copyfileobj(open(p, 'rb'), gzip.open(p + '.gz', 'wb'))\nos.remove(p)",
                           [dir + "/train-labels-idx1-ubyte"])
            }
        }
    }

    @Test func fashionMNISTIsNamedAndItsLabelsChecked() throws {
        let dir = scratch("labels") + "/fashion-mnist"
        try Self.idx(dir, labels: [0, 7, 9, 7, 1, 3], gzip: true)
        let d = try DatasetLoader.load(dir)
        #expect(d.labels == [0, 7, 9, 7, 1, 3])
        #expect(d.classNames == IDX.fashionMNISTClasses && d.classNames?[7] == "Sneaker")
        #expect(d.indicesByClass()[7] == [1, 3])
        // A label past Fashion-MNIST's ten classes names the file, the position and the range.
        try Self.idx(dir, labels: [0, 7, 12, 7, 1, 3])
        #expect(throws: DatasetError.labelOutOfRange(file: dir + "/train-labels-idx1-ubyte", index: 2, label: 12, classes: 10)) {
            try DatasetLoader.load(dir)
        }
        #expect("\(DatasetError.labelOutOfRange(file: "f", index: 2, label: 12, classes: 10))" == "f: label 2 is 12; expected a class from 0 to 9")
    }

    @Test func otherIDXLabelsAreNumberedClassesAndCountsMustMatch() throws {
        let dir = scratch("labels-idx") + "/digits"
        try Self.idx(dir, labels: [3, 0, 2, 2, 0, 3])
        let d = try DatasetLoader.load(dir)
        #expect(d.classNames == ["0", "1", "2", "3"] && d.classCount == 4)
        // Another count than the images: both files named.
        try Self.idx(dir, labels: [3, 0, 2, 2, 0])
        #expect(throws: DatasetError.countMismatch(images: dir + "/train-images-idx3-ubyte", labels: dir + "/train-labels-idx1-ubyte",
                                                   imageCount: 6, labelCount: 5)) { try DatasetLoader.load(dir) }
        // No labels file: loads unlabelled, and what needs labels says which file was expected.
        let bare = scratch("labels-bare") + "/imgs"
        try Self.idx(bare, labels: nil)
        let unlabelled = try DatasetLoader.load(bare)
        #expect(unlabelled.labels == nil && unlabelled.classNames == nil)
        #expect { try unlabelled.requireLabels() } throws: {
            "\($0)" == "\(bare) (train): no class labels: no labels file beside \(bare)/train-images-idx3-ubyte (expected \(bare)/train-labels-idx1-ubyte[.gz])"
        }
    }

    @Test func cifarNamesComeFromBatchesMetaTxt() throws {
        let dir = scratch("labels-cifar")
        var record = [UInt8](repeating: 0, count: 3073)
        var batch: [UInt8] = []
        for label: UInt8 in [3, 9, 0] { record[0] = label; batch += record }
        write(batch, dir + "/data_batch_1.bin")
        // Without the names file: CIFAR-10's names.
        var d = try DatasetLoader.load(dir)
        #expect(d.labels == [3, 9, 0] && d.classNames?[3] == "cat" && d.classNames?[9] == "truck")
        try "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n".write(toFile: dir + "/batches.meta.txt", atomically: true, encoding: .utf8)
        d = try DatasetLoader.load(dir)
        #expect(d.classNames == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
        try "cat\ndog\n".write(toFile: dir + "/batches.meta.txt", atomically: true, encoding: .utf8)
        #expect(throws: DatasetError.badClassNames(file: dir + "/batches.meta.txt", reason: "expected the 10 CIFAR-10 class names, one a line, found 2")) {
            try DatasetLoader.load(dir)
        }
        try FileManager.default.removeItem(atPath: dir + "/batches.meta.txt")
        record[0] = 10
        write(batch + record, dir + "/data_batch_1.bin")
        #expect(throws: DatasetError.labelOutOfRange(file: dir + "/data_batch_1.bin", index: 3, label: 10, classes: 10)) { try DatasetLoader.load(dir) }
    }

    @Test func svhnClassesAreTheDigits() throws {
        let dir = scratch("labels-svhn")
        try python(MATTests.writer, [dir + "/train_32x32.mat", "0"])
        let d = try DatasetLoader.load(dir + "/train_32x32.mat")
        #expect(d.labels == [1, 0, 3, 0, 7] && d.classNames == (0..<10).map { String($0) })
        try python("import sys, numpy as np, scipy.io\nscipy.io.savemat(sys.argv[1], {'X': np.zeros((4, 4, 3, 2), np.uint8), 'y': np.array([[1], [11]])})",
                   [dir + "/bad.mat"])
        #expect { try DatasetLoader.load(dir + "/bad.mat") } throws: { "\($0)" == "\(dir)/bad.mat: label 1 of 'y' is 11.0; expected a digit label 1–10" }
    }

    /// Sub-folders are classes (sorted, as torchvision's ImageFolder); deeper folders belong to
    /// their top-level class; an undecodable file drops out without shifting the others' labels,
    /// from the cache too.
    @Test func folderClassesAreItsSubFolders() throws {
        let dir = scratch("labels-folder"), cache = scratch("labels-folder-cache")
        try python("""
        import sys, os, numpy as np
        from PIL import Image
        d = sys.argv[1]
        for sub in ['dogs/puppies', 'cats']: os.makedirs(d + '/' + sub, exist_ok=True)
        def img(path, v): Image.fromarray(np.full((8, 8, 3), v, np.uint8)).save(d + '/' + path)
        img('cats/a.png', 10); img('cats/b.png', 20); img('dogs/c.png', 200); img('dogs/puppies/d.png', 220)
        open(d + '/cats/broken.png', 'wb').write(b'not a png')
        """, [dir])
        for _ in 0..<2 {  // decoded, then from the cache
            let d = try DatasetLoader.load(dir, imageSize: 8, cacheDirectory: cache)
            #expect(d.classNames == ["cats", "dogs"])
            #expect(d.count == 4 && d.labels == [0, 0, 1, 1])
            #expect((0..<4).map { d.image($0).pixels[0] } == [10, 20, 200, 220])
            #expect(d.skipped.map(\.file) == ["cats/broken.png"])
        }
    }

    @Test func imagesBesideClassFoldersAreNamedAndLeaveTheFolderUnlabelled() throws {
        let dir = scratch("labels-mixed")
        try python("""
        import sys, os, numpy as np
        from PIL import Image
        d = sys.argv[1]
        os.makedirs(d + '/cats', exist_ok=True)
        for p in ['cats/a.png', 'stray.png', 'zebra.png']: Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d + '/' + p)
        """, [dir])
        let d = try DatasetLoader.load(dir, imageSize: 8, cacheDirectory: nil)
        #expect(d.count == 3 && d.labels == nil)
        #expect { try d.requireLabels() } throws: {
            "\($0)" == "\(dir): no class labels: 2 images at the top level (stray.png, zebra.png) beside the class sub-folders cats/: move each into its class's folder, or remove it"
        }
        let flat = scratch("labels-flat")
        try python("import sys, numpy as np\nfrom PIL import Image\nImage.fromarray(np.zeros((8, 8), np.uint8)).save(sys.argv[1] + '/x.png')", [flat])
        #expect { try DatasetLoader.load(flat, imageSize: 8, cacheDirectory: nil).requireLabels() } throws: {
            "\($0)".hasSuffix("no class labels: its images are not sorted into class sub-folders (one folder per class)")
        }
    }

    @Test func subsetsKeepTheClasses() {
        let d = ImageDataset(name: "d", count: 3, height: 1, width: 1, channels: 1, pixels: [1, 2, 3], labels: [2, 0, 2],
                             classNames: ["x", "y", "z"])
        let s = d.subset([2, 1])
        #expect(s.labels == [2, 0] && s.classNames == ["x", "y", "z"])
    }
}

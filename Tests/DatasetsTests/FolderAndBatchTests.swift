import Foundation
import Testing
@testable import Datasets
import Imaging
import Tensors

@Suite(.serialized) struct ImageFolderTests {
    /// A folder of cats: PNG and JPEG in nested folders, portrait and landscape, gray and RGBA,
    /// one corrupt file and one empty one.
    static func makeFolder(_ dir: String) throws {
        try python("""
        import sys, os, numpy as np
        from PIL import Image
        d = sys.argv[1]
        os.makedirs(d + '/sub/deeper', exist_ok=True)
        y, x = np.mgrid[0:90, 0:120]
        rgb = np.dstack([x * 2, y * 2, (x + y)]).astype(np.uint8)
        Image.fromarray(rgb).save(d + '/a.jpg', quality=95)
        Image.fromarray(rgb.transpose(1, 0, 2).copy()).save(d + '/sub/b.png')
        Image.fromarray(rgb[:, :, 0]).save(d + '/sub/deeper/c.PNG')
        Image.fromarray(np.dstack([rgb, rgb[:, :, :1]])).save(d + '/sub/d.png')
        open(d + '/broken.jpg', 'wb').write(b'\\xff\\xd8\\xff\\xe0 not really a jpeg')
        open(d + '/empty.png', 'wb').close()
        open(d + '/notes.txt', 'w').write('ignored')
        """, [dir])
    }

    @Test func loadsCropsResizesSkipsAndCaches() throws {
        let dir = scratch("folder"), cache = scratch("folder-cache")
        try Self.makeFolder(dir)
        var logs: [String] = []
        let d = try DatasetLoader.load(dir, imageSize: 16, cacheDirectory: cache) { logs.append($0) }
        #expect(d.count == 4 && d.height == 16 && d.width == 16 && d.channels == 3)
        #expect(d.skipped.map(\.file).sorted() == ["broken.jpg", "empty.png"])
        #expect(d.skipped.contains { $0.reason.hasSuffix("empty.png: the file is empty") })
        // Sorted order: a.jpg, sub/b.png, sub/d.png, sub/deeper/c.PNG. The gray one became RGB.
        let gray = d.image(3)
        #expect((0..<16).allSatisfy { gray[$0, 5, 0] == gray[$0, 5, 1] && gray[$0, 5, 1] == gray[$0, 5, 2] })
        // Centre crop then area resize, the same function applied to the decoded file.
        let expected = try ImageCodec.read(dir + "/sub/b.png").centerCroppedSquare().resized(width: 16, height: 16)
        #expect(d.image(1) == expected)

        let cached = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".u8") }
        #expect(cached.count == 1)
        logs = []
        let again = try DatasetLoader.load(dir, imageSize: 16, cacheDirectory: cache) { logs.append($0) }
        #expect(logs.contains { $0.contains("from the cache") })
        #expect(again.pixels == d.pixels && again.skipped.count == 2)
        // A change to the folder makes a new cache entry.
        try FileManager.default.copyItem(atPath: dir + "/a.jpg", toPath: dir + "/sub/e.jpg")
        logs = []
        let changed = try DatasetLoader.load(dir, imageSize: 16, cacheDirectory: cache) { logs.append($0) }
        #expect(changed.count == 5 && !logs.contains { $0.contains("from the cache") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".u8") }.count == 2)
        // Another size is another dataset.
        #expect(try DatasetLoader.load(dir, imageSize: 8, channels: 1, cacheDirectory: nil).channels == 1)
    }

    /// Two converters of one folder: the second waits for the first's lock, then takes the cache
    /// the first made instead of decoding the photos again.
    @Test func aSecondConverterWaitsForTheFirstsCache() throws {
        let dir = scratch("folder-lock"), reference = scratch("folder-lock-reference"), cache = scratch("folder-lock-cache")
        try Self.makeFolder(dir)
        let expected = try DatasetLoader.load(dir, imageSize: 16, cacheDirectory: reference)
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: reference).first { $0.hasSuffix(".u8") })
        // This test holds the lock, as a first converter would.
        var holder: CacheLock? = try #require(CacheLock(cache + "/" + name + ".lock", waiting: {}))
        final class Logs: @unchecked Sendable { var lines: [String] = []; let lock = NSLock()
            func add(_ s: String) { lock.withLock { lines.append(s) } }
            func has(_ s: String) -> Bool { lock.withLock { lines.contains { $0.contains(s) } } } }
        let logs = Logs(), done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var loaded: ImageDataset?
        Thread.detachNewThread {
            loaded = try? DatasetLoader.load(dir, imageSize: 16, cacheDirectory: cache) { logs.add($0) }
            done.signal()
        }
        let deadline = Date().addingTimeInterval(60)
        while !logs.has("waiting for another process converting it") && Date() < deadline { usleep(10_000) }
        #expect(logs.has("waiting for another process converting it"))
        // The "first converter" finishes: its cache appears, then the lock is released.
        try FileManager.default.copyItem(atPath: reference + "/" + name, toPath: cache + "/" + name)
        holder = nil
        _ = holder
        #expect(done.wait(timeout: .now() + 60) == .success, "the second converter did not finish")
        #expect(logs.has("made meanwhile by another process"), "\(logs.lines)")
        #expect(loaded?.pixels == expected.pixels)
    }

    /// A folder of 1 000 images, grey and colour mixed, 10% of them unreadable in three ways: the
    /// first decoding says so as it starts, the bad files are counted by kind with examples, grey
    /// images become three equal channels, and `mirrored` appends each image reversed, labels
    /// repeated.
    @Test func aLargeMixedFolderWithBadFilesIsCountedByKindAndMirrors() throws {
        let dir = scratch("folder-large")
        try python("""
        import sys, os, numpy as np
        from PIL import Image
        d = sys.argv[1]
        for k in ["grey", "colour"]: os.makedirs(d + "/" + k, exist_ok=True)
        rng = np.random.default_rng(0)
        for i in range(900):
            a = rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)
            if i % 2: Image.fromarray(a[:, :, 0]).save(f"{d}/grey/{i:04}.png")
            else: Image.fromarray(a).save(f"{d}/colour/{i:04}.png")
        for i in range(50): open(f"{d}/colour/t{i:02}.png", "wb").write(open(f"{d}/colour/0000.png", "rb").read()[:30])
        for i in range(30): open(f"{d}/grey/n{i:02}.jpg", "wb").write(b"not an image at all")
        for i in range(20): open(f"{d}/grey/e{i:02}.png", "wb").close()
        """, [dir])
        var logs: [String] = []
        let d = try DatasetLoader.load(dir, imageSize: 6, cacheDirectory: nil) { logs.append($0) }
        #expect(d.count == 900 && d.skipped.count == 100 && d.channels == 3)
        #expect(logs.first?.hasSuffix("decoding 1000 images (once: the result is cached)…") == true, "\(logs)")
        let report = try #require(logs.first { $0.contains("skipped 100 of 1000 files") })
        #expect(report.contains("50 × corrupt image (e.g. colour/t00.png, colour/t01.png)")
                && report.contains("30 × not a PNG or JPEG image (e.g. grey/n00.jpg, grey/n01.jpg)")
                && report.contains("20 × the file is empty (e.g. grey/e00.png, grey/e01.png)"), "\(report)")
        let (labels, names) = try d.requireLabels()
        #expect(names == ["colour", "grey"])
        let grey = d.image(labels.firstIndex(of: 1)!)
        #expect((0..<6).allSatisfy { grey[$0, 2, 0] == grey[$0, 2, 1] && grey[$0, 2, 1] == grey[$0, 2, 2] })
        let m = d.subset([0, 1]).mirrored()
        #expect(m.count == 4 && m.labels == [labels[0], labels[1], labels[0], labels[1]])
        #expect((0..<6).allSatisfy { x in (0..<6).allSatisfy { y in (0..<3).allSatisfy { c in m.image(2)[x, y, c] == m.image(0)[5 - x, y, c] } } })
    }

    @Test func emptyBrokenAndMostlyBrokenFoldersFailClearly() throws {
        let empty = scratch("folder-empty")
        try "x".write(toFile: empty + "/readme.txt", atomically: true, encoding: .utf8)
        #expect(throws: DatasetError.emptyFolder(path: empty)) { try ImageFolder.load(empty, size: 8, cacheDirectory: nil) }

        let broken = scratch("folder-broken")
        write([0xFF, 0xD8, 1, 2, 3], broken + "/x.jpg")
        write([], broken + "/y.png")
        #expect { try ImageFolder.load(broken, size: 8, cacheDirectory: nil) } throws: {
            guard case .noDecodableImages(let p, let n, let ex) = $0 as? DatasetError else { return false }
            return p.hasSuffix("folder-broken") && n == 2 && ex.count == 2
        }

        let mostly = scratch("folder-mostly")
        try ImageCodec.writePNG(Image(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 9, count: 16)), to: mostly + "/ok.png")
        write([1, 2, 3], mostly + "/bad1.png")
        write([1, 2, 3], mostly + "/bad2.jpg")
        #expect { try ImageFolder.load(mostly, size: 8, cacheDirectory: nil) } throws: {
            "\($0)".contains("2 of 3 images could not be decoded")
        }
        #expect(throws: DatasetError.notFound(path: mostly + "/nothing")) { try DatasetLoader.load(mostly + "/nothing") }
    }
}

@Suite struct BatcherTests {
    static func tiny(_ n: Int) -> ImageDataset {
        // Image i is filled with the value i; 2×3 pixels, 1 channel.
        ImageDataset(name: "tiny", count: n, height: 2, width: 3, channels: 1,
                     pixels: (0..<n).flatMap { [UInt8](repeating: UInt8($0), count: 6) }, labels: (0..<n).map { Int32($0) })
    }

    @Test func anEpochIsAShuffledPermutationNormalizedToMinusOneOne() {
        let b = Batcher(Self.tiny(10), batchSize: 4, seed: 3)
        #expect(b.batchesPerEpoch == 2)
        var seen: [Int] = []
        for batch in b.epoch(0) {
            #expect(batch.images.shape == [4, 1, 2, 3])
            let v = batch.images.scalars
            for (k, i) in batch.indices.enumerated() {
                #expect(v[(k * 6)..<(k * 6 + 6)].allSatisfy { abs($0 - (Float(i) / 127.5 - 1)) < 1e-6 })
            }
            #expect(batch.labels == batch.indices.map { Int32($0) })
            seen += batch.indices
        }
        #expect(seen.count == 8 && Set(seen).count == 8)
        #expect(b.order(epoch: 0).sorted() == Array(0..<10) && b.order(epoch: 0) != b.order(epoch: 1))
        let keep = Batcher(Self.tiny(10), batchSize: 4, shuffle: false, dropLast: false)
        #expect(keep.epoch(0).map { $0.indices.count } == [4, 4, 2])
    }

    @Test func resumingMidEpochGivesTheSameBatches() {
        let b = Batcher(Self.tiny(50), batchSize: 8, horizontalFlip: true, seed: 9)
        let all = b.epoch(2).map { $0.images.scalars }
        let resumed = b.epoch(2, startingAt: 3).map { $0.images.scalars }
        #expect(Array(all[3...]) == resumed)
        let again = Batcher(Self.tiny(50), batchSize: 8, horizontalFlip: true, seed: 9).epoch(2).map { $0.images.scalars }
        #expect(all == again)
    }

    @Test func horizontalFlipMirrorsRows() {
        let d = ImageDataset(name: "row", count: 1, height: 1, width: 3, channels: 1, pixels: [0, 127, 255])
        var flipped = 0, plain = 0
        for seed in 0..<40 {
            let v = Batcher(d, batchSize: 1, horizontalFlip: true, seed: UInt64(seed)).epoch(0).map { $0.images.scalars }[0]
            if v == [1, Float(127) / 127.5 - 1, -1] { flipped += 1 } else if v == [-1, Float(127) / 127.5 - 1, 1] { plain += 1 }
        }
        #expect(flipped + plain == 40 && flipped > 5 && plain > 5)
    }

    @Test func abandoningAnEpochStopsItsThread() throws {
        func threads() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0 }
        let b = Batcher(Self.tiny(100), batchSize: 2, seed: 1)
        let before = threads()
        for _ in 0..<20 {
            let it = b.epoch(0)
            _ = it.next()  // its producer now waits, two batches ahead, for a consumer that leaves
        }
        // Each abandoned producer must exit; give them up to 5 s to be scheduled.
        let deadline = Date().addingTimeInterval(5)
        while threads() > before + 2 && Date() < deadline { usleep(10_000) }
        #expect(threads() <= before + 2, "\(threads() - before) producer threads left running")
        #expect(b.epoch(0).map { _ in 1 }.count == 50)
    }
}

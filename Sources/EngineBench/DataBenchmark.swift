import Datasets
import Foundation
import Imaging
import Tensors

/// How fast data reaches the training loop.
public struct DataTimings: Sendable {
    public var loadSeconds: Double = 0
    public var loadedImages = 0
    public var epochSeconds: Double = 0
    public var epochBatches = 0
    public var epochWaitSeconds: Double = 0
    public var photos = 0
    public var photoSide = 0
    public var decodeSeconds: Double = 0
    public var cachedSeconds: Double = 0
    public var cores = 1
    public var photosPerSecondPerCore: Double { Double(photos) / decodeSeconds / Double(cores) }
}

public enum DataBenchmark {
    /// Loads Fashion-MNIST (median of `repeats`), iterates one epoch at batch 128, and decodes a
    /// folder of `photos` synthetic 640×480 JPEG photos to 64×64 (without and then with the cache).
    public static func run(fashionMNIST: String = DatasetLoader.defaultPath, photos: Int = 300, repeats: Int = 3,
                           log: (String) -> Void = { _ in }) throws -> DataTimings {
        var t = DataTimings()
        t.cores = ProcessInfo.processInfo.activeProcessorCount
        var loads: [Double] = []
        var dataset: ImageDataset?
        for _ in 0..<repeats {
            let t0 = now()
            dataset = try DatasetLoader.load(fashionMNIST)
            loads.append(now() - t0)
        }
        t.loadSeconds = ConvBenchmark.median(loads)
        t.loadedImages = dataset!.count
        log(String(format: "Fashion-MNIST: %d images loaded in %.3f s", t.loadedImages, t.loadSeconds))

        let batcher = Batcher(dataset!, batchSize: 128, seed: 1)
        let t0 = now()
        let epoch = batcher.epoch(0)
        var n = 0
        for batch in epoch { n += batch.indices.count > 0 ? 1 : 0 }
        t.epochSeconds = now() - t0
        t.epochBatches = n
        t.epochWaitSeconds = epoch.waitSeconds
        log(String(format: "one epoch at batch 128: %d batches in %.3f s (consumer waited %.3f s)", n, t.epochSeconds, t.epochWaitSeconds))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftgan-photos-\(getpid())").path
        let cache = dir + "-cache"
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: cache) }
        try makePhotos(photos, in: dir)
        t.photos = photos
        t.photoSide = 64
        var s = now()
        _ = try ImageFolder.load(dir, size: 64, channels: 3, cacheDirectory: cache)
        t.decodeSeconds = now() - s
        s = now()
        _ = try ImageFolder.load(dir, size: 64, channels: 3, cacheDirectory: cache)
        t.cachedSeconds = now() - s
        log(String(format: "%d JPEG photos 640×480 → 64×64: %.2f s (%.0f images/s, %.0f per core); from the cache %.3f s",
                   photos, t.decodeSeconds, Double(photos) / t.decodeSeconds, t.photosPerSecondPerCore, t.cachedSeconds))
        return t
    }

    /// Synthetic 640×480 photos: smooth colour fields with texture, JPEG quality 90.
    static func makePhotos(_ n: Int, in dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (w, h) = (640, 480)
        for i in 0..<n {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    let p = (y * w + x) * 3
                    let tex = UInt8(truncatingIfNeeded: (x * 7 + y * 13 + i * 31) ^ (x * y >> 4))
                    px[p] = UInt8((x + i * 3) % 256) &+ tex / 8
                    px[p + 1] = UInt8((y + i * 5) % 256) &+ tex / 8
                    px[p + 2] = UInt8(((x + y) / 2 + i) % 256) &+ tex / 8
                }
            }
            let data = try ImageCodec.encodeJPEG(Image(width: w, height: h, channels: 3, pixels: px), quality: 90)
            try data.write(to: URL(fileURLWithPath: "\(dir)/photo\(i).jpg"))
        }
    }
}

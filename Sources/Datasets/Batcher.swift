import Foundation
import Tensors

/// One training batch: images as [B, C, H, W] in [-1, 1], with labels when the dataset has them.
public struct Batch {
    public let images: Tensor
    public let labels: [Int32]?
    /// Positions of the images in the dataset.
    public let indices: [Int]
}

/// Shuffled batches of a dataset, prepared on a background thread while the previous one trains.
///
/// The order of every epoch is a function of (seed, epoch) alone, and each batch's flips of
/// (seed, epoch, batch), so a run resumed at any batch sees exactly the batches an uninterrupted
/// run would have seen.
public final class Batcher {
    public let dataset: ImageDataset
    public let batchSize: Int
    public let shuffle: Bool, dropLast: Bool, horizontalFlip: Bool
    public let seed: UInt64

    public init(_ dataset: ImageDataset, batchSize: Int, shuffle: Bool = true, dropLast: Bool = true,
                horizontalFlip: Bool = false, seed: UInt64 = 0) {
        precondition(batchSize > 0, "Batcher: batch size must be positive, got \(batchSize)")
        self.dataset = dataset; self.batchSize = batchSize; self.shuffle = shuffle
        self.dropLast = dropLast; self.horizontalFlip = horizontalFlip; self.seed = seed
    }

    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The dataset's order in `epoch`.
    public func order(epoch: Int) -> [Int] {
        shuffle ? RandomGenerator(seed: RandomGenerator.derivedSeed(seed, UInt64(epoch), 0x5eed)).permutation(dataset.count) : Array(0..<dataset.count)
    }

    /// The batches of `epoch` from `start` on; the next batch is prepared while this one is used.
    public func epoch(_ epoch: Int, startingAt start: Int = 0) -> EpochBatches {
        EpochBatches(self, order: order(epoch: epoch), epoch: epoch, start: start)
    }

    /// The dataset positions in batch `b` of an epoch with the given order.
    static func slice(_ order: [Int], batch b: Int, size: Int) -> [Int] {
        Array(order[(b * size)..<Swift.min((b + 1) * size, order.count)])
    }

    /// Float pixels of batch `b` of an epoch: [n, C, H, W] in [-1, 1].
    func prepare(_ indices: [Int], epoch: Int, batch: Int) -> [Float] {
        let flips = RandomGenerator(seed: RandomGenerator.derivedSeed(seed, UInt64(epoch), UInt64(batch) &+ 1))
        return dataset.normalized(indices, flip: { horizontalFlip && flips.uniform() < 0.5 })
    }
}

extension ImageDataset {
    /// Images `indices` (all by default) as [n, C, H, W] in [-1, 1], as the batches give them.
    public func images(_ indices: [Int]? = nil) -> Tensor {
        let idx = indices ?? Array(0..<count)
        return Tensor(normalized(idx, flip: { false }), shape: [idx.count, channels, height, width])
    }

    /// Pixels of `indices` as NCHW floats in [-1, 1]; `flip` is asked once per image, in order.
    func normalized(_ indices: [Int], flip: () -> Bool) -> [Float] {
        let d = self, hw = d.height * d.width, c = d.channels
        var out = [Float](repeating: 0, count: indices.count * c * hw)
        d.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { o in
                for (k, i) in indices.enumerated() {
                    let flip = flip()
                    let src = px.baseAddress! + i * hw * c
                    for y in 0..<d.height {
                        for x in 0..<d.width {
                            let sx = flip ? d.width - 1 - x : x
                            for ch in 0..<c {
                                o[((k * c + ch) * d.height + y) * d.width + x] = Float(src[(y * d.width + sx) * c + ch]) / 127.5 - 1
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// The batches of one epoch, produced ahead on a background thread.
public final class EpochBatches: Sequence, IteratorProtocol {
    /// What the consumer and the producer thread share. The thread holds this, not the iterator,
    /// so dropping the iterator early stops the thread.
    final class Queue: @unchecked Sendable {
        let condition = NSCondition()
        var ready: [Int: [Float]] = [:]
        var cancelled = false
    }

    private let batcher: Batcher
    private let order: [Int]
    private var cursor: Int
    private let end: Int
    private let queue = Queue()
    /// Seconds the consumer spent waiting for a batch that was not ready yet.
    public private(set) var waitSeconds: Double = 0

    init(_ batcher: Batcher, order: [Int], epoch: Int, start: Int) {
        self.batcher = batcher; self.order = order
        end = batcher.batchesPerEpoch
        cursor = Swift.min(Swift.max(start, 0), end)
        let (first, end, queue, size) = (cursor, end, queue, batcher.batchSize)
        let started = Self.startThread {
            for b in first..<end {
                let floats = batcher.prepare(Batcher.slice(order, batch: b, size: size), epoch: epoch, batch: b)
                queue.condition.lock()
                while queue.ready.count >= 2 && !queue.cancelled { queue.condition.wait() }  // stay two ahead
                if queue.cancelled { queue.condition.unlock(); return }
                queue.ready[b] = floats
                queue.condition.broadcast()
                queue.condition.unlock()
            }
        }
        // Without a thread (the system would not give one: a memory limit), batches are prepared
        // when asked for; the same batches, only not ahead of time.
        inline = !started
        self.epoch = epoch
    }

    private var inline = false
    private var epoch = 0

    /// Starts `body` on a new thread with a small stack (1 MiB); false when the system refuses
    /// one, which `Thread.start()` would not say (the consumer would wait forever).
    static func startThread(_ body: @escaping @Sendable () -> Void) -> Bool {
        final class Work { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 1 << 20)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { context in
            Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, work)
        if status != 0 { Unmanaged<Work>.fromOpaque(work).release() }
        return status == 0
    }

    deinit {
        queue.condition.lock()
        queue.cancelled = true
        queue.condition.broadcast()
        queue.condition.unlock()
    }

    public func next() -> Batch? {
        guard cursor < end else { return nil }
        let b = cursor
        cursor += 1
        let t0 = Date()
        let idx = Batcher.slice(order, batch: b, size: batcher.batchSize)
        let floats: [Float]
        if inline {
            floats = batcher.prepare(idx, epoch: epoch, batch: b)
        } else {
            queue.condition.lock()
            while queue.ready[b] == nil { queue.condition.wait() }
            floats = queue.ready.removeValue(forKey: b)!
            queue.condition.broadcast()
            queue.condition.unlock()
        }
        waitSeconds += Date().timeIntervalSince(t0)
        let d = batcher.dataset
        let labels = d.labels.map { l in idx.map { l[$0] } }
        return Batch(images: Tensor(floats, shape: [idx.count, d.channels, d.height, d.width]), labels: labels, indices: idx)
    }
}

import Datasets
import Distributed
import Foundation
import GANModels
import NN
import Tensors

/// Data-parallel training over a `Collective` (`mpiexec -n N swiftgan train`: MPI; threads of one
/// process in the tests): the batch size is
/// the global batch; rank r takes its slice of the same (seed, epoch) batch and of the same global
/// noise batch; initial weights come from rank 0; after each backward pass the gradients of the
/// network being updated are averaged across ranks in one all-reduce (every parameter's gradient
/// copied into one buffer), and every rank applies the same Adam step. Batch norm keeps per-rank
/// statistics, as PyTorch's DDP does.
public struct DataParallel {
    public let communicator: any Collective

    public init(_ communicator: any Collective) { self.communicator = communicator }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    /// The rows of a global batch of `count` that this rank takes (`count` divisible by `size`).
    public func rows(of count: Int) -> Range<Int> {
        precondition(count % size == 0, "DataParallel: a batch of \(count) does not split over \(size) ranks")
        let per = count / size
        return (rank * per)..<((rank + 1) * per)
    }

    /// This rank's slice of a global batch [count, …].
    public func slice(_ t: Tensor) -> Tensor {
        let r = rows(of: t.shape[0])
        return t.slice(axis: 0, offset: r.lowerBound, length: r.count)
    }

    /// This rank's slice of a global batch's labels.
    public func slice(_ labels: [Int32]) -> [Int32] { Array(labels[rows(of: labels.count)]) }

    /// This rank's slice of a global step's batch: images, noise and classes.
    public func slice(_ batch: GANBatch) -> GANBatch {
        GANBatch(real: slice(batch.real), noise: slice(batch.noise), realLabels: batch.realLabels.map(slice),
                 fakeLabels: batch.fakeLabels.map(slice))
    }

    /// Makes `gan` a member of the job: its gradients are averaged across ranks before each
    /// update, and (with `synchronizingBatchNorm`) its batch norms use the global batch's statistics.
    public func join<G, D>(_ gan: GANStep<G, D>, synchronizingBatchNorm: Bool) {
        gan.gradientReduction = { self.averageGradients($0) }
        gan.batchPart = (rank, size)
        let sync = synchronizingBatchNorm ? { (sums: inout [Double]) in self.sum(&sums) } : nil
        for network in [gan.generator as Module, gan.discriminator] { network.synchronizeBatchNorm(sync) }
    }

    /// A step's losses and probabilities averaged over the ranks (what one process on the global
    /// batch would show, up to batch norm's per-rank statistics).
    public func average(_ result: GANStepResult) -> GANStepResult {
        var r = result
        // Every rank applies a penalty on the same steps, so the presence of each value agrees.
        let mean = average([Double(r.lossD), Double(r.dReal), Double(r.dFake), Double(r.lossG ?? 0), Double(r.penalty ?? 0), Double(r.realSign),
                            Double(r.reconstruction ?? 0)])
        (r.lossD, r.dReal, r.dFake, r.realSign) = (Float(mean[0]), Float(mean[1]), Float(mean[2]), Float(mean[5]))
        if r.lossG != nil { r.lossG = Float(mean[3]) }
        if r.penalty != nil { r.penalty = Float(mean[4]) }
        if r.reconstruction != nil { r.reconstruction = Float(mean[6]) }
        return r
    }

    /// Rank 0's decision, on every rank (a checkpoint due by rank 0's clock).
    public func agree(rootSays yes: Bool) -> Bool { average([rank == 0 && yes ? Double(size) : 0])[0] > 0 }

    /// True on every rank when any rank says so (a stop request).
    public func agree(anySays yes: Bool) -> Bool { average([yes ? 1 : 0])[0] > 0 }

    /// Averages the gradients of `parameters` across ranks, in place (one all-reduce).
    public func averageGradients(_ parameters: [Parameter]) {
        var flat: [Float] = []
        flat.reserveCapacity(parameters.reduce(0) { $0 + $1.value.count })
        for p in parameters { flat += p.grad?.scalars ?? [Float](repeating: 0, count: p.value.count) }
        fatalOnFailure { try communicator.allReduceSum(&flat) }
        let scale = 1 / Float(size)
        var offset = 0
        for p in parameters {
            let n = p.value.count
            if let grad = p.grad { grad.assign(Tensor(flat[offset..<(offset + n)].map { $0 * scale }, shape: p.shape)) }
            offset += n
        }
    }

    /// Rank 0's parameters and buffers of `modules` on every rank.
    public func broadcastState(_ modules: [Module]) {
        let tensors = modules.flatMap { m in m.parameters.map(\.value) + m.namedBuffers().map(\.buffer.value) }
        var flat = tensors.flatMap(\.scalars)
        fatalOnFailure { try communicator.broadcast(&flat, root: 0) }
        var offset = 0
        for t in tensors {
            t.assign(Tensor(Array(flat[offset..<(offset + t.count)]), shape: t.shape))
            offset += t.count
        }
    }

    /// Sums `values` element-wise over the ranks, in place.
    public func sum(_ values: inout [Double]) {
        fatalOnFailure { try communicator.allReduceSum(&values) }
    }

    /// The mean of each value over the ranks.
    public func average(_ values: [Double]) -> [Double] {
        var v = values
        fatalOnFailure { try communicator.allReduceSum(&v) }
        return v.map { $0 / Double(size) }
    }

    /// An MPI failure mid-training (a peer died): this rank says so and the job ends.
    func fatalOnFailure(_ body: () throws -> Void) {
        do { try body() } catch {
            FileHandle.standardError.write(Data("rank \(rank): \(error); stopping\n".utf8))
            communicator.abort(code: 1)
        }
    }

    /// A global batch of `batch` images splits evenly over the processes; else
    /// `TrainingError.batchDoesNotSplit`. (A command can ask before it loads any data.)
    public func checkBatch(_ batch: Int) throws {
        guard batch % size == 0 else { throw TrainingError.batchDoesNotSplit(batch: batch, processes: size) }
    }

    /// What every process must agree on before a run trains, new or resumed: the batch splits over
    /// them and they hold the same data (a collective: every process calls it once).
    public func checkAgreement(batchSize: Int, dataset: ImageDataset) throws {
        try checkBatch(batchSize)
        try checkSameData(dataset)
    }

    /// Refuses to train when the processes' datasets differ (another size or content), naming the
    /// hosts: every rank must draw its slice of the same batches.
    public func checkSameData(_ dataset: ImageDataset) throws {
        var hash = FNV1a()
        hash.add("\(dataset.count) \(dataset.height) \(dataset.width) \(dataset.channels)")
        hash.add(bytes: dataset.pixels)
        if let labels = dataset.labels { hash.add(bytes: labels.map { UInt8(truncatingIfNeeded: $0) }) }
        let all = try communicator.allGather("\(communicator.hostName) \(dataset.count) \(String(hash.value, radix: 16))")
        let fields = all.map { $0.split(separator: " ").map(String.init) }
        guard Set(fields.map { $0.dropFirst() }).count == 1 else {
            let listed = fields.enumerated().map { "rank \($0.offset) on \($0.element[0]): \($0.element[1]) images, hash \($0.element[2])" }
            throw TrainingError.datasetsDiffer(listed)
        }
    }

    /// Which process is which rank where ("rank 0 pid 12 on a, rank 1 pid 13 on b"): an MPI
    /// launcher's fault messages name PIDs and hosts.
    public func processes() throws -> [String] {
        try communicator.allGather("\(communicator.hostName) \(getpid())").enumerated().map { rank, text in
            let parts = text.split(separator: " ")
            return "rank \(rank) pid \(parts.last ?? "?") on \(parts.first ?? "?")"
        }
    }

    /// A checkpoint's files from rank 0 to every rank (no shared disk needed): rank 0 passes its
    /// checkpoint and gets it back; the others pass nil and get the files as a checkpoint under a
    /// new temporary directory, which they remove when done with it.
    public func shareCheckpoint(_ checkpoint: String?) throws -> String {
        if rank == 0 {
            guard let checkpoint else { preconditionFailure("DataParallel.shareCheckpoint: rank 0 must pass its checkpoint") }
            var bundle = Data()
            func append(_ bytes: Data) {
                withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { bundle.append(contentsOf: $0) }
                bundle.append(bytes)
            }
            append(Data((checkpoint as NSString).lastPathComponent.utf8))
            for file in try FileManager.default.contentsOfDirectory(atPath: checkpoint).sorted() {
                append(Data(file.utf8))
                append(try Data(contentsOf: URL(fileURLWithPath: checkpoint + "/" + file)))
            }
            _ = try communicator.broadcast(bundle, root: 0)
            return checkpoint
        }
        let bundle = try communicator.broadcast(Data(), root: 0)
        var offset = bundle.startIndex
        func next() -> Data {
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bundle[offset + $1]) << (8 * UInt64($1)) }
            offset += 8
            defer { offset += Int(length) }
            return bundle[offset..<(offset + Int(length))]
        }
        Self.removeAbandonedCopies()
        let directory = NSTemporaryDirectory() + Self.copyPrefix + "\(rank)-\(getpid())-\(UUID().uuidString.prefix(8))"
        let checkpoint = directory + "/" + String(decoding: next(), as: UTF8.self)
        try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: true)
        while offset < bundle.endIndex {
            let file = String(decoding: next(), as: UTF8.self)
            try next().write(to: URL(fileURLWithPath: checkpoint + "/" + file))
        }
        return checkpoint
    }

    /// Temporary copies of a checkpoint on ranks other than 0: `swiftgan-rank-R-PID-…`.
    static let copyPrefix = "swiftgan-rank-"

    /// Removes the copies that ranks killed before they could remove their own left behind (their
    /// process is gone).
    static func removeAbandonedCopies(in directory: String = NSTemporaryDirectory()) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(copyPrefix) {
            let fields = name.dropFirst(copyPrefix.count).split(separator: "-")
            guard fields.count >= 2, let pid = Int32(fields[1]), pid != getpid(), kill(pid, 0) != 0 && errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
    }
}

import Distributed
import Foundation
import NN
import Tensors

/// Data-parallel training over a `Communicator` (`mpiexec -n N swiftgan train`): the batch size is
/// the global batch; rank r takes its slice of the same (seed, epoch) batch and of the same global
/// noise batch; initial weights come from rank 0; after each backward pass the gradients of the
/// network being updated are averaged across ranks in one all-reduce (every parameter's gradient
/// copied into one buffer), and every rank applies the same Adam step. Batch norm keeps per-rank
/// statistics, as PyTorch's DDP does.
public struct DataParallel {
    public let communicator: Communicator

    public init(_ communicator: Communicator) { self.communicator = communicator }

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
        fatalOnFailure { try communicator.broadcast(&flat) }
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
}

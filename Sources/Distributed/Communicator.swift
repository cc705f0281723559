import CMPI
import Foundation

/// The processes of a data-parallel job started by `mpiexec`, over MPI. A process started
/// without `mpiexec` has no communicator (`Communicator.world` is nil) and never touches MPI.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int

    /// The job this process belongs to, when started by an MPI launcher (MPICH's Hydra sets
    /// `PMI_RANK`; Open MPI `OMPI_COMM_WORLD_RANK`); MPI is initialised on first use.
    public static let world: Communicator? = {
        let env = ProcessInfo.processInfo.environment
        guard env["PMI_RANK"] != nil || env["OMPI_COMM_WORLD_RANK"] != nil else { return nil }
        return try? Communicator()
    }()

    init() throws {
        var rank: Int32 = 0, size: Int32 = 0
        try Self.check { sg_mpi_init(&rank, &size, $0, $1) }
        self.rank = Int(rank); self.size = Int(size)
    }

    public var isRoot: Bool { rank == 0 }

    /// Sums `values` over every rank, in place.
    public func allReduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { buffer in
            try Self.check { sg_mpi_allreduce_sum_float(buffer.baseAddress, buffer.count, $0, $1) }
        }
    }

    public func allReduceSum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { buffer in
            try Self.check { sg_mpi_allreduce_sum_double(buffer.baseAddress, buffer.count, $0, $1) }
        }
    }

    /// Rank `root`'s `values` on every rank (every rank passes an array of the same length).
    public func broadcast(_ values: inout [Float], root: Int = 0) throws {
        try values.withUnsafeMutableBytes { raw in
            try Self.check { sg_mpi_broadcast(raw.baseAddress, raw.count, Int32(root), $0, $1) }
        }
    }

    /// Rank `root`'s bytes on every rank, whatever their length on the others.
    public func broadcast(_ data: Data, root: Int = 0) throws -> Data {
        var length = UInt64(rank == root ? data.count : 0)
        try withUnsafeMutableBytes(of: &length) { raw in
            try Self.check { sg_mpi_broadcast(raw.baseAddress, raw.count, Int32(root), $0, $1) }
        }
        var bytes = rank == root ? [UInt8](data) : [UInt8](repeating: 0, count: Int(length))
        try bytes.withUnsafeMutableBytes { raw in
            try Self.check { sg_mpi_broadcast(raw.baseAddress, raw.count, Int32(root), $0, $1) }
        }
        return Data(bytes)
    }

    /// Every rank's string, in rank order (each at most 255 UTF-8 bytes).
    public func allGather(_ text: String) throws -> [String] {
        var mine = [UInt8](repeating: 0, count: 256)
        for (i, b) in text.utf8.prefix(255).enumerated() { mine[i] = b }
        var all = [UInt8](repeating: 0, count: 256 * size)
        try mine.withUnsafeBytes { source in
            try all.withUnsafeMutableBytes { out in
                try Self.check { sg_mpi_allgather(source.baseAddress, 256, out.baseAddress, $0, $1) }
            }
        }
        return (0..<size).map { r in String(decoding: all[(r * 256)..<(r * 256 + 256)].prefix { $0 != 0 }, as: UTF8.self) }
    }

    public func barrier() { _ = sg_mpi_barrier() }

    /// Ends every process of the job with `code`.
    public func abort(code: Int32) -> Never {
        sg_mpi_abort(code)
        exit(code)
    }

    /// This host's name.
    public var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        sg_mpi_processor_name(&buffer, buffer.count)
        return String(cString: buffer)
    }

    public func finalize() { _ = sg_mpi_finalize() }

    static func check(_ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var buffer = [CChar](repeating: 0, count: 512)
        let code = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
        guard code == 0 else { throw CommunicatorError.failed(code: Int(code), message: String(cString: buffer)) }
    }
}

public enum CommunicatorError: Error, Equatable, CustomStringConvertible {
    case failed(code: Int, message: String)
    public var description: String {
        switch self { case .failed(let code, let message): return "MPI error \(code): \(message)" }
    }
}

import CMPI
import Foundation

/// The processes of a data-parallel job started by `mpiexec`, over MPI. The MPI library is loaded
/// at run time, only here: a process started without a launcher never maps it.
public final class MPICommunicator: Collective, @unchecked Sendable {
    public let rank: Int
    public let size: Int

    /// Whether an MPI launcher started this process (MPICH's Hydra sets `PMI_RANK`, Open MPI
    /// `OMPI_COMM_WORLD_RANK`).
    public static var launched: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["PMI_RANK"] != nil || env["OMPI_COMM_WORLD_RANK"] != nil
    }

    /// The job this process belongs to: nil when no launcher started it; a communicator over MPI
    /// (loaded now, from `SWIFTGAN_MPI_LIBRARY` or MPICH's ABI names) when one did. Throws
    /// `CollectiveError.libraryUnavailable` when the library cannot be loaded, `.failed` when MPI
    /// cannot start.
    public static func world() throws -> MPICommunicator? {
        guard launched else { return nil }
        let env = ProcessInfo.processInfo.environment
        if env["OMPI_COMM_WORLD_RANK"] != nil && env["PMI_RANK"] == nil { throw CollectiveError.unsupportedLauncher("Open MPI") }
        var buffer = [CChar](repeating: 0, count: 512)
        guard sg_mpi_load(ProcessInfo.processInfo.environment["SWIFTGAN_MPI_LIBRARY"], &buffer, buffer.count) == 0 else {
            let reason = String(cString: buffer)
            if reason.contains("failed to map segment") || reason.contains("Cannot allocate memory") {
                throw CollectiveError.failed(code: -1, message: "out of memory: the MPI library cannot be mapped (\(reason))")
            }
            throw CollectiveError.libraryUnavailable(reason: reason)
        }
        return try MPICommunicator()
    }

    init() throws {
        var rank: Int32 = 0, size: Int32 = 0
        try Self.check { sg_mpi_init(&rank, &size, $0, $1) }
        self.rank = Int(rank); self.size = Int(size)
    }

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

    public func broadcast(_ values: inout [Float], root: Int = 0) throws {
        try values.withUnsafeMutableBytes { raw in
            try Self.check { sg_mpi_broadcast(raw.baseAddress, raw.count, Int32(root), $0, $1) }
        }
    }

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

    public func abort(code: Int32) -> Never {
        sg_mpi_abort(code)
        exit(code)
    }

    public var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        sg_mpi_processor_name(&buffer, buffer.count)
        return String(cString: buffer)
    }

    /// Ends MPI in this process (after the last collective call).
    public func finalize() { _ = sg_mpi_finalize() }

    static func check(_ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var buffer = [CChar](repeating: 0, count: 512)
        let code = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
        guard code == 0 else { throw CollectiveError.failed(code: Int(code), message: String(cString: buffer)) }
    }
}

/// The constants of MPICH's ABI that the C layer declares by hand, for the test that compares them
/// with the installed `mpi.h`.
public enum MPIABI {
    public static var constants: [String: Int] {
        let c = sg_mpi_abi_constants()
        return ["MPI_COMM_WORLD": Int(c.comm_world), "MPI_FLOAT": Int(c.type_float), "MPI_DOUBLE": Int(c.type_double),
                "MPI_BYTE": Int(c.type_byte), "MPI_SUM": Int(c.op_sum), "MPI_ERRORS_RETURN": Int(c.errors_return),
                "MPI_THREAD_FUNNELED": Int(c.thread_funneled), "MPI_MAX_ERROR_STRING": Int(c.max_error_string),
                "MPI_MAX_PROCESSOR_NAME": Int(c.max_processor_name)]
    }
}

import Foundation

/// The collective operations data-parallel training needs, over whatever connects the processes
/// (or threads) of a job: MPI between processes (`MPICommunicator`), threads of one process
/// (`LocalCollective`, for tests), or a later transport. Every member of the group calls the same
/// operations in the same order; each call returns when the group has taken part.
public protocol Collective: AnyObject, Sendable {
    /// This member's index in the group, 0..<size.
    var rank: Int { get }
    var size: Int { get }
    /// The host this member runs on (for messages that name where a rank is).
    var hostName: String { get }
    /// Sums `values` element-wise over the group, in place (every member passes the same count).
    func allReduceSum(_ values: inout [Float]) throws
    func allReduceSum(_ values: inout [Double]) throws
    /// Member `root`'s `values` on every member (every member passes an array of the same length).
    func broadcast(_ values: inout [Float], root: Int) throws
    /// Member `root`'s bytes on every member, whatever the others pass.
    func broadcast(_ data: Data, root: Int) throws -> Data
    /// Every member's string, in rank order (each at most 255 UTF-8 bytes).
    func allGather(_ text: String) throws -> [String]
    /// Ends the whole job with `code` (a member that cannot go on: its peers would wait forever).
    func abort(code: Int32) -> Never
}

/// A failure of a collective operation.
public enum CollectiveError: Error, Equatable, CustomStringConvertible {
    /// The transport reported `code` with `message` (MPI's error text).
    case failed(code: Int, message: String)
    /// The job was started by an MPI launcher, but the MPI library cannot be loaded.
    case libraryUnavailable(reason: String)
    /// The job was started by a launcher of another MPI ABI (Open MPI's), whose processes would
    /// each run alone.
    case unsupportedLauncher(String)

    public var description: String {
        switch self {
        case .failed(let code, let message): return "MPI error \(code): \(message)"
        case .unsupportedLauncher(let name):
            return "started by \(name)'s mpiexec; swiftgan speaks MPICH's ABI (MPICH, Intel MPI, MVAPICH): start it with MPICH's mpiexec (mpiexec.mpich)"
        case .libraryUnavailable(let reason):
            return "started by mpiexec, but the MPI library cannot be loaded (\(reason)); install MPICH (Debian: apt install mpich) "
                + "or name the library in SWIFTGAN_MPI_LIBRARY"
        }
    }
}

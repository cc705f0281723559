#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSystem
import Foundation

/// A failed file-system call: the path, what was being done, and the plain reason the system gave
/// ("no space left on device", "permission denied", "read-only file system", "is a directory").
public struct FileError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let code: Int32

    public init(path: String, operation: String, code: Int32) {
        self.path = path; self.operation = operation; self.code = code
    }

    /// `strerror`'s words with a lower-case first letter.
    public var reason: String {
        let s = String(cString: strerror(code))
        return s.prefix(1).lowercased() + s.dropFirst()
    }

    public var description: String { "\(path): cannot \(operation): \(reason)" }
}

/// Files written as databases write them: to a temporary file beside the target, flushed to the
/// disk (`fsync`), renamed over the target, and the directory flushed, so that after a crash or a
/// power loss the target is either the old file or the whole new one — never empty or partial.
///
/// ```swift
/// try DurableFile.write(Data(json.utf8), to: "runs/a/config.json")
/// let out = try DurableFile.Stream(creating: "x.npy")   // large files: append, then commit
/// try out.append(header); try out.append(batch); try out.commit()
/// ```
public enum DurableFile {
    /// Writes `data` to `path` durably (see the type).
    ///
    /// With `sync: false` the file is still written whole and renamed into place, but not flushed:
    /// for many small files that are flushed together afterwards (`syncFileSystem`).
    public static func write(_ data: Data, to path: String, sync: Bool = true) throws(FileError) {
        let stream = try Stream(creating: path)
        try stream.append(data)
        try stream.commit(sync: sync)
    }

    /// Flushes everything written to the file system holding `path` (`syncfs`): one call after
    /// many files written with `sync: false`.
    public static func syncFileSystem(containing path: String) throws(FileError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        if sg_syncfs(fd) != 0 { throw FileError(path: path, operation: "flush", code: errno) }
    }

    /// Flushes a directory's entries (creations, renames, removals) to the disk.
    public static func syncDirectory(_ path: String) throws(FileError) {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, operation: "open the directory", code: errno) }
        defer { close(fd) }
        // Some file systems cannot flush a directory (EINVAL); their renames are then as durable as they get.
        if fsync(fd) != 0 && errno != EINVAL { throw FileError(path: path, operation: "flush the directory", code: errno) }
    }

    /// Makes `path` and any missing parents (`mkdir -p`), flushing each parent that gained an
    /// entry, so the new directories survive a crash. An existing directory is fine; an existing
    /// file is an error.
    public static func createDirectory(_ path: String, sync: Bool = true) throws(FileError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw FileError(path: path, operation: "make the directory", code: EEXIST)
        }
        let up = parent(of: path)
        if up != path && up != "." && up != "/" { try createDirectory(up, sync: sync) }
        if mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw FileError(path: path, operation: "make the directory", code: errno)
        }
        if sync { try syncDirectory(up) }
    }

    /// Renames a finished, flushed temporary file or directory to `path` and flushes the parent.
    public static func publish(_ temporary: String, as path: String, sync: Bool = true) throws(FileError) {
        if rename(temporary, path) != 0 {
            let e = errno
            if e == EISDIR || e == ENOTEMPTY || e == EEXIST {
                // rename(2) cannot replace a directory with a file (or a non-empty directory).
                unlink(temporary)
                throw FileError(path: path, operation: "write", code: EISDIR)
            }
            unlink(temporary)
            throw FileError(path: path, operation: "write", code: e)
        }
        if sync { try syncDirectory(parent(of: path)) }
    }

    /// The directory part of `path` ("." for a bare name).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A hidden name beside `path`, unique to this process.
    public static func temporaryPath(for path: String) -> String {
        let dir = parent(of: path), name = path.split(separator: "/").last.map(String.init) ?? path
        return (dir == "." && !path.hasPrefix("./") ? "" : dir + "/") + ".\(name).tmp-\(getpid())"
    }

    /// Bytes free to an unprivileged writer on the file system holding `path` (or its parent when
    /// `path` does not exist yet); nil when unknown.
    public static func freeBytes(at path: String) -> Int64? {
        var s = statvfs()
        var probe = path
        while statvfs(probe, &s) != 0 {
            let up = parent(of: probe)
            if up == probe { return nil }
            probe = up
        }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    /// A file written piece by piece (a large array) that appears at its path only when `commit`
    /// succeeds; dropped uncommitted, it leaves nothing behind.
    public final class Stream {
        public let path: String
        let temporary: String
        var fd: Int32

        public init(creating path: String) throws(FileError) {
            self.path = path
            temporary = DurableFile.temporaryPath(for: path)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                throw FileError(path: path, operation: "write", code: EISDIR)
            }
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileError(path: path, operation: "write", code: errno) }
        }

        deinit { if fd >= 0 { close(fd); unlink(temporary) } }

        public func append(_ data: Data) throws(FileError) {
            let result: Int32 = data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 { if errno == EINTR { continue }; return errno }
                    offset += n
                }
                return 0
            }
            if result != 0 { abandon(); throw FileError(path: path, operation: "write", code: result) }
        }

        /// Flushes the file, renames it into place and flushes its directory.
        public func commit(sync: Bool = true) throws(FileError) {
            if sync && fsync(fd) != 0 { let e = errno; abandon(); throw FileError(path: path, operation: "write", code: e) }
            if close(fd) != 0 { let e = errno; fd = -1; unlink(temporary); throw FileError(path: path, operation: "write", code: e) }
            fd = -1
            try DurableFile.publish(temporary, as: path, sync: sync)
        }

        /// Removes the temporary file; the path keeps what it held before.
        public func abandon() {
            if fd >= 0 { close(fd); fd = -1 }
            unlink(temporary)
        }
    }
}

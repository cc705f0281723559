import Foundation
import GANModels
import RunFormat

/// What the studio serves: one run directory, one checkpoint, or a directory of runs. Runs are
/// named by their directory name; a request names a run by that name, never by a path.
public struct RunCatalog: Sendable {
    /// One run (or a lone checkpoint, which has no metrics or samples).
    public struct Run: Sendable, Equatable {
        public let name: String
        /// The directory, resolved (symbolic links followed): every file served lies inside it.
        public let path: String
        /// A checkpoint directory given directly rather than a run.
        public let isCheckpoint: Bool

        public var directory: RunDirectory { RunDirectory(path) }

        /// Complete checkpoints, oldest first, by name (`step-00001875`); a lone checkpoint is its own.
        public func checkpoints() -> [String] {
            if isCheckpoint { return [(path as NSString).lastPathComponent] }
            let listed = Checkpoint.list(directory.checkpointsDirectory)
            return (listed.isEmpty ? Checkpoint.list(path) : listed).map { ($0 as NSString).lastPathComponent }
        }

        /// Checkpoint names as the API lists them: `{"name": "step-00001875", "step": 1875}`.
        public static func describe(checkpoints names: [String]) -> [[String: Any]] {
            names.map { ["name": $0, "step": Checkpoint.step(ofName: $0) ?? 0] }
        }

        /// The directory of the checkpoint `name` (nil: the latest), which must be one of `checkpoints()`.
        public func checkpointPath(_ name: String?) throws -> String {
            if isCheckpoint {
                if let name, name != (path as NSString).lastPathComponent {
                    throw StudioError.notFound("run '\(self.name)' is a single checkpoint; it has no checkpoint '\(name.prefix(80))'")
                }
                return path
            }
            let all = checkpoints()
            guard let chosen = name ?? all.last else { throw StudioError.notFound("run '\(self.name)' has no checkpoint yet") }
            guard all.contains(chosen) else {
                throw StudioError.notFound("run '\(self.name)' has no checkpoint '\(chosen.prefix(80))'; it has \(all.suffix(5).joined(separator: ", "))\(all.count > 5 ? " and \(all.count - 5) earlier" : "")")
            }
            let inRun = directory.checkpointsDirectory + "/" + chosen
            return FileManager.default.fileExists(atPath: inRun) ? inRun : path + "/" + chosen
        }

        /// Sample grids the run wrote, by path inside the run, oldest first (by modification time).
        public func sampleGrids() -> [String] {
            let folder = directory.samplesDirectory
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".png") && !$0.hasPrefix(".") }
            let dated = names.map { name -> (String, Date) in
                let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)
                return (name, (attributes?[.modificationDate] as? Date) ?? .distantPast)
            }
            let relative = (folder as NSString).lastPathComponent + "/"
            return dated.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map { relative + $0.0 }
        }
    }

    public let root: String
    /// The runs, when `root` is a directory of runs; nil when it is one run or checkpoint.
    private let single: Run?

    /// `path` is a run directory, a checkpoint directory, or a directory whose sub-directories are runs.
    public init(path: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StudioError.notFound("\(path): no such directory (expected a run directory, a checkpoint or a directory of runs)")
        }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        root = resolved
        if Self.isRun(resolved) || Self.isCheckpoint(resolved) {
            single = Run(name: (resolved as NSString).lastPathComponent, path: resolved, isCheckpoint: Self.isCheckpoint(resolved))
        } else {
            single = nil
            guard !runs().isEmpty else {
                throw StudioError.notFound("\(path): no run here (expected a run directory with checkpoints/ or metrics.jsonl, a checkpoint with state.json, or a directory of runs)")
            }
        }
    }

    static func isCheckpoint(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + Checkpoint.stateFile) }
    static func isRun(_ path: String) -> Bool { RunDirectory.isRun(path) }

    /// Whether the studio serves several runs.
    public var isCollection: Bool { single == nil }

    /// The runs served, by name.
    public func runs() -> [Run] {
        if let single { return [single] }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name in
            let path = root + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            // A run is served only from inside the root: a symbolic link out of it is not a run here.
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
            guard resolved == path, Self.isRun(path) || Self.isCheckpoint(path) else { return nil }
            return Run(name: name, path: path, isCheckpoint: Self.isCheckpoint(path))
        }
    }

    /// The run `name` names (nil: the only one, or the first of a collection).
    public func run(_ name: String?) throws -> Run {
        if let single {
            if let name, name != single.name { throw StudioError.notFound("no run '\(name.prefix(80))'; this studio serves '\(single.name)'") }
            return single
        }
        let all = runs()
        guard let name else {
            guard let first = all.first else { throw StudioError.notFound("\(root): no run here") }
            return first
        }
        guard let run = all.first(where: { $0.name == name }) else { throw StudioError.notFound("no run '\(name.prefix(80))' in \(root)") }
        return run
    }

    /// The file `relative` inside `run`: a plain relative path whose resolved location (symbolic
    /// links followed) is a regular file inside the run's directory. Anything else is refused:
    /// absolute paths, `..`, empty or hidden components, links that lead out.
    public static func file(_ relative: String, in run: Run) throws -> String {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.isEmpty, relative.utf8.count <= 1024, !relative.hasPrefix("/"), !relative.contains("\0"),
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(".") }) else {
            throw StudioError.badRequest("parameter 'path' must be a relative path inside the run without '..', '.' or hidden parts, got '\(relative.prefix(80))'")
        }
        let candidate = run.path + "/" + relative
        let resolved = URL(fileURLWithPath: candidate).resolvingSymlinksInPath().standardizedFileURL.path
        guard resolved.hasPrefix(run.path + "/") else {
            throw StudioError.forbidden("'\(relative.prefix(80))' leads outside the run directory")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            throw StudioError.notFound("run '\(run.name)' has no file '\(relative.prefix(80))'")
        }
        guard !isDirectory.boolValue else { throw StudioError.badRequest("'\(relative.prefix(80))' is a directory, not a file") }
        return resolved
    }
}

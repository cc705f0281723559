import DurableIO
import Foundation
import RunFormat
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Datasets
import NN
import Tensors

/// Nothing lost: checkpoints by steps and by time, a resume that skips unreadable checkpoints, one
/// trainer per run directory, and a full disk during a checkpoint.
@Suite(.serialized) struct DurabilityTests {
    static let data = brightSquares(64)

    @Test func checkpointsComeByStepsAndByTime() throws {
        var config = tinyConfig(epochs: 2)  // 4 steps an epoch
        config.checkpointEvery = 0
        config.checkpointMinutes = 0
        config.checkpointSteps = 3
        config.keepCheckpoints = 10
        let dir = scratch("by-steps")
        _ = try Trainer(config: config, dataset: Self.data, runDirectory: dir).run()
        #expect(Checkpoint.list(dir + "/checkpoints").map { ($0 as NSString).lastPathComponent }
                == ["step-00000000", "step-00000003", "step-00000006", "step-00000008"])

        // By time: with a due time shorter than a step, every step but the last ends with one (the
        // last is the final checkpoint).
        config.checkpointSteps = 0
        config.checkpointMinutes = 1e-6
        let timed = scratch("by-time")
        let trainer = try Trainer(config: config, dataset: Self.data, runDirectory: timed)
        _ = try trainer.run()
        #expect(Checkpoint.list(timed + "/checkpoints").count == 9)
        #expect(trainer.checkpointSeconds.count == 9)

        // The default: none before ten minutes have passed, only the initial and the final one.
        config.checkpointMinutes = 10
        let quiet = scratch("by-default")
        _ = try Trainer(config: config, dataset: Self.data, runDirectory: quiet).run()
        #expect(Checkpoint.list(quiet + "/checkpoints").map { ($0 as NSString).lastPathComponent } == ["step-00000000", "step-00000008"])
    }

    @Test func resumeSkipsCheckpointsThatCannotBeRead() throws {
        var config = tinyConfig(epochs: 2)
        config.checkpointEvery = 0
        config.checkpointMinutes = 0
        config.checkpointSteps = 2
        config.keepCheckpoints = 4
        let straight = try Trainer(config: config, dataset: Self.data, runDirectory: scratch("skip-straight"))
        _ = try straight.run()

        let dir = scratch("skip")
        config.maxSteps = 6
        _ = try Trainer(config: config, dataset: Self.data, runDirectory: dir).run()
        let all = Checkpoint.list(dir + "/checkpoints")
        #expect(all.map { ($0 as NSString).lastPathComponent } == ["step-00000000", "step-00000002", "step-00000004", "step-00000006"])
        // The newest: a state.json cut short; the one before: a generator cut short.
        let state = all[3] + "/state.json", weights = all[2] + "/generator.safetensors"
        try Data(try Data(contentsOf: URL(fileURLWithPath: state)).prefix(40)).write(to: URL(fileURLWithPath: state))
        try Data(try Data(contentsOf: URL(fileURLWithPath: weights)).prefix(300)).write(to: URL(fileURLWithPath: weights))
        var warnings: [String] = []
        let resumed = try Trainer.resume(runDirectory: dir, dataset: Self.data, maxSteps: 8, warning: { warnings.append($0) })
        #expect(resumed.state.step == 2)
        #expect(warnings.count == 2)
        #expect(warnings.first?.contains("step-00000006/state.json") == true, "\(warnings)")
        #expect(warnings.last?.contains("step-00000004/generator.safetensors: truncated") == true, "\(warnings)")
        _ = try resumed.run()
        // Resumed from step 2, the run ends where the uninterrupted one did, bitwise.
        #expect(resumed.generator.parameters.map { $0.value.scalars } == straight.generator.parameters.map { $0.value.scalars })
        #expect(resumed.discriminator.parameters.map { $0.value.scalars } == straight.discriminator.parameters.map { $0.value.scalars })
        // metrics.jsonl keeps no line of the abandoned steps twice.
        let steps = resumed.directory.readHistory(upTo: 100).map(\.step)
        #expect(steps == Array(Set(steps)).sorted(), "\(steps)")

        // When no checkpoint can be read, the newest one's error.
        let broken = scratch("all-broken")
        config.maxSteps = 2
        _ = try Trainer(config: config, dataset: Self.data, runDirectory: broken).run()
        for checkpoint in Checkpoint.list(broken + "/checkpoints") {
            try Data("{".utf8).write(to: URL(fileURLWithPath: checkpoint + "/state.json"))
        }
        #expect(throws: CheckpointError.self) { try Trainer.resume(runDirectory: broken, dataset: Self.data) }
    }

    @Test func oneTrainerPerRunDirectory() throws {
        let dir = scratch("locked")
        var config = tinyConfig(epochs: 1)
        config.maxSteps = 1
        let first = try Trainer(config: config, dataset: Self.data, runDirectory: dir)
        do {
            _ = try Trainer.resume(runDirectory: dir, dataset: Self.data)
            Issue.record("a second trainer took a locked run")
        } catch let error as RunDirectoryError {
            guard case .busy(_, let holder) = error else { Issue.record("\(error)"); return }
            #expect(holder.contains("process \(getpid())"), "\(holder)")
        }
        // A new run in the same place is refused as well (the lock is checked before the directory).
        #expect(throws: RunDirectoryError.self) { try Trainer(config: config, dataset: Self.data, runDirectory: dir) }
        _ = try first.run()  // releases the lock when it returns
        let second = try Trainer.resume(runDirectory: dir, dataset: Self.data, maxSteps: 2)
        _ = try second.run()
        #expect(second.state.step == 2)
    }

    /// A full disk in the middle of a checkpoint: the write fails with the system's words, leaves
    /// nothing behind, and the previous checkpoint stays the latest and resumes. Needs a small
    /// tmpfs, so root.
    @Test(.enabled(if: Self.canMountTmpfs, "mounting a tmpfs needs root (CAP_SYS_ADMIN); the full-disk test is skipped"))
    func aFullDiskDuringACheckpointKeepsThePreviousOne() throws {
        let mount = scratch("tmpfs")
        try run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount])
        defer { try? run("/bin/umount", [mount]) }
        let dir = mount + "/run"
        var config = tinyConfig(epochs: 1)
        config.checkpointEvery = 0
        config.checkpointMinutes = 0
        config.logEvery = 1000
        let trainer = try Trainer(config: config, dataset: Self.data, runDirectory: dir)
        _ = try trainer.run(shouldStop: { trainer.state.step == 2 })  // checkpoints step 2
        let first = try #require(Checkpoint.list(dir + "/checkpoints").last)
        let size = try FileManager.default.contentsOfDirectory(atPath: first)
            .map { try FileManager.default.attributesOfItem(atPath: first + "/" + $0)[.size] as! Int }.reduce(0, +)
        // Fill the disk, leaving room for half a checkpoint.
        let ballast = mount + "/ballast"
        let free = try #require(DurableFile.freeBytes(at: mount))
        try Data(count: Int(free) - size / 2).write(to: URL(fileURLWithPath: ballast))
        do {
            _ = try trainer.run(shouldStop: { trainer.state.step == 3 })  // stops with a checkpoint of step 3
            Issue.record("a checkpoint larger than the free space was written")
        } catch let error as CheckpointError {
            #expect("\(error)".hasSuffix("cannot write checkpoint: no space left on device"), "\(error)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints").sorted()
        #expect(names == ["step-00000000", "step-00000002"], "\(names)")
        try FileManager.default.removeItem(atPath: ballast)
        let resumed = try Trainer.resume(runDirectory: dir, dataset: Self.data)
        #expect(resumed.state.step == 2)
        _ = try resumed.run()
        #expect(resumed.state.step == 4)
    }

    /// A read-only file system: one line with the path and the system's words.
    @Test(.enabled(if: Self.canMountTmpfs, "mounting a tmpfs needs root (CAP_SYS_ADMIN); the read-only test is skipped"))
    func aReadOnlyFileSystemIsNamedInOneLine() throws {
        let mount = scratch("tmpfs-ro")
        try run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", mount])
        defer { try? run("/bin/umount", [mount]) }
        do {
            _ = try Trainer(config: tinyConfig(), dataset: Self.data, runDirectory: mount + "/run")
            Issue.record("a run was created on a read-only file system")
        } catch {
            #expect("\(error)" == "\(mount)/run: cannot write: read-only file system")
        }
    }

    static var canMountTmpfs: Bool {
        guard getuid() == 0 else { return false }
        let probe = scratch("tmpfs-probe")
        guard (try? run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe])) != nil else { return false }
        try? run("/bin/umount", [probe])
        return true
    }
}

/// Runs a program (bounded: 60 s) and throws when it fails.
func run(_ program: String, _ args: [String]) throws {
    if try runProcess(program, args, timeout: 60).status != 0 { throw CocoaError(.fileWriteUnknown) }
}

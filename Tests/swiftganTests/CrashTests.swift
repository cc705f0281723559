import Foundation
import Testing
import TestSupport
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining

/// Nothing lost whatever happens to the process: `kill -9` at random moments (some in the middle
/// of a checkpoint), the order of the system calls that make a file durable, a second trainer on
/// the same run, and generation that does not fit in memory.
@Suite(.serialized) struct CrashTests {
    /// 48 images in batches of 8: 6 steps an epoch.
    static let common = ["--data", CLITests.data, "--batch-size", "8", "--width", "4", "--latent", "8", "--sample-every", "0",
                         "--log-every", "1", "--checkpoint-every", "0", "--checkpoint-minutes", "0"]

    /// Starts `swiftgan` with `args` (bounded where it is waited for: `finish(within:)`).
    static func start(_ args: [String], environment: [String: String] = [:]) throws -> TestProcess {
        try TestProcess(swiftgan(), args, environment: environment)
    }

    static func lastLoggedStep(_ run: String) -> Int {
        let text = (try? String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line -> Int? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["step"] as? Int
        }.max() ?? 0
    }

    static func step(of checkpoint: String) -> Int { Int(checkpoint.suffix(8)) ?? -1 }

    /// SIGKILL at ten moments drawn from a fixed seed, three of them while a checkpoint is being
    /// written (each file made 40 ms slower); every resume starts from a checkpoint at most one
    /// interval old, and the weights at the end equal an uninterrupted run's, bitwise.
    @Test func killedTenTimesTheRunStillEndsWithTheSameWeights() throws {
        let interval = 3, epochs = 20  // 120 steps
        let straight = scratch("kill-straight") + "/run"
        let s = try runCLI(["train"] + Self.common + ["--checkpoint-steps", "\(interval)", "--epochs", "\(epochs)", "--out", straight])
        #expect(s.status == 0, "\(s.stderr)")

        let run = scratch("kill") + "/run", logs = scratch("kill-logs")
        var rng = SplitMix(state: 7)
        var kills = 0, previous = 0
        for moment in 0..<10 {
            let args = moment == 0
                ? ["train"] + Self.common + ["--checkpoint-steps", "\(interval)", "--epochs", "\(epochs)", "--out", run]
                : ["train", "--resume", run]
            let p = try Self.start(args, environment: ["SWIFTGAN_TEST_CHECKPOINT_DELAY_MS": "40"])
            let deadline = Date().addingTimeInterval(60)
            if moment % 3 == 1 {
                // In the middle of a checkpoint: as soon as a temporary checkpoint directory appears.
                while p.isRunning && Date() < deadline
                        && !((try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")) ?? []).contains(where: { $0.hasPrefix(".tmp-step") }) {
                    usleep(1_000)
                }
                usleep(UInt32.random(in: 0...60_000, using: &rng))
            } else {
                // Some time after this part of the run has taken its first step.
                while p.isRunning && Date() < deadline && Self.lastLoggedStep(run) <= previous { usleep(2_000) }
                usleep(UInt32.random(in: 0...300_000, using: &rng))
            }
            guard p.isRunning else { break }  // it finished first: nothing left to kill
            kill(p.pid, SIGKILL)
            p.finish(within: 30)
            kills += 1
            let reached = Self.lastLoggedStep(run)
            let latest = Checkpoint.list(run + "/checkpoints").last.map(Self.step) ?? 0
            #expect(reached - latest <= interval, "killed at step \(reached), the latest checkpoint is of step \(latest)")
            let resumedFrom = latest
            previous = resumedFrom
        }
        #expect(kills == 10, "the run finished after \(kills) kills; the test needs a longer run")
        let last = try runCLI(["train", "--resume", run])
        #expect(last.status == 0, "\(last.stderr)")
        #expect(!last.stdout.contains("warning"), "\(last.stdout)")
        let a = try #require(Checkpoint.list(straight + "/checkpoints").last), b = try #require(Checkpoint.list(run + "/checkpoints").last)
        #expect(Self.step(of: a) == epochs * 6 && Self.step(of: b) == epochs * 6)
        for file in ["generator.safetensors", "discriminator.safetensors", "optimizer.safetensors"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: a + "/" + file)) == Data(contentsOf: URL(fileURLWithPath: b + "/" + file)), "\(file)")
        }
        // The logs lost only lines after each kill's last checkpoint, and kept no half line: every
        // line of metrics.jsonl is whole, each step once and in order, as in the straight run; and
        // TensorBoard's reader sees each step once.
        func steps(_ run: String) throws -> [Int] {
            try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
                let object = try #require(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "a broken line: \(line)")
                return try #require(object["step"] as? Int)
            }
        }
        let killedSteps = try steps(run)
        #expect(killedSteps == (try steps(straight)), "metrics.jsonl of the killed run: \(killedSteps)")
        let tensorboard = try python("""
        import sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        ea = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0}); ea.Reload()
        print(" ".join(str(e.step) for e in ea.Scalars('loss/D')))
        """, [run])
        #expect(tensorboard.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } == killedSteps,
                "TensorBoard's steps: \(tensorboard)")
    }

    /// While one `swiftgan train` runs, a second on the same directory is refused, naming the
    /// first; once the first is killed, its lock is free and `--resume` takes it.
    @Test func aSecondTrainerIsRefusedAndADeadOnesLockIsTakenOver() throws {
        let run = scratch("lock") + "/run", logs = scratch("lock-logs")
        let p = try Self.start(["train"] + Self.common + ["--checkpoint-steps", "2", "--epochs", "100", "--out", run])
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline && Checkpoint.list(run + "/checkpoints").isEmpty { usleep(5_000) }
        let second = try runCLI(["train", "--resume", run])
        #expect(second.status == 1)
        #expect(second.stderr.hasPrefix("error: \(run): another process is training this run (process \(p.pid): "),
                "\(second.stderr)")
        let fresh = try runCLI(["train"] + Self.common + ["--out", run])
        #expect(fresh.status == 1 && fresh.stderr.contains("another process is training this run"), "\(fresh.stderr)")
        kill(p.pid, SIGKILL)
        p.finish(within: 30)
        let taken = try runCLI(["train", "--resume", run, "--epochs", "1"])
        #expect(taken.status == 0, "\(taken.stderr)")
    }

    /// Every file that matters is flushed before it is renamed into place, and its directory after:
    /// the order of `fsync` and `rename` as `strace` sees it.
    @Test(.enabled(if: CrashTests.strace != nil, "strace is not installed or cannot trace here; the system-call order is not checked"))
    func durableWritesFlushThenRenameThenFlushTheDirectory() throws {
        let run = scratch("strace") + "/run", log = scratch("strace-log") + "/trace"
        let r = try runCLIUnder(["/usr/bin/strace", "-f", "-qq", "-o", log, "-e", "trace=openat,open,fsync,fdatasync,rename,renameat,renameat2,mkdir",
                                 swiftgan(), "train"] + Self.common + ["--max-steps", "2", "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        let events = try StraceLog(String(contentsOfFile: log, encoding: .utf8))
        let checkpoint = try #require(Checkpoint.list(run + "/checkpoints").last)
        for file in [run + "/config.json", run + "/samples/final.png", run + "/loss.png"] {
            events.expectDurable(file)
        }
        // The checkpoint: each file durable inside the temporary directory, that directory
        // flushed, renamed into place, the checkpoints directory flushed.
        let name = (checkpoint as NSString).lastPathComponent
        let temporary = try #require(events.renames.first { $0.to == checkpoint }?.from, "no rename to \(checkpoint)")
        for file in ["generator.safetensors", "discriminator.safetensors", "optimizer.safetensors", "state.json"] {
            events.expectDurable(temporary + "/" + file)
        }
        let renamed = try #require(events.index { $0 == .rename(from: temporary, to: checkpoint) })
        #expect(events.index(before: renamed) { $0 == .fsync(temporary) } != nil, "\(name): its directory is not flushed before the rename")
        #expect(events.index(after: renamed) { $0 == .fsync(run + "/checkpoints") } != nil, "checkpoints/: not flushed after the rename")
    }

    static let strace: String? = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"),
              let r = try? runCLIUnder(["/usr/bin/strace", "-o", "/dev/null", "/bin/true"]), r.status == 0 else { return nil }
        return "/usr/bin/strace"
    }()

    /// 50,000 images of 28×28 as an .npy (157 MB) in a process whose address space is capped
    /// below what holding them would take: it succeeds, NumPy reads the whole array, and the
    /// peak resident memory stays far below the array's size.
    @Test func generationLargerThanMemoryStreamsToTheDisk() throws {
        let run = scratch("big-run") + "/run"
        let t = try runCLI(["train"] + Self.common + ["--max-steps", "1", "--out", run])
        #expect(t.status == 0, "\(t.stderr)")
        let out = scratch("big") + "/x.npy", count = 50_000
        // The child's peak resident memory, measured by a Python parent that runs only it.
        let script = """
        import resource, subprocess, sys
        limit = int(sys.argv[1])
        def cap(): resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        r = subprocess.run(sys.argv[2:], preexec_fn=cap, capture_output=True, text=True, timeout=120)
        print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, r.stderr.strip().replace("\\n", " | "))
        """
        let baseline = try python(script, ["\(64 << 30)", swiftgan(), "sample", run, "--count", "64", "--out", scratch("small") + "/s.npy"])
        let baseRSS = Int(baseline.split(separator: " ")[1])!
        let arrayBytes = count * 28 * 28 * 4
        let limit = Self.addressSpace(swiftgan(), run) + arrayBytes / 2
        let report = try python(script, ["\(limit)", swiftgan(), "sample", run, "--count", "\(count)", "--out", out])
        let fields = report.split(separator: " ", maxSplits: 2)
        #expect(fields[0] == "0", "\(report)")
        let peak = Int(fields[1])!
        #expect(peak < baseRSS + arrayBytes / 4, "peak \(peak) bytes, \(baseRSS) for 64 images, the array is \(arrayBytes)")
        let shape = try python("import sys, numpy as np\na = np.load(sys.argv[1], mmap_mode='r')\nprint(a.shape, bool(np.isfinite(a[-1]).all()))", [out])
        #expect(shape.trimmingCharacters(in: .whitespacesAndNewlines) == "(50000, 28, 28, 1) True")
        print("generation of \(count) images: peak RSS \(peak >> 20) MiB (64 images: \(baseRSS >> 20) MiB; the array is \(arrayBytes >> 20) MiB; address space capped at \(limit >> 20) MiB)")
    }

    /// The BLAS configurations of Debian machines: OpenBLAS (the `libblas.so.3` alternative once
    /// NumPy or SciPy is installed from Debian) and reference BLAS, each put first on the library
    /// path. No command loads a BLAS now (ArchitectureTests checks it); these runs keep it so on
    /// both (`make test` installs both packages). OpenBLAS's allocator used to spin forever under
    /// an address-space limit in `eval` (issue 33).
    static let blasConfigurations: [(name: String, libraryPath: String)] = [
        ("OpenBLAS", "/usr/lib/x86_64-linux-gnu/openblas-pthread"),
        ("reference BLAS", "/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack"),
    ]

    /// `swiftgan studio` under `prlimit`: it serves a grid and the run, then SIGTERM; prints the
    /// exit status, whether it started and served, and its output.
    static let studioUnderLimit = #"""
    import json, os, signal, subprocess, sys, time, urllib.request
    limit, binary, run, out_path = sys.argv[1:5]
    out = open(out_path, "w+b")
    p = subprocess.Popen(["/usr/bin/prlimit", "--as=" + limit, binary, "studio", run, "--port", "0"], stdout=out, stderr=subprocess.STDOUT,  # bounded: p.wait(timeout=…) below
                         preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, []))
    def text():
        out.seek(0); return out.read().decode("utf-8", "replace")
    deadline = time.monotonic() + 30
    while " at http://" not in text() and p.poll() is None and time.monotonic() < deadline: time.sleep(0.02)
    served = []
    if p.poll() is None and " at http://" in text():
        base = text().split(" at http://")[1].split()[0].split("?")[0]
        for path in ["api/grid?seeds=0,1,2,3,4,5,6,7", "api/run"]:
            try:
                with urllib.request.urlopen("http://" + base + path, timeout=20) as r: served.append(r.status)
            except Exception as e: served.append(str(e)[:80])
        p.send_signal(signal.SIGTERM)
    try: p.wait(timeout=max(deadline - time.monotonic(), 5))
    except subprocess.TimeoutExpired: p.kill(); p.wait(); served.append("hung")
    print(json.dumps({"status": p.returncode, "served": served, "stderr": text()}))
    """#

    /// Under address-space limits from far too small to enough (160 MiB to 1 GiB), with OpenBLAS
    /// and with reference BLAS, every command — sample, train, eval, export, interpolate, project, studio —
    /// returns within 30 s: success, or one line naming memory (after at most one line of the Swift
    /// runtime's own, for an allocation of its that failed) and exit code 1 — never a signal, never a
    /// hang. Below what the shared libraries take, the system's loader refuses before swiftgan runs
    /// (exit 127, its one line).
    @Test func everyCommandEndsCleanlyUnderAnyMemoryLimit() throws {
        let directory = scratch("memory-limits"), run = directory + "/run"
        #expect(try runCLI(["train"] + Self.common + ["--max-steps", "1", "--out", run]).status == 0)
        #expect(try runCLI(["sample", run, "--count", "1", "--out", directory + "/target.png"]).status == 0)
        // The emoji set drawn once under a tight limit (drawing 1 870 glyphs takes 25 s on a loaded
        // 2-core machine, too close to the 30 s bound below, where the runs read it from the cache).
        let drawn = try runProcess("/usr/bin/prlimit", ["--as=\(256 << 20)", swiftgan(), "train", "--data", "emoji", "--image-size", "32",
                                                        "--batch-size", "8", "--width", "4", "--latent", "8", "--max-steps", "1",
                                                        "--sample-every", "0", "--out", directory + "/draw"], timeout: 180)
        #expect(drawn.status == 0 || drawn.status == 1 && drawn.stderr.contains("error: out of memory"), "drawing the emoji set under 256 MiB: \(drawn.stderr)")
        let commands: [(String, [String])] = [
            ("sample", ["sample", run, "--count", "64", "--out", directory + "/x.npy"]),
            ("train", ["train"] + Self.common + ["--max-steps", "1", "--out", directory + "/t"]),
            ("eval", ["eval", run, "--count", "100", "--json"]),
            ("export", ["export", run, "--out", directory + "/g.onnx"]),
            ("interpolate", ["interpolate", run, "--steps", "8", "--out", directory + "/w.gif"]),
            ("project", ["project", run, directory + "/target.png", "--steps", "5", "--candidates", "16", "--out", directory + "/z.npy"]),
            ("studio", []),
            // The built-in emoji set (drawn, or read from the cache) and a time budget.
            ("train emoji", ["train", "--data", "emoji", "--image-size", "32", "--batch-size", "8", "--width", "4", "--latent", "8",
                             "--max-steps", "1", "--sample-every", "0", "--out", directory + "/e"]),
            ("train --minutes", ["train"] + Self.common + ["--minutes", "0.01", "--out", directory + "/m"]),
        ]
        for (blas, libraryPath) in Self.blasConfigurations {
            try #require(FileManager.default.fileExists(atPath: libraryPath.split(separator: ":")[0] + "/libblas.so.3"),
                         "\(blas) is not installed in \(libraryPath) (make test installs libopenblas0-pthread and libblas3)")
        }
        // The two configurations side by side (one per core: each run is a short, mostly
        // single-threaded process); the 30 s bound has room for that.
        DispatchQueue.concurrentPerform(iterations: Self.blasConfigurations.count) { index in
            let (blas, libraryPath) = Self.blasConfigurations[index]
            let environment = ["LD_LIBRARY_PATH": libraryPath]
            var outcomes: [String] = []
            for limit in [48, 160, 256, 320, 448, 1024] where limit > 48 || index == 0 {
                for (name, args) in commands {
                    let start = Date()
                    let status: Int32, stderr: String
                    do {
                        if name == "studio" {
                            let r = try runProcess(pythonPath(), ["-c", Self.studioUnderLimit, "\(limit << 20)", swiftgan(), run,
                                                                  scratch("studio-limit-\(index)") + "/out"], timeout: 60, environment: environment)
                            let o = try json(r.stdout) as! [String: Any]
                            (status, stderr) = (Int32(o["status"] as! Int), o["stderr"] as! String)
                            let served = (o["served"] as! [Any]).map { "\($0)" }
                            #expect(status != 0 || served == ["200", "200"], "studio under \(limit) MiB with \(blas) exited 0 but served \(served): \(stderr)")
                        } else {
                            var args = args
                            if name.hasPrefix("train") { args[args.count - 1] += "-\(limit)-\(index)" }
                            let r = try runProcess("/usr/bin/prlimit", ["--as=\(limit << 20)", swiftgan()] + args, timeout: 60, environment: environment)
                            (status, stderr) = (r.status, r.stderr)
                        }
                    } catch {
                        Issue.record("\(name) under \(limit) MiB with \(blas): \(error)")
                        continue
                    }
                    let seconds = Date().timeIntervalSince(start)
                    let lines = stderr.split(separator: "\n").map(String.init).filter { name != "studio" || !$0.hasPrefix("studio of") && $0 != "stopping" && $0 != "stopped" }
                    outcomes.append("\(limit) MiB \(name): \(status) in \(String(format: "%.1f", seconds)) s")
                    #expect(seconds < 30, "\(name) under \(limit) MiB with \(blas) took \(seconds) s")
                    switch status {
                    case 0: break
                    case 1:
                        #expect(lines.last?.hasPrefix("error: out of memory") == true && lines.count <= 2
                                && (lines.count == 1 || lines[0].contains("Fatal error") || lines[0].isEmpty),
                                "\(name) under \(limit) MiB with \(blas): \(stderr)")
                    case 127:
                        #expect(lines.count == 1 && lines[0].contains("error while loading shared libraries"), "\(name) under \(limit) MiB: \(stderr)")
                    default:
                        Issue.record("\(name) under \(limit) MiB with \(blas) ended with status \(status): \(stderr.suffix(1_000))")
                    }
                    if limit == 1024 { #expect(status == 0, "\(name) with enough memory and \(blas): \(stderr)") }
                }
            }
            print("memory limits with \(blas): " + outcomes.joined(separator: "; "))
        }
    }

    /// The address space `swiftgan sample` of 64 images reserves (thread stacks and arenas count
    /// here though they are never touched).
    static func addressSpace(_ tool: String, _ run: String) -> Int {
        // Bisect the smallest RLIMIT_AS under which a small sample succeeds, to within 32 MiB: at
        // most 7 runs of a fraction of a second (a process under a too-small limit ends at once).
        var low = 64 << 20, high = 4 << 30
        while high - low > 32 << 20 {
            let mid = (low + high) / 2
            let r = try? python("""
            import resource, subprocess, sys
            l = int(sys.argv[1])
            r = subprocess.run(sys.argv[2:], preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (l, l)), capture_output=True, timeout=60)
            print(r.returncode)
            """, ["\(mid)", tool, "sample", run, "--count", "64", "--out", scratch("probe") + "/p.npy"])
            if r?.trimmingCharacters(in: .whitespacesAndNewlines) == "0" { high = mid } else { low = mid }
        }
        return high
    }
}

/// A command (not necessarily swiftgan) with its output, bounded by `timeout` seconds.
func runCLIUnder(_ command: [String], timeout: Double = 300) throws -> CommandResult {
    try runProcess(command[0], Array(command.dropFirst()), timeout: timeout)
}

/// The file events of an `strace -f` log in order, with descriptors resolved to paths.
struct StraceLog {
    enum Event: Equatable { case open(String), fsync(String), rename(from: String, to: String) }
    var events: [Event] = []

    init(_ text: String) throws {
        var fds: [String: String] = [:]  // "pid:fd" → path
        func quoted(_ s: Substring) -> [String] { s.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) } }
        for line in text.split(separator: "\n") {
            // "PID  call(…) = result": strace pads the process id to a fixed width.
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let pid = parts[0], call = parts[1].drop { $0 == " " }
            // "name(arguments)   = result"
            guard let paren = call.firstIndex(of: "("), let equals = call.range(of: " = ", options: .backwards),
                  let close = call[..<equals.lowerBound].lastIndex(of: ")") else { continue }
            let name = call[..<paren], result = call[equals.upperBound...].split(separator: " ").first.flatMap { Int($0) } ?? -1
            guard result >= 0 else { continue }
            let args = call[call.index(after: paren)..<close]
            switch name {
            case "openat", "open":
                guard let path = quoted(args).first else { continue }
                let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
                fds["\(pid):\(result)"] = absolute
                events.append(.open(absolute))
            case "fsync", "fdatasync":
                if let fd = Int(args), let path = fds["\(pid):\(fd)"] { events.append(.fsync(path)) }
            case "rename", "renameat", "renameat2":
                let q = quoted(args)
                if q.count == 2 { events.append(.rename(from: q[0], to: q[1])) }
            default: continue
            }
        }
    }

    var renames: [(from: String, to: String)] { events.compactMap { if case .rename(let a, let b) = $0 { return (a, b) } else { return nil } } }

    func index(where match: (Event) -> Bool) -> Int? { events.firstIndex(where: match) }
    func index(before i: Int, where match: (Event) -> Bool) -> Int? { events[..<i].lastIndex(where: match) }
    func index(after i: Int, where match: (Event) -> Bool) -> Int? { events[(i + 1)...].firstIndex(where: match) }

    /// `file` was written to a temporary file that was flushed, then renamed to it, then its
    /// directory flushed.
    func expectDurable(_ file: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let r = events.lastIndex(where: { if case .rename(_, file) = $0 { return true } else { return false } }),
              case .rename(let temporary, _) = events[r] else {
            Issue.record("\(file): never renamed into place", sourceLocation: sourceLocation)
            return
        }
        #expect(index(before: r) { $0 == .fsync(temporary) } != nil, "\(file): \(temporary) is not flushed before the rename",
                sourceLocation: sourceLocation)
        #expect(index(after: r) { $0 == .fsync((file as NSString).deletingLastPathComponent) } != nil, "\(file): its directory is not flushed after the rename",
                sourceLocation: sourceLocation)
    }
}

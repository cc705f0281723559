import Foundation
import Testing
import TestSupport
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import NN
import Tensors

/// `mpiexec -n N swiftgan train`: the same computation as one process, rank 0 alone writing, and
/// the refusals. Skipped with the reason where MPICH's mpiexec is missing.
@Suite(.serialized) struct DistributedTests {
    static let available = FileManager.default.isExecutableFile(atPath: "/usr/bin/mpiexec")

    static func args(_ out: String, steps: Int = 15) -> [String] {
        ["train", "--data", CLITests.data, "--max-steps", "\(steps)", "--batch-size", "16", "--width", "4", "--latent", "8", "--out", out]
    }

    /// A process run in the background, its standard output and error together in one log.
    final class Job {
        let test: TestProcess
        var process: Process { test.process }

        init(_ executable: String, _ arguments: [String]) throws {
            test = try TestProcess(executable, arguments, mergeOutput: true)
        }

        /// Waits at most `seconds` for the process to end (`stop` ends it past that, and the test
        /// bounds the wait after that too); returns the seconds it took.
        func waitUntilExit(within seconds: Double, stop: (Process) -> Void) -> Double {
            let start = Date()
            while process.isRunning && Date().timeIntervalSince(start) < seconds { usleep(50_000) }
            let took = Date().timeIntervalSince(start)
            if process.isRunning { stop(process) }
            test.finish(within: 30)
            return took
        }

        /// Everything it wrote (after it ended).
        func output() -> String { test.stdout }
    }

    /// The first process whose command line and environment (NUL-separated, from /proc) match.
    static func process(where match: (_ cmdline: String, _ environ: String) -> Bool) -> Int32? {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).first { pid in
            func read(_ file: String) -> String {
                String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/\(file)"))) ?? Data(), as: UTF8.self)
            }
            return match(read("cmdline"), read("environ"))
        }
    }


    /// Parameters and buffers of a checkpoint's networks, by name.
    static func tensors(_ checkpoint: String) throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for network in ["generator", "discriminator"] {
            for (name, t) in try SafeTensors(contentsOf: checkpoint + "/\(network).safetensors").allTensors() { out[network + "." + name] = t.scalars }
        }
        return out
    }

    /// With --sync-batchnorm, 2 processes at global batch 16 end with the weights of one process at
    /// batch 16 after 15 steps, to float-summation tolerance. Left out: the biases of convolutions
    /// that a batch norm follows, and that norm's running mean: their gradient is zero in exact
    /// arithmetic (the norm removes any constant), so Adam turns rounding noise into ±lr steps that
    /// differ between any two summation orders, without changing the function.
    @Test func twoProcessesWithSyncBatchNormComputeWhatOneDoes() throws {
        guard Self.available else { print("skipped: /usr/bin/mpiexec (MPICH) is not installed"); return }
        let one = scratch("mpi-one") + "/run", two = scratch("mpi-two") + "/run"
        #expect(try runCLI(Self.args(one)).status == 0)
        let r = try runMPI(2, Self.args(two) + ["--sync-batchnorm"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("data-parallel over 2 processes: global batch 16, 8 per process"), "\(r.stdout)")
        #expect(r.stdout.components(separatedBy: "done: 15 steps").count == 2, "only rank 0 prints")
        let a = try Self.tensors(one + "/checkpoints/step-00000015"), b = try Self.tensors(two + "/checkpoints/step-00000015")
        #expect(Set(a.keys) == Set(b.keys))
        // D: convolutions at main.2 and main.5 feed the batch norms at main.3 and main.6.
        let nullSpace: Set<String> = ["discriminator.main.2.bias", "discriminator.main.3.running_mean",
                                      "discriminator.main.5.bias", "discriminator.main.6.running_mean"]
        let (worst, worstName) = largestDifference(a, b, excluding: nullSpace)
        print("sync batch norm, 2 processes vs 1 after 15 steps: largest difference \(worst) (\(worstName))")
        #expect(worst < 1e-5, "\(worstName): \(worst)")
        let state = try Checkpoint.readState(two + "/checkpoints/step-00000015")
        #expect(state.worldSize == 2 && state.config.syncBatchNorm)
        // Rank 1 (its PID in the run's "processes:" line) left no scratch directory behind.
        let pid = try #require(r.stdout.components(separatedBy: "rank 1 pid ").dropFirst().first?.split(separator: " ").first)
        #expect(!FileManager.default.fileExists(atPath: NSTemporaryDirectory() + "swiftgan-rank-1-\(pid)"))
    }

    /// The gradient penalties under mpiexec: R3GAN's recipe (rpgan, R1, R2) on an SNGAN — no batch
    /// norm in D, G's synchronized — over 2 processes ends with the weights of one process (G's
    /// biases before a batch norm and those norms' running means left out, as above); a
    /// discriminator with batch norm and synchronized batch norm is refused in one line.
    @Test func gradientPenaltiesOverTwoProcessesComputeWhatOneDoes() throws {
        guard Self.available else { print("skipped: /usr/bin/mpiexec (MPICH) is not installed"); return }
        // sngan turns DiffAugment on for this small dataset: its draws are the global batch's, sliced.
        let recipe = ["--model", "sngan", "--loss", "rpgan", "--r1", "1", "--r2", "1", "--ema", "0"]
        let one = scratch("mpi-penalty-one") + "/run", two = scratch("mpi-penalty-two") + "/run"
        let single = try runCLI(Self.args(one) + recipe)
        #expect(single.status == 0, "\(single.stderr)")
        let r = try runMPI(2, Self.args(two) + recipe + ["--sync-batchnorm"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try Self.tensors(one + "/checkpoints/step-00000015"), b = try Self.tensors(two + "/checkpoints/step-00000015")
        #expect(Set(a.keys) == Set(b.keys))
        let nullSpace: Set<String> = ["generator.main.0.bias", "generator.main.2.running_mean", "generator.main.4.bias",
                                      "generator.main.5.running_mean", "generator.main.7.bias", "generator.main.8.running_mean"]
        let (worst, worstName) = largestDifference(a, b, excluding: nullSpace)
        print("R3GAN recipe, 2 processes vs 1 after 15 steps: largest difference \(worst) (\(worstName))")
        #expect(worst < 1e-5, "\(worstName): \(worst)")
        let bad = try runMPI(2, Self.args(scratch("mpi-penalty-bad") + "/run") + ["--r1", "1", "--sync-batchnorm"])
        #expect(bad.status != 0 && bad.stderr.contains("cannot pass through the discriminator's synchronized batch norm"), "\(bad.stderr)")
    }

    /// Without synchronization each process normalizes its own slice (PyTorch DDP's default): it
    /// trains, and differs from one process only by that.
    @Test func perProcessBatchNormTrainsAndRefusalsNameTheFlag() throws {
        guard Self.available else { print("skipped: /usr/bin/mpiexec (MPICH) is not installed"); return }
        let run = scratch("mpi-plain") + "/run"
        let r = try runMPI(2, Self.args(run))
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        let state = try Checkpoint.readState(run + "/checkpoints/step-00000015")
        #expect(state.worldSize == 2 && !state.config.syncBatchNorm)
        let lines = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && !lines.contains { $0.contains("nan") })  // steps 1 and 10

        // A rank that fails alone ends the job at once (its peers would wait in a collective).
        let started = Date()
        let missing = try runMPI(2, ["train", "--resume", scratch("mpi-missing") + "/run"], timeout: 60)
        #expect(missing.status != 0 && missing.stderr.contains("rank 0: error: ") && missing.stderr.contains("no checkpoint here"),
                "\(missing.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
        var bad = try runMPI(2, Self.args(scratch("mpi-bad") + "/run") + ["--batch-size", "15"])
        #expect(bad.status != 0 && bad.stderr.contains("rank 0: error: --batch-size 15 does not split over 2 processes"), "\(bad.stderr)")
        bad = try runCLI(Self.args(scratch("mpi-bad2") + "/run") + ["--sync-batchnorm"])
        #expect(bad.status != 0 && bad.stderr.contains("--sync-batchnorm applies only to a job of several processes"), "\(bad.stderr)")
        // Another dataset on one of the processes: refused at the start, naming both.
        let other = scratch("mpi-other-data")
        try writeIDX(brightSquares(40, size: 28, seed: 3), to: other)
        bad = try runMPI(1, Self.args(scratch("mpi-bad3") + "/run"),
                         segments: [(1, ["train", "--data", other, "--max-steps", "15", "--batch-size", "16", "--width", "4", "--latent", "8",
                                         "--out", scratch("mpi-bad3b") + "/run"])])
        #expect(bad.status != 0 && bad.stderr.contains("the processes' datasets differ (rank 0 on") && bad.stderr.contains("rank 1 on"), "\(bad.stderr)")
    }

    /// Stopped at step 6 and resumed with the same 2 processes: bitwise the weights of a straight
    /// run (rank 0 sends its checkpoint to the others; no shared disk). Resumed with 1 process, it
    /// continues and says once that the result is no longer bitwise that of an uninterrupted run.
    @Test func resumingWithTheSameProcessesIsBitwiseExact() throws {
        guard Self.available else { print("skipped: /usr/bin/mpiexec (MPICH) is not installed"); return }
        let straight = scratch("mpi-straight") + "/run", resumed = scratch("mpi-resumed") + "/run"
        #expect(try runMPI(2, Self.args(straight)).status == 0)
        #expect(try runMPI(2, Self.args(resumed, steps: 6)).status == 0)
        let r = try runMPI(2, ["train", "--resume", resumed, "--max-steps", "15"])
        #expect(r.status == 0 && r.stdout.contains("resuming") && !r.stdout.contains("note:"), "\(r.stdout)\(r.stderr)")
        let a = try Self.tensors(straight + "/checkpoints/step-00000015"), b = try Self.tensors(resumed + "/checkpoints/step-00000015")
        for (name, x) in a where !name.contains("running_") && !name.contains("num_batches") { #expect(x == b[name]!, "\(name)") }
        // Another number of processes: it continues, with the note, once.
        let one = try runCLI(["train", "--resume", resumed, "--max-steps", "18"])
        #expect(one.status == 0 && one.stdout.components(separatedBy: "note: the run was trained by 2 processes and continues with 1").count == 2,
                "\(one.stdout)\(one.stderr)")
    }

    /// One process killed mid-run: the job stops well within 30 seconds, MPICH's launcher naming the
    /// dead process's PID and host, which the run's "processes:" line maps to its rank; the latest
    /// checkpoint reads, and --resume finishes the run.
    @Test func aKilledProcessStopsTheJobAndTheRunResumes() throws {
        guard Self.available else { print("skipped: /usr/bin/mpiexec (MPICH) is not installed"); return }
        let run = scratch("mpi-kill") + "/run"
        let job = try Job("/usr/bin/mpiexec", ["-n", "2", swiftgan()] + Self.args(run, steps: 100_000) + ["--epochs", "100000", "--checkpoint-steps", "5"])
        // Wait for a checkpoint past the initial one, then kill rank 1.
        let deadline = Date().addingTimeInterval(60)
        while Checkpoint.list(run + "/checkpoints").count < 2 && Date() < deadline { usleep(50_000) }
        let rank1 = Self.process { cmdline, environ in cmdline.contains(run) && environ.contains("PMI_RANK=1\u{0}") }
        let killed = try #require(rank1, "rank 1 not found")
        kill(killed, SIGKILL)
        let seconds = job.waitUntilExit(within: 30) { p in p.terminate() }
        let message = job.output()
        let p = job.process
        print("killed rank 1: the job ended after \(String(format: "%.2f", seconds)) s with status \(p.terminationStatus)")
        #expect(seconds < 30 && p.terminationStatus != 0)
        // The launcher names a terminated process of the job by PID and host, and the run's first
        // lines map that PID to its rank. It is usually the killed rank 1, but MPICH's launcher
        // reports the first termination it sees, which may be rank 0 killed in its clean-up (seen
        // once in a full suite: "PID <rank 0's> RUNNING AT … EXIT CODE: 9").
        #expect(message.contains("rank 1 pid \(killed) on"), "\(message.suffix(600))")
        let named = message.range(of: #"PID \d+ RUNNING AT"#, options: .regularExpression)
            .map { message[$0].split(separator: " ")[1] }
        #expect(named.map { message.contains("rank 0 pid \($0) on") || message.contains("rank 1 pid \($0) on") } == true,
                "\(message.suffix(600))")
        let latest = try #require(Checkpoint.list(run + "/checkpoints").last)
        let state = try Checkpoint.readState(latest)
        let resumed = try runCLI(["train", "--resume", run, "--max-steps", "\(state.step + 3)"])
        #expect(resumed.status == 0 && resumed.stdout.contains("done: \(state.step + 3) steps"), "\(resumed.stdout)\(resumed.stderr)")
    }

    /// SIGINT to mpiexec (forwarded to every process): they stop at the same step, rank 0 writes
    /// the checkpoint and says how to resume. (The processes exit with 130; MPICH's mpiexec itself
    /// then exits 0, which is the launcher's doing.)
    @Test func ctrlCToMpiexecCheckpointsOnce() throws {
        guard Self.available else { print("skipped: /usr/bin/mpiexec (MPICH) is not installed"); return }
        let run = scratch("mpi-ctrlc") + "/run"
        // mpiexec in a session of its own (it signals its own process group, which must not be the
        // test runner's) and with SIGINT unblocked (the runner's threads block it, and a spawned
        // process inherits the mask; mpiexec does not unblock it as swiftgan does).
        let job = try Job(pythonPath(), ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM]); os.execv(sys.argv[1], sys.argv[1:])",
                                         "/usr/bin/setsid", "--wait", "/usr/bin/mpiexec", "-n", "2", swiftgan()] + Self.args(run, steps: 100_000) + ["--epochs", "100000"])
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: run + "/samples/epoch-002.png") && Date() < deadline { usleep(50_000) }
        let mpiexec = try #require(Self.process { cmdline, _ in cmdline.hasPrefix("/usr/bin/mpiexec\u{0}") && cmdline.contains(run) }, "mpiexec not found")
        kill(mpiexec, SIGINT)
        _ = job.waitUntilExit(within: 30) { _ in kill(-getpgid(mpiexec), SIGKILL) }
        let text = job.output()
        let stopped = try #require(text.components(separatedBy: "stopped at step ").dropFirst().first?.split(separator: ";").first.flatMap { Int($0) },
                                   "\(text.suffix(400))")
        #expect(text.components(separatedBy: "stopped at step").count == 2, "one rank speaks")
        #expect(text.contains("resume with: swiftgan train --resume \(run)"))
        #expect(try Checkpoint.readState(try Checkpoint.resolve(run)).step == stopped)
    }

    /// Two hosts for real: two network namespaces joined by a veth pair, one rank in each, MPI over
    /// TCP between them, started from a hostfile (a launcher script stands in for ssh, entering the
    /// host's namespace). With --sync-batchnorm it trains and matches one process, as on one host.
    /// Skipped with the reason where namespaces cannot be made (not root, no iproute2).
    @Test func twoHostsOverTCPMatchOneHost() throws {
        guard Self.available else { print("skipped: /usr/bin/mpiexec (MPICH) is not installed"); return }
        let ip = "/usr/sbin/ip", tag = "\(getpid() % 100_000)"
        let (a, b) = ("sgA\(tag)", "sgB\(tag)"), (va, vb) = ("sga\(tag)", "sgb\(tag)")
        let setup = [[ip, "netns", "add", a], [ip, "netns", "add", b], [ip, "link", "add", va, "type", "veth", "peer", "name", vb],
                     [ip, "link", "set", va, "netns", a], [ip, "link", "set", vb, "netns", b],
                     [ip, "-n", a, "addr", "add", "10.77.0.1/24", "dev", va], [ip, "-n", b, "addr", "add", "10.77.0.2/24", "dev", vb],
                     [ip, "-n", a, "link", "set", va, "up"], [ip, "-n", b, "link", "set", vb, "up"],
                     [ip, "-n", a, "link", "set", "lo", "up"], [ip, "-n", b, "link", "set", "lo", "up"]]
        defer { for ns in [a, b] { _ = try? runProcess(ip, ["netns", "del", ns]) } }
        for command in setup {
            guard FileManager.default.isExecutableFile(atPath: ip), let r = try? runProcess(command[0], Array(command.dropFirst())), r.status == 0 else {
                print("skipped: cannot make network namespaces here (\(command.joined(separator: " ")) failed; it needs root and iproute2)")
                return
            }
        }
        let dir = scratch("mpi-hosts")
        let launcher = dir + "/nslaunch", hostfile = dir + "/hosts"
        try """
        #!/bin/sh
        # ssh's stand-in for hydra: "nslaunch [options] HOST COMMAND" runs COMMAND in HOST's namespace.
        while [ "${1#-}" != "$1" ]; do shift; done
        host=$1; shift
        case "$host" in 10.77.0.1) ns=\(a) ;; 10.77.0.2) ns=\(b) ;; *) exit 1 ;; esac
        exec \(ip) netns exec $ns sh -c "$*"
        """.write(toFile: launcher, atomically: true, encoding: .utf8)
        chmod(launcher, 0o755)
        try "10.77.0.1:1\n10.77.0.2:1\n".write(toFile: hostfile, atomically: true, encoding: .utf8)
        let one = scratch("mpi-hosts-one") + "/run", two = dir + "/run"
        #expect(try runCLI(Self.args(one)).status == 0)
        let r = try runProcess(ip, ["netns", "exec", a, "env", "UCX_TLS=tcp,self", "UCX_NET_DEVICES=\(va),\(vb)", "UCX_LOG_LEVEL=error",
                                    "/usr/bin/mpiexec", "-launcher", "ssh", "-launcher-exec", launcher, "-f", hostfile, "-localhost", "10.77.0.1",
                                    "-n", "2", swiftgan()] + Self.args(two) + ["--sync-batchnorm"], timeout: 120)
        #expect(r.status == 0 && r.stdout.contains("done: 15 steps"), "\(r.stdout)\(r.stderr)")
        let x = try Self.tensors(one + "/checkpoints/step-00000015"), y = try Self.tensors(two + "/checkpoints/step-00000015")
        let nullSpace: Set<String> = ["discriminator.main.2.bias", "discriminator.main.3.running_mean",
                                      "discriminator.main.5.bias", "discriminator.main.6.running_mean"]
        let worst = x.filter { !nullSpace.contains($0.key) }.map { name, v in zip(v, y[name]!).map { Double(abs($0 - $1)) }.max() ?? 0 }.max() ?? .infinity
        print("two hosts (network namespaces, TCP) vs one process after 15 steps: largest difference \(worst)")
        #expect(worst < 1e-5)
    }
}

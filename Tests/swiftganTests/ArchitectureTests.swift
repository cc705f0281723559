import Distributed
import Foundation
import Testing
import TestSupport

/// The package's shape: dependency arrows point one way, and a process maps only the libraries
/// its command uses.
@Suite struct ArchitectureTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    /// `Package.swift` lists targets bottom up: a target may depend only on targets listed before
    /// it. An upward edge (GANModels importing GANTraining, say) fails here, naming it.
    @Test func dependencyArrowsPointDown() throws {
        // Its own scratch path: `swift test` holds the package's .build lock while the tests run.
        let r = try runProcess("/usr/bin/env", ["swift", "package", "--package-path", Self.packageRoot, "--scratch-path", scratch("arch-dump"),
                                                "dump-package"], timeout: 120)
        try #require(r.status == 0, "swift package dump-package: \(r.stderr)")
        let package = try #require(try json(r.stdout) as? [String: Any])
        let targets = try #require(package["targets"] as? [[String: Any]])
        let order = targets.compactMap { $0["name"] as? String }
        var upward: [String] = []
        for (index, target) in targets.enumerated() {
            let name = order[index]
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                guard let byName = (dependency["byName"] ?? dependency["target"]) as? [Any], let other = byName.first as? String,
                      let position = order.firstIndex(of: other) else { continue }
                if position > index { upward.append("\(name) → \(other)") }
            }
        }
        #expect(upward.isEmpty, "targets depending on targets listed after them: \(upward)")
        // The GAN layers, as docs/architecture.md draws them.
        func dependencies(_ name: String) -> Set<String> {
            let target = targets[order.firstIndex(of: name)!]
            return Set((target["dependencies"] as? [[String: Any]] ?? []).compactMap { (($0["byName"] ?? $0["target"]) as? [Any])?.first as? String })
        }
        #expect(dependencies("GANModels").isDisjoint(with: ["GANEvaluation", "GANExport", "GANTraining", "Distributed", "TensorBoard"]))
        #expect(dependencies("GANEvaluation").isDisjoint(with: ["GANExport", "GANTraining", "Distributed"]))
        #expect(dependencies("GANExport").isDisjoint(with: ["GANEvaluation", "GANTraining", "Distributed"]))
        #expect(!dependencies("FuzzTargets").contains("GANEvaluation") && !dependencies("FuzzTargets").contains("Distributed"))
        // The studio reads runs through their format alone: nothing of training, evaluation,
        // TensorBoard or MPI comes with it, directly or through another target.
        func reachable(_ name: String) -> Set<String> {
            var seen = Set<String>(), next = [name]
            while let n = next.popLast() { for d in dependencies(n) where order.contains(d) && seen.insert(d).inserted { next.append(d) } }
            return seen
        }
        #expect(reachable("GANStudio").isDisjoint(with: ["GANTraining", "GANEvaluation", "TensorBoard", "Distributed"]), "\(reachable("GANStudio"))")
        #expect(reachable("RunFormat").isDisjoint(with: ["GANTraining", "GANEvaluation", "GANExport", "TensorBoard", "Distributed"]))
        // Every library target is a product users can import.
        let products = Set((package["products"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        #expect(products.isSuperset(of: ["Tensors", "NN", "Datasets", "Imaging", "GANModels", "GANEvaluation", "GANExport", "RunFormat", "GANTraining", "GANStudio", "Distributed"]))
    }

    /// The run directory's format has one owner: `metrics.jsonl` is decoded in one place
    /// (RunFormat's `MetricsLine.lines`) and checkpoint names are formatted in one (`Checkpoint.name(step:)`).
    @Test func theRunFormatHasOneOwner() throws {
        let sources = Self.packageRoot + "/Sources"
        var decoders: [String] = [], formatters: [String] = []
        for case let file as String in FileManager.default.enumerator(atPath: sources)! where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: sources + "/" + file, encoding: .utf8)
            if text.contains("decode(MetricsLine.self") { decoders.append(file) }
            for line in text.split(separator: "\n") where line.contains("%08d") && line.contains("prefix") { formatters.append(file) }
        }
        #expect(decoders == ["RunFormat/Metrics.swift"], "metrics.jsonl decoded in \(decoders)")
        #expect(formatters == ["GANModels/Checkpoint.swift"], "checkpoint names formatted in \(formatters)")
    }

    /// Libraries a process mapped, from glibc's loader (LD_DEBUG=files: every library loaded at
    /// start and by dlopen, in a process as the user runs it).
    static func loadedLibraries(_ args: [String], environment: [String: String] = [:]) throws -> (CommandResult, Set<String>) {
        let log = scratch("arch-ld") + "/ld-\(args[0])"
        let r = try runCLI(args, timeout: 300, environment: environment.merging(["LD_DEBUG": "files", "LD_DEBUG_OUTPUT": log]) { $1 })
        var names = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: (log as NSString).deletingLastPathComponent)
        where file.hasPrefix((log as NSString).lastPathComponent + ".") {
            let text = try String(contentsOfFile: (log as NSString).deletingLastPathComponent + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("file=") && line.contains("[0];  needed by")
                || line.contains("file=") && line.contains("dynamically loaded by") {
                if let range = line.range(of: "file="), let name = line[range.upperBound...].split(separator: " ").first {
                    names.insert(String(name))
                }
            }
            try FileManager.default.removeItem(atPath: (log as NSString).deletingLastPathComponent + "/" + file)
        }
        return (r, names)
    }

    static let mpi = ["libmpich", "libucp", "libucs", "libucm", "libhwloc"], lapack = ["liblapack", "libblas", "libopenblas"]

    static func mapped(_ names: Set<String>, _ prefixes: [String]) -> [String] {
        names.filter { name in prefixes.contains { name.hasPrefix($0) } }.sorted()
    }

    /// `sample` and `train` without mpiexec map neither MPI (nor UCX, which would hook every mmap)
    /// nor LAPACK/BLAS; nor does `eval`: its Fréchet distances decompose in Swift (`SymmetricEigen`),
    /// so no BLAS's allocator can spin under a memory limit (issue 33).
    @Test func aProcessLoadsWhatItsCommandUses() throws {
        let directory = scratch("arch-run"), run = directory + "/run"
        let (trained, trainLibraries) = try Self.loadedLibraries(["train", "--data", CLITests.data, "--max-steps", "2", "--batch-size", "8",
                                                                  "--width", "4", "--latent", "8", "--out", run])
        try #require(trained.status == 0, "\(trained.stderr)")
        #expect(trainLibraries.contains { $0.hasPrefix("libdnnl") }, "the loader log lists no oneDNN: \(trainLibraries.sorted())")
        #expect(Self.mapped(trainLibraries, Self.mpi + Self.lapack).isEmpty, "train maps \(Self.mapped(trainLibraries, Self.mpi + Self.lapack))")
        let (sampled, sampleLibraries) = try Self.loadedLibraries(["sample", run, "--count", "4", "--out", directory + "/s.png"])
        try #require(sampled.status == 0, "\(sampled.stderr)")
        #expect(Self.mapped(sampleLibraries, Self.mpi + Self.lapack).isEmpty, "sample maps \(Self.mapped(sampleLibraries, Self.mpi + Self.lapack))")
        let (evaluated, evalLibraries) = try Self.loadedLibraries(["eval", run, "--count", "20", "--json"])
        try #require(evaluated.status == 0, "\(evaluated.stderr)")
        #expect(Self.mapped(evalLibraries, Self.mpi + Self.lapack).isEmpty, "eval maps \(Self.mapped(evalLibraries, Self.mpi + Self.lapack))")
    }

    /// A running `train` process's own map (/proc/PID/maps, read while it trains) holds oneDNN and
    /// no MPI, UCX or LAPACK.
    @Test func aTrainingProcessMapsNoMPIOrLAPACK() throws {
        let out = scratch("arch-maps") + "/run"
        let p = try TestProcess(swiftgan(), ["train", "--data", CLITests.data, "--epochs", "1000", "--batch-size", "8", "--width", "4",
                                             "--latent", "8", "--sample-every", "0", "--out", out])
        defer { p.killTree(SIGKILL); p.finish(within: 30) }
        // Training has begun once the first metrics line is written (bounded: 120 s).
        p.wait(upTo: 120) { !((try? String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)) ?? "").isEmpty }
        // Read to the end (procfs files report no size; a sized read stops short).
        let maps = FileHandle(forReadingAtPath: "/proc/\(p.pid)/maps").map {
            String(decoding: $0.readDataToEndOfFile(), as: UTF8.self)
        } ?? ""
        try #require(p.isRunning && !maps.isEmpty, "swiftgan train ended before it could be inspected: \(p.stderr)")
        let libraries = Set(maps.split(separator: "\n").compactMap { line in line.contains("/") ? line.split(separator: "/").last.map(String.init) : nil })
        #expect(libraries.contains { $0.hasPrefix("libdnnl") }, "\(libraries.sorted())")
        #expect(Self.mapped(libraries, Self.mpi + Self.lapack).isEmpty, "a training process maps \(Self.mapped(libraries, Self.mpi + Self.lapack))")
    }

    /// Under mpiexec without an MPI library (hidden by naming one that is not there) every rank
    /// says so in one line and the job fails; without mpiexec, the library is never looked for.
    @Test func aMissingMPILibraryIsOneLineOnlyUnderMpiexec() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/mpiexec") else {
            print("ArchitectureTests: skipped the mpiexec half: MPICH's mpiexec is not installed")
            return
        }
        let hidden = ["SWIFTGAN_MPI_LIBRARY": "/nonexistent/libmpich.so.12"]
        let out = scratch("arch-nompi")
        let r = try runMPI(2, ["train", "--data", CLITests.data, "--max-steps", "1", "--batch-size", "8", "--out", out + "/a"],
                           timeout: 120, environment: hidden)
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n").filter { $0.contains("error:") }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.contains("started by mpiexec, but the MPI library cannot be loaded") }, "\(r.stderr)")
        let alone = try runCLI(["train", "--data", CLITests.data, "--max-steps", "1", "--batch-size", "8", "--width", "4", "--out", out + "/b"],
                               environment: hidden)
        #expect(alone.status == 0, "\(alone.stderr)")
        // Open MPI's launcher (its environment, as its mpiexec sets it): refused, rather than every
        // process training alone on the same run.
        let openMPI = try runCLI(["train", "--data", CLITests.data, "--max-steps", "1", "--out", out + "/c"],
                                 environment: ["OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2"])
        #expect(openMPI.status == 1 && openMPI.stderr == "error: started by Open MPI's mpiexec; swiftgan speaks MPICH's ABI (MPICH, Intel MPI, "
                + "MVAPICH): start it with MPICH's mpiexec (mpiexec.mpich)\n", "\(openMPI.stderr)")
    }

    /// The MPICH ABI constants the C layer declares by hand are the installed mpi.h's.
    @Test func theDeclaredMPIABIMatchesMpiH() throws {
        let header = "/usr/include/x86_64-linux-gnu/mpich/mpi.h"
        guard let text = try? String(contentsOfFile: header, encoding: .utf8) else {
            print("ArchitectureTests: skipped: \(header) is not installed (libmpich-dev)")
            return
        }
        for (name, value) in MPIABI.constants {
            let line = try #require(text.split(separator: "\n").first { line in
                let words = line.split(whereSeparator: \.isWhitespace)
                return words.count >= 3 && words[0] == "#define" && words[1] == name
            }, "\(name) is not defined in \(header)")
            // The value is the last number of the line: 0x4c00040a, 1, 512, -1 …
            let numbers = line.split(whereSeparator: { !($0.isHexDigit || $0 == "x") }).filter { $0.first?.isNumber ?? false }
            let number = try #require(numbers.last.map(String.init), "\(line)")
            let declared = number.hasPrefix("0x") ? Int(number.dropFirst(2), radix: 16) : Int(number)
            #expect(declared == value, "\(name): mpi.h says \(line), the C layer \(value)")
        }
    }
}

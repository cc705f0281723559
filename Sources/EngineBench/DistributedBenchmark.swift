import Distributed
import Foundation
import GANModels
import GANTraining
import NN
import Tensors

/// What data-parallel training costs: the bytes each step all-reduces, the all-reduce's time by
/// message size (fitted to the α-β model of a ring all-reduce), and a projection of the scaling
/// efficiency over hosts joined by a network.
public enum DistributedBenchmark {
    /// Bytes all-reduced per training step: every parameter gradient of D (its update) and of G
    /// (its update), as float32.
    public static func bytesPerStep(_ w: Workload) -> Int {
        let (g, d) = Models.make(w.model, rng: RandomGenerator(seed: 0))
        return 4 * (g.parameterCount + d.parameterCount)
    }

    /// Median seconds of a sum all-reduce of `bytes` over the communicator's ranks.
    public static func allReduceSeconds(_ c: MPICommunicator, bytes: Int, repeats: Int = 9) throws -> Double {
        var values = [Float](repeating: 1, count: max(bytes / 4, 1))
        try c.allReduceSum(&values)  // warm-up (connection set-up)
        var times: [Double] = []
        for _ in 0..<repeats {
            c.barrier()
            let t0 = Date()
            try c.allReduceSum(&values)
            times.append(Date().timeIntervalSince(t0))
        }
        return times.sorted()[times.count / 2]
    }

    /// The α-β fit of measured (bytes, seconds) for N ranks: a ring all-reduce sends 2(N−1)
    /// messages of bytes/N, so T = 2(N−1)·α + 2(N−1)/N·bytes·β. Least squares on the two terms.
    public static func fit(_ points: [(bytes: Int, seconds: Double)], ranks n: Int) -> (alpha: Double, beta: Double) {
        let xs = points.map { 2 * Double(n - 1) / Double(n) * Double($0.bytes) }, ys = points.map(\.seconds)
        let k = Double(points.count), mx = xs.reduce(0, +) / k, my = ys.reduce(0, +) / k
        let sxx = zip(xs, xs).map { ($0 - mx) * ($1 - mx) }.reduce(0, +), sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        let beta = max(sxx > 0 ? sxy / sxx : 0, 0)
        let alpha = max((my - beta * mx) / (2 * Double(n - 1)), 0)
        return (alpha, beta)
    }

    /// Seconds of a ring all-reduce of `bytes` over `n` hosts with latency `alpha` and
    /// `bandwidth` bytes per second.
    public static func ringSeconds(bytes: Int, hosts n: Int, alpha: Double, bandwidth: Double) -> Double {
        2 * Double(n - 1) * alpha + 2 * Double(n - 1) / Double(n) * Double(bytes) / bandwidth
    }

    /// What the two processes of the distributed benchmark measured (rank 0's JSON line).
    public struct TwoProcesses: Codable, Sendable {
        /// All-reduce message sizes in bytes, and the median seconds of each.
        public var sizes: [Int], seconds: [Double]
        /// The data-parallel step (mean of the ranks' medians), and the all-reduce of one step's gradients.
        public var stepSeconds: Double, stepBytesSeconds: Double
    }

    /// Runs `binary bench --suite distributed-worker …` under `mpiexec -n 2` (this machine, shared
    /// memory) and returns what it measured; `BenchmarkError.launcher` when it fails.
    public static func twoProcesses(binary: String, workload w: Workload, steps: Int, warmup: Int, batchSize: Int) throws -> TwoProcesses {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/mpiexec")
        child.arguments = ["-n", "2", binary, "bench", "--suite", "distributed-worker", "--workload", w.rawValue,
                           "--steps", "\(steps)", "--warmup", "\(warmup)", "--batch-size", "\(batchSize)"]
        let out = Pipe()
        child.standardOutput = out
        do { try child.run() } catch { throw BenchmarkError.launcher("mpiexec cannot be started: \(error.localizedDescription)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        guard child.terminationStatus == 0, let r = try? JSONDecoder().decode(TwoProcesses.self, from: data) else {
            throw BenchmarkError.launcher("mpiexec -n 2 for the distributed benchmark failed (status \(child.terminationStatus))")
        }
        return r
    }

    /// Inside `mpiexec -n 2` (the worker `twoProcesses` starts): the all-reduce by size and the
    /// data-parallel step of `w`; rank 0 gets the result (to print), the others nil.
    public static func measureAsWorker(_ world: MPICommunicator, workload w: Workload, steps: Int, warmup: Int,
                                       batchSize: Int?) throws -> TwoProcesses? {
        Engine.threads = max(1, ProcessInfo.processInfo.activeProcessorCount / world.size)
        let sizes = [4_096, 65_536, 1 << 20, 4 << 20, 16 << 20, 64 << 20]
        let seconds = try sizes.map { try allReduceSeconds(world, bytes: $0) }
        let stepBytes = try allReduceSeconds(world, bytes: bytesPerStep(w))
        let r = try TrainingBenchmark.training(w, steps: steps, warmup: warmup, batchSize: batchSize, dataParallel: DataParallel(world))
        var step = [ConvBenchmark.median(r.stepSeconds)]
        try world.allReduceSum(&step)
        return world.rank == 0 ? TwoProcesses(sizes: sizes, seconds: seconds, stepSeconds: step[0] / Double(world.size), stepBytesSeconds: stepBytes) : nil
    }
}

/// A benchmark that could not run, as one line.
public enum BenchmarkError: Error, CustomStringConvertible {
    case launcher(String)
    public var description: String {
        switch self { case .launcher(let line): return line }
    }
}

import ArgumentParser
import Distributed
import EngineBench
import Foundation
import GANEvaluation
import GANExport
import GANModels
import GANTraining
import Tensors

/// Per-layer GFLOP/s of the engine next to oneDNN called directly.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the engine: layers against oneDNN, data loading, training and generation throughput.",
        discussion: """
        --suite engine: for each layer of the canonical 64×64 DCGAN (batch 64) and of the TensorFlow 28×28 DCGAN (batch 128), times forward, backward-data and backward-weights through the engine and through the same oneDNN primitive in a tight loop, alternating the two, and prints both rates and the engine's overhead. The engine pays a weight reorder after every simulated optimizer step, as in training.

        --suite data: loading and batching.

        --suite ingredients: the training step of a workload alone and with spectral norm (D), the generator's moving average, DiffAugment (all three operations) and class conditioning each added, and the gradient penalties (R1, R2, WGAN-GP, rpgan + R1 + R2; each every step and every 16), alternating, as ratios to the plain step (mean step per round: give --steps 32 for the lazy penalty).
        --suite training: images/s of training steps on a workload (mlp, dcgan28, dcgan64, catdcgan: the models and batches of the comparison with PyTorch, `make bench-vs-pytorch`; dcgan-cpu28: the default recipe, batch 32 with the moving average; --batch-size to weigh another batch); with --profile, where each step's time goes, op by op.

        --suite generation: images/s of sampling --count images from a workload's generator (--profile works here too).

        --suite peak: this machine's arithmetic peak (every core running vector multiply-adds: fp32, and bf16 dot products where the CPU has them), and the rate of a 2048³ fp32 matrix product.

        --suite distributed: for dcgan28 and catdcgan (or --workload), the bytes all-reduced per step, the all-reduce time measured with mpiexec -n 2 on this machine (by message size, fitted to a ring all-reduce's α-β model), the step time with 1 process (all cores) and 2 (the cores split), and the projected scaling efficiency over 2–64 hosts at 10 and 100 Gbit/s.
        """)

    @Option(help: "Alternating measurement rounds per pass (the median is reported).") var rounds = 5
    @Option(help: "Passes timed per round.") var iterations = 3
    @Option(help: "Which models: dcgan64, dcgan28 or all.") var model = "all"
    @Option(help: "Only the layers whose name contains this text (e.g. '512→1').") var layer: String?
    @Flag(help: "Do not update the weights between passes (isolates the cost of the weight reorders).") var staticWeights = false
    @Option(help: "What to measure: engine (convolution layers), data (loading and batching), training, generation, peak, or all (engine and data).")
    var suite = "all"
    @Option(help: "Workload for --suite training/generation/ingredients: mlp, dcgan28, dcgan-cpu28, dcgan64, catdcgan, sngan28 or fastgan64.") var workload = "dcgan28"
    @Option(help: "Timed training steps.") var steps = 10
    @Option(help: "Untimed training steps first.") var warmup = 3
    @Option(help: "Images to generate for --suite generation.") var count = 1000
    @Flag(help: "Print where the time goes, op by op (--suite training and generation).") var profile = false
    @Option(help: "A technique added to the step of --suite training: \(Ingredient.allCases.map(\.rawValue).joined(separator: ", ")).") var ingredient = "none"
    @Option(help: "Images per step of --suite training and distributed (default: the workload's batch).") var batchSize: Int?
    @Option(help: "Arithmetic of the training step or of generation (--suite training, generation): fp32 or bf16.") var precision: Precision = .fp32
    @Flag(help: "Print one JSON object instead of text (--suite training, generation, peak).") var json = false

    func validate() throws {
        guard ["dcgan64", "dcgan28", "all"].contains(model) else {
            throw ValidationError("--model must be dcgan64, dcgan28 or all, got '\(model)'")
        }
        guard Ingredient(rawValue: ingredient) != nil else {
            throw ValidationError("--ingredient must be one of \(Ingredient.allCases.map(\.rawValue).joined(separator: ", ")), got '\(ingredient)'")
        }
        guard ["engine", "data", "training", "generation", "peak", "ingredients", "distributed", "distributed-worker", "all"].contains(suite) else {
            throw ValidationError("--suite must be engine, data, training, generation, peak, ingredients, distributed or all, got '\(suite)'")
        }
        guard Workload(rawValue: workload) != nil else {
            throw ValidationError("--workload must be one of \(Workload.allCases.map(\.rawValue).joined(separator: ", ")), got '\(workload)'")
        }
        guard rounds > 0, iterations > 0 else { throw ValidationError("--rounds and --iterations must be positive") }
        try positive(steps, "--steps"); try positive(count, "--count")
        if let batchSize { try positive(batchSize, "--batch-size") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be 0 or more, got \(warmup)") }
        try available(precision)
    }

    func run() throws {
        try reportingErrors {
            let w = Workload(rawValue: workload)!
            switch suite {
            case "training":
                let r = try TrainingBenchmark.training(w, steps: steps, warmup: warmup, precision: precision, profile: profile,
                                                       ingredient: Ingredient(rawValue: ingredient)!, batchSize: batchSize)
                if json {
                    let times = r.stepSeconds.map { String(format: "%.5f", $0) }.joined(separator: ",")
                    say("{\"workload\":\"\(w.rawValue)\",\"batch\":\(batchSize ?? w.batchSize),\"images_per_second\":\(r.imagesPerSecond),\"step_seconds\":[\(times)],"
                        + "\"loss_d\":\(r.lossD.isFinite ? "\(r.lossD)" : "null"),\"loss_g\":\(r.lossG.isFinite ? "\(r.lossG)" : "null"),"
                        + "\"peak_rss_mib\":\(peakResidentMiB())}")
                } else {
                    say(String(format: "%@ (batch %d): %.1f images/s over %d steps (median step %.1f ms)", w.rawValue, batchSize ?? w.batchSize,
                               r.imagesPerSecond, steps, 1e3 * ConvBenchmark.median(r.stepSeconds)))
                }
                if profile {
                    let text = Profiler.shared.report(seconds: r.stepSeconds.reduce(0, +), steps: steps, peak: arithmeticPeak())
                    if json { FileHandle.standardError.write(Data((text + "\n").utf8)) } else { say("\n" + text) }
                }
            case "generation":
                let (rate, seconds, passes) = TrainingBenchmark.generation(w, count: count, precision: precision, profile: profile)
                if profile {
                    let text = Profiler.shared.report(seconds: seconds, steps: passes, unit: "generation of \(count) images",
                                                      peak: arithmeticPeak())
                    if json { FileHandle.standardError.write(Data((text + "\n").utf8)) } else { say(text + "\n") }
                }
                say(json ? "{\"workload\":\"\(w.rawValue)\",\"images_per_second\":\(rate),\"peak_rss_mib\":\(peakResidentMiB())}"
                         : String(format: "%@: generated %d images at %.1f images/s", w.rawValue, count, rate))
            case "distributed":
                try runDistributed(workloadGiven ? [w] : [.dcgan28, .catdcgan])
            case "distributed-worker":
                try runDistributedWorker(w)
            case "ingredients":
                try runIngredients(w)
            case "peak":
                let (fp32, bf16) = TrainingBenchmark.arithmeticPeak(), sgemm = TrainingBenchmark.sgemmPeak()
                if json {
                    say("{\"fp32_gflops\":\(fp32),\"bf16_gflops\":\(bf16.map { "\($0)" } ?? "null"),\"sgemm_gflops\":\(sgemm)}")
                } else {
                    say(String(format: "arithmetic peak (all cores, vector multiply-adds): fp32 %.1f GFLOP/s", fp32)
                        + (bf16.map { String(format: ", bf16 dot products %.1f GFLOP/s", $0) } ?? " (no bf16 dot products)"))
                    say(String(format: "fp32 matrix product 2048³ (oneDNN): %.1f GFLOP/s = %.0f%% of the fp32 peak", sgemm, 100 * sgemm / fp32))
                }
            default:
                if suite != "data" { runEngine() }
                if suite != "engine" {
                    say("\nData")
                    _ = try DataBenchmark.run(log: say)
                }
            }
        }
    }

    var workloadGiven: Bool { CommandLine.arguments.contains("--workload") }

    /// One process's figures, then 2 processes' (a child `mpiexec -n 2`), then the projection.
    func runDistributed(_ workloads: [Workload]) throws {
        let extensions = CPUFeatures.flags.filter { $0.hasPrefix("avx") || $0.hasPrefix("amx") || $0 == "fma" }.sorted().joined(separator: " ")
        let cores = ProcessInfo.processInfo.activeProcessorCount
        say("SwiftGAN bench --suite distributed on \(CPUFeatures.modelName) (\(extensions)), \(cores) cores, \(Engine.name)")
        say("measured: 1 process with \(cores) threads, and mpiexec -n 2 with \(max(cores / 2, 1)) thread(s) each, on this machine (shared memory); projected: hosts joined by a network")
        for w in workloads {
            let bytes = DistributedBenchmark.bytesPerStep(w)
            Engine.threads = cores
            let batch = batchSize ?? w.batchSize
            let single = ConvBenchmark.median(try TrainingBenchmark.training(w, steps: steps, warmup: warmup, batchSize: batch).stepSeconds)
            let r: DistributedBenchmark.TwoProcesses
            do { r = try DistributedBenchmark.twoProcesses(binary: CommandLine.arguments[0], workload: w, steps: steps, warmup: warmup, batchSize: batch) }
            catch let error as BenchmarkError { throw ValidationError(error.description) }
            let (alpha, beta) = DistributedBenchmark.fit(zip(r.sizes, r.seconds).map { ($0, $1) }, ranks: 2)
            say("")
            say("\(w.rawValue) (global batch \(batch)): \(String(format: "%.1f", Double(bytes) / 1e6)) MB all-reduced per step (G's and D's gradients)")
            say(String(format: "  step, 1 process × %d threads:     %8.1f ms", cores, 1e3 * single))
            say(String(format: "  step, 2 processes × %d thread(s): %8.1f ms (%.2f× the 1-process step), of which the all-reduce of %.1f MB: %.1f ms",
                       max(cores / 2, 1), 1e3 * r.stepSeconds, r.stepSeconds / single, Double(bytes) / 1e6, 1e3 * r.stepBytesSeconds))
            say(String(format: "  all-reduce fit (N = 2, shared memory): α = %.1f µs, β = %.3f ns/byte (%.1f GB/s)", 1e6 * alpha, 1e9 * beta,
                       beta > 0 ? 1 / beta / 1e9 : .infinity))
            say("  projected efficiency, one process per host at this step's compute (\(String(format: "%.0f", 1e3 * single)) ms), no overlap; α = 20 µs a hop:")
            say("    hosts:       " + [2, 4, 8, 16, 32, 64].map { String(format: "%7d", $0) }.joined())
            for (label, gbit) in [("10 Gbit/s", 10.0), ("100 Gbit/s", 100.0)] {
                let row = [2, 4, 8, 16, 32, 64].map { n -> String in
                    let comm = DistributedBenchmark.ringSeconds(bytes: bytes, hosts: n, alpha: 20e-6, bandwidth: gbit * 1e9 / 8)
                    return String(format: "%6.0f%%", 100 * single / (single + comm))
                }
                say("    \(label.padding(toLength: 12, withPad: " ", startingAt: 0)) " + row.joined())
            }
        }
    }

    /// Inside `mpiexec -n 2`: the all-reduce by size and the data-parallel step; rank 0 prints JSON.
    func runDistributedWorker(_ w: Workload) throws {
        guard let world = try MPICommunicator.world() else { throw ValidationError("--suite distributed-worker runs under mpiexec") }
        defer { world.finalize() }
        if let r = try DistributedBenchmark.measureAsWorker(world, workload: w, steps: steps, warmup: warmup, batchSize: batchSize) {
            print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
        }
    }

    /// The step of `w` alone and with each modern technique added, `rounds` alternating rounds
    /// (the order rotates each round): the mean step of each round (lazy regularization costs one
    /// step in 16: take --steps 32 or more), the median over rounds, and ratios to the plain step.
    func runIngredients(_ w: Workload) throws {
        let extensions = CPUFeatures.flags.filter { $0.hasPrefix("avx") || $0.hasPrefix("amx") || $0 == "fma" }.sorted().joined(separator: " ")
        say("SwiftGAN bench --suite ingredients on \(CPUFeatures.modelName) (\(extensions)), \(Engine.name)")
        say("\(w.rawValue) (batch \(w.batchSize)), \(rounds) rounds × \(steps) steps after \(warmup)")
        var medians: [Ingredient: [Double]] = [:]
        let all = Ingredient.allCases
        for round in 0..<rounds {
            for k in 0..<all.count {
                let ingredient = all[(k + round) % all.count]
                let r = try TrainingBenchmark.training(w, steps: steps, warmup: warmup, ingredient: ingredient)
                // The mean step: lazy regularization's cost is one step in 16.
                medians[ingredient, default: []].append(r.stepSeconds.reduce(0, +) / Double(max(r.stepSeconds.count, 1)))
            }
        }
        let base = ConvBenchmark.median(medians[.none]!)
        for ingredient in all {
            let m = ConvBenchmark.median(medians[ingredient]!)
            say(pad(ingredient == .none ? "\(w.rawValue) as is" : "+ \(ingredient.rawValue)", 24)
                + String(format: "%8.1f ms a step   %.3f× the plain step", 1e3 * m, m / base))
        }
    }

    func runEngine() {
        let threads = ProcessInfo.processInfo.environment["OMP_NUM_THREADS"] ?? "\(ProcessInfo.processInfo.activeProcessorCount)"
        say("SwiftGAN bench on \(Engine.name), \(threads) threads, \(rounds) rounds × \(iterations) passes")
        var sets: [(String, [ConvLayer])] = []
        if model != "dcgan28" { sets.append(("DCGAN 64×64, batch 64", BenchModels.dcgan64())) }
        if model != "dcgan64" { sets.append(("DCGAN 28×28, batch 128", BenchModels.dcgan28())) }
        for (title, all) in sets {
            let layers = layer.map { f in all.filter { $0.name.contains(f) } } ?? all
            if layers.isEmpty { continue }
            let rows = ConvBenchmark.run(layers, rounds: rounds, iterations: iterations, staticWeights: staticWeights)
            say("\n\(title)")
            say(pad("layer", 24) + pad("pass", 18) + lpad("engine GF/s", 12) + lpad("oneDNN GF/s", 12) + lpad("overhead", 10))
            for r in rows {
                say(pad(r.layer.name, 24) + pad(r.direction.rawValue, 18) + lpad(String(format: "%.1f", r.engineGFLOPS), 12)
                    + lpad(String(format: "%.1f", r.directGFLOPS), 12) + lpad(String(format: "%+.1f%%", 100 * r.overhead), 10))
            }
            let engine = rows.reduce(0) { $0 + $1.engine }, direct = rows.reduce(0) { $0 + $1.direct }
            let flops = rows.reduce(0) { $0 + $1.layer.flops }
            say(String(format: "all passes: engine %.1f ms (%.1f GF/s), oneDNN %.1f ms (%.1f GF/s), overhead %+.1f%%; worst layer %+.1f%%",
                       engine * 1e3, flops / engine / 1e9, direct * 1e3, flops / direct / 1e9, 100 * (engine / direct - 1),
                       100 * (rows.map(\.overhead).max() ?? 0)))
            let stats = Engine.statistics
            let created = rows.map(\.primitivesCreated).reduce(0, +)
            say("primitives created in steady state: \(created); "
                + "kernels: \(stats.implementations.sorted().joined(separator: ", ")); "
                + String(format: "peak tensor memory %.1f MiB", Double(stats.peakBytesInUse) / 1_048_576))
        }
    }

    /// The arithmetic peak a profile's convolution rate is compared with: bf16's where the run
    /// computes in bf16, else fp32's.
    func arithmeticPeak() -> (gflops: Double, what: String) {
        let peak = TrainingBenchmark.arithmeticPeak()
        if let bf16 = peak.bf16, precision == .bf16 { return (bf16, "bf16") }
        return (peak.fp32, "fp32")
    }

    /// This process's peak resident memory (VmHWM) in MiB, or 0 where /proc is missing.
    func peakResidentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ")[1]) else { return 0 }
        return kb / 1024
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }
}

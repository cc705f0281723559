import EngineBench
import Foundation
import Tensors
import Testing
import TestSupport

/// One tiny run of each benchmark suite (`swiftgan bench --suite …`): each runs end to end and
/// reports numbers that can be rates. Speed itself is never asserted here.
@Suite(.serialized) struct BenchmarkSmokeTests {
    @Test func engineSuiteTimesEachPassOnBothSides() {
        let layers = BenchModels.dcgan28(batch: 2).prefix(2)
        let rows = ConvBenchmark.run(Array(layers), rounds: 1, iterations: 1)
        #expect(rows.count == layers.count * Direction.allCases.count)
        for row in rows {
            #expect(row.engine > 0 && row.direct > 0 && row.engineGFLOPS.isFinite, "\(row.layer.name) \(row.direction)")
            #expect(row.primitivesCreated == 0, "\(row.layer.name) \(row.direction): primitives created while timed")
        }
    }

    @Test func dataSuiteLoadsBatchesAndDecodes() throws {
        let t = try DataBenchmark.run(photos: 4, repeats: 1)
        #expect(t.loadedImages == 60_000 && t.epochBatches == 60_000 / 128)
        #expect(t.photos == 4 && t.decodeSeconds > 0 && t.cachedSeconds > 0)
    }

    @Test func trainingSuiteRunsTheGANStep() throws {
        for workload in [Workload.mlp, .dcgan28, .dcganCPU28] {
            let r = try TrainingBenchmark.training(workload, steps: 2, warmup: 1)
            #expect(r.stepSeconds.count == 2 && r.imagesPerSecond > 0, "\(workload)")
            #expect(r.lossD.isFinite && r.lossG.isFinite, "\(workload): losses \(r.lossD), \(r.lossG)")
        }
    }

    /// Every ingredient of `--suite ingredients` makes a valid configuration and trains a step
    /// (the MLP GAN: its discriminator has every op the penalties differentiate twice but convolutions).
    @Test func everyIngredientTrainsAStep() throws {
        for ingredient in Ingredient.allCases {
            let r = try TrainingBenchmark.training(.mlp, steps: 1, warmup: 0, ingredient: ingredient)
            #expect(r.stepSeconds.count == 1 && r.lossD.isFinite && r.lossG.isFinite, "\(ingredient)")
        }
    }

    @Test func generationAndPeakSuitesReportRates() {
        let g = TrainingBenchmark.generation(.mlp, count: 10, minimumSeconds: 0)
        #expect(g.passes == 1 && g.imagesPerSecond > 0)
        #expect(TrainingBenchmark.sgemmPeak(n: 64, repeats: 1) > 0)
        // The arithmetic peak: fp32 always, bf16 exactly where the CPU has bf16 dot products.
        let peak = TrainingBenchmark.arithmeticPeak(repeats: 1, iterations: 1_000)
        #expect(peak.fp32 > 0)
        #expect((peak.bf16 != nil) == CPUFeatures.flags.contains("avx512_bf16"), "bf16 peak \(String(describing: peak.bf16))")
    }
}

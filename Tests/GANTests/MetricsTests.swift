import Foundation
import Testing
@testable import GANEvaluation
@testable import GANExport
@testable import GANModels
@testable import GANTraining
import Tensors

@Suite struct MetricsTests {
    @Test func classifierScoreBounds() {
        let k = 10
        let uniform = [Float](repeating: 0.1, count: 50 * k)
        #expect(abs(ClassifierMetrics.score(probabilities: uniform, count: 50, classes: k) - 1) < 1e-9)
        // Confident and spread evenly over all classes: the maximum, k.
        var oneHot = [Float](repeating: 0, count: 50 * k)
        for i in 0..<50 { oneHot[i * k + i % k] = 1 }
        #expect(abs(ClassifierMetrics.score(probabilities: oneHot, count: 50, classes: k) - 10) < 1e-9)
        // Confident but collapsed on one class: 1.
        var collapsed = [Float](repeating: 0, count: 50 * k)
        for i in 0..<50 { collapsed[i * k + 3] = 1 }
        #expect(abs(ClassifierMetrics.score(probabilities: collapsed, count: 50, classes: k) - 1) < 1e-9)
        #expect(ClassifierMetrics.argmax(probabilities: oneHot, count: 12, classes: k) == (0..<12).map { $0 % k })
    }

    @Test func coverageAndHistogramDivergence() {
        let real = (0..<1000).map { $0 % 10 }
        #expect(ClassifierMetrics.coverage(real, classes: 10) == 10)
        let collapsed = (0..<1000).map { $0 % 10 < 8 ? 2 : 7 }
        #expect(ClassifierMetrics.coverage(collapsed, classes: 10) == 2)
        #expect(ClassifierMetrics.histogramKL(real, reference: real, classes: 10) < 1e-12)
        #expect(ClassifierMetrics.histogramKL(collapsed, reference: real, classes: 10) > 1)
    }

    /// Against a brute-force Float64 implementation of the same definition.
    @Test func precisionAndRecallMatchBruteForce() {
        let rng = RandomGenerator(seed: 4)
        let d = 5
        let real = Tensor.randomNormal([300, d], using: rng).scalars
        // A generator that covers only part of the real distribution, plus some outliers.
        let fake = Tensor.randomNormal([200, d], std: 0.5, using: rng).scalars.enumerated().map { $0.offset < 20 * d ? $0.element + 6 : $0.element }
        func brute(_ pts: [Float], _ centres: [Float]) -> Double {
            let n = pts.count / d, m = centres.count / d
            func dist(_ a: [Float], _ i: Int, _ b: [Float], _ j: Int) -> Double {
                (0..<d).map { Double(a[i * d + $0] - b[j * d + $0]) }.map { $0 * $0 }.reduce(0, +)
            }
            let radii = (0..<m).map { j in (0..<m).filter { $0 != j }.map { dist(centres, j, centres, $0) }.sorted()[2] }
            return Double((0..<n).filter { i in (0..<m).contains { dist(pts, i, centres, $0) <= radii[$0] } }.count) / Double(n)
        }
        let (p, r) = ManifoldMetrics.precisionRecall(real: real, fake: fake, dimension: d, k: 3)
        #expect(abs(p - brute(fake, real)) <= 1.0 / 200 && abs(r - brute(real, fake)) <= 1.0 / 300, "\(p), \(r)")
        #expect(p < 0.95 && r < 0.9)  // the outliers lower precision; the narrow spread lowers recall
        let (pp, rr) = ManifoldMetrics.precisionRecall(real: real, fake: real, dimension: d)
        #expect(pp == 1 && rr == 1)
    }
}

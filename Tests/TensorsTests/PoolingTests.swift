import Foundation
import Testing
@testable import Tensors

@Suite struct PoolingAndSoftmaxTests {
    let rng = RandomGenerator(seed: 31)

    @Test(arguments: [([2, 3, 8, 8], (2, 2), (2, 2), (0, 0)), ([1, 17, 7, 6], (3, 3), (2, 2), (1, 1)), ([3, 2, 5, 5], (2, 3), (1, 2), (0, 1))])
    func poolingMatchesReferenceAndFiniteDifferences(_ shape: [Int], _ k: (Int, Int), _ s: (Int, Int), _ p: (Int, Int)) {
        // Values spaced apart so that no window has a near-tie a finite difference could flip.
        var x = Ref.random(shape, rng)
        let order = rng.permutation(x.values.count)
        x.values = order.map { Double($0) / Double(order.count) * 4 - 2 }
        gradCheck([x], engine: { $0[0].maxPool2d(kernel: k, stride: s, padding: p) },
                  reference: { Reference.pool($0[0], max: true, kernel: k, stride: s, pad: p) })
        gradCheck([x], engine: { $0[0].avgPool2d(kernel: k, stride: s, padding: p) },
                  reference: { Reference.pool($0[0], max: false, kernel: k, stride: s, pad: p) })
    }

    @Test func poolingABlockedActivation() {
        let x = Ref.random([2, 3, 9, 9], rng), w = Ref.random([16, 3, 3, 3], rng)
        gradCheck([x, w], engine: { Tensor.conv2d($0[0], weight: $0[1]).maxPool2d(kernel: (2, 2)) }, reference: {
            Reference.pool(Reference.conv2d($0[0], $0[1], nil, stride: (1, 1), pad: (0, 0, 0, 0)), max: true,
                           kernel: (2, 2), stride: (2, 2), pad: (0, 0))
        })
    }

    @Test(arguments: [(1, 2), (5, 10), (8, 3)])
    func softmaxCrossEntropy(_ n: Int, _ k: Int) {
        let x = Ref.random([n, k], rng, scale: 3)
        let labels = (0..<n).map { _ in Int(rng.nextUInt32() % UInt32(k)) }
        gradCheck([x], engine: { Tensor.softmaxCrossEntropy(logits: $0[0], labels: labels.map { Int32($0) }) },
                  reference: { Ref([Reference.softmaxCrossEntropy($0[0], labels)], []) })
        let p = x.tensor.softmax().scalars
        for i in 0..<n {
            let row = (0..<k).map { Foundation.exp(x.values[i * k + $0]) }
            let sum = row.reduce(0, +)
            for j in 0..<k { #expect(abs(Double(p[i * k + j]) - row[j] / sum) < 1e-6) }
        }
    }

    @Test func softmaxCrossEntropyIsStableForHugeLogits() {
        let x = Tensor([Float(1000), -1000, 0, 0, 500, 1000], shape: [2, 3]).requiringGrad()
        let loss = Tensor.softmaxCrossEntropy(logits: x, labels: [0, 1])
        #expect(abs(loss.item - 250) < 1e-3)  // row 1: 0; row 2: logsumexp ≈ 1000, minus 500
        loss.backward()
        #expect(x.grad!.scalars.allSatisfy { $0.isFinite })
    }
}

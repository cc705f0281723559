import Testing
@testable import Tensors

@Suite struct RandomTests {
    /// Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32_10).
    @Test func philoxMatchesRandom123KnownAnswers() {
        let zero = RandomGenerator.philox((0, 0, 0, 0), key: (0, 0))
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = RandomGenerator.philox((.max, .max, .max, .max), key: (.max, .max))
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = RandomGenerator.philox((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), key: (0xa409_3822, 0x299f_31d0))
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    @Test func sameSeedSameStreamAndStateRestores() {
        let a = RandomGenerator(seed: 99), b = RandomGenerator(seed: 99)
        #expect((0..<37).map { _ in a.nextUInt32() } == (0..<37).map { _ in b.nextUInt32() })
        let saved = a.state
        let next = (0..<11).map { _ in a.nextUInt32() }
        let restored = RandomGenerator(state: saved)
        #expect((0..<11).map { _ in restored.nextUInt32() } == next)
        #expect(RandomGenerator(seed: 1).nextUInt32() != RandomGenerator(seed: 2).nextUInt32())
    }

    @Test func distributionsHaveTheirMoments() {
        let rng = RandomGenerator(seed: 3)
        let n = Tensor.randomNormal([200_000], mean: 1, std: 2, using: rng).scalars.map(Double.init)
        let mean = n.reduce(0, +) / Double(n.count)
        let std = (n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n.count)).squareRoot()
        #expect(abs(mean - 1) < 0.02 && abs(std - 2) < 0.02)

        let t = Tensor.randomTruncatedNormal([100_000], std: 0.02, using: rng).scalars
        #expect(t.allSatisfy { abs($0) <= 0.04 })
        // A normal truncated at ±2σ has standard deviation ≈ 0.8796σ.
        let tstd = (t.map { Double($0) * Double($0) }.reduce(0, +) / Double(t.count)).squareRoot()
        #expect(abs(tstd / 0.02 - 0.8796) < 0.01)

        let u = Tensor.randomUniform([100_000], low: -1, high: 1, using: rng).scalars
        #expect(u.allSatisfy { $0 >= -1 && $0 < 1 })
        #expect(abs(u.map(Double.init).reduce(0, +) / 100_000) < 0.01)

        let p = rng.permutation(1000)
        #expect(p.sorted() == Array(0..<1000) && p != Array(0..<1000))
    }
}

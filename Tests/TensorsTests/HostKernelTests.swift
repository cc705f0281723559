import CKernels
import Foundation
import Testing

/// The optimizer's element-wise loops (`CKernels`): each vector version this CPU runs (AVX-512,
/// AVX2) gives the baseline x86-64 version's bits exactly — no fused multiply-adds — so a run's
/// weights do not depend on the CPU it trained on; and the baseline is the update it documents
/// (computed here in Double). A version the CPU lacks is skipped with the reason printed.
struct HostKernelTests {
    static let names = [SG_KERNELS_BASELINE: "baseline x86-64", SG_KERNELS_AVX2: "AVX2", SG_KERNELS_AVX512: "AVX-512"]

    /// Random values with a length that leaves a tail after any vector width.
    static func values(_ n: Int, seed: UInt64, positive: Bool = false) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24)
            return positive ? u * 1e-3 : (u - 0.5) * 2
        }
    }

    @Test(arguments: [Float(0), 0.01])
    func adamVersionsAgreeBitwise(weightDecay: Float) {
        let n = 1_003
        let (p0, g, m0, v0) = (Self.values(n, seed: 1), Self.values(n, seed: 2), Self.values(n, seed: 3), Self.values(n, seed: 4, positive: true))
        let (beta1, beta2, stepSize, invBc2Sqrt, epsilon): (Float, Float, Float, Float, Float) = (0.5, 0.999, 2e-4 / 0.75, 1 / 0.0447, 1e-8)
        func run(_ version: Int32) -> (p: [Float], m: [Float], v: [Float]) {
            var (p, m, v) = (p0, m0, v0)
            sg_adam_version(version, &p, g, &m, &v, n, beta1, beta2, stepSize, invBc2Sqrt, epsilon, weightDecay)
            return (p, m, v)
        }
        let baseline = run(Int32(SG_KERNELS_BASELINE))
        for i in 0..<n {
            let gi = Double(g[i]) + Double(weightDecay) * Double(p0[i])
            let mi = Double(beta1) * Double(m0[i]) + (1 - Double(beta1)) * gi
            let vi = Double(beta2) * Double(v0[i]) + (1 - Double(beta2)) * gi * gi
            let pi = Double(p0[i]) - Double(stepSize) * mi / (vi.squareRoot() * Double(invBc2Sqrt) + Double(epsilon))
            #expect(abs(Double(baseline.p[i]) - pi) <= 1e-6 * max(1, abs(pi)), "p[\(i)] \(baseline.p[i]) vs \(pi)")
            #expect(abs(Double(baseline.v[i]) - vi) <= 1e-6 * abs(vi) + 1e-12, "v[\(i)]")
        }
        let widest = sg_kernel_widest()
        for version in [SG_KERNELS_AVX2, SG_KERNELS_AVX512] {
            guard version <= widest else {
                print("skipped: the \(Self.names[version]!) version of Adam needs \(Self.names[version]!), which this CPU lacks")
                continue
            }
            let r = run(Int32(version))
            #expect(r.p == baseline.p && r.m == baseline.m && r.v == baseline.v, "\(Self.names[version]!) differs from the baseline")
        }
    }

    @Test func axpbyVersionsAgreeBitwise() {
        let n = 1_003
        let (y0, x) = (Self.values(n, seed: 5), Self.values(n, seed: 6))
        func run(_ version: Int32) -> [Float] {
            var y = y0
            sg_axpby_version(version, &y, x, n, 0.999, 0.001)
            return y
        }
        let baseline = run(Int32(SG_KERNELS_BASELINE))
        #expect(zip(baseline, zip(y0, x)).allSatisfy { $0 == 0.999 * $1.0 + 0.001 * $1.1 })
        for version in [SG_KERNELS_AVX2, SG_KERNELS_AVX512] where version <= sg_kernel_widest() {
            #expect(run(Int32(version)) == baseline, "\(Self.names[version]!) differs from the baseline")
        }
    }
}

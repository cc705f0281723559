/// A counter-based Philox-4×32-10 random generator (Salmon et al., SC'11), the generator family
/// PyTorch and JAX use. It owns all of SwiftGAN's randomness: initialisation, noise, dropout,
/// shuffling. The same seed gives bitwise the same stream on every machine, and the whole state
/// is three integers, so a checkpoint can save and restore it exactly.
///
/// ```swift
/// let rng = RandomGenerator(seed: 42)
/// let z = Tensor.randomNormal([64, 100], using: rng)
/// ```
public final class RandomGenerator: RandomNumberGenerator {
    /// The complete state: restoring it continues the stream exactly where it was.
    public struct State: Codable, Equatable, Sendable {
        public var seed: UInt64
        /// Index of the next 32-bit word in the stream.
        public var position: UInt64
    }

    public private(set) var seed: UInt64
    private var counter: UInt64 = 0           // 128-bit block counter; the high half stays 0
    private var block: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    private var used = 4                     // words of `block` already consumed

    public init(seed: UInt64) { self.seed = seed }

    public convenience init(state: State) {
        self.init(seed: state.seed)
        self.state = state
    }

    public var state: State {
        get { State(seed: seed, position: counter * 4 - UInt64(4 - used)) }
        set {
            seed = newValue.seed
            counter = newValue.position / 4
            used = 4
            let skip = Int(newValue.position % 4)
            if skip > 0 { refill(); used = skip }
        }
    }

    /// A seed for an independent stream, derived from `seed` and any labels (epoch, step, …) by
    /// splitmix64: the same inputs give the same seed on every machine, nearby inputs unrelated ones.
    public static func derivedSeed(_ seed: UInt64, _ labels: UInt64...) -> UInt64 {
        func splitmix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return labels.reduce(splitmix(seed)) { splitmix($0 ^ $1) }
    }

    /// A child generator with its own stream, derived deterministically from this one.
    public func split() -> RandomGenerator { RandomGenerator(seed: next()) }

    private func refill() {
        block = Self.philox((UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), 0, 0),
                            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        counter &+= 1
        used = 0
    }

    /// The Philox-4×32-10 bijection of one 128-bit counter under a 64-bit key.
    static func philox(_ counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
            let p0 = UInt64(0xD251_1F53) * UInt64(c0), p1 = UInt64(0xCD9E_8D57) * UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            c1 = UInt32(truncatingIfNeeded: p1); c3 = UInt32(truncatingIfNeeded: p0)
            c0 = n0; c2 = n2
        }
        return (c0, c1, c2, c3)
    }

    /// The next 32 random bits.
    public func nextUInt32() -> UInt32 {
        if used == 4 { refill() }
        defer { used += 1 }
        switch used {
        case 0: return block.0
        case 1: return block.1
        case 2: return block.2
        default: return block.3
        }
    }

    public func next() -> UInt64 { UInt64(nextUInt32()) << 32 | UInt64(nextUInt32()) }

    /// Uniform in [0, 1) with 24 random bits (every Float in the grid is reachable).
    @inline(__always) public func uniform() -> Float { Float(nextUInt32() >> 8) * 0x1p-24 }

    /// A uniformly drawn integer in `range` (unbiased).
    public func integer(in range: ClosedRange<Int>) -> Int {
        var me = self
        return Int.random(in: range, using: &me)
    }

    /// Uniform in (0, 1]: safe to take a logarithm of.
    @inline(__always) func uniformOpenZero() -> Float { Float((nextUInt32() >> 8) + 1) * 0x1p-24 }

    /// Fills `out` with N(mean, std²) samples by the Box–Muller transform, in Double for accuracy.
    public func fillNormal(_ out: UnsafeMutableBufferPointer<Float>, mean: Float = 0, std: Float = 1) {
        var i = 0
        while i < out.count {
            let u1 = Double(uniformOpenZero()), u2 = Double(uniform())
            let r = (-2 * _log(u1)).squareRoot(), t = 2 * Double.pi * u2
            out[i] = mean + std * Float(r * _cos(t))
            if i + 1 < out.count { out[i + 1] = mean + std * Float(r * _sin(t)) }
            i += 2
        }
    }

    /// Fills `out` with samples of N(mean, std²) redrawn until within two standard deviations
    /// (TensorFlow's `truncated_normal`).
    public func fillTruncatedNormal(_ out: UnsafeMutableBufferPointer<Float>, mean: Float = 0, std: Float = 1) {
        var pair: [Float] = [0, 0]
        for i in out.indices {
            while true {
                pair.withUnsafeMutableBufferPointer { fillNormal($0) }
                if abs(pair[0]) <= 2 { out[i] = mean + std * pair[0]; break }
            }
        }
    }

    /// Fills `out` with samples uniform in [low, high).
    public func fillUniform(_ out: UnsafeMutableBufferPointer<Float>, low: Float = 0, high: Float = 1) {
        let span = high - low
        for i in out.indices { out[i] = low + span * uniform() }
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates).
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            p.swapAt(i, j)
        }
        return p
    }
}

// Foundation-free math: these resolve to the C library.
#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
@inline(__always) func _sin(_ x: Double) -> Double { Glibc.sin(x) }
#else
import Darwin
@inline(__always) func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Darwin.cos(x) }
@inline(__always) func _sin(_ x: Double) -> Double { Darwin.sin(x) }
#endif

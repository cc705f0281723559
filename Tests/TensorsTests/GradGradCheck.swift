import Foundation
import Testing
@testable import Tensors

/// Checks an op's second derivatives (PyTorch's `gradgradcheck`): the engine's first derivatives
/// g_k = ∂⟨y, R⟩/∂x_k are computed by a backward pass that records itself (`createGraph`), folded
/// into the scalar H = Σ_k ⟨g_k, S_k⟩ (S random), and H is differentiated again by `backward()`.
/// The reference is H of the Float64 reference, a central difference of ⟨f(x), R⟩ along S,
/// whose gradient is taken by central differences once more. The first derivatives themselves
/// are checked too (against `∂⟨f, R⟩/∂x` by central differences). Returns the worst relative
/// error of the second derivatives.
@discardableResult
func gradGradCheck(_ inputs: [Ref], seed: UInt64 = 13, tolerance: Double = 1e-4, firstOrderTolerance: Double = 1e-5,
                   engine: ([Tensor]) -> Tensor, reference: ([Ref]) -> Ref,
                   sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    let rng = RandomGenerator(seed: seed)
    let leaves = inputs.map { $0.tensor.requiringGrad() }
    let y = engine(leaves)
    let r = Ref.random(y.shape, rng)
    let directions = inputs.map { Ref.random($0.shape, rng) }
    let firsts = y.gradients(wrt: leaves, seed: r.tensor, createGraph: true)

    func outer(_ x: [Ref]) -> Double { zip(reference(x).values, r.values).map(*).reduce(0, +) }
    // H(x) = the derivative of ⟨f(x), R⟩ along S.
    let eps = 1e-4
    func h(_ x: [Ref]) -> Double {
        var plus = x, minus = x
        for k in x.indices {
            for i in x[k].values.indices {
                plus[k].values[i] += eps * directions[k].values[i]
                minus[k].values[i] -= eps * directions[k].values[i]
            }
        }
        return (outer(plus) - outer(minus)) / (2 * eps)
    }
    var worstFirst = 0.0
    for (k, input) in inputs.enumerated() {
        var numeric = [Double](repeating: 0, count: input.values.count)
        for i in input.values.indices {
            var plus = inputs, minus = inputs
            plus[k].values[i] += 1e-6
            minus[k].values[i] -= 1e-6
            numeric[i] = (outer(plus) - outer(minus)) / 2e-6
        }
        let err = relativeError(firsts[k].scalars.map(Double.init), numeric)
        #expect(err < firstOrderTolerance, "input \(k) \(input.shape): first derivative max relative error \(err)", sourceLocation: sourceLocation)
        worstFirst = max(worstFirst, err)
    }

    let hEngine = zip(firsts, directions).map { ($0 * $1.tensor).sum() }.reduce(Tensor(0), +)
    if hEngine.requiresGrad { hEngine.backward() }
    #expect(abs(Double(hEngine.item) - h(inputs)) <= 1e-4 * max(abs(h(inputs)), 1), "H: engine \(hEngine.item), reference \(h(inputs))",
            sourceLocation: sourceLocation)
    var worst = 0.0
    let step = 1e-4
    for (k, input) in inputs.enumerated() {
        let analytic = leaves[k].grad?.scalars.map(Double.init) ?? [Double](repeating: 0, count: input.values.count)
        var numeric = [Double](repeating: 0, count: input.values.count)
        for i in input.values.indices {
            var plus = inputs, minus = inputs
            plus[k].values[i] += step
            minus[k].values[i] -= step
            numeric[i] = (h(plus) - h(minus)) / (2 * step)
        }
        let err = relativeError(analytic, numeric)
        #expect(err < tolerance, "input \(k) \(input.shape): second derivative max relative error \(err)", sourceLocation: sourceLocation)
        worst = max(worst, err)
    }
    print("gradgradcheck \(sourceLocation.fileName):\(sourceLocation.line) inputs \(inputs.map(\.shape)): "
          + "first derivatives max rel. error \(worstFirst), second \(worst)")
    return worst
}

/// Random values at least `margin` away from 0, for ops with a kink there (ReLU): finite
/// differences must not step across it.
func awayFromZero(_ shape: [Int], _ rng: RandomGenerator, margin: Double = 0.05) -> Ref {
    Ref((0..<shape.reduce(1, *)).map { _ in
        let u = Double(rng.uniform())
        return (u < 0.5 ? -1 : 1) * (margin + (1 - margin) * abs(u * 2 - 1))
    }, shape)
}

import Foundation
import Testing
@testable import Tensors

/// Checks an engine op against its Float64 reference: the forward values, and the gradient of
/// `Σ y·R` (R random) with respect to every input against central finite differences of the
/// reference. Returns the worst relative error of the gradients.
@discardableResult
func gradCheck(_ inputs: [Ref], seed: UInt64 = 7, forwardTolerance: Double = 1e-5, tolerance: Double = 1e-5,
               engine: ([Tensor]) -> Tensor, reference: ([Ref]) -> Ref,
               sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    let rng = RandomGenerator(seed: seed)
    let leaves = inputs.map { $0.tensor.requiringGrad() }
    let y = engine(leaves)
    let yRef = reference(inputs)
    #expect(y.shape == yRef.shape, "output shape", sourceLocation: sourceLocation)
    guard y.shape == yRef.shape else { return .infinity }
    let fwdErr = relativeError(y.scalars.map(Double.init), yRef.values)
    #expect(fwdErr < forwardTolerance, "forward max relative error \(fwdErr)", sourceLocation: sourceLocation)

    let r = Ref.random(yRef.shape, rng)
    y.backward(seed: r.tensor)
    var worst = 0.0
    for (k, input) in inputs.enumerated() {
        let analytic = leaves[k].grad?.scalars.map(Double.init) ?? [Double](repeating: 0, count: input.values.count)
        var numeric = [Double](repeating: 0, count: input.values.count)
        let h = 1e-6
        for i in input.values.indices {
            var plus = inputs, minus = inputs
            plus[k].values[i] += h
            minus[k].values[i] -= h
            let lp = zip(reference(plus).values, r.values).map(*).reduce(0, +)
            let lm = zip(reference(minus).values, r.values).map(*).reduce(0, +)
            numeric[i] = (lp - lm) / (2 * h)
        }
        let err = relativeError(analytic, numeric)
        #expect(err < tolerance, "input \(k) \(input.shape): gradient max relative error \(err)",
                sourceLocation: sourceLocation)
        worst = max(worst, err)
    }
    print("gradcheck \(sourceLocation.fileName):\(sourceLocation.line) inputs \(inputs.map(\.shape)): "
          + "forward max rel. error \(fwdErr), gradient max rel. error \(worst)")
    return worst
}

/// max |a − b| / max(max |b|, 1e-3): scale-aware, and a single wrong element shows.
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    let scale = max(b.map(abs).max() ?? 0, 1e-3)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

import Foundation
import Testing
@testable import NN
import Tensors

@Suite struct OptimizerTests {
    /// With a constant gradient g, bias-corrected moments are exactly g and g², so every step is
    /// lr·g/(|g| + ε): the closed form x_t = x_0 − t·lr·g/(|g|+ε). Without bias correction the
    /// first step would be (1−β1)/√(1−β2) ≈ 3.16 times larger.
    @Test func adamOnALinearFunctionMatchesTheClosedForm() {
        let p = Parameter(Tensor([Float(1), -2, 0.5], shape: [3]))
        let g: [Float] = [0.3, -4, 1e-3]
        let adam = Adam([("p", p)], learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        for t in 1...5 {
            adam.zeroGrad()
            (p.value * Tensor(g, shape: [3])).sum().backward()
            adam.step()
            let expected = zip([1.0, -2, 0.5], g).map { x0, gi in x0 - Double(t) * 0.01 * Double(gi) / (abs(Double(gi)) + 1e-8) }
            #expect(zip(p.value.scalars, expected).allSatisfy { abs(Double($0) - $1) < 1e-6 }, "step \(t)")
        }
    }

    /// On f(x) = ½·a·(x − c)², against the algorithm of the Adam paper iterated in Float64.
    @Test func adamOnAQuadraticMatchesThePaper() {
        let a: [Double] = [2, 0.5, 10], c: [Double] = [1, -1, 3]
        var x: [Double] = [0, 0, 0], m = [0.0, 0, 0], v = [0.0, 0, 0]
        let (lr, b1, b2, eps) = (0.1, 0.5, 0.999, 1e-8)
        let p = Parameter(Tensor(x, shape: [3]))
        let adam = Adam([("p", p)], learningRate: Float(lr), beta1: Float(b1), beta2: Float(b2), epsilon: Float(eps))
        let aT = Tensor(a, shape: [3]), cT = Tensor(c, shape: [3])
        for t in 1...20 {
            adam.zeroGrad()
            ((p.value - cT).square() * aT * 0.5).sum().backward()
            adam.step()
            for i in 0..<3 {
                let g = a[i] * (x[i] - c[i])
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                let mHat = m[i] / (1 - pow(b1, Double(t))), vHat = v[i] / (1 - pow(b2, Double(t)))
                x[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
        #expect(zip(p.value.scalars, x).allSatisfy { abs(Double($0) - $1) < 1e-4 }, "\(p.value.scalars) vs \(x)")
    }

    /// One step over many tensors at once (split across the cores in parts that cut through
    /// tensors, odd sizes included) equals the paper's update on each element, in Float64.
    @Test func adamOverManyTensorsAtOnceMatchesTheElementwiseUpdate() {
        let rng = RandomGenerator(seed: 8)
        let shapes = [[3], [1000, 37], [8191], [5, 7, 11, 13], [1], [40_000]]
        let params = shapes.enumerated().map { ("p\($0.offset)", Parameter(Tensor.randomNormal($0.element, using: rng))) }
        let targets = shapes.map { Tensor.randomNormal($0, using: rng) }
        let adam = Adam(params, learningRate: 0.01, beta1: 0.5, beta2: 0.999, epsilon: 1e-8)
        var x = params.map { $0.1.value.scalars.map(Double.init) }
        var m = x.map { [Double](repeating: 0, count: $0.count) }, v = m
        for t in 1...3 {
            adam.zeroGrad()
            zip(params, targets).map { (($0.1.value - $1).square() * 0.5).sum() }.reduce(Tensor(0), +).backward()
            adam.step()
            for k in x.indices {
                let c = targets[k].scalars
                for i in x[k].indices {
                    let g = x[k][i] - Double(c[i])
                    m[k][i] = 0.5 * m[k][i] + 0.5 * g
                    v[k][i] = 0.999 * v[k][i] + 0.001 * g * g
                    x[k][i] -= 0.01 * (m[k][i] / (1 - pow(0.5, Double(t)))) / ((v[k][i] / (1 - pow(0.999, Double(t)))).squareRoot() + 1e-8)
                }
            }
        }
        for (k, (name, p)) in params.enumerated() {
            let worst = zip(p.value.scalars, x[k]).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst < 1e-5, "\(name) \(shapes[k]): differs by \(worst)")
        }
    }

    @Test func sgdWithMomentumMatchesPyTorchsRecurrence() {
        let p = Parameter(Tensor([Float(1), 2], shape: [2]))
        let sgd = SGD([("p", p)], learningRate: 0.1, momentum: 0.9)
        var x: [Double] = [1, 2], b: [Double] = [0, 0]
        for t in 0..<4 {
            sgd.zeroGrad()
            p.value.square().sum().backward()  // g = 2x
            sgd.step()
            for i in 0..<2 {
                let g = 2 * x[i]
                b[i] = t == 0 ? g : 0.9 * b[i] + g
                x[i] -= 0.1 * b[i]
            }
        }
        #expect(zip(p.value.scalars, x).allSatisfy { abs(Double($0) - $1) < 1e-5 })
    }

    @Test func adamStateRoundTripsAndContinuesIdentically() throws {
        func run(_ steps: Int, resumeAt: Int?) throws -> [Float] {
            let p = Parameter(Tensor([Float(0.5), -1], shape: [2]))
            var adam = Adam([("w", p)], learningRate: 0.05, beta1: 0.5)
            for t in 0..<steps {
                if t == resumeAt {
                    let state = Dictionary(uniqueKeysWithValues: adam.stateTensors().map { ($0.name, $0.tensor) })
                    adam = Adam([("w", p)], learningRate: 0.05, beta1: 0.5)
                    try adam.loadState(state)
                }
                adam.zeroGrad()
                (p.value - 3).square().sum().backward()
                adam.step()
            }
            return p.value.scalars
        }
        #expect(try run(6, resumeAt: nil) == run(6, resumeAt: 3))
        let adam = Adam([("w", Parameter(.zeros([2])))])
        #expect(throws: OptimizerStateError.missing("step")) { try adam.loadState([:]) }
    }
}

#if canImport(Glibc)
import Glibc
#endif

// In-place updates of parameters, optimizer moments and running statistics: memory-bound host
// loops over the storages' own layouts (gradients arrive in their parameter's layout).
extension CPUBackend {
    private func sameLayout(_ op: String, _ a: CPUStorage, _ b: CPUStorage) {
        checkShapes(a.shape == b.shape, op, a.shape, b.shape)
        precondition(a.md == b.md, "\(op): operands of shape \(a.shape) are in different layouts")
    }

    package func axpby(_ y: DeviceStorage, a: Float, _ x: DeviceStorage, b: Float) {
        Profiler.shared.measure("axpby (host)") {
            let y = cpu(y), x = cpu(relayout(x, like: y))
            sameLayout("axpby", y, x)
            let yp = y.floats, xp = x.floats
            for i in 0..<y.physicalCount { yp[i] = a * yp[i] + b * xp[i] }
            y.buffer.version += 1
        }
    }

    package func adam(param: DeviceStorage, grad: DeviceStorage, m: DeviceStorage, v: DeviceStorage, _ h: AdamStep) {
        Profiler.shared.measure("adam (host)") {
            let p = cpu(param), g = cpu(relayout(grad, like: param)), m = cpu(m), v = cpu(v)
            sameLayout("adam", p, g); sameLayout("adam", p, m); sameLayout("adam", p, v)
            precondition(h.step >= 1, "adam: step counts from 1, got \(h.step)")
            let pp = p.floats, gp = g.floats, mp = m.floats, vp = v.floats
            adamKernel(pp, gp, mp, vp, 0..<p.physicalCount, h)
            p.buffer.version += 1; m.buffer.version += 1; v.buffer.version += 1
        }
    }

    package func sgd(param: DeviceStorage, grad: DeviceStorage, buffer: DeviceStorage?, _ h: SGDStep) {
        Profiler.shared.measure("sgd (host)") {
            let p = cpu(param), g = cpu(relayout(grad, like: param))
            sameLayout("sgd", p, g)
            let pp = p.floats, gp = g.floats
            let lr = h.learningRate, mu = h.momentum, damp = h.dampening, wd = h.weightDecay
            if let buffer {
                let b = cpu(buffer)
                sameLayout("sgd", p, b)
                let bp = b.floats
                for i in 0..<p.physicalCount {
                    let gi = gp[i] + wd * pp[i]
                    let bi = h.firstStep ? gi : mu * bp[i] + (1 - damp) * gi
                    bp[i] = bi
                    pp[i] -= lr * (h.nesterov ? gi + mu * bi : bi)
                }
                b.buffer.version += 1
            } else {
                for i in 0..<p.physicalCount { pp[i] -= lr * (gp[i] + wd * pp[i]) }
            }
            p.buffer.version += 1
        }
    }
}

/// PyTorch's Adam on `range` of the flat arrays: p −= (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε),
/// eight lanes at a time (the loop is memory-bound: four streams in, three out).
private func adamKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                        _ v: UnsafeMutablePointer<Float>, _ range: Range<Int>, _ h: AdamStep) {
    let bc1 = 1 - powf(h.beta1, Float(h.step)), bc2 = 1 - powf(h.beta2, Float(h.step))
    let stepSize = h.learningRate / bc1, invBc2Sqrt = 1 / bc2.squareRoot()
    let b1 = h.beta1, b2 = h.beta2, eps = h.epsilon, wd = h.weightDecay
    typealias V = SIMD8<Float>
    var i = range.lowerBound
    func load(_ q: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(q + i).loadUnaligned(as: V.self) }
    func store(_ x: V, _ q: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(q + i).storeBytes(of: x, as: V.self) }
    while i + 8 <= range.upperBound {
        let pi = load(p)
        let gi = wd == 0 ? load(g) : load(g) + wd * pi
        let mi = b1 * load(m) + (1 - b1) * gi
        let vi = b2 * load(v) + (1 - b2) * gi * gi
        store(mi, m); store(vi, v)
        store(pi - stepSize * mi / (vi.squareRoot() * invBc2Sqrt + eps), p)
        i += 8
    }
    while i < range.upperBound {
        let gi = wd == 0 ? g[i] : g[i] + wd * p[i]
        let mi = b1 * m[i] + (1 - b1) * gi
        let vi = b2 * v[i] + (1 - b2) * gi * gi
        m[i] = mi; v[i] = vi
        p[i] -= stepSize * mi / (vi.squareRoot() * invBc2Sqrt + eps)
        i += 1
    }
}

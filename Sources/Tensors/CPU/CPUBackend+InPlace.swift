#if canImport(Glibc)
import Glibc
#endif
import CDNNL
import CKernels

// In-place updates of parameters, optimizer moments and running statistics: memory-bound host
// loops over the storages' own layouts (gradients arrive in their parameter's layout).

/// Runs `body` on parts of 0..<n in parallel, on the OpenMP team oneDNN's kernels use (see
/// `cdnnl_parallel_for`); each part is a multiple of `grain` long. `body` must only write to its part.
func parallelFor(_ n: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    withoutActuallyEscaping(body) { body in
        var context = body
        withUnsafeMutablePointer(to: &context) { pointer in
            cdnnl_parallel_for(n, grain, { context, begin, end in
                context!.assumingMemoryBound(to: ((Range<Int>) -> Void).self).pointee(Int(begin)..<Int(end))
            }, pointer)
        }
    }
}
extension CPUBackend {
    private func sameLayout(_ op: String, _ a: CPUStorage, _ b: CPUStorage) {
        checkShapes(a.shape == b.shape, op, a.shape, b.shape)
        precondition(a.md == b.md, "\(op): operands of shape \(a.shape) are in different layouts")
    }

    package func axpby(_ y: DeviceStorage, a: Float, _ x: DeviceStorage, b: Float) {
        Profiler.shared.measure("axpby (host)") {
            let y = cpu(y), x = cpu(relayout(x, like: y))
            sameLayout("axpby", y, x)
            sg_axpby(y.floats, x.floats, y.physicalCount, a, b)
            y.buffer.version += 1
        }
    }

    package func adam(_ tensors: [AdamTensors], _ h: AdamStep) {
        Profiler.shared.measure("adam (host)") {
            precondition(h.step >= 1, "adam: step counts from 1, got \(h.step)")
            // All the tensors as consecutive segments of one index space, split across the cores.
            typealias Segment = (p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                                 m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, start: Int, count: Int)
            var segments: [Segment] = [], storages: [CPUStorage] = [], total = 0
            for t in tensors {
                let p = cpu(t.param), g = cpu(relayout(t.grad, like: t.param)), m = cpu(t.m), v = cpu(t.v)
                sameLayout("adam", p, g); sameLayout("adam", p, m); sameLayout("adam", p, v)
                segments.append((p.floats, g.floats, m.floats, v.floats, total, p.physicalCount))
                storages += [p, g, m, v]
                total += p.physicalCount
            }
            parallelFor(total, grain: 8192) { range in
                // The first segment that reaches into `range`, then each in turn.
                var i = segments.partitioningIndex(where: { $0.start + $0.count > range.lowerBound })
                var at = range.lowerBound
                while at < range.upperBound {
                    let s = segments[i], end = min(range.upperBound, s.start + s.count)
                    adamKernel(s.p, s.g, s.m, s.v, (at - s.start)..<(end - s.start), h)
                    at = end
                    i += 1
                }
            }
            for t in tensors { for s in [t.param, t.m, t.v] { cpu(s).buffer.version += 1 } }
            withExtendedLifetime(storages) {}
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

extension Array {
    /// The first index whose element satisfies `predicate`, for a predicate that is false then true
    /// along the array (binary search); `count` when none does.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

/// PyTorch's Adam on `range` of the flat arrays: p −= (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
/// (`sg_adam`: compiled for AVX-512, AVX2 and baseline x86-64, the widest the CPU has).
private func adamKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                        _ v: UnsafeMutablePointer<Float>, _ range: Range<Int>, _ h: AdamStep) {
    let bc1 = 1 - powf(h.beta1, Float(h.step)), bc2 = 1 - powf(h.beta2, Float(h.step))
    let at = range.lowerBound
    sg_adam(p + at, g + at, m + at, v + at, range.count, h.beta1, h.beta2, h.learningRate / bc1, 1 / bc2.squareRoot(),
            h.epsilon, h.weightDecay)
}

#if canImport(Glibc)
import Glibc
#endif

// Light operations that oneDNN has no primitive for, or that are too small to be worth one:
// they run as plain loops over host memory. None of them is a hot path of a GAN step.
extension CPUBackend {
    public func reduceSum(_ s: DeviceStorage, to shape: [Int]) -> DeviceStorage {
        return Profiler.shared.measure("reduce-sum (host)") {
            let x = cpu(plain(s))
            checkShapes(shape.count == x.shape.count && zip(x.shape, shape).allSatisfy { $1 == $0 || $1 == 1 },
                        "reduceSum", x.shape, shape)
            let out = CPUStorage(shape: shape, md: MemoryDesc(plain: shape))
            var acc = [Double](repeating: 0, count: out.logicalCount)
            let rank = shape.count
            // Row-major strides of the output, zeroed along the reduced axes.
            var outStride = [Int](repeating: 0, count: rank)
            var st = 1
            for i in stride(from: rank - 1, through: 0, by: -1) {
                outStride[i] = shape[i] == 1 && x.shape[i] != 1 ? 0 : st
                st *= shape[i]
            }
            var index = [Int](repeating: 0, count: rank)
            let src = x.floats
            for flat in 0..<x.logicalCount {
                var o = 0
                for i in 0..<rank { o += index[i] * outStride[i] }
                acc[o] += Double(src[flat])
                var i = rank - 1
                while i >= 0 { index[i] += 1; if index[i] < x.shape[i] { break }; index[i] = 0; i -= 1 }
            }
            for i in acc.indices { out.floats[i] = Float(acc[i]) }
            return out
        }
    }

    public func dropout(_ x: DeviceStorage, keep: Float, uniforms: UnsafeBufferPointer<Float>)
        -> (y: DeviceStorage, mask: DeviceStorage) {
        return Profiler.shared.measure("dropout (host)") {
            let x = cpu(x)
            precondition(uniforms.count == x.physicalCount, "dropout: \(uniforms.count) uniforms for \(x.physicalCount) elements")
            let mask = CPUStorage(shape: x.shape, md: x.md), y = CPUStorage(shape: x.shape, md: x.md)
            let scale = 1 / keep
            for i in 0..<x.physicalCount {
                let m: Float = uniforms[i] < keep ? scale : 0
                mask.floats[i] = m
                y.floats[i] = x.floats[i] * m
            }
            return (y, mask)
        }
    }

    public func concat(_ parts: [DeviceStorage], axis: Int) -> DeviceStorage {
        return Profiler.shared.measure("concat (host)") {
            precondition(!parts.isEmpty, "concat: no tensors")
            let first = parts[0].shape
            for p in parts {
                checkShapes(p.shape.count == first.count && axis < first.count
                            && p.shape.enumerated().allSatisfy { $0.offset == axis || $0.element == first[$0.offset] },
                            "concat(axis: \(axis))", first, p.shape)
            }
            var shape = first
            shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
            let out = CPUStorage(shape: shape, md: MemoryDesc(plain: shape))
            let outer = first[..<axis].reduce(1, *), inner = first[(axis + 1)...].reduce(1, *)
            var offset = 0
            for p in parts.map({ cpu(plain($0)) }) {
                let chunk = p.shape[axis] * inner
                for o in 0..<outer {
                    (out.floats + o * shape[axis] * inner + offset).update(from: p.floats + o * chunk, count: chunk)
                }
                offset += chunk
            }
            return out
        }
    }

    public func slice(_ s: DeviceStorage, axis: Int, offset: Int, length: Int) -> DeviceStorage {
        return Profiler.shared.measure("slice (host)") {
            let x = cpu(plain(s))
            checkShapes(axis < x.shape.count && offset >= 0 && length >= 0 && offset + length <= x.shape[axis],
                        "slice(axis: \(axis), offset: \(offset), length: \(length))", x.shape)
            var shape = x.shape
            shape[axis] = length
            let out = CPUStorage(shape: shape, md: MemoryDesc(plain: shape))
            let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
            for o in 0..<outer {
                (out.floats + o * length * inner).update(from: x.floats + (o * x.shape[axis] + offset) * inner,
                                                         count: length * inner)
            }
            return out
        }
    }

    // MARK: Losses

    public func binaryCrossEntropyWithLogits(_ logits: DeviceStorage, targets: DeviceStorage) -> DeviceStorage {
        return Profiler.shared.measure("bce-with-logits forward (host)") {
            let x = cpu(plain(logits)), t = cpu(plain(targets))
            checkShapes(x.shape == t.shape, "binaryCrossEntropyWithLogits", x.shape, t.shape)
            var sum = 0.0
            for i in 0..<x.logicalCount {
                let v = Double(x.floats[i]), y = Double(t.floats[i])
                // max(v, 0) − v·y + log(1 + e^−|v|): no overflow for any v.
                sum += Swift.max(v, 0) - v * y + log1p(exp(-Swift.abs(v)))
            }
            let out = CPUStorage(shape: [], md: MemoryDesc(plain: []))
            out.floats[0] = Float(sum / Double(Swift.max(x.logicalCount, 1)))
            return out
        }
    }

    public func binaryCrossEntropyWithLogitsBackward(_ dloss: DeviceStorage, logits: DeviceStorage,
                                                     targets: DeviceStorage) -> DeviceStorage {
        return Profiler.shared.measure("bce-with-logits backward (host)") {
            let x = cpu(plain(logits)), t = cpu(plain(targets))
            let g = cpu(plain(dloss)).floats[0] / Float(Swift.max(x.logicalCount, 1))
            let dx = CPUStorage(shape: x.shape, md: x.md)
            for i in 0..<x.logicalCount {
                let v = x.floats[i]
                // σ(v) computed on the side where exp cannot overflow.
                let s = v >= 0 ? 1 / (1 + expf(-v)) : expf(v) / (1 + expf(v))
                dx.floats[i] = g * (s - t.floats[i])
            }
            return relayout(dx, like: logits)
        }
    }

    public func softmax(_ logits: DeviceStorage) -> DeviceStorage {
        let x = cpu(plain(logits))
        checkShapes(x.shape.count == 2, "softmax", x.shape, note: "expected logits [N, K]")
        let (n, k) = (x.shape[0], x.shape[1])
        let out = CPUStorage(shape: x.shape, md: x.md)
        for i in 0..<n {
            let row = x.floats + i * k, o = out.floats + i * k
            var m = -Float.infinity
            for j in 0..<k { m = Swift.max(m, row[j]) }
            var sum: Double = 0
            for j in 0..<k { let e = expf(row[j] - m); o[j] = e; sum += Double(e) }
            for j in 0..<k { o[j] = Float(Double(o[j]) / sum) }
        }
        return out
    }

    private func checkLabels(_ x: CPUStorage, _ t: CPUStorage) -> [Int] {
        checkShapes(x.shape.count == 2 && t.shape == [x.shape[0]], "softmaxCrossEntropy", x.shape, t.shape,
                    note: "expected logits [N, K] and labels [N]")
        return (0..<x.shape[0]).map { i in
            let label = Int(t.floats[i])
            precondition(label >= 0 && label < x.shape[1] && Float(label) == t.floats[i],
                         "softmaxCrossEntropy: label \(t.floats[i]) of row \(i) is not a class index in 0..<\(x.shape[1])")
            return label
        }
    }

    public func softmaxCrossEntropy(_ logits: DeviceStorage, labels: DeviceStorage) -> DeviceStorage {
        return Profiler.shared.measure("softmax-cross-entropy forward (host)") {
            let x = cpu(plain(logits)), t = cpu(plain(labels))
            let classes = checkLabels(x, t)
            let k = x.shape[1]
            var total = 0.0
            for (i, label) in classes.enumerated() {
                // −log softmax = logsumexp(x) − x[label], with the maximum taken out for stability.
                let row = x.floats + i * k
                var m = -Float.infinity
                for j in 0..<k { m = Swift.max(m, row[j]) }
                var sum = 0.0
                for j in 0..<k { sum += exp(Double(row[j] - m)) }
                total += log(sum) + Double(m) - Double(row[label])
            }
            let out = CPUStorage(shape: [], md: MemoryDesc(plain: []))
            out.floats[0] = Float(total / Double(Swift.max(classes.count, 1)))
            return out
        }
    }

    public func softmaxCrossEntropyBackward(_ dloss: DeviceStorage, logits: DeviceStorage, labels: DeviceStorage) -> DeviceStorage {
        return Profiler.shared.measure("softmax-cross-entropy backward (host)") {
            let x = cpu(plain(logits)), t = cpu(plain(labels))
            let classes = checkLabels(x, t)
            let scale = cpu(plain(dloss)).floats[0] / Float(Swift.max(classes.count, 1))
            let p = cpu(softmax(x))
            for (i, label) in classes.enumerated() {
                let row = p.floats + i * x.shape[1]
                row[label] -= 1
                for j in 0..<x.shape[1] { row[j] *= scale }
            }
            return relayout(p, like: logits)
        }
    }

    // MARK: In-place updates

    private func sameLayout(_ op: String, _ a: CPUStorage, _ b: CPUStorage) {
        checkShapes(a.shape == b.shape, op, a.shape, b.shape)
        precondition(a.md == b.md, "\(op): operands of shape \(a.shape) are in different layouts")
    }

    public func axpby(_ y: DeviceStorage, a: Float, _ x: DeviceStorage, b: Float) {
        Profiler.shared.measure("axpby (host)") {
            let y = cpu(y), x = cpu(relayout(x, like: y))
            sameLayout("axpby", y, x)
            let yp = y.floats, xp = x.floats
            for i in 0..<y.physicalCount { yp[i] = a * yp[i] + b * xp[i] }
            y.buffer.version += 1
        }
    }

    public func adam(param: DeviceStorage, grad: DeviceStorage, m: DeviceStorage, v: DeviceStorage, _ h: AdamStep) {
        Profiler.shared.measure("adam (host)") {
            let p = cpu(param), g = cpu(relayout(grad, like: param)), m = cpu(m), v = cpu(v)
            sameLayout("adam", p, g); sameLayout("adam", p, m); sameLayout("adam", p, v)
            precondition(h.step >= 1, "adam: step counts from 1, got \(h.step)")
            let pp = p.floats, gp = g.floats, mp = m.floats, vp = v.floats
            adamKernel(pp, gp, mp, vp, 0..<p.physicalCount, h)
            p.buffer.version += 1; m.buffer.version += 1; v.buffer.version += 1
        }
    }

    public func sgd(param: DeviceStorage, grad: DeviceStorage, buffer: DeviceStorage?, _ h: SGDStep) {
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

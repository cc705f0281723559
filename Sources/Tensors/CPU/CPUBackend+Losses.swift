#if canImport(Glibc)
import Glibc
#endif

// Losses and softmax: host loops over [N, K] logits, small next to the networks that make them.
extension CPUBackend {
    package func binaryCrossEntropyWithLogits(_ logits: DeviceStorage, targets: DeviceStorage) -> DeviceStorage {
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

    package func binaryCrossEntropyWithLogitsBackward(_ dloss: DeviceStorage, logits: DeviceStorage,
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

    package func softmax(_ logits: DeviceStorage) -> DeviceStorage {
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

    package func softmaxCrossEntropy(_ logits: DeviceStorage, labels: DeviceStorage) -> DeviceStorage {
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

    package func softmaxCrossEntropyBackward(_ dloss: DeviceStorage, logits: DeviceStorage, labels: DeviceStorage) -> DeviceStorage {
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
}

// Naive Float64 implementations of every differentiable op, written from the textbook definitions
// with no shared code with the engine. Gradient checks differentiate these numerically.
import Foundation
@testable import Tensors

/// A Float64 array with a shape.
struct Ref {
    var values: [Double]
    var shape: [Int]
    init(_ values: [Double], _ shape: [Int]) {
        precondition(values.count == shape.reduce(1, *))
        self.values = values; self.shape = shape
    }
    static func random(_ shape: [Int], _ rng: RandomGenerator, scale: Double = 1) -> Ref {
        Ref((0..<shape.reduce(1, *)).map { _ in scale * (Double(rng.uniform()) * 2 - 1) }, shape)
    }
    var tensor: Tensor { Tensor(values, shape: shape) }
}

enum Reference {
    static func conv2d(_ x: Ref, _ w: Ref, _ b: Ref?, stride: (Int, Int), pad: (Int, Int, Int, Int)) -> Ref {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = (h + pad.0 + pad.2 - kh) / stride.0 + 1, ow = (wd + pad.1 + pad.3 - kw) / stride.1 + 1
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        for ni in 0..<n { for oi in 0..<o { for i in 0..<oh { for j in 0..<ow {
            var acc = b?.values[oi] ?? 0
            for ci in 0..<c { for a in 0..<kh { for bb in 0..<kw {
                let r = i * stride.0 - pad.0 + a, s = j * stride.1 - pad.1 + bb
                if r >= 0 && r < h && s >= 0 && s < wd {
                    acc += x.values[((ni * c + ci) * h + r) * wd + s] * w.values[((oi * c + ci) * kh + a) * kw + bb]
                }
            } } }
            y[((ni * o + oi) * oh + i) * ow + j] = acc
        } } } }
        return Ref(y, [n, o, oh, ow])
    }

    /// Transposed convolution by scattering: every input pixel adds its weighted kernel to the output.
    /// `w` is [in, out, kh, kw]; `pad` is (top, left, bottom, right) cropped from the full output.
    static func convTranspose2d(_ x: Ref, _ w: Ref, _ b: Ref?, stride: (Int, Int), pad: (Int, Int, Int, Int)) -> Ref {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
        let oh = (h - 1) * stride.0 - pad.0 - pad.2 + kh, ow = (wd - 1) * stride.1 - pad.1 - pad.3 + kw
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        for ni in 0..<n { for oi in 0..<o { for i in 0..<oh { for j in 0..<ow {
            y[((ni * o + oi) * oh + i) * ow + j] = b?.values[oi] ?? 0
        } } } }
        for ni in 0..<n { for ci in 0..<c { for i in 0..<h { for j in 0..<wd {
            let v = x.values[((ni * c + ci) * h + i) * wd + j]
            for oi in 0..<o { for a in 0..<kh { for bb in 0..<kw {
                let r = i * stride.0 - pad.0 + a, s = j * stride.1 - pad.1 + bb
                if r >= 0 && r < oh && s >= 0 && s < ow {
                    y[((ni * o + oi) * oh + r) * ow + s] += v * w.values[((ci * o + oi) * kh + a) * kw + bb]
                }
            } } }
        } } } }
        return Ref(y, [n, o, oh, ow])
    }

    static func matmul(_ a: Ref, _ b: Ref) -> Ref {
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        var y = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { y[i * n + j] += a.values[i * k + p] * b.values[p * n + j] } } }
        return Ref(y, [m, n])
    }

    static func linear(_ x: Ref, _ w: Ref, _ b: Ref?) -> Ref {
        let (n, k, o) = (x.shape[0], x.shape[1], w.shape[0])
        var y = [Double](repeating: 0, count: n * o)
        for i in 0..<n { for j in 0..<o {
            var acc = b?.values[j] ?? 0
            for p in 0..<k { acc += x.values[i * k + p] * w.values[j * k + p] }
            y[i * o + j] = acc
        } }
        return Ref(y, [n, o])
    }

    /// Per-channel statistics over every axis but 1.
    static func channelStats(_ x: Ref) -> (mean: [Double], variance: [Double]) {
        let c = x.shape[1], inner = x.shape.dropFirst(2).reduce(1, *), n = x.shape[0]
        var mean = [Double](repeating: 0, count: c), variance = mean
        let m = Double(n * inner)
        for ci in 0..<c {
            var s = 0.0
            for ni in 0..<n { for k in 0..<inner { s += x.values[(ni * c + ci) * inner + k] } }
            mean[ci] = s / m
            var v = 0.0
            for ni in 0..<n { for k in 0..<inner { let d = x.values[(ni * c + ci) * inner + k] - mean[ci]; v += d * d } }
            variance[ci] = v / m
        }
        return (mean, variance)
    }

    /// Class-conditional batch norm: the class weights `k` [N, K] select each sample's scale and
    /// shift from `g`, `b` [K, C]; statistics over the batch as `batchNorm`.
    static func conditionalBatchNorm(_ x: Ref, _ k: Ref, _ g: Ref, _ b: Ref, eps: Double,
                                     stats: (mean: [Double], variance: [Double])? = nil) -> Ref {
        let (mean, variance) = stats ?? channelStats(x)
        let c = x.shape[1], inner = x.shape.dropFirst(2).reduce(1, *), classes = k.shape[1]
        var y = x.values
        for i in y.indices {
            let ci = (i / inner) % c, n = i / (inner * c)
            var gamma = 0.0, beta = 0.0
            for j in 0..<classes { gamma += k.values[n * classes + j] * g.values[j * c + ci]; beta += k.values[n * classes + j] * b.values[j * c + ci] }
            y[i] = gamma * (x.values[i] - mean[ci]) / (variance[ci] + eps).squareRoot() + beta
        }
        return Ref(y, x.shape)
    }

    /// The projection term ⟨k·E, φ⟩ per sample: features `f` [N, F], class weights `k` [N, K],
    /// embedding `e` [K, F] → [N, 1].
    static func projection(_ f: Ref, _ k: Ref, _ e: Ref) -> Ref {
        let (n, d, classes) = (f.shape[0], f.shape[1], k.shape[1])
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n { for j in 0..<classes { for p in 0..<d { y[i] += f.values[i * d + p] * k.values[i * classes + j] * e.values[j * d + p] } } }
        return Ref(y, [n, 1])
    }

    static func batchNorm(_ x: Ref, _ g: Ref, _ b: Ref, eps: Double, stats: (mean: [Double], variance: [Double])? = nil) -> Ref {
        let (mean, variance) = stats ?? channelStats(x)
        let c = x.shape[1], inner = x.shape.dropFirst(2).reduce(1, *)
        var y = x.values
        for i in y.indices {
            let ci = (i / inner) % c
            y[i] = g.values[ci] * (x.values[i] - mean[ci]) / (variance[ci] + eps).squareRoot() + b.values[ci]
        }
        return Ref(y, x.shape)
    }

    static func map(_ x: Ref, _ f: (Double) -> Double) -> Ref { Ref(x.values.map(f), x.shape) }

    static func bceWithLogits(_ x: Ref, _ t: Ref) -> Double {
        // The textbook form, −t·log σ(x) − (1−t)·log(1−σ(x)), evaluated in Float64 for moderate logits.
        zip(x.values, t.values).map { v, y in
            let s = 1 / (1 + Foundation.exp(-v))
            return -(y * Foundation.log(s) + (1 - y) * Foundation.log(1 - s))
        }.reduce(0, +) / Double(x.values.count)
    }
}

extension Reference {
    /// Max or average (padding excluded) pooling, window by window.
    static func pool(_ x: Ref, max isMax: Bool, kernel k: (Int, Int), stride s: (Int, Int), pad p: (Int, Int)) -> Ref {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h + 2 * p.0 - k.0) / s.0 + 1, ow = (w + 2 * p.1 - k.1) / s.1 + 1
        var y = [Double](repeating: 0, count: n * c * oh * ow)
        for plane in 0..<(n * c) { for i in 0..<oh { for j in 0..<ow {
            var values: [Double] = []
            for a in 0..<k.0 { for b in 0..<k.1 {
                let r = i * s.0 - p.0 + a, q = j * s.1 - p.1 + b
                if r >= 0 && r < h && q >= 0 && q < w { values.append(x.values[(plane * h + r) * w + q]) }
            } }
            y[(plane * oh + i) * ow + j] = isMax ? values.max()! : values.reduce(0, +) / Double(values.count)
        } } }
        return Ref(y, [n, c, oh, ow])
    }

    static func softmaxCrossEntropy(_ x: Ref, _ labels: [Int]) -> Double {
        let k = x.shape[1]
        return labels.enumerated().map { i, l in
            let row = Array(x.values[(i * k)..<((i + 1) * k)])
            return Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +)) - row[l]
        }.reduce(0, +) / Double(labels.count)
    }
}

extension Reference {
    /// Nearest-neighbour upsampling: y[n, c, i, j] = x[n, c, ⌊i/f⌋, ⌊j/f⌋].
    static func upsampleNearest(_ x: Ref, _ f: Int) -> Ref {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var y = [Double](repeating: 0, count: n * c * h * f * w * f)
        for p in 0..<(n * c) { for i in 0..<(h * f) { for j in 0..<(w * f) {
            y[(p * h * f + i) * w * f + j] = x.values[(p * h + i / f) * w + j / f]
        } } }
        return Ref(y, [n, c, h * f, w * f])
    }

    /// The sum over each f×f block.
    static func blockSums(_ x: Ref, _ f: Int) -> Ref {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var y = [Double](repeating: 0, count: n * c * (h / f) * (w / f))
        for p in 0..<(n * c) { for i in 0..<h { for j in 0..<w {
            y[(p * (h / f) + i / f) * (w / f) + j / f] += x.values[(p * h + i) * w + j]
        } } }
        return Ref(y, [n, c, h / f, w / f])
    }
}

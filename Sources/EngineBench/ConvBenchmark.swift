import CDNNL
import Foundation
import Tensors


/// One convolution layer of a benchmarked model.
public struct ConvLayer: Sendable {
    public let name: String
    public let batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int
    public let padding: (top: Int, left: Int, bottom: Int, right: Int)
    public let transposed: Bool

    var geometry: ConvGeometry { ConvGeometry(stride: (stride, stride), padding: padding, transposed: transposed) }
    var output: (Int, Int) { geometry.outputSize(inputH: height, inputW: width, kernelH: kernel, kernelW: kernel) }
    /// Multiply-adds ×2 of one pass (the same for forward, backward-data and backward-weights),
    /// over the taps that meet the image, as the profiler counts them (`ConvShape`).
    public var flops: Double { ConvShape(x: xShape, w: wShape, geometry).flops }
    var xShape: [Int] { [batch, inChannels, height, width] }
    var wShape: [Int] {
        transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel]
    }
}

/// The layer shapes of the GANs the issues name.
public enum BenchModels {
    /// The canonical 64×64 DCGAN (Radford et al.; PyTorch's example): G 100→512→256→128→64→3 with
    /// 4×4 transposed convolutions, D 3→64→128→256→512→1 with 4×4 convolutions.
    public static func dcgan64(batch: Int = 64) -> [ConvLayer] {
        let g: [ConvLayer] = [
            .init(name: "G deconv 100→512 1→4", batch: batch, inChannels: 100, outChannels: 512, height: 1, width: 1, kernel: 4, stride: 1, padding: (0, 0, 0, 0), transposed: true),
            .init(name: "G deconv 512→256 4→8", batch: batch, inChannels: 512, outChannels: 256, height: 4, width: 4, kernel: 4, stride: 2, padding: (1, 1, 1, 1), transposed: true),
            .init(name: "G deconv 256→128 8→16", batch: batch, inChannels: 256, outChannels: 128, height: 8, width: 8, kernel: 4, stride: 2, padding: (1, 1, 1, 1), transposed: true),
            .init(name: "G deconv 128→64 16→32", batch: batch, inChannels: 128, outChannels: 64, height: 16, width: 16, kernel: 4, stride: 2, padding: (1, 1, 1, 1), transposed: true),
            .init(name: "G deconv 64→3 32→64", batch: batch, inChannels: 64, outChannels: 3, height: 32, width: 32, kernel: 4, stride: 2, padding: (1, 1, 1, 1), transposed: true),
        ]
        let d: [ConvLayer] = [
            .init(name: "D conv 3→64 64→32", batch: batch, inChannels: 3, outChannels: 64, height: 64, width: 64, kernel: 4, stride: 2, padding: (1, 1, 1, 1), transposed: false),
            .init(name: "D conv 64→128 32→16", batch: batch, inChannels: 64, outChannels: 128, height: 32, width: 32, kernel: 4, stride: 2, padding: (1, 1, 1, 1), transposed: false),
            .init(name: "D conv 128→256 16→8", batch: batch, inChannels: 128, outChannels: 256, height: 16, width: 16, kernel: 4, stride: 2, padding: (1, 1, 1, 1), transposed: false),
            .init(name: "D conv 256→512 8→4", batch: batch, inChannels: 256, outChannels: 512, height: 8, width: 8, kernel: 4, stride: 2, padding: (1, 1, 1, 1), transposed: false),
            .init(name: "D conv 512→1 4→1", batch: batch, inChannels: 512, outChannels: 1, height: 4, width: 4, kernel: 4, stride: 1, padding: (0, 0, 0, 0), transposed: false),
        ]
        return g + d
    }

    /// The 28×28 DCGAN of the TensorFlow tutorial (5×5 kernels, 'same' padding):
    /// G 7×7×256 → 128 (stride 1) → 64 (7→14) → 1 (14→28); D 1→64 (28→14) → 128 (14→7).
    public static func dcgan28(batch: Int = 128) -> [ConvLayer] {
        [
            .init(name: "G deconv 256→128 7→7", batch: batch, inChannels: 256, outChannels: 128, height: 7, width: 7, kernel: 5, stride: 1, padding: (2, 2, 2, 2), transposed: true),
            .init(name: "G deconv 128→64 7→14", batch: batch, inChannels: 128, outChannels: 64, height: 7, width: 7, kernel: 5, stride: 2, padding: (1, 1, 2, 2), transposed: true),
            .init(name: "G deconv 64→1 14→28", batch: batch, inChannels: 64, outChannels: 1, height: 14, width: 14, kernel: 5, stride: 2, padding: (1, 1, 2, 2), transposed: true),
            .init(name: "D conv 1→64 28→14", batch: batch, inChannels: 1, outChannels: 64, height: 28, width: 28, kernel: 5, stride: 2, padding: (1, 1, 2, 2), transposed: false),
            .init(name: "D conv 64→128 14→7", batch: batch, inChannels: 64, outChannels: 128, height: 14, width: 14, kernel: 5, stride: 2, padding: (1, 1, 2, 2), transposed: false),
        ]
    }
}

/// The three passes of a layer.
public enum Direction: String, CaseIterable, Sendable { case forward, backwardData = "backward-data", backwardWeights = "backward-weights" }

/// One row of the benchmark: the engine's rate and oneDNN's own, measured alternately.
public struct LayerTiming: Sendable {
    public let layer: ConvLayer
    public let direction: Direction
    /// Median seconds per pass.
    public let engine: Double, direct: Double
    public var engineGFLOPS: Double { layer.flops / engine / 1e9 }
    public var directGFLOPS: Double { layer.flops / direct / 1e9 }
    /// oneDNN primitives the engine created during the timed rounds (after warm-up): should be 0.
    public let primitivesCreated: Int
    /// Engine time over direct time, minus one (0.05 = 5% slower than oneDNN alone).
    public var overhead: Double { engine / direct - 1 }
}

/// The engine's convolutions against oneDNN's own, layer by layer: the entry point of the
/// direct-oneDNN benchmark (`swiftgan bench --suite engine`), kept under the CPU backend so that no
/// target above `Tensors` sees oneDNN.
public enum ConvBenchmark {
    /// Times every layer's three passes through SwiftGAN's engine (the backend API, with a
    /// weight update between passes so the weight reorder is paid as in training) and through the
    /// same oneDNN primitive called directly, alternating A B A B over `rounds`.
    /// With `staticWeights`, no weight update happens between passes, so the engine's cached weight
    /// reorder is reused: that isolates what the reorders cost.
    public static func run(_ layers: [ConvLayer], rounds: Int = 5, iterations: Int = 3, staticWeights: Bool = false,
                           log: (String) -> Void = { _ in }) -> [LayerTiming] {
        var out: [LayerTiming] = []
        for layer in layers {
            let engine = EnginePath(layer, updateWeights: !staticWeights), direct = DirectConvolution(layer)
            for dir in Direction.allCases {
                // Warm up, then time enough passes per round that a round lasts ≥ 20 ms: small
                // layers take well under a millisecond, where one timer read is already noise.
                let once = max(engine.time(dir, 1), direct.time(dir, 1), 1e-6)
                let n = max(iterations, Int((0.02 / once).rounded(.up)))
                let created = Tensor.backend.statistics.primitivesCreated
                var e: [Double] = [], d: [Double] = []
                for _ in 0..<rounds {
                    e.append(engine.time(dir, n))
                    d.append(direct.time(dir, n))
                }
                let row = LayerTiming(layer: layer, direction: dir, engine: median(e), direct: median(d),
                                      primitivesCreated: Tensor.backend.statistics.primitivesCreated - created)
                log(String(format: "%@ %@: engine %.1f GFLOP/s, oneDNN %.1f GFLOP/s", layer.name, dir.rawValue,
                           row.engineGFLOPS, row.directGFLOPS))
                out.append(row)
            }
        }
        return out
    }

    public static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// The engine's side: the backend calls a layer makes in a training step.
final class EnginePath {
    let layer: ConvLayer
    let x: DeviceStorage, w: DeviceStorage, y: DeviceStorage, zeros: DeviceStorage
    let backend = Tensor.backend
    let updateWeights: Bool

    init(_ layer: ConvLayer, updateWeights: Bool) {
        self.layer = layer
        self.updateWeights = updateWeights
        let rng = RandomGenerator(seed: 1)
        let w = Tensor.randomNormal(layer.wShape, std: 0.02, using: rng).storage
        let x0 = Tensor.randomNormal(layer.xShape, using: rng).storage
        // In a network, activations arrive in the layout the previous kernel chose: take the
        // input as this layer's kernel consumes it.
        let (y, saved) = backend.convolution(x0, weight: w, bias: nil, layer.geometry, precision: .fp32)
        self.x = saved; self.w = w; self.y = y
        zeros = Tensor.zeros(layer.wShape).storage
    }

    /// Mean seconds per pass over `n` passes, each after a weight update (not timed).
    func time(_ dir: Direction, _ n: Int) -> Double {
        var total = 0.0
        for _ in 0..<n {
            if updateWeights { backend.axpby(w, a: 1, zeros, b: 0) }  // what an optimizer step does to the cached reorders
            let t0 = Profiler.now()
            switch dir {
            case .forward: _ = backend.convolution(x, weight: w, bias: nil, layer.geometry, precision: .fp32)
            case .backwardData: _ = backend.convolutionBackwardData(y, weight: w, like: x, layer.geometry, precision: .fp32)
            case .backwardWeights: _ = backend.convolutionBackwardWeights(y, saved: x, weight: w, bias: false, layer.geometry, precision: .fp32)
            }
            total += Profiler.now() - t0
        }
        return total / Double(n)
    }
}

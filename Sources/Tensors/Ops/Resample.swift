// Nearest-neighbour upsampling by an integer factor and its adjoint, the sum over each block:
// FastGAN's generator and its discriminator's decoder grow images with the first (PyTorch's
// `nn.Upsample(scale_factor: f, mode: "nearest")`), and the gradient of one is the other, so each
// records the other as its gradient and second derivatives come for free. Both are oneDNN's
// resampling primitive (its backward pass is the block sums), in the layout the tensor has.

extension Tensor {
    /// [N, C, H, W] → [N, C, f·H, f·W], each value repeated over an f×f block.
    public func upsampledNearest(_ factor: Int) -> Tensor {
        checkShapes(rank == 4 && factor >= 1, "upsampledNearest(\(factor))", shape, note: "expected [N, C, H, W] and a factor of at least 1")
        guard factor > 1 else { return self }
        let y = backend.upsampleNearest(storage, factor: factor)
        return Tensor.record("upsampledNearest", y, inputs: [self]) { g, _ in [g.blockSums(factor)] }
    }

    /// [N, C, f·H, f·W] → [N, C, H, W], each output the sum of an f×f block: the adjoint of
    /// `upsampledNearest(f)` (f² times average pooling).
    public func blockSums(_ factor: Int) -> Tensor {
        checkShapes(rank == 4 && factor >= 1 && shape[2] % factor == 0 && shape[3] % factor == 0, "blockSums(\(factor))", shape,
                    note: "expected [N, C, H, W] with H and W multiples of the factor")
        guard factor > 1 else { return self }
        let y = backend.blockSums(storage, factor: factor)
        return Tensor.record("blockSums", y, inputs: [self]) { g, _ in [g.upsampledNearest(factor)] }
    }
}

extension Tensor {
    /// `conv2d(x.upsampledNearest(2), weight, bias, padding 1)` for a 3×3 `weight` [out, in, 3, 3]
    /// — FastGAN's up-block — computed in the sub-pixel form: a stride-2 transposed convolution
    /// (padding 1) with a 4×4 kernel derived from the 3×3 one. Along each axis, an even output
    /// row 2m reads input rows m − 1 (tap 0) and m (taps 1 and 2, which see the same upsampled
    /// value), an odd one 2m + 1 rows m (taps 0 and 1) and m + 1 (tap 2), so the kernel along each
    /// axis is (w₂, w₁ + w₂, w₀ + w₁, w₀). 16 multiply-adds per input pixel and channel pair
    /// instead of 36; the same function up to the order of float32 sums, and differentiable in
    /// `weight` through the derivation.
    public static func upsampledConv3x3(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        checkShapes(x.rank == 4 && weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3 && weight.shape[1] == x.shape[1],
                    "upsampledConv3x3", x.shape, weight.shape, note: "expected x [N, C, H, W] and a 3×3 weight [out, C, 3, 3]")
        let kernel = weight.subPixelKernel()  // [in, out, 4, 4]
        return Tensor.convTranspose2d(x, weight: kernel, bias: bias, stride: (2, 2), padding: .explicit(1, 1))
    }

    /// The 4×4 transposed-convolution kernel [in, out, 4, 4] of `upsampledConv3x3` from a 3×3
    /// convolution weight [out, in, 3, 3]: K[c, o, p, q] = Σ A[p, i]·A[q, j]·W[o, c, i, j], with A's
    /// rows (0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0) — each of the four taps along an axis the
    /// sum of the 3×3 taps that read the same input row. One pass over the weight; its gradient is
    /// the adjoint (`subPixelKernelAdjoint`), and the adjoint's gradient this.
    public func subPixelKernel() -> Tensor {
        checkShapes(rank == 4 && shape[2] == 3 && shape[3] == 3, "subPixelKernel", shape, note: "expected a 3×3 weight [out, in, 3, 3]")
        let (o, c) = (shape[0], shape[1]), w = scalars
        var k = [Float](repeating: 0, count: c * o * 16)
        Self.forEachSubPixelLink(out: o, in: c) { wi, ki in k[ki] += w[wi] }
        let result = Tensor(k, shape: [c, o, 4, 4])
        return Tensor.record("subPixelKernel", result.storage, inputs: [self]) { g, _ in [g.subPixelKernelAdjoint()] }
    }

    /// The adjoint of `subPixelKernel`: [in, out, 4, 4] → [out, in, 3, 3], W[o, c, i, j] =
    /// Σ A[p, i]·A[q, j]·K[c, o, p, q].
    public func subPixelKernelAdjoint() -> Tensor {
        checkShapes(rank == 4 && shape[2] == 4 && shape[3] == 4, "subPixelKernelAdjoint", shape, note: "expected a 4×4 kernel [in, out, 4, 4]")
        let (c, o) = (shape[0], shape[1]), k = scalars
        var w = [Float](repeating: 0, count: o * c * 9)
        Self.forEachSubPixelLink(out: o, in: c) { wi, ki in w[wi] += k[ki] }
        let result = Tensor(w, shape: [o, c, 3, 3])
        return Tensor.record("subPixelKernelAdjoint", result.storage, inputs: [self]) { g, _ in [g.subPixelKernel()] }
    }

    /// Calls `link(w, k)` for every pair of a 3×3 weight's index w ([out, in, 3, 3]) and a 4×4
    /// kernel's index k ([in, out, 4, 4]) with A[p, i]·A[q, j] = 1: the derivation's one sparse
    /// matrix, read one way by `subPixelKernel` and the other by its adjoint.
    static func forEachSubPixelLink(out o: Int, in c: Int, _ link: (Int, Int) -> Void) {
        for oi in 0..<o {
            for ci in 0..<c {
                let w = (oi * c + ci) * 9, k = (ci * o + oi) * 16
                for p in 0..<4 {
                    for q in 0..<4 {
                        for i in subPixelRows[p] { for j in subPixelRows[q] { link(w + i * 3 + j, k + p * 4 + q) } }
                    }
                }
            }
        }
    }

    /// The 3×3 taps each of the four sub-pixel taps sums, along one axis (the rows of A).
    static let subPixelRows: [[Int]] = [[2], [1, 2], [0, 1], [0]]
}

// Nearest-neighbour upsampling by an integer factor and its adjoint, the sum over each block:
// FastGAN's generator and its discriminator's decoder grow images with the first (PyTorch's
// `nn.Upsample(scale_factor: f, mode: "nearest")`), and the gradient of one is the other, so each
// records the other as its gradient and second derivatives come for free.

extension Tensor {
    /// [N, C, H, W] → [N, C, f·H, f·W], each value repeated over an f×f block.
    public func upsampledNearest(_ factor: Int) -> Tensor {
        checkShapes(rank == 4 && factor >= 1, "upsampledNearest(\(factor))", shape, note: "expected [N, C, H, W] and a factor of at least 1")
        guard factor > 1 else { return self }
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let x = scalars, (oh, ow) = (h * factor, w * factor)
        var y = [Float](repeating: 0, count: planes * oh * ow)
        y.withUnsafeMutableBufferPointer { y in
            x.withUnsafeBufferPointer { x in
                for p in 0..<planes {
                    let source = x.baseAddress! + p * h * w, target = y.baseAddress! + p * oh * ow
                    for i in 0..<oh {
                        let row = source + (i / factor) * w, out = target + i * ow
                        for j in 0..<ow { out[j] = row[j / factor] }
                    }
                }
            }
        }
        let result = Tensor(y, shape: [shape[0], shape[1], oh, ow])
        return Tensor.record("upsampledNearest", result.storage, inputs: [self]) { g, _ in [g.blockSums(factor)] }
    }

    /// [N, C, f·H, f·W] → [N, C, H, W], each output the sum of an f×f block: the adjoint of
    /// `upsampledNearest(f)` (f² times average pooling).
    public func blockSums(_ factor: Int) -> Tensor {
        checkShapes(rank == 4 && factor >= 1 && shape[2] % factor == 0 && shape[3] % factor == 0, "blockSums(\(factor))", shape,
                    note: "expected [N, C, H, W] with H and W multiples of the factor")
        guard factor > 1 else { return self }
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let x = scalars, (oh, ow) = (h / factor, w / factor)
        var y = [Float](repeating: 0, count: planes * oh * ow)
        y.withUnsafeMutableBufferPointer { y in
            x.withUnsafeBufferPointer { x in
                for p in 0..<planes {
                    let source = x.baseAddress! + p * h * w, target = y.baseAddress! + p * oh * ow
                    for i in 0..<h {
                        let row = source + i * w, out = target + (i / factor) * ow
                        for j in 0..<w { out[j / factor] += row[j] }
                    }
                }
            }
        }
        let result = Tensor(y, shape: [shape[0], shape[1], oh, ow])
        return Tensor.record("blockSums", result.storage, inputs: [self]) { g, _ in [g.upsampledNearest(factor)] }
    }
}

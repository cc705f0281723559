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

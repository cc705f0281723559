/// How a convolution pads its input.
public enum Padding: Hashable, Sendable {
    /// The same number of rows and columns on both sides, as PyTorch's `padding=(h, w)`.
    case explicit(Int, Int)
    /// Different amounts per side.
    case asymmetric(top: Int, left: Int, bottom: Int, right: Int)
    /// TensorFlow's 'same': output = ⌈input / stride⌉ for a convolution and input·stride for a
    /// transposed one, with any odd padding at the bottom/right.
    case same
    /// No padding.
    public static let valid = Padding.explicit(0, 0)

    /// Concrete per-side padding for a convolution over `input` with kernel `k` and stride `s`.
    public func resolve(input: (Int, Int), kernel: (Int, Int), stride: (Int, Int), transposed: Bool)
        -> (top: Int, left: Int, bottom: Int, right: Int) {
        switch self {
        case .explicit(let h, let w): return (h, w, h, w)
        case .asymmetric(let t, let l, let b, let r): return (t, l, b, r)
        case .same:
            func split(_ i: Int, _ k: Int, _ s: Int) -> (Int, Int) {
                let total = transposed ? Swift.max(k - s, 0) : Swift.max(((i + s - 1) / s - 1) * s + k - i, 0)
                return (total / 2, total - total / 2)
            }
            let (t, b) = split(input.0, kernel.0, stride.0), (l, r) = split(input.1, kernel.1, stride.1)
            return (t, l, b, r)
        }
    }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as every framework computes it).
    /// - Parameters:
    ///   - x: [N, C_in, H, W]
    ///   - weight: [C_out, C_in, kH, kW] (PyTorch's Conv2d layout)
    ///   - bias: [C_out] or nil
    ///   - activation: applied to the output; when no gradient is recorded, in the same kernel
    /// - Returns: [N, C_out, H_out, W_out]
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                              padding: Padding = .valid, activation: EltwiseOp? = nil) -> Tensor {
        checkShapes(x.rank == 4 && weight.rank == 4, "conv2d", x.shape, weight.shape, note: "expected 4-D input and weight")
        let p = padding.resolve(input: (x.shape[2], x.shape[3]), kernel: (weight.shape[2], weight.shape[3]),
                                stride: stride, transposed: false)
        return convolution(x, weight, bias, ConvGeometry(stride: stride, padding: p, transposed: false), "conv2d", activation)
    }

    /// 2-D transposed convolution (the gradient of `conv2d` with respect to its input).
    /// - Parameters:
    ///   - x: [N, C_in, H, W]
    ///   - weight: [C_in, C_out, kH, kW] (PyTorch's ConvTranspose2d layout)
    ///   - padding: PyTorch's `padding` (`.explicit`) or TensorFlow's `.same` (7→14→28 with 5×5, stride 2)
    ///   - outputPadding: PyTorch's `output_padding`: extra rows/columns at the bottom/right
    ///   - activation: applied to the output; when no gradient is recorded, in the same kernel
    /// - Returns: [N, C_out, (H−1)·s − pad_top − pad_bottom + kH (+ output padding), …]
    public static func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                                       padding: Padding = .valid, outputPadding: (Int, Int) = (0, 0),
                                       activation: EltwiseOp? = nil) -> Tensor {
        checkShapes(x.rank == 4 && weight.rank == 4, "convTranspose2d", x.shape, weight.shape,
                    note: "expected 4-D input and weight")
        var p = padding.resolve(input: (x.shape[2], x.shape[3]), kernel: (weight.shape[2], weight.shape[3]),
                                stride: stride, transposed: true)
        p.bottom -= outputPadding.0
        p.right -= outputPadding.1
        return convolution(x, weight, bias, ConvGeometry(stride: stride, padding: p, transposed: true), "convTranspose2d",
                           activation)
    }

    static func convolution(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ g: ConvGeometry,
                            _ name: StaticString, _ activation: EltwiseOp?) -> Tensor {
        // Without a gradient to record: the inference kernel, activation fused, nothing kept.
        if !isRecording([x, weight] + (bias.map { [$0] } ?? [])) {
            return Tensor(storage: backend.convolutionInference(x.storage, weight: weight.storage, bias: bias?.storage, g,
                                                                 activation: activation, precision: Engine.precision))
        }
        let y = convolution(x, weight, bias, g, name)
        return activation.map { y.activation($0, "activation") } ?? y
    }

    static func convolution(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ g: ConvGeometry,
                            _ name: StaticString) -> Tensor {
        let precision = Engine.precision
        let (y, saved) = backend.convolution(x.storage, weight: weight.storage, bias: bias?.storage, g, precision: precision)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return record(name, y, inputs: inputs) { [xs = x.storage, ws = weight.storage] grad, needs in
            if creatingGraph {
                let c = grad.shape[1]
                return [needs[0] ? convolutionBackwardData(grad, weight: input(1, ws), like: xs, g, precision) : nil,
                        needs[1] ? convolutionBackwardWeights(grad, input: input(0, xs), weight: ws, g, precision) : nil,
                        needs.count > 2 && needs[2] ? grad.sum(to: [1, c, 1, 1]).reshaped([c]) : nil]
            }
            let be = Tensor.backend
            let dx = needs[0] ? Tensor(storage: be.convolutionBackwardData(grad.storage, weight: ws, like: xs, g,
                                                                           precision: precision)) : nil
            guard needs.dropFirst().contains(true) else { return [dx, nil, nil] }
            let (dw, db) = be.convolutionBackwardWeights(grad.storage, saved: saved, weight: ws,
                                                         bias: needs.count > 2, g, precision: precision)
            return [dx, Tensor(storage: dw), db.map { Tensor(storage: $0) }]
        }
    }

    // A convolution is bilinear in its input and weight, so both of its gradients are bilinear
    // too, and their gradients are convolutions again: for y = x ⋆ w with incoming gradient g,
    // dx = B_data(g, w) and dw = B_weights(g, x); ⟨γ, B_data(g, w)⟩ = ⟨γ ⋆ w, g⟩ gives B_data's
    // gradients (γ ⋆ w, B_weights(g, γ)), and ⟨γ, B_weights(g, x)⟩ = ⟨x ⋆ γ, g⟩ gives
    // B_weights' (x ⋆ γ, B_data(g, γ)). The same holds for a transposed convolution, whose
    // passes the backend swaps. A backward pass that records itself uses these two ops.

    /// The input gradient of a convolution of `geometry` as a recorded op of the output gradient
    /// and the weight; `x` gives the input's shape and layout.
    static func convolutionBackwardData(_ dy: Tensor, weight: Tensor, like x: DeviceStorage, _ geometry: ConvGeometry,
                                        _ precision: Precision) -> Tensor {
        let dx = backend.convolutionBackwardData(dy.storage, weight: weight.storage, like: x, geometry, precision: precision)
        return record("convolutionBackwardData", dx, inputs: [dy, weight]) { [ds = dy.storage, ws = weight.storage] gamma, needs in
            [needs[0] ? convolution(gamma, input(1, ws), nil, geometry, "convolution") : nil,
             needs[1] ? convolutionBackwardWeights(input(0, ds), input: gamma, weight: ws, geometry, precision) : nil]
        }
    }

    /// The weight gradient of a convolution of `geometry` as a recorded op of the output gradient
    /// and the input; `weight` gives the weight's shape and layout.
    static func convolutionBackwardWeights(_ dy: Tensor, input x: Tensor, weight: DeviceStorage, _ geometry: ConvGeometry,
                                           _ precision: Precision) -> Tensor {
        let (dw, _) = backend.convolutionBackwardWeights(dy.storage, saved: x.storage, weight: weight, bias: false, geometry,
                                                         precision: precision)
        return record("convolutionBackwardWeights", dw, inputs: [dy, x]) { [ds = dy.storage, xs = x.storage] gamma, needs in
            [needs[0] ? convolution(input(1, xs), gamma, nil, geometry, "convolution") : nil,
             needs[1] ? convolutionBackwardData(input(0, ds), weight: gamma, like: xs, geometry, precision) : nil]
        }
    }
}

import Tensors

/// 2-D max pooling (PyTorch's `nn.MaxPool2d`); the stride defaults to the kernel size.
public final class MaxPool2d: Module {
    public let kernel: Int, stride: Int, padding: Int
    public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
    }
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.maxPool2d(kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
    }
}

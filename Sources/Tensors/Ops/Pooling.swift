extension Tensor {
    /// Max pooling over `kernel` windows of [N, C, H, W] (PyTorch's `max_pool2d`); the stride
    /// defaults to the kernel size. The gradient goes to the position of each window's maximum.
    public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
        pool(PoolGeometry(.max, kernel: kernel, stride: stride ?? kernel,
                          padding: (padding.0, padding.1, padding.0, padding.1)), "maxPool2d")
    }

    /// Average pooling (padding excluded from the count).
    public func avgPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
        pool(PoolGeometry(.average, kernel: kernel, stride: stride ?? kernel,
                          padding: (padding.0, padding.1, padding.0, padding.1)), "avgPool2d")
    }

    func pool(_ g: PoolGeometry, _ name: StaticString) -> Tensor {
        checkShapes(rank == 4, "\(name)", shape, note: "expected a 4-D input [N, C, H, W]")
        let (y, workspace) = backend.pooling(storage, g)
        return Tensor.record(name, y, inputs: [self]) { [storage] grad, _ in
            precondition(!Tensor.creatingGraph, "\(name): no second-order rule (a gradient of a gradient through pooling is not supported)")
            return [Tensor(storage: Tensor.backend.poolingBackward(grad.storage, like: storage, workspace: workspace, g))]
        }
    }
}

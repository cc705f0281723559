// In-place updates: the one exception to tensors being immutable values. Optimizers and running
// statistics overwrite a tensor's storage, and every copy of that tensor sees the new values. None
// of them is recorded for autodiff.

extension Tensor {
    /// This tensor's values as of now: its storage and the count of in-place writes to it. A later
    /// stamp of the same tensor is equal exactly when nothing has written to it since, so a value
    /// computed from tensors (weights folded for inference) can tell when it is stale.
    package struct ContentStamp: Equatable {
        let storage: DeviceStorage
        let version: Int
        package static func == (a: ContentStamp, b: ContentStamp) -> Bool { a.storage === b.storage && a.version == b.version }
    }

    package var contentStamp: ContentStamp { ContentStamp(storage: storage, version: storage.contentVersion) }

    /// Overwrites this tensor's values with `source`'s (same shape), in place.
    public func assign(_ source: Tensor) {
        checkShapes(shape == source.shape, "Tensor.assign", shape, source.shape)
        Tensor.backend.assign(storage, from: source.storage)
    }

    /// `self ← a·self + b·x`, element-wise, in place (`x` of the same shape).
    public func scaleAndAdd(_ a: Float, _ x: Tensor, _ b: Float) {
        checkShapes(shape == x.shape, "Tensor.scaleAndAdd", shape, x.shape)
        Tensor.backend.axpby(storage, a: a, x.storage, b: b)
    }

    /// One Adam step (PyTorch's formulation, see `AdamStep`) on this parameter and its moments
    /// `m` and `v`, all updated in place, from the gradient `grad`.
    public func adamUpdate(grad: Tensor, m: Tensor, v: Tensor, _ h: AdamStep) {
        Tensor.adamUpdate([(self, grad, m, v)], h)
    }

    /// One Adam step on every parameter of `tensors` with its gradient and moments, as one pass
    /// over all of them on all cores (what PyTorch calls a multi-tensor or "foreach" update).
    public static func adamUpdate(_ tensors: [(param: Tensor, grad: Tensor, m: Tensor, v: Tensor)], _ h: AdamStep) {
        for t in tensors {
            checkShapes(t.param.shape == t.grad.shape && t.param.shape == t.m.shape && t.param.shape == t.v.shape,
                        "Tensor.adamUpdate", t.param.shape, t.grad.shape, t.m.shape, t.v.shape)
        }
        backend.adam(tensors.map { AdamTensors(param: $0.param.storage, grad: $0.grad.storage, m: $0.m.storage, v: $0.v.storage) }, h)
    }

    /// One SGD step with momentum (PyTorch's formulation, see `SGDStep`) on this parameter and its
    /// momentum `buffer` (nil without momentum), updated in place, from the gradient `grad`.
    public func sgdUpdate(grad: Tensor, buffer: Tensor?, _ h: SGDStep) {
        checkShapes(shape == grad.shape && (buffer.map { $0.shape == shape } ?? true), "Tensor.sgdUpdate", shape, grad.shape)
        Tensor.backend.sgd(param: storage, grad: grad.storage, buffer: buffer?.storage, h)
    }
}

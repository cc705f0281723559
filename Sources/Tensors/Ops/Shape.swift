extension Tensor {
    /// The same values with another shape of equal element count (row-major order).
    /// One dimension may be -1 and is then inferred.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            checkShapes(known > 0 && count % known == 0, "reshape", shape, newShape)
            target[i] = count / known
        }
        checkShapes(target.reduce(1, *) == count, "reshape", shape, newShape)
        if target == shape { return self }
        let y = backend.reshape(storage, to: target)
        return Tensor.record("reshape", y, inputs: [self]) { [shape, storage] g, _ in
            if Tensor.creatingGraph { return [g.reshaped(shape)] }
            let b = Tensor.backend
            return [Tensor(storage: b.relayout(b.reshape(g.storage, to: shape), like: storage))]
        }
    }

    /// [N, …] → [N, product of the rest].
    public func flattened() -> Tensor { reshaped([shape.first ?? 1, -1]) }

    /// Concatenation along `axis` (channels of NCHW images: axis 1).
    public static func concat(_ parts: [Tensor], axis: Int = 1) -> Tensor {
        let y = backend.concat(parts.map(\.storage), axis: axis)
        let sizes = parts.map { $0.shape[axis] }
        let storages = parts.map(\.storage)
        return record("concat", y, inputs: parts) { g, needs in
            if Tensor.creatingGraph {
                var offset = 0
                return sizes.enumerated().map { i, n in
                    defer { offset += n }
                    return needs[i] ? g.slice(axis: axis, offset: offset, length: n) : nil
                }
            }
            var offset = 0
            return sizes.enumerated().map { i, n in
                defer { offset += n }
                guard needs[i] else { return nil }
                let b = Tensor.backend
                return Tensor(storage: b.relayout(b.slice(g.storage, axis: axis, offset: offset, length: n),
                                                  like: storages[i]))
            }
        }
    }

    /// Elements `[offset, offset + length)` along `axis`.
    public func slice(axis: Int, offset: Int, length: Int) -> Tensor {
        let y = backend.slice(storage, axis: axis, offset: offset, length: length)
        return Tensor.record("slice", y, inputs: [self]) { [shape, storage] g, _ in
            let b = Tensor.backend
            var parts: [DeviceStorage] = []
            var before = shape, after = shape
            before[axis] = offset
            after[axis] = shape[axis] - offset - length
            if Tensor.creatingGraph {
                let zeros = [before, after].filter { $0[axis] > 0 }.map { Tensor.zeros($0) }
                return [Tensor.concat(offset > 0 ? [zeros[0], g] + zeros.dropFirst() : [g] + zeros, axis: axis)]
            }
            if offset > 0 { parts.append(b.full(shape: before, value: 0)) }
            parts.append(g.storage)
            if after[axis] > 0 { parts.append(b.full(shape: after, value: 0)) }
            return [Tensor(storage: b.relayout(b.concat(parts, axis: axis), like: storage))]
        }
    }
}

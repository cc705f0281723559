// Concatenation and slicing: host loops over plain memory (not a hot path of a GAN step).
extension CPUBackend {
    package func concat(_ parts: [DeviceStorage], axis: Int) -> DeviceStorage {
        return Profiler.shared.measure("concat (host)") {
            precondition(!parts.isEmpty, "concat: no tensors")
            let first = parts[0].shape
            for p in parts {
                checkShapes(p.shape.count == first.count && axis < first.count
                            && p.shape.enumerated().allSatisfy { $0.offset == axis || $0.element == first[$0.offset] },
                            "concat(axis: \(axis))", first, p.shape)
            }
            var shape = first
            shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
            let out = CPUStorage(shape: shape, md: MemoryDesc(plain: shape))
            let outer = first[..<axis].reduce(1, *), inner = first[(axis + 1)...].reduce(1, *)
            var offset = 0
            for p in parts.map({ cpu(plain($0)) }) {
                let chunk = p.shape[axis] * inner
                for o in 0..<outer {
                    (out.floats + o * shape[axis] * inner + offset).update(from: p.floats + o * chunk, count: chunk)
                }
                offset += chunk
            }
            return out
        }
    }

    package func slice(_ s: DeviceStorage, axis: Int, offset: Int, length: Int) -> DeviceStorage {
        return Profiler.shared.measure("slice (host)") {
            let x = cpu(plain(s))
            checkShapes(axis < x.shape.count && offset >= 0 && length >= 0 && offset + length <= x.shape[axis],
                        "slice(axis: \(axis), offset: \(offset), length: \(length))", x.shape)
            var shape = x.shape
            shape[axis] = length
            let out = CPUStorage(shape: shape, md: MemoryDesc(plain: shape))
            let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
            for o in 0..<outer {
                (out.floats + o * length * inner).update(from: x.floats + (o * x.shape[axis] + offset) * inner,
                                                         count: length * inner)
            }
            return out
        }
    }
}

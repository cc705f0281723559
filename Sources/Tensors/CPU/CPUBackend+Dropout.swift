// Dropout: a host loop (oneDNN 2.6 has no dropout primitive); not a hot path of a GAN step.
extension CPUBackend {
    package func dropout(_ x: DeviceStorage, keep: Float, uniforms: UnsafeBufferPointer<Float>)
        -> (y: DeviceStorage, mask: DeviceStorage) {
        return Profiler.shared.measure("dropout (host)") {
            let x = f32(cpu(x))
            precondition(uniforms.count == x.physicalCount, "dropout: \(uniforms.count) uniforms for \(x.physicalCount) elements")
            let mask = CPUStorage(shape: x.shape, md: x.md), y = CPUStorage(shape: x.shape, md: x.md)
            let scale = 1 / keep
            let xp = x.floats, mp = mask.floats, yp = y.floats
            for i in 0..<x.physicalCount {
                let m: Float = uniforms[i] < keep ? scale : 0
                mp[i] = m
                yp[i] = xp[i] * m
            }
            return (y, mask)
        }
    }
}

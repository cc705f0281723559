// The per-sample, per-channel affine map of class-conditional batch norm, on the host: one pass
// over contiguous rows of H·W values, split across the cores by (sample, channel). oneDNN's binary
// primitive with a [N, C, 1, 1] operand runs a generic broadcast that cost 80× this here.

extension CPUBackend {
    package func channelAffine(_ x: DeviceStorage, scale: DeviceStorage, shift: DeviceStorage) -> DeviceStorage {
        Profiler.shared.measure("channel affine (host)") {
            let x = cpu(plain(x)), scale = cpu(plain(scale)), shift = cpu(plain(shift))
            let rows = checkChannelAffine("channelAffine", x.shape, scale.shape, shift.shape)
            let inner = x.logicalCount / max(rows, 1)
            let y = CPUStorage(shape: x.shape, md: MemoryDesc(plain: x.shape))
            let xp = x.floats, yp = y.floats, sp = scale.floats, hp = shift.floats
            parallelFor(rows, grain: max(1, 16_384 / max(inner, 1))) { range in
                for r in range {
                    let a = sp[r], b = hp[r], base = r * inner
                    for i in base..<(base + inner) { yp[i] = xp[i] * a + b }
                }
            }
            return y
        }
    }

    package func channelAffineBackward(_ dy: DeviceStorage, x: DeviceStorage, scale: DeviceStorage)
        -> (dx: DeviceStorage, dscale: DeviceStorage, dshift: DeviceStorage) {
        Profiler.shared.measure("channel affine backward (host)") {
            let dy = cpu(plain(dy)), x = cpu(plain(x)), scale = cpu(plain(scale))
            let rows = checkChannelAffine("channelAffineBackward", x.shape, scale.shape, scale.shape)
            checkShapes(dy.shape == x.shape, "channelAffineBackward", dy.shape, x.shape)
            let inner = x.logicalCount / max(rows, 1)
            let dx = CPUStorage(shape: x.shape, md: MemoryDesc(plain: x.shape))
            let dscale = CPUStorage(shape: scale.shape, md: MemoryDesc(plain: scale.shape))
            let dshift = CPUStorage(shape: scale.shape, md: MemoryDesc(plain: scale.shape))
            let g = dy.floats, xp = x.floats, sp = scale.floats, dxp = dx.floats, dsp = dscale.floats, dhp = dshift.floats
            parallelFor(rows, grain: max(1, 16_384 / max(inner, 1))) { range in
                for r in range {
                    let a = sp[r], base = r * inner
                    var sumGX: Float = 0, sumG: Float = 0
                    for i in base..<(base + inner) {
                        let gi = g[i]
                        dxp[i] = gi * a
                        sumGX += gi * xp[i]
                        sumG += gi
                    }
                    dsp[r] = sumGX
                    dhp[r] = sumG
                }
            }
            return (dx, dscale, dshift)
        }
    }

    /// The number of (sample, channel) rows, after checking `x` [N, C, …] against [N, C] tables.
    private func checkChannelAffine(_ op: String, _ x: [Int], _ scale: [Int], _ shift: [Int]) -> Int {
        checkShapes(x.count >= 2 && scale == Array(x.prefix(2)) && shift == scale, op, x, scale, shift,
                    note: "expected x [N, C, …] and scale, shift [N, C]")
        return x[0] * x[1]
    }
}

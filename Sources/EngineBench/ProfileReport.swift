import Foundation
import Tensors

extension Profiler {
    /// A table of the recorded kernels over `steps` repetitions of `unit` (a training step, a
    /// generation of N images) that took `seconds` in all: time per repetition and share of the
    /// time for each op and direction, then the `layers` slowest kernels with their shapes.
    /// Convolution rates are compared with `peak` (GFLOP/s and its precision) when given.
    public func report(seconds: Double, steps: Int, unit: String = "step", layers: Int = 12, peak: (gflops: Double, what: String)? = nil) -> String {
        let n = Double(max(steps, 1))
        let all = entries
        func ms(_ s: Double) -> String { String(format: "%9.2f", 1e3 * s / n) }
        func share(_ s: Double) -> String { String(format: "%6.1f%%", 100 * s / max(seconds, 1e-12)) }
        func rate(_ e: Profiler.Entry) -> String { e.flops > 0 ? String(format: "%8.1f", e.flops / e.seconds / 1e9) : String(repeating: " ", count: 8) }
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? String(s.prefix(w)) : s + String(repeating: " ", count: w - s.count) }
        var kinds: [String: Profiler.Entry] = [:]
        for e in all {
            kinds[e.kind, default: Profiler.Entry(name: e.kind, kind: e.kind)].calls += e.calls
            kinds[e.kind]!.seconds += e.seconds
            kinds[e.kind]!.flops += e.flops
        }
        var lines = ["Profile: \(steps) × \(unit), " + String(format: "%.1f ms per ", 1e3 * seconds / n) + unit,
                     pad("op and direction", 46) + "  ms/each   share    GF/s  calls/each"]
        for k in kinds.values.sorted(by: { $0.seconds > $1.seconds }) {
            lines.append(pad(k.name, 46) + ms(k.seconds) + share(k.seconds) + rate(k) + String(format: "%11.1f", Double(k.calls) / n))
        }
        let inKernels = all.reduce(0) { $0 + $1.seconds }
        lines.append(pad("all kernels", 46) + ms(inKernels) + share(inKernels))
        lines.append(pad("outside kernels (autodiff, Swift, loader)", 46) + ms(seconds - inKernels) + share(seconds - inKernels))
        let conv = kinds.values.filter { $0.kind.contains("convolution") }
        let convSeconds = conv.reduce(0) { $0 + $1.seconds }, convFlops = conv.reduce(0) { $0 + $1.flops }
        if convSeconds > 0 {
            var line = String(format: "convolutions: %.1f ms per ", 1e3 * convSeconds / n) + unit
                + String(format: " (%.1f%% of the time) at %.1f GF/s", 100 * convSeconds / max(seconds, 1e-12), convFlops / convSeconds / 1e9)
            if let peak {
                line += String(format: " = %.0f%% of the %.1f GF/s %@ arithmetic peak", 100 * convFlops / convSeconds / 1e9 / peak.gflops,
                                peak.gflops, peak.what)
            }
            lines.append(line)
        }
        lines.append("\nslowest kernels")
        for e in all.prefix(layers) {
            lines.append(pad(e.name, 78) + ms(e.seconds) + share(e.seconds) + rate(e))
        }
        return lines.joined(separator: "\n")
    }
}

import Foundation
import Tensors

/// An exponential moving average of a module's parameters, kept in a second module of the same
/// structure (Polyak averaging; StyleGAN's "G_ema"): after each update of the source,
/// `average ← β·average + (1 − β)·source` for every parameter, and the buffers (batch norm's
/// running statistics) are copied.
///
/// With `rampUp`, β grows with the number of updates t as StyleGAN2 does (its `ema_rampup` of
/// 0.05: the averaging horizon is at most 5% of the images seen so far):
/// `β_t = min(β, 0.5^(20 / t))`, so the average follows the source closely at first and settles
/// to `β` after about `14 / (1 − β)` updates (13 860 for 0.999).
///
/// ```swift
/// let ema = ModuleAverage(of: generator, into: copyOfGenerator, decay: 0.999)
/// optimizer.step(); ema.update(step: optimizer.stepCount)
/// ```
public final class ModuleAverage {
    public let source: Module
    public let average: Module
    public let decay: Float
    public let rampUp: Bool

    /// `average` must have the same parameters and buffers as `source`; it starts as a copy.
    public init(of source: Module, into average: Module, decay: Float, rampUp: Bool = true) {
        precondition(decay >= 0 && decay < 1, "ModuleAverage: decay must be in [0, 1), got \(decay)")
        let a = average.namedParameters(), s = source.namedParameters()
        precondition(a.map(\.name) == s.map(\.name) && zip(a, s).allSatisfy { $0.parameter.shape == $1.parameter.shape },
                     "ModuleAverage: the average's parameters \(a.map(\.name)) differ from the source's \(s.map(\.name))")
        self.source = source; self.average = average; self.decay = decay; self.rampUp = rampUp
        copy()
        average.setRequiresGrad(false)
    }

    /// β for the `step`-th update (1-based).
    public func beta(step: Int) -> Float {
        guard rampUp else { return decay }
        return Swift.min(decay, Float(pow(0.5, 20 / Double(Swift.max(step, 1)))))
    }

    /// Folds the source's current parameters into the average (the `step`-th update) and copies
    /// the buffers.
    public func update(step: Int) {
        let b = beta(step: step)
        withoutGrad {
            for (a, s) in zip(average.parameters, source.parameters) { a.value.scaleAndAdd(b, s.value, 1 - b) }
            for (a, s) in zip(average.namedBuffers(), source.namedBuffers()) { a.buffer.assign(s.buffer.value) }
        }
    }

    /// Makes the average equal to the source.
    public func copy() {
        withoutGrad {
            for (a, s) in zip(average.parameters, source.parameters) { a.value.assign(s.value) }
            for (a, s) in zip(average.namedBuffers(), source.namedBuffers()) { a.buffer.assign(s.buffer.value) }
        }
    }
}

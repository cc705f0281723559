import Tensors

/// Seconds on the monotonic clock.
func now() -> Double { Profiler.now() }

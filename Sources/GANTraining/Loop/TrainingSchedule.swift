import Foundation

/// When the next `step-` checkpoint is due, by steps or by minutes (epochs are checked at epoch
/// ends), counted from the last checkpoint (or the start of this process's part of the run).
struct CheckpointSchedule {
    var lastStep: Int
    var lastTime = Date()

    init(step: Int) { lastStep = step }

    /// Whether one is due at `step` by the settings of `config`.
    func due(at step: Int, _ config: TrainingConfig) -> Bool {
        guard step > lastStep else { return false }
        if config.checkpointSteps > 0 && step % config.checkpointSteps == 0 { return true }
        return config.checkpointMinutes > 0 && Date().timeIntervalSince(lastTime) >= config.checkpointMinutes * 60
    }

    mutating func wrote(at step: Int) {
        lastStep = step
        lastTime = Date()
    }
}

/// Images per second over windows of about two seconds, and the time left at that rate.
struct ThroughputMeter {
    var windowStart = Date()
    var windowImages = 0
    private(set) var rate = 0.0

    mutating func add(images: Int) {
        windowImages += images
        let elapsed = Date().timeIntervalSince(windowStart)
        if elapsed >= 2 || rate == 0 {
            rate = Double(windowImages) / max(elapsed, 1e-9)
            windowStart = Date()
            windowImages = 0
        }
    }

    func secondsLeft(images: Int) -> Double { Double(images) / max(rate, 1e-9) }
}

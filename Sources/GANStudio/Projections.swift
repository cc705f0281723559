import Foundation
import GANModels
import Imaging
import Tensors

/// Pictures uploaded to be projected (`POST /api/project`), as jobs the page polls and can cancel.
///
/// A projection takes seconds, so it is not a request: `start` answers at once with an id, the job
/// runs on the generation worker (the engine's one thread), running the grids and walks that
/// arrive meanwhile between its steps, and `status` reports how far it is. One projection at a time
/// keeps memory bounded. A job ends done (its latent then serves `/api/image?projection=` and the
/// walk's ends), failed (past `StudioLimits.projectionSeconds` of its own work, or a checkpoint
/// that cannot be read) or cancelled.
final class Projections: @unchecked Sendable {
    enum State: String { case running, done, failed, cancelled }

    final class Job {
        let id: String, checkpoint: String
        var state = State.running
        var fraction = 0.0
        var cancelRequested = false
        var message: String?
        var latent: Tensor?, label: Int32?, pixelError: Double?
        var latentSize = 0
        init(id: String, checkpoint: String) { self.id = id; self.checkpoint = checkpoint }
    }

    /// Seconds a projection may take before it is stopped.
    let timeLimit: Double
    private let worker: GenerationWorker
    init(worker: GenerationWorker, timeLimit: Double = StudioLimits.projectionSeconds) {
        self.worker = worker
        self.timeLimit = timeLimit
    }

    private let lock = NSLock()
    private var jobs: [String: Job] = [:], order: [String] = []
    private var stopping = false

    /// Starts projecting `image` into the generator of `checkpoint` (under the class `className`
    /// names, or searching all); returns the job's id. One projection runs at a time.
    func start(checkpoint: String, image: Image, className: String?, steps: Int) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { throw StudioError.busy("the studio is stopping") }
        if jobs.values.contains(where: { $0.state == .running }) {
            throw StudioError.conflict("a picture is being projected already; wait for it or cancel it")
        }
        let id = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let job = Job(id: id, checkpoint: checkpoint)
        try worker.submit({ [self] samplers in run(job, image: image, className: className, steps: steps, samplers: &samplers) },
                          refused: { [self] _ in
            lock.lock()
            job.state = .cancelled
            lock.unlock()
        })
        jobs[id] = job
        order.append(id)
        // Forget the oldest finished jobs past the bound.
        while order.count > StudioLimits.keptProjections, let old = order.first(where: { jobs[$0]?.state != .running }) {
            jobs[old] = nil
            order.removeAll { $0 == old }
        }
        return id
    }

    /// Runs on the worker's thread; between steps it runs the requests waiting there.
    private func run(_ job: Job, image: Image, className: String?, steps: Int, samplers: inout Samplers) {
        let started = Date()
        var others = 0.0  // seconds spent on other requests between steps, not counted against the bound
        do {
            let projector = try Projector(checkpoint: job.checkpoint)
            let c = projector.config
            let summary = try Checkpoint.summary(job.checkpoint)
            var classes = Projector.Classes.search
            if let className {
                guard c.isConditional else { throw StudioError.badRequest("parameter 'class': this generator is not class-conditional") }
                classes = .given([try c.classIndex(className)])
            }
            let target = ProjectionTargets.tensor([image.flattened(onto: summary.backgroundLevel)], size: c.imageSize, channels: c.channels)
            var options = Projector.Options()
            options.steps = steps
            let result = try projector.project(target, classes: classes, options: options) { p in
                others += worker.runWaiting(&samplers)
                lock.lock()
                defer { lock.unlock() }
                job.fraction = p.fraction
                if Date().timeIntervalSince(started) - others > timeLimit {
                    job.message = String(format: "the projection took longer than %g s, the studio's bound for one picture, and was stopped "
                                         + "(at step %d of %d): ask for fewer steps, or start the studio with a larger --projection-seconds",
                                         timeLimit, p.step, p.steps)
                    return false
                }
                return !job.cancelRequested && !stopping
            }
            lock.lock()
            (job.latent, job.label, job.pixelError) = (result.latents, result.labels?[0], result.pixelErrors[0])
            job.latentSize = c.latent
            job.fraction = 1
            job.state = .done
            lock.unlock()
        } catch {
            lock.lock()
            if job.cancelRequested || stopping && job.message == nil {
                job.state = .cancelled
            } else {
                job.state = .failed
                if job.message == nil {
                    job.message = (error as? StudioError)?.message ?? "checkpoint \((job.checkpoint as NSString).lastPathComponent): \(error)"
                }
            }
            lock.unlock()
        }
    }

    /// The job's state as the page reads it.
    func status(_ id: String) throws -> [String: Any] {
        lock.lock()
        defer { lock.unlock() }
        let job = try find(id)
        var out: [String: Any] = ["id": id, "state": job.state.rawValue, "fraction": job.fraction]
        if let message = job.message { out["error"] = message }
        if job.state == .done, let latent = job.latent {
            out["latent"] = latent.scalars.map(Double.init)
            out["pixel_error"] = job.pixelError ?? 0
            if let label = job.label { out["class"] = Int(label) }
        }
        return out
    }

    func cancel(_ id: String) throws -> [String: Any] {
        lock.lock()
        let job = try? find(id)
        if let job, job.state == .running { job.cancelRequested = true }
        lock.unlock()
        guard job != nil else { throw StudioError.notFound("no projection '\(id.prefix(40))' (finished ones are kept for a while, then forgotten)") }
        return try status(id)
    }

    /// A finished projection's latent [1, …] and class, for a generator of `latent` inputs.
    func latent(_ id: String, latent: Int) throws -> (z: Tensor, label: Int32?) {
        lock.lock()
        defer { lock.unlock() }
        let job = try find(id)
        guard job.state == .done, let z = job.latent else {
            throw StudioError.badRequest("projection '\(id.prefix(40))' is \(job.state.rawValue), not done")
        }
        guard job.latentSize == latent else {
            throw StudioError.badRequest("projection '\(id.prefix(40))' is a latent of \(job.latentSize); this generator takes \(latent)")
        }
        return (z, job.label)
    }

    /// Cancels whatever runs (it stops at its next step) and refuses new jobs: the studio is
    /// stopping. The worker's `stop` then waits for it.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
    }

    private func find(_ id: String) throws -> Job {
        guard let job = jobs[id] else {
            throw StudioError.notFound("no projection '\(id.prefix(40))' (finished ones are kept for a while, then forgotten)")
        }
        return job
    }
}

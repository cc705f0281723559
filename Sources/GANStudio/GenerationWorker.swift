import Foundation
import GANModels
import Tensors

/// The one thread that runs the engine for the studio, and the bounded queue in front of it.
///
/// One thread, because the engine has one owner: its primitive cache and stream are not shared
/// between threads (a projection on a thread of its own beside this one corrupted the cache: the
/// studio crashed under schemathesis). One is also enough: each batch already runs on every core
/// (oneDNN's OpenMP team), so two at once would only contend for them and double the memory.
/// Requests wait in a queue of `StudioLimits.maxPendingGenerations`; past it they are refused at
/// once (503), so a burst costs a bounded amount of memory and every accepted request is served in
/// order. A long job (a projection) runs the requests that arrive meanwhile between its own steps
/// (`runWaiting`), so a grid is not held up behind it. The generators live on this thread only
/// (`Samplers`), so no lock guards them.
final class GenerationWorker: @unchecked Sendable {
    private let condition = NSCondition()
    /// A waiting request: what to run, and how to refuse it when the studio stops first.
    private struct Job {
        let run: (inout Samplers) -> Void
        let refuse: (StudioError) -> Void
    }
    private var jobs: [Job] = []
    private var stopped = false
    private let maxPending: Int
    private var thread: Thread?
    /// Signalled when the thread has returned: the process must not exit while it runs a kernel
    /// (exit tears down oneDNN's JIT code under it).
    private let ended = DispatchSemaphore(value: 0)

    init(maxPending: Int = StudioLimits.maxPendingGenerations, precision: Precision) {
        self.maxPending = maxPending
        let samplers = Samplers(precision: precision)
        let thread = Thread { [unowned self] in self.loop(samplers) }
        thread.name = "swiftgan-studio-generation"
        // oneDNN's kernels and the network's recursion need more than a secondary thread's default stack.
        thread.stackSize = 64 << 20
        self.thread = thread
        thread.start()
    }

    /// Runs `body` on the worker with the loaded generators and returns its result; throws
    /// `StudioError.busy` at once when the queue is full, and what `body` throws.
    func run<T: Sendable>(_ body: @escaping (inout Samplers) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            do {
                try submit({ samplers in
                    do { continuation.resume(returning: try body(&samplers)) } catch { continuation.resume(throwing: error) }
                }, refused: { continuation.resume(throwing: $0) })
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Queues `body` without waiting for it (a projection, which reports through its own state);
    /// throws `StudioError.busy` at once when the queue is full or the studio is stopping. A job
    /// still waiting when the studio stops gets `refused` instead of running.
    func submit(_ body: @escaping (inout Samplers) -> Void, refused: @escaping (StudioError) -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { throw StudioError.busy("the studio is stopping") }
        guard jobs.count < maxPending else {
            throw StudioError.busy("\(jobs.count) generation requests are waiting already; try again shortly")
        }
        jobs.append(Job(run: body, refuse: refused))
        condition.signal()
    }

    /// Runs the jobs waiting now, from inside a long job on the worker's thread (a projection,
    /// between two of its steps); returns the seconds they took.
    func runWaiting(_ samplers: inout Samplers) -> Double {
        precondition(Thread.current === thread, "GenerationWorker.runWaiting: called from a thread other than the worker's")
        let start = Date()
        while true {
            condition.lock()
            guard !jobs.isEmpty else { condition.unlock(); break }
            let job = jobs.removeFirst()
            condition.unlock()
            job.run(&samplers)
        }
        return Date().timeIntervalSince(start)
    }

    /// Ends the thread after the running job (waiting jobs are refused) and waits for it to end,
    /// at most `timeout` seconds; false when it was still running then.
    @discardableResult
    func stop(timeout: Double = 30) -> Bool {
        condition.lock()
        let first = !stopped
        stopped = true
        let abandoned = jobs
        jobs = []
        condition.signal()
        condition.unlock()
        for job in abandoned { job.refuse(StudioError.busy("the studio is stopping")) }
        guard first else { return true }
        return ended.wait(timeout: .now() + timeout) == .success
    }

    private func loop(_ initial: Samplers) {
        defer { ended.signal() }
        var samplers = initial
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if stopped && jobs.isEmpty { condition.unlock(); return }
            let job = jobs.removeFirst()
            condition.unlock()
            job.run(&samplers)
        }
    }
}

/// The generators the worker keeps loaded, by checkpoint directory: the most recently used
/// `StudioLimits.loadedGenerators`, reloaded when a checkpoint's files change (a run that
/// resumed and rewrote it).
struct Samplers {
    let precision: Precision
    private var loaded: [(key: String, stamp: Date, sampler: Sampler, meanLatent: [Float]?)] = []

    init(precision: Precision) { self.precision = precision }

    /// The sampler of the checkpoint directory `path`; a checkpoint that cannot be read (corrupt,
    /// half-written, of a model this build cannot make) is `StudioError.unprocessable` naming it.
    mutating func sampler(_ path: String) throws -> Sampler {
        loaded[try index(path)].sampler
    }

    /// The mean latent of the generator at `path` (computed once per loaded generator).
    mutating func meanLatent(_ path: String) throws -> [Float] {
        let i = try index(path)
        if let mean = loaded[i].meanLatent { return mean }
        let mean = loaded[i].sampler.config.meanLatent()
        loaded[i].meanLatent = mean
        return mean
    }

    private mutating func index(_ path: String) throws -> Int {
        let stamp = Self.stamp(path)
        if let i = loaded.firstIndex(where: { $0.key == path && $0.stamp == stamp }) {
            let e = loaded.remove(at: i)
            loaded.append(e)
            return loaded.count - 1
        }
        loaded.removeAll { $0.key == path }
        let sampler: Sampler
        do { sampler = try Sampler(checkpoint: path, precision: precision) } catch {
            throw StudioError.unprocessable("checkpoint \((path as NSString).lastPathComponent) cannot be loaded: \(error)")
        }
        if loaded.count >= StudioLimits.loadedGenerators { loaded.removeFirst() }
        loaded.append((path, stamp, sampler, nil))
        return loaded.count - 1
    }

    /// The newest modification time of a checkpoint's generator and state files.
    private static func stamp(_ path: String) -> Date {
        [Checkpoint.stateFile, Checkpoint.generatorFile].compactMap {
            (try? FileManager.default.attributesOfItem(atPath: path + "/" + $0))?[.modificationDate] as? Date
        }.max() ?? .distantPast
    }
}

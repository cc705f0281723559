import ArgumentParser
import Foundation
import GANStudio
import Synchronization
import Tensors

struct Studio: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a web page to explore a run's generator and watch a run that is training.",
        discussion: """
        Open the address it prints. Explore: a grid of samples by seed (click one to pin it), a walk between two pinned
        samples, the truncation ψ, the class of a conditional generator, downloads of the PNG or the latents (.npy, which
        `swiftgan sample --noise` reads), and a picture of your own projected to its nearest latent (as `swiftgan project`
        does) and pinned beside the seeds. Watch: the latest grid, loss and evaluation charts and throughput, updated as the
        trainer writes them, and a checkpoint selector.

        RUN may be a run directory, a checkpoint, or a directory of runs (the page lists them). The studio listens on
        127.0.0.1; --host another address makes it reachable from other machines and needs --token. Ctrl-C stops it.
        The JSON API is described at /openapi.json.
        """)

    @Argument(help: "A run directory, a checkpoint directory, or a directory of runs.") var directory: String
    @Option(help: "Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface, needs --token).") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port: Int = 7860
    @Option(help: "A secret every request must carry (at least 8 characters); needed with a --host other than the loopback.") var token: String?
    @Option(help: "Arithmetic of the generator's convolutions: fp32 or bf16 (AVX512-BF16 or AMX-BF16).") var precision: Precision = .fp32
    @Option(help: "Seconds a picture's projection may take before it is stopped (a slow machine or a large generator may need more).")
    var projectionSeconds: Double = StudioLimits.projectionSeconds

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535, got \(port)") }
        if let token, token.count < 8 { throw ValidationError("--token must be at least 8 characters, got \(token.count)") }
        if !StudioServer.isLoopback(host) && token == nil {
            throw ValidationError("--host \(host) makes the studio reachable from other machines: give --token SECRET too (every request must carry it)")
        }
        try available(precision)
        guard projectionSeconds.isFinite, (1...86_400).contains(projectionSeconds) else {
            throw ValidationError("--projection-seconds must be from 1 to 86400, got \(projectionSeconds)")
        }
    }

    func run() throws {
        try reportingErrors {
            let catalog: RunCatalog
            do { catalog = try RunCatalog(path: directory) } catch let error as StudioError { throw StudioStartError(error.message) }
            var options = StudioServer.Options()
            options.host = host
            options.port = UInt16(port)
            options.token = token
            options.precision = precision
            options.projectionSeconds = projectionSeconds
            // Its threads come later, from libdispatch and libgomp, which cannot fail cleanly: the
            // studio peaks 130 MiB above this point with a small run (measured: it serves from a
            // 288 MiB limit, and at 192–256 MiB hung in libdispatch or ended in libgomp's message).
            Memory.requireHeadroom(144 << 20, for: "the studio (its threads and a generator's work)")
            let server = try StudioServer(catalog: catalog, options: options)
            if !StudioServer.isLoopback(host) {
                FileHandle.standardError.write(Data("warning: listening on \(host): anyone who can reach this machine and knows the token can use the studio, and the token travels unencrypted (plain HTTP); across networks prefer 127.0.0.1 and an SSH tunnel (ssh -L \(port):127.0.0.1:\(port))\n".utf8))
            }

            // Ctrl-C and SIGTERM stop the server (requests in flight finish); a second one ends it at once.
            let finished = DispatchSemaphore(value: 0)
            let failure = Mutex<Error?>(nil)
            let stopping = Atomic<Bool>(false)
            let threadsEnded = Atomic<Bool>(true)
            let stopped = DispatchSemaphore(value: 0)
            StopSignals.stopGracefully(sameRequestWithin: 0.25)
            StopSignals.onRequest { _ in
                stopping.store(true, ordering: .relaxed)
                say("stopping")
                Task {
                    if !(await server.stop()) { threadsEnded.store(false, ordering: .relaxed) }
                    stopped.signal()
                }
            }
            Task {
                // Stopping closes the listening socket, which ends `run` with an error that is not one.
                do { try await server.run() } catch where !stopping.load(ordering: .relaxed) { failure.withLock { $0 = error } } catch {}
                finished.signal()
            }
            Task {
                guard let bound = try? await server.port() else { return }
                let shown = host.contains(":") ? "[\(host)]" : host
                let address = "http://\(shown):\(bound)/" + (token.map { "?token=\($0)" } ?? "")
                let runs = catalog.runs()
                say("studio of \(catalog.isCollection ? "\(runs.count) runs in \(catalog.root)" : catalog.root) at \(address)  (Ctrl-C stops it)")
            }
            finished.wait()
            // Serving ends before `stop` has waited for the worker thread; exit only after it did.
            if stopping.load(ordering: .relaxed) { stopped.wait() }
            if let error = failure.withLock({ $0 }) {
                throw StudioStartError("cannot listen on \(host):\(port): \(error.localizedDescription)" + (port == 0 ? "" : "; choose another --port"))
            }
            say(threadsEnded.load(ordering: .relaxed) ? "stopped" : "stopped (a generation still running past the grace was abandoned)")
            // Ended without exit's teardown: it destroys oneDNN's primitive cache, whose JIT code a
            // thread still in a kernel would then run (CI saw the studio end with SIGSEGV after
            // "stopped"). `stop` waited for the worker thread; this closes the window for any
            // other (OpenMP's team, the server's tasks). The studio writes no file, so nothing is lost.
            fflush(stdout)
            fflush(stderr)
            _exit(0)
        }
    }
}

/// A failure to start the studio, as one line.
struct StudioStartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import GANTraining
import Synchronization

/// Set by SIGINT/SIGTERM; the trainer checks it after every step.
let stopRequested = Atomic<Bool>(false)

/// When the first stop request came (monotonic seconds).
let stopRequestedAt = Atomic<Int>(0)

/// Ctrl-C or SIGTERM: finish the step, checkpoint, exit. A second one exits at once — unless it
/// comes within a second of the first: under mpiexec a terminal's Ctrl-C reaches each process
/// twice (from the terminal and forwarded by the launcher), and that is one request.
func installStopHandlers() {
    unblockStopSignals()
    for s in [SIGINT, SIGTERM] {
        signal(s) { _ in
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if stopRequested.exchange(true, ordering: .relaxed) {
                if now.tv_sec - stopRequestedAt.load(ordering: .relaxed) >= 1 { _exit(130) }
            } else {
                stopRequestedAt.store(now.tv_sec, ordering: .relaxed)
            }
        }
    }
}

/// A parent may have started us with SIGINT and SIGTERM blocked (a thread of a test runner, a
/// service manager): unblock them, or a stop request would wait forever.
func unblockStopSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

func formatDuration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
}

/// A live status line on a terminal; periodic plain lines otherwise (CI, pipes).
final class ProgressDisplay {
    let interactive: Bool
    var lastDraw = Date.distantPast
    var lastLine = ""

    init(interactive: Bool) { self.interactive = interactive }

    func line(_ p: TrainingProgress) -> String {
        String(format: "epoch %d/%d  step %d/%d  %.0f img/s  ETA %@  D %.3f  G %.3f  D(x) %.2f  D(G(z)) %.2f",
               p.epoch + 1, p.epochs, p.batch, p.batchesPerEpoch, p.imagesPerSecond, formatDuration(p.etaSeconds),
               p.lossD, p.lossG, p.dReal, p.dFake)
    }

    func update(_ p: TrainingProgress) {
        if interactive {
            guard Date().timeIntervalSince(lastDraw) > 0.1 || p.batch == p.batchesPerEpoch else { return }
            lastDraw = Date()
            lastLine = line(p)
            print("\r\u{1B}[K" + lastLine, terminator: "")
            fflush(stdout)
        } else if p.step == 1 || p.step % 50 == 0 || Date().timeIntervalSince(lastDraw) > 30 {
            lastDraw = Date()
            say(line(p))
        }
    }

    func message(_ text: String) {
        if interactive { print("\r\u{1B}[K", terminator: "") }
        say(text)
        if interactive && !lastLine.isEmpty { print(lastLine, terminator: ""); fflush(stdout) }
    }

    func finish() { if interactive { print("") } }
}

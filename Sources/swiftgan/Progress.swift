import Foundation
import GANTraining

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

    /// With a time budget the clock counts it down ("left 12:34"); a run limited by time alone
    /// names no epoch total.
    func line(_ p: TrainingProgress) -> String {
        String(format: "epoch %@  step %d/%d  %.0f img/s  %@ %@  D %.3f  G %.3f  D(x) %.2f  D(G(z)) %.2f",
               p.epochText, p.batch, p.batchesPerEpoch, p.imagesPerSecond, p.budgetLimited ? "left" : "ETA", formatDuration(p.etaSeconds),
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

    /// A status line of any command: redrawn in place on a terminal, printed as a line otherwise.
    func status(_ line: String) {
        lastLine = line
        if interactive {
            print("\r\u{1B}[K" + line, terminator: "")
            fflush(stdout)
        } else {
            say(line)
        }
    }

    func finish() { if interactive { print("") } }
}

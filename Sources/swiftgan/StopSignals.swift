import CSystem
import Foundation

/// SIGINT and SIGTERM, the same way for every command, however it was started (a terminal, `&`
/// in a shell, `timeout`, a service manager, a parent that blocked or ignored the signals).
///
/// `install()` runs first in `main`, before any thread exists: the handler (in CSystem, so that
/// nothing but async-signal-safe calls run at signal time) replaces whatever disposition was
/// inherited, and the signals are unblocked in the main thread and so in every thread it starts.
/// A command that cannot stop halfway ends as the signal's default action would. A command that
/// can (`train` after its step, `studio` after its requests) calls `stopGracefully`, then reads
/// `requested` or waits in `onRequest`; a second signal ends it at once.
///
/// Why not `DispatchSource.makeSignalSource`: it needs the signal ignored (SIG_IGN) and the source
/// kept alive by its owner; an optimised build ended the studio's sources' lifetime right after
/// setting them up, and the signals, ignored, were lost (issue 33). A handler writing to a pipe
/// has no lifetime to get wrong.
enum StopSignals {
    static func install() {
        if sg_stop_signals_install() != 0 {
            complain("cannot install the handler of SIGINT and SIGTERM: \(String(cString: strerror(errno)))")
        }
    }

    /// From now on the first signal is a request to stop; a second one exits at once (status 128 +
    /// its number), unless it comes within `sameRequestWithin` seconds of the first: one request
    /// can arrive twice — under mpiexec a terminal's Ctrl-C reaches each process from the terminal
    /// and from the launcher (up to a second apart), and GNU `timeout` signals its command and then
    /// its own process group (microseconds apart).
    static func stopGracefully(sameRequestWithin: Double) {
        sg_stop_signals_graceful(Int32((sameRequestWithin * 1000).rounded()))
    }

    /// Whether a stop was requested (the trainer checks it after every step).
    static var requested: Bool { sg_stop_signal_received() != 0 }

    /// Calls `action` with the signal, on a thread of its own, when the first request comes.
    static func onRequest(_ action: @escaping @Sendable (Int32) -> Void) {
        Thread.detachNewThread {
            let signal = sg_stop_signal_wait()
            if signal > 0 { action(signal) }
        }
    }
}

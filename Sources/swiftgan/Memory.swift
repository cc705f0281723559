import CSystem
import Foundation
import Tensors

/// Running out of memory ends a command with one line naming memory and exit code 1, never a
/// crash or a hang: the engine's out-of-memory handler covers its buffers and kernels, and a
/// handler of fatal signals covers allocations elsewhere (the Swift runtime's, a library's) when an
/// address-space limit (`ulimit -v`, RLIMIT_AS) is nearly used up. A crash with memory to spare is
/// left a crash: it is a bug, and its trace is worth more than a message.
enum Memory {
    static func installHandlers() {
        let limit = sg_address_space_limit()
        let advice = "raise it (ulimit -v) or ask for less (--batch-size, --count)"
        let whenExhausted = limit == 0 ? "" : "error: out of memory: the address-space limit of \(limit >> 20) MiB is used up; \(advice)"
        if limit != 0 {
            // glibc gives each thread that allocates an arena of its own, 64 MiB of address space
            // reserved apiece: the studio's nine threads reserved 445 MiB that way, and ran out
            // under limits where its real need (about 270 MiB) fits. One arena under a limit.
            sg_limit_malloc_arenas(1)
            sg_install_memory_exhaustion_handler(errorPrefix + whenExhausted, 1, max(limit / 4, 64 << 20))
            // Each compute thread takes a stack (and an arena) of address space; where the limit
            // leaves too little for a team, one thread computes (OpenMP would end the process with
            // "Thread creation failed" instead).
            let team = UInt64(max(Engine.threads - 1, 0)) * (16 << 20) + (64 << 20)
            if Engine.threads > 1 && sg_address_space_available(team) == 0 { Engine.threads = 1 }
        }
        Engine.outOfMemoryHandler = { bytes in
            let asked = bytes > 0 ? " (\(bytes >> 20 > 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes") more could not be had)" : ""
            complain(limit == 0 ? "out of memory\(asked); ask for less (--batch-size, --count)"
                                : "out of memory\(asked): the address-space limit of \(limit >> 20) MiB is used up; \(advice)")
            exit(1)
        }
    }

    /// Ends the command with the one-line memory error now when an address-space limit leaves less
    /// than `bytes` for what it will still map (thread stacks above all), instead of later inside a
    /// library that cannot fail cleanly: libdispatch retries a thread it cannot create forever, and
    /// libgomp exits with its own message. Nothing happens without a limit.
    static func requireHeadroom(_ bytes: UInt64, for purpose: String) {
        let limit = sg_address_space_limit()
        guard limit != 0, sg_address_space_available(bytes) == 0 else { return }
        complain("out of memory: the address-space limit of \(limit >> 20) MiB leaves less than the \(bytes >> 20) MiB \(purpose) needs; raise it (ulimit -v)")
        exit(1)
    }
}

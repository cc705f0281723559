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
}

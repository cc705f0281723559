// System calls that Glibc's Swift overlay leaves out because they need _GNU_SOURCE.
#ifndef SWIFTGAN_CSYSTEM_H
#define SWIFTGAN_CSYSTEM_H

/// syncfs(2): flushes the file system that holds `fd`.
int sg_syncfs(int fd);

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in the runtime that -sanitize=fuzzer links): the fuzzing binary's `main`
/// calls it, since SwiftPM gives an executable its own entry point. Declared only; nothing
/// outside a -sanitize=fuzzer build references it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// The address-space limit (RLIMIT_AS, soft) in bytes; 0 when there is none.
uint64_t sg_address_space_limit(void);

/// Whether `bytes` more of address space can be had now (a PROT_NONE mapping is made and undone).
int sg_address_space_available(uint64_t bytes);

/// Installs handlers for SIGSEGV, SIGBUS, SIGILL, SIGABRT and SIGTRAP that tell running out of memory from
/// a bug: when an address-space limit is set and less than `margin` bytes of it are left, the
/// process writes `message` (one line) to standard error and exits with `code`; otherwise the
/// signal takes its default action (a crash, with its core dump or trace). Runs on its own stack,
/// so a failed stack growth is handled too.
void sg_install_memory_exhaustion_handler(const char *message, int code, uint64_t margin);

/// At most `count` malloc arenas (glibc's M_ARENA_MAX; each thread that allocates may otherwise
/// reserve one of 64 MiB of address space). Returns mallopt's result (1 on success).
int sg_limit_malloc_arenas(int count);

/// SIGINT and SIGTERM: installs their handler (replacing any disposition, SIG_IGN included) and
/// unblocks them in the calling thread; call it before any thread starts. Until
/// `sg_stop_signals_graceful`, either signal ends the process as its default action would.
/// Returns 0, or -1 with errno set.
int sg_stop_signals_install(void);

/// From now on the first SIGINT or SIGTERM is a stop request (`sg_stop_signal_received`,
/// `sg_stop_signal_wait`); a later one exits at once with status 128 + its number, unless it comes
/// within `repeat_window_milliseconds` of the first (then it is the same request, delivered twice).
void sg_stop_signals_graceful(int repeat_window_milliseconds);

/// The signal of the first stop request, 0 while none came.
int sg_stop_signal_received(void);

/// Blocks until a stop request comes; returns its signal (-1 if the pipe failed).
int sg_stop_signal_wait(void);

#endif

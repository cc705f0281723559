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

#endif

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

#endif

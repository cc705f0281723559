#define _GNU_SOURCE
#include <unistd.h>
#include "csystem.h"

int sg_syncfs(int fd) { return syncfs(fd); }

// ── Running out of memory under an address-space limit ──────────────────────────────────────────

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

uint64_t sg_address_space_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
    return (uint64_t)limit.rlim_cur;
}

int sg_address_space_available(uint64_t bytes) {
    void *p = mmap(NULL, (size_t)bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return 0;
    munmap(p, (size_t)bytes);
    return 1;
}

static char exhaustion_message[512];
static int exhaustion_code = 1;
static uint64_t exhaustion_margin;
static char alternate_stack[64 * 1024];

// Only async-signal-safe calls: getrlimit, mmap/munmap (system calls), write, _exit, signal, raise.
static void on_fatal_signal(int signal_number) {
    if (sg_address_space_limit() != 0 && !sg_address_space_available(exhaustion_margin)) {
        ssize_t ignored = write(STDERR_FILENO, exhaustion_message, strlen(exhaustion_message));
        (void)ignored;
        _exit(exhaustion_code);
    }
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

void sg_install_memory_exhaustion_handler(const char *message, int code, uint64_t margin) {
    strncpy(exhaustion_message, message, sizeof exhaustion_message - 2);
    exhaustion_message[sizeof exhaustion_message - 2] = 0;
    size_t n = strlen(exhaustion_message);
    if (n == 0 || exhaustion_message[n - 1] != '\n') { exhaustion_message[n] = '\n'; exhaustion_message[n + 1] = 0; }
    exhaustion_code = code;
    exhaustion_margin = margin;
    stack_t stack = {.ss_sp = alternate_stack, .ss_size = sizeof alternate_stack, .ss_flags = 0};
    sigaltstack(&stack, NULL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_fatal_signal;
    action.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGTRAP};
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++) sigaction(signals[i], &action, NULL);
}

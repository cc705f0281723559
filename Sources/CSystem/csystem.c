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

// ── Stop requests: SIGINT and SIGTERM ───────────────────────────────────────────────────────────
//
// One handler for both signals, installed with sigaction (so it replaces a disposition the parent
// left at SIG_IGN) and unblocked in the calling thread before any other thread exists (threads
// inherit the mask). Until a command says it can stop gracefully, a signal takes its default
// action. After that, the first one is recorded and written as one byte to a pipe, which a
// waiting thread reads (the self-pipe trick: nothing but the handler runs at signal time); a later
// one ends the process at once — unless it comes within the repeat window of the first: one
// request often arrives twice (mpiexec forwards a terminal's Ctrl-C that the process also got;
// GNU timeout signals its command, then its own process group).

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static volatile sig_atomic_t stop_graceful;
static volatile sig_atomic_t stop_signal_number;
// Milliseconds of CLOCK_MONOTONIC; lock-free atomics are async-signal-safe.
static _Atomic long long stop_first_milliseconds;
static _Atomic long long stop_repeat_window;
static int stop_pipe[2] = {-1, -1};

static long long monotonic_milliseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void on_stop_signal(int signal_number) {
    int saved_errno = errno;
    if (!stop_graceful) {
        // The default action (termination by this signal), once the handler returns: the signal is
        // blocked while its handler runs, so the raise is delivered then.
        signal(signal_number, SIG_DFL);
        raise(signal_number);
    } else if (stop_signal_number == 0) {
        stop_first_milliseconds = monotonic_milliseconds();
        stop_signal_number = signal_number;
        char byte = (char)signal_number;
        ssize_t ignored = write(stop_pipe[1], &byte, 1);
        (void)ignored;
    } else if (monotonic_milliseconds() - stop_first_milliseconds >= stop_repeat_window) {
        _exit(128 + signal_number);
    }
    errno = saved_errno;
}

int sg_stop_signals_install(void) {
    if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC) != 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    if (sigaction(SIGINT, &action, NULL) != 0 || sigaction(SIGTERM, &action, NULL) != 0) return -1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}

void sg_stop_signals_graceful(int repeat_window_milliseconds) {
    stop_repeat_window = repeat_window_milliseconds;
    stop_graceful = 1;
}

int sg_stop_signal_received(void) { return stop_signal_number; }

int sg_stop_signal_wait(void) {
    char byte = 0;
    for (;;) {
        ssize_t n = read(stop_pipe[0], &byte, 1);
        if (n == 1) return (unsigned char)byte;
        if (n < 0 && errno == EINTR) continue;
        return -1;
    }
}

// ── malloc's arenas ─────────────────────────────────────────────────────────────────────────────

#include <malloc.h>

int sg_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }

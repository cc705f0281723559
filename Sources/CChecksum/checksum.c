#include <string.h>
#include "checksum.h"

static uint32_t table[256];
static int table_ready;

static void make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        table[i] = c;
    }
    table_ready = 1;
}

uint32_t sg_crc32c_portable(uint32_t crc, const uint8_t *data, size_t n) {
    if (!table_ready) make_table();
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *data, size_t n) {
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        c = __builtin_ia32_crc32di(c, word);
        data += 8; n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *data++);
    return ~c32;
}
#endif

#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
/// ARMv8's CRC32C instructions (present when the compiler targets them).
static uint32_t crc32c_arm(uint32_t crc, const uint8_t *data, size_t n) {
    uint32_t c = ~crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        c = __crc32cd(c, word);
        data += 8; n -= 8;
    }
    while (n--) c = __crc32cb(c, *data++);
    return ~c;
}
#endif

int sg_crc32c_hardware(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("sse4.2");
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
    return 1;
#else
    return 0;
#endif
}

uint32_t sg_crc32c(uint32_t crc, const uint8_t *data, size_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return crc32c_sse42(crc, data, n);
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
    return crc32c_arm(crc, data, n);
#endif
    return sg_crc32c_portable(crc, data, n);
}

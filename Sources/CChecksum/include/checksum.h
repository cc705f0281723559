// CRC-32C (Castagnoli), the checksum of TFRecord framing (TensorBoard's event files).
#ifndef SWIFTGAN_CHECKSUM_H
#define SWIFTGAN_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C of `n` bytes, continuing from `crc` (0 to start): the SSE4.2 `crc32` instruction where
/// the CPU has it, a table otherwise.
uint32_t sg_crc32c(uint32_t crc, const uint8_t *data, size_t n);

/// The table version alone (tests compare the two).
uint32_t sg_crc32c_portable(uint32_t crc, const uint8_t *data, size_t n);

/// Whether `sg_crc32c` uses the instruction.
int sg_crc32c_hardware(void);
#endif

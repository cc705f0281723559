#ifndef SWIFTGAN_CODECS_H
#define SWIFTGAN_CODECS_H
// A small C layer over libpng, libjpeg-turbo (TurboJPEG), giflib and zlib. libpng reports errors by
// longjmp, which Swift cannot catch; these functions catch them and return a status with a message.
#include <stddef.h>
#include <stdint.h>

/// Decoded 8-bit pixels, row-major, interleaved; free `pixels` with sg_free.
typedef struct {
    int width, height, channels;  // channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    uint8_t *pixels;
} sg_image;

/// 0 on success; otherwise -1 with a one-line reason in `error` (never more than `error_len` bytes).
int sg_png_decode(const uint8_t *data, size_t length, sg_image *out, char *error, size_t error_len);
/// Encodes 8-bit gray (1), gray+alpha (2), RGB (3) or RGBA (4) pixels; *out is malloc'ed.
int sg_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *out_length,
                  char *error, size_t error_len);

/// Decodes to gray (1) or RGB (3) as stored; when `min_side` > 0, uses libjpeg-turbo's DCT scaling
/// to the smallest size whose shorter side is still at least `min_side` (fast thumbnails).
/// CMYK/YCCK files are refused with a clear message.
int sg_jpeg_decode(const uint8_t *data, size_t length, int min_side, sg_image *out, char *error, size_t error_len);

/// Encodes 8-bit gray (1) or RGB (3) pixels as a baseline JPEG of the given quality (1–100).
int sg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **out,
                   size_t *out_length, char *error, size_t error_len);

/// Encodes `frame_count` frames of equal size (gray: 1 channel, exact 256-gray palette; RGB: 3
/// channels, each frame quantized to its own 256-colour map) as a looping GIF89a animation.
int sg_gif_encode(const uint8_t *const *frames, int frame_count, int width, int height, int channels,
                  int delay_centiseconds, uint8_t **out, size_t *out_length, char *error, size_t error_len);

/// Reads a whole file, gunzipping it when it is gzip-compressed (raw files pass through).
/// *out is malloc'ed. -1 with a reason when the file cannot be read or the gzip stream is corrupt.
int sg_read_maybe_gzip(const char *path, uint8_t **out, size_t *out_length, char *error, size_t error_len);

/// Inflates a zlib stream (as in MAT-file compressed elements). *out is malloc'ed.
int sg_inflate(const uint8_t *data, size_t length, uint8_t **out, size_t *out_length, char *error, size_t error_len);

void sg_free(void *p);

#endif

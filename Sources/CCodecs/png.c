#include "codecs.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t length, offset;
    char *error;
    size_t error_len;
} reader_state;

static void on_error(png_structp png, png_const_charp message) {
    reader_state *st = (reader_state *)png_get_error_ptr(png);
    if (st && st->error) snprintf(st->error, st->error_len, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

static void read_bytes(png_structp png, png_bytep out, png_size_t count) {
    reader_state *st = (reader_state *)png_get_io_ptr(png);
    if (st->offset + count > st->length) png_error(png, "file is truncated");
    memcpy(out, st->data + st->offset, count);
    st->offset += count;
}

int sg_png_decode(const uint8_t *data, size_t length, sg_image *out, char *error, size_t error_len) {
    memset(out, 0, sizeof *out);
    if (length < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(error, error_len, "not a PNG file (bad signature)");
        return -1;
    }
    reader_state st = {data, length, 0, error, error_len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        snprintf(error, error_len, "out of memory");
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    // Everything below that can fail longjmps here; `rows` and `pixels` are freed on the way out.
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, &st, read_bytes);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    if (width == 0 || height == 0 || width > 65535 || height > 65535) png_error(png, "unsupported image size");
    int color = png_get_color_type(png, info);
    // Normalize to 8-bit gray, gray+alpha, RGB or RGBA.
    png_set_scale_16(png);                                        // 16-bit → 8-bit, rounded
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)width * channels) png_error(png, "unexpected row layout");
    pixels = malloc(rowbytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)width;
    out->height = (int)height;
    out->channels = channels;
    out->pixels = pixels;
    return 0;
}

typedef struct {
    uint8_t *data;
    size_t length, capacity;
    int failed;
} writer_state;

static void write_bytes(png_structp png, png_bytep bytes, png_size_t count) {
    writer_state *st = (writer_state *)png_get_io_ptr(png);
    if (st->length + count > st->capacity) {
        size_t cap = st->capacity ? st->capacity * 2 : 65536;
        while (cap < st->length + count) cap *= 2;
        uint8_t *grown = realloc(st->data, cap);
        if (!grown) png_error(png, "out of memory");
        st->data = grown;
        st->capacity = cap;
    }
    memcpy(st->data + st->length, bytes, count);
    st->length += count;
}

static void flush_bytes(png_structp png) { (void)png; }

int sg_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *out_length,
                  char *error, size_t error_len) {
    static const int types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                PNG_COLOR_TYPE_RGB_ALPHA};
    *out = NULL;
    *out_length = 0;
    if (channels < 1 || channels > 4 || width <= 0 || height <= 0) {
        snprintf(error, error_len, "cannot encode %dx%d with %d channels", width, height, channels);
        return -1;
    }
    reader_state err = {NULL, 0, 0, error, error_len};
    writer_state st = {NULL, 0, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        snprintf(error, error_len, "out of memory");
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(st.data);
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, &st, write_bytes, flush_bytes);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = st.data;
    *out_length = st.length;
    return 0;
}

void sg_free(void *p) { free(p); }

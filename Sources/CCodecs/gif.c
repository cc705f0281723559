#include "codecs.h"
#include <gif_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *data;
    size_t length, capacity;
} buffer;

static int write_bytes(GifFileType *gif, const GifByteType *bytes, int count) {
    buffer *b = (buffer *)gif->UserData;
    if (b->length + (size_t)count > b->capacity) {
        size_t cap = b->capacity ? b->capacity * 2 : 65536;
        while (cap < b->length + (size_t)count) cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) return 0;
        b->data = grown;
        b->capacity = cap;
    }
    memcpy(b->data + b->length, bytes, (size_t)count);
    b->length += (size_t)count;
    return count;
}

#define FAIL(...) do { snprintf(error, error_len, __VA_ARGS__); goto fail; } while (0)

int sg_gif_encode(const uint8_t *const *frames, int frame_count, int width, int height, int channels,
                  int delay_centiseconds, uint8_t **out, size_t *out_length, char *error, size_t error_len) {
    *out = NULL;
    *out_length = 0;
    if (frame_count < 1 || width < 1 || height < 1 || width > 65535 || height > 65535 || (channels != 1 && channels != 3)) {
        snprintf(error, error_len, "cannot encode %d frames of %dx%d with %d channels", frame_count, width, height, channels);
        return -1;
    }
    buffer b = {NULL, 0, 0};
    int err = 0;
    size_t n = (size_t)width * height;
    uint8_t *indices = malloc(n), *r = NULL, *g = NULL, *bl = NULL;
    ColorMapObject *gray = NULL, *local = NULL;
    GifFileType *gif = EGifOpen(&b, write_bytes, &err);
    if (!gif || !indices) FAIL("cannot start the GIF encoder: %s", GifErrorString(err));
    EGifSetGifVersion(gif, true);
    if (channels == 1) {
        gray = GifMakeMapObject(256, NULL);
        if (!gray) FAIL("out of memory");
        for (int i = 0; i < 256; i++) gray->Colors[i].Red = gray->Colors[i].Green = gray->Colors[i].Blue = (GifByteType)i;
    }
    if (EGifPutScreenDesc(gif, width, height, 8, 0, gray) == GIF_ERROR) FAIL("%s", GifErrorString(gif->Error));
    // NETSCAPE2.0 application extension: loop forever.
    unsigned char netscape[] = "NETSCAPE2.0", loop[] = {1, 0, 0};
    if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR
        || EGifPutExtensionBlock(gif, 11, netscape) == GIF_ERROR
        || EGifPutExtensionBlock(gif, 3, loop) == GIF_ERROR
        || EGifPutExtensionTrailer(gif) == GIF_ERROR) FAIL("%s", GifErrorString(gif->Error));
    if (channels == 3) {
        r = malloc(n); g = malloc(n); bl = malloc(n);
        if (!r || !g || !bl) FAIL("out of memory");
    }
    for (int f = 0; f < frame_count; f++) {
        unsigned char gce[4] = {0, (unsigned char)(delay_centiseconds & 0xFF), (unsigned char)(delay_centiseconds >> 8), 0};
        if (EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, gce) == GIF_ERROR) FAIL("%s", GifErrorString(gif->Error));
        const uint8_t *px = frames[f];
        if (channels == 1) {
            memcpy(indices, px, n);
        } else {
            for (size_t i = 0; i < n; i++) { r[i] = px[3 * i]; g[i] = px[3 * i + 1]; bl[i] = px[3 * i + 2]; }
            int size = 256;
            local = GifMakeMapObject(256, NULL);
            if (!local) FAIL("out of memory");
            if (GifQuantizeBuffer((unsigned)width, (unsigned)height, &size, r, g, bl, indices, local->Colors) == GIF_ERROR)
                FAIL("colour quantization failed");
        }
        if (EGifPutImageDesc(gif, 0, 0, width, height, false, local) == GIF_ERROR) FAIL("%s", GifErrorString(gif->Error));
        for (int y = 0; y < height; y++)
            if (EGifPutLine(gif, indices + (size_t)y * width, width) == GIF_ERROR) FAIL("%s", GifErrorString(gif->Error));
        if (local) { GifFreeMapObject(local); local = NULL; }
    }
    if (EGifCloseFile(gif, &err) == GIF_ERROR) { gif = NULL; FAIL("%s", GifErrorString(err)); }
    gif = NULL;
    if (gray) GifFreeMapObject(gray);
    free(indices); free(r); free(g); free(bl);
    *out = b.data;
    *out_length = b.length;
    return 0;
fail:
    if (gif) EGifCloseFile(gif, &err);
    if (gray) GifFreeMapObject(gray);
    if (local) GifFreeMapObject(local);
    free(indices); free(r); free(g); free(bl);
    free(b.data);
    return -1;
}

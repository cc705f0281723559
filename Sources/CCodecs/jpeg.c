#include "codecs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

int sg_jpeg_decode(const uint8_t *data, size_t length, int min_side, sg_image *out, char *error, size_t error_len) {
    memset(out, 0, sizeof *out);
    if (length < 3 || data[0] != 0xFF || data[1] != 0xD8) {
        snprintf(error, error_len, "not a JPEG file (bad signature)");
        return -1;
    }
    tjhandle tj = tjInitDecompress();
    if (!tj) {
        snprintf(error, error_len, "cannot start the JPEG decoder");
        return -1;
    }
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(tj, data, (unsigned long)length, &width, &height, &subsampling, &colorspace) != 0) {
        snprintf(error, error_len, "%s", tjGetErrorStr2(tj));
        tjDestroy(tj);
        return -1;
    }
    if (width <= 0 || height <= 0) {
        snprintf(error, error_len, "no image size in the JPEG header");
        tjDestroy(tj);
        return -1;
    }
    if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
        snprintf(error, error_len, "CMYK JPEG is not supported (convert it to RGB)");
        tjDestroy(tj);
        return -1;
    }
    // The smallest DCT scale factor that keeps the shorter side at least min_side.
    int w = width, h = height;
    if (min_side > 0) {
        int count = 0;
        tjscalingfactor *factors = tjGetScalingFactors(&count);
        for (int i = 0; factors && i < count; i++) {
            int sw = TJSCALED(width, factors[i]), sh = TJSCALED(height, factors[i]);
            int shorter = sw < sh ? sw : sh;
            if (shorter >= min_side && (long)sw * sh < (long)w * h) { w = sw; h = sh; }
        }
    }
    int channels = colorspace == TJCS_GRAY ? 1 : 3;
    uint8_t *pixels = malloc((size_t)w * h * channels);
    if (!pixels) {
        snprintf(error, error_len, "out of memory for %dx%d", w, h);
        tjDestroy(tj);
        return -1;
    }
    int format = channels == 1 ? TJPF_GRAY : TJPF_RGB;
    if (tjDecompress2(tj, data, (unsigned long)length, pixels, w, 0, h, format, TJFLAG_ACCURATEDCT) != 0) {
        // A warning (e.g. extraneous bytes) still yields an image; an error does not.
        if (tjGetErrorCode(tj) == TJERR_FATAL) {
            snprintf(error, error_len, "%s", tjGetErrorStr2(tj));
            free(pixels);
            tjDestroy(tj);
            return -1;
        }
    }
    tjDestroy(tj);
    out->width = w;
    out->height = h;
    out->channels = channels;
    out->pixels = pixels;
    return 0;
}

int sg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **out,
                   size_t *out_length, char *error, size_t error_len) {
    *out = NULL;
    *out_length = 0;
    if ((channels != 1 && channels != 3) || width <= 0 || height <= 0 || quality < 1 || quality > 100) {
        snprintf(error, error_len, "cannot encode %dx%d with %d channels at quality %d", width, height, channels, quality);
        return -1;
    }
    tjhandle tj = tjInitCompress();
    if (!tj) { snprintf(error, error_len, "cannot start the JPEG encoder"); return -1; }
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    int status = tjCompress2(tj, pixels, width, 0, height, channels == 1 ? TJPF_GRAY : TJPF_RGB, &jpeg, &size,
                             channels == 1 ? TJSAMP_GRAY : TJSAMP_420, quality, 0);
    if (status != 0) {
        snprintf(error, error_len, "%s", tjGetErrorStr2(tj));
        tjFree(jpeg);
        tjDestroy(tj);
        return -1;
    }
    tjDestroy(tj);
    // Hand back memory the caller frees with sg_free.
    *out = malloc(size);
    if (!*out) { tjFree(jpeg); snprintf(error, error_len, "out of memory"); return -1; }
    memcpy(*out, jpeg, size);
    *out_length = size;
    tjFree(jpeg);
    return 0;
}

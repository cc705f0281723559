#include "codecs.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int sg_read_maybe_gzip(const char *path, uint8_t **out, size_t *out_length, char *error, size_t error_len) {
    *out = NULL;
    *out_length = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(error, error_len, "%s", strerror(errno ? errno : ENOENT));
        return -1;
    }
    gzbuffer(f, 1 << 17);
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) { snprintf(error, error_len, "out of memory"); gzclose(f); return -1; }
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) { free(buf); buf = NULL; continue; }
            buf = grown;
            cap *= 2;
        }
        unsigned want = (unsigned)((cap - len) > (1u << 30) ? (1u << 30) : (cap - len));
        int got = gzread(f, buf + len, want);
        if (got < 0) {
            int code = 0;
            const char *message = gzerror(f, &code);
            snprintf(error, error_len, "corrupt gzip data: %s", message);
            free(buf);
            gzclose(f);
            return -1;
        }
        if (got == 0) break;
        len += (size_t)got;
    }
    // A gzip stream cut short reads as end of file; gzerror tells.
    int code = 0;
    const char *message = gzerror(f, &code);
    if (code != Z_OK && code != Z_STREAM_END) {
        snprintf(error, error_len, "corrupt gzip data: %s", message);
        free(buf);
        gzclose(f);
        return -1;
    }
    gzclose(f);
    *out = buf;
    *out_length = len;
    return 0;
}

int sg_inflate(const uint8_t *data, size_t length, uint8_t **out, size_t *out_length, char *error, size_t error_len) {
    *out = NULL;
    *out_length = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) { snprintf(error, error_len, "cannot start zlib"); return -1; }
    size_t cap = length * 4 + 1024, len = 0;
    uint8_t *buf = malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)length;
    int status = Z_OK;
    while (buf && status != Z_STREAM_END) {
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) break;
            buf = grown;
            cap *= 2;
        }
        z.next_out = buf + len;
        z.avail_out = (uInt)(cap - len);
        status = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
        if (status == Z_BUF_ERROR && z.avail_in == 0) { status = Z_DATA_ERROR; z.msg = "stream ends early"; }
        if (status != Z_OK && status != Z_STREAM_END) {
            snprintf(error, error_len, "corrupt compressed data: %s", z.msg ? z.msg : "inflate failed");
            free(buf);
            inflateEnd(&z);
            return -1;
        }
    }
    inflateEnd(&z);
    if (!buf || status != Z_STREAM_END) { free(buf); snprintf(error, error_len, "out of memory"); return -1; }
    *out = buf;
    *out_length = len;
    return 0;
}

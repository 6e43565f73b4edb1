/* Whole-file reads: plain files with one fread, gzip files through zlib's gzread into a buffer sized from the
   gzip trailer, so a 47 MB Fashion-MNIST image file is decompressed without repeated reallocation. */
#define _POSIX_C_SOURCE 200809L
#include "tl_internal.h"
#include "../include/tl_io.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void tl_io_free(void *data) { free(data); }

static int io_fail(FILE *f, uint8_t *buffer, int status, const char *path, const char *what) {
    if (f) fclose(f);
    free(buffer);
    return tl_fail(status, "tl_io_read_file: %s '%s'", what, path);
}

/* Reads the gzip stream at `path`; `hint` is the trailer's uncompressed size (mod 2^32, so only a hint). */
static int read_gzip(const char *path, size_t hint, uint8_t **data, tl_size *size) {
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) return tl_fail(TL_ERR_IO, "tl_io_read_file: cannot open '%s': %s", path, strerror(errno));
    gzbuffer(gz, 1 << 18);
    size_t capacity = hint > 0 ? hint + 1 : (size_t)1 << 20, length = 0;
    uint8_t *buffer = malloc(capacity);
    if (buffer == NULL) {
        gzclose_r(gz);
        return tl_fail(TL_ERR_OUT_OF_MEMORY, "tl_io_read_file: cannot allocate %zu bytes for '%s'", capacity, path);
    }
    for (;;) {
        if (length == capacity) {
            if (capacity > ((size_t)PTRDIFF_MAX) / 2) {
                gzclose_r(gz);
                free(buffer);
                return tl_fail(TL_ERR_OUT_OF_MEMORY, "tl_io_read_file: '%s' decompresses to more than %zu bytes", path, capacity);
            }
            uint8_t *grown = realloc(buffer, capacity * 2);
            if (grown == NULL) {
                gzclose_r(gz);
                free(buffer);
                return tl_fail(TL_ERR_OUT_OF_MEMORY, "tl_io_read_file: cannot allocate %zu bytes for '%s'", capacity * 2, path);
            }
            buffer = grown;
            capacity *= 2;
        }
        size_t want = capacity - length;
        if (want > (size_t)INT_MAX) want = (size_t)INT_MAX;
        const int got = gzread(gz, buffer + length, (unsigned)want);
        if (got <= 0) break;
        length += (size_t)got;
    }
    int err = Z_OK;
    const char *message = gzerror(gz, &err);
    /* zlib prefixes its message with the path, which our message already names. */
    const size_t path_length = strlen(path);
    if (message && strncmp(message, path, path_length) == 0 && strncmp(message + path_length, ": ", 2) == 0)
        message += path_length + 2;
    char detail[256];
    snprintf(detail, sizeof detail, "%s", message ? message : "");
    const int closed = gzclose_r(gz);
    if (err != Z_OK || closed != Z_OK) {
        free(buffer);
        if (err == Z_ERRNO) return tl_fail(TL_ERR_IO, "tl_io_read_file: cannot read '%s': %s", path, strerror(errno));
        return tl_fail(TL_ERR_FORMAT, "tl_io_read_file: corrupt or truncated gzip data in '%s' (%s)", path,
                       err != Z_OK ? detail : "unexpected end of file");
    }
    *data = buffer;
    *size = (tl_size)length;
    return TL_OK;
}

int tl_io_read_file(const char *path, uint8_t **data, tl_size *size) {
    TL_CHECK_PTR("tl_io_read_file", path);
    TL_CHECK_PTR("tl_io_read_file", data);
    TL_CHECK_PTR("tl_io_read_file", size);
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return tl_fail(TL_ERR_IO, "tl_io_read_file: cannot open '%s': %s", path, strerror(errno));
    if (fseeko(f, 0, SEEK_END) != 0) return io_fail(f, NULL, TL_ERR_IO, path, "cannot seek in");
    const off_t file_size = ftello(f);
    if (file_size < 0 || fseeko(f, 0, SEEK_SET) != 0) return io_fail(f, NULL, TL_ERR_IO, path, "cannot seek in");
    unsigned char magic[2] = {0, 0};
    const size_t magic_read = fread(magic, 1, 2, f);
    if (magic_read == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        size_t hint = 0;
        unsigned char trailer[4];
        if (file_size >= 18 && fseeko(f, file_size - 4, SEEK_SET) == 0 && fread(trailer, 1, 4, f) == 4)
            hint = (size_t)trailer[0] | (size_t)trailer[1] << 8 | (size_t)trailer[2] << 16 | (size_t)trailer[3] << 24;
        /* deflate expands at most ~1032x: a larger "size" means a damaged trailer, not a huge file. */
        if (hint / 1032 > (size_t)file_size) hint = 0;
        fclose(f);
        return read_gzip(path, hint, data, size);
    }
    uint8_t *buffer = malloc(file_size > 0 ? (size_t)file_size : 1);
    if (buffer == NULL) return io_fail(f, NULL, TL_ERR_OUT_OF_MEMORY, path, "out of memory reading");
    if (fseeko(f, 0, SEEK_SET) != 0 || fread(buffer, 1, (size_t)file_size, f) != (size_t)file_size)
        return io_fail(f, buffer, TL_ERR_IO, path, "cannot read");
    fclose(f);
    *data = buffer;
    *size = (tl_size)file_size;
    return TL_OK;
}

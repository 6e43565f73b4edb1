/* Status strings, the thread-local last error, thread control and aligned allocation. */
#define _GNU_SOURCE /* dladdr */
#include "tl_internal.h"

#include <cblas.h>
#include <dlfcn.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static __thread char tl_error_message[1024];

const char *tl_status_string(int status) {
    switch (status) {
    case TL_OK: return "ok";
    case TL_ERR_INVALID_ARGUMENT: return "invalid argument";
    case TL_ERR_NULL_POINTER: return "null pointer";
    case TL_ERR_OUT_OF_MEMORY: return "out of memory";
    case TL_ERR_IO: return "i/o error";
    case TL_ERR_FORMAT: return "bad format";
    case TL_ERR_NOT_FOUND: return "not found";
    case TL_ERR_ABI: return "ABI mismatch";
    case TL_ERR_NUMERIC: return "non-finite value";
    case TL_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

const char *tl_last_error(void) { return tl_error_message; }

int tl_fail(int status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(tl_error_message, sizeof tl_error_message, format, args);
    va_end(args);
    return status;
}

int tl_set_last_error(int status, const char *message) {
    snprintf(tl_error_message, sizeof tl_error_message, "%s", message ? message : "");
    return status;
}

/* OpenBLAS's own pthread pool would compete with OpenMP's for the same cores, so every BLAS call
   runs single-threaded and the parallelism comes from the OpenMP regions around them. */
__attribute__((constructor)) static void tl_init_threads(void) { openblas_set_num_threads(1); }

int tl_set_num_threads(int n) {
    if (n < 1) return tl_fail(TL_ERR_INVALID_ARGUMENT, "tl_set_num_threads: n must be >= 1, got %d", n);
    omp_set_num_threads(n);
    return TL_OK;
}

int tl_get_num_threads(void) { return omp_get_max_threads(); }

void *tl_alloc(size_t bytes) {
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0) return NULL;
    return p;
}

void tl_free(void *ptr) { free(ptr); }

int tl_core_library_path(char *buffer, size_t capacity) {
    Dl_info info;
    if (buffer == NULL || capacity == 0) return tl_fail(TL_ERR_NULL_POINTER, "tl_core_library_path: buffer is NULL or empty");
    if (dladdr((void *)&tl_core_library_path, &info) == 0 || info.dli_fname == NULL)
        return tl_fail(TL_ERR_NOT_FOUND, "tl_core_library_path: dladdr found no file for the core library");
    snprintf(buffer, capacity, "%s", info.dli_fname);
    return TL_OK;
}

/* TrainingLab core: status codes, sizes, last-error and threading shared by every kernel family. */
#ifndef TL_BASE_H
#define TL_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Signed so that a negative size is reported as an error instead of wrapping around. */
typedef ptrdiff_t tl_size;

typedef enum tl_status {
    TL_OK = 0,
    TL_ERR_INVALID_ARGUMENT = 1, /* a size, option or shape is out of range */
    TL_ERR_NULL_POINTER = 2,     /* a required buffer or handle is NULL */
    TL_ERR_OUT_OF_MEMORY = 3,
    TL_ERR_IO = 4,               /* a file could not be read or written */
    TL_ERR_FORMAT = 5,           /* a file or string does not have the expected format */
    TL_ERR_NOT_FOUND = 6,        /* unknown method, option or name */
    TL_ERR_ABI = 7,              /* a plugin has the wrong ABI version or lacks a symbol */
    TL_ERR_NUMERIC = 8,          /* NaN or infinity where finite values are required */
    TL_ERR_INTERNAL = 9
} tl_status;

/* Short English name of a status code; never NULL. */
const char *tl_status_string(int status);

/* Message describing the last failure on the calling thread ("" when none); owned by the library. */
const char *tl_last_error(void);

/* Record a failure for tl_last_error (printf-style) and return `status`, so callers can `return tl_fail(...)`. */
int tl_fail(int status, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Record a plain message for tl_last_error and return `status` (for callers that cannot use varargs). */
int tl_set_last_error(int status, const char *message);

/* Threads used by the OpenMP kernels (n >= 1). OpenBLAS always runs single-threaded inside them. */
int tl_set_num_threads(int n);
int tl_get_num_threads(void);

/* 64-byte aligned allocation for kernel buffers (NULL on failure); release with tl_free. */
void *tl_alloc(size_t bytes);
void tl_free(void *ptr);

/* Path of the shared library holding the core (libTrainingLab.so), NUL-terminated into buffer (capacity bytes). */
int tl_core_library_path(char *buffer, size_t capacity);

#ifdef __cplusplus
}
#endif
#endif

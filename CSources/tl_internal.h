/* Private helpers of the C core: argument checks that record a message and return a status. */
#ifndef TL_INTERNAL_H
#define TL_INTERNAL_H

#include "../include/tl_base.h"

/* Return TL_ERR_NULL_POINTER naming the argument when `p` is NULL. */
#define TL_CHECK_PTR(fn, p) \
    do { if ((p) == NULL) return tl_fail(TL_ERR_NULL_POINTER, "%s: %s is NULL", fn, #p); } while (0)

/* Return TL_ERR_INVALID_ARGUMENT naming the size when it is not positive. */
#define TL_CHECK_POS(fn, n) \
    do { if ((n) <= 0) return tl_fail(TL_ERR_INVALID_ARGUMENT, "%s: %s must be > 0, got %td", fn, #n, (ptrdiff_t)(n)); } while (0)

/* Return TL_ERR_INVALID_ARGUMENT naming the size when it is negative. */
#define TL_CHECK_NONNEG(fn, n) \
    do { if ((n) < 0) return tl_fail(TL_ERR_INVALID_ARGUMENT, "%s: %s must be >= 0, got %td", fn, #n, (ptrdiff_t)(n)); } while (0)

/* Return TL_ERR_INVALID_ARGUMENT with a message when `cond` does not hold. */
#define TL_CHECK(fn, cond, ...) \
    do { if (!(cond)) return tl_fail(TL_ERR_INVALID_ARGUMENT, __VA_ARGS__); } while (0)

/* 1 when the kernels take their AVX-512 variants: the CPU and OS support AVX-512 F/DQ/BW/VL and
   TL_NO_AVX512 is unset or "0" (read on every call, so tests can cover both paths). See tl_cpu.c. */
int tl_kernels_use_avx512(void);

/* Propagate a non-OK status. */
#define TL_TRY(expr) \
    do { int tl_status_ = (expr); if (tl_status_ != TL_OK) return tl_status_; } while (0)

#endif

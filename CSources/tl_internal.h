/* Private helpers of the C core: argument checks that record a message and return a status. */
#ifndef TL_INTERNAL_H
#define TL_INTERNAL_H

#include "../include/tl_base.h"
#include "../include/tl_cpu.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

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

/* This CPU's identity, flags and caches (tl_cpu_info_get), read once. */
const tl_cpu_info *tl_cpu(void);

/* Kernel families, narrowest first: plain C (the GEMM only), AVX2+FMA, AVX-512 F/DQ/BW/VL. */
enum { TL_KERNELS_PORTABLE, TL_KERNELS_AVX2, TL_KERNELS_AVX512 };

/* The widest family the CPU and OS support and TL_ISA allows (read on every call, so that tests can
   cover every path; an invalid value is reported once on stderr and ignored). See tl_cpu.c. */
int tl_kernels_level(void);

/* 1 when the vector kernels take their AVX-512 variants: tl_kernels_level() is TL_KERNELS_AVX512. */
int tl_kernels_use_avx512(void);

/* Thread-local grow-only buffer `slot` of at least `count` floats, 64-byte aligned; NULL when out of
   memory. The contents are not preserved when it grows. Slots A, B, C, D serve the work of one
   convolution task (inside parallel regions); PARTIALS, WEIGHTS, TABLE, POSITIONS hold data the calling
   thread shares with its team; GEMM_A and GEMM_B are the GEMM's packed blocks (tl_gemm.c), which a
   convolution task calling the GEMM keeps apart from its own. See tl_scratch.c. */
enum { TL_SCR_A, TL_SCR_B, TL_SCR_C, TL_SCR_D, TL_SCR_PARTIALS, TL_SCR_WEIGHTS, TL_SCR_TABLE, TL_SCR_POSITIONS,
       TL_SCR_GEMM_A, TL_SCR_GEMM_B, TL_SCRATCH_SLOTS };
float *tl_scratch(int slot, size_t count);

/* Frees the calling thread's scratch buffers now (they come back on demand). */
void tl_scratch_release(void);

#ifdef __AVX2__
/* c[j] lane l = r[l] lane j for j < nc: the 8 x 8 transpose, its first nc columns (GEMM packing, Winograd). */
static inline void tl_transpose8(__m256 *c, const __m256 r[8], int nc) {
    __m256 t[8], u[8];
    for (int k = 0; k < 4; k++) {
        t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int h = 0; h < 2; h++) { /* rows 4h .. 4h+3 */
        u[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    for (int j = 0; j < 4 && j < nc; j++) c[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    for (int j = 4; j < nc; j++) c[j] = _mm256_permute2f128_ps(u[j - 4], u[j], 0x31);
}
#endif

/* Propagate a non-OK status. */
#define TL_TRY(expr) \
    do { int tl_status_ = (expr); if (tl_status_ != TL_OK) return tl_status_; } while (0)

/* The next task number of a parallel loop: tasks go to the threads one by one as they finish (a thread
   slowed down by another process then takes fewer), and each task's result does not depend on which
   thread runs it. The runtime's schedule(dynamic) would do this, but the entry point clang 21 emits for
   it is missing from Debian's libomp 14. */
static inline tl_size tl_next_task(tl_size *counter) {
    tl_size task;
    #pragma omp atomic capture
    task = (*counter)++;
    return task;
}

#endif

/* The plain C GEMM micro-kernel, for builds without the vector kernels and for TL_ISA=portable: a 4 x 16
   tile of independent sums, which compilers vectorise for whatever vector width the build targets. */
#include "tl_gemm_internal.h"

#include <string.h>

enum { PMR = 4, PNR = 16 };

/* The tl_gemm_micro_fn contract (tl_gemm_internal.h) for a 4 x 16 tile. */
static void gemm_micro_portable(tl_size kc, const float *a, const float *b, tl_size b_ks, float *c, tl_size ldc, int m,
                                int n, float alpha, float beta) {
    float acc[PMR][PNR] = {{0}};
    float bk[PNR] = {0}; /* row k of b; columns past n stay 0 */
    for (tl_size k = 0; k < kc; k++) {
        if (n == PNR) memcpy(bk, b + k * b_ks, sizeof bk);
        else memcpy(bk, b + k * b_ks, (size_t)n * sizeof(float));
        for (int i = 0; i < PMR; i++) {
            const float ai = a[k * PMR + i];
            for (int j = 0; j < PNR; j++) acc[i][j] += ai * bk[j];
        }
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float *p = c + i * ldc + j;
            const float r = alpha * acc[i][j];
            *p = beta == 0.0f ? r : beta * *p + r;
        }
}

const tl_gemm_kernel tl_gemm_kernel_portable = {"portable 4x16", PMR, PNR, PNR, gemm_micro_portable};

/* Reference kernels for benchmark ratios. */
#include "tl_internal.h"
#include "../include/tl_bench.h"

int tl_bench_triad(float *a, const float *b, const float *c, float scalar, tl_size n) {
    TL_CHECK_PTR("tl_bench_triad", a);
    TL_CHECK_PTR("tl_bench_triad", b);
    TL_CHECK_PTR("tl_bench_triad", c);
    TL_CHECK_NONNEG("tl_bench_triad", n);
    #pragma omp parallel for schedule(static)
    for (tl_size i = 0; i < n; i++) a[i] = b[i] + scalar * c[i];
    return TL_OK;
}

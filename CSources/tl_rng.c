/* Filling buffers from the counter-based generator; each element is a pure function of its index. */
#include "tl_internal.h"
#include "../include/tl_rng.h"

#include <math.h>

int tl_rng_uniform(float *out, tl_size n, uint64_t seed, uint64_t offset, float low, float high) {
    TL_CHECK_PTR("tl_rng_uniform", out);
    TL_CHECK_NONNEG("tl_rng_uniform", n);
    const float span = high - low;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (tl_size i = 0; i < n; i++) out[i] = low + span * tl_u32_to_unit(tl_rng_u32(seed, offset + (uint64_t)i));
    return TL_OK;
}

int tl_rng_normal(float *out, tl_size n, uint64_t seed, uint64_t offset, float mean, float std) {
    TL_CHECK_PTR("tl_rng_normal", out);
    TL_CHECK_NONNEG("tl_rng_normal", n);
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (tl_size i = 0; i < n; i++) {
        const uint64_t w = 2 * (offset + (uint64_t)i);
        /* 1 - u keeps the argument of log in (0, 1]. */
        const double u1 = 1.0 - (double)tl_u32_to_unit(tl_rng_u32(seed, w));
        const double u2 = (double)tl_u32_to_unit(tl_rng_u32(seed, w + 1));
        out[i] = mean + std * (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
    return TL_OK;
}

int tl_rng_bernoulli(float *out, tl_size n, uint64_t seed, uint64_t offset, float p) {
    TL_CHECK_PTR("tl_rng_bernoulli", out);
    TL_CHECK_NONNEG("tl_rng_bernoulli", n);
    TL_CHECK("tl_rng_bernoulli", p >= 0.0f && p <= 1.0f, "tl_rng_bernoulli: p must be in [0, 1], got %g", p);
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (tl_size i = 0; i < n; i++) out[i] = tl_u32_to_unit(tl_rng_u32(seed, offset + (uint64_t)i)) < p ? 1.0f : 0.0f;
    return TL_OK;
}

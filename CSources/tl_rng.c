/* Filling buffers from the counter-based generator; each element is a pure function of its index. */
#include "tl_internal.h"
#include "../include/tl_rng.h"

#include <math.h>

/* Calls body(i, word) for i < n with word = word offset + i of the stream, one Philox block per four
   words (the block boundaries follow the absolute word index, so any split of the range agrees). */
#define TL_FOR_EACH_WORD(n, seed, offset, body) \
    do { \
        const uint64_t first_ = (offset), last_ = (offset) + (uint64_t)(n); \
        const uint64_t b0_ = first_ >> 2, b1_ = (last_ + 3) >> 2; \
        _Pragma("omp parallel for schedule(static) if ((n) > 65536)") \
        for (uint64_t b_ = b0_; b_ < b1_; b_++) { \
            uint32_t w_[4]; \
            tl_rng_block((seed), b_, w_); \
            for (int k_ = 0; k_ < 4; k_++) { \
                const uint64_t word_ = 4 * b_ + (uint64_t)k_; \
                if (word_ < first_ || word_ >= last_) continue; \
                const tl_size i = (tl_size)(word_ - first_); \
                const uint32_t word = w_[k_]; \
                body; \
            } \
        } \
    } while (0)

int tl_rng_uniform(float *out, tl_size n, uint64_t seed, uint64_t offset, float low, float high) {
    TL_CHECK_PTR("tl_rng_uniform", out);
    TL_CHECK_NONNEG("tl_rng_uniform", n);
    const float span = high - low;
    TL_FOR_EACH_WORD(n, seed, offset, out[i] = low + span * tl_u32_to_unit(word));
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
    TL_FOR_EACH_WORD(n, seed, offset, out[i] = tl_u32_to_unit(word) < p ? 1.0f : 0.0f);
    return TL_OK;
}

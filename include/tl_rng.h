/* Counter-based random numbers (Philox4x32-10): element i of a stream depends only on (seed, offset + i),
   so results are identical for any number of threads and any split of the work. */
#ifndef TL_RNG_H
#define TL_RNG_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One Philox4x32-10 block: 128-bit counter ctr[4], 64-bit key key[2] -> out[4]. */
static inline void tl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0; c1 = (uint32_t)p1; c2 = n2; c3 = (uint32_t)p0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Four random words for block `block` of the stream `seed` (counter = block, key = seed). */
static inline void tl_rng_block(uint64_t seed, uint64_t block, uint32_t out[4]) {
    const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    tl_philox4x32_10(ctr, key, out);
}

/* Word `index` of the stream `seed` (the word at position index % 4 of block index / 4). */
static inline uint32_t tl_rng_u32(uint64_t seed, uint64_t index) {
    uint32_t out[4];
    tl_rng_block(seed, index >> 2, out);
    return out[index & 3];
}

/* Map a random word to a float uniform in [0, 1) with 24 random bits. */
static inline float tl_u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* out[n] = uniform [low, high) from words offset .. offset+n-1 of stream `seed`. */
int tl_rng_uniform(float *out, tl_size n, uint64_t seed, uint64_t offset, float low, float high);

/* out[n] = normal(mean, std) by Box-Muller; element i uses words 2(offset+i), 2(offset+i)+1. */
int tl_rng_normal(float *out, tl_size n, uint64_t seed, uint64_t offset, float mean, float std);

/* out[n] = 1 with probability p else 0, from words offset .. offset+n-1. */
int tl_rng_bernoulli(float *out, tl_size n, uint64_t seed, uint64_t offset, float p);

#ifdef __cplusplus
}
#endif
#endif

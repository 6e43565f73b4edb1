/* Quantisation kernels: fixed-point fake-quant (nearest / stochastic), int8 symmetric, histograms and KL. */
#include "tl_internal.h"
#include "../include/tl_quant.h"
#include "../include/tl_rng.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

/* No implicit FMA contraction: every rounding is spelled out (fmaf where wanted) so the Swift references match bitwise. */
#pragma STDC FP_CONTRACT OFF

/* Elements per parallel tile of the stochastic path (a multiple of 32 keeps tiles block-aligned when offset is). */
#define TL_QUANT_TILE 8192
/* Below this many elements the kernels run on one thread: the fork costs more than the work. */
#define TL_QUANT_PAR_MIN 32768

/* ---------------------------------------------------------------- fixed point */

typedef struct fixed_spec {
    float scale; /* 2^FL */
    float step;  /* 2^-FL */
    float lo;    /* -2^(WL-1) */
    float hi;    /* largest float <= 2^(WL-1) - 1 */
} fixed_spec;

static int fixed_spec_make(const char *fn, int wl, int fl, fixed_spec *s) {
    TL_CHECK(fn, wl >= 1 && wl <= 32, "%s: wl must be in [1, 32], got %d", fn, wl);
    TL_CHECK(fn, fl >= -64 && fl <= 64, "%s: fl must be in [-64, 64], got %d", fn, fl);
    s->scale = ldexpf(1.0f, fl);
    s->step = ldexpf(1.0f, -fl);
    s->lo = -ldexpf(1.0f, wl - 1);
    const double hd = ldexp(1.0, wl - 1) - 1.0;
    float hf = (float)hd;
    if ((double)hf > hd) hf = nextafterf(hf, 0.0f);
    s->hi = hf;
    return TL_OK;
}

/* Quantise n values with round-to-nearest-even; returns the number clamped. Vectorises (vroundps). The bodies take
   unqualified pointers and are inlined into wrappers that either separate y and x (restrict) or pass one pointer for
   both, so in-place calls vectorise without a runtime overlap check (which would fail for y == x). */
static inline __attribute__((always_inline)) tl_size fixed_nearest_body(float *y, const float *x, tl_size n, fixed_spec s) {
    tl_size sat = 0;
    for (tl_size i = 0; i < n; i++) {
        float r = rintf(x[i] * s.scale);
        sat += (r < s.lo) | (r > s.hi);
        r = r < s.lo ? s.lo : r;
        r = r > s.hi ? s.hi : r;
        y[i] = r * s.step;
    }
    return sat;
}

static tl_size fixed_nearest_run(float *restrict y, const float *restrict x, tl_size n, fixed_spec s) {
    return fixed_nearest_body(y, x, n, s);
}

static tl_size fixed_nearest_inplace(float *restrict y, tl_size n, fixed_spec s) { return fixed_nearest_body(y, y, n, s); }

/* Same with stochastic rounding given one uniform per element (y == x allowed: each y[i] is written after x[i] is read). */
static tl_size fixed_stochastic_run(float *y, const float *x, const float *restrict u, tl_size n, fixed_spec s) {
    tl_size sat = 0;
    for (tl_size i = 0; i < n; i++) {
        const float v = x[i] * s.scale;
        const float f = floorf(v);
        float r = f + (u[i] < v - f ? 1.0f : 0.0f);
        sat += (r < s.lo) | (r > s.hi);
        r = r < s.lo ? s.lo : r;
        r = r > s.hi ? s.hi : r;
        y[i] = r * s.step;
    }
    return sat;
}

#ifdef __AVX2__
/* Philox4x32-10 of the eight blocks block .. block+7 with round keys keys[0..19] (k0, k1 per round); w[q] receives
   words 8q .. 8q+7 of the 32 in stream order (word w of block j at position 4j + w). */
static inline __attribute__((always_inline)) void philox8_avx2(const uint32_t *keys, uint64_t block, __m256i w[4]) {
    const uint32_t lo = (uint32_t)block, hi = (uint32_t)(block >> 32);
    __m256i c0, c1;
    if (lo <= 0xFFFFFFF8u) {
        c0 = _mm256_add_epi32(_mm256_set1_epi32((int)lo), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        c1 = _mm256_set1_epi32((int)hi);
    } else { /* the low word wraps inside this group: rare, done in scalar */
        uint32_t a[8], b[8];
        for (int j = 0; j < 8; j++) { const uint64_t x = block + (uint64_t)j; a[j] = (uint32_t)x; b[j] = (uint32_t)(x >> 32); }
        c0 = _mm256_loadu_si256((const __m256i *)a);
        c1 = _mm256_loadu_si256((const __m256i *)b);
    }
    /* Split form: blocks j and j+4 ... as two groups whose counters sit in the low halves of 64-bit lanes, so that
       vpmuludq yields lo and hi of each product in place; the upper halves carry garbage that never reaches a low half. */
    const __m256i m0 = _mm256_set1_epi64x(0xD2511F53u), m1 = _mm256_set1_epi64x(0xCD9E8D57u);
    __m256i a0 = c0, a1 = c1, a2 = _mm256_setzero_si256(), a3 = a2;                   /* even lanes: blocks 0,2,4,6 */
    __m256i b0 = _mm256_srli_epi64(c0, 32), b1 = _mm256_srli_epi64(c1, 32), b2 = a2, b3 = a2; /* odd: 1,3,5,7 */
    for (int round = 0; round < 10; round++) {
        const __m256i k0 = _mm256_set1_epi32((int)keys[2 * round]), k1 = _mm256_set1_epi32((int)keys[2 * round + 1]);
        const __m256i pa0 = _mm256_mul_epu32(a0, m0), pa1 = _mm256_mul_epu32(a2, m1);
        const __m256i pb0 = _mm256_mul_epu32(b0, m0), pb1 = _mm256_mul_epu32(b2, m1);
        a0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pa1, 32), a1), k0);
        a2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pa0, 32), a3), k1);
        a1 = pa1; a3 = pa0;
        b0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pb1, 32), b1), k0);
        b2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(pb0, 32), b3), k1);
        b1 = pb1; b3 = pb0;
    }
    /* Interleave the groups back: lane 2i from a, lane 2i+1 from b (low halves). */
    c0 = _mm256_blend_epi32(a0, _mm256_slli_epi64(b0, 32), 0xAA);
    c1 = _mm256_blend_epi32(a1, _mm256_slli_epi64(b1, 32), 0xAA);
    const __m256i c2 = _mm256_blend_epi32(a2, _mm256_slli_epi64(b2, 32), 0xAA);
    const __m256i c3 = _mm256_blend_epi32(a3, _mm256_slli_epi64(b3, 32), 0xAA);
    /* Transpose (word, block) -> stream order. */
    const __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpackhi_epi32(c0, c1);
    const __m256i t2 = _mm256_unpacklo_epi32(c2, c3), t3 = _mm256_unpackhi_epi32(c2, c3);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    w[0] = _mm256_permute2x128_si256(u0, u1, 0x20);
    w[1] = _mm256_permute2x128_si256(u2, u3, 0x20);
    w[2] = _mm256_permute2x128_si256(u0, u1, 0x31);
    w[3] = _mm256_permute2x128_si256(u2, u3, 0x31);
}

/* Stochastic fake-quant of 32 * groups elements whose first element uses word 0 of Philox block `block`. */
static tl_size fixed_stochastic_avx2(float *y, const float *x, tl_size groups, fixed_spec s, const uint32_t *keys, uint64_t block) {
    const __m256 scale = _mm256_set1_ps(s.scale), step = _mm256_set1_ps(s.step), lo = _mm256_set1_ps(s.lo), hi = _mm256_set1_ps(s.hi);
    const __m256 one = _mm256_set1_ps(1.0f), unit = _mm256_set1_ps(1.0f / 16777216.0f);
    __m256i sat = _mm256_setzero_si256();
    for (tl_size g = 0; g < groups; g++) {
        __m256i w[4];
        philox8_avx2(keys, block + 8 * (uint64_t)g, w);
        for (int q = 0; q < 4; q++) {
            const tl_size i = 32 * g + 8 * q;
            const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w[q], 8)), unit);
            const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), scale);
            const __m256 f = _mm256_floor_ps(v);
            __m256 r = _mm256_add_ps(f, _mm256_and_ps(_mm256_cmp_ps(u, _mm256_sub_ps(v, f), _CMP_LT_OQ), one));
            const __m256 out = _mm256_or_ps(_mm256_cmp_ps(r, lo, _CMP_LT_OQ), _mm256_cmp_ps(r, hi, _CMP_GT_OQ));
            sat = _mm256_sub_epi32(sat, _mm256_castps_si256(out));
            r = _mm256_min_ps(hi, _mm256_max_ps(lo, r)); /* operand order keeps NaN, as the scalar ternaries do */
            _mm256_storeu_ps(y + i, _mm256_mul_ps(r, step));
        }
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, sat);
    tl_size total = 0;
    for (int j = 0; j < 8; j++) total += lanes[j];
    return total;
}
#endif

#if defined(__AVX2__) && (defined(__clang__) || defined(__GNUC__))
#define TL_QUANT_AVX512 1
#define TL_AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

/* As fixed_stochastic_avx2 with 16 Philox blocks (64 elements) per step in zmm registers. */
TL_AVX512_TARGET static tl_size fixed_stochastic_avx512(float *y, const float *x, tl_size groups64, fixed_spec s,
                                                        const uint32_t *keys, uint64_t block) {
    const __m512 scale = _mm512_set1_ps(s.scale), step = _mm512_set1_ps(s.step), lo = _mm512_set1_ps(s.lo), hi = _mm512_set1_ps(s.hi);
    const __m512 one = _mm512_set1_ps(1.0f), unit = _mm512_set1_ps(1.0f / 16777216.0f);
    const __m512i m0 = _mm512_set1_epi64(0xD2511F53u), m1 = _mm512_set1_epi64(0xCD9E8D57u);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    tl_size sat = 0;
    for (tl_size g = 0; g < groups64; g++) {
        const uint64_t blk = block + 16 * (uint64_t)g;
        const uint32_t bl = (uint32_t)blk, bh = (uint32_t)(blk >> 32);
        __m512i c0, c1;
        if (bl <= 0xFFFFFFF0u) {
            c0 = _mm512_add_epi32(_mm512_set1_epi32((int)bl), iota);
            c1 = _mm512_set1_epi32((int)bh);
        } else {
            uint32_t ca[16], cb[16];
            for (int j = 0; j < 16; j++) { const uint64_t v = blk + (uint64_t)j; ca[j] = (uint32_t)v; cb[j] = (uint32_t)(v >> 32); }
            c0 = _mm512_loadu_si512(ca);
            c1 = _mm512_loadu_si512(cb);
        }
        __m512i a0 = c0, a1 = c1, a2 = _mm512_setzero_si512(), a3 = a2;
        __m512i b0 = _mm512_srli_epi64(c0, 32), b1 = _mm512_srli_epi64(c1, 32), b2 = a2, b3 = a2;
        for (int round = 0; round < 10; round++) {
            const __m512i k0 = _mm512_set1_epi32((int)keys[2 * round]), k1 = _mm512_set1_epi32((int)keys[2 * round + 1]);
            const __m512i pa0 = _mm512_mul_epu32(a0, m0), pa1 = _mm512_mul_epu32(a2, m1);
            const __m512i pb0 = _mm512_mul_epu32(b0, m0), pb1 = _mm512_mul_epu32(b2, m1);
            a0 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pa1, 32), a1, k0, 0x96);
            a2 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pa0, 32), a3, k1, 0x96);
            a1 = pa1; a3 = pa0;
            b0 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pb1, 32), b1, k0, 0x96);
            b2 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pb0, 32), b3, k1, 0x96);
            b1 = pb1; b3 = pb0;
        }
        const __mmask16 odd = 0xAAAA;
        c0 = _mm512_mask_blend_epi32(odd, a0, _mm512_slli_epi64(b0, 32));
        c1 = _mm512_mask_blend_epi32(odd, a1, _mm512_slli_epi64(b1, 32));
        const __m512i c2 = _mm512_mask_blend_epi32(odd, a2, _mm512_slli_epi64(b2, 32));
        const __m512i c3 = _mm512_mask_blend_epi32(odd, a3, _mm512_slli_epi64(b3, 32));
        /* Per 128-bit lane L: u0..u3 = blocks 4L..4L+3 in stream order; then a 4x4 transpose of 128-bit lanes. */
        const __m512i t0 = _mm512_unpacklo_epi32(c0, c1), t1 = _mm512_unpackhi_epi32(c0, c1);
        const __m512i t2 = _mm512_unpacklo_epi32(c2, c3), t3 = _mm512_unpackhi_epi32(c2, c3);
        const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
        const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
        const __m512i x0 = _mm512_shuffle_i64x2(u0, u1, 0x44), x1 = _mm512_shuffle_i64x2(u2, u3, 0x44);
        const __m512i x2 = _mm512_shuffle_i64x2(u0, u1, 0xEE), x3 = _mm512_shuffle_i64x2(u2, u3, 0xEE);
        const __m512i w[4] = {_mm512_shuffle_i64x2(x0, x1, 0x88), _mm512_shuffle_i64x2(x0, x1, 0xDD),
                              _mm512_shuffle_i64x2(x2, x3, 0x88), _mm512_shuffle_i64x2(x2, x3, 0xDD)};
        for (int q = 0; q < 4; q++) {
            const tl_size i = 64 * g + 16 * q;
            const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(w[q], 8)), unit);
            const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), scale);
            const __m512 f = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
            __m512 r = _mm512_mask_add_ps(f, _mm512_cmp_ps_mask(u, _mm512_sub_ps(v, f), _CMP_LT_OQ), f, one);
            const __mmask16 out = _mm512_cmp_ps_mask(r, lo, _CMP_LT_OQ) | _mm512_cmp_ps_mask(r, hi, _CMP_GT_OQ);
            sat += __builtin_popcount((unsigned)out);
            r = _mm512_min_ps(hi, _mm512_max_ps(lo, r));
            _mm512_storeu_ps(y + i, _mm512_mul_ps(r, step));
        }
    }
    return sat;
}
#endif

static void philox_keys(uint64_t seed, uint32_t keys[20]) {
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) { keys[2 * r] = k0; keys[2 * r + 1] = k1; k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
}

/* u[0..31] = tl_u32_to_unit of words 4*block .. 4*block + 31 of the stream (eight Philox blocks). */
static void philox_unit32(uint64_t seed, const uint32_t *keys, uint64_t block, float *restrict u) {
#ifdef __AVX2__
    __m256i w[4];
    philox8_avx2(keys, block, w);
    const __m256 unit = _mm256_set1_ps(1.0f / 16777216.0f);
    for (int q = 0; q < 4; q++)
        _mm256_storeu_ps(u + 8 * q, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w[q], 8)), unit));
    (void)seed;
#else
    (void)keys;
    for (int j = 0; j < 8; j++) {
        uint32_t out[4];
        tl_rng_block(seed, block + (uint64_t)j, out);
        for (int w = 0; w < 4; w++) u[4 * j + w] = tl_u32_to_unit(out[w]);
    }
#endif
}

/* Stochastic fake-quant of n elements whose element k uses word word0 + k of stream `seed`: a block-aligned
   middle in whole groups of 32 (fused AVX2), head and tail through a 32-entry buffer of uniforms. */
static tl_size fixed_stochastic_range(float *y, const float *x, tl_size n, fixed_spec s, uint64_t seed, uint64_t word0) {
    uint32_t keys[20];
    philox_keys(seed, keys);
    float u[32];
    tl_size sat = 0, i = 0;
#ifdef __AVX2__
    const tl_size head = (tl_size)((4 - (word0 & 3)) & 3);
    if (n - (head < n ? head : n) >= 32) {
        if (head) {
            philox_unit32(seed, keys, word0 >> 2, u);
            sat += fixed_stochastic_run(y, x, u + (4 - head), head, s);
        }
        tl_size groups = (n - head) / 32, done = 0;
        const uint64_t block = (word0 + (uint64_t)head) >> 2;
#ifdef TL_QUANT_AVX512
        if (tl_kernels_use_avx512() && groups >= 2) {
            done = 2 * (groups / 2);
            sat += fixed_stochastic_avx512(y + head, x + head, groups / 2, s, keys, block);
        }
#endif
        sat += fixed_stochastic_avx2(y + head + 32 * done, x + head + 32 * done, groups - done, s, keys, block + 8 * (uint64_t)done);
        i = head + 32 * groups;
    }
#endif
    while (i < n) {
        const uint64_t word = word0 + (uint64_t)i;
        const uint64_t first = word & ~(uint64_t)3; /* first word of its Philox block */
        philox_unit32(seed, keys, first >> 2, u);
        const tl_size skip = (tl_size)(word - first);
        tl_size len = 32 - skip;
        if (len > n - i) len = n - i;
        sat += fixed_stochastic_run(y + i, x + i, u + skip, len, s);
        i += len;
    }
    return sat;
}

int tl_quant_fixed_forward(float *y, const float *x, tl_size n, int wl, int fl, int rounding,
                           uint64_t seed, uint64_t offset, tl_size *saturated) {
    static const char fn[] = "tl_quant_fixed_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_NONNEG(fn, n);
    TL_CHECK(fn, rounding == TL_ROUND_NEAREST || rounding == TL_ROUND_STOCHASTIC,
             "%s: rounding must be TL_ROUND_NEAREST or TL_ROUND_STOCHASTIC, got %d", fn, rounding);
    fixed_spec s;
    TL_TRY(fixed_spec_make(fn, wl, fl, &s));
    const tl_size tiles = (n + TL_QUANT_TILE - 1) / TL_QUANT_TILE;
    tl_size sat = 0;
    if (rounding == TL_ROUND_NEAREST) {
        #pragma omp parallel for schedule(static) reduction(+:sat) if (n > TL_QUANT_PAR_MIN)
        for (tl_size t = 0; t < tiles; t++) {
            const tl_size i0 = t * TL_QUANT_TILE, len = n - i0 < TL_QUANT_TILE ? n - i0 : TL_QUANT_TILE;
            sat += y == x ? fixed_nearest_inplace(y + i0, len, s) : fixed_nearest_run(y + i0, x + i0, len, s);
        }
    } else {
        #pragma omp parallel for schedule(static) reduction(+:sat) if (n > TL_QUANT_PAR_MIN)
        for (tl_size t = 0; t < tiles; t++) {
            const tl_size i0 = t * TL_QUANT_TILE, len = n - i0 < TL_QUANT_TILE ? n - i0 : TL_QUANT_TILE;
            sat += fixed_stochastic_range(y + i0, x + i0, len, s, seed, offset + (uint64_t)i0);
        }
    }
    if (saturated) *saturated = sat;
    return TL_OK;
}

int tl_quant_fixed_backward(float *dx, const float *dy, const float *x, tl_size n, int wl, int fl) {
    static const char fn[] = "tl_quant_fixed_backward";
    TL_CHECK_PTR(fn, dx);
    TL_CHECK_PTR(fn, dy);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_NONNEG(fn, n);
    fixed_spec s;
    TL_TRY(fixed_spec_make(fn, wl, fl, &s));
    const float lo = s.lo * s.step, hi = s.hi * s.step;
    #pragma omp parallel for schedule(static) if (n > TL_QUANT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f;
    return TL_OK;
}

/* ---------------------------------------------------------------- int8 symmetric */

/* max |x| via the bit patterns of |x| (ordered like the values, NaN above inf): an unsigned max reduction that
   vectorises and is exact, so any split gives the same bits; *bad set when a value is not finite. */
static float abs_max(const float *x, tl_size n, int *bad, int parallel) {
    uint32_t m = 0;
    #pragma omp parallel for schedule(static) reduction(max:m) if (parallel && n > TL_QUANT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, x + i, sizeof b);
        b &= 0x7FFFFFFFu;
        m = b > m ? b : m;
    }
    if (m >= 0x7F800000u) *bad = 1;
    float f;
    memcpy(&f, &m, sizeof f);
    return f;
}

/* scales[c] = max|x_c| / 127 for every channel; TL_ERR_NUMERIC when a channel has a non-finite value. */
static int int8_scales(const char *fn, float *scales, const float *x, tl_size channels, tl_size inner) {
    int bad = 0;
    /* Few channels: parallel inside each; many: one channel per iteration (max is exact, so both give the same bits). */
    if (channels < 2 * tl_get_num_threads()) {
        for (tl_size c = 0; c < channels; c++) scales[c] = abs_max(x + c * inner, inner, &bad, 1) / 127.0f;
    } else {
        #pragma omp parallel for schedule(static) reduction(|:bad) if (channels * inner > TL_QUANT_PAR_MIN)
        for (tl_size c = 0; c < channels; c++) scales[c] = abs_max(x + c * inner, inner, &bad, 0) / 127.0f;
    }
    if (bad) return tl_fail(TL_ERR_NUMERIC, "%s: x contains NaN or infinity", fn);
    return TL_OK;
}

/* rint(v / scale) clamped to [-127, 127], + 0 so that -0 becomes +0 as in an int8 round trip; scale 0 gives 0. */
static void int8_round_run(float *restrict r, const float *restrict x, tl_size n, float scale) {
    if (scale == 0.0f) { memset(r, 0, (size_t)n * sizeof(float)); return; }
    for (tl_size i = 0; i < n; i++) {
        float v = rintf(x[i] / scale);
        v = v < -127.0f ? -127.0f : v;
        r[i] = (v > 127.0f ? 127.0f : v) + 0.0f;
    }
}

/* What the element-wise int8 passes produce. */
enum { INT8_TO_Q, INT8_FAKE, INT8_FROM_Q };

/* One element-wise pass over (C, inner) in fixed tiles that may span channels, each run using its channel's scale. */
static void int8_pass(int kind, int8_t *q, float *y, const float *x, const int8_t *qin, const float *scales,
                      tl_size channels, tl_size inner) {
    const tl_size n = channels * inner, tiles = (n + TL_QUANT_TILE - 1) / TL_QUANT_TILE;
    #pragma omp parallel for schedule(static) if (n > TL_QUANT_PAR_MIN)
    for (tl_size t = 0; t < tiles; t++) {
        float r[512];
        const tl_size end = n - t * TL_QUANT_TILE < TL_QUANT_TILE ? n : (t + 1) * TL_QUANT_TILE;
        for (tl_size i = t * TL_QUANT_TILE; i < end;) {
            const tl_size c = i / inner, stop0 = (c + 1) * inner < end ? (c + 1) * inner : end;
            const tl_size stop = stop0 - i > 512 ? i + 512 : stop0, len = stop - i;
            const float sc = scales[c];
            if (kind == INT8_FROM_Q) {
                for (tl_size k = 0; k < len; k++) y[i + k] = (float)qin[i + k] * sc;
            } else {
                int8_round_run(r, x + i, len, sc);
                if (kind == INT8_TO_Q) for (tl_size k = 0; k < len; k++) q[i + k] = (int8_t)r[k];
                else for (tl_size k = 0; k < len; k++) y[i + k] = r[k] * sc;
            }
            i = stop;
        }
    }
}

int tl_quant_int8_quantize(int8_t *q, float *scales, const float *x, tl_size channels, tl_size inner) {
    static const char fn[] = "tl_quant_int8_quantize";
    TL_CHECK_PTR(fn, q);
    TL_CHECK_PTR(fn, scales);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, channels);
    TL_CHECK_POS(fn, inner);
    TL_TRY(int8_scales(fn, scales, x, channels, inner));
    int8_pass(INT8_TO_Q, q, NULL, x, NULL, scales, channels, inner);
    return TL_OK;
}

int tl_quant_int8_dequantize(float *x, const int8_t *q, const float *scales, tl_size channels, tl_size inner) {
    static const char fn[] = "tl_quant_int8_dequantize";
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, q);
    TL_CHECK_PTR(fn, scales);
    TL_CHECK_POS(fn, channels);
    TL_CHECK_POS(fn, inner);
    int8_pass(INT8_FROM_Q, NULL, x, NULL, q, scales, channels, inner);
    return TL_OK;
}

int tl_quant_int8_fake_forward(float *y, float *scales, const float *x, tl_size channels, tl_size inner) {
    static const char fn[] = "tl_quant_int8_fake_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, channels);
    TL_CHECK_POS(fn, inner);
    float small[16];
    float *sc = scales;
    if (!sc) {
        sc = channels <= 16 ? small : tl_alloc((size_t)channels * sizeof(float));
        if (!sc) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: no memory for %td scales", fn, channels);
    }
    const int status = int8_scales(fn, sc, x, channels, inner);
    if (status == TL_OK) int8_pass(INT8_FAKE, NULL, y, x, NULL, sc, channels, inner);
    if (sc != scales && sc != small) tl_free(sc);
    return status;
}

/* ---------------------------------------------------------------- histograms and KL */

int tl_quant_minmax(float *range, const float *x, tl_size n) {
    static const char fn[] = "tl_quant_minmax";
    TL_CHECK_PTR(fn, range);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, n);
    float lo = INFINITY, hi = -INFINITY;
    tl_size numbers = 0;
    #pragma omp parallel for schedule(static) reduction(min:lo) reduction(max:hi) reduction(+:numbers) if (n > TL_QUANT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) {
        const float v = x[i];
        const int ok = v == v;
        numbers += ok;
        lo = (ok && v < lo) ? v : lo;
        hi = (ok && v > hi) ? v : hi;
    }
    if (numbers == 0) return tl_fail(TL_ERR_NUMERIC, "%s: x has no element that is a number", fn);
    range[0] = lo;
    range[1] = hi;
    return TL_OK;
}

typedef struct hist_spec {
    double lo, hi, inv_width;
    tl_size bins;
    int clamp_outside;
} hist_spec;

static hist_spec hist_spec_make(float lo, float hi, tl_size bins, int clamp_outside) {
    hist_spec h = {lo, hi, hi > lo ? (double)bins / ((double)hi - (double)lo) : 0.0, bins, clamp_outside};
    return h;
}

/* Bin of v, or -1 when it is not counted. */
static inline tl_size hist_bin(float v, const hist_spec *h) {
    const double d = v;
    if (d >= h->lo && d <= h->hi) {
        const tl_size b = (tl_size)((d - h->lo) * h->inv_width);
        return b < h->bins ? b : h->bins - 1;
    }
    if (!h->clamp_outside || v != v) return -1;
    return d < h->lo ? 0 : h->bins - 1;
}

static int hist_check(const char *fn, tl_size bins, float lo, float hi, int clamp_outside) {
    TL_CHECK_POS(fn, bins);
    TL_CHECK(fn, isfinite(lo) && isfinite(hi) && lo <= hi, "%s: need finite lo <= hi, got [%g, %g]", fn, lo, hi);
    TL_CHECK(fn, clamp_outside == 0 || clamp_outside == 1, "%s: clamp_outside must be 0 or 1, got %d", fn, clamp_outside);
    return TL_OK;
}

/* Per-thread partial counts summed in thread order: integer sums, so any split gives the same counts. */
static int hist_run(const char *fn, tl_size *counts, tl_size *qcounts, const float *x, tl_size n, const hist_spec *h,
                    const fixed_spec *fs, int rounding, uint64_t seed, uint64_t offset) {
    const int threads = n > TL_QUANT_PAR_MIN ? tl_get_num_threads() : 1;
    const tl_size per = qcounts ? 2 * h->bins : h->bins;
    tl_size *partial = tl_alloc((size_t)threads * (size_t)per * sizeof(tl_size));
    if (!partial) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: no memory for %d x %td counts", fn, threads, per);
    memset(partial, 0, (size_t)threads * (size_t)per * sizeof(tl_size));
    const tl_size tiles = (n + TL_QUANT_TILE - 1) / TL_QUANT_TILE;
    #pragma omp parallel num_threads(threads)
    {
        tl_size *mine = partial + (tl_size)omp_get_thread_num() * per;
        float qbuf[TL_QUANT_TILE];
        #pragma omp for schedule(static)
        for (tl_size t = 0; t < tiles; t++) {
            const tl_size i0 = t * TL_QUANT_TILE, i1 = n - i0 < TL_QUANT_TILE ? n : i0 + TL_QUANT_TILE;
            for (tl_size i = i0; i < i1; i++) {
                const tl_size b = hist_bin(x[i], h);
                if (b >= 0) mine[b]++;
            }
            if (qcounts) {
                if (rounding == TL_ROUND_NEAREST) fixed_nearest_run(qbuf, x + i0, i1 - i0, *fs);
                else fixed_stochastic_range(qbuf, x + i0, i1 - i0, *fs, seed, offset + (uint64_t)i0);
                for (tl_size i = 0; i < i1 - i0; i++) {
                    const tl_size b = hist_bin(qbuf[i], h);
                    if (b >= 0) mine[h->bins + b]++;
                }
            }
        }
    }
    for (tl_size b = 0; b < h->bins; b++) {
        tl_size c = 0, qc = 0;
        for (int t = 0; t < threads; t++) {
            c += partial[(tl_size)t * per + b];
            if (qcounts) qc += partial[(tl_size)t * per + h->bins + b];
        }
        counts[b] = c;
        if (qcounts) qcounts[b] = qc;
    }
    tl_free(partial);
    return TL_OK;
}

int tl_quant_histogram(tl_size *counts, const float *x, tl_size n, tl_size bins, float lo, float hi, int clamp_outside) {
    static const char fn[] = "tl_quant_histogram";
    TL_CHECK_PTR(fn, counts);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_NONNEG(fn, n);
    TL_TRY(hist_check(fn, bins, lo, hi, clamp_outside));
    const hist_spec h = hist_spec_make(lo, hi, bins, clamp_outside);
    return hist_run(fn, counts, NULL, x, n, &h, NULL, 0, 0, 0);
}

/* KL of two count vectors; S_q == 0 gives +inf (every quantised value fell outside). */
static double kl_counts(const tl_size *pc, const tl_size *qc, tl_size bins, double eps) {
    double sp = 0.0, sq = 0.0;
    for (tl_size b = 0; b < bins; b++) { sp += (double)pc[b]; sq += (double)qc[b]; }
    if (sq == 0.0) return INFINITY;
    const double norm = 1.0 + (double)bins * eps;
    double kl = 0.0;
    for (tl_size b = 0; b < bins; b++) {
        const double p = ((double)pc[b] / sp + eps) / norm, q = ((double)qc[b] / sq + eps) / norm;
        if (p > 0.0) kl += q > 0.0 ? p * log(p / q) : INFINITY;
    }
    return kl;
}

int tl_quant_kl_divergence(double *kl, const tl_size *p_counts, const tl_size *q_counts, tl_size bins, double eps) {
    static const char fn[] = "tl_quant_kl_divergence";
    TL_CHECK_PTR(fn, kl);
    TL_CHECK_PTR(fn, p_counts);
    TL_CHECK_PTR(fn, q_counts);
    TL_CHECK_POS(fn, bins);
    TL_CHECK(fn, eps >= 0.0 && isfinite(eps), "%s: eps must be finite and >= 0, got %g", fn, eps);
    tl_size sp = 0;
    for (tl_size b = 0; b < bins; b++) {
        TL_CHECK(fn, p_counts[b] >= 0 && q_counts[b] >= 0, "%s: counts must be >= 0 (bin %td)", fn, b);
        sp += p_counts[b];
    }
    TL_CHECK(fn, sp > 0, "%s: p_counts is empty", fn);
    *kl = kl_counts(p_counts, q_counts, bins, eps);
    return TL_OK;
}

int tl_quant_fixed_kl(double *kl, float *range, const float *x, tl_size n, tl_size bins, int wl, int fl, int rounding,
                      uint64_t seed, uint64_t offset, double eps, int clamp_outside) {
    static const char fn[] = "tl_quant_fixed_kl";
    TL_CHECK_PTR(fn, kl);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, n);
    TL_CHECK_POS(fn, bins);
    TL_CHECK(fn, rounding == TL_ROUND_NEAREST || rounding == TL_ROUND_STOCHASTIC,
             "%s: rounding must be TL_ROUND_NEAREST or TL_ROUND_STOCHASTIC, got %d", fn, rounding);
    TL_CHECK(fn, eps >= 0.0 && isfinite(eps), "%s: eps must be finite and >= 0, got %g", fn, eps);
    TL_CHECK(fn, clamp_outside == 0 || clamp_outside == 1, "%s: clamp_outside must be 0 or 1, got %d", fn, clamp_outside);
    fixed_spec fs;
    TL_TRY(fixed_spec_make(fn, wl, fl, &fs));
    float mm[2];
    TL_TRY(tl_quant_minmax(mm, x, n));
    if (!isfinite(mm[0]) || !isfinite(mm[1])) return tl_fail(TL_ERR_NUMERIC, "%s: x contains infinity", fn);
    if (range) { range[0] = mm[0]; range[1] = mm[1]; }
    const hist_spec h = hist_spec_make(mm[0], mm[1], bins, clamp_outside);
    tl_size small[2 * 256];
    tl_size *counts = bins <= 256 ? small : tl_alloc((size_t)(2 * bins) * sizeof(tl_size));
    if (!counts) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: no memory for %td bins", fn, bins);
    const int status = hist_run(fn, counts, counts + bins, x, n, &h, &fs, rounding, seed, offset);
    if (status == TL_OK) *kl = kl_counts(counts, counts + bins, bins, eps);
    if (counts != small) tl_free(counts);
    return status;
}

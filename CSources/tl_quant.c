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

/* Quantise n values with round-to-nearest-even; returns the number clamped. Vectorises (vroundps). */
static tl_size fixed_nearest_run(float *restrict y, const float *restrict x, tl_size n, fixed_spec s) {
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

/* Same with stochastic rounding given one uniform per element. */
static tl_size fixed_stochastic_run(float *restrict y, const float *restrict x, const float *restrict u, tl_size n, fixed_spec s) {
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

/* u[0..31] = tl_u32_to_unit of words 4*block .. 4*block + 31 of stream `seed` (eight Philox blocks). */
static void philox_unit32(uint64_t seed, uint64_t block, float *restrict u) {
#ifdef __AVX2__
    uint32_t c0a[8], c1a[8];
    for (int j = 0; j < 8; j++) { const uint64_t b = block + (uint64_t)j; c0a[j] = (uint32_t)b; c1a[j] = (uint32_t)(b >> 32); }
    __m256i c0 = _mm256_loadu_si256((const __m256i *)c0a), c1 = _mm256_loadu_si256((const __m256i *)c1a);
    __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
    const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u), m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        /* 32x32 -> 64 products of all 8 lanes: even lanes directly, odd lanes shifted down. */
        const __m256i e0 = _mm256_mul_epu32(c0, m0), o0 = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), m0);
        const __m256i e1 = _mm256_mul_epu32(c2, m1), o1 = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), m1);
        const __m256i lo0 = _mm256_blend_epi32(e0, _mm256_slli_epi64(o0, 32), 0xAA);
        const __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(e0, 32), o0, 0xAA);
        const __m256i lo1 = _mm256_blend_epi32(e1, _mm256_slli_epi64(o1, 32), 0xAA);
        const __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(e1, 32), o1, 0xAA);
        const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)k0));
        const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)k1));
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    /* Transpose (word, block) -> block-major so that word w of block j lands at 4j + w. */
    const __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpackhi_epi32(c0, c1);
    const __m256i t2 = _mm256_unpacklo_epi32(c2, c3), t3 = _mm256_unpackhi_epi32(c2, c3);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const __m256i w[4] = {_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u2, u3, 0x20),
                          _mm256_permute2x128_si256(u0, u1, 0x31), _mm256_permute2x128_si256(u2, u3, 0x31)};
    const __m256 unit = _mm256_set1_ps(1.0f / 16777216.0f);
    for (int q = 0; q < 4; q++)
        _mm256_storeu_ps(u + 8 * q, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w[q], 8)), unit));
#else
    for (int j = 0; j < 8; j++) {
        uint32_t out[4];
        tl_rng_block(seed, block + (uint64_t)j, out);
        for (int w = 0; w < 4; w++) u[4 * j + w] = tl_u32_to_unit(out[w]);
    }
#endif
}

/* Stochastic fake-quant of n elements whose element k uses word word0 + k of stream `seed`. */
static tl_size fixed_stochastic_range(float *y, const float *x, tl_size n, fixed_spec s, uint64_t seed, uint64_t word0) {
    float u[32];
    tl_size sat = 0, i = 0;
    while (i < n) {
        const uint64_t word = word0 + (uint64_t)i;
        const uint64_t first = word & ~(uint64_t)3; /* first word of its Philox block */
        philox_unit32(seed, first >> 2, u);
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
            sat += fixed_nearest_run(y + i0, x + i0, len, s);
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

/* max |x| (exact and order-free, so any split gives the same bits); *bad set when a value is not finite. */
static float abs_max(const float *x, tl_size n, int *bad, int parallel) {
    float m = 0.0f;
    int nonfinite = 0;
    #pragma omp parallel for schedule(static) reduction(max:m) reduction(|:nonfinite) if (parallel && n > TL_QUANT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        nonfinite |= !(a <= 3.40282347e38f);
        m = a > m ? a : m;
    }
    if (nonfinite) *bad = 1;
    return m;
}

/* scales[c] = max|x_c| / 127 for every channel; TL_ERR_NUMERIC when a channel has a non-finite value. */
static int int8_scales(const char *fn, float *scales, const float *x, tl_size channels, tl_size inner) {
    int bad = 0;
    if (channels < 4 || inner > TL_QUANT_PAR_MIN) {
        for (tl_size c = 0; c < channels; c++) scales[c] = abs_max(x + c * inner, inner, &bad, 1) / 127.0f;
    } else {
        #pragma omp parallel for schedule(static) reduction(|:bad) if (channels * inner > TL_QUANT_PAR_MIN)
        for (tl_size c = 0; c < channels; c++) scales[c] = abs_max(x + c * inner, inner, &bad, 0) / 127.0f;
    }
    if (bad) return tl_fail(TL_ERR_NUMERIC, "%s: x contains NaN or infinity", fn);
    return TL_OK;
}

static inline float int8_round(float v, float scale) {
    if (scale == 0.0f) return 0.0f;
    float r = rintf(v / scale);
    r = r < -127.0f ? -127.0f : r;
    return r > 127.0f ? 127.0f : r;
}

int tl_quant_int8_quantize(int8_t *q, float *scales, const float *x, tl_size channels, tl_size inner) {
    static const char fn[] = "tl_quant_int8_quantize";
    TL_CHECK_PTR(fn, q);
    TL_CHECK_PTR(fn, scales);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, channels);
    TL_CHECK_POS(fn, inner);
    TL_TRY(int8_scales(fn, scales, x, channels, inner));
    const tl_size n = channels * inner;
    #pragma omp parallel for schedule(static) if (n > TL_QUANT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) q[i] = (int8_t)int8_round(x[i], scales[i / inner]);
    return TL_OK;
}

int tl_quant_int8_dequantize(float *x, const int8_t *q, const float *scales, tl_size channels, tl_size inner) {
    static const char fn[] = "tl_quant_int8_dequantize";
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, q);
    TL_CHECK_PTR(fn, scales);
    TL_CHECK_POS(fn, channels);
    TL_CHECK_POS(fn, inner);
    const tl_size n = channels * inner;
    #pragma omp parallel for schedule(static) if (n > TL_QUANT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) x[i] = (float)q[i] * scales[i / inner];
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
    int status = int8_scales(fn, sc, x, channels, inner);
    if (status == TL_OK) {
        const tl_size n = channels * inner;
        #pragma omp parallel for schedule(static) if (n > TL_QUANT_PAR_MIN)
        for (tl_size i = 0; i < n; i++) {
            const float s = sc[i / inner];
            y[i] = (int8_round(x[i], s) + 0.0f) * s; /* + 0 turns -0 into +0, as the int8 round trip does */
        }
    }
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

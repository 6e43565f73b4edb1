/* LIF neurons: multi-step forward and BPTT backward with surrogate gradients, blocked over N so that the
   membrane of a block stays in L1 while the T rows stream through. Two implementations of the same arithmetic:
   a plain loop (any alignment) and an AVX2 one for 32-byte aligned rows (N % 8 == 0, buffers from tl_alloc) that
   keeps every value in registers and, for large problems, writes with non-temporal stores. Both perform the same
   IEEE operations in the same order, so they agree bitwise. */
#include "tl_internal.h"
#include "../include/tl_lif.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

/* No implicit FMA contraction: every rounding is spelled out (fmaf where wanted) so the Swift references match bitwise. */
#pragma STDC FP_CONTRACT OFF

/* Neurons per block: the block's state lives in stack arrays of this length (a multiple of 8). */
#define LIF_BLOCK 1024
#define LIF_PAR_MIN 16384
/* From this many elements (T*N) on, the AVX2 path writes its outputs with non-temporal stores: each array is then far
   larger than the caches, and streaming saves the read-for-ownership of every written line. */
#define LIF_STREAM_MIN (1 << 22)

/* exp(x) in float, ~2 ulp, branch-free so that the loops vectorise (libm's expf does not). */
static inline float lif_exp(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float n = rintf(x * 1.44269504088896341f);
    float r = fmaf(n, -0.693359375f, x);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    /* A NaN x makes p NaN already; the exponent must still be a defined int (converting NaN is undefined, found by
       `make sanitize`), and 0 keeps the NaN's payload: NaN x 1. */
    const int32_t bits = ((int32_t)(n == n ? n : 0.0f) + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float lif_surrogate(float z, int kind, float alpha) {
    switch (kind) {
    case TL_SURROGATE_SIGMOID: {
        const float e = lif_exp(-alpha * fabsf(z));
        const float d = 1.0f + e;
        return alpha * e / (d * d);
    }
    case TL_SURROGATE_FAST_SIGMOID: {
        const float d = fmaf(alpha, fabsf(z), 1.0f);
        return 1.0f / (d * d);
    }
    case TL_SURROGATE_ARCTAN: {
        const float u = 1.57079632679489662f * alpha * z;
        return 0.5f * alpha / fmaf(u, u, 1.0f);
    }
    default: { /* triangle */
        const float m = alpha - fabsf(z);
        return (m > 0.0f ? m : 0.0f) / (alpha * alpha);
    }
    }
}

static int lif_check_params(const char *fn, const tl_lif_params *params) {
    TL_CHECK_PTR(fn, params);
    const tl_lif_params *p = params;
    TL_CHECK(fn, p->charge == TL_LIF_DECAY || p->charge == TL_LIF_TAU, "%s: params->charge must be TL_LIF_DECAY or TL_LIF_TAU, got %d", fn, p->charge);
    if (p->charge == TL_LIF_DECAY)
        TL_CHECK(fn, isfinite(p->decay), "%s: params->decay must be finite, got %g", fn, p->decay);
    else
        TL_CHECK(fn, p->tau > 0.0f && isfinite(p->tau), "%s: params->tau must be > 0, got %g", fn, p->tau);
    TL_CHECK(fn, isfinite(p->v_threshold), "%s: params->v_threshold must be finite, got %g", fn, p->v_threshold);
    TL_CHECK(fn, isfinite(p->v_reset), "%s: params->v_reset must be finite, got %g", fn, p->v_reset);
    TL_CHECK(fn, p->reset >= TL_LIF_RESET_HARD && p->reset <= TL_LIF_RESET_NONE, "%s: params->reset must be a tl_lif_reset, got %d", fn, p->reset);
    TL_CHECK(fn, p->detach_reset == 0 || p->detach_reset == 1, "%s: params->detach_reset must be 0 or 1, got %d", fn, p->detach_reset);
    TL_CHECK(fn, p->surrogate >= TL_SURROGATE_SIGMOID && p->surrogate <= TL_SURROGATE_TRIANGLE,
             "%s: params->surrogate must be a tl_lif_surrogate, got %d", fn, p->surrogate);
    TL_CHECK(fn, p->alpha > 0.0f && isfinite(p->alpha), "%s: params->alpha must be > 0, got %g", fn, p->alpha);
    return TL_OK;
}

/* ---------------------------------------------------------------- forward */

/* One block of nb neurons starting at n0, all T steps (plain loop). charge and reset are compile-time constants at each call site. */
static inline __attribute__((always_inline)) void lif_forward_block(
    float *restrict s, float *restrict h, float *restrict vo, float *restrict rate, float *restrict vs,
    const float *restrict x, tl_size T, tl_size N, tl_size n0, tl_size nb, const tl_lif_params *p,
    const int charge, const int reset) {
    float v[LIF_BLOCK], acc[LIF_BLOCK], hb[LIF_BLOCK], vb[LIF_BLOCK];
    if (vs) memcpy(v, vs + n0, (size_t)nb * sizeof(float));
    else memset(v, 0, (size_t)nb * sizeof(float));
    memset(acc, 0, (size_t)nb * sizeof(float));
    const float decay = p->decay, inv_tau = 1.0f / p->tau, th = p->v_threshold, vr = p->v_reset;
    for (tl_size t = 0; t < T; t++) {
        const tl_size row = t * N + n0;
        const float *restrict xt = x + row;
        float *restrict st = s + row;
        /* Unrequested outputs go to block-local scratch so that the loop has no branches. */
        float *restrict ht = h ? h + row : hb;
        float *restrict vt = vo ? vo + row : vb;
        for (tl_size i = 0; i < nb; i++) {
            const float hv = charge == TL_LIF_DECAY ? fmaf(decay, v[i], xt[i]) : fmaf(xt[i] - (v[i] - vr), inv_tau, v[i]);
            const int fire = hv >= th;
            const float sv = fire ? 1.0f : 0.0f;
            float nv;
            if (reset == TL_LIF_RESET_HARD) nv = fire ? vr : hv;
            else if (reset == TL_LIF_RESET_SOFT) nv = fire ? hv - th : hv;
            else nv = hv;
            st[i] = sv;
            ht[i] = hv;
            vt[i] = nv;
            acc[i] += sv;
            v[i] = nv;
        }
    }
    if (vs) memcpy(vs + n0, v, (size_t)nb * sizeof(float));
    if (rate) {
        const float tf = (float)T;
        for (tl_size i = 0; i < nb; i++) rate[n0 + i] = acc[i] / tf;
    }
}

#ifdef __AVX2__
/* exp of 8 floats: lif_exp operation for operation (min/max operand order keeps NaN as the ternaries do). */
static inline __attribute__((always_inline)) __m256 lif_exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 q = _mm256_set1_ps(1.9875691500e-4f);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.3981999507e-3f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(8.3334519073e-3f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(4.1665795894e-2f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.6666665459e-1f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(5.0000001201e-1f));
    q = _mm256_add_ps(_mm256_fmadd_ps(q, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(q, _mm256_castsi256_ps(bits));
}

/* lif_surrogate on 8 lanes, same operations. */
static inline __attribute__((always_inline)) __m256 lif_surrogate8(__m256 z, int kind, float alpha) {
    const __m256 az = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
    switch (kind) {
    case TL_SURROGATE_SIGMOID: {
        const __m256 e = lif_exp8(_mm256_mul_ps(_mm256_set1_ps(-alpha), az));
        const __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
        return _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(alpha), e), _mm256_mul_ps(d, d));
    }
    case TL_SURROGATE_FAST_SIGMOID: {
        const __m256 d = _mm256_fmadd_ps(_mm256_set1_ps(alpha), az, _mm256_set1_ps(1.0f));
        return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(d, d));
    }
    case TL_SURROGATE_ARCTAN: {
        const __m256 u = _mm256_mul_ps(_mm256_set1_ps(1.57079632679489662f * alpha), z);
        return _mm256_div_ps(_mm256_set1_ps(0.5f * alpha), _mm256_fmadd_ps(u, u, _mm256_set1_ps(1.0f)));
    }
    default: {
        const __m256 m = _mm256_sub_ps(_mm256_set1_ps(alpha), az);
        return _mm256_div_ps(_mm256_max_ps(m, _mm256_setzero_ps()), _mm256_set1_ps(alpha * alpha));
    }
    }
}

static inline __attribute__((always_inline)) void lif_put8(float *dst, __m256 v, const int nt) {
    if (nt) _mm256_stream_ps(dst, v);
    else _mm256_store_ps(dst, v);
}

/* lif_forward_block for 32-byte aligned rows, values kept in registers; nt = non-temporal stores. */
static inline __attribute__((always_inline)) void lif_forward_block8(
    float *restrict s, float *restrict h, float *restrict vo, float *restrict rate, float *restrict vs,
    const float *restrict x, tl_size T, tl_size N, tl_size n0, tl_size nb, const tl_lif_params *p,
    const int nt, const int charge, const int reset) {
    float v[LIF_BLOCK] __attribute__((aligned(32))), acc[LIF_BLOCK] __attribute__((aligned(32)));
    if (vs) memcpy(v, vs + n0, (size_t)nb * sizeof(float));
    else memset(v, 0, (size_t)nb * sizeof(float));
    if (rate) memset(acc, 0, (size_t)nb * sizeof(float));
    const __m256 decay = _mm256_set1_ps(p->decay), inv_tau = _mm256_set1_ps(1.0f / p->tau);
    const __m256 th = _mm256_set1_ps(p->v_threshold), vr = _mm256_set1_ps(p->v_reset), one = _mm256_set1_ps(1.0f);
    for (tl_size t = 0; t < T; t++) {
        const tl_size row = t * N + n0;
        const float *restrict xt = x + row;
        for (tl_size i = 0; i < nb; i += 8) {
            const __m256 xv = _mm256_load_ps(xt + i), vv = _mm256_load_ps(v + i);
            const __m256 hv = charge == TL_LIF_DECAY ? _mm256_fmadd_ps(decay, vv, xv)
                                                     : _mm256_fmadd_ps(_mm256_sub_ps(xv, _mm256_sub_ps(vv, vr)), inv_tau, vv);
            const __m256 fire = _mm256_cmp_ps(hv, th, _CMP_GE_OQ);
            const __m256 sv = _mm256_and_ps(fire, one);
            __m256 nv;
            if (reset == TL_LIF_RESET_HARD) nv = _mm256_blendv_ps(hv, vr, fire);
            else if (reset == TL_LIF_RESET_SOFT) nv = _mm256_blendv_ps(hv, _mm256_sub_ps(hv, th), fire);
            else nv = hv;
            lif_put8(s + row + i, sv, nt);
            if (h) lif_put8(h + row + i, hv, nt);
            if (vo) lif_put8(vo + row + i, nv, nt);
            if (rate) _mm256_store_ps(acc + i, _mm256_add_ps(_mm256_load_ps(acc + i), sv));
            _mm256_store_ps(v + i, nv);
        }
    }
    if (vs) memcpy(vs + n0, v, (size_t)nb * sizeof(float));
    if (rate) {
        const float tf = (float)T;
        for (tl_size i = 0; i < nb; i++) rate[n0 + i] = acc[i] / tf;
    }
}
#endif

#define LIF_FORWARD_MODES(CALL)                                      \
    switch (mode) {                                                  \
    case 0: CALL(TL_LIF_DECAY, TL_LIF_RESET_HARD); break;            \
    case 1: CALL(TL_LIF_DECAY, TL_LIF_RESET_SOFT); break;            \
    case 2: CALL(TL_LIF_DECAY, TL_LIF_RESET_NONE); break;            \
    case 3: CALL(TL_LIF_TAU, TL_LIF_RESET_HARD); break;              \
    case 4: CALL(TL_LIF_TAU, TL_LIF_RESET_SOFT); break;              \
    default: CALL(TL_LIF_TAU, TL_LIF_RESET_NONE); break;             \
    }
#define LIF_FWD_PLAIN(C, R) lif_forward_block(s, h, v_out, rate, v_state, x, T, N, n0, nb, params, C, R)
#define LIF_FWD_NT(C, R) lif_forward_block8(s, h, v_out, rate, v_state, x, T, N, n0, nb, params, 1, C, R)
#define LIF_FWD_ST(C, R) lif_forward_block8(s, h, v_out, rate, v_state, x, T, N, n0, nb, params, 0, C, R)

static int aligned32(const void *p) { return p == NULL || ((uintptr_t)p & 31u) == 0; }

int tl_lif_forward(float *s, float *h, float *v_out, float *rate, float *v_state, const float *x, tl_size T, tl_size N,
                   const tl_lif_params *params) {
    static const char fn[] = "tl_lif_forward";
    TL_CHECK_PTR(fn, s);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, T);
    TL_CHECK_NONNEG(fn, N);
    TL_TRY(lif_check_params(fn, params));
    const int mode = params->charge * 3 + params->reset;
    const int vec = N % 8 == 0 && aligned32(s) && aligned32(h) && aligned32(v_out) && aligned32(x);
    const int nt = T * N >= LIF_STREAM_MIN;
    const tl_size blocks = (N + LIF_BLOCK - 1) / LIF_BLOCK;
    #pragma omp parallel for schedule(static) if (T * N > LIF_PAR_MIN)
    for (tl_size b = 0; b < blocks; b++) {
        const tl_size n0 = b * LIF_BLOCK, nb = N - n0 < LIF_BLOCK ? N - n0 : LIF_BLOCK;
#ifdef __AVX2__
        if (vec && nt) { LIF_FORWARD_MODES(LIF_FWD_NT) }
        else if (vec) { LIF_FORWARD_MODES(LIF_FWD_ST) }
        else { LIF_FORWARD_MODES(LIF_FWD_PLAIN) }
#else
        (void)vec; (void)nt;
        LIF_FORWARD_MODES(LIF_FWD_PLAIN)
#endif
    }
#ifdef __AVX2__
    if (vec && nt) _mm_sfence();
#endif
    return TL_OK;
}

/* ---------------------------------------------------------------- backward */

static inline __attribute__((always_inline)) void lif_backward_block(
    float *restrict dx, float *restrict dvs, const float *restrict ds, const float *restrict dv,
    const float *restrict drate, const float *restrict h, tl_size T, tl_size N, tl_size n0, tl_size nb,
    const tl_lif_params *p, const int reset, const int detach, const int kind) {
    float g[LIF_BLOCK], extra[LIF_BLOCK], zeros[LIF_BLOCK];
    /* g = a * dL/dh[t+1] (+ the gradient of the carried-out state at the last step). */
    if (dvs) memcpy(g, dvs + n0, (size_t)nb * sizeof(float));
    else memset(g, 0, (size_t)nb * sizeof(float));
    if (drate) {
        const float tf = (float)T;
        for (tl_size i = 0; i < nb; i++) extra[i] = drate[n0 + i] / tf;
    } else {
        memset(extra, 0, (size_t)nb * sizeof(float));
    }
    if (!ds || !dv) memset(zeros, 0, (size_t)nb * sizeof(float));
    const int tau_form = p->charge == TL_LIF_TAU;
    const float inv_tau = 1.0f / p->tau;
    const float a = tau_form ? 1.0f - inv_tau : p->decay, bx = tau_form ? inv_tau : 1.0f;
    const float th = p->v_threshold, vr = p->v_reset, alpha = p->alpha;
    for (tl_size t = T - 1; t >= 0; t--) {
        const tl_size row = t * N + n0;
        const float *restrict ht = h + row;
        const float *restrict dst = ds ? ds + row : zeros;
        const float *restrict dvt = dv ? dv + row : zeros;
        float *restrict dxt = dx + row;
        for (tl_size i = 0; i < nb; i++) {
            const float hv = ht[i];
            const float z = hv - th;
            const float sg = lif_surrogate(z, kind, alpha);
            const float G = g[i] + dvt[i];
            float gs = dst[i] + extra[i], gh;
            if (reset == TL_LIF_RESET_HARD) {
                const float keep = hv >= th ? 0.0f : 1.0f;
                if (!detach) gs = fmaf(G, vr - hv, gs);
                gh = fmaf(gs, sg, G * keep);
            } else if (reset == TL_LIF_RESET_SOFT) {
                if (!detach) gs = fmaf(G, -th, gs);
                gh = fmaf(gs, sg, G);
            } else {
                gh = fmaf(gs, sg, G);
            }
            dxt[i] = gh * bx;
            g[i] = a * gh;
        }
    }
    if (dvs) memcpy(dvs + n0, g, (size_t)nb * sizeof(float));
}

#ifdef __AVX2__
/* lif_backward_block for 32-byte aligned rows, values kept in registers; nt = non-temporal stores of dx. */
static inline __attribute__((always_inline)) void lif_backward_block8(
    float *restrict dx, float *restrict dvs, const float *restrict ds, const float *restrict dv,
    const float *restrict drate, const float *restrict h, tl_size T, tl_size N, tl_size n0, tl_size nb,
    const tl_lif_params *p, const int nt, const int reset, const int detach, const int kind) {
    float g[LIF_BLOCK] __attribute__((aligned(32))), extra[LIF_BLOCK] __attribute__((aligned(32)));
    if (dvs) memcpy(g, dvs + n0, (size_t)nb * sizeof(float));
    else memset(g, 0, (size_t)nb * sizeof(float));
    if (drate) {
        const float tf = (float)T;
        for (tl_size i = 0; i < nb; i++) extra[i] = drate[n0 + i] / tf;
    } else {
        memset(extra, 0, (size_t)nb * sizeof(float));
    }
    const int tau_form = p->charge == TL_LIF_TAU;
    const float inv_tau = 1.0f / p->tau;
    const __m256 a = _mm256_set1_ps(tau_form ? 1.0f - inv_tau : p->decay), bx = _mm256_set1_ps(tau_form ? inv_tau : 1.0f);
    const __m256 th = _mm256_set1_ps(p->v_threshold), vr = _mm256_set1_ps(p->v_reset), nth = _mm256_set1_ps(-p->v_threshold);
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    const float alpha = p->alpha;
    /* Prefetch the next block's h and ds rows into L2, one line per step: at a block change every row restarts at a
       new page, where the hardware prefetchers would have to start over. */
    const tl_size next = n0 + nb < N ? n0 + nb : -1, lines = nb / 16;
    tl_size pf = 0;
    for (tl_size t = T - 1; t >= 0; t--) {
        const tl_size row = t * N + n0;
        for (tl_size i = 0; i < nb; i += 8) {
            if (next >= 0 && pf < 2 * T * lines) {
                const tl_size r = pf >> 1, prow = (T - 1 - r / lines) * N + next + 16 * (r % lines);
                _mm_prefetch((const char *)((pf & 1) && ds ? ds + prow : h + prow), _MM_HINT_T1);
                pf++;
            }
            const __m256 hv = _mm256_load_ps(h + row + i);
            const __m256 sg = lif_surrogate8(_mm256_sub_ps(hv, th), kind, alpha);
            const __m256 G = _mm256_add_ps(_mm256_load_ps(g + i), dv ? _mm256_load_ps(dv + row + i) : zero);
            __m256 gs = _mm256_add_ps(ds ? _mm256_load_ps(ds + row + i) : zero, _mm256_load_ps(extra + i)), gh;
            if (reset == TL_LIF_RESET_HARD) {
                const __m256 keep = _mm256_andnot_ps(_mm256_cmp_ps(hv, th, _CMP_GE_OQ), one);
                if (!detach) gs = _mm256_fmadd_ps(G, _mm256_sub_ps(vr, hv), gs);
                gh = _mm256_fmadd_ps(gs, sg, _mm256_mul_ps(G, keep));
            } else if (reset == TL_LIF_RESET_SOFT) {
                if (!detach) gs = _mm256_fmadd_ps(G, nth, gs);
                gh = _mm256_fmadd_ps(gs, sg, G);
            } else {
                gh = _mm256_fmadd_ps(gs, sg, G);
            }
            lif_put8(dx + row + i, _mm256_mul_ps(gh, bx), nt);
            _mm256_store_ps(g + i, _mm256_mul_ps(a, gh));
        }
    }
    if (dvs) memcpy(dvs + n0, g, (size_t)nb * sizeof(float));
}
#endif

/* Dispatch over the surrogate for one (reset, detach) pair; CALL(reset, detach, surrogate) calls a block function. */
#define LIF_BACKWARD_KIND(CALL, R, D)                                                         \
    switch (kind) {                                                                           \
    case TL_SURROGATE_SIGMOID: CALL(R, D, TL_SURROGATE_SIGMOID); break;                       \
    case TL_SURROGATE_FAST_SIGMOID: CALL(R, D, TL_SURROGATE_FAST_SIGMOID); break;             \
    case TL_SURROGATE_ARCTAN: CALL(R, D, TL_SURROGATE_ARCTAN); break;                         \
    default: CALL(R, D, TL_SURROGATE_TRIANGLE); break;                                        \
    }
#define LIF_BACKWARD_MODES(CALL)                                                              \
    switch (mode) {                                                                           \
    case 0: LIF_BACKWARD_KIND(CALL, TL_LIF_RESET_HARD, 0) break;                              \
    case 1: LIF_BACKWARD_KIND(CALL, TL_LIF_RESET_HARD, 1) break;                              \
    case 2: LIF_BACKWARD_KIND(CALL, TL_LIF_RESET_SOFT, 0) break;                              \
    case 3: LIF_BACKWARD_KIND(CALL, TL_LIF_RESET_SOFT, 1) break;                              \
    default: LIF_BACKWARD_KIND(CALL, TL_LIF_RESET_NONE, 0) break;                             \
    }
#define LIF_BWD_PLAIN(R, D, K) lif_backward_block(dx, dv_state, ds, dv, drate, h, T, N, n0, nb, params, R, D, K)
#define LIF_BWD_NT(R, D, K) lif_backward_block8(dx, dv_state, ds, dv, drate, h, T, N, n0, nb, params, 1, R, D, K)
#define LIF_BWD_ST(R, D, K) lif_backward_block8(dx, dv_state, ds, dv, drate, h, T, N, n0, nb, params, 0, R, D, K)

int tl_lif_backward(float *dx, float *dv_state, const float *ds, const float *dv, const float *drate, const float *h,
                    tl_size T, tl_size N, const tl_lif_params *params) {
    static const char fn[] = "tl_lif_backward";
    TL_CHECK_PTR(fn, dx);
    TL_CHECK_PTR(fn, h);
    TL_CHECK_POS(fn, T);
    TL_CHECK_NONNEG(fn, N);
    TL_TRY(lif_check_params(fn, params));
    const int kind = params->surrogate;
    const int mode = params->reset * 2 + (params->reset == TL_LIF_RESET_NONE ? 0 : params->detach_reset);
    const int vec = N % 8 == 0 && aligned32(dx) && aligned32(ds) && aligned32(dv) && aligned32(h);
    const int nt = T * N >= LIF_STREAM_MIN;
    const tl_size blocks = (N + LIF_BLOCK - 1) / LIF_BLOCK;
    #pragma omp parallel for schedule(static) if (T * N > LIF_PAR_MIN)
    for (tl_size b = 0; b < blocks; b++) {
        const tl_size n0 = b * LIF_BLOCK, nb = N - n0 < LIF_BLOCK ? N - n0 : LIF_BLOCK;
#ifdef __AVX2__
        if (vec && nt) { LIF_BACKWARD_MODES(LIF_BWD_NT) }
        else if (vec) { LIF_BACKWARD_MODES(LIF_BWD_ST) }
        else { LIF_BACKWARD_MODES(LIF_BWD_PLAIN) }
#else
        (void)vec; (void)nt;
        LIF_BACKWARD_MODES(LIF_BWD_PLAIN)
#endif
    }
#ifdef __AVX2__
    if (vec && nt) _mm_sfence();
#endif
    return TL_OK;
}

/* ---------------------------------------------------------------- rate and surrogate */

int tl_lif_rate_forward(float *rate, const float *s, tl_size T, tl_size N) {
    static const char fn[] = "tl_lif_rate_forward";
    TL_CHECK_PTR(fn, rate);
    TL_CHECK_PTR(fn, s);
    TL_CHECK_POS(fn, T);
    TL_CHECK_NONNEG(fn, N);
    const float tf = (float)T;
    #pragma omp parallel for schedule(static) if (T * N > LIF_PAR_MIN)
    for (tl_size n = 0; n < N; n++) {
        float acc = 0.0f;
        for (tl_size t = 0; t < T; t++) acc += s[t * N + n];
        rate[n] = acc / tf;
    }
    return TL_OK;
}

int tl_lif_rate_backward(float *ds, const float *drate, tl_size T, tl_size N) {
    static const char fn[] = "tl_lif_rate_backward";
    TL_CHECK_PTR(fn, ds);
    TL_CHECK_PTR(fn, drate);
    TL_CHECK_POS(fn, T);
    TL_CHECK_NONNEG(fn, N);
    const float tf = (float)T;
    #pragma omp parallel for schedule(static) if (T * N > LIF_PAR_MIN)
    for (tl_size t = 0; t < T; t++)
        for (tl_size n = 0; n < N; n++) ds[t * N + n] = drate[n] / tf;
    return TL_OK;
}

int tl_lif_surrogate_grad(float *grad, const float *z, tl_size n, int surrogate, float alpha) {
    static const char fn[] = "tl_lif_surrogate_grad";
    TL_CHECK_PTR(fn, grad);
    TL_CHECK_PTR(fn, z);
    TL_CHECK_NONNEG(fn, n);
    TL_CHECK(fn, surrogate >= TL_SURROGATE_SIGMOID && surrogate <= TL_SURROGATE_TRIANGLE,
             "%s: surrogate must be a tl_lif_surrogate, got %d", fn, surrogate);
    TL_CHECK(fn, alpha > 0.0f && isfinite(alpha), "%s: alpha must be > 0, got %g", fn, alpha);
    for (tl_size i = 0; i < n; i++) grad[i] = lif_surrogate(z[i], surrogate, alpha);
    return TL_OK;
}

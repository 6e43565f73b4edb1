/* LIF neurons: multi-step forward and BPTT backward with surrogate gradients, blocked over N so that the
   membrane of a block stays in L1 while the T rows stream through. */
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

/* Neurons per block: the block's state lives in stack arrays of this length. */
#define LIF_BLOCK 1024
#define LIF_PAR_MIN 16384
/* From this many elements (T*N) on, outputs are written with non-temporal stores: each array is then far larger than
   the caches, and streaming saves the read-for-ownership of every written line (a third of the traffic). */
#define LIF_STREAM_MIN (1 << 22)

/* dst[0..n) = src[0..n) bypassing the caches where dst is 32-byte aligned. */
static void stream_copy(float *restrict dst, const float *restrict src, tl_size n) {
#ifdef __AVX2__
    tl_size i = 0;
    for (; i < n && ((uintptr_t)(dst + i) & 31u) != 0; i++) dst[i] = src[i];
    for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
    for (; i < n; i++) dst[i] = src[i];
#else
    memcpy(dst, src, (size_t)n * sizeof(float));
#endif
}

static void stream_fence(void) {
#ifdef __AVX2__
    _mm_sfence();
#endif
}

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
    const int32_t bits = ((int32_t)n + 127) << 23;
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

/* One block of nb neurons starting at n0, all T steps. charge and reset are compile-time constants at each call site;
   with `stream`, each row is computed into L1 scratch and then streamed out. */
static inline __attribute__((always_inline)) void lif_forward_block(
    float *restrict s, float *restrict h, float *restrict vo, float *restrict rate, float *restrict vs,
    const float *restrict x, tl_size T, tl_size N, tl_size n0, tl_size nb, const tl_lif_params *p, int stream,
    const int charge, const int reset) {
    float v[LIF_BLOCK], acc[LIF_BLOCK], sb[LIF_BLOCK], hb[LIF_BLOCK], vb[LIF_BLOCK];
    if (vs) memcpy(v, vs + n0, (size_t)nb * sizeof(float));
    else memset(v, 0, (size_t)nb * sizeof(float));
    memset(acc, 0, (size_t)nb * sizeof(float));
    const float decay = p->decay, inv_tau = 1.0f / p->tau, th = p->v_threshold, vr = p->v_reset;
    for (tl_size t = 0; t < T; t++) {
        const tl_size row = t * N + n0;
        const float *restrict xt = x + row;
        /* Unrequested outputs go to block-local scratch so that the loop has no branches. */
        float *restrict st = stream ? sb : s + row;
        float *restrict ht = h && !stream ? h + row : hb;
        float *restrict vt = vo && !stream ? vo + row : vb;
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
        if (stream) {
            stream_copy(s + row, sb, nb);
            if (h) stream_copy(h + row, hb, nb);
            if (vo) stream_copy(vo + row, vb, nb);
        }
    }
    if (stream) stream_fence();
    if (vs) memcpy(vs + n0, v, (size_t)nb * sizeof(float));
    if (rate) {
        const float tf = (float)T;
        for (tl_size i = 0; i < nb; i++) rate[n0 + i] = acc[i] / tf;
    }
}

#define LIF_FORWARD_CASE(C, R) \
    lif_forward_block(s, h, v_out, rate, v_state, x, T, N, n0, nb, params, stream, C, R)

int tl_lif_forward(float *s, float *h, float *v_out, float *rate, float *v_state, const float *x, tl_size T, tl_size N,
                   const tl_lif_params *params) {
    static const char fn[] = "tl_lif_forward";
    TL_CHECK_PTR(fn, s);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, T);
    TL_CHECK_NONNEG(fn, N);
    TL_TRY(lif_check_params(fn, params));
    const int mode = params->charge * 3 + params->reset, stream = T * N >= LIF_STREAM_MIN;
    const tl_size blocks = (N + LIF_BLOCK - 1) / LIF_BLOCK;
    #pragma omp parallel for schedule(static) if (T * N > LIF_PAR_MIN)
    for (tl_size b = 0; b < blocks; b++) {
        const tl_size n0 = b * LIF_BLOCK, nb = N - n0 < LIF_BLOCK ? N - n0 : LIF_BLOCK;
        switch (mode) {
        case 0: LIF_FORWARD_CASE(TL_LIF_DECAY, TL_LIF_RESET_HARD); break;
        case 1: LIF_FORWARD_CASE(TL_LIF_DECAY, TL_LIF_RESET_SOFT); break;
        case 2: LIF_FORWARD_CASE(TL_LIF_DECAY, TL_LIF_RESET_NONE); break;
        case 3: LIF_FORWARD_CASE(TL_LIF_TAU, TL_LIF_RESET_HARD); break;
        case 4: LIF_FORWARD_CASE(TL_LIF_TAU, TL_LIF_RESET_SOFT); break;
        default: LIF_FORWARD_CASE(TL_LIF_TAU, TL_LIF_RESET_NONE); break;
        }
    }
    return TL_OK;
}

/* ---------------------------------------------------------------- backward */

static inline __attribute__((always_inline)) void lif_backward_block(
    float *restrict dx, float *restrict dvs, const float *restrict ds, const float *restrict dv,
    const float *restrict drate, const float *restrict h, tl_size T, tl_size N, tl_size n0, tl_size nb,
    const tl_lif_params *p, int stream, const int reset, const int detach, const int kind) {
    float g[LIF_BLOCK], extra[LIF_BLOCK], zeros[LIF_BLOCK], dxb[LIF_BLOCK];
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
        float *restrict dxt = stream ? dxb : dx + row;
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
        if (stream) stream_copy(dx + row, dxb, nb);
    }
    if (stream) stream_fence();
    if (dvs) memcpy(dvs + n0, g, (size_t)nb * sizeof(float));
}

#define LIF_BACKWARD_KIND(R, D)                                                                   \
    switch (kind) {                                                                               \
    case TL_SURROGATE_SIGMOID: lif_backward_block(dx, dv_state, ds, dv, drate, h, T, N, n0, nb, params, stream, R, D, TL_SURROGATE_SIGMOID); break; \
    case TL_SURROGATE_FAST_SIGMOID: lif_backward_block(dx, dv_state, ds, dv, drate, h, T, N, n0, nb, params, stream, R, D, TL_SURROGATE_FAST_SIGMOID); break; \
    case TL_SURROGATE_ARCTAN: lif_backward_block(dx, dv_state, ds, dv, drate, h, T, N, n0, nb, params, stream, R, D, TL_SURROGATE_ARCTAN); break; \
    default: lif_backward_block(dx, dv_state, ds, dv, drate, h, T, N, n0, nb, params, stream, R, D, TL_SURROGATE_TRIANGLE); break; \
    }

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
    const int stream = T * N >= LIF_STREAM_MIN;
    const tl_size blocks = (N + LIF_BLOCK - 1) / LIF_BLOCK;
    #pragma omp parallel for schedule(static) if (T * N > LIF_PAR_MIN)
    for (tl_size b = 0; b < blocks; b++) {
        const tl_size n0 = b * LIF_BLOCK, nb = N - n0 < LIF_BLOCK ? N - n0 : LIF_BLOCK;
        switch (mode) {
        case 0: LIF_BACKWARD_KIND(TL_LIF_RESET_HARD, 0); break;
        case 1: LIF_BACKWARD_KIND(TL_LIF_RESET_HARD, 1); break;
        case 2: LIF_BACKWARD_KIND(TL_LIF_RESET_SOFT, 0); break;
        case 3: LIF_BACKWARD_KIND(TL_LIF_RESET_SOFT, 1); break;
        default: LIF_BACKWARD_KIND(TL_LIF_RESET_NONE, 0); break;
        }
    }
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

/* Activations. Element-wise loops are `omp parallel for simd`: the simd part asserts that in-place
   calls (y == x) are safe, which keeps them vectorised (a runtime alias check would send them to the
   scalar loop). exp, sigmoid and tanh use the branch-free approximations below so that the loops
   vectorise; the exact GELU calls libm's erfcf and is scalar. */
#include "tl_internal.h"
#include "../include/tl_act.h"

#include <math.h>
#include <string.h>

/* Below this many elements a second thread costs more than it saves. */
#define TL_ACT_PAR_MIN 65536

static inline float tl_bits_float(int32_t i) {
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}

/* exp(x) to about 2 ulp (Cephes expf: Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, degree-6
   polynomial). 2^k is built in two halves so that k = 128 (x just below the overflow point) stays
   finite. Flushes to 0 below -87.34 (the exact value is subnormal), +inf above 88.72, NaN propagates. */
static inline float tl_expf(float x) {
    const float lo = -87.33654f, hi = 88.72283f;
    const float xc = fminf(fmaxf(x, lo), hi);
    const float k = floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    const int32_t ki = (int32_t)k, k1 = ki / 2, k2 = ki - k1;
    float e = p * tl_bits_float((k1 + 127) << 23) * tl_bits_float((k2 + 127) << 23);
    e = x < lo ? 0.0f : e;
    e = x > hi ? INFINITY : e;
    return x != x ? x : e;
}

static inline float tl_sigmoidf(float x) { return 1.0f / (1.0f + tl_expf(-x)); }

/* tanh: odd polynomial near 0 (where 1 - 2/(e^2a + 1) would cancel), the exp form elsewhere (Cephes tanhf). */
static inline float tl_tanhf(float x) {
    const float a = fabsf(x);
    const float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = p * z * x + x;
    const float big = copysignf(1.0f - 2.0f / (tl_expf(2.0f * a) + 1.0f), x);
    return a < 0.625f ? small : big;
}

#define TL_SQRT_2_OVER_PI 0.7978845608028654f
#define TL_GELU_CUBIC 0.044715f
#define TL_INV_SQRT_2 0.7071067811865476f
#define TL_INV_SQRT_2PI 0.3989422804014327f

/* 0.5 (1 + tanh(u)) == sigmoid(2u): the sigmoid form keeps relative accuracy for large negative x. */
static inline float tl_gelu_tanh_gate(float x) {
    return tl_sigmoidf(2.0f * TL_SQRT_2_OVER_PI * (x + TL_GELU_CUBIC * x * x * x));
}

#define TL_ACT_CHECK_UNARY(fn, y, x, n) \
    TL_CHECK_PTR(fn, y); TL_CHECK_PTR(fn, x); TL_CHECK_NONNEG(fn, n)

#define TL_ACT_CHECK_BACKWARD(fn, dx, dy, s, n) \
    TL_CHECK_PTR(fn, dx); TL_CHECK_PTR(fn, dy); TL_CHECK_PTR(fn, s); TL_CHECK_NONNEG(fn, n)

int tl_relu_forward(float *y, const float *x, tl_size n) {
    TL_ACT_CHECK_UNARY("tl_relu_forward", y, x, n);
    /* x < 0 ? 0 : x lets NaN through, as PyTorch does. */
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
    return TL_OK;
}

int tl_relu_backward(float *dx, const float *dy, const float *y, tl_size n) {
    TL_ACT_CHECK_BACKWARD("tl_relu_backward", dx, dy, y, n);
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    return TL_OK;
}

int tl_leaky_relu_forward(float *y, const float *x, tl_size n, float slope) {
    TL_ACT_CHECK_UNARY("tl_leaky_relu_forward", y, x, n);
    TL_CHECK("tl_leaky_relu_forward", slope >= 0.0f && isfinite(slope),
             "tl_leaky_relu_forward: slope must be finite and >= 0, got %g", slope);
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] = x[i] < 0.0f ? slope * x[i] : x[i];
    return TL_OK;
}

int tl_leaky_relu_backward(float *dx, const float *dy, const float *y, tl_size n, float slope) {
    TL_ACT_CHECK_BACKWARD("tl_leaky_relu_backward", dx, dy, y, n);
    TL_CHECK("tl_leaky_relu_backward", slope >= 0.0f && isfinite(slope),
             "tl_leaky_relu_backward: slope must be finite and >= 0, got %g", slope);
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : slope * dy[i];
    return TL_OK;
}

#define TL_CHECK_GELU_MODE(fn, mode) \
    TL_CHECK(fn, (mode) == TL_GELU_ERF || (mode) == TL_GELU_TANH, \
             "%s: mode must be TL_GELU_ERF (0) or TL_GELU_TANH (1), got %d", fn, (int)(mode))

int tl_gelu_forward(float *y, const float *x, tl_size n, tl_gelu_mode mode) {
    TL_ACT_CHECK_UNARY("tl_gelu_forward", y, x, n);
    TL_CHECK_GELU_MODE("tl_gelu_forward", mode);
    if (mode == TL_GELU_TANH) {
        #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
        for (tl_size i = 0; i < n; i++) y[i] = x[i] * tl_gelu_tanh_gate(x[i]);
    } else {
        /* Phi(x) = erfc(-x / sqrt 2) / 2 stays accurate in the far negative tail, where 1 + erf cancels. */
        #pragma omp parallel for schedule(static) if (n > TL_ACT_PAR_MIN / 8)
        for (tl_size i = 0; i < n; i++) y[i] = x[i] * 0.5f * erfcf(-x[i] * TL_INV_SQRT_2);
    }
    return TL_OK;
}

int tl_gelu_backward(float *dx, const float *dy, const float *x, tl_size n, tl_gelu_mode mode) {
    TL_ACT_CHECK_BACKWARD("tl_gelu_backward", dx, dy, x, n);
    TL_CHECK_GELU_MODE("tl_gelu_backward", mode);
    if (mode == TL_GELU_TANH) {
        #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
        for (tl_size i = 0; i < n; i++) {
            const float v = x[i], s = tl_gelu_tanh_gate(v);
            const float du = 2.0f * TL_SQRT_2_OVER_PI * (1.0f + 3.0f * TL_GELU_CUBIC * v * v);
            dx[i] = dy[i] * (s + v * s * (1.0f - s) * du);
        }
    } else {
        #pragma omp parallel for schedule(static) if (n > TL_ACT_PAR_MIN / 8)
        for (tl_size i = 0; i < n; i++) {
            const float v = x[i];
            const float cdf = 0.5f * erfcf(-v * TL_INV_SQRT_2);
            const float pdf = TL_INV_SQRT_2PI * expf(-0.5f * v * v);
            dx[i] = dy[i] * (cdf + v * pdf);
        }
    }
    return TL_OK;
}

int tl_sigmoid_forward(float *y, const float *x, tl_size n) {
    TL_ACT_CHECK_UNARY("tl_sigmoid_forward", y, x, n);
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] = tl_sigmoidf(x[i]);
    return TL_OK;
}

int tl_sigmoid_backward(float *dx, const float *dy, const float *y, tl_size n) {
    TL_ACT_CHECK_BACKWARD("tl_sigmoid_backward", dx, dy, y, n);
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
    return TL_OK;
}

int tl_tanh_forward(float *y, const float *x, tl_size n) {
    TL_ACT_CHECK_UNARY("tl_tanh_forward", y, x, n);
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] = tl_tanhf(x[i]);
    return TL_OK;
}

int tl_tanh_backward(float *dx, const float *dy, const float *y, tl_size n) {
    TL_ACT_CHECK_BACKWARD("tl_tanh_backward", dx, dy, y, n);
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    return TL_OK;
}

/* ---- softmax and log-softmax over the middle axis of (outer, axis, inner) ----
   inner == 1 (the usual (rows, classes) case): one task per row, reductions in 8 independent lanes
   combined in a fixed order. inner > 1: one task per (outer, tile of TL_SOFTMAX_TILE inner positions),
   the axis walked with unit-stride loads across the tile. Either way every output depends only on
   its own row or tile, so the result does not depend on the number of threads. */

#define TL_SOFTMAX_TILE 256
#define TL_LANES 8

typedef enum { TL_SM_SOFTMAX, TL_SM_LOG_SOFTMAX } tl_sm_kind;

static float tl_row_max(const float *x, tl_size n) {
    float m[TL_LANES];
    for (int l = 0; l < TL_LANES; l++) m[l] = -INFINITY;
    tl_size i = 0;
    for (; i + TL_LANES <= n; i += TL_LANES)
        for (int l = 0; l < TL_LANES; l++) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    float r = m[0];
    for (int l = 1; l < TL_LANES; l++) r = m[l] > r ? m[l] : r;
    return r;
}

static float tl_lanes_total(const float s[TL_LANES]) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* One contiguous row: y = softmax(x) or log_softmax(x). y == x allowed. */
static void tl_softmax_row(float *y, const float *x, tl_size n, tl_sm_kind kind) {
    const float m = tl_row_max(x, n);
    float s[TL_LANES] = {0};
    tl_size i = 0;
    if (kind == TL_SM_SOFTMAX) {
        for (; i + TL_LANES <= n; i += TL_LANES)
            for (int l = 0; l < TL_LANES; l++) { const float e = tl_expf(x[i + l] - m); y[i + l] = e; s[l] += e; }
        for (; i < n; i++) { const float e = tl_expf(x[i] - m); y[i] = e; s[0] += e; }
        const float r = 1.0f / tl_lanes_total(s);
        for (i = 0; i < n; i++) y[i] *= r;
    } else {
        for (; i + TL_LANES <= n; i += TL_LANES)
            for (int l = 0; l < TL_LANES; l++) s[l] += tl_expf(x[i + l] - m);
        for (; i < n; i++) s[0] += tl_expf(x[i] - m);
        /* (x - m) is exact for x near m; adding m and log(sum) first would round at the scale of m. */
        const float ls = logf(tl_lanes_total(s));
        for (i = 0; i < n; i++) y[i] = (x[i] - m) - ls;
    }
}

/* A tile of `width` <= TL_SOFTMAX_TILE columns of an (axis, inner) slab with row stride `inner`. */
static void tl_softmax_tile(float *y, const float *x, tl_size axis, tl_size inner, tl_size width, tl_sm_kind kind) {
    float m[TL_SOFTMAX_TILE], s[TL_SOFTMAX_TILE];
    for (tl_size j = 0; j < width; j++) { m[j] = -INFINITY; s[j] = 0.0f; }
    for (tl_size a = 0; a < axis; a++) {
        const float *xa = x + a * inner;
        for (tl_size j = 0; j < width; j++) m[j] = xa[j] > m[j] ? xa[j] : m[j];
    }
    if (kind == TL_SM_SOFTMAX) {
        for (tl_size a = 0; a < axis; a++) {
            const float *xa = x + a * inner;
            float *ya = y + a * inner;
            for (tl_size j = 0; j < width; j++) { const float e = tl_expf(xa[j] - m[j]); ya[j] = e; s[j] += e; }
        }
        for (tl_size j = 0; j < width; j++) s[j] = 1.0f / s[j];
        for (tl_size a = 0; a < axis; a++) {
            float *ya = y + a * inner;
            for (tl_size j = 0; j < width; j++) ya[j] *= s[j];
        }
    } else {
        for (tl_size a = 0; a < axis; a++) {
            const float *xa = x + a * inner;
            for (tl_size j = 0; j < width; j++) s[j] += tl_expf(xa[j] - m[j]);
        }
        for (tl_size j = 0; j < width; j++) s[j] = logf(s[j]);
        for (tl_size a = 0; a < axis; a++) {
            const float *xa = x + a * inner;
            float *ya = y + a * inner;
            for (tl_size j = 0; j < width; j++) ya[j] = (xa[j] - m[j]) - s[j];
        }
    }
}

/* One contiguous row of the backward: softmax dx = y (dy - sum(dy y)); log-softmax dx = dy - exp(y) sum(dy). */
static void tl_softmax_row_backward(float *dx, const float *dy, const float *y, tl_size n, tl_sm_kind kind) {
    float s[TL_LANES] = {0};
    tl_size i = 0;
    if (kind == TL_SM_SOFTMAX) {
        for (; i + TL_LANES <= n; i += TL_LANES)
            for (int l = 0; l < TL_LANES; l++) s[l] += dy[i + l] * y[i + l];
        for (; i < n; i++) s[0] += dy[i] * y[i];
        const float t = tl_lanes_total(s);
        for (i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - t);
    } else {
        for (; i + TL_LANES <= n; i += TL_LANES)
            for (int l = 0; l < TL_LANES; l++) s[l] += dy[i + l];
        for (; i < n; i++) s[0] += dy[i];
        const float t = tl_lanes_total(s);
        for (i = 0; i < n; i++) dx[i] = dy[i] - tl_expf(y[i]) * t;
    }
}

static void tl_softmax_tile_backward(float *dx, const float *dy, const float *y, tl_size axis, tl_size inner,
                                     tl_size width, tl_sm_kind kind) {
    float s[TL_SOFTMAX_TILE];
    for (tl_size j = 0; j < width; j++) s[j] = 0.0f;
    for (tl_size a = 0; a < axis; a++) {
        const float *dya = dy + a * inner, *ya = y + a * inner;
        if (kind == TL_SM_SOFTMAX) for (tl_size j = 0; j < width; j++) s[j] += dya[j] * ya[j];
        else for (tl_size j = 0; j < width; j++) s[j] += dya[j];
    }
    for (tl_size a = 0; a < axis; a++) {
        const float *dya = dy + a * inner, *ya = y + a * inner;
        float *dxa = dx + a * inner;
        if (kind == TL_SM_SOFTMAX) for (tl_size j = 0; j < width; j++) dxa[j] = ya[j] * (dya[j] - s[j]);
        else for (tl_size j = 0; j < width; j++) dxa[j] = dya[j] - tl_expf(ya[j]) * s[j];
    }
}

#define TL_SOFTMAX_CHECK_SIZES(fn, outer, axis, inner) \
    TL_CHECK_NONNEG(fn, outer); TL_CHECK_POS(fn, axis); TL_CHECK_NONNEG(fn, inner)

static void tl_softmax_run(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner, tl_sm_kind kind) {
    const tl_size tiles = (inner + TL_SOFTMAX_TILE - 1) / TL_SOFTMAX_TILE, tasks = outer * tiles;
    const int parallel = outer * axis * inner > TL_ACT_PAR_MIN / 4 && tasks > 1;
    #pragma omp parallel for schedule(static) if (parallel)
    for (tl_size t = 0; t < tasks; t++) {
        const tl_size o = t / tiles, j0 = (t % tiles) * TL_SOFTMAX_TILE;
        const tl_size off = o * axis * inner + j0;
        if (inner == 1) tl_softmax_row(y + off, x + off, axis, kind);
        else tl_softmax_tile(y + off, x + off, axis, inner, inner - j0 < TL_SOFTMAX_TILE ? inner - j0 : TL_SOFTMAX_TILE, kind);
    }
}

static void tl_softmax_run_backward(float *dx, const float *dy, const float *y, tl_size outer, tl_size axis,
                                    tl_size inner, tl_sm_kind kind) {
    const tl_size tiles = (inner + TL_SOFTMAX_TILE - 1) / TL_SOFTMAX_TILE, tasks = outer * tiles;
    const int parallel = outer * axis * inner > TL_ACT_PAR_MIN / 4 && tasks > 1;
    #pragma omp parallel for schedule(static) if (parallel)
    for (tl_size t = 0; t < tasks; t++) {
        const tl_size o = t / tiles, j0 = (t % tiles) * TL_SOFTMAX_TILE;
        const tl_size off = o * axis * inner + j0;
        if (inner == 1) tl_softmax_row_backward(dx + off, dy + off, y + off, axis, kind);
        else tl_softmax_tile_backward(dx + off, dy + off, y + off, axis, inner,
                                      inner - j0 < TL_SOFTMAX_TILE ? inner - j0 : TL_SOFTMAX_TILE, kind);
    }
}

int tl_softmax_forward(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner) {
    TL_CHECK_PTR("tl_softmax_forward", y); TL_CHECK_PTR("tl_softmax_forward", x);
    TL_SOFTMAX_CHECK_SIZES("tl_softmax_forward", outer, axis, inner);
    tl_softmax_run(y, x, outer, axis, inner, TL_SM_SOFTMAX);
    return TL_OK;
}

int tl_softmax_backward(float *dx, const float *dy, const float *y, tl_size outer, tl_size axis, tl_size inner) {
    TL_ACT_CHECK_BACKWARD("tl_softmax_backward", dx, dy, y, outer);
    TL_SOFTMAX_CHECK_SIZES("tl_softmax_backward", outer, axis, inner);
    tl_softmax_run_backward(dx, dy, y, outer, axis, inner, TL_SM_SOFTMAX);
    return TL_OK;
}

int tl_log_softmax_forward(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner) {
    TL_CHECK_PTR("tl_log_softmax_forward", y); TL_CHECK_PTR("tl_log_softmax_forward", x);
    TL_SOFTMAX_CHECK_SIZES("tl_log_softmax_forward", outer, axis, inner);
    tl_softmax_run(y, x, outer, axis, inner, TL_SM_LOG_SOFTMAX);
    return TL_OK;
}

int tl_log_softmax_backward(float *dx, const float *dy, const float *y, tl_size outer, tl_size axis, tl_size inner) {
    TL_ACT_CHECK_BACKWARD("tl_log_softmax_backward", dx, dy, y, outer);
    TL_SOFTMAX_CHECK_SIZES("tl_log_softmax_backward", outer, axis, inner);
    tl_softmax_run_backward(dx, dy, y, outer, axis, inner, TL_SM_LOG_SOFTMAX);
    return TL_OK;
}

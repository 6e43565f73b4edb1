/* Activations. Element-wise loops are `omp simd`: besides vectorising, that asserts that in-place
   calls (y == x) are safe (a runtime alias check would send them to the scalar loop). exp, sigmoid and
   tanh use the branch-free approximations below so that the loops vectorise.
   The exp-bound kernels (sigmoid, tanh, GELU-tanh, softmax, log-softmax) are compute-bound, not
   memory-bound, so each is compiled twice from one source: for the build's baseline (x86-64-v3,
   AVX2) and, through a target attribute, for AVX-512, chosen at run time when the CPU has it (about
   1.7x on this machine's Zen 5). TL_ISA=avx2 (or portable) in the environment forces the baseline (the
   tests use it to cover both; see tl_cpu.h). Element-wise results are the same on both paths (the same operations
   per lane); softmax sums are grouped by vector width, so the two paths may differ in the last bits.
   The exact GELU needs erfc: glibc >= 2.35 exports an 8-lane AVX2 erfcf in libmvec (the x86-64
   vector function ABI, pulled in by -lm), used when available; otherwise libm's scalar erfcf. */
#include "tl_internal.h"
#include "tl_fastmath.h"
#include "../include/tl_act.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#if defined(__AVX2__) && defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define TL_ACT_MVEC_ERFC 1
/* libmvec's erfcf on 8 lanes (glibc's test ulps: a few ulp). */
__m256 _ZGVdN8v_erfcf(__m256 x);
#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define TL_ACT_AVX512 1
#define TL_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw")))
#endif

/* Below this many elements a second thread costs more than it saves. */
#define TL_ACT_PAR_MIN 65536

TL_ALWAYS_INLINE float tl_sigmoidf(float x) { return 1.0f / (1.0f + tl_expf(-x)); }

/* tanh: odd polynomial near 0 (where 1 - 2/(e^2a + 1) would cancel), the exp form elsewhere (Cephes tanhf). */
TL_ALWAYS_INLINE float tl_tanhf(float x) {
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
TL_ALWAYS_INLINE float tl_gelu_tanh_gate(float x) {
    return tl_sigmoidf(2.0f * TL_SQRT_2_OVER_PI * (x + TL_GELU_CUBIC * x * x * x));
}

/* dGELU-tanh/dx: with s = sigmoid(2u), gelu = x s and ds/dx = 2 s (1 - s) du/dx. */
TL_ALWAYS_INLINE float tl_gelu_tanh_grad(float v) {
    const float s = tl_gelu_tanh_gate(v);
    const float du = 2.0f * TL_SQRT_2_OVER_PI * (1.0f + 3.0f * TL_GELU_CUBIC * v * v);
    return s + v * s * (1.0f - s) * du;
}

/* ---- element-wise maps with an AVX-512 variant ----
   TL_MAP(name, expr) defines name_base and name_avx512: out[i] = expr over a[i] (and b[i] when the map
   takes a second input), as an omp simd loop; TL_PICK(name) chooses one at run time. tl_map_run splits
   n into fixed chunks over the threads; every element gets the same operations wherever it falls. */
typedef void (*tl_map_fn)(float *out, const float *a, const float *b, tl_size n);

#ifdef TL_ACT_AVX512
#define TL_MAP_AVX512(name, expr) \
    TL_TARGET_AVX512 static void name##_avx512(float *out, const float *a, const float *b, tl_size n) { \
        (void)b; \
        _Pragma("omp simd") for (tl_size i = 0; i < n; i++) out[i] = (expr); \
    }
#define TL_PICK(name) (tl_kernels_use_avx512() ? name##_avx512 : name##_base)
#else
#define TL_MAP_AVX512(name, expr)
#define TL_PICK(name) (name##_base)
#endif

#define TL_MAP(name, expr) \
    static void name##_base(float *out, const float *a, const float *b, tl_size n) { \
        (void)b; \
        _Pragma("omp simd") for (tl_size i = 0; i < n; i++) out[i] = (expr); \
    } \
    TL_MAP_AVX512(name, expr)

TL_MAP(tl_map_sigmoid, tl_sigmoidf(a[i]))
TL_MAP(tl_map_tanh, tl_tanhf(a[i]))
TL_MAP(tl_map_gelu_tanh, a[i] * tl_gelu_tanh_gate(a[i]))
/* a = dy, b = x. */
TL_MAP(tl_map_gelu_tanh_grad, a[i] * tl_gelu_tanh_grad(b[i]))

#define TL_ACT_CHUNK 16384

static void tl_map_run(tl_map_fn f, float *out, const float *a, const float *b, tl_size n) {
    const tl_size chunks = (n + TL_ACT_CHUNK - 1) / TL_ACT_CHUNK;
    #pragma omp parallel for schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size c = 0; c < chunks; c++) {
        const tl_size i0 = c * TL_ACT_CHUNK, len = n - i0 < TL_ACT_CHUNK ? n - i0 : TL_ACT_CHUNK;
        f(out + i0, a + i0, b ? b + i0 : NULL, len);
    }
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

/* Exact GELU on exactly 8 values: Phi(x) = erfc(-x / sqrt 2) / 2 stays accurate in the far negative
   tail, where 1 + erf(x / sqrt 2) cancels. The callers run every element through these 8-lane
   helpers (a short tail block goes through a zero-padded copy), so results do not depend on where
   thread chunks start. */
static inline void tl_gelu_erf8(float *y, const float *x) {
#ifdef TL_ACT_MVEC_ERFC
    const __m256 v = _mm256_loadu_ps(x);
    const __m256 e = _ZGVdN8v_erfcf(_mm256_mul_ps(v, _mm256_set1_ps(-TL_INV_SQRT_2)));
    _mm256_storeu_ps(y, _mm256_mul_ps(v, _mm256_mul_ps(e, _mm256_set1_ps(0.5f))));
#else
    for (int l = 0; l < 8; l++) y[l] = x[l] * (0.5f * erfcf(-x[l] * TL_INV_SQRT_2));
#endif
}

/* dx = dy (Phi(x) + x phi(x)) on exactly 8 values; dx == dy allowed. */
static inline void tl_gelu_erf_grad8(float *dx, const float *dy, const float *x) {
    float cdf[8];
#ifdef TL_ACT_MVEC_ERFC
    const __m256 e = _ZGVdN8v_erfcf(_mm256_mul_ps(_mm256_loadu_ps(x), _mm256_set1_ps(-TL_INV_SQRT_2)));
    _mm256_storeu_ps(cdf, _mm256_mul_ps(e, _mm256_set1_ps(0.5f)));
#else
    for (int l = 0; l < 8; l++) cdf[l] = 0.5f * erfcf(-x[l] * TL_INV_SQRT_2);
#endif
    for (int l = 0; l < 8; l++) dx[l] = dy[l] * (cdf[l] + x[l] * TL_INV_SQRT_2PI * tl_expf(-0.5f * x[l] * x[l]));
}

int tl_gelu_forward(float *y, const float *x, tl_size n, tl_gelu_mode mode) {
    TL_ACT_CHECK_UNARY("tl_gelu_forward", y, x, n);
    TL_CHECK_GELU_MODE("tl_gelu_forward", mode);
    if (mode == TL_GELU_TANH) {
        tl_map_run(TL_PICK(tl_map_gelu_tanh), y, x, NULL, n);
        return TL_OK;
    }
    const tl_size full = n / 8;
    #pragma omp parallel for schedule(static) if (n > TL_ACT_PAR_MIN / 4)
    for (tl_size b = 0; b < full; b++) tl_gelu_erf8(y + 8 * b, x + 8 * b);
    if (n > 8 * full) {
        float xt[8] = {0}, yt[8];
        memcpy(xt, x + 8 * full, (size_t)(n - 8 * full) * sizeof(float));
        tl_gelu_erf8(yt, xt);
        memcpy(y + 8 * full, yt, (size_t)(n - 8 * full) * sizeof(float));
    }
    return TL_OK;
}

int tl_gelu_backward(float *dx, const float *dy, const float *x, tl_size n, tl_gelu_mode mode) {
    TL_ACT_CHECK_BACKWARD("tl_gelu_backward", dx, dy, x, n);
    TL_CHECK_GELU_MODE("tl_gelu_backward", mode);
    if (mode == TL_GELU_TANH) {
        tl_map_run(TL_PICK(tl_map_gelu_tanh_grad), dx, dy, x, n);
        return TL_OK;
    }
    const tl_size full = n / 8;
    #pragma omp parallel for schedule(static) if (n > TL_ACT_PAR_MIN / 4)
    for (tl_size b = 0; b < full; b++) tl_gelu_erf_grad8(dx + 8 * b, dy + 8 * b, x + 8 * b);
    if (n > 8 * full) {
        const size_t rest = (size_t)(n - 8 * full) * sizeof(float);
        float xt[8] = {0}, gt[8] = {0};
        memcpy(xt, x + 8 * full, rest);
        memcpy(gt, dy + 8 * full, rest);
        tl_gelu_erf_grad8(gt, gt, xt);
        memcpy(dx + 8 * full, gt, rest);
    }
    return TL_OK;
}

int tl_sigmoid_forward(float *y, const float *x, tl_size n) {
    TL_ACT_CHECK_UNARY("tl_sigmoid_forward", y, x, n);
    tl_map_run(TL_PICK(tl_map_sigmoid), y, x, NULL, n);
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
    tl_map_run(TL_PICK(tl_map_tanh), y, x, NULL, n);
    return TL_OK;
}

int tl_tanh_backward(float *dx, const float *dy, const float *y, tl_size n) {
    TL_ACT_CHECK_BACKWARD("tl_tanh_backward", dx, dy, y, n);
    #pragma omp parallel for simd schedule(static) if (n > TL_ACT_PAR_MIN)
    for (tl_size i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    return TL_OK;
}

/* ---- softmax and log-softmax over the middle axis of (outer, axis, inner) ----
   inner == 1 (the usual (rows, classes) case): one task per row; its sums are omp simd reductions
   and its max runs in fixed lanes, groupings fixed by the compiled code. inner > 1: one task per (outer, tile of
   TL_SOFTMAX_TILE inner positions), the axis walked with unit-stride loads across the tile. Either way
   every output depends only on its own row or tile, so the result does not depend on the number of
   threads. The task bodies are always inlined into a baseline and an AVX-512 instance. */

#define TL_SOFTMAX_TILE 256

typedef enum { TL_SM_SOFTMAX, TL_SM_LOG_SOFTMAX } tl_sm_kind;

/* sum of exp(x[i] - m) over a row, also storing each exp to y when store != 0. */
TL_ALWAYS_INLINE float tl_exp_sum(float *y, const float *x, tl_size n, float m, int store) {
    float sum = 0.0f;
    if (store) {
        #pragma omp simd reduction(+ : sum)
        for (tl_size i = 0; i < n; i++) {
            const float e = tl_expf(x[i] - m);
            y[i] = e;
            sum += e;
        }
    } else {
        #pragma omp simd reduction(+ : sum)
        for (tl_size i = 0; i < n; i++) sum += tl_expf(x[i] - m);
    }
    return sum;
}

/* Max of a row over four independent 8-lane accumulators; `a > b ? a : b` per lane is one max
   instruction (NaN is skipped here; it still propagates through exp). A plain reduction loop compiled
   to one dependent chain of NaN-aware max/compare/blend, and the lane-array form to 2-wide vectors,
   each costing a quarter of the softmax; hence the intrinsics. */
TL_ALWAYS_INLINE float tl_row_max(const float *x, tl_size n) {
    tl_size i = 0;
    float m = -INFINITY;
#if defined(__AVX2__)
    if (n >= 32) {
        __m256 a = _mm256_set1_ps(-INFINITY), b = a, c = a, d = a;
        for (; i + 32 <= n; i += 32) {
            a = _mm256_max_ps(_mm256_loadu_ps(x + i), a);
            b = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), b);
            c = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), c);
            d = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), d);
        }
        float l[8];
        _mm256_storeu_ps(l, _mm256_max_ps(_mm256_max_ps(a, b), _mm256_max_ps(c, d)));
        for (int k = 0; k < 8; k++) m = l[k] > m ? l[k] : m;
    }
#endif
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* One contiguous row: y = softmax(x) or log_softmax(x). y == x allowed. */
TL_ALWAYS_INLINE void tl_softmax_row(float *y, const float *x, tl_size n, tl_sm_kind kind) {
    const float m = tl_row_max(x, n);
    if (kind == TL_SM_SOFTMAX) {
        const float r = 1.0f / tl_exp_sum(y, x, n, m, 1);
        #pragma omp simd
        for (tl_size i = 0; i < n; i++) y[i] *= r;
    } else {
        /* (x - m) is exact for x near m; adding m and log(sum) first would round at the scale of m. */
        const float ls = logf(tl_exp_sum(NULL, x, n, m, 0));
        #pragma omp simd
        for (tl_size i = 0; i < n; i++) y[i] = (x[i] - m) - ls;
    }
}

/* A tile of `width` <= TL_SOFTMAX_TILE columns of an (axis, inner) slab with row stride `inner`. */
TL_ALWAYS_INLINE void tl_softmax_tile(float *y, const float *x, tl_size axis, tl_size inner, tl_size width, tl_sm_kind kind) {
    float m[TL_SOFTMAX_TILE], s[TL_SOFTMAX_TILE];
    for (tl_size j = 0; j < width; j++) { m[j] = -INFINITY; s[j] = 0.0f; }
    for (tl_size a = 0; a < axis; a++) {
        const float *xa = x + a * inner;
        #pragma omp simd
        for (tl_size j = 0; j < width; j++) m[j] = xa[j] > m[j] ? xa[j] : m[j];
    }
    if (kind == TL_SM_SOFTMAX) {
        for (tl_size a = 0; a < axis; a++) {
            const float *xa = x + a * inner;
            float *ya = y + a * inner;
            #pragma omp simd
            for (tl_size j = 0; j < width; j++) { const float e = tl_expf(xa[j] - m[j]); ya[j] = e; s[j] += e; }
        }
        for (tl_size j = 0; j < width; j++) s[j] = 1.0f / s[j];
        for (tl_size a = 0; a < axis; a++) {
            float *ya = y + a * inner;
            #pragma omp simd
            for (tl_size j = 0; j < width; j++) ya[j] *= s[j];
        }
    } else {
        for (tl_size a = 0; a < axis; a++) {
            const float *xa = x + a * inner;
            #pragma omp simd
            for (tl_size j = 0; j < width; j++) s[j] += tl_expf(xa[j] - m[j]);
        }
        for (tl_size j = 0; j < width; j++) s[j] = logf(s[j]);
        for (tl_size a = 0; a < axis; a++) {
            const float *xa = x + a * inner;
            float *ya = y + a * inner;
            #pragma omp simd
            for (tl_size j = 0; j < width; j++) ya[j] = (xa[j] - m[j]) - s[j];
        }
    }
}

/* One contiguous row of the backward: softmax dx = y (dy - sum(dy y)); log-softmax dx = dy - exp(y) sum(dy). */
TL_ALWAYS_INLINE void tl_softmax_row_backward(float *dx, const float *dy, const float *y, tl_size n, tl_sm_kind kind) {
    float t = 0.0f;
    if (kind == TL_SM_SOFTMAX) {
        #pragma omp simd reduction(+ : t)
        for (tl_size i = 0; i < n; i++) t += dy[i] * y[i];
        #pragma omp simd
        for (tl_size i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - t);
    } else {
        #pragma omp simd reduction(+ : t)
        for (tl_size i = 0; i < n; i++) t += dy[i];
        #pragma omp simd
        for (tl_size i = 0; i < n; i++) dx[i] = dy[i] - tl_expf(y[i]) * t;
    }
}

TL_ALWAYS_INLINE void tl_softmax_tile_backward(float *dx, const float *dy, const float *y, tl_size axis, tl_size inner,
                                               tl_size width, tl_sm_kind kind) {
    float s[TL_SOFTMAX_TILE];
    for (tl_size j = 0; j < width; j++) s[j] = 0.0f;
    for (tl_size a = 0; a < axis; a++) {
        const float *dya = dy + a * inner, *ya = y + a * inner;
        if (kind == TL_SM_SOFTMAX) {
            #pragma omp simd
            for (tl_size j = 0; j < width; j++) s[j] += dya[j] * ya[j];
        } else {
            #pragma omp simd
            for (tl_size j = 0; j < width; j++) s[j] += dya[j];
        }
    }
    for (tl_size a = 0; a < axis; a++) {
        const float *dya = dy + a * inner, *ya = y + a * inner;
        float *dxa = dx + a * inner;
        if (kind == TL_SM_SOFTMAX) {
            #pragma omp simd
            for (tl_size j = 0; j < width; j++) dxa[j] = ya[j] * (dya[j] - s[j]);
        } else {
            #pragma omp simd
            for (tl_size j = 0; j < width; j++) dxa[j] = dya[j] - tl_expf(ya[j]) * s[j];
        }
    }
}

/* One task: a row (inner == 1) or a tile of width columns. For the backward, dy is the gradient. */
TL_ALWAYS_INLINE void tl_softmax_task(float *out, const float *in, const float *y, tl_size axis, tl_size inner,
                                      tl_size width, tl_sm_kind kind, int backward) {
    if (!backward) {
        if (inner == 1) tl_softmax_row(out, in, axis, kind);
        else tl_softmax_tile(out, in, axis, inner, width, kind);
    } else {
        if (inner == 1) tl_softmax_row_backward(out, in, y, axis, kind);
        else tl_softmax_tile_backward(out, in, y, axis, inner, width, kind);
    }
}

typedef void (*tl_softmax_fn)(float *, const float *, const float *, tl_size, tl_size, tl_size, tl_sm_kind, int);

static void tl_softmax_task_base(float *out, const float *in, const float *y, tl_size axis, tl_size inner, tl_size width,
                                 tl_sm_kind kind, int backward) {
    tl_softmax_task(out, in, y, axis, inner, width, kind, backward);
}

#ifdef TL_ACT_AVX512
TL_TARGET_AVX512 static void tl_softmax_task_avx512(float *out, const float *in, const float *y, tl_size axis, tl_size inner,
                                                    tl_size width, tl_sm_kind kind, int backward) {
    tl_softmax_task(out, in, y, axis, inner, width, kind, backward);
}
#endif

#define TL_SOFTMAX_CHECK_SIZES(fn, outer, axis, inner) \
    TL_CHECK_NONNEG(fn, outer); TL_CHECK_POS(fn, axis); TL_CHECK_NONNEG(fn, inner)

/* out = softmax / log-softmax of in (forward), or its input gradient from dy = in and y (backward). */
static void tl_softmax_run(float *out, const float *in, const float *y, tl_size outer, tl_size axis, tl_size inner,
                           tl_sm_kind kind, int backward) {
    const tl_softmax_fn f = TL_PICK(tl_softmax_task);
    const tl_size tiles = (inner + TL_SOFTMAX_TILE - 1) / TL_SOFTMAX_TILE, tasks = outer * tiles;
    const int parallel = outer * axis * inner > TL_ACT_PAR_MIN / 4 && tasks > 1;
    #pragma omp parallel for schedule(static) if (parallel)
    for (tl_size t = 0; t < tasks; t++) {
        const tl_size o = t / tiles, j0 = (t % tiles) * TL_SOFTMAX_TILE;
        const tl_size off = o * axis * inner + j0;
        const tl_size width = inner - j0 < TL_SOFTMAX_TILE ? inner - j0 : TL_SOFTMAX_TILE;
        f(out + off, in + off, y ? y + off : NULL, axis, inner, width, kind, backward);
    }
}

int tl_softmax_forward(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner) {
    TL_CHECK_PTR("tl_softmax_forward", y); TL_CHECK_PTR("tl_softmax_forward", x);
    TL_SOFTMAX_CHECK_SIZES("tl_softmax_forward", outer, axis, inner);
    tl_softmax_run(y, x, NULL, outer, axis, inner, TL_SM_SOFTMAX, 0);
    return TL_OK;
}

int tl_softmax_backward(float *dx, const float *dy, const float *y, tl_size outer, tl_size axis, tl_size inner) {
    TL_ACT_CHECK_BACKWARD("tl_softmax_backward", dx, dy, y, outer);
    TL_SOFTMAX_CHECK_SIZES("tl_softmax_backward", outer, axis, inner);
    tl_softmax_run(dx, dy, y, outer, axis, inner, TL_SM_SOFTMAX, 1);
    return TL_OK;
}

int tl_log_softmax_forward(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner) {
    TL_CHECK_PTR("tl_log_softmax_forward", y); TL_CHECK_PTR("tl_log_softmax_forward", x);
    TL_SOFTMAX_CHECK_SIZES("tl_log_softmax_forward", outer, axis, inner);
    tl_softmax_run(y, x, NULL, outer, axis, inner, TL_SM_LOG_SOFTMAX, 0);
    return TL_OK;
}

int tl_log_softmax_backward(float *dx, const float *dy, const float *y, tl_size outer, tl_size axis, tl_size inner) {
    TL_ACT_CHECK_BACKWARD("tl_log_softmax_backward", dx, dy, y, outer);
    TL_SOFTMAX_CHECK_SIZES("tl_log_softmax_backward", outer, axis, inner);
    tl_softmax_run(dx, dy, y, outer, axis, inner, TL_SM_LOG_SOFTMAX, 1);
    return TL_OK;
}

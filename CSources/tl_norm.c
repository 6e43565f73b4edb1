/* Batch, layer and group normalisation.
   Every per-channel or per-group statistic is a sum of per-piece partial sums: one piece per (n, c)
   plane of S values, or, when S == 1, one piece per block of rows (the block split depends only on the
   row count). Pieces are summed in double around a shift taken from the data, by 16 independent lanes
   (vectorisable without reassociation), and combined in a fixed order after the parallel loop, so the
   results are bitwise independent of the thread count. Apply passes are `omp simd` so in-place calls
   stay vectorised. */
#include "tl_internal.h"
#include "../include/tl_norm.h"

#include <math.h>
#include <string.h>

/* Below this many elements a second thread costs more than it saves. */
#define TL_NORM_PAR_MIN 32768
/* Reductions across rows (S == 1 batch norm, layer-norm parameter gradients) use at most this many
   row blocks: enough to balance any thread count up to it, few enough for a small scratch. */
#define TL_NORM_ROW_BLOCKS 64
/* Layer-norm parameter gradients: rows summed in float before they are added in double. */
#define TL_LN_FLUSH 32

/* ---- scratch ---- */

static __thread double *tl_norm_scratch_buf;
static __thread size_t tl_norm_scratch_len;

/* A grow-only per-thread buffer of `count` doubles (NULL when out of memory); valid until the next call. */
static double *tl_norm_scratch(size_t count) {
    if (count > tl_norm_scratch_len) {
        const size_t len = count + count / 2 + 64;
        double *p = (double *)tl_alloc(len * sizeof *p);
        if (p == NULL) return NULL;
        tl_free(tl_norm_scratch_buf);
        tl_norm_scratch_buf = p;
        tl_norm_scratch_len = len;
    }
    return tl_norm_scratch_buf;
}

#define TL_NORM_SCRATCH(fn, var, count) \
    double *var = tl_norm_scratch(count); \
    if (var == NULL) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: no memory for %zu doubles of scratch", fn, (size_t)(count))

/* ---- reductions ----
   Two kinds of sums, both in double over 16 lanes (lane l takes elements i with i % 16 == l, the tail
   goes to lane 0) combined in a fixed tree:
     variance: s0 = sum (u - c),      s1 = sum (u - c)^2              (c: a shift taken from the data)
     gradient: s0 = sum u w,          s1 = sum u w (v - c)           (u = dy, w = gamma or NULL, v = x, c = mean)
   The AVX2 versions exist because the compilers turned the portable lane loops into 128-bit code that
   spilled its accumulators; both versions add in the same order. */

#define TL_NLANES 16

typedef enum { TL_SUM_VARIANCE, TL_SUM_GRADIENT } tl_sum_kind;

static inline double tl_lanes_sum(const double *a) {
    double s[4];
    for (int k = 0; k < 4; k++) s[k] = (a[k] + a[k + 4]) + (a[k + 8] + a[k + 12]);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* Four vectors of 4 doubles from 16 floats at p. */
static inline void tl_load16_pd(const float *p, __m256d out[4]) {
    const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    out[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(lo));
    out[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(lo, 1));
    out[2] = _mm256_cvtps_pd(_mm256_castps256_ps128(hi));
    out[3] = _mm256_cvtps_pd(_mm256_extractf128_ps(hi, 1));
}

static inline void tl_store_lanes(double *la, const __m256d a[4]) {
    for (int k = 0; k < 4; k++) _mm256_storeu_pd(la + 4 * k, a[k]);
}

/* Per lane over 16 values, in double: a += g, b += g (x - c). */
static inline void tl_accumulate16(__m256d a[4], __m256d b[4], const float *g, const float *x, __m256d vc) {
    __m256d gv[4], xv[4];
    tl_load16_pd(g, gv);
    tl_load16_pd(x, xv);
    for (int k = 0; k < 4; k++) {
        a[k] = _mm256_add_pd(a[k], gv[k]);
        b[k] = _mm256_fmadd_pd(gv[k], _mm256_sub_pd(xv[k], vc), b[k]);
    }
}
#endif

static inline void tl_sums(tl_sum_kind kind, double *s0, double *s1, const float *u, const float *w, const float *v,
                           double c, tl_size n) {
    double la[TL_NLANES] = {0}, lb[TL_NLANES] = {0};
    tl_size i = 0;
#if defined(__AVX2__) && defined(__FMA__)
    __m256d a[4], b[4], x[4];
    const __m256d vc = _mm256_set1_pd(c);
    for (int k = 0; k < 4; k++) { a[k] = _mm256_setzero_pd(); b[k] = _mm256_setzero_pd(); }
    if (kind == TL_SUM_VARIANCE) {
        for (; i + TL_NLANES <= n; i += TL_NLANES) {
            tl_load16_pd(u + i, x);
            for (int k = 0; k < 4; k++) {
                const __m256d d = _mm256_sub_pd(x[k], vc);
                a[k] = _mm256_add_pd(a[k], d);
                b[k] = _mm256_fmadd_pd(d, d, b[k]);
            }
        }
    } else {
        for (; i + TL_NLANES <= n; i += TL_NLANES) {
            float g[TL_NLANES];
            if (w) /* u * w rounds to float first, as in the scalar tail. */
                for (int l = 0; l < TL_NLANES; l++) g[l] = u[i + l] * w[i + l];
            tl_accumulate16(a, b, w ? g : u + i, v + i, vc);
        }
    }
    tl_store_lanes(la, a);
    tl_store_lanes(lb, b);
#else
    for (; i + TL_NLANES <= n; i += TL_NLANES)
        for (int l = 0; l < TL_NLANES; l++) {
            if (kind == TL_SUM_VARIANCE) {
                const double d = (double)u[i + l] - c;
                la[l] += d;
                lb[l] += d * d;
            } else {
                const double g = w ? (double)(u[i + l] * w[i + l]) : (double)u[i + l];
                la[l] += g;
                lb[l] += g * ((double)v[i + l] - c);
            }
        }
#endif
    for (; i < n; i++) {
        if (kind == TL_SUM_VARIANCE) {
            const double d = (double)u[i] - c;
            la[0] += d;
            lb[0] += d * d;
        } else {
            const double g = w ? (double)(u[i] * w[i]) : (double)u[i];
            la[0] += g;
            lb[0] += g * ((double)v[i] - c);
        }
    }
    *s0 = tl_lanes_sum(la);
    *s1 = tl_lanes_sum(lb);
}

/* ws[2p], ws[2p+1] = tl_sums over plane p of (P, S) for every plane: variance sums of x around shift[k],
   or gradient sums of dy against x - shift[k], where k = (p / div) % mod expresses per-channel
   (div 1, mod C) and per-group (div C/G, mod N*G) shifts. */
static void tl_plane_partials(double *ws, tl_sum_kind kind, const float *dy, const float *x, const float *shift,
                              tl_size P, tl_size S, tl_size div, tl_size mod) {
    #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
    for (tl_size p = 0; p < P; p++) {
        const double c = shift[(p / div) % mod];
        if (kind == TL_SUM_VARIANCE) tl_sums(kind, &ws[2 * p], &ws[2 * p + 1], x + p * S, NULL, NULL, c, S);
        else tl_sums(kind, &ws[2 * p], &ws[2 * p + 1], dy + p * S, NULL, x + p * S, c, S);
    }
}

/* Row block b of TL_NORM_ROW_BLOCKS-or-fewer blocks over R rows: [lo, hi). */
static inline tl_size tl_row_blocks(tl_size R) { return R < TL_NORM_ROW_BLOCKS ? R : TL_NORM_ROW_BLOCKS; }
static inline tl_size tl_block_start(tl_size b, tl_size R, tl_size nb) { return b * R / nb; }

/* Per-channel sums s0[c], s1[c] over (N, C, S) (variance sums of x around shift[c], or gradient sums of dy
   against x - shift[c]). ws holds tl_channel_ws doubles. */
static void tl_channel_sums(double *s0, double *s1, double *ws, tl_sum_kind kind, const float *dy, const float *x,
                            const float *shift, tl_size N, tl_size C, tl_size S) {
    if (S > 1) {
        tl_plane_partials(ws, kind, dy, x, shift, N * C, S, 1, C);
        for (tl_size c = 0; c < C; c++) { s0[c] = 0.0; s1[c] = 0.0; }
        for (tl_size n = 0; n < N; n++)
            for (tl_size c = 0; c < C; c++) { s0[c] += ws[2 * (n * C + c)]; s1[c] += ws[2 * (n * C + c) + 1]; }
        return;
    }
    /* (N, C) rows: each block accumulates whole rows, vectorised across channels. */
    const tl_size nb = tl_row_blocks(N);
    #pragma omp parallel for schedule(static) if (N * C > TL_NORM_PAR_MIN && nb > 1)
    for (tl_size b = 0; b < nb; b++) {
        double *a0 = ws + 2 * b * C, *a1 = a0 + C;
        for (tl_size c = 0; c < C; c++) { a0[c] = 0.0; a1[c] = 0.0; }
        for (tl_size n = tl_block_start(b, N, nb); n < tl_block_start(b + 1, N, nb); n++) {
            const float *xr = x + n * C;
            if (kind == TL_SUM_VARIANCE) {
                #pragma omp simd
                for (tl_size c = 0; c < C; c++) {
                    const double d = (double)xr[c] - (double)shift[c];
                    a0[c] += d;
                    a1[c] += d * d;
                }
            } else {
                const float *dyr = dy + n * C;
                #pragma omp simd
                for (tl_size c = 0; c < C; c++) {
                    a0[c] += (double)dyr[c];
                    a1[c] += (double)dyr[c] * ((double)xr[c] - (double)shift[c]);
                }
            }
        }
    }
    for (tl_size c = 0; c < C; c++) { s0[c] = 0.0; s1[c] = 0.0; }
    for (tl_size b = 0; b < nb; b++)
        for (tl_size c = 0; c < C; c++) { s0[c] += ws[2 * b * C + c]; s1[c] += ws[2 * b * C + C + c]; }
}

/* Doubles of scratch tl_channel_sums needs. */
static size_t tl_channel_ws(tl_size N, tl_size C, tl_size S) {
    return (size_t)(2 * (S > 1 ? N * C : tl_row_blocks(N) * C));
}

/* ---- apply passes over (N, C, S); coefficients indexed by plane p = n*C + c modulo `mod` (C: per
   channel, N*C: per plane) ---- */

/* y = a x + b (b NULL = 0). y == x allowed. */
static void tl_apply_affine(float *y, const float *x, const float *a, const float *b, tl_size N, tl_size C, tl_size S,
                            tl_size mod) {
    if (S == 1) {
        #pragma omp parallel for schedule(static) if (N * C > TL_NORM_PAR_MIN && N > 1)
        for (tl_size n = 0; n < N; n++) {
            const tl_size k0 = (n * C) % mod;
            const float *xr = x + n * C;
            float *yr = y + n * C;
            if (b) {
                #pragma omp simd
                for (tl_size c = 0; c < C; c++) yr[c] = xr[c] * a[k0 + c] + b[k0 + c];
            } else {
                #pragma omp simd
                for (tl_size c = 0; c < C; c++) yr[c] = xr[c] * a[k0 + c];
            }
        }
        return;
    }
    const tl_size P = N * C;
    #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
    for (tl_size p = 0; p < P; p++) {
        const float ap = a[p % mod], bp = b ? b[p % mod] : 0.0f;
        const float *xp = x + p * S;
        float *yp = y + p * S;
        #pragma omp simd
        for (tl_size s = 0; s < S; s++) yp[s] = xp[s] * ap + bp;
    }
}

/* dx = a dy + c1 (x - m) + c0: the input gradient of every normalisation here. dx == dy allowed. */
static void tl_apply_backward(float *dx, const float *dy, const float *x, const float *a, const float *c1,
                              const float *m, const float *c0, tl_size N, tl_size C, tl_size S, tl_size mod) {
    if (S == 1) {
        #pragma omp parallel for schedule(static) if (N * C > TL_NORM_PAR_MIN && N > 1)
        for (tl_size n = 0; n < N; n++) {
            const tl_size k0 = (n * C) % mod;
            const float *dyr = dy + n * C, *xr = x + n * C;
            float *dxr = dx + n * C;
            #pragma omp simd
            for (tl_size c = 0; c < C; c++)
                dxr[c] = a[k0 + c] * dyr[c] + c1[k0 + c] * (xr[c] - m[k0 + c]) + c0[k0 + c];
        }
        return;
    }
    const tl_size P = N * C;
    #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
    for (tl_size p = 0; p < P; p++) {
        const tl_size k = p % mod;
        const float ap = a[k], c1p = c1[k], mp = m[k], c0p = c0[k];
        const float *dyp = dy + p * S, *xp = x + p * S;
        float *dxp = dx + p * S;
        #pragma omp simd
        for (tl_size s = 0; s < S; s++) dxp[s] = ap * dyp[s] + c1p * (xp[s] - mp) + c0p;
    }
}

/* ---- argument checks ---- */

#define TL_CHECK_EPS(fn, eps) \
    TL_CHECK(fn, (eps) > 0.0f && isfinite(eps), "%s: eps must be finite and > 0, got %g", fn, (double)(eps))

static int tl_check_ncs(const char *fn, tl_size N, tl_size C, tl_size S) {
    TL_CHECK_POS(fn, N);
    TL_CHECK_POS(fn, C);
    TL_CHECK_POS(fn, S);
    return TL_OK;
}

/* ---- batch norm ---- */

/* The arguments every training-mode batch norm forward checks: buffers present, M = N*S >= 2 values per channel,
   momentum in [0, 1], eps. */
static int tl_check_train_forward(const char *fn, const float *y, const float *save_mean, const float *save_rstd,
                                  const float *x, tl_size M, float momentum, float eps) {
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, save_mean);
    TL_CHECK_PTR(fn, save_rstd);
    TL_CHECK_PTR(fn, x);
    TL_CHECK(fn, M >= 2, "%s: training statistics need N*S >= 2 values per channel, got %td", fn, M);
    TL_CHECK(fn, momentum >= 0.0f && momentum <= 1.0f, "%s: momentum must be in [0, 1], got %g", fn, (double)momentum);
    TL_CHECK_EPS(fn, eps);
    return TL_OK;
}

/* a = gamma rstd, b = beta - mean a (double, rounded once), from float statistics. */
static void tl_bn_fused_coefficients(float *a, float *b, const float *gamma, const float *beta, const float *mean,
                                     const float *rstd, tl_size C) {
    for (tl_size c = 0; c < C; c++) {
        const double ac = (gamma ? (double)gamma[c] : 1.0) * (double)rstd[c];
        a[c] = (float)ac;
        if (b) b[c] = (float)((beta ? (double)beta[c] : 0.0) - (double)mean[c] * ac);
    }
}

/* Batch statistics of x into save_mean / save_rstd (floats) and the running averages (unbiased variance);
   part holds tl_channel_ws doubles, s0, s1 and shift 2C doubles + C floats. */
static void tl_bn_batch_stats(float *save_mean, float *save_rstd, float *running_mean, float *running_var,
                              const float *x, double *s0, double *s1, float *shift, double *part, tl_size N, tl_size C,
                              tl_size S, float momentum, float eps) {
    for (tl_size c = 0; c < C; c++) shift[c] = x[c * S];
    tl_channel_sums(s0, s1, part, TL_SUM_VARIANCE, NULL, x, shift, N, C, S);
    const tl_size M = N * S;
    const double inv_m = 1.0 / (double)M, unbias = (double)M / (double)(M - 1);
    for (tl_size c = 0; c < C; c++) {
        const double d = s0[c] * inv_m, mean = (double)shift[c] + d;
        double var = s1[c] * inv_m - d * d;
        var = var > 0.0 ? var : 0.0;
        save_mean[c] = (float)mean;
        save_rstd[c] = (float)(1.0 / sqrt(var + (double)eps));
        if (running_mean) running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
        if (running_var) running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * var * unbias);
    }
}

int tl_batchnorm_train_forward(float *y, float *save_mean, float *save_rstd, float *running_mean, float *running_var,
                               const float *x, const float *gamma, const float *beta,
                               tl_size N, tl_size C, tl_size S, float momentum, float eps) {
    static const char fn[] = "tl_batchnorm_train_forward";
    TL_TRY(tl_check_ncs(fn, N, C, S));
    TL_TRY(tl_check_train_forward(fn, y, save_mean, save_rstd, x, N * S, momentum, eps));
    /* Scratch: sums (2C doubles), shift + coefficients (3C floats in 2C doubles), partials. The coefficients
       come from the statistics rounded to float, as in the fused kernels, so both give the same bits. */
    TL_NORM_SCRATCH(fn, ws, 4 * (size_t)C + tl_channel_ws(N, C, S));
    float *shift = (float *)(ws + 2 * C), *a = shift + C, *b = a + C;
    tl_bn_batch_stats(save_mean, save_rstd, running_mean, running_var, x, ws, ws + C, shift, ws + 4 * C, N, C, S,
                      momentum, eps);
    tl_bn_fused_coefficients(a, b, gamma, beta, save_mean, save_rstd, C);
    tl_apply_affine(y, x, a, b, N, C, S, C);
    return TL_OK;
}

/* From the per-channel sums s0 = sum dy, s1 = sum dy (x - mean) over M values: dbeta, dgamma (either may be NULL)
   and the coefficients of dx = a dy + c1 (x - mean) + c0, all (C). gamma NULL means 1. */
static void tl_bn_backward_coefficients(float *dgamma, float *dbeta, float *a, float *c1, float *c0, const double *s0,
                                        const double *s1, const float *gamma, const float *save_rstd, tl_size C,
                                        tl_size M) {
    const double inv_m = 1.0 / (double)M;
    for (tl_size c = 0; c < C; c++) {
        const double rstd = save_rstd[c], g = gamma ? gamma[c] : 1.0;
        if (dbeta) dbeta[c] = (float)s0[c];
        if (dgamma) dgamma[c] = (float)(s1[c] * rstd);
        const double ac = g * rstd;
        a[c] = (float)ac;
        c0[c] = (float)(-ac * s0[c] * inv_m);
        c1[c] = (float)(-ac * rstd * rstd * s1[c] * inv_m);
    }
}

int tl_batchnorm_train_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *gamma, const float *save_mean, const float *save_rstd,
                                tl_size N, tl_size C, tl_size S) {
    static const char fn[] = "tl_batchnorm_train_backward";
    TL_CHECK_PTR(fn, dy);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, save_mean);
    TL_CHECK_PTR(fn, save_rstd);
    TL_TRY(tl_check_ncs(fn, N, C, S));
    if (dx == NULL && dgamma == NULL && dbeta == NULL) return TL_OK;

    /* Scratch: sums (2C doubles), a, c1, c0 (3C floats in 2C doubles), partials. */
    TL_NORM_SCRATCH(fn, ws, 4 * (size_t)C + tl_channel_ws(N, C, S));
    double *s0 = ws, *s1 = ws + C;
    float *a = (float *)(ws + 2 * C), *c1 = a + C, *c0 = c1 + C;
    /* s0 = sum dy, s1 = sum dy (x - mean) per channel. */
    tl_channel_sums(s0, s1, ws + 4 * C, TL_SUM_GRADIENT, dy, x, save_mean, N, C, S);

    tl_bn_backward_coefficients(dgamma, dbeta, a, c1, c0, s0, s1, gamma, save_rstd, C, N * S);
    if (dx) tl_apply_backward(dx, dy, x, a, c1, save_mean, c0, N, C, S, C);
    return TL_OK;
}

/* Per-channel scale and shift of the inference map, in double: a = gamma / sqrt(var + eps), b = beta - mean a. */
static void tl_bn_eval_coefficients(float *a, float *b, const float *gamma, const float *beta, const float *running_mean,
                                    const float *running_var, tl_size C, float eps) {
    for (tl_size c = 0; c < C; c++) {
        const double ac = (gamma ? gamma[c] : 1.0) / sqrt((double)running_var[c] + (double)eps);
        a[c] = (float)ac;
        if (b) b[c] = (float)((beta ? beta[c] : 0.0) - (double)running_mean[c] * ac);
    }
}

/* The arguments every inference-mode batch norm checks: running statistics present, variances >= 0, eps. */
static int tl_check_running_stats(const char *fn, const float *running_mean, const float *running_var, tl_size C,
                                  float eps) {
    TL_CHECK_PTR(fn, running_mean);
    TL_CHECK_PTR(fn, running_var);
    TL_CHECK_EPS(fn, eps);
    for (tl_size c = 0; c < C; c++)
        TL_CHECK(fn, running_var[c] >= 0.0f, "%s: running_var[%td] = %g is negative", fn, c, (double)running_var[c]);
    return TL_OK;
}

static void tl_apply_affine_relu(float *y, const float *x, const float *r, const float *a, const float *b, tl_size N,
                                 tl_size C, tl_size S);

/* Inference-mode batch norm with the running statistics, then, when relu is set, max(0, . [+ r]) (r NULL: no
   residual); shared by the plain and the fused inference forwards. */
static int tl_bn_eval_common(const char *fn, float *y, const float *x, const float *r, int relu, const float *gamma,
                             const float *beta, const float *running_mean, const float *running_var, tl_size N,
                             tl_size C, tl_size S, float eps) {
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_TRY(tl_check_ncs(fn, N, C, S));
    TL_TRY(tl_check_running_stats(fn, running_mean, running_var, C, eps));
    TL_NORM_SCRATCH(fn, ws, (size_t)C);
    float *a = (float *)ws, *b = a + C;
    tl_bn_eval_coefficients(a, b, gamma, beta, running_mean, running_var, C, eps);
    if (relu)
        tl_apply_affine_relu(y, x, r, a, b, N, C, S);
    else
        tl_apply_affine(y, x, a, b, N, C, S, C);
    return TL_OK;
}

int tl_batchnorm_eval_forward(float *y, const float *x, const float *gamma, const float *beta,
                              const float *running_mean, const float *running_var,
                              tl_size N, tl_size C, tl_size S, float eps) {
    return tl_bn_eval_common("tl_batchnorm_eval_forward", y, x, NULL, 0, gamma, beta, running_mean, running_var,
                             N, C, S, eps);
}

int tl_batchnorm_eval_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                               const float *gamma, const float *running_mean, const float *running_var,
                               tl_size N, tl_size C, tl_size S, float eps) {
    static const char fn[] = "tl_batchnorm_eval_backward";
    TL_CHECK_PTR(fn, dy);
    TL_CHECK_PTR(fn, x);
    TL_TRY(tl_check_ncs(fn, N, C, S));
    TL_TRY(tl_check_running_stats(fn, running_mean, running_var, C, eps));
    TL_NORM_SCRATCH(fn, ws, 3 * (size_t)C + tl_channel_ws(N, C, S));
    float *a = (float *)ws;
    double *s0 = ws + C, *s1 = ws + 2 * C;
    if (dgamma || dbeta) {
        tl_channel_sums(s0, s1, ws + 3 * C, TL_SUM_GRADIENT, dy, x, running_mean, N, C, S);
        for (tl_size c = 0; c < C; c++) {
            if (dbeta) dbeta[c] = (float)s0[c];
            if (dgamma) dgamma[c] = (float)(s1[c] / sqrt((double)running_var[c] + (double)eps));
        }
    }
    if (dx) {
        tl_bn_eval_coefficients(a, NULL, gamma, NULL, running_mean, running_var, C, eps);
        tl_apply_affine(dx, dy, a, NULL, N, C, S, C);
    }
    return TL_OK;
}

/* ---- layer norm ---- */

int tl_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                         tl_size R, tl_size D, float eps) {
    static const char fn[] = "tl_layernorm_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, mean);
    TL_CHECK_PTR(fn, rstd);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, R);
    TL_CHECK_POS(fn, D);
    TL_CHECK_EPS(fn, eps);
    #pragma omp parallel for schedule(static) if (R * D > TL_NORM_PAR_MIN && R > 1)
    for (tl_size r = 0; r < R; r++) {
        const float *xr = x + r * D;
        float *yr = y + r * D;
        const double k = xr[0];
        double s0, s1;
        tl_sums(TL_SUM_VARIANCE, &s0, &s1, xr, NULL, NULL, k, D);
        const double d = s0 / (double)D;
        double var = s1 / (double)D - d * d;
        var = var > 0.0 ? var : 0.0;
        const float m = (float)(k + d), rs = (float)(1.0 / sqrt(var + (double)eps));
        mean[r] = m;
        rstd[r] = rs;
        if (gamma && beta) {
            #pragma omp simd
            for (tl_size i = 0; i < D; i++) yr[i] = (xr[i] - m) * rs * gamma[i] + beta[i];
        } else if (gamma) {
            #pragma omp simd
            for (tl_size i = 0; i < D; i++) yr[i] = (xr[i] - m) * rs * gamma[i];
        } else if (beta) {
            #pragma omp simd
            for (tl_size i = 0; i < D; i++) yr[i] = (xr[i] - m) * rs + beta[i];
        } else {
            #pragma omp simd
            for (tl_size i = 0; i < D; i++) yr[i] = (xr[i] - m) * rs;
        }
    }
    return TL_OK;
}

int tl_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
                          const float *mean, const float *rstd, tl_size R, tl_size D) {
    static const char fn[] = "tl_layernorm_backward";
    TL_CHECK_PTR(fn, dy);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, mean);
    TL_CHECK_PTR(fn, rstd);
    TL_CHECK_POS(fn, R);
    TL_CHECK_POS(fn, D);
    if (dx == NULL && dgamma == NULL && dbeta == NULL) return TL_OK;
    const int params = dgamma != NULL || dbeta != NULL;
    const tl_size nb = tl_row_blocks(R);
    /* Per block: partial dgamma and dbeta in double (2D), and float accumulators (2D floats in D doubles)
       that take up to TL_LN_FLUSH rows before they are added into the double partials: float adds
       vectorise twice as wide and need no conversions, and 32 terms keep their rounding small. */
    TL_NORM_SCRATCH(fn, ws, params ? 3 * (size_t)(nb * D) : 1);

    #pragma omp parallel for schedule(static) if (R * D > TL_NORM_PAR_MIN && nb > 1)
    for (tl_size b = 0; b < nb; b++) {
        double *pg = ws + 3 * b * D, *pb = pg + D;
        float *fg = (float *)(pb + D), *fb = fg + D;
        if (params) for (tl_size i = 0; i < D; i++) { pg[i] = 0.0; pb[i] = 0.0; fg[i] = 0.0f; fb[i] = 0.0f; }
        const tl_size r0 = tl_block_start(b, R, nb), r1 = tl_block_start(b + 1, R, nb);
        for (tl_size r = r0; r < r1; r++) {
            const float *dyr = dy + r * D, *xr = x + r * D;
            const float m = mean[r], rs = rstd[r];
            if (params) {
                #pragma omp simd
                for (tl_size i = 0; i < D; i++) {
                    fg[i] += dyr[i] * ((xr[i] - m) * rs);
                    fb[i] += dyr[i];
                }
                if ((r - r0) % TL_LN_FLUSH == TL_LN_FLUSH - 1 || r == r1 - 1) {
                    #pragma omp simd
                    for (tl_size i = 0; i < D; i++) {
                        pg[i] += (double)fg[i];
                        pb[i] += (double)fb[i];
                        fg[i] = 0.0f;
                        fb[i] = 0.0f;
                    }
                }
            }
            if (dx) {
                /* With g = dy * gamma: dx = rstd (g - mean(g) - xhat mean(g xhat)). */
                double sg, sgx;
                tl_sums(TL_SUM_GRADIENT, &sg, &sgx, dyr, gamma, xr, m, D);
                const float c0 = (float)(-(double)rs * sg / (double)D);
                const float c1 = (float)(-(double)rs * rs * rs * sgx / (double)D);
                float *dxr = dx + r * D;
                if (gamma) {
                    #pragma omp simd
                    for (tl_size j = 0; j < D; j++) dxr[j] = rs * gamma[j] * dyr[j] + c1 * (xr[j] - m) + c0;
                } else {
                    #pragma omp simd
                    for (tl_size j = 0; j < D; j++) dxr[j] = rs * dyr[j] + c1 * (xr[j] - m) + c0;
                }
            }
        }
    }
    if (params) {
        #pragma omp parallel for schedule(static) if (nb * D > TL_NORM_PAR_MIN)
        for (tl_size i = 0; i < D; i++) {
            double g = 0.0, be = 0.0;
            for (tl_size b = 0; b < nb; b++) { g += ws[3 * b * D + i]; be += ws[3 * b * D + D + i]; }
            if (dgamma) dgamma[i] = (float)g;
            if (dbeta) dbeta[i] = (float)be;
        }
    }
    return TL_OK;
}

/* ---- group norm ---- */

static int tl_check_groups(const char *fn, tl_size N, tl_size C, tl_size S, tl_size G) {
    TL_TRY(tl_check_ncs(fn, N, C, S));
    TL_CHECK_POS(fn, G);
    TL_CHECK(fn, C % G == 0, "%s: G = %td groups must divide C = %td channels", fn, G, C);
    return TL_OK;
}

int tl_groupnorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                         tl_size N, tl_size C, tl_size S, tl_size G, float eps) {
    static const char fn[] = "tl_groupnorm_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, mean);
    TL_CHECK_PTR(fn, rstd);
    TL_CHECK_PTR(fn, x);
    TL_TRY(tl_check_groups(fn, N, C, S, G));
    TL_CHECK_EPS(fn, eps);
    const tl_size P = N * C, Q = N * G, Cg = C / G, M = Cg * S;

    /* Scratch: plane partials (2P doubles), per-plane a, b (2P floats in P doubles), group shifts (Q floats). */
    TL_NORM_SCRATCH(fn, ws, 3 * (size_t)P + (size_t)Q);
    float *a = (float *)(ws + 2 * P), *b = a + P, *shift = (float *)(ws + 3 * P);
    for (tl_size q = 0; q < Q; q++) shift[q] = x[q * M];
    tl_plane_partials(ws, TL_SUM_VARIANCE, NULL, x, shift, P, S, Cg, Q);

    for (tl_size q = 0; q < Q; q++) {
        double t0 = 0.0, t1 = 0.0;
        for (tl_size p = q * Cg; p < (q + 1) * Cg; p++) { t0 += ws[2 * p]; t1 += ws[2 * p + 1]; }
        const double d = t0 / (double)M, mq = (double)shift[q] + d;
        double var = t1 / (double)M - d * d;
        var = var > 0.0 ? var : 0.0;
        const double rq = 1.0 / sqrt(var + (double)eps);
        mean[q] = (float)mq;
        rstd[q] = (float)rq;
        for (tl_size p = q * Cg; p < (q + 1) * Cg; p++) {
            const tl_size c = p % C;
            const double g = gamma ? gamma[c] : 1.0, be = beta ? beta[c] : 0.0;
            a[p] = (float)(g * rq);
            b[p] = (float)(be - mq * g * rq);
        }
    }
    tl_apply_affine(y, x, a, b, N, C, S, P);
    return TL_OK;
}

int tl_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
                          const float *mean, const float *rstd, tl_size N, tl_size C, tl_size S, tl_size G) {
    static const char fn[] = "tl_groupnorm_backward";
    TL_CHECK_PTR(fn, dy);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, mean);
    TL_CHECK_PTR(fn, rstd);
    TL_TRY(tl_check_groups(fn, N, C, S, G));
    if (dx == NULL && dgamma == NULL && dbeta == NULL) return TL_OK;
    const tl_size P = N * C, Q = N * G, Cg = C / G, M = Cg * S;

    /* Scratch: plane partials (2P doubles), per-plane a, c1, m, c0 (4P floats in 2P doubles). */
    TL_NORM_SCRATCH(fn, ws, 4 * (size_t)P);
    float *a = (float *)(ws + 2 * P), *c1 = a + P, *m = c1 + P, *c0 = m + P;
    /* ws[2p] = sum dy, ws[2p+1] = sum dy (x - mean of the plane's group). */
    tl_plane_partials(ws, TL_SUM_GRADIENT, dy, x, mean, P, S, Cg, Q);

    if (dgamma || dbeta)
        for (tl_size c = 0; c < C; c++) {
            double g = 0.0, be = 0.0;
            for (tl_size n = 0; n < N; n++) {
                const tl_size p = n * C + c;
                be += ws[2 * p];
                g += ws[2 * p + 1] * (double)rstd[p / Cg];
            }
            if (dgamma) dgamma[c] = (float)g;
            if (dbeta) dbeta[c] = (float)be;
        }
    if (dx == NULL) return TL_OK;
    for (tl_size q = 0; q < Q; q++) {
        /* With g = dy * gamma: dx = rstd (g - mean(g) - xhat mean(g xhat)) over the group. */
        double sg = 0.0, sgx = 0.0;
        for (tl_size p = q * Cg; p < (q + 1) * Cg; p++) {
            const double gc = gamma ? gamma[p % C] : 1.0;
            sg += gc * ws[2 * p];
            sgx += gc * ws[2 * p + 1];
        }
        const double rq = rstd[q];
        for (tl_size p = q * Cg; p < (q + 1) * Cg; p++) {
            a[p] = (float)((gamma ? gamma[p % C] : 1.0) * rq);
            c1[p] = (float)(-rq * rq * rq * sgx / (double)M);
            m[p] = mean[q];
            c0[p] = (float)(-rq * sg / (double)M);
        }
    }
    tl_apply_backward(dx, dy, x, a, c1, m, c0, N, C, S, P);
    return TL_OK;
}

/* ---- batch norm fused with ReLU (and with a residual add before the ReLU) ----
   One pass instead of two or three over the activation in each direction. The training forwards take
   their affine coefficients from the statistics rounded to float (save_mean, save_rstd), so that the
   backward of batch norm + ReLU recomputes the ReLU mask from x exactly (one fewer tensor to read
   than a mask from the output); with the residual the mask comes from the output y. The masked
   gradient sums follow tl_sums' lane order, so they equal the unfused ReLU backward followed by the
   batch-norm backward bit for bit when the coefficients agree. */

/* y = max(0, fma(x, a, b) [+ r]) over (N, C, S), coefficients per channel. y == x or y == r allowed. */
static void tl_apply_affine_relu(float *y, const float *x, const float *r, const float *a, const float *b, tl_size N,
                                 tl_size C, tl_size S) {
    const tl_size P = N * C;
    if (S == 1) {
        #pragma omp parallel for schedule(static) if (P > TL_NORM_PAR_MIN && N > 1)
        for (tl_size n = 0; n < N; n++) {
            const float *xr = x + n * C, *rr = r ? r + n * C : NULL;
            float *yr = y + n * C;
            if (rr) {
                #pragma omp simd
                for (tl_size c = 0; c < C; c++) { const float v = fmaf(xr[c], a[c], b[c]) + rr[c]; yr[c] = v > 0.0f ? v : 0.0f; }
            } else {
                #pragma omp simd
                for (tl_size c = 0; c < C; c++) { const float v = fmaf(xr[c], a[c], b[c]); yr[c] = v > 0.0f ? v : 0.0f; }
            }
        }
        return;
    }
    #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
    for (tl_size p = 0; p < P; p++) {
        const float ap = a[p % C], bp = b[p % C];
        const float *xp = x + p * S, *rp = r ? r + p * S : NULL;
        float *yp = y + p * S;
        if (rp) {
            #pragma omp simd
            for (tl_size s = 0; s < S; s++) { const float v = fmaf(xp[s], ap, bp) + rp[s]; yp[s] = v > 0.0f ? v : 0.0f; }
        } else {
            #pragma omp simd
            for (tl_size s = 0; s < S; s++) { const float v = fmaf(xp[s], ap, bp); yp[s] = v > 0.0f ? v : 0.0f; }
        }
    }
}

/* The masked gradient g = dy where the ReLU was active (y > 0 when y is given, else fma(x, ma, mb) > 0),
   else 0, for n values; dr (optional) receives g. */
static inline void tl_relu_mask16(float *g, const float *dy, const float *x, const float *y, float ma, float mb, int n) {
    if (y) {
        for (int l = 0; l < n; l++) g[l] = y[l] > 0.0f ? dy[l] : 0.0f;
    } else {
        for (int l = 0; l < n; l++) g[l] = fmaf(x[l], ma, mb) > 0.0f ? dy[l] : 0.0f;
    }
}

/* s0 = sum g, s1 = sum g (x - c) for the masked gradient g of n values, in tl_sums' order (gradient
   kind, no weight); writes g to dr when dr is not NULL. */
static inline void tl_sums_relu(double *s0, double *s1, float *dr, const float *dy, const float *x, const float *y,
                                float ma, float mb, double c, tl_size n) {
    double la[TL_NLANES] = {0}, lb[TL_NLANES] = {0};
    float g[TL_NLANES];
    tl_size i = 0;
#if defined(__AVX2__) && defined(__FMA__)
    __m256d a[4], b[4];
    const __m256d vc = _mm256_set1_pd(c);
    for (int k = 0; k < 4; k++) { a[k] = _mm256_setzero_pd(); b[k] = _mm256_setzero_pd(); }
    const __m256 vma = _mm256_set1_ps(ma), vmb = _mm256_set1_ps(mb), zero = _mm256_setzero_ps();
    for (; i + TL_NLANES <= n; i += TL_NLANES) {
        for (int h = 0; h < 2; h++) { /* g = dy & (mask source > 0), the same bits as the scalar select */
            const __m256 src = y ? _mm256_loadu_ps(y + i + 8 * h)
                                 : _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8 * h), vma, vmb);
            const __m256 gv = _mm256_and_ps(_mm256_cmp_ps(src, zero, _CMP_GT_OQ), _mm256_loadu_ps(dy + i + 8 * h));
            _mm256_storeu_ps(g + 8 * h, gv);
            if (dr) _mm256_storeu_ps(dr + i + 8 * h, gv);
        }
        tl_accumulate16(a, b, g, x + i, vc);
    }
    tl_store_lanes(la, a);
    tl_store_lanes(lb, b);
#else
    for (; i + TL_NLANES <= n; i += TL_NLANES) {
        tl_relu_mask16(g, dy + i, x + i, y ? y + i : NULL, ma, mb, TL_NLANES);
        if (dr) memcpy(dr + i, g, sizeof g);
        for (int l = 0; l < TL_NLANES; l++) {
            la[l] += (double)g[l];
            lb[l] += (double)g[l] * ((double)x[i + l] - c);
        }
    }
#endif
    for (; i < n; i++) {
        tl_relu_mask16(g, dy + i, x + i, y ? y + i : NULL, ma, mb, 1);
        if (dr) dr[i] = g[0];
        la[0] += (double)g[0];
        lb[0] += (double)g[0] * ((double)x[i] - c);
    }
    *s0 = tl_lanes_sum(la);
    *s1 = tl_lanes_sum(lb);
}

/* Per-channel s0 = sum g, s1 = sum g (x - mean) of the masked gradient over (N, C, S), combined in the
   order of tl_channel_sums; dr (optional) receives g. ws holds tl_channel_ws doubles. */
static void tl_channel_sums_relu(double *s0, double *s1, double *ws, float *dr, const float *dy, const float *x,
                                 const float *y, const float *ma, const float *mb, const float *mean, tl_size N,
                                 tl_size C, tl_size S) {
    const tl_size P = N * C;
    if (S > 1) {
        #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
        for (tl_size p = 0; p < P; p++) {
            const tl_size c = p % C, o = p * S;
            tl_sums_relu(&ws[2 * p], &ws[2 * p + 1], dr ? dr + o : NULL, dy + o, x + o, y ? y + o : NULL,
                         ma ? ma[c] : 0.0f, mb ? mb[c] : 0.0f, (double)mean[c], S);
        }
        for (tl_size c = 0; c < C; c++) { s0[c] = 0.0; s1[c] = 0.0; }
        for (tl_size n = 0; n < N; n++)
            for (tl_size c = 0; c < C; c++) { s0[c] += ws[2 * (n * C + c)]; s1[c] += ws[2 * (n * C + c) + 1]; }
        return;
    }
    const tl_size nb = tl_row_blocks(N);
    #pragma omp parallel for schedule(static) if (P > TL_NORM_PAR_MIN && nb > 1)
    for (tl_size blk = 0; blk < nb; blk++) {
        double *a0 = ws + 2 * blk * C, *a1 = a0 + C;
        for (tl_size c = 0; c < C; c++) { a0[c] = 0.0; a1[c] = 0.0; }
        for (tl_size n = tl_block_start(blk, N, nb); n < tl_block_start(blk + 1, N, nb); n++) {
            const float *xr = x + n * C, *dyr = dy + n * C, *yr = y ? y + n * C : NULL;
            float *drr = dr ? dr + n * C : NULL;
            for (tl_size c = 0; c < C; c++) {
                const float g = (yr ? yr[c] > 0.0f : fmaf(xr[c], ma[c], mb[c]) > 0.0f) ? dyr[c] : 0.0f;
                if (drr) drr[c] = g;
                a0[c] += (double)g;
                a1[c] += (double)g * ((double)xr[c] - (double)mean[c]);
            }
        }
    }
    for (tl_size c = 0; c < C; c++) { s0[c] = 0.0; s1[c] = 0.0; }
    for (tl_size blk = 0; blk < nb; blk++)
        for (tl_size c = 0; c < C; c++) { s0[c] += ws[2 * blk * C + c]; s1[c] += ws[2 * blk * C + C + c]; }
}

/* dx = a g + c1 (x - m) + c0 with g the masked gradient: from g itself when given (dr of the first
   pass), else from dy and the mask of y or of fma(x, ma, mb). */
static void tl_apply_backward_relu(float *dx, const float *g, const float *dy, const float *x, const float *y,
                                   const float *ma, const float *mb, const float *a, const float *c1, const float *m,
                                   const float *c0, tl_size N, tl_size C, tl_size S) {
    const tl_size P = N * C;
    if (S == 1) {
        #pragma omp parallel for schedule(static) if (P > TL_NORM_PAR_MIN && N > 1)
        for (tl_size n = 0; n < N; n++)
            for (tl_size c = 0; c < C; c++) {
                const tl_size i = n * C + c;
                const float gi = g ? g[i] : (y ? y[i] > 0.0f : fmaf(x[i], ma[c], mb[c]) > 0.0f) ? dy[i] : 0.0f;
                dx[i] = a[c] * gi + c1[c] * (x[i] - m[c]) + c0[c];
            }
        return;
    }
    #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
    for (tl_size p = 0; p < P; p++) {
        const tl_size c = p % C, o = p * S;
        const float ap = a[c], c1p = c1[c], mp = m[c], c0p = c0[c];
        const float *xp = x + o;
        float *dxp = dx + o;
        if (g) {
            const float *gp = g + o;
            #pragma omp simd
            for (tl_size s = 0; s < S; s++) dxp[s] = ap * gp[s] + c1p * (xp[s] - mp) + c0p;
        } else if (y) {
            const float *dyp = dy + o, *yp = y + o;
            #pragma omp simd
            for (tl_size s = 0; s < S; s++) {
                const float gs = yp[s] > 0.0f ? dyp[s] : 0.0f;
                dxp[s] = ap * gs + c1p * (xp[s] - mp) + c0p;
            }
        } else {
            const float *dyp = dy + o;
            const float map = ma[c], mbp = mb[c];
            #pragma omp simd
            for (tl_size s = 0; s < S; s++) {
                const float gs = fmaf(xp[s], map, mbp) > 0.0f ? dyp[s] : 0.0f;
                dxp[s] = ap * gs + c1p * (xp[s] - mp) + c0p;
            }
        }
    }
}

/* Shared by the two training forwards: statistics, coefficients, apply (r NULL: no residual). */
static int tl_bn_relu_forward_common(const char *fn, float *y, float *save_mean, float *save_rstd, float *running_mean,
                                     float *running_var, const float *x, const float *r, const float *gamma,
                                     const float *beta, tl_size N, tl_size C, tl_size S, float momentum, float eps) {
    TL_TRY(tl_check_ncs(fn, N, C, S));
    TL_TRY(tl_check_train_forward(fn, y, save_mean, save_rstd, x, N * S, momentum, eps));
    /* Scratch: s0, s1 (2C doubles), shift, a, b (3C floats in 2C doubles), partials. */
    TL_NORM_SCRATCH(fn, ws, 4 * (size_t)C + tl_channel_ws(N, C, S));
    double *s0 = ws, *s1 = ws + C;
    float *shift = (float *)(ws + 2 * C), *a = shift + C, *b = a + C;
    tl_bn_batch_stats(save_mean, save_rstd, running_mean, running_var, x, s0, s1, shift, ws + 4 * C, N, C, S,
                      momentum, eps);
    tl_bn_fused_coefficients(a, b, gamma, beta, save_mean, save_rstd, C);
    tl_apply_affine_relu(y, x, r, a, b, N, C, S);
    return TL_OK;
}

/* Shared by the two training backwards: y NULL means the mask is recomputed from x (batch norm + ReLU). */
static int tl_bn_relu_backward_common(const char *fn, float *dx, float *dr, float *dgamma, float *dbeta, const float *dy,
                                      const float *y, const float *x, const float *gamma, const float *beta,
                                      const float *save_mean, const float *save_rstd, tl_size N, tl_size C, tl_size S) {
    TL_CHECK_PTR(fn, dy);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, save_mean);
    TL_CHECK_PTR(fn, save_rstd);
    TL_TRY(tl_check_ncs(fn, N, C, S));
    if (dx == NULL && dr == NULL && dgamma == NULL && dbeta == NULL) return TL_OK;
    /* Scratch: s0, s1 (2C doubles), a, c1, c0, ma, mb (5C floats in 3C doubles), partials. */
    TL_NORM_SCRATCH(fn, ws, 5 * (size_t)C + tl_channel_ws(N, C, S));
    double *s0 = ws, *s1 = ws + C;
    float *a = (float *)(ws + 2 * C), *c1 = a + C, *c0 = c1 + C, *ma = c0 + C, *mb = ma + C;
    if (y == NULL) tl_bn_fused_coefficients(ma, mb, gamma, beta, save_mean, save_rstd, C);
    /* With dr wanted, the first pass writes the masked gradient there and the second reads it back. */
    tl_channel_sums_relu(s0, s1, ws + 5 * C, dr, dy, x, y, y ? NULL : ma, y ? NULL : mb, save_mean, N, C, S);
    tl_bn_backward_coefficients(dgamma, dbeta, a, c1, c0, s0, s1, gamma, save_rstd, C, N * S);
    if (dx) tl_apply_backward_relu(dx, dr, dy, x, y, ma, mb, a, c1, save_mean, c0, N, C, S);
    return TL_OK;
}

int tl_batchnorm_relu_train_forward(float *y, float *save_mean, float *save_rstd, float *running_mean,
                                    float *running_var, const float *x, const float *gamma, const float *beta,
                                    tl_size N, tl_size C, tl_size S, float momentum, float eps) {
    return tl_bn_relu_forward_common("tl_batchnorm_relu_train_forward", y, save_mean, save_rstd, running_mean,
                                     running_var, x, NULL, gamma, beta, N, C, S, momentum, eps);
}

int tl_batchnorm_relu_train_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                     const float *gamma, const float *beta, const float *save_mean,
                                     const float *save_rstd, tl_size N, tl_size C, tl_size S) {
    return tl_bn_relu_backward_common("tl_batchnorm_relu_train_backward", dx, NULL, dgamma, dbeta, dy, NULL, x, gamma,
                                      beta, save_mean, save_rstd, N, C, S);
}

int tl_batchnorm_add_relu_train_forward(float *y, float *save_mean, float *save_rstd, float *running_mean,
                                        float *running_var, const float *x, const float *r, const float *gamma,
                                        const float *beta, tl_size N, tl_size C, tl_size S, float momentum, float eps) {
    TL_CHECK_PTR("tl_batchnorm_add_relu_train_forward", r);
    return tl_bn_relu_forward_common("tl_batchnorm_add_relu_train_forward", y, save_mean, save_rstd, running_mean,
                                     running_var, x, r, gamma, beta, N, C, S, momentum, eps);
}

int tl_batchnorm_add_relu_train_backward(float *dx, float *dr, float *dgamma, float *dbeta, const float *dy,
                                         const float *y, const float *x, const float *gamma, const float *save_mean,
                                         const float *save_rstd, tl_size N, tl_size C, tl_size S) {
    TL_CHECK_PTR("tl_batchnorm_add_relu_train_backward", y);
    return tl_bn_relu_backward_common("tl_batchnorm_add_relu_train_backward", dx, dr, dgamma, dbeta, dy, y, x, gamma,
                                      NULL, save_mean, save_rstd, N, C, S);
}

int tl_batchnorm_relu_eval_forward(float *y, const float *x, const float *gamma, const float *beta,
                                   const float *running_mean, const float *running_var, tl_size N, tl_size C,
                                   tl_size S, float eps) {
    return tl_bn_eval_common("tl_batchnorm_relu_eval_forward", y, x, NULL, 1, gamma, beta, running_mean, running_var,
                                  N, C, S, eps);
}

int tl_batchnorm_add_relu_eval_forward(float *y, const float *x, const float *r, const float *gamma, const float *beta,
                                       const float *running_mean, const float *running_var, tl_size N, tl_size C,
                                       tl_size S, float eps) {
    TL_CHECK_PTR("tl_batchnorm_add_relu_eval_forward", r);
    return tl_bn_eval_common("tl_batchnorm_add_relu_eval_forward", y, x, r, 1, gamma, beta, running_mean, running_var,
                             N, C, S, eps);
}

/* ---- batch norm + ReLU + 2x2 max pooling (stride 2) ----
   The pooled output is all the forward writes; the backward finds each window's maximum again from x
   (the same fma and the same selects), so no indices are stored, and reads x once per pass instead of
   a full-size ReLU output and gradient. relu(max v) = max(relu v) picks the same element whenever the
   output is > 0, the only case where a gradient flows. A window's winner is its first greatest value
   in row-major order, or its last NaN (tl_maxpool2d_forward's rule). */

#define TL_WIN_TAKE(v, best) (((v) > (best)) | ((v) != (v)))

/* The winner of one window of four inputs: returns its position (0..3, row-major), *v its value a e + b
   and *xe its input. */
static inline int tl_win_argmax(float e0, float e1, float e2, float e3, float a, float b, float *v, float *xe) {
    float best = fmaf(e0, a, b), bx = e0;
    int k = 0;
    const float t1 = fmaf(e1, a, b), t2 = fmaf(e2, a, b), t3 = fmaf(e3, a, b);
    if (TL_WIN_TAKE(t1, best)) { best = t1; bx = e1; k = 1; }
    if (TL_WIN_TAKE(t2, best)) { best = t2; bx = e2; k = 2; }
    if (TL_WIN_TAKE(t3, best)) { best = t3; bx = e3; k = 3; }
    *v = best;
    *xe = bx;
    return k;
}

#if defined(__AVX2__) && defined(__FMA__)
/* Lanes below n (0..8) set. */
static inline __m256i tl_mask_below(tl_size n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Even and odd elements of the first 2n floats at p (n = 1..8). With `full` all 16 floats are read (the
   caller knows they are inside its plane); otherwise nothing beyond the 2n, and missing lanes are 0. */
static inline void tl_split_pairs(const float *p, tl_size n, int full, __m256 *even, __m256 *odd) {
    __m256 v0, v1;
    if (n == 8 || full) {
        v0 = _mm256_loadu_ps(p);
        v1 = _mm256_loadu_ps(p + 8);
    } else {
        v0 = _mm256_maskload_ps(p, tl_mask_below(2 * n < 8 ? 2 * n : 8));
        v1 = n > 4 ? _mm256_maskload_ps(p + 8, tl_mask_below(2 * n - 8)) : _mm256_setzero_ps();
    }
    const __m256 e = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m256 o = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Inverse of tl_split_pairs: 2n floats at p from even and odd lanes. With `full` all 16 are stored: the
   caller writes the spilled ones again later (masked stores cost ~10x a plain one on AMD cores). */
static inline void tl_join_pairs(float *p, tl_size n, int full, __m256 even, __m256 odd) {
    const __m256 lo = _mm256_unpacklo_ps(even, odd), hi = _mm256_unpackhi_ps(even, odd);
    const __m256 v0 = _mm256_permute2f128_ps(lo, hi, 0x20), v1 = _mm256_permute2f128_ps(lo, hi, 0x31);
    if (n == 8 || full) {
        _mm256_storeu_ps(p, v0);
        _mm256_storeu_ps(p + 8, v1);
    } else {
        _mm256_maskstore_ps(p, tl_mask_below(2 * n < 8 ? 2 * n : 8), v0);
        if (n > 4) _mm256_maskstore_ps(p + 8, tl_mask_below(2 * n - 8), v1);
    }
}

/* 8 floats at p, or the first n with zeros after them; all 8 are read with `full`. */
static inline __m256 tl_load8(const float *p, tl_size n, int full) {
    return n == 8 || full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tl_mask_below(n));
}

/* Window winners of n (1..8) consecutive windows whose top-left inputs are r0[0], r0[2], ..: value v,
   input xe, the four inputs e[0..3], and one-hot selections s[0..3] (all bits of the winner's lane set). */
static inline void tl_win_argmax8(const float *r0, const float *r1, tl_size n, int full0, int full1, __m256 a, __m256 b,
                                  __m256 *v, __m256 *xe, __m256 s[4], __m256 e[4]) {
    tl_split_pairs(r0, n, full0, &e[0], &e[1]);
    tl_split_pairs(r1, n, full1, &e[2], &e[3]);
    __m256 best = _mm256_fmadd_ps(e[0], a, b), bx = e[0];
    __m256 take[4];
    for (int k = 1; k < 4; k++) {
        const __m256 t = _mm256_fmadd_ps(e[k], a, b);
        take[k] = _mm256_or_ps(_mm256_cmp_ps(t, best, _CMP_GT_OQ), _mm256_cmp_ps(t, t, _CMP_UNORD_Q));
        best = _mm256_blendv_ps(best, t, take[k]);
        bx = _mm256_blendv_ps(bx, e[k], take[k]);
    }
    *v = best;
    *xe = bx;
    if (s) { /* the winner is the last taker */
        s[3] = take[3];
        s[2] = _mm256_andnot_ps(s[3], take[2]);
        s[1] = _mm256_andnot_ps(_mm256_or_ps(s[3], take[2]), take[1]);
        s[0] = _mm256_andnot_ps(_mm256_or_ps(_mm256_or_ps(take[1], take[2]), take[3]), _mm256_castsi256_ps(_mm256_set1_epi32(-1)));
    }
}
#endif

/* y (OH, OW) = max(0, winner value) of one plane. */
static void tl_bnrp_forward_plane(float *y, const float *x, float a, float b, tl_size H, tl_size W, tl_size OH, tl_size OW) {
    for (tl_size oh = 0; oh < OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
        float *yr = y + oh * OW;
        tl_size ow = 0;
#if defined(__AVX2__) && defined(__FMA__)
        const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), zero = _mm256_setzero_ps();
        for (; ow < OW; ow += 8) {
            const tl_size n = OW - ow < 8 ? OW - ow : 8;
            __m256 v, xe, e[4];
            const tl_size i0 = 2 * oh * W + 2 * ow;
            tl_win_argmax8(r0 + 2 * ow, r1 + 2 * ow, n, i0 + 16 <= H * W, i0 + W + 16 <= H * W, va, vb, &v, &xe, NULL, e);
            /* v < 0 ? 0 : v, as tl_relu_forward (NaN passes) */
            const __m256 out = _mm256_blendv_ps(v, zero, _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
            /* a full store spills into the next output row, which is written after this one */
            if (n == 8 || oh * OW + ow + 8 <= OH * OW) _mm256_storeu_ps(yr + ow, out);
            else _mm256_maskstore_ps(yr + ow, tl_mask_below(n), out);
        }
#endif
        for (; ow < OW; ow++) {
            float v, xe;
            tl_win_argmax(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], a, b, &v, &xe);
            yr[ow] = v < 0.0f ? 0.0f : v;
        }
    }
}

/* s[0] = sum g, s[1] = sum g (x_win - mean) over one plane's windows, g = dy where y > 0 else 0. */
static void tl_bnrp_sums_plane(double *s, const float *dy, const float *y, const float *x, float a, float b, double mean,
                               tl_size H, tl_size W, tl_size OH, tl_size OW) {
    double la[8] = {0}, lb[8] = {0};
#if defined(__AVX2__) && defined(__FMA__)
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
    const __m256d vm = _mm256_set1_pd(mean);
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), zero = _mm256_setzero_ps();
#endif
    for (tl_size oh = 0; oh < OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W, *yr = y + oh * OW, *dyr = dy + oh * OW;
        tl_size ow = 0;
#if defined(__AVX2__) && defined(__FMA__)
        for (; ow < OW; ow += 8) {
            const tl_size n = OW - ow < 8 ? OW - ow : 8;
            __m256 v, xe, e[4];
            const tl_size i0 = 2 * oh * W + 2 * ow, full = oh * OW + ow + 8 <= OH * OW;
            tl_win_argmax8(r0 + 2 * ow, r1 + 2 * ow, n, i0 + 16 <= H * W, i0 + W + 16 <= H * W, va, vb, &v, &xe, NULL, e);
            const __m256 yv = tl_load8(yr + ow, n, full), dyv = tl_load8(dyr + ow, n, full);
            /* lanes past n hold the next row's values when loaded in full: they must not count */
            const __m256 keep = _mm256_and_ps(_mm256_castsi256_ps(tl_mask_below(n)), _mm256_cmp_ps(yv, zero, _CMP_GT_OQ));
            const __m256 g = _mm256_and_ps(keep, dyv);
            xe = _mm256_and_ps(_mm256_castsi256_ps(tl_mask_below(n)), xe);
            const __m256d g0 = _mm256_cvtps_pd(_mm256_castps256_ps128(g)), g1 = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
            const __m256d x0 = _mm256_cvtps_pd(_mm256_castps256_ps128(xe)), x1 = _mm256_cvtps_pd(_mm256_extractf128_ps(xe, 1));
            a0 = _mm256_add_pd(a0, g0);
            a1 = _mm256_add_pd(a1, g1);
            b0 = _mm256_fmadd_pd(g0, _mm256_sub_pd(x0, vm), b0);
            b1 = _mm256_fmadd_pd(g1, _mm256_sub_pd(x1, vm), b1);
        }
#endif
        for (; ow < OW; ow++) {
            float v, xe;
            tl_win_argmax(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], a, b, &v, &xe);
            const double g = yr[ow] > 0.0f ? (double)dyr[ow] : 0.0;
            la[0] += g;
            lb[0] += g * ((double)xe - mean);
        }
    }
#if defined(__AVX2__) && defined(__FMA__)
    double t[4];
    _mm256_storeu_pd(t, a0); for (int l = 0; l < 4; l++) la[l] += t[l];
    _mm256_storeu_pd(t, a1); for (int l = 0; l < 4; l++) la[4 + l] += t[l];
    _mm256_storeu_pd(t, b0); for (int l = 0; l < 4; l++) lb[l] += t[l];
    _mm256_storeu_pd(t, b1); for (int l = 0; l < 4; l++) lb[4 + l] += t[l];
#endif
    s[0] = ((la[0] + la[1]) + (la[2] + la[3])) + ((la[4] + la[5]) + (la[6] + la[7]));
    s[1] = ((lb[0] + lb[1]) + (lb[2] + lb[3])) + ((lb[4] + lb[5]) + (lb[6] + lb[7]));
}

/* dx (H, W) of one plane: ga g + c1 (x - m) + c0 where g reaches each window's winner (g = dy where
   y > 0 else 0) and 0 elsewhere, including an unpooled last row or column. */
static void tl_bnrp_dx_plane(float *dx, const float *dy, const float *y, const float *x, float a, float b, float ga,
                             float c1, float m, float c0, tl_size H, tl_size W, tl_size OH, tl_size OW) {
    for (tl_size oh = 0; oh < OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W, *yr = y + oh * OW, *dyr = dy + oh * OW;
        float *d0 = dx + 2 * oh * W, *d1 = d0 + W;
        tl_size ow = 0;
#if defined(__AVX2__) && defined(__FMA__)
        const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), zero = _mm256_setzero_ps();
        const __m256 vga = _mm256_set1_ps(ga), vc1 = _mm256_set1_ps(c1), vm = _mm256_set1_ps(m), vc0 = _mm256_set1_ps(c0);
        /* Last chunk first: a full store of a short chunk spills into the next row, over chunks of it that
           are written after. */
        for (tl_size chunk = (OW + 7) / 8; chunk-- > 0;) {
            ow = 8 * chunk;
            const tl_size n = OW - ow < 8 ? OW - ow : 8;
            __m256 v, xe, s[4], e[4];
            const tl_size i0 = 2 * oh * W + 2 * ow, full = oh * OW + ow + 8 <= OH * OW;
            const int full0 = i0 + 16 <= H * W, full1 = i0 + W + 16 <= H * W;
            tl_win_argmax8(r0 + 2 * ow, r1 + 2 * ow, n, full0, full1, va, vb, &v, &xe, s, e);
            const __m256 yv = tl_load8(yr + ow, n, full), dyv = tl_load8(dyr + ow, n, full);
            const __m256 g = _mm256_and_ps(_mm256_cmp_ps(yv, zero, _CMP_GT_OQ), dyv);
            __m256 d[4];
            for (int k = 0; k < 4; k++) /* ga gk + (c1 (x - m) + c0) */
                d[k] = _mm256_fmadd_ps(vga, _mm256_and_ps(s[k], g), _mm256_fmadd_ps(vc1, _mm256_sub_ps(e[k], vm), vc0));
            /* Full stores spill into the rest of the plane, which is written after (rows in order, chunks
               of a row backwards, the unpooled column and row last). */
            tl_join_pairs(d0 + 2 * ow, n, full0, d[0], d[1]);
            tl_join_pairs(d1 + 2 * ow, n, full1, d[2], d[3]);
        }
        ow = OW;
#endif
        for (; ow < OW; ow++) {
            const float e[4] = {r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
            float v, xe;
            const int k = tl_win_argmax(e[0], e[1], e[2], e[3], a, b, &v, &xe);
            const float g = yr[ow] > 0.0f ? dyr[ow] : 0.0f;
            float d[4];
            for (int j = 0; j < 4; j++) d[j] = fmaf(ga, j == k ? g : 0.0f, fmaf(c1, e[j] - m, c0));
            d0[2 * ow] = d[0]; d0[2 * ow + 1] = d[1]; d1[2 * ow] = d[2]; d1[2 * ow + 1] = d[3];
        }
        if (W & 1) { /* the unpooled last column of both rows */
            d0[W - 1] = fmaf(ga, 0.0f, fmaf(c1, r0[W - 1] - m, c0));
            d1[W - 1] = fmaf(ga, 0.0f, fmaf(c1, r1[W - 1] - m, c0));
        }
    }
    if (H & 1) /* the unpooled last row */
        for (tl_size w = 0; w < W; w++) dx[(H - 1) * W + w] = fmaf(ga, 0.0f, fmaf(c1, x[(H - 1) * W + w] - m, c0));
}

static int tl_check_pool2(const char *fn, tl_size N, tl_size C, tl_size H, tl_size W) {
    TL_TRY(tl_check_ncs(fn, N, C, H * W > 0 ? H * W : 0));
    TL_CHECK(fn, H >= 2 && W >= 2, "%s: 2x2 pooling needs H, W >= 2, got %td x %td", fn, H, W);
    TL_CHECK(fn, H * W <= INT32_MAX, "%s: plane H*W = %td is too large", fn, H * W);
    return TL_OK;
}

int tl_batchnorm_relu_maxpool2_train_forward(float *y, float *save_mean, float *save_rstd, float *running_mean,
                                             float *running_var, const float *x, const float *gamma, const float *beta,
                                             tl_size N, tl_size C, tl_size H, tl_size W, float momentum, float eps) {
    static const char fn[] = "tl_batchnorm_relu_maxpool2_train_forward";
    TL_CHECK_POS(fn, H);
    TL_CHECK_POS(fn, W);
    TL_TRY(tl_check_pool2(fn, N, C, H, W));
    TL_TRY(tl_check_train_forward(fn, y, save_mean, save_rstd, x, N * H * W, momentum, eps));
    const tl_size S = H * W, OH = H / 2, OW = W / 2, P = N * C;
    TL_NORM_SCRATCH(fn, ws, 4 * (size_t)C + tl_channel_ws(N, C, S));
    double *s0 = ws, *s1 = ws + C;
    float *shift = (float *)(ws + 2 * C), *a = shift + C, *b = a + C;
    tl_bn_batch_stats(save_mean, save_rstd, running_mean, running_var, x, s0, s1, shift, ws + 4 * C, N, C, S,
                      momentum, eps);
    tl_bn_fused_coefficients(a, b, gamma, beta, save_mean, save_rstd, C);
    #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
    for (tl_size p = 0; p < P; p++) tl_bnrp_forward_plane(y + p * OH * OW, x + p * S, a[p % C], b[p % C], H, W, OH, OW);
    return TL_OK;
}

int tl_batchnorm_relu_maxpool2_train_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *y,
                                              const float *x, const float *gamma, const float *beta,
                                              const float *save_mean, const float *save_rstd, tl_size N, tl_size C,
                                              tl_size H, tl_size W) {
    static const char fn[] = "tl_batchnorm_relu_maxpool2_train_backward";
    TL_CHECK_PTR(fn, dy);
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, save_mean);
    TL_CHECK_PTR(fn, save_rstd);
    TL_CHECK_POS(fn, H);
    TL_CHECK_POS(fn, W);
    TL_TRY(tl_check_pool2(fn, N, C, H, W));
    if (dx == NULL && dgamma == NULL && dbeta == NULL) return TL_OK;
    const tl_size S = H * W, OH = H / 2, OW = W / 2, P = N * C, Q = OH * OW;
    /* Scratch: s0, s1 (2C doubles), a, b, ga, c1, c0 (5C floats in 3C doubles), plane partials (2P). */
    TL_NORM_SCRATCH(fn, ws, 5 * (size_t)C + 2 * (size_t)P);
    double *s0 = ws, *s1 = ws + C, *part = ws + 5 * C;
    float *a = (float *)(ws + 2 * C), *b = a + C, *ga = b + C, *c1 = ga + C, *c0 = c1 + C;
    tl_bn_fused_coefficients(a, b, gamma, beta, save_mean, save_rstd, C);
    #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
    for (tl_size p = 0; p < P; p++)
        tl_bnrp_sums_plane(part + 2 * p, dy + p * Q, y + p * Q, x + p * S, a[p % C], b[p % C], (double)save_mean[p % C],
                           H, W, OH, OW);
    for (tl_size c = 0; c < C; c++) { s0[c] = 0.0; s1[c] = 0.0; }
    for (tl_size n = 0; n < N; n++)
        for (tl_size c = 0; c < C; c++) { s0[c] += part[2 * (n * C + c)]; s1[c] += part[2 * (n * C + c) + 1]; }
    tl_bn_backward_coefficients(dgamma, dbeta, ga, c1, c0, s0, s1, gamma, save_rstd, C, N * S);
    if (dx) {
        #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
        for (tl_size p = 0; p < P; p++) {
            const tl_size c = p % C;
            tl_bnrp_dx_plane(dx + p * S, dy + p * Q, y + p * Q, x + p * S, a[c], b[c], ga[c], c1[c], save_mean[c], c0[c],
                             H, W, OH, OW);
        }
    }
    return TL_OK;
}

int tl_batchnorm_relu_maxpool2_eval_forward(float *y, const float *x, const float *gamma, const float *beta,
                                            const float *running_mean, const float *running_var, tl_size N, tl_size C,
                                            tl_size H, tl_size W, float eps) {
    static const char fn[] = "tl_batchnorm_relu_maxpool2_eval_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_POS(fn, H);
    TL_CHECK_POS(fn, W);
    TL_TRY(tl_check_pool2(fn, N, C, H, W));
    TL_TRY(tl_check_running_stats(fn, running_mean, running_var, C, eps));
    const tl_size S = H * W, OH = H / 2, OW = W / 2, P = N * C;
    TL_NORM_SCRATCH(fn, ws, (size_t)C);
    float *a = (float *)ws, *b = a + C;
    tl_bn_eval_coefficients(a, b, gamma, beta, running_mean, running_var, C, eps);
    #pragma omp parallel for schedule(static) if (P * S > TL_NORM_PAR_MIN && P > 1)
    for (tl_size p = 0; p < P; p++) tl_bnrp_forward_plane(y + p * OH * OW, x + p * S, a[p % C], b[p % C], H, W, OH, OW);
    return TL_OK;
}

/* Losses with per-sample outputs: cross-entropy (hard labels with smoothing, soft targets), MSE, KL, margin,
   and the reductions that turn them into one number. Each row is computed by one thread with a fixed
   order of operations, so results are bitwise independent of the number of threads. */
#include "tl_internal.h"
#include "tl_fastmath.h"
#include "../include/tl_loss.h"

#include <math.h>
#include <string.h>

/* Rows x classes above which a loss is worth an OpenMP region (a (128,10) batch is not). */
#define TL_LOSS_PARALLEL_MIN 32768

/* Row statistics of softmax(z * inv_t): m = max_c z_c * inv_t and s = sum_c exp(z_c * inv_t - m),
   so log softmax = z * inv_t - m - log s. */
static inline void tl_softmax_stats(const float *z, tl_size C, float inv_t, float *m_out, float *s_out) {
    float m = -INFINITY;
    #pragma omp simd reduction(max : m)
    for (tl_size c = 0; c < C; c++) m = fmaxf(m, z[c]);
    m *= inv_t;
    float s = 0.0f;
    #pragma omp simd reduction(+ : s)
    for (tl_size c = 0; c < C; c++) s += tl_expf(z[c] * inv_t - m);
    *m_out = m;
    *s_out = s;
}

/* Same, storing e_c = exp(z_c * inv_t - m) in e (C) for a backward that needs them. */
static inline void tl_softmax_exps(float *e, const float *z, tl_size C, float inv_t, float *m_out, float *s_out) {
    float m = -INFINITY;
    #pragma omp simd reduction(max : m)
    for (tl_size c = 0; c < C; c++) m = fmaxf(m, z[c]);
    m *= inv_t;
    float s = 0.0f;
    #pragma omp simd reduction(+ : s)
    for (tl_size c = 0; c < C; c++) {
        e[c] = tl_expf(z[c] * inv_t - m);
        s += e[c];
    }
    *m_out = m;
    *s_out = s;
}

/* Checks shared by the (N, C) losses: N >= 0, C > 0, a finite positive temperature. */
static int tl_check_nc(const char *fn, tl_size N, tl_size C, float temperature) {
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK_POS(fn, C);
    TL_CHECK(fn, temperature > 0.0f && isfinite(temperature),
             "%s: temperature must be finite and > 0, got %g", fn, temperature);
    return TL_OK;
}

/* Every label must index a class; the message names the first bad row. */
static int tl_check_labels(const char *fn, const int32_t *labels, tl_size N, tl_size C) {
    for (tl_size n = 0; n < N; n++)
        if (labels[n] < 0 || (tl_size)labels[n] >= C)
            return tl_fail(TL_ERR_INVALID_ARGUMENT, "%s: labels[%td] = %d is outside [0, %td)", fn, (ptrdiff_t)n,
                           (int)labels[n], (ptrdiff_t)C);
    return TL_OK;
}

static int tl_check_ce(const char *fn, const int32_t *labels, tl_size N, tl_size C, float smoothing, float temperature) {
    TL_TRY(tl_check_nc(fn, N, C, temperature));
    TL_CHECK(fn, smoothing >= 0.0f && smoothing <= 1.0f, "%s: smoothing must be in [0, 1], got %g", fn, smoothing);
    return tl_check_labels(fn, labels, N, C);
}

int tl_loss_ce_forward(float *loss, const float *logits, const int32_t *labels, tl_size N, tl_size C,
                       float smoothing, float temperature) {
    static const char fn[] = "tl_loss_ce_forward";
    TL_CHECK_PTR(fn, loss);
    TL_CHECK_PTR(fn, logits);
    TL_CHECK_PTR(fn, labels);
    TL_TRY(tl_check_ce(fn, labels, N, C, smoothing, temperature));
    const float inv_t = 1.0f / temperature;
    const float off = smoothing / (float)C, on = 1.0f - smoothing;
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *z = logits + n * C;
        float m, s;
        tl_softmax_stats(z, C, inv_t, &m, &s);
        /* sum_c t_c z_c / T; the loss is formed as (m - that) + log s so that a confident correct row
           does not lose its small loss to cancellation between two large numbers. */
        float zt = on * z[labels[n]] * inv_t;
        if (smoothing > 0.0f) {
            float zsum = 0.0f;
            #pragma omp simd reduction(+ : zsum)
            for (tl_size c = 0; c < C; c++) zsum += z[c];
            zt += off * zsum * inv_t;
        }
        loss[n] = (m - zt) + logf(s);
    }
    return TL_OK;
}

int tl_loss_ce_backward(float *dlogits, const float *dloss, const float *logits, const int32_t *labels,
                        tl_size N, tl_size C, float smoothing, float temperature) {
    static const char fn[] = "tl_loss_ce_backward";
    TL_CHECK_PTR(fn, dlogits);
    TL_CHECK_PTR(fn, dloss);
    TL_CHECK_PTR(fn, logits);
    TL_CHECK_PTR(fn, labels);
    TL_TRY(tl_check_ce(fn, labels, N, C, smoothing, temperature));
    const float inv_t = 1.0f / temperature;
    const float off = smoothing / (float)C, on = 1.0f - smoothing;
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *z = logits + n * C;
        float *g = dlogits + n * C;
        float m, s;
        tl_softmax_exps(g, z, C, inv_t, &m, &s);
        const float scale = dloss[n] * inv_t, inv_s = 1.0f / s;
        #pragma omp simd
        for (tl_size c = 0; c < C; c++) g[c] = scale * (g[c] * inv_s - off);
        g[labels[n]] -= scale * on;
    }
    return TL_OK;
}

int tl_loss_soft_ce_forward(float *loss, const float *logits, const float *targets, tl_size N, tl_size C,
                            float temperature) {
    static const char fn[] = "tl_loss_soft_ce_forward";
    TL_CHECK_PTR(fn, loss);
    TL_CHECK_PTR(fn, logits);
    TL_CHECK_PTR(fn, targets);
    TL_TRY(tl_check_nc(fn, N, C, temperature));
    const float inv_t = 1.0f / temperature;
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *z = logits + n * C, *q = targets + n * C;
        float m, s;
        tl_softmax_stats(z, C, inv_t, &m, &s);
        /* -sum q (z/T - m - log s) = sum_c q_c (m - z_c/T) + sum(q) log s; each (m - z_c/T) >= 0. */
        float qsum = 0.0f, qz = 0.0f;
        #pragma omp simd reduction(+ : qsum, qz)
        for (tl_size c = 0; c < C; c++) {
            qsum += q[c];
            qz += q[c] * (m - z[c] * inv_t);
        }
        loss[n] = qz + qsum * logf(s);
    }
    return TL_OK;
}

int tl_loss_soft_ce_backward(float *dlogits, float *dtargets, const float *dloss, const float *logits,
                             const float *targets, tl_size N, tl_size C, float temperature) {
    static const char fn[] = "tl_loss_soft_ce_backward";
    TL_CHECK_PTR(fn, dloss);
    TL_CHECK_PTR(fn, logits);
    TL_CHECK_PTR(fn, targets);
    TL_TRY(tl_check_nc(fn, N, C, temperature));
    if (dlogits == NULL && dtargets == NULL) return TL_OK;
    const float inv_t = 1.0f / temperature;
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *z = logits + n * C, *q = targets + n * C;
        float m, s;
        if (dlogits != NULL) {
            float *g = dlogits + n * C;
            tl_softmax_exps(g, z, C, inv_t, &m, &s);
            float qsum = 0.0f;
            #pragma omp simd reduction(+ : qsum)
            for (tl_size c = 0; c < C; c++) qsum += q[c];
            const float scale = dloss[n] * inv_t, pq = qsum / s;
            #pragma omp simd
            for (tl_size c = 0; c < C; c++) g[c] = scale * (g[c] * pq - q[c]);
        } else {
            tl_softmax_stats(z, C, inv_t, &m, &s);
        }
        if (dtargets != NULL) {
            float *gq = dtargets + n * C;
            const float lse = m + logf(s), d = dloss[n];
            #pragma omp simd
            for (tl_size c = 0; c < C; c++) gq[c] = d * (lse - z[c] * inv_t);
        }
    }
    return TL_OK;
}

int tl_loss_mse_forward(float *loss, const float *x, const float *target, tl_size N, tl_size D) {
    static const char fn[] = "tl_loss_mse_forward";
    TL_CHECK_PTR(fn, loss);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, target);
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK_POS(fn, D);
    #pragma omp parallel for schedule(static) if (N * D > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *a = x + n * D, *b = target + n * D;
        double acc = 0.0;
        #pragma omp simd reduction(+ : acc)
        for (tl_size d = 0; d < D; d++) {
            const double e = (double)a[d] - (double)b[d];
            acc += e * e;
        }
        loss[n] = (float)(acc / (double)D);
    }
    return TL_OK;
}

int tl_loss_mse_backward(float *dx, float *dtarget, const float *dloss, const float *x, const float *target,
                         tl_size N, tl_size D) {
    static const char fn[] = "tl_loss_mse_backward";
    TL_CHECK_PTR(fn, dloss);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, target);
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK_POS(fn, D);
    if (dx == NULL && dtarget == NULL) return TL_OK;
    const float two_over_d = 2.0f / (float)D;
    #pragma omp parallel for schedule(static) if (N * D > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *a = x + n * D, *b = target + n * D;
        const float scale = dloss[n] * two_over_d;
        if (dx != NULL) {
            float *g = dx + n * D;
            #pragma omp simd
            for (tl_size d = 0; d < D; d++) g[d] = scale * (a[d] - b[d]);
        }
        if (dtarget != NULL) {
            float *g = dtarget + n * D;
            #pragma omp simd
            for (tl_size d = 0; d < D; d++) g[d] = -(scale * (a[d] - b[d]));
        }
    }
    return TL_OK;
}

/* KL(p || r) of one row from the softmax statistics of both logit rows: with a' = a/T - m_a and
   b' = b/T - m_b, log p - log r = (a' - b') - log s_a + log s_b, and the sum of p over the row is 1.
   a' - b' is formed as (a - b)/T - (m_a - m_b), which is exactly 0 for identical rows whatever the
   compiler fuses, so KL(p || p) = 0 and its gradients are exactly 0. */
static inline float tl_kl_row(const float *a, const float *b, tl_size C, float inv_t, float ma, float sa, float mb, float sb) {
    const float dm = ma - mb;
    float acc = 0.0f;
    #pragma omp simd reduction(+ : acc)
    for (tl_size c = 0; c < C; c++) acc += tl_expf(a[c] * inv_t - ma) * ((a[c] - b[c]) * inv_t - dm);
    return acc / sa + (logf(sb) - logf(sa));
}

int tl_loss_kl_forward(float *loss, const float *logits_p, const float *logits_r, tl_size N, tl_size C,
                       float temperature) {
    static const char fn[] = "tl_loss_kl_forward";
    TL_CHECK_PTR(fn, loss);
    TL_CHECK_PTR(fn, logits_p);
    TL_CHECK_PTR(fn, logits_r);
    TL_TRY(tl_check_nc(fn, N, C, temperature));
    const float inv_t = 1.0f / temperature;
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *a = logits_p + n * C, *b = logits_r + n * C;
        float ma, sa, mb, sb;
        tl_softmax_stats(a, C, inv_t, &ma, &sa);
        tl_softmax_stats(b, C, inv_t, &mb, &sb);
        loss[n] = tl_kl_row(a, b, C, inv_t, ma, sa, mb, sb);
    }
    return TL_OK;
}

int tl_loss_kl_backward(float *dlogits_p, float *dlogits_r, const float *dloss, const float *logits_p,
                        const float *logits_r, tl_size N, tl_size C, float temperature) {
    static const char fn[] = "tl_loss_kl_backward";
    TL_CHECK_PTR(fn, dloss);
    TL_CHECK_PTR(fn, logits_p);
    TL_CHECK_PTR(fn, logits_r);
    TL_TRY(tl_check_nc(fn, N, C, temperature));
    if (dlogits_p == NULL && dlogits_r == NULL) return TL_OK;
    const float inv_t = 1.0f / temperature;
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *a = logits_p + n * C, *b = logits_r + n * C;
        float ma, sa, mb, sb;
        tl_softmax_stats(a, C, inv_t, &ma, &sa);
        tl_softmax_stats(b, C, inv_t, &mb, &sb);
        const float scale = dloss[n] * inv_t, inv_sa = 1.0f / sa, inv_sb = 1.0f / sb;
        if (dlogits_p != NULL) {
            /* log p - log r - KL = (a' - b') - (log s_a - log s_b) - KL, with the constant folded once. */
            const float shift = (logf(sa) - logf(sb)) + tl_kl_row(a, b, C, inv_t, ma, sa, mb, sb), dm = ma - mb;
            float *g = dlogits_p + n * C;
            #pragma omp simd
            for (tl_size c = 0; c < C; c++)
                g[c] = scale * (tl_expf(a[c] * inv_t - ma) * inv_sa) * (((a[c] - b[c]) * inv_t - dm) - shift);
        }
        if (dlogits_r != NULL) {
            float *g = dlogits_r + n * C;
            /* r and p as separate statements: C contracts only within an expression, so neither product is
               fused into the subtraction and r - p is exactly 0 where the rows are equal. */
            #pragma omp simd
            for (tl_size c = 0; c < C; c++) {
                const float r = tl_expf(b[c] * inv_t - mb) * inv_sb;
                const float p = tl_expf(a[c] * inv_t - ma) * inv_sa;
                g[c] = scale * (r - p);
            }
        }
    }
    return TL_OK;
}

/* Checks of the margin loss: a row needs a class other than its label. */
static int tl_check_margin(const char *fn, const int32_t *labels, tl_size N, tl_size C) {
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK(fn, C >= 2, "%s: C must be >= 2 (a margin needs another class), got %td", fn, (ptrdiff_t)C);
    return tl_check_labels(fn, labels, N, C);
}

/* The first index of the largest entry of z (C) other than y; a NaN row gives the first index other than y. */
static inline tl_size tl_runner_up(const float *z, tl_size C, int32_t y) {
    tl_size best = y == 0 ? 1 : 0;
    for (tl_size c = best + 1; c < C; c++)
        if (c != (tl_size)y && z[c] > z[best]) best = c;
    return best;
}

int tl_loss_margin_forward(float *loss, const float *logits, const int32_t *labels, tl_size N, tl_size C) {
    static const char fn[] = "tl_loss_margin_forward";
    TL_CHECK_PTR(fn, loss);
    TL_CHECK_PTR(fn, logits);
    TL_CHECK_PTR(fn, labels);
    TL_TRY(tl_check_margin(fn, labels, N, C));
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *z = logits + n * C;
        loss[n] = z[tl_runner_up(z, C, labels[n])] - z[labels[n]];
    }
    return TL_OK;
}

int tl_loss_margin_backward(float *dlogits, const float *dloss, const float *logits, const int32_t *labels,
                            tl_size N, tl_size C) {
    static const char fn[] = "tl_loss_margin_backward";
    TL_CHECK_PTR(fn, dlogits);
    TL_CHECK_PTR(fn, dloss);
    TL_CHECK_PTR(fn, logits);
    TL_CHECK_PTR(fn, labels);
    TL_TRY(tl_check_margin(fn, labels, N, C));
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *z = logits + n * C;
        float *g = dlogits + n * C;
        for (tl_size c = 0; c < C; c++) g[c] = 0.0f;
        g[tl_runner_up(z, C, labels[n])] = dloss[n];
        g[labels[n]] = -dloss[n];
    }
    return TL_OK;
}

int tl_loss_kl_prob_forward(float *loss, const float *p, const float *logr, tl_size N, tl_size C) {
    static const char fn[] = "tl_loss_kl_prob_forward";
    TL_CHECK_PTR(fn, loss);
    TL_CHECK_PTR(fn, p);
    TL_CHECK_PTR(fn, logr);
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK_POS(fn, C);
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float *pr = p + n * C, *lr = logr + n * C;
        float acc = 0.0f;
        for (tl_size c = 0; c < C; c++)
            if (pr[c] != 0.0f) acc += pr[c] * (logf(pr[c]) - lr[c]);
        loss[n] = acc;
    }
    return TL_OK;
}

int tl_loss_kl_prob_backward(float *dlogr, const float *dloss, const float *p, tl_size N, tl_size C) {
    static const char fn[] = "tl_loss_kl_prob_backward";
    TL_CHECK_PTR(fn, dlogr);
    TL_CHECK_PTR(fn, dloss);
    TL_CHECK_PTR(fn, p);
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK_POS(fn, C);
    #pragma omp parallel for schedule(static) if (N * C > TL_LOSS_PARALLEL_MIN)
    for (tl_size n = 0; n < N; n++) {
        const float d = dloss[n];
        #pragma omp simd
        for (tl_size c = 0; c < C; c++) dlogr[n * C + c] = -(d * p[n * C + c]);
    }
    return TL_OK;
}

static int tl_check_reduction(const char *fn, const float *weights, tl_size N, int reduction) {
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK(fn, reduction >= TL_REDUCTION_SUM && reduction <= TL_REDUCTION_WEIGHTED_NORMALIZED,
             "%s: reduction must be a tl_reduction (0..4), got %d", fn, reduction);
    if (reduction >= TL_REDUCTION_WEIGHTED_SUM) TL_CHECK_PTR(fn, weights);
    return TL_OK;
}

/* sum_i w_i in index order, in double; the normaliser of WEIGHTED_NORMALIZED. */
static double tl_weight_sum(const float *w, tl_size N) {
    double s = 0.0;
    for (tl_size i = 0; i < N; i++) s += (double)w[i];
    return s;
}

int tl_loss_reduce(float *out, const float *loss, const float *weights, tl_size N, int reduction) {
    static const char fn[] = "tl_loss_reduce";
    TL_CHECK_PTR(fn, out);
    TL_CHECK_PTR(fn, loss);
    TL_TRY(tl_check_reduction(fn, weights, N, reduction));
    double acc = 0.0;
    if (reduction <= TL_REDUCTION_MEAN) {
        for (tl_size i = 0; i < N; i++) acc += (double)loss[i];
    } else {
        for (tl_size i = 0; i < N; i++) acc += (double)weights[i] * (double)loss[i];
    }
    switch (reduction) {
    case TL_REDUCTION_MEAN:
    case TL_REDUCTION_WEIGHTED_MEAN:
        if (N > 0) acc /= (double)N;
        break;
    case TL_REDUCTION_WEIGHTED_NORMALIZED: {
        const double ws = tl_weight_sum(weights, N);
        TL_CHECK(fn, ws != 0.0, "%s: weights sum to 0, WEIGHTED_NORMALIZED is undefined (N = %td)", fn, (ptrdiff_t)N);
        acc /= ws;
        break;
    }
    default: break;
    }
    *out = (float)acc;
    return TL_OK;
}

int tl_loss_reduce_backward(float *dloss, float dout, const float *weights, tl_size N, int reduction) {
    static const char fn[] = "tl_loss_reduce_backward";
    TL_CHECK_PTR(fn, dloss);
    TL_TRY(tl_check_reduction(fn, weights, N, reduction));
    if (N == 0) return reduction == TL_REDUCTION_WEIGHTED_NORMALIZED
        ? tl_fail(TL_ERR_INVALID_ARGUMENT, "%s: weights sum to 0, WEIGHTED_NORMALIZED is undefined (N = 0)", fn) : TL_OK;
    double scale = (double)dout;
    if (reduction == TL_REDUCTION_MEAN || reduction == TL_REDUCTION_WEIGHTED_MEAN) scale /= (double)N;
    if (reduction == TL_REDUCTION_WEIGHTED_NORMALIZED) {
        const double ws = tl_weight_sum(weights, N);
        TL_CHECK(fn, ws != 0.0, "%s: weights sum to 0, WEIGHTED_NORMALIZED is undefined", fn);
        scale /= ws;
    }
    if (reduction <= TL_REDUCTION_MEAN) {
        for (tl_size i = 0; i < N; i++) dloss[i] = (float)scale;
    } else {
        for (tl_size i = 0; i < N; i++) dloss[i] = (float)(scale * (double)weights[i]);
    }
    return TL_OK;
}

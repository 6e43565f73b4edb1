/* Elementwise, broadcast, reduction and layout ops for autograd. Reductions use fixed blocks summed in a
   fixed order, so their results do not depend on the number of threads. */
#include "tl_internal.h"
#include "../include/tl_ops.h"

#include <math.h>
#include <string.h>

/* Below this many elements a parallel region costs more than it saves. */
#define TL_PAR_MIN 32768

#define TL_CHECK_UNARY(fn, y, x, n) \
    TL_CHECK_PTR(fn, y); TL_CHECK_PTR(fn, x); TL_CHECK_NONNEG(fn, n)

int tl_fill(float *x, tl_size n, float value) {
    TL_CHECK_PTR("tl_fill", x);
    TL_CHECK_NONNEG("tl_fill", n);
    #pragma omp parallel for schedule(static) if (n > TL_PAR_MIN)
    for (tl_size i = 0; i < n; i++) x[i] = value;
    return TL_OK;
}

/* The binary elementwise ops differ only in their operator. */
#define TL_BINARY_OP(name, expr) \
    int name(float *y, const float *a, const float *b, tl_size n) { \
        TL_CHECK_UNARY(#name, y, a, n); TL_CHECK_PTR(#name, b); \
        _Pragma("omp parallel for schedule(static) if (n > TL_PAR_MIN)") \
        for (tl_size i = 0; i < n; i++) y[i] = (expr); \
        return TL_OK; \
    }
TL_BINARY_OP(tl_add, a[i] + b[i])
TL_BINARY_OP(tl_sub, a[i] - b[i])
TL_BINARY_OP(tl_mul, a[i] * b[i])

int tl_affine(float *y, const float *x, tl_size n, float alpha, float beta) {
    TL_CHECK_UNARY("tl_affine", y, x, n);
    #pragma omp parallel for schedule(static) if (n > TL_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] = alpha * x[i] + beta;
    return TL_OK;
}

int tl_axpy(float *y, const float *x, tl_size n, float alpha) {
    TL_CHECK_UNARY("tl_axpy", y, x, n);
    #pragma omp parallel for schedule(static) if (n > TL_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] += alpha * x[i];
    return TL_OK;
}

int tl_lerp(float *y, const float *x, tl_size n, float w) {
    TL_CHECK_UNARY("tl_lerp", y, x, n);
    #pragma omp parallel for schedule(static) if (n > TL_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] += w * (x[i] - y[i]);
    return TL_OK;
}

int tl_add_channel_bias(float *y, const float *x, const float *bias, tl_size outer, tl_size c, tl_size inner) {
    TL_CHECK_UNARY("tl_add_channel_bias", y, x, outer);
    TL_CHECK_PTR("tl_add_channel_bias", bias);
    TL_CHECK_NONNEG("tl_add_channel_bias", c);
    TL_CHECK_NONNEG("tl_add_channel_bias", inner);
    const tl_size planes = outer * c;
    #pragma omp parallel for schedule(static) if (planes * inner > TL_PAR_MIN)
    for (tl_size p = 0; p < planes; p++) {
        const float b = bias[p % c];
        const float *xs = x + p * inner;
        float *ys = y + p * inner;
        for (tl_size i = 0; i < inner; i++) ys[i] = xs[i] + b;
    }
    return TL_OK;
}

int tl_sum_channels(float *out, const float *x, tl_size outer, tl_size c, tl_size inner) {
    TL_CHECK_UNARY("tl_sum_channels", out, x, outer);
    TL_CHECK_NONNEG("tl_sum_channels", c);
    TL_CHECK_NONNEG("tl_sum_channels", inner);
    #pragma omp parallel for schedule(static) if (outer * c * inner > TL_PAR_MIN)
    for (tl_size ch = 0; ch < c; ch++) {
        double s = 0.0;
        for (tl_size o = 0; o < outer; o++) {
            const float *xs = x + (o * c + ch) * inner;
            float part = 0.0f;
            for (tl_size i = 0; i < inner; i++) part += xs[i];
            s += part;
        }
        out[ch] = (float)s;
    }
    return TL_OK;
}

int tl_sum_axis(float *out, const float *x, tl_size outer, tl_size axis, tl_size inner) {
    TL_CHECK_UNARY("tl_sum_axis", out, x, outer);
    TL_CHECK_NONNEG("tl_sum_axis", axis);
    TL_CHECK_NONNEG("tl_sum_axis", inner);
    #pragma omp parallel for schedule(static) if (outer * axis * inner > TL_PAR_MIN)
    for (tl_size o = 0; o < outer; o++) {
        float *os = out + o * inner;
        for (tl_size i = 0; i < inner; i++) os[i] = 0.0f;
        for (tl_size a = 0; a < axis; a++) {
            const float *xs = x + (o * axis + a) * inner;
            for (tl_size i = 0; i < inner; i++) os[i] += xs[i];
        }
    }
    return TL_OK;
}

int tl_broadcast_axis(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner) {
    TL_CHECK_UNARY("tl_broadcast_axis", y, x, outer);
    TL_CHECK_NONNEG("tl_broadcast_axis", axis);
    TL_CHECK_NONNEG("tl_broadcast_axis", inner);
    #pragma omp parallel for schedule(static) if (outer * axis * inner > TL_PAR_MIN)
    for (tl_size o = 0; o < outer; o++)
        for (tl_size a = 0; a < axis; a++)
            memcpy(y + (o * axis + a) * inner, x + o * inner, (size_t)inner * sizeof(float));
    return TL_OK;
}

/* Sum in double of `term` over i < n in TL_SUM_CHUNKS chunks fixed by n alone; the chunk partials are
   added in order, so the result does not depend on the thread count. (No `omp ordered`: clang emits a
   runtime call for it that Debian's libomp 14 lacks.) */
#define TL_SUM_CHUNKS 64
#define TL_BLOCKED_SUM(result, n, term) \
    do { \
        double parts_[TL_SUM_CHUNKS]; \
        const tl_size step_ = ((n) + TL_SUM_CHUNKS - 1) / TL_SUM_CHUNKS; \
        _Pragma("omp parallel for schedule(static) if ((n) > TL_PAR_MIN)") \
        for (int c_ = 0; c_ < TL_SUM_CHUNKS; c_++) { \
            const tl_size begin_ = c_ * step_, end_ = begin_ + step_ < (n) ? begin_ + step_ : (n); \
            double part_ = 0.0; \
            for (tl_size i = begin_; i < end_; i++) part_ += (double)(term); \
            parts_[c_] = part_; \
        } \
        double total_ = 0.0; \
        for (int c_ = 0; c_ < TL_SUM_CHUNKS; c_++) total_ += parts_[c_]; \
        *(result) = total_; \
    } while (0)

int tl_sum(double *out, const float *x, tl_size n) {
    TL_CHECK_PTR("tl_sum", out);
    TL_CHECK_PTR("tl_sum", x);
    TL_CHECK_NONNEG("tl_sum", n);
    TL_BLOCKED_SUM(out, n, x[i]);
    return TL_OK;
}

int tl_dot(double *out, const float *a, const float *b, tl_size n) {
    TL_CHECK_PTR("tl_dot", out);
    TL_CHECK_PTR("tl_dot", a);
    TL_CHECK_PTR("tl_dot", b);
    TL_CHECK_NONNEG("tl_dot", n);
    TL_BLOCKED_SUM(out, n, (double)a[i] * b[i]);
    return TL_OK;
}

int tl_count_nonfinite(tl_size *count, const float *x, tl_size n) {
    TL_CHECK_PTR("tl_count_nonfinite", count);
    TL_CHECK_PTR("tl_count_nonfinite", x);
    TL_CHECK_NONNEG("tl_count_nonfinite", n);
    tl_size bad = 0;
    #pragma omp parallel for schedule(static) reduction(+ : bad) if (n > TL_PAR_MIN)
    for (tl_size i = 0; i < n; i++) bad += !isfinite(x[i]);
    *count = bad;
    return TL_OK;
}

int tl_transpose(float *y, const float *x, tl_size rows, tl_size cols) {
    TL_CHECK_UNARY("tl_transpose", y, x, rows);
    TL_CHECK_NONNEG("tl_transpose", cols);
    enum { T = 32 };
    #pragma omp parallel for schedule(static) collapse(2) if (rows * cols > TL_PAR_MIN)
    for (tl_size r0 = 0; r0 < rows; r0 += T)
        for (tl_size c0 = 0; c0 < cols; c0 += T)
            for (tl_size r = r0; r < r0 + T && r < rows; r++)
                for (tl_size c = c0; c < c0 + T && c < cols; c++) y[c * rows + r] = x[r * cols + c];
    return TL_OK;
}

static int tl_check_indices(const char *fn, const int64_t *index, tl_size m, tl_size n) {
    for (tl_size i = 0; i < m; i++)
        if (index[i] < 0 || index[i] >= n)
            return tl_fail(TL_ERR_INVALID_ARGUMENT, "%s: index[%td] = %lld is outside [0, %td)", fn, i, (long long)index[i], n);
    return TL_OK;
}

int tl_gather_rows(float *y, const float *x, const int64_t *index, tl_size m, tl_size n, tl_size row) {
    TL_CHECK_UNARY("tl_gather_rows", y, x, m);
    TL_CHECK_PTR("tl_gather_rows", index);
    TL_CHECK_NONNEG("tl_gather_rows", n);
    TL_CHECK_NONNEG("tl_gather_rows", row);
    TL_TRY(tl_check_indices("tl_gather_rows", index, m, n));
    #pragma omp parallel for schedule(static) if (m * row > TL_PAR_MIN)
    for (tl_size i = 0; i < m; i++) memcpy(y + i * row, x + index[i] * row, (size_t)row * sizeof(float));
    return TL_OK;
}

int tl_scatter_add_rows(float *y, const float *x, const int64_t *index, tl_size m, tl_size n, tl_size row) {
    TL_CHECK_UNARY("tl_scatter_add_rows", y, x, m);
    TL_CHECK_PTR("tl_scatter_add_rows", index);
    TL_CHECK_NONNEG("tl_scatter_add_rows", n);
    TL_CHECK_NONNEG("tl_scatter_add_rows", row);
    TL_TRY(tl_check_indices("tl_scatter_add_rows", index, m, n));
    for (tl_size i = 0; i < m; i++) {
        float *ys = y + index[i] * row;
        const float *xs = x + i * row;
        for (tl_size k = 0; k < row; k++) ys[k] += xs[k];
    }
    return TL_OK;
}

int tl_l2_normalize_rows_forward(float *y, float *norms, const float *x, tl_size rows, tl_size d, float eps) {
    TL_CHECK_UNARY("tl_l2_normalize_rows_forward", y, x, rows);
    TL_CHECK_PTR("tl_l2_normalize_rows_forward", norms);
    TL_CHECK_POS("tl_l2_normalize_rows_forward", d);
    TL_CHECK("tl_l2_normalize_rows_forward", eps > 0, "tl_l2_normalize_rows_forward: eps must be > 0, got %g", eps);
    #pragma omp parallel for schedule(static) if (rows * d > TL_PAR_MIN)
    for (tl_size r = 0; r < rows; r++) {
        const float *xs = x + r * d;
        double ss = 0.0;
        for (tl_size k = 0; k < d; k++) ss += (double)xs[k] * xs[k];
        const float norm = fmaxf((float)sqrt(ss), eps);
        norms[r] = norm;
        for (tl_size k = 0; k < d; k++) y[r * d + k] = xs[k] / norm;
    }
    return TL_OK;
}

int tl_l2_normalize_rows_backward(float *dx, const float *dy, const float *y, const float *norms, tl_size rows, tl_size d, float eps) {
    TL_CHECK_UNARY("tl_l2_normalize_rows_backward", dx, dy, rows);
    TL_CHECK_PTR("tl_l2_normalize_rows_backward", y);
    TL_CHECK_PTR("tl_l2_normalize_rows_backward", norms);
    TL_CHECK_POS("tl_l2_normalize_rows_backward", d);
    #pragma omp parallel for schedule(static) if (rows * d > TL_PAR_MIN)
    for (tl_size r = 0; r < rows; r++) {
        const float *dys = dy + r * d, *ys = y + r * d;
        const float norm = norms[r];
        /* A row whose norm was clamped to eps is a plain scaling x / eps. */
        double proj = 0.0;
        if (norm > eps)
            for (tl_size k = 0; k < d; k++) proj += (double)dys[k] * ys[k];
        for (tl_size k = 0; k < d; k++) dx[r * d + k] = (dys[k] - ys[k] * (float)proj) / norm;
    }
    return TL_OK;
}

int tl_sign_step_project(float *x_adv, const float *grad, const float *x0, tl_size n, float step, float eps, float lo, float hi) {
    TL_CHECK_UNARY("tl_sign_step_project", x_adv, grad, n);
    TL_CHECK_PTR("tl_sign_step_project", x0);
    TL_CHECK("tl_sign_step_project", eps >= 0, "tl_sign_step_project: eps must be >= 0, got %g", eps);
    TL_CHECK("tl_sign_step_project", lo <= hi, "tl_sign_step_project: lo (%g) must be <= hi (%g)", lo, hi);
    #pragma omp parallel for schedule(static) if (n > TL_PAR_MIN)
    for (tl_size i = 0; i < n; i++) {
        const float g = grad[i];
        float v = x_adv[i] + (g > 0 ? step : g < 0 ? -step : 0.0f);
        v = fminf(fmaxf(v, x0[i] - eps), x0[i] + eps);
        x_adv[i] = fminf(fmaxf(v, lo), hi);
    }
    return TL_OK;
}

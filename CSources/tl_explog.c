/* exp, log and masked log-sum-exp. libm's expf/logf (correctly rounded to about 1 ulp) rather than the
   activations' branch-free approximations: these kernels feed losses whose values are reported, and they
   are memory-bound at the sizes the losses use (a 2B x 2B similarity kernel). */
#include "tl_internal.h"
#include "../include/tl_explog.h"

#include <math.h>

/* Below this many elements a parallel region costs more than it saves. */
#define TL_EXPLOG_PAR_MIN 32768

#define TL_CHECK_MAP(fn, y, x, z, n) \
    TL_CHECK_PTR(fn, y); TL_CHECK_PTR(fn, x); TL_CHECK_PTR(fn, z); TL_CHECK_NONNEG(fn, n)

int tl_exp_forward(float *y, const float *x, tl_size n) {
    TL_CHECK_MAP("tl_exp_forward", y, x, x, n);
    #pragma omp parallel for schedule(static) if (n > TL_EXPLOG_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] = expf(x[i]);
    return TL_OK;
}

int tl_exp_backward(float *dx, const float *dy, const float *y, tl_size n) {
    TL_CHECK_MAP("tl_exp_backward", dx, dy, y, n);
    #pragma omp parallel for schedule(static) if (n > TL_EXPLOG_PAR_MIN)
    for (tl_size i = 0; i < n; i++) dx[i] = dy[i] * y[i];
    return TL_OK;
}

int tl_log_forward(float *y, const float *x, tl_size n) {
    TL_CHECK_MAP("tl_log_forward", y, x, x, n);
    #pragma omp parallel for schedule(static) if (n > TL_EXPLOG_PAR_MIN)
    for (tl_size i = 0; i < n; i++) y[i] = logf(x[i]);
    return TL_OK;
}

int tl_log_backward(float *dx, const float *dy, const float *x, tl_size n) {
    TL_CHECK_MAP("tl_log_backward", dx, dy, x, n);
    #pragma omp parallel for schedule(static) if (n > TL_EXPLOG_PAR_MIN)
    for (tl_size i = 0; i < n; i++) dx[i] = dy[i] / x[i];
    return TL_OK;
}

static int tl_lse_check(const char *fn, const float *out, const float *x, tl_size outer, tl_size axis, tl_size inner) {
    TL_CHECK_PTR(fn, out);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_NONNEG(fn, outer);
    TL_CHECK_NONNEG(fn, axis);
    TL_CHECK_NONNEG(fn, inner);
    return TL_OK;
}

int tl_masked_logsumexp_forward(float *out, const float *x, const uint8_t *mask, tl_size outer, tl_size axis, tl_size inner) {
    TL_TRY(tl_lse_check("tl_masked_logsumexp_forward", out, x, outer, axis, inner));
    const tl_size slices = outer * inner;
    #pragma omp parallel for schedule(static) if (slices * axis > TL_EXPLOG_PAR_MIN)
    for (tl_size s = 0; s < slices; s++) {
        const tl_size o = s / inner, i = s % inner, base = o * axis * inner + i;
        /* NaN never compares greater, so a NaN entry leaves the shift alone and reaches the sum. */
        float shift = -INFINITY;
        int any = 0;
        for (tl_size j = 0; j < axis; j++) {
            const tl_size at = base + j * inner;
            if (mask && !mask[at]) continue;
            any = 1;
            if (x[at] > shift) shift = x[at];
        }
        if (!any) { out[s] = -INFINITY; continue; }
        if (isinf(shift)) { out[s] = shift; continue; } /* +inf, or every selected entry -inf */
        double sum = 0.0;
        for (tl_size j = 0; j < axis; j++) {
            const tl_size at = base + j * inner;
            if (mask && !mask[at]) continue;
            sum += exp((double)x[at] - shift);
        }
        out[s] = (float)((double)shift + log(sum));
    }
    return TL_OK;
}

int tl_masked_logsumexp_backward(float *dx, const float *dout, const float *x, const float *out, const uint8_t *mask,
                                 tl_size outer, tl_size axis, tl_size inner) {
    TL_TRY(tl_lse_check("tl_masked_logsumexp_backward", dx, x, outer, axis, inner));
    TL_CHECK_PTR("tl_masked_logsumexp_backward", dout);
    TL_CHECK_PTR("tl_masked_logsumexp_backward", out);
    const tl_size slices = outer * inner;
    #pragma omp parallel for schedule(static) if (slices * axis > TL_EXPLOG_PAR_MIN)
    for (tl_size s = 0; s < slices; s++) {
        const tl_size o = s / inner, i = s % inner, base = o * axis * inner + i;
        const double g = dout[s], lse = out[s];
        const int empty = isinf(out[s]) && out[s] < 0;
        for (tl_size j = 0; j < axis; j++) {
            const tl_size at = base + j * inner;
            dx[at] = (empty || (mask && !mask[at])) ? 0.0f : (float)(g * exp((double)x[at] - lse));
        }
    }
    return TL_OK;
}

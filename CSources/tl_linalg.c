/* Log-determinant of a small symmetric positive definite matrix. Everything runs in double: the kernels
   these matrices come from (cosine similarities plus a ridge) can be close to singular, where float
   Cholesky loses the small pivots. Serial: the matrices are at most a few hundred rows. */
#include "tl_internal.h"
#include "../include/tl_linalg.h"

#include <math.h>
#include <stdlib.h>

int tl_logdet_spd(double *logdet, float *inverse, const float *a, tl_size n, double ridge) {
    TL_CHECK_PTR("tl_logdet_spd", logdet);
    TL_CHECK_PTR("tl_logdet_spd", a);
    TL_CHECK_POS("tl_logdet_spd", n);
    TL_CHECK("tl_logdet_spd", isfinite(ridge), "tl_logdet_spd: ridge must be finite, got %g", ridge);
    double *l = tl_alloc((size_t)n * (size_t)n * sizeof(double));
    if (!l) return tl_fail(TL_ERR_OUT_OF_MEMORY, "tl_logdet_spd: no memory for a %td x %td factor", n, n);

    /* Lower factor L with B = L L^T, row by row (Cholesky-Banachiewicz); the upper part stays unused. */
    double sum_log = 0.0;
    for (tl_size i = 0; i < n; i++) {
        for (tl_size j = 0; j <= i; j++) {
            double s = 0.5 * ((double)a[i * n + j] + (double)a[j * n + i]) + (i == j ? ridge : 0.0);
            for (tl_size k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
            if (i == j) {
                if (!(s > 0.0) || !isfinite(s)) {
                    tl_free(l);
                    return tl_fail(TL_ERR_NUMERIC, "tl_logdet_spd: matrix (%td x %td, ridge %g) is not positive definite: pivot %td is %g",
                                   n, n, ridge, i, s);
                }
                l[i * n + i] = sqrt(s);
                sum_log += log(l[i * n + i]);
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    *logdet = 2.0 * sum_log;
    if (!inverse) { tl_free(l); return TL_OK; }

    /* M = L^-1 (lower triangular) by forward substitution, one column at a time; then B^-1 = M^T M. */
    double *m = tl_alloc((size_t)n * (size_t)n * sizeof(double));
    if (!m) { tl_free(l); return tl_fail(TL_ERR_OUT_OF_MEMORY, "tl_logdet_spd: no memory for the inverse of %td x %td", n, n); }
    for (tl_size c = 0; c < n; c++) {
        for (tl_size i = 0; i < c; i++) m[i * n + c] = 0.0;
        m[c * n + c] = 1.0 / l[c * n + c];
        for (tl_size i = c + 1; i < n; i++) {
            double s = 0.0;
            for (tl_size k = c; k < i; k++) s -= l[i * n + k] * m[k * n + c];
            m[i * n + c] = s / l[i * n + i];
        }
    }
    for (tl_size i = 0; i < n; i++) {
        for (tl_size j = 0; j <= i; j++) {
            double s = 0.0;
            for (tl_size k = i; k < n; k++) s += m[k * n + i] * m[k * n + j];
            inverse[i * n + j] = inverse[j * n + i] = (float)s;
        }
    }
    tl_free(l);
    tl_free(m);
    return TL_OK;
}

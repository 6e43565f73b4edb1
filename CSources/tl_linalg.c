/* Dense linear algebra on small matrices. The log-determinant of a symmetric positive definite matrix runs
   in double: the kernels these matrices come from (cosine similarities plus a ridge) can be close to
   singular, where float Cholesky loses the small pivots. QR and LU call OpenBLAS's LAPACK. Serial: the
   matrices are at most a few hundred rows. */
#include "tl_internal.h"
#include "../include/tl_linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK (Fortran interface, 32-bit integers as in Debian's OpenBLAS); no header ships these prototypes. */
void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau, float *work, const int *lwork, int *info);
void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda, const float *tau, float *work,
             const int *lwork, int *info);
void sgetrf_(const int *m, const int *n, float *a, const int *lda, int *ipiv, int *info);
void sgetri_(const int *n, float *a, const int *lda, const int *ipiv, float *work, const int *lwork, int *info);

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

/* LAPACK takes 32-bit sizes. */
static int check_lapack_size(const char *fn, tl_size m, tl_size n) {
    TL_CHECK(fn, m <= 46340 && n <= 46340, "%s: %td x %td is too large for LAPACK's 32-bit sizes", fn, m, n);
    return TL_OK;
}

int tl_qr(float *q, float *r, const float *a, tl_size m, tl_size n) {
    const char *fn = "tl_qr";
    TL_CHECK_PTR(fn, q);
    TL_CHECK_PTR(fn, r);
    TL_CHECK_PTR(fn, a);
    TL_CHECK_POS(fn, m);
    TL_CHECK_POS(fn, n);
    TL_CHECK(fn, m >= n, "%s: the reduced QR needs m >= n, got %td x %td", fn, m, n);
    TL_TRY(check_lapack_size(fn, m, n));
    const int im = (int)m, in = (int)n;
    int info = 0, lwork = -1;
    float query = 0.0f;
    sgeqrf_(&im, &in, NULL, &im, NULL, &query, &lwork, &info);
    lwork = (int)query;
    sorgqr_(&im, &in, &in, NULL, &im, NULL, &query, &(int){-1}, &info);
    if ((int)query > lwork) lwork = (int)query;
    if (lwork < in) lwork = in;
    /* Column-major working copy (LAPACK's layout): f[j * m + i] = a[i, j]. */
    float *f = tl_alloc((size_t)(m * n + n + lwork) * sizeof(float));
    if (!f) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: no memory for a %td x %td factorisation", fn, m, n);
    float *tau = f + m * n, *work = tau + n;
    for (tl_size i = 0; i < m; i++)
        for (tl_size j = 0; j < n; j++) f[j * m + i] = a[i * n + j];
    sgeqrf_(&im, &in, f, &im, tau, work, &lwork, &info);
    if (info == 0) {
        for (tl_size i = 0; i < n; i++)
            for (tl_size j = 0; j < n; j++) r[i * n + j] = j >= i ? f[j * m + i] : 0.0f;
        sorgqr_(&im, &in, &in, f, &im, tau, work, &lwork, &info);
    }
    if (info == 0)
        for (tl_size i = 0; i < m; i++)
            for (tl_size j = 0; j < n; j++) q[i * n + j] = f[j * m + i];
    tl_free(f);
    if (info != 0) return tl_fail(TL_ERR_INTERNAL, "%s: LAPACK failed with info %d on %td x %td", fn, info, m, n);
    return TL_OK;
}

int tl_qr_backward(float *da, const float *dq, const float *dr, const float *q, const float *r, tl_size m, tl_size n) {
    const char *fn = "tl_qr_backward";
    TL_CHECK_PTR(fn, da);
    TL_CHECK_PTR(fn, q);
    TL_CHECK_PTR(fn, r);
    TL_CHECK_POS(fn, m);
    TL_CHECK_POS(fn, n);
    TL_CHECK(fn, m >= n, "%s: the reduced QR needs m >= n, got %td x %td", fn, m, n);
    for (tl_size i = 0; i < n; i++)
        if (!(r[i * n + i] != 0.0f))
            return tl_fail(TL_ERR_NUMERIC, "%s: r[%td, %td] is %g: the matrix is rank deficient", fn, i, i, r[i * n + i]);
    double *mm = tl_alloc((size_t)(n * n + m * n) * sizeof(double));
    if (!mm) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: no memory for %td x %td", fn, m, n);
    double *b = mm + n * n;
    /* M = r dr^T - dq^T q, only its lower triangle is used. */
    for (tl_size i = 0; i < n; i++)
        for (tl_size j = 0; j <= i; j++) {
            double s = 0.0;
            if (dr)
                for (tl_size k = i; k < n; k++) s += (double)r[i * n + k] * dr[j * n + k];
            if (dq)
                for (tl_size k = 0; k < m; k++) s -= (double)dq[k * n + i] * q[k * n + j];
            mm[i * n + j] = s;
        }
    for (tl_size i = 0; i < n; i++)
        for (tl_size j = i + 1; j < n; j++) mm[i * n + j] = mm[j * n + i];
    /* B = dq + q copyltu(M). */
    for (tl_size i = 0; i < m; i++)
        for (tl_size j = 0; j < n; j++) {
            double s = dq ? dq[i * n + j] : 0.0;
            for (tl_size k = 0; k < n; k++) s += (double)q[i * n + k] * mm[k * n + j];
            b[i * n + j] = s;
        }
    /* da r^T = B, one row x of da at a time: r^T is lower triangular, i.e. r x^T = b^T, solved by back
       substitution from the last column. */
    for (tl_size i = 0; i < m; i++) {
        double *row = b + i * n;
        for (tl_size j = n - 1; j >= 0; j--) {
            double s = row[j];
            for (tl_size k = j + 1; k < n; k++) s -= row[k] * r[j * n + k];
            row[j] = s / r[j * n + j];
            da[i * n + j] = (float)row[j];
        }
    }
    tl_free(mm);
    return TL_OK;
}

int tl_lu_inverse(float *inverse, double *logabsdet, const float *a, tl_size n) {
    const char *fn = "tl_lu_inverse";
    TL_CHECK_PTR(fn, a);
    TL_CHECK_POS(fn, n);
    TL_TRY(check_lapack_size(fn, n, n));
    const int in = (int)n;
    int info = 0, lwork = -1;
    float query = 0.0f;
    sgetri_(&in, NULL, &in, NULL, &query, &lwork, &info);
    lwork = (int)query < in ? in : (int)query;
    float *f = tl_alloc((size_t)(n * n + lwork) * sizeof(float) + (size_t)n * sizeof(int));
    if (!f) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: no memory for a %td x %td factorisation", fn, n, n);
    float *work = f + n * n;
    int *pivots = (int *)(work + lwork);
    /* LAPACK factors the column-major matrix, i.e. a^T; det(a^T) = det(a) and inv(a^T) = inv(a)^T. */
    for (tl_size i = 0; i < n; i++)
        for (tl_size j = 0; j < n; j++) f[j * n + i] = a[i * n + j];
    sgetrf_(&in, &in, f, &in, pivots, &info);
    if (info < 0) { tl_free(f); return tl_fail(TL_ERR_INTERNAL, "%s: sgetrf failed with info %d", fn, info); }
    double sum_log = 0.0;
    for (tl_size i = 0; i < n; i++) {
        const float u = f[i * n + i];
        if (!(u != 0.0f) || !isfinite(u)) {
            tl_free(f);
            return tl_fail(TL_ERR_NUMERIC, "%s: the %td x %td matrix is singular or not finite (pivot %td is %g)", fn, n, n, i, u);
        }
        sum_log += log(fabs((double)u));
    }
    if (logabsdet) *logabsdet = sum_log;
    if (inverse) {
        sgetri_(&in, f, &in, pivots, work, &lwork, &info);
        if (info != 0) { tl_free(f); return tl_fail(TL_ERR_INTERNAL, "%s: sgetri failed with info %d", fn, info); }
        for (tl_size i = 0; i < n; i++)
            for (tl_size j = 0; j < n; j++) inverse[i * n + j] = f[j * n + i];
    }
    tl_free(f);
    return TL_OK;
}

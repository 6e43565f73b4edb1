/* TrainingLab core: dense linear algebra on small matrices: log-determinants of kernel matrices, QR and
   LU-based inverses (LAPACK from OpenBLAS) with the pieces their gradients need. */
#ifndef TL_LINALG_H
#define TL_LINALG_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* *logdet = log det(B) with B = (a + a^T) / 2 + ridge * I, a (n, n), by a Cholesky factorisation in double.
   inverse (n, n), unless NULL, receives B^-1, which is also the gradient of logdet with respect to a.
   TL_ERR_NUMERIC (naming the failing pivot) when B is not positive definite or a holds NaN/inf. */
int tl_logdet_spd(double *logdet, float *inverse, const float *a, tl_size n, double ridge);

/* Reduced QR of a (m, n), m >= n: q (m, n) with orthonormal columns and upper triangular r (n, n), a = q r,
   by Householder reflections (LAPACK sgeqrf + sorgqr). r's diagonal may have either sign. */
int tl_qr(float *q, float *r, const float *a, tl_size m, tl_size n);

/* da (m, n) = (dq + q copyltu(M)) r^-T with M = r dr^T - dq^T q and copyltu(M) the symmetric matrix with
   M's lower triangle: the gradient of a through the reduced QR of a full-rank a (m >= n). dq or dr NULL
   counts as zero. Computed in double; TL_ERR_NUMERIC when r has a zero diagonal entry (rank deficient). */
int tl_qr_backward(float *da, const float *dq, const float *dr, const float *q, const float *r, tl_size m, tl_size n);

/* inverse (n, n) = a^-1 and *logabsdet = log|det a| of a (n, n) by an LU factorisation with partial pivoting
   (LAPACK sgetrf + sgetri); either output may be NULL. TL_ERR_NUMERIC when a is singular. */
int tl_lu_inverse(float *inverse, double *logabsdet, const float *a, tl_size n);

#ifdef __cplusplus
}
#endif
#endif

/* TrainingLab core: dense linear algebra on small matrices (log-determinants of kernel matrices). */
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

#ifdef __cplusplus
}
#endif
#endif

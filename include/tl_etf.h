/* TrainingLab core: equiangular classifier weights. The objective that refines a sparsified simplex
   equiangular tight frame into FedLoGe's static sparse ETF classifier (SSE-C): class vectors of one
   common norm whose smallest pairwise angle is as large as possible. */
#ifndef TL_ETF_H
#define TL_ETF_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* loss (1) and grad (d, classes) = dloss/dm of m (d, classes) row-major, column c = class vector m_c:
   loss = sum_c (||m_c|| - norm)^2 - (1/classes) sum_c acos(clamp(max_{j != c} cos(m_c, m_j), -limit, limit)).
   As PyTorch differentiates it: the max passes its gradient to the first maximal j, a cosine outside
   [-limit, limit] passes none. Serial, accumulated in double. classes >= 2, 0 < limit < 1;
   TL_ERR_NUMERIC (naming the column) when a column is zero or not finite. */
int tl_etf_angle_objective(double *loss, float *grad, const float *m, tl_size d, tl_size classes, double norm, double limit);

#ifdef __cplusplus
}
#endif
#endif

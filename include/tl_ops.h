/* TrainingLab core: elementwise, broadcast, reduction and layout ops that autograd needs. */
#ifndef TL_OPS_H
#define TL_OPS_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* x (n) = value. */
int tl_fill(float *x, tl_size n, float value);

/* y (n) = a (n) + b (n); y may alias a or b. */
int tl_add(float *y, const float *a, const float *b, tl_size n);

/* y (n) = a (n) - b (n); y may alias a or b. */
int tl_sub(float *y, const float *a, const float *b, tl_size n);

/* y (n) = a (n) * b (n); y may alias a or b. */
int tl_mul(float *y, const float *a, const float *b, tl_size n);

/* y (n) = alpha * x (n) + beta; y may alias x. */
int tl_affine(float *y, const float *x, tl_size n, float alpha, float beta);

/* y (n) += alpha * x (n). */
int tl_axpy(float *y, const float *x, tl_size n, float alpha);

/* y (n) += w * (x (n) - y): moves y towards x by the fraction w (parameter averages: EMA, SWA). */
int tl_lerp(float *y, const float *x, tl_size n, float w);

/* y (outer, c, inner) = x + bias (c) broadcast over outer and inner; y may alias x. */
int tl_add_channel_bias(float *y, const float *x, const float *bias, tl_size outer, tl_size c, tl_size inner);

/* out (c) = sum over outer and inner of x (outer, c, inner); deterministic for any thread count. */
int tl_sum_channels(float *out, const float *x, tl_size outer, tl_size c, tl_size inner);

/* out (outer, inner) = sum over the middle axis of x (outer, axis, inner). */
int tl_sum_axis(float *out, const float *x, tl_size outer, tl_size axis, tl_size inner);

/* y (outer, axis, inner) = x (outer, inner) repeated along the middle axis. */
int tl_broadcast_axis(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner);

/* *out = sum of x (n) accumulated in double over fixed blocks (same result for any thread count). */
int tl_sum(double *out, const float *x, tl_size n);

/* *out = sum of a (n) * b (n) in double over fixed blocks. */
int tl_dot(double *out, const float *a, const float *b, tl_size n);

/* *count = number of NaN or infinite entries of x (n). */
int tl_count_nonfinite(tl_size *count, const float *x, tl_size n);

/* y (cols, rows) = transpose of x (rows, cols); no aliasing. */
int tl_transpose(float *y, const float *x, tl_size rows, tl_size cols);

/* y (m, row) = x[index[i]] for i < m, x (n, row); an index outside [0, n) is an error. */
int tl_gather_rows(float *y, const float *x, const int64_t *index, tl_size m, tl_size n, tl_size row);

/* y (n, row) += x[i] at row index[i] for i < m (rows may repeat); serial over i so repeats sum in order. */
int tl_scatter_add_rows(float *y, const float *x, const int64_t *index, tl_size m, tl_size n, tl_size row);

/* y (rows, d) = x / max(||x_row||_2, eps) per row; norms (rows) receives max(||x_row||, eps). */
int tl_l2_normalize_rows_forward(float *y, float *norms, const float *x, tl_size rows, tl_size d, float eps);

/* dx (rows, d) = (dy - y * <dy, y>) / norm per row, from y and norms of the forward (eps-clamped rows: dy / norm). */
int tl_l2_normalize_rows_backward(float *dx, const float *dy, const float *y, const float *norms, tl_size rows, tl_size d, float eps);

/* x_adv (n) = clip(x_adv + step * sign(grad), [x0 - eps, x0 + eps] and [lo, hi]): one L-inf PGD step. */
int tl_sign_step_project(float *x_adv, const float *grad, const float *x0, tl_size n, float step, float eps, float lo, float hi);

#ifdef __cplusplus
}
#endif
#endif

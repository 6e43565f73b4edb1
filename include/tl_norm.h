/* TrainingLab core: normalisation layers over float32 tensors.
   Batch and group norm see their input as (N,C,S) with S = H*W of an NCHW tensor (S = 1 for an (N,C)
   input); layer norm sees (R,D) and normalises each row of D. Statistics are accumulated in double
   around a shift taken from the data (so |mean| >> std stays accurate), variances are biased (divide
   by the count) as in PyTorch, and rstd = 1 / sqrt(var + eps). Every reduction is split into pieces
   that depend only on the shape and combined in a fixed order: 1 and N threads give bitwise-identical
   results. gamma/beta NULL means no affine transform (gamma = 1, beta = 0); in backward passes any
   gradient output may be NULL ("not needed"), and outputs are overwritten, never accumulated.
   In-place use is allowed where a comment says so (y == x, dx == dy). Sizes must be > 0.
   The kernels keep a grow-only thread-local scratch buffer (a few doubles per (n, c) plane or row
   block) so that repeated calls do not allocate. */
#ifndef TL_NORM_H
#define TL_NORM_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Batch norm, training: y (N,C,S) = gamma[c] (x - mean[c]) rstd[c] + beta[c] with the batch statistics
   over N and S; save_mean, save_rstd (C) receive them for the backward. running_mean / running_var (C),
   when not NULL, become (1 - momentum) * running + momentum * batch, with the unbiased variance
   (var * M / (M - 1), M = N*S) as in PyTorch. Needs M >= 2, 0 <= momentum <= 1, eps > 0. y == x allowed. */
int tl_batchnorm_train_forward(float *y, float *save_mean, float *save_rstd, float *running_mean, float *running_var,
                               const float *x, const float *gamma, const float *beta,
                               tl_size N, tl_size C, tl_size S, float momentum, float eps);
/* dx (N,C,S), dgamma (C), dbeta (C) of the training forward, from dy, x, gamma and its save_mean /
   save_rstd; dx includes the paths through the batch statistics. dx == dy allowed. */
int tl_batchnorm_train_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *gamma, const float *save_mean, const float *save_rstd,
                                tl_size N, tl_size C, tl_size S);

/* Batch norm, inference: y (N,C,S) = gamma[c] (x - running_mean[c]) / sqrt(running_var[c] + eps) + beta[c].
   y == x allowed. */
int tl_batchnorm_eval_forward(float *y, const float *x, const float *gamma, const float *beta,
                              const float *running_mean, const float *running_var,
                              tl_size N, tl_size C, tl_size S, float eps);
/* dx (N,C,S), dgamma, dbeta (C) of the inference forward (fixed statistics: a per-channel affine map),
   for gradients through a frozen network. dx == dy allowed. */
int tl_batchnorm_eval_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                               const float *gamma, const float *running_mean, const float *running_var,
                               tl_size N, tl_size C, tl_size S, float eps);

/* Batch norm fused with ReLU, training: y (N,C,S) = max(0, a[c] x + b[c]), a = gamma rstd, b = beta - mean a,
   with the batch statistics of tl_batchnorm_train_forward (same save_mean / save_rstd, running updates and
   conditions) but a, b taken from the statistics rounded to float, so that the backward recomputes the
   ReLU mask from x; y then differs from the unfused pair by a rounding of a, b (an ulp of y). y == x is
   allowed only when no backward follows (the backward needs x). */
int tl_batchnorm_relu_train_forward(float *y, float *save_mean, float *save_rstd, float *running_mean,
                                    float *running_var, const float *x, const float *gamma, const float *beta,
                                    tl_size N, tl_size C, tl_size S, float momentum, float eps);
/* dx (N,C,S), dgamma, dbeta (C) of the above: the batch-norm backward of g = dy where a x + b > 0 (the
   forward's mask, recomputed from x, gamma, beta and the saved statistics) else 0. dx == dy allowed. */
int tl_batchnorm_relu_train_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                     const float *gamma, const float *beta, const float *save_mean,
                                     const float *save_rstd, tl_size N, tl_size C, tl_size S);
/* Batch norm, residual add and ReLU, training (the end of a ResNet block): y (N,C,S) = max(0, a[c] x + b[c] + r)
   with r (N,C,S) and a, b as in tl_batchnorm_relu_train_forward. y == r allowed (not y == x). */
int tl_batchnorm_add_relu_train_forward(float *y, float *save_mean, float *save_rstd, float *running_mean,
                                        float *running_var, const float *x, const float *r, const float *gamma,
                                        const float *beta, tl_size N, tl_size C, tl_size S, float momentum, float eps);
/* dr (N,C,S) = dy where the forward OUTPUT y > 0 else 0 (the gradient of the residual), and dx, dgamma, dbeta:
   the batch-norm backward of dr. dr may be NULL (not needed); dr == dy allowed, dx must not overlap dr. */
int tl_batchnorm_add_relu_train_backward(float *dx, float *dr, float *dgamma, float *dbeta, const float *dy,
                                         const float *y, const float *x, const float *gamma, const float *save_mean,
                                         const float *save_rstd, tl_size N, tl_size C, tl_size S);
/* Inference forms: y (N,C,S) = max(0, a x + b) and max(0, a x + b + r) with the running statistics as in
   tl_batchnorm_eval_forward (bitwise equal to it followed by tl_relu_forward). y == x (and y == r) allowed. */
int tl_batchnorm_relu_eval_forward(float *y, const float *x, const float *gamma, const float *beta,
                                   const float *running_mean, const float *running_var, tl_size N, tl_size C,
                                   tl_size S, float eps);
int tl_batchnorm_add_relu_eval_forward(float *y, const float *x, const float *r, const float *gamma, const float *beta,
                                       const float *running_mean, const float *running_var, tl_size N, tl_size C,
                                       tl_size S, float eps);

/* Batch norm + ReLU + 2x2 max pooling with stride 2 (the tail of a conv block), training: y (N,C,H/2,W/2) =
   max over each 2x2 window of x (N,C,H,W) of max(0, a[c] x + b[c]), with the statistics (over all of x), a, b and
   conditions of tl_batchnorm_relu_train_forward; floor mode (an odd last row or column is normalised but not
   pooled); ties and NaN as tl_maxpool2d_forward. Nothing but y is stored: the backward finds the maxima again
   from x. Needs H, W >= 2. */
int tl_batchnorm_relu_maxpool2_train_forward(float *y, float *save_mean, float *save_rstd, float *running_mean,
                                             float *running_var, const float *x, const float *gamma, const float *beta,
                                             tl_size N, tl_size C, tl_size H, tl_size W, float momentum, float eps);
/* dx (N,C,H,W), dgamma, dbeta (C) from dy (N,C,H/2,W/2) and the forward's OUTPUT y: dy goes to the maximum of
   its window where y > 0, then back through batch norm. dx must not overlap the other arguments. */
int tl_batchnorm_relu_maxpool2_train_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *y,
                                              const float *x, const float *gamma, const float *beta,
                                              const float *save_mean, const float *save_rstd, tl_size N, tl_size C,
                                              tl_size H, tl_size W);
/* Inference form: y (N,C,H/2,W/2) = 2x2 max pooling of max(0, a x + b) with the running statistics (as
   tl_batchnorm_eval_forward, tl_relu_forward, tl_maxpool2d_forward in turn, up to the sign of zeros). */
int tl_batchnorm_relu_maxpool2_eval_forward(float *y, const float *x, const float *gamma, const float *beta,
                                            const float *running_mean, const float *running_var, tl_size N, tl_size C,
                                            tl_size H, tl_size W, float eps);

/* Layer norm: y (R,D) = gamma[d] (x - mean[r]) rstd[r] + beta[d] over each row of D; mean, rstd (R)
   are written for the backward. eps > 0. y == x allowed. */
int tl_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                         tl_size R, tl_size D, float eps);
/* dx (R,D), dgamma, dbeta (D) from dy, x, gamma and the forward's mean / rstd. dx == dy allowed. */
int tl_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
                          const float *mean, const float *rstd, tl_size R, tl_size D);

/* Group norm: x (N,C,S) with C split into G groups of C/G consecutive channels; each (n, group) is
   normalised over its (C/G)*S values, then y = gamma[c] xhat + beta[c] per channel. mean, rstd (N,G)
   are written for the backward. G must divide C; G = C is instance norm, G = 1 normalises each
   sample over (C,S). eps > 0. y == x allowed. */
int tl_groupnorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                         tl_size N, tl_size C, tl_size S, tl_size G, float eps);
/* dx (N,C,S), dgamma, dbeta (C) from dy, x, gamma and the forward's mean / rstd (N,G). dx == dy allowed. */
int tl_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
                          const float *mean, const float *rstd, tl_size N, tl_size C, tl_size S, tl_size G);

#ifdef __cplusplus
}
#endif
#endif

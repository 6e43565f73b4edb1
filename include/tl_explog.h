/* TrainingLab core: the exponential/logarithm family outside the activations: element-wise exp and log
   with their backward, and log-sum-exp over the selected entries of one axis (set and contrastive losses). */
#ifndef TL_EXPLOG_H
#define TL_EXPLOG_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y (n) = exp(x (n)); y may alias x. */
int tl_exp_forward(float *y, const float *x, tl_size n);

/* dx (n) = dy * y, y the forward's output; dx may alias dy. */
int tl_exp_backward(float *dx, const float *dy, const float *y, tl_size n);

/* y (n) = log(x (n)) (x = 0 gives -inf, x < 0 NaN, as in libm); y may alias x. */
int tl_log_forward(float *y, const float *x, tl_size n);

/* dx (n) = dy / x, x the forward's input; dx may alias dy. */
int tl_log_backward(float *dx, const float *dy, const float *x, tl_size n);

/* out (outer, inner) = log of the sum over j < axis with mask[o, j, i] != 0 of exp(x[o, j, i]), x and
   mask (outer, axis, inner); mask NULL selects every entry. Shifted by the maximum of the selected entries
   and accumulated in double; a slice with nothing selected gives -inf. Rows of an (r, c) matrix:
   (r, c, 1); its columns: (1, r, c). */
int tl_masked_logsumexp_forward(float *out, const float *x, const uint8_t *mask, tl_size outer, tl_size axis, tl_size inner);

/* dx (outer, axis, inner) = dout[o, i] * exp(x[o, j, i] - out[o, i]) where selected, else 0 (empty slices
   give 0), from the forward's x and out. */
int tl_masked_logsumexp_backward(float *dx, const float *dout, const float *x, const float *out, const uint8_t *mask,
                                 tl_size outer, tl_size axis, tl_size inner);

#ifdef __cplusplus
}
#endif
#endif

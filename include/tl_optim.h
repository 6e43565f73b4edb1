/* TrainingLab core: optimiser updates, fused and in place over flat parameter arrays, with PyTorch's
   update formulas (torch.optim.SGD with dampening 0, torch.optim.AdamW without amsgrad), and global
   gradient-norm clipping. n = 0 is a TL_OK no-op. Every update is elementwise, so results are bitwise
   independent of the number of threads.

   Masks (optional, NULL = none): mask (n) freezes element i where mask[i] == 0.0f: its weight and its
   optimiser state (momentum buffer; AdamW's m and v) are left exactly as they were; every other element
   (any nonzero mask value) gets the ordinary update, unscaled. For pruned weights (weight and state
   already 0) this is exactly what PyTorch computes with the gradient multiplied by the mask: a zero
   gradient plus weight decay of a zero weight is zero, so PyTorch keeps them at zero too. It differs
   from PyTorch on purpose for a masked weight that is NOT zero: PyTorch would still move it by weight
   decay and old momentum, here it stays frozen. */
#ifndef TL_OPTIM_H
#define TL_OPTIM_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SGD step on w (n) from grad (n), momentum buffer buf (n), optional mask (n):
   d = grad + weight_decay w; buf = first_step ? d : momentum buf + d; d = nesterov ? d + momentum buf : buf;
   w -= lr d. first_step = 1 on the first update of a buffer (PyTorch's "None" buffer: buf is overwritten,
   frozen elements get 0, so buf need not be initialised). momentum = 0 is plain SGD and buf may be NULL.
   lr >= 0, momentum >= 0, weight_decay >= 0, all finite; nesterov needs momentum > 0. */
int tl_optim_sgd_step(float *w, float *buf, const float *grad, const float *mask, tl_size n,
                      float lr, float momentum, float weight_decay, int nesterov, int first_step);

/* AdamW step on w (n) from grad (n), moments m (n) and v (n) (start at 0), optional mask (n):
   w *= 1 - lr wd; m = lerp(m, grad, 1 - beta1); v = beta2 v + (1 - beta2) grad^2;
   w -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps).
   step >= 1 counts updates including this one; lr >= 0, beta1 and beta2 in [0, 1), eps > 0, weight_decay >= 0. */
int tl_optim_adamw_step(float *w, float *m, float *v, const float *grad, const float *mask, tl_size n,
                        float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step);

/* norm (1) = sqrt(sum_k sum_i x_k[i]^2) over k arrays x_k (counts[k] floats each; NULL allowed where the
   count is 0). Accumulated in double over a fixed partition of the elements (independent of the thread
   count) combined in a fixed order: bitwise reproducible. k = 0 gives 0. */
int tl_optim_global_norm(float *norm, const float *const *arrays, const tl_size *counts, tl_size k);

/* x_k (counts[k]) *= scale in place for each of the k arrays. */
int tl_optim_scale(float *const *arrays, const tl_size *counts, tl_size k, float scale);

/* torch.nn.utils.clip_grad_norm_: total_norm (1) = global norm of the k arrays, then every array is
   multiplied by min(1, max_norm / (total_norm + 1e-6)) in float as PyTorch does (a factor of 1 writes nothing,
   which gives the same bits). A non-finite norm is
   TL_ERR_NUMERIC and leaves the gradients unchanged (total_norm is still written). max_norm > 0. */
int tl_optim_clip_grad_norm(float *total_norm, float *const *grads, const tl_size *counts, tl_size k, float max_norm);

#ifdef __cplusplus
}
#endif
#endif

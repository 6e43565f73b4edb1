/* TrainingLab core: losses. Every loss writes one value per sample (no reduction) and every backward
   takes a per-sample upstream gradient dloss (N), so a method can reweight samples before reducing:
   a mean is dloss[i] = 1/N, a weighted mean w[i]/N (tl_loss_reduce_backward fills these).
   Logits and targets are row-major (N, C); labels are int32 class indices in [0, C).
   N = 0 is a TL_OK no-op; C (or D) must be > 0. Backwards overwrite their outputs; where a backward has
   two gradient outputs a NULL one is skipped, a backward with one output requires it. Each row is done by
   one thread in a fixed order, so results are bitwise independent of the number of threads. */
#ifndef TL_LOSS_H
#define TL_LOSS_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* loss (N) = -sum_c t_c log softmax(logits/T)_c with t = (1-smoothing) onehot(labels) + smoothing/C;
   logits (N,C), labels (N); smoothing in [0,1], temperature T > 0 (1 = plain cross-entropy). */
int tl_loss_ce_forward(float *loss, const float *logits, const int32_t *labels, tl_size N, tl_size C,
                       float smoothing, float temperature);

/* dlogits (N,C) = dloss[n] (softmax(logits/T) - t) / T, same t, smoothing and T as the forward. */
int tl_loss_ce_backward(float *dlogits, const float *dloss, const float *logits, const int32_t *labels,
                        tl_size N, tl_size C, float smoothing, float temperature);

/* loss (N) = -sum_c q_c log softmax(logits/T)_c; logits (N,C), soft targets q (N,C) (rows of probabilities;
   a row that does not sum to 1 is used as given). */
int tl_loss_soft_ce_forward(float *loss, const float *logits, const float *targets, tl_size N, tl_size C,
                            float temperature);

/* dlogits (N,C) = dloss[n] (sum_c q_c * softmax(logits/T) - q) / T; dtargets (N,C) = -dloss[n] log softmax(logits/T)
   (either output may be NULL, e.g. dtargets for fixed teacher labels). */
int tl_loss_soft_ce_backward(float *dlogits, float *dtargets, const float *dloss, const float *logits,
                             const float *targets, tl_size N, tl_size C, float temperature);

/* loss (N) = mean_d (x - target)^2 per sample; x, target (N,D). */
int tl_loss_mse_forward(float *loss, const float *x, const float *target, tl_size N, tl_size D);

/* dx (N,D) = dloss[n] 2 (x - target) / D, dtarget = -dx (either may be NULL). */
int tl_loss_mse_backward(float *dx, float *dtarget, const float *dloss, const float *x, const float *target,
                         tl_size N, tl_size D);

/* loss (N) = KL(p || r) = sum_c p_c (log p_c - log r_c), p = softmax(logits_p/T), r = softmax(logits_r/T);
   logits_p, logits_r (N,C). TRADES: p from the clean input, r from the adversarial one. Hinton's T^2 factor
   is not included (scale dloss). Exactly 0 for identical rows. */
int tl_loss_kl_forward(float *loss, const float *logits_p, const float *logits_r, tl_size N, tl_size C,
                       float temperature);

/* dlogits_p (N,C) = dloss[n] p (log p - log r - KL_n) / T, dlogits_r (N,C) = dloss[n] (r - p) / T
   (either output may be NULL). */
int tl_loss_kl_backward(float *dlogits_p, float *dlogits_r, const float *dloss, const float *logits_p,
                        const float *logits_r, tl_size N, tl_size C, float temperature);

/* loss (N) = sum_c p_c (log p_c - logr_c) over the terms with p_c > 0 (PyTorch kl_div(logr, p, reduction none)
   summed over C, except that a term with p_c = 0 is 0 even where logr_c = -inf); p (N,C) probabilities, logr (N,C)
   log-probabilities. Values are not validated: a negative p_c gives NaN. */
int tl_loss_kl_prob_forward(float *loss, const float *p, const float *logr, tl_size N, tl_size C);

/* dlogr (N,C) = -dloss[n] p. No gradient to p (it is the target; its log is unbounded at 0). */
int tl_loss_kl_prob_backward(float *dlogr, const float *dloss, const float *p, tl_size N, tl_size C);

/* loss (N) = max_{c != y} logits_c - logits_y with y = labels[n] (Carlini-Wagner margin, the loss of margin
   PGD attacks: > 0 exactly where the row is misclassified, and its gradient does not vanish when softmax
   saturates); logits (N,C), C >= 2. */
int tl_loss_margin_forward(float *loss, const float *logits, const int32_t *labels, tl_size N, tl_size C);

/* dlogits (N,C) = dloss[n] (onehot(j) - onehot(y)), j the first index of the largest logit other than y. */
int tl_loss_margin_backward(float *dlogits, const float *dloss, const float *logits, const int32_t *labels,
                            tl_size N, tl_size C);

/* How per-sample losses become one number. WEIGHTED_MEAN divides by N, not by sum(w) (InfoBatch's
   unbiased rescaling); WEIGHTED_NORMALIZED divides by sum(w) (PyTorch cross_entropy with class weights). */
typedef enum tl_reduction {
    TL_REDUCTION_SUM = 0,                /* sum_i l_i */
    TL_REDUCTION_MEAN = 1,               /* sum_i l_i / N */
    TL_REDUCTION_WEIGHTED_SUM = 2,       /* sum_i w_i l_i */
    TL_REDUCTION_WEIGHTED_MEAN = 3,      /* sum_i w_i l_i / N */
    TL_REDUCTION_WEIGHTED_NORMALIZED = 4 /* sum_i w_i l_i / sum_i w_i */
} tl_reduction;

/* out (1) = reduction of loss (N) with optional weights (N) (required by the WEIGHTED_* modes, ignored
   otherwise); accumulated in double, in index order. N = 0 gives 0 (and is an error for WEIGHTED_NORMALIZED). */
int tl_loss_reduce(float *out, const float *loss, const float *weights, tl_size N, int reduction);

/* dloss (N) = dout * d out / d loss_i: 1, 1/N, w_i, w_i/N or w_i/sum(w) by mode; the upstream of a per-sample backward. */
int tl_loss_reduce_backward(float *dloss, float dout, const float *weights, tl_size N, int reduction);

#ifdef __cplusplus
}
#endif
#endif

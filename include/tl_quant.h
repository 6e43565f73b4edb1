/* TrainingLab core: quantisation. Signed fixed point (word length WL, fraction length FL) as used by
   AdaPT, symmetric int8 per tensor or per channel, and the histogram / KL-divergence test that AdaPT
   uses to decide whether a precision loses information.

   Fixed point Q(x; WL, FL): step = 2^-FL, y = x * 2^FL, r = round(y), r clamped to
   [-2^(WL-1), 2^(WL-1) - 1] (saturating), Q = r * step, so Q lies in [-2^(WL-FL-1), 2^(WL-FL-1) - step].
   WL in [1, 32], FL in [-64, 64]. For WL > 25 the upper integer bound 2^(WL-1) - 1 is not a float;
   the largest float below it is used (all floats that large are integers, so nothing else changes).
   Rounding TL_ROUND_NEAREST: nearest integer, ties to even (rintf; as torch.round and qtorch's
   nearbyint). TL_ROUND_STOCHASTIC: r = floor(y) + (u < y - floor(y) ? 1 : 0) with
   u = tl_u32_to_unit(tl_rng_u32(seed, offset + i)) for element i (uniform in [0, 1), 24 bits): y rounds up
   with probability P(u < frac) = frac (to the 2^-24 grid of u), the same law as floor(y + u) but computed without
   the rounding error of the float addition y + u, so values on the grid never move and E[Q(x)] = x inside the
   range; element i depends only on (seed, offset + i), never on the thread count. AdaPT needs fresh noise per
   call: advance offset (or seed) every call.
   NaN stays NaN (not counted as saturated); +-inf saturates.

   AdaPT's information loss (tl_quant_fixed_kl): P = histogram of x, Q = histogram of Q(x; WL, FL) (rounding, seed
   and offset as in tl_quant_fixed_forward; AdaPT uses stochastic), both with `bins` equal bins over [min x, max x]
   as the official code does (torch.histc of w and of w_hat on w's range), normalised, smoothed by eps as in
   tl_quant_kl_divergence. Quantised values that fall outside [min x, max x] are dropped (clamp_outside = 0, the
   official behaviour, which also renormalises Q over what is left) or counted in the edge bin (clamp_outside = 1);
   if all are dropped the loss is +inf. AdaPT calls a precision lossless when the loss is < 1e-9 (adapt.md: true KL
   with a small epsilon, instead of the official code's call with probabilities where log-probabilities are
   expected). Q(x) is binned on the fly, nothing of size n is allocated. */
#ifndef TL_QUANT_H
#define TL_QUANT_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tl_round_mode {
    TL_ROUND_NEAREST = 0,    /* ties to even */
    TL_ROUND_STOCHASTIC = 1  /* up with probability frac(y), u from tl_rng (seed, offset + i) */
} tl_round_mode;

/* y (n) = Q(x (n); wl, fl) fake-quant, float in float out; in place allowed (y == x); *saturated (optional, NULL = skip) = number of clamped elements. n = 0 is a no-op. */
int tl_quant_fixed_forward(float *y, const float *x, tl_size n, int wl, int fl, int rounding,
                           uint64_t seed, uint64_t offset, tl_size *saturated);

/* dx (n) = dy (n) where x (n) lies in the representable range [-2^(WL-1), 2^(WL-1)-1] * 2^-FL, else 0 (clipped straight-through estimator); in place allowed (dx == dy). AdaPT itself uses the plain identity STE, which needs no kernel. */
int tl_quant_fixed_backward(float *dx, const float *dy, const float *x, tl_size n, int wl, int fl);

/* q (C, inner) int8, scales (C) = symmetric quantisation of x (C, inner) per leading-dimension channel (C = 1: per tensor): scale = max|x_c| / 127, q = clamp(rint(x / scale), -127, 127); an all-zero channel gets scale 0 and q 0. Non-finite x -> TL_ERR_NUMERIC. */
int tl_quant_int8_quantize(int8_t *q, float *scales, const float *x, tl_size channels, tl_size inner);

/* x (C, inner) = q (C, inner) * scales[c] (int8 back to float). */
int tl_quant_int8_dequantize(float *x, const int8_t *q, const float *scales, tl_size channels, tl_size inner);

/* y (C, inner) = dequantize(quantize(x (C, inner))) per channel (C = 1: per tensor), bitwise equal to the two calls above; scales (C) optional output (NULL = skip); in place allowed (y == x). Its straight-through backward is the identity (the scale covers max|x|, nothing saturates). */
int tl_quant_int8_fake_forward(float *y, float *scales, const float *x, tl_size channels, tl_size inner);

/* range[0] = min x (n), range[1] = max x (n), NaN ignored; TL_ERR_NUMERIC when no element is a number. */
int tl_quant_minmax(float *range, const float *x, tl_size n);

/* counts (bins) = histogram of x (n) over [lo, hi] in equal bins: bin = (tl_size)((x - lo) * (bins / (hi - lo))) in float, x == hi in the last bin; out-of-range x ignored (clamp_outside = 0, as numpy and torch.histc) or counted in the first / last bin (clamp_outside = 1); NaN ignored. lo == hi: values equal to lo go to bin 0. Needs lo <= hi, both finite. */
int tl_quant_histogram(tl_size *counts, const float *x, tl_size n, tl_size bins, float lo, float hi, int clamp_outside);

/* *kl = KL(P || Q) = sum_i p_i ln(p_i / q_i) in double, p_i = (pc_i / sum pc + eps) / (1 + bins * eps) and likewise q_i: additive smoothing keeps empty bins finite; identical histograms give exactly 0. eps >= 0 (0 = none: an empty q bin under a non-empty p bin gives +inf). */
int tl_quant_kl_divergence(double *kl, const tl_size *p_counts, const tl_size *q_counts, tl_size bins, double eps);

/* *kl = AdaPT's information loss KL(P || Q) of the bins-bin histograms of x (n) and of Q(x; wl, fl) over [min x, max x] (see above); range (2) optional output of [min x, max x]. */
int tl_quant_fixed_kl(double *kl, float *range, const float *x, tl_size n, tl_size bins, int wl, int fl, int rounding,
                      uint64_t seed, uint64_t offset, double eps, int clamp_outside);

#ifdef __cplusplus
}
#endif
#endif

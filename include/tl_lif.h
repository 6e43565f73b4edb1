/* TrainingLab core: leaky integrate-and-fire neurons, multi-step, with backpropagation through time.

   Layout: time-major (T, N), N = everything else flattened (e.g. B*C*H*W), row t contiguous.
   One step (charge, fire, reset), with v[-1] = the carried-in state (0 when none):
     charge  TL_LIF_DECAY: h[t] = decay * v[t-1] + x[t]               (snntorch Leaky's beta; AOI-SNN tau = 0.5),
                           computed as fmaf(decay, v, x)
             TL_LIF_TAU:   h[t] = v[t-1] + (x[t] - (v[t-1] - v_reset)) / tau   (spikingjelly LIF, decay_input,
                           STAtten tau = 2), computed as fmaf(x - (v - v_reset), 1/tau, v) with 1/tau in float
     fire    s[t] = 1 if h[t] >= v_threshold else 0                    (spikingjelly's Heaviside at 0)
     reset   TL_LIF_RESET_HARD: v[t] = s ? v_reset : h   (= h (1 - s) + v_reset s)
             TL_LIF_RESET_SOFT: v[t] = s ? h - v_threshold : h   (subtract the threshold)
             TL_LIF_RESET_NONE: v[t] = h
   snntorch's Leaky (reset_mechanism "subtract") subtracts the threshold at the NEXT step without decaying it;
   here, as in spikingjelly and the AOI-SNN / STAtten code, the reset happens within the step.

   Backward (BPTT) with the derivative of the spike replaced by a surrogate sigma'(z), z = h - v_threshold:
     TL_SURROGATE_SIGMOID       alpha * e / (1 + e)^2, e = exp(-alpha |z|)  (= alpha sig(alpha z)(1 - sig(alpha z));
                                spikingjelly Sigmoid alpha = 4, snntorch sigmoid slope = 25)
     TL_SURROGATE_FAST_SIGMOID  1 / (alpha |z| + 1)^2                      (snntorch fast_sigmoid slope = 25)
     TL_SURROGATE_ARCTAN        (alpha / 2) / (1 + (pi/2 * alpha * z)^2)   (spikingjelly / snntorch ATan alpha = 2)
     TL_SURROGATE_TRIANGLE      max(0, alpha - |z|) / alpha^2              (AOI-SNN's ZIF triangle, half-width gamma = 1)
   With G = dL/dv[t] (direct gradient dv[t] plus a * dL/dh[t+1], a = dh/dv = decay or 1 - 1/tau):
     dL/dh[t] = G * dv/dh + (ds[t] + drate / T + [not detached] G * dv/ds) * sigma'(z)
       hard: dv/dh = 1 - s, dv/ds = v_reset - h;  soft: dv/dh = 1, dv/ds = -v_threshold;  none: 1, 0
     dx[t] = dL/dh[t] * (1 for TL_LIF_DECAY, 1/tau for TL_LIF_TAU)
   detach_reset = 1 treats s as a constant inside the reset (spikingjelly detach_reset, STAtten: dv/dh = 1 - s).
   The backward needs only the pre-reset membrane h (T, N) saved by the forward (s is recomputed from it).
   Every element n is independent, so results are bitwise identical for any number of threads. Output buffers must
   not overlap the inputs. Rows that are 32-byte aligned with N % 8 == 0 (buffers from tl_alloc) take an AVX2 path
   (non-temporal stores when T*N >= 4M) that gives the same bits as the plain loop used otherwise. */
#ifndef TL_LIF_H
#define TL_LIF_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tl_lif_charge { TL_LIF_DECAY = 0, TL_LIF_TAU = 1 } tl_lif_charge;
typedef enum tl_lif_reset { TL_LIF_RESET_HARD = 0, TL_LIF_RESET_SOFT = 1, TL_LIF_RESET_NONE = 2 } tl_lif_reset;
typedef enum tl_lif_surrogate {
    TL_SURROGATE_SIGMOID = 0,
    TL_SURROGATE_FAST_SIGMOID = 1,
    TL_SURROGATE_ARCTAN = 2,
    TL_SURROGATE_TRIANGLE = 3
} tl_lif_surrogate;

typedef struct tl_lif_params {
    int charge;         /* tl_lif_charge */
    float decay;        /* TL_LIF_DECAY: membrane decay factor (finite) */
    float tau;          /* TL_LIF_TAU: time constant (> 0) */
    float v_threshold;
    float v_reset;      /* hard-reset target and the rest potential of the tau form */
    int reset;          /* tl_lif_reset */
    int detach_reset;   /* 0 or 1 */
    int surrogate;      /* tl_lif_surrogate */
    float alpha;        /* surrogate parameter (> 0): sigmoid alpha, fast-sigmoid slope, arctan alpha, triangle half-width */
} tl_lif_params;

/* s (T,N) spikes from input currents x (T,N); h (T,N) pre-reset membrane saved for backward (NULL = inference); v_out (T,N) post-reset membrane (NULL = skip); rate (N) = mean_t s (NULL = skip); v_state (N) carries the membrane in (initial v) and out (final v), NULL = start from 0 and drop the final state. */
int tl_lif_forward(float *s, float *h, float *v_out, float *rate, float *v_state, const float *x, tl_size T, tl_size N,
                   const tl_lif_params *params);

/* dx (T,N) = BPTT gradient from ds (T,N) on the spikes, dv (T,N) on the post-reset membrane, drate (N) on the rate (each NULL = zero) and the saved h (T,N); dv_state (N) in: dL/d(final v) (the carried-out state), out: dL/d(initial v); NULL = zero in, not returned. */
int tl_lif_backward(float *dx, float *dv_state, const float *ds, const float *dv, const float *drate, const float *h,
                    tl_size T, tl_size N, const tl_lif_params *params);

/* rate (N) = sum_t s (T,N) / T (sum in t order, then one division). */
int tl_lif_rate_forward(float *rate, const float *s, tl_size T, tl_size N);

/* ds (T,N) = drate (N) / T broadcast over t. */
int tl_lif_rate_backward(float *ds, const float *drate, tl_size T, tl_size N);

/* sigma'(z) (n) of the surrogate `surrogate` with parameter alpha at z (n) = h - v_threshold: the exact formula the backward uses. */
int tl_lif_surrogate_grad(float *grad, const float *z, tl_size n, int surrogate, float alpha);

#ifdef __cplusplus
}
#endif
#endif

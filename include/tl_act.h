/* TrainingLab core: activations. Element-wise ones see their tensors as flat arrays of n floats
   (n == 0 is an OK no-op); softmax and log-softmax see theirs as (outer, axis, inner), row-major, and
   normalise over the middle axis (outer == 0 or inner == 0 is an OK no-op, axis must be > 0).
   In-place use (output pointer == input pointer) is allowed wherever a comment says so; partially
   overlapping buffers are not. Every kernel is element-wise or row-wise with a fixed order of
   operations, so 1 and N threads give bitwise-identical results.
   The exp-bound kernels (sigmoid, tanh, GELU-tanh, softmax, log-softmax) also have AVX-512 variants
   chosen at run time; softmax sums then group differently, so its last bits can differ between CPUs
   with and without AVX-512. TL_ISA=avx2 in the environment forces the AVX2 variants (tl_cpu.h). */
#ifndef TL_ACT_H
#define TL_ACT_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* GELU variant: the exact form x * Phi(x) (PyTorch approximate='none') or the tanh approximation
   0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (PyTorch approximate='tanh'). */
typedef enum tl_gelu_mode {
    TL_GELU_ERF = 0,
    TL_GELU_TANH = 1
} tl_gelu_mode;

/* y (n) = max(x, 0); in place allowed (y == x). */
int tl_relu_forward(float *y, const float *x, tl_size n);
/* dx (n) = dy where y > 0 else 0, from the forward OUTPUT y (so the forward may run in place); dx == dy allowed. */
int tl_relu_backward(float *dx, const float *dy, const float *y, tl_size n);

/* y (n) = x > 0 ? x : slope * x, slope >= 0 (finite); in place allowed (y == x). */
int tl_leaky_relu_forward(float *y, const float *x, tl_size n, float slope);
/* dx (n) = dy * (y > 0 ? 1 : slope) from the OUTPUT y (slope >= 0 keeps the sign of x); dx == dy allowed. */
int tl_leaky_relu_backward(float *dx, const float *dy, const float *y, tl_size n, float slope);

/* y (n) = gelu(x) in the given mode; in place allowed (y == x), but backward then needs a copy of x. */
int tl_gelu_forward(float *y, const float *x, tl_size n, tl_gelu_mode mode);
/* dx (n) = dy * gelu'(x) from the INPUT x (the output does not determine x); dx == dy allowed. */
int tl_gelu_backward(float *dx, const float *dy, const float *x, tl_size n, tl_gelu_mode mode);

/* y (n) = 1 / (1 + exp(-x)); in place allowed (y == x). */
int tl_sigmoid_forward(float *y, const float *x, tl_size n);
/* dx (n) = dy * y * (1 - y) from the OUTPUT y (cheaper than recomputing exp); dx == dy allowed. */
int tl_sigmoid_backward(float *dx, const float *dy, const float *y, tl_size n);

/* y (n) = tanh(x); in place allowed (y == x). */
int tl_tanh_forward(float *y, const float *x, tl_size n);
/* dx (n) = dy * (1 - y^2) from the OUTPUT y; dx == dy allowed. */
int tl_tanh_backward(float *dx, const float *dy, const float *y, tl_size n);

/* y (outer, axis, inner) = softmax of x over the axis, shifted by the max so exp never overflows
   (a row of -inf except one finite value is fine; a row all -inf gives NaN like PyTorch); y == x allowed. */
int tl_softmax_forward(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner);
/* dx (outer, axis, inner) = y * (dy - sum_axis(dy * y)) from the OUTPUT y; dx == dy allowed. */
int tl_softmax_backward(float *dx, const float *dy, const float *y, tl_size outer, tl_size axis, tl_size inner);

/* y (outer, axis, inner) = x - max - log(sum_axis exp(x - max)); y == x allowed. */
int tl_log_softmax_forward(float *y, const float *x, tl_size outer, tl_size axis, tl_size inner);
/* dx (outer, axis, inner) = dy - exp(y) * sum_axis(dy) from the OUTPUT y; dx == dy allowed. */
int tl_log_softmax_backward(float *dx, const float *dy, const float *y, tl_size outer, tl_size axis, tl_size inner);

#ifdef __cplusplus
}
#endif
#endif

/* TrainingLab core: layout and broadcasting kernels on row-major tensors of any rank up to TL_MAX_RANK:
   axis permutation, NumPy-style broadcast arithmetic and its gradient reduction, extremes along an axis,
   and block copies along an axis (slice, concatenate, stack). Every kernel partitions its work by output
   element, so 1 and 2 threads give bitwise-identical results. */
#ifndef TL_TENSOR_H
#define TL_TENSOR_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Highest rank the shape-generic kernels accept. */
#define TL_MAX_RANK 8

/* y = x with its axes permuted: x (shape[0..rank)), y (shape[perm[0]], ..., shape[perm[rank-1]]),
   y[j_0, ..., j_{rank-1}] = x[i] with i[perm[k]] = j_k; perm is a permutation of 0..rank-1. No aliasing.
   The inverse permutation makes the backward. */
int tl_permute(float *y, const float *x, int rank, const tl_size *shape, const int *perm);

typedef enum tl_binary_op { TL_BINARY_ADD = 0, TL_BINARY_SUB = 1, TL_BINARY_MUL = 2, TL_BINARY_DIV = 3 } tl_binary_op;

/* y (y_shape) = a (a_shape) op b (b_shape), all of `rank` dims (pad leading 1s); each a_shape[d] and
   b_shape[d] is y_shape[d] or 1 (a 1 is repeated along y's dim). y must not alias a broadcast input. */
int tl_broadcast_binary(int op, float *y, const float *a, const tl_size *a_shape, const float *b,
                        const tl_size *b_shape, const tl_size *y_shape, int rank);

/* out (out_shape) = x (x_shape) summed over the dims where out_shape[d] == 1 < x_shape[d] (the gradient
   of a broadcast), `rank` dims each, out_shape[d] in {1, x_shape[d]}; accumulated in double per output. */
int tl_sum_to_shape(float *out, const float *x, const tl_size *x_shape, const tl_size *out_shape, int rank);

/* out (outer, inner) = max (minimum == 0) or min (minimum != 0) over the middle axis of x (outer, axis, inner)
   and index (outer, inner) = its first position along the axis; NaN entries are skipped unless a slice
   holds nothing else (then index 0). axis must be > 0. */
int tl_extreme_axis_forward(float *out, int64_t *index, const float *x, tl_size outer, tl_size axis, tl_size inner,
                            int minimum);

/* dx (outer, axis, inner) = dout[o, i] at position index[o, i] of the axis, 0 elsewhere. */
int tl_extreme_axis_backward(float *dx, const float *dout, const int64_t *index, tl_size outer, tl_size axis,
                             tl_size inner);

/* dst (outer, dst_axis, inner)[:, dst_start + j, :] = src (outer, src_axis, inner)[:, src_start + j, :] for
   j < length: one kernel for slicing (and its backward into zeros), concatenating and stacking. */
int tl_copy_axis_block(float *dst, tl_size dst_axis, tl_size dst_start, const float *src, tl_size src_axis,
                       tl_size src_start, tl_size outer, tl_size length, tl_size inner);

#ifdef __cplusplus
}
#endif
#endif

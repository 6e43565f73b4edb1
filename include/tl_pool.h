/* TrainingLab core: 2-D pooling over NCHW float32 tensors.
   Window geometry per axis: kernel k >= 1, stride s >= 1, padding 0 <= p <= k / 2 (PyTorch's rule, which
   also guarantees every window overlaps the input); output size OH = (H + 2 ph - kh) / sh + 1 (floor
   mode), likewise OW, and it must be >= 1. N == 0 or C == 0 is an OK no-op; H, W must be > 0.
   Work is split over the N*C planes, each plane done by one thread in a fixed order, so every
   kernel gives bitwise-identical results for any number of threads. */
#ifndef TL_POOL_H
#define TL_POOL_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output height (or width) of a pooling window over an input of size `in`, or -1 when the geometry is
   invalid (k < 1, s < 1, p < 0, p > k / 2, or the window does not fit). */
tl_size tl_pool2d_output_size(tl_size in, tl_size k, tl_size s, tl_size p);

/* y (N,C,OH,OW) = max of x (N,C,H,W) over each kh x kw window (padding never wins; NaN propagates);
   idx (N,C,OH,OW) int32 = flat offset h*W + w of the chosen element in its input plane, the first
   maximum in row-major window order on ties. idx may be NULL when no backward follows. */
int tl_maxpool2d_forward(float *y, int32_t *idx, const float *x, tl_size N, tl_size C, tl_size H, tl_size W,
                         tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw);
/* dx (N,C,H,W) = sum of dy (N,C,OH,OW) scattered to idx (from the forward); overwrites dx. An index
   outside [0, H*W) is TL_ERR_INVALID_ARGUMENT (dx is then unspecified). */
int tl_maxpool2d_backward(float *dx, const float *dy, const int32_t *idx, tl_size N, tl_size C, tl_size H, tl_size W,
                          tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw);

/* y (N,C,OH,OW) = mean of x (N,C,H,W) over each window; count_include_pad != 0 divides by kh*kw
   (padding counts as zeros), 0 divides by the number of in-bounds elements (PyTorch's two modes). */
int tl_avgpool2d_forward(float *y, const float *x, tl_size N, tl_size C, tl_size H, tl_size W,
                         tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw, int count_include_pad);
/* dx (N,C,H,W) = dy (N,C,OH,OW) spread evenly over each window with the forward's divisor; overwrites dx. */
int tl_avgpool2d_backward(float *dx, const float *dy, tl_size N, tl_size C, tl_size H, tl_size W,
                          tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw, int count_include_pad);

/* y (N,C) = mean of x (N,C,H,W) over each H*W plane (accumulated in double). */
int tl_global_avgpool2d_forward(float *y, const float *x, tl_size N, tl_size C, tl_size H, tl_size W);
/* dx (N,C,H,W) = dy (N,C) / (H*W) broadcast over each plane; overwrites dx. */
int tl_global_avgpool2d_backward(float *dx, const float *dy, tl_size N, tl_size C, tl_size H, tl_size W);

#ifdef __cplusplus
}
#endif
#endif

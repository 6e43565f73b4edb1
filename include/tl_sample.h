/* TrainingLab core: bilinear grid sampling (spatial transformers, deformable warps), with PyTorch's
   grid_sample semantics for mode "bilinear" and padding "zeros". */
#ifndef TL_SAMPLE_H
#define TL_SAMPLE_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y (n, c, ho, wo) = x (n, c, h, w) sampled bilinearly at grid (n, ho, wo, 2), whose last axis holds (x, y)
   in [-1, 1]. align_corners != 0 maps -1 and 1 to the centres of the corner pixels, 0 to their outer edges;
   pixels outside x read as 0. */
int tl_grid_sample_forward(float *y, const float *x, const float *grid, tl_size n, tl_size c, tl_size h, tl_size w,
                           tl_size ho, tl_size wo, int align_corners);

/* dx (n, c, h, w) and dgrid (n, ho, wo, 2) from dy (n, c, ho, wo) and the forward's x and grid; either
   output may be NULL when not needed. dx is overwritten, scattered one (n, c) plane per task in a fixed
   pixel order, so it does not depend on the thread count. */
int tl_grid_sample_backward(float *dx, float *dgrid, const float *dy, const float *x, const float *grid, tl_size n,
                            tl_size c, tl_size h, tl_size w, tl_size ho, tl_size wo, int align_corners);

#ifdef __cplusplus
}
#endif
#endif

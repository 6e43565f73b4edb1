/* Private to the convolution files: the checked shape with derived sizes, scratch buffers, and the
   entry points of each implementation (im2col + GEMM, direct, Winograd). */
#ifndef TL_CONV_INTERNAL_H
#define TL_CONV_INTERNAL_H

#include "tl_gemm_internal.h"
#include "../include/tl_conv.h"

#include <limits.h>

/* A validated convolution: p's fields plus everything derived from them. */
typedef struct conv_shape {
    tl_size N, C, H, W;       /* batch, input channels, input height, width */
    tl_size K, R, S;          /* output channels, kernel height, width */
    tl_size sh, sw, ph, pw, dh, dw;
    tl_size G, Cg, Kg;        /* groups, input and output channels per group */
    tl_size OH, OW;
    tl_size HW, P;            /* input plane size, output plane size */
    tl_size CRS;              /* Cg * R * S: length of one filter, the GEMM inner dimension */
} conv_shape;

/* The restriction set by tl_conv2d_set_mode (TL_CONV2D_NO_* bits). */
extern int conv_mode;

/* Images per block of the weight gradient: the partition into partial sums depends on the shape only. */
tl_size conv_weight_block_images(const conv_shape *s);

/* out[e] = sum over blocks b (in order) of partials[b*stride + e], e < n; OpenMP-parallel over e. */
void conv_sum_partials(float *out, const float *partials, tl_size blocks, tl_size n, tl_size stride);

/* im2col + GEMM: any shape. Return TL_OK or TL_ERR_OUT_OF_MEMORY. */
int conv_im2col_forward(float *y, const float *x, const float *w, const float *b, const conv_shape *s);
int conv_im2col_backward_input(float *dx, const float *dy, const float *w, const conv_shape *s);
/* pdw (K, CRS) = weight gradient of images [n0, n1) with GEMM kernel `kern`; col is scratch of
   conv_im2col_col_floats. Returns TL_OK or TL_ERR_OUT_OF_MEMORY. */
int conv_im2col_weight_block(float *pdw, const float *dy, const float *x, const conv_shape *s, tl_size n0,
                             tl_size n1, float *col, const tl_gemm_kernel *kern);
size_t conv_im2col_col_floats(const conv_shape *s);

/* Direct shifted-GEMM kernels (tl_conv_direct.c). */
int conv_direct_supported(const conv_shape *s, int for_weight);
int conv_direct_forward(float *y, const float *x, const float *w, const float *b, const conv_shape *s);
int conv_direct_backward_input_supported(const conv_shape *s);
int conv_direct_backward_input(float *dx, const float *dy, const float *w, const conv_shape *s);
/* dw, and db too when db is not NULL and it is free to compute here: returns 1 in *db_done then. */
int conv_direct_backward_weight(float *dw, float *db, int *db_done, const float *dy, const float *x,
                                const conv_shape *s);

/* Winograd F(4x4,3x3): 3x3, stride 1, dilation 1, padding <= 2, at least 8 channels per group. */
int conv_winograd_supported(const conv_shape *s);
int conv_winograd_forward(float *y, const float *x, const float *w, const float *b, const conv_shape *s);
int conv_winograd_backward_input(float *dx, const float *dy, const float *w, const conv_shape *s);
int conv_winograd_backward_weight(float *dw, const float *dy, const float *x, const conv_shape *s);

#endif

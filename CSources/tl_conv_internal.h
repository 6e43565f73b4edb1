/* Private to the convolution files: the checked shape with derived sizes, scratch buffers, and the
   entry points of each implementation (im2col + GEMM, direct, Winograd). */
#ifndef TL_CONV_INTERNAL_H
#define TL_CONV_INTERNAL_H

#include "tl_internal.h"
#include "../include/tl_conv.h"

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

/* Thread-local grow-only buffer `slot` (0..TL_SCRATCH_SLOTS-1) of at least `count` floats, 64-byte
   aligned; NULL when out of memory. The contents are not preserved when it grows. */
#define TL_SCRATCH_SLOTS 4
float *tl_scratch(int slot, size_t count);

/* Images per block of the weight gradient: the partition into partial sums depends on the shape only. */
tl_size conv_weight_block_images(const conv_shape *s);

/* Single-threaded row-major sgemm without checks (sizes known valid). */
void conv_gemm(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha, const float *A, tl_size lda,
               const float *B, tl_size ldb, float beta, float *C, tl_size ldc);

/* im2col + GEMM: any shape. Return TL_OK or TL_ERR_OUT_OF_MEMORY. */
int conv_im2col_forward(float *y, const float *x, const float *w, const float *b, const conv_shape *s);
int conv_im2col_backward_input(float *dx, const float *dy, const float *w, const conv_shape *s);
/* Partial dw/db of images [n0, n1) into pdw (K*CRS) / pdb (K), either may be NULL; col is caller scratch. */
void conv_im2col_weight_block(float *pdw, float *pdb, const float *dy, const float *x, const conv_shape *s,
                              tl_size n0, tl_size n1, float *col);
size_t conv_im2col_col_floats(const conv_shape *s);

#endif

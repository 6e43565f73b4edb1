/* TrainingLab core: 2-D convolution, NCHW, float32, forward and backward.
   Weight layout (out_channels, in_channels/groups, kernel_h, kernel_w); bias (out_channels).
   Output size per axis: (in + 2*pad - dilation*(kernel-1) - 1) / stride + 1, which must be > 0.
   A batch of 0 images is allowed: forward does nothing, backward zeroes dw and db. Outputs must not
   overlap inputs.
   Scratch memory (im2col columns, Winograd tiles, weight-gradient partials) lives in grow-only
   buffers owned by each calling/worker thread: it is allocated once at the largest size seen and
   reused, so steady-state calls do not allocate; it is freed when the thread exits.
   Results do not depend on the number of threads (bitwise): work is cut into pieces that depend only
   on the shape, and the weight/bias gradients sum fixed per-image-block partials in a fixed order.
   The pieces are handed out dynamically, which keeps both threads busy on a shared machine.
   Implementations, chosen by shape only (tl_conv2d_algorithms tells which, tl_conv2d_set_mode can
   switch them off): Winograd F(4x4,3x3) for 3x3 stride-1 undilated convolutions with >= 16 channels
   per group in and out, or >= 8 where the direct kernel does not apply (all three passes; it agrees with
   the direct definition to about 1e-5 of the output scale, rounding differs); a direct register-tiled
   kernel (AVX2, or AVX-512 when the CPU has it) for most other shapes with >= 4 output channels per
   group and rows that fill the vectors; im2col + OpenBLAS for the rest (depthwise, 1x1, tiny rows). */
#ifndef TL_CONV_H
#define TL_CONV_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shape of one convolution. stride, dilation and groups >= 1; pad >= 0; groups divides both channel counts. */
typedef struct tl_conv2d_params {
    tl_size batch, in_channels, in_h, in_w;
    tl_size out_channels, kernel_h, kernel_w;
    tl_size stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    tl_size groups;
} tl_conv2d_params;

/* out_h, out_w of convolution p (after checking all of p); TL_ERR_INVALID_ARGUMENT if the kernel does not fit. */
int tl_conv2d_output_size(tl_size *out_h, tl_size *out_w, tl_conv2d_params p);

/* y (N,C_out,OH,OW) = conv(x (N,C_in,H,W), w (C_out,C_in/groups,KH,KW)) + b (C_out); b may be NULL (no bias). */
int tl_conv2d_forward(float *y, const float *x, const float *w, const float *b, tl_conv2d_params p);

/* dx (N,C_in,H,W), dw (C_out,C_in/groups,KH,KW), db (C_out) from dy (N,C_out,OH,OW); each of dx, dw, db may be NULL
   (not computed); x is needed only for dw and w only for dx. Gradients are overwritten, not accumulated. */
int tl_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                       tl_conv2d_params p);

/* Implementations, as reported by tl_conv2d_algorithms. */
enum { TL_CONV2D_ALGO_IM2COL = 0, TL_CONV2D_ALGO_DIRECT = 1, TL_CONV2D_ALGO_WINOGRAD = 2 };

/* Which implementation each pass of convolution p would use now (any output pointer may be NULL). */
int tl_conv2d_algorithms(int *forward, int *backward_input, int *backward_weight, tl_conv2d_params p);

/* Bits of tl_conv2d_set_mode: switch off an implementation, or the AVX-512 kernels on CPUs that have them. */
enum { TL_CONV2D_AUTO = 0, TL_CONV2D_NO_WINOGRAD = 1, TL_CONV2D_NO_DIRECT = 2, TL_CONV2D_NO_AVX512 = 4 };

/* Process-wide restriction of the optimised paths, for tests and benchmarks (default TL_CONV2D_AUTO).
   Not synchronised: set it while no convolution runs. */
int tl_conv2d_set_mode(int mode);

/* Frees the scratch buffers (convolutions, GEMM packing) of the calling thread and of its OpenMP workers now
   (they come back on demand). */
int tl_conv2d_release_scratch(void);

/* Direct-loop references of the two above (double accumulation, single-threaded): for tests. */
int tl_conv2d_forward_ref(float *y, const float *x, const float *w, const float *b, tl_conv2d_params p);
int tl_conv2d_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                           tl_conv2d_params p);

#ifdef __cplusplus
}
#endif
#endif

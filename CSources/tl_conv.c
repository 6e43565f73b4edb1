/* 2-D convolution: argument checks, choice of implementation, the deterministic weight-gradient
   reduction and the direct-loop references. */
#include "tl_conv_internal.h"

#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- scratch */

int tl_conv2d_release_scratch(void) {
    tl_scratch_release();
    #pragma omp parallel
    tl_scratch_release();
    return TL_OK;
}

/* ---------------------------------------------------------------- shape */

static int conv_shape_make(conv_shape *s, tl_conv2d_params p, const char *fn) {
    TL_CHECK_NONNEG(fn, p.batch);
    TL_CHECK_POS(fn, p.in_channels);
    TL_CHECK_POS(fn, p.in_h);
    TL_CHECK_POS(fn, p.in_w);
    TL_CHECK_POS(fn, p.out_channels);
    TL_CHECK_POS(fn, p.kernel_h);
    TL_CHECK_POS(fn, p.kernel_w);
    TL_CHECK_POS(fn, p.stride_h);
    TL_CHECK_POS(fn, p.stride_w);
    TL_CHECK_NONNEG(fn, p.pad_h);
    TL_CHECK_NONNEG(fn, p.pad_w);
    TL_CHECK_POS(fn, p.dilation_h);
    TL_CHECK_POS(fn, p.dilation_w);
    TL_CHECK_POS(fn, p.groups);
    TL_CHECK(fn, p.in_channels % p.groups == 0, "%s: in_channels (%td) must be divisible by groups (%td)", fn,
             p.in_channels, p.groups);
    TL_CHECK(fn, p.out_channels % p.groups == 0, "%s: out_channels (%td) must be divisible by groups (%td)", fn,
             p.out_channels, p.groups);
    /* Bounds that keep every product below in range of int (OpenBLAS) and of tl_size. */
    const tl_size big = (tl_size)1 << 30;
    TL_CHECK(fn, p.in_h < big && p.in_w < big && p.kernel_h < big && p.kernel_w < big && p.pad_h < big &&
                 p.pad_w < big && p.dilation_h < big && p.dilation_w < big && p.stride_h < big && p.stride_w < big,
             "%s: spatial sizes must be < 2^30", fn);
    const tl_size ext_h = p.dilation_h * (p.kernel_h - 1) + 1, ext_w = p.dilation_w * (p.kernel_w - 1) + 1;
    const tl_size oh = p.in_h + 2 * p.pad_h >= ext_h ? (p.in_h + 2 * p.pad_h - ext_h) / p.stride_h + 1 : 0;
    const tl_size ow = p.in_w + 2 * p.pad_w >= ext_w ? (p.in_w + 2 * p.pad_w - ext_w) / p.stride_w + 1 : 0;
    TL_CHECK(fn, oh > 0 && ow > 0,
             "%s: output size must be > 0, got %td x %td (input %td x %td, padding %td/%td, dilated kernel %td x %td)",
             fn, oh, ow, p.in_h, p.in_w, p.pad_h, p.pad_w, ext_h, ext_w);
    s->N = p.batch; s->C = p.in_channels; s->H = p.in_h; s->W = p.in_w;
    s->K = p.out_channels; s->R = p.kernel_h; s->S = p.kernel_w;
    s->sh = p.stride_h; s->sw = p.stride_w; s->ph = p.pad_h; s->pw = p.pad_w; s->dh = p.dilation_h; s->dw = p.dilation_w;
    s->G = p.groups; s->Cg = p.in_channels / p.groups; s->Kg = p.out_channels / p.groups;
    s->OH = oh; s->OW = ow; s->HW = p.in_h * p.in_w; s->P = oh * ow; s->CRS = s->Cg * p.kernel_h * p.kernel_w;
    TL_CHECK(fn, s->HW < INT_MAX && s->P < INT_MAX && s->CRS < INT_MAX && s->C < INT_MAX && s->K < INT_MAX &&
                 s->CRS <= INT_MAX / s->Kg,
             "%s: planes, channel counts and filters must have fewer than 2^31 elements", fn);
    return TL_OK;
}

int tl_conv2d_output_size(tl_size *out_h, tl_size *out_w, tl_conv2d_params p) {
    TL_CHECK_PTR("tl_conv2d_output_size", out_h);
    TL_CHECK_PTR("tl_conv2d_output_size", out_w);
    conv_shape s;
    TL_TRY(conv_shape_make(&s, p, "tl_conv2d_output_size"));
    *out_h = s.OH;
    *out_w = s.OW;
    return TL_OK;
}

/* ---------------------------------------------------------------- choice of implementation */

int conv_mode = TL_CONV2D_AUTO;

int tl_conv2d_set_mode(int mode) {
    TL_CHECK("tl_conv2d_set_mode", mode >= 0 && mode <= (TL_CONV2D_NO_WINOGRAD | TL_CONV2D_NO_DIRECT | TL_CONV2D_NO_AVX512),
             "tl_conv2d_set_mode: mode must be a combination of TL_CONV2D_NO_* bits, got %d", mode);
    conv_mode = mode;
    return TL_OK;
}

/* Winograd wins when the 36 products per tile are large enough next to its transforms: with >= 16
   channels in and out per group (measured at batch 128, 1 thread: 1.15x faster than the AVX-512 direct
   kernel at 16 channels on 32x32, 1.9x at 32 channels on 16x16, 3.5x at 64 on 8x8); below that it is
   used only where the direct kernel does not apply (narrow images). */
static int prefer_winograd(const conv_shape *s, int direct_ok) {
    return conv_winograd_supported(s) && ((s->Cg >= 16 && s->Kg >= 16) || !direct_ok);
}

static int algo_forward(const conv_shape *s) {
    const int direct = conv_direct_supported(s, 0);
    if (prefer_winograd(s, direct)) return TL_CONV2D_ALGO_WINOGRAD;
    return direct ? TL_CONV2D_ALGO_DIRECT : TL_CONV2D_ALGO_IM2COL;
}

static int algo_backward_input(const conv_shape *s) {
    const int direct = conv_direct_backward_input_supported(s);
    if (prefer_winograd(s, direct)) return TL_CONV2D_ALGO_WINOGRAD;
    return direct ? TL_CONV2D_ALGO_DIRECT : TL_CONV2D_ALGO_IM2COL;
}

static int algo_backward_weight(const conv_shape *s) {
    const int direct = conv_direct_supported(s, 1);
    if (prefer_winograd(s, direct)) return TL_CONV2D_ALGO_WINOGRAD;
    return direct ? TL_CONV2D_ALGO_DIRECT : TL_CONV2D_ALGO_IM2COL;
}

int tl_conv2d_algorithms(int *forward, int *backward_input, int *backward_weight, tl_conv2d_params p) {
    const char *fn = "tl_conv2d_algorithms";
    conv_shape s;
    TL_TRY(conv_shape_make(&s, p, fn));
    if (forward) *forward = algo_forward(&s);
    if (backward_input) *backward_input = algo_backward_input(&s);
    if (backward_weight) *backward_weight = algo_backward_weight(&s);
    return TL_OK;
}

/* ---------------------------------------------------------------- forward / backward */

int tl_conv2d_forward(float *y, const float *x, const float *w, const float *b, tl_conv2d_params p) {
    const char *fn = "tl_conv2d_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, w);
    conv_shape s;
    TL_TRY(conv_shape_make(&s, p, fn));
    if (s.N == 0) return TL_OK;
    int status;
    switch (algo_forward(&s)) {
    case TL_CONV2D_ALGO_WINOGRAD: status = conv_winograd_forward(y, x, w, b, &s); break;
    case TL_CONV2D_ALGO_DIRECT: status = conv_direct_forward(y, x, w, b, &s); break;
    default: status = conv_im2col_forward(y, x, w, b, &s); break;
    }
    return status == TL_OK ? TL_OK : tl_fail(status, "%s: out of memory for scratch buffers", fn);
}

/* At most this many partial weight gradients, and at most this many floats for all of them together. */
#define TL_CONV_WEIGHT_PARTS 8
#define TL_CONV_PARTIAL_FLOATS ((tl_size)1 << 24)

tl_size conv_weight_block_images(const conv_shape *s) {
    tl_size parts = s->N < TL_CONV_WEIGHT_PARTS ? s->N : TL_CONV_WEIGHT_PARTS;
    const tl_size per_part = s->K * s->CRS;
    if (parts * per_part > TL_CONV_PARTIAL_FLOATS) parts = TL_CONV_PARTIAL_FLOATS / per_part;
    if (parts < 1) parts = 1;
    return (s->N + parts - 1) / parts;
}

void conv_sum_partials(float *out, const float *partials, tl_size blocks, tl_size n, tl_size stride) {
    #pragma omp parallel for schedule(static) if (n * blocks > 65536)
    for (tl_size e = 0; e < n; e++) {
        float acc = partials[e];
        for (tl_size blk = 1; blk < blocks; blk++) acc += partials[blk * stride + e];
        out[e] = acc;
    }
}

/* dw = sum over fixed blocks of images of per-block partials, added in block order: the same bits for
   any number of threads. Sets *db_done when the chosen path also computed db. */
static int conv_backward_weight(float *dw, float *db, int *db_done, const float *dy, const float *x,
                                const conv_shape *s) {
    const tl_size wsize = s->K * s->CRS;
    if (s->N == 0) {
        memset(dw, 0, (size_t)wsize * sizeof(float));
        return TL_OK;
    }
    switch (algo_backward_weight(s)) {
    case TL_CONV2D_ALGO_WINOGRAD: return conv_winograd_backward_weight(dw, dy, x, s);
    case TL_CONV2D_ALGO_DIRECT: return conv_direct_backward_weight(dw, db, db_done, dy, x, s);
    default: break;
    }
    const tl_size nb = conv_weight_block_images(s);
    const tl_size blocks = (s->N + nb - 1) / nb;
    float *partials = tl_scratch(TL_SCR_PARTIALS, (size_t)(blocks * wsize));
    if (!partials) return TL_ERR_OUT_OF_MEMORY;
    const size_t col_floats = conv_im2col_col_floats(s);
    const tl_gemm_kernel *kern = tl_gemm_pick();
    int failed = 0;
    tl_size next_blk = 0; /* tasks handed out one by one: a slowed thread takes fewer */
    #pragma omp parallel if (blocks > 1)
    for (tl_size blk; (blk = tl_next_task(&next_blk)) < blocks;) {
        const tl_size n0 = blk * nb, n1 = n0 + nb < s->N ? n0 + nb : s->N;
        float *col = tl_scratch(TL_SCR_A, col_floats);
        if (!col || conv_im2col_weight_block(partials + blk * wsize, dy, x, s, n0, n1, col, kern) != TL_OK) failed = 1;
    }
    if (failed) return TL_ERR_OUT_OF_MEMORY;
    conv_sum_partials(dw, partials, blocks, wsize, wsize);
    return TL_OK;
}

/* db[k] = sum of dy over images and pixels: each channel summed by one thread, images in order, pixels
   in 16 interleaved partial sums (vectorisable, fixed order). */
static void conv_backward_bias(float *db, const float *dy, const conv_shape *s) {
    #pragma omp parallel for schedule(static) if (s->N * s->K * s->P > 65536)
    for (tl_size k = 0; k < s->K; k++) {
        float lanes[16] = {0};
        float tail = 0.0f;
        const tl_size body = s->P / 16 * 16;
        for (tl_size n = 0; n < s->N; n++) {
            const float *row = dy + (n * s->K + k) * s->P;
            for (tl_size i = 0; i < body; i += 16)
                for (int l = 0; l < 16; l++) lanes[l] += row[i + l];
            for (tl_size i = body; i < s->P; i++) tail += row[i];
        }
        float acc = tail;
        for (int l = 0; l < 16; l++) acc += lanes[l];
        db[k] = acc;
    }
}

int tl_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                       tl_conv2d_params p) {
    const char *fn = "tl_conv2d_backward";
    TL_CHECK_PTR(fn, dy);
    if (dw) TL_CHECK_PTR(fn, x);
    if (dx) TL_CHECK_PTR(fn, w);
    conv_shape s;
    TL_TRY(conv_shape_make(&s, p, fn));
    if (dx && s.N > 0) {
        int status;
        switch (algo_backward_input(&s)) {
        case TL_CONV2D_ALGO_WINOGRAD: status = conv_winograd_backward_input(dx, dy, w, &s); break;
        case TL_CONV2D_ALGO_DIRECT: status = conv_direct_backward_input(dx, dy, w, &s); break;
        default: status = conv_im2col_backward_input(dx, dy, w, &s); break;
        }
        if (status != TL_OK) return tl_fail(status, "%s: out of memory for scratch buffers", fn);
    }
    int db_done = 0;
    if (dw) {
        int status = conv_backward_weight(dw, db, &db_done, dy, x, &s);
        if (status != TL_OK) return tl_fail(status, "%s: out of memory for scratch buffers", fn);
    }
    if (db && !db_done) conv_backward_bias(db, dy, &s);
    return TL_OK;
}

/* ---------------------------------------------------------------- references */

/* Input row/column of output position o and kernel tap t, or -1 when it falls in the padding. */
static inline tl_size conv_src(tl_size o, tl_size t, tl_size stride, tl_size pad, tl_size dil, tl_size size) {
    const tl_size i = o * stride - pad + t * dil;
    return i >= 0 && i < size ? i : -1;
}

int tl_conv2d_forward_ref(float *y, const float *x, const float *w, const float *b, tl_conv2d_params p) {
    const char *fn = "tl_conv2d_forward_ref";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, w);
    conv_shape s;
    TL_TRY(conv_shape_make(&s, p, fn));
    for (tl_size n = 0; n < s.N; n++)
        for (tl_size k = 0; k < s.K; k++) {
            const tl_size g = k / s.Kg;
            for (tl_size oh = 0; oh < s.OH; oh++)
                for (tl_size ow = 0; ow < s.OW; ow++) {
                    double acc = b ? (double)b[k] : 0.0;
                    for (tl_size c = 0; c < s.Cg; c++)
                        for (tl_size r = 0; r < s.R; r++) {
                            const tl_size ih = conv_src(oh, r, s.sh, s.ph, s.dh, s.H);
                            if (ih < 0) continue;
                            for (tl_size q = 0; q < s.S; q++) {
                                const tl_size iw = conv_src(ow, q, s.sw, s.pw, s.dw, s.W);
                                if (iw < 0) continue;
                                acc += (double)w[((k * s.Cg + c) * s.R + r) * s.S + q] *
                                       (double)x[((n * s.C + g * s.Cg + c) * s.H + ih) * s.W + iw];
                            }
                        }
                    y[((n * s.K + k) * s.OH + oh) * s.OW + ow] = (float)acc;
                }
        }
    return TL_OK;
}

int tl_conv2d_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                           tl_conv2d_params p) {
    const char *fn = "tl_conv2d_backward_ref";
    TL_CHECK_PTR(fn, dy);
    if (dw) TL_CHECK_PTR(fn, x);
    if (dx) TL_CHECK_PTR(fn, w);
    conv_shape s;
    TL_TRY(conv_shape_make(&s, p, fn));
    if (dx) {
        double *acc = calloc((size_t)(s.N * s.C * s.HW) + 1, sizeof(double));
        if (!acc) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
        for (tl_size n = 0; n < s.N; n++)
            for (tl_size k = 0; k < s.K; k++) {
                const tl_size g = k / s.Kg;
                for (tl_size oh = 0; oh < s.OH; oh++)
                    for (tl_size ow = 0; ow < s.OW; ow++) {
                        const double go = dy[((n * s.K + k) * s.OH + oh) * s.OW + ow];
                        for (tl_size c = 0; c < s.Cg; c++)
                            for (tl_size r = 0; r < s.R; r++) {
                                const tl_size ih = conv_src(oh, r, s.sh, s.ph, s.dh, s.H);
                                if (ih < 0) continue;
                                for (tl_size q = 0; q < s.S; q++) {
                                    const tl_size iw = conv_src(ow, q, s.sw, s.pw, s.dw, s.W);
                                    if (iw < 0) continue;
                                    acc[((n * s.C + g * s.Cg + c) * s.H + ih) * s.W + iw] +=
                                        go * (double)w[((k * s.Cg + c) * s.R + r) * s.S + q];
                                }
                            }
                    }
            }
        for (tl_size i = 0; i < s.N * s.C * s.HW; i++) dx[i] = (float)acc[i];
        free(acc);
    }
    if (dw)
        for (tl_size k = 0; k < s.K; k++) {
            const tl_size g = k / s.Kg;
            for (tl_size c = 0; c < s.Cg; c++)
                for (tl_size r = 0; r < s.R; r++)
                    for (tl_size q = 0; q < s.S; q++) {
                        double acc = 0.0;
                        for (tl_size n = 0; n < s.N; n++)
                            for (tl_size oh = 0; oh < s.OH; oh++) {
                                const tl_size ih = conv_src(oh, r, s.sh, s.ph, s.dh, s.H);
                                if (ih < 0) continue;
                                for (tl_size ow = 0; ow < s.OW; ow++) {
                                    const tl_size iw = conv_src(ow, q, s.sw, s.pw, s.dw, s.W);
                                    if (iw < 0) continue;
                                    acc += (double)dy[((n * s.K + k) * s.OH + oh) * s.OW + ow] *
                                           (double)x[((n * s.C + g * s.Cg + c) * s.H + ih) * s.W + iw];
                                }
                            }
                        dw[((k * s.Cg + c) * s.R + r) * s.S + q] = (float)acc;
                    }
        }
    if (db)
        for (tl_size k = 0; k < s.K; k++) {
            double acc = 0.0;
            for (tl_size n = 0; n < s.N; n++)
                for (tl_size i = 0; i < s.P; i++) acc += dy[(n * s.K + k) * s.P + i];
            db[k] = (float)acc;
        }
    return TL_OK;
}

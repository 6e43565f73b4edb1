/* Convolution as matrix products: im2col lays the receptive fields of one image (one group) out as
   a (Cg*R*S, OH*OW) matrix so that the output is one GEMM with the (Kg, Cg*R*S) filters. 1x1
   convolutions with stride 1 and no padding use the input itself as that matrix. */
#include "tl_conv_internal.h"

#include <omp.h>
#include <string.h>

static int is_pointwise(const conv_shape *s) {
    return s->R == 1 && s->S == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 && s->pw == 0;
}

size_t conv_im2col_col_floats(const conv_shape *s) { return (size_t)(s->CRS * s->P); }

/* Output columns [lo, hi) whose input column ow*sw - pw + q*dw lies inside [0, W). */
static void valid_cols(const conv_shape *s, tl_size q, tl_size *lo, tl_size *hi) {
    const tl_size off = q * s->dw - s->pw;
    tl_size a = off >= 0 ? 0 : (-off + s->sw - 1) / s->sw;
    tl_size b = s->W - 1 - off >= 0 ? (s->W - 1 - off) / s->sw + 1 : 0;
    if (b > s->OW) b = s->OW;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* col (CRS, P) = receptive fields of xg (Cg, H, W). */
static void im2col(float *col, const float *xg, const conv_shape *s) {
    for (tl_size c = 0; c < s->Cg; c++)
        for (tl_size r = 0; r < s->R; r++)
            for (tl_size q = 0; q < s->S; q++) {
                float *row = col + ((c * s->R + r) * s->S + q) * s->P;
                tl_size lo, hi;
                valid_cols(s, q, &lo, &hi);
                const tl_size off = q * s->dw - s->pw;
                for (tl_size oh = 0; oh < s->OH; oh++) {
                    float *dst = row + oh * s->OW;
                    const tl_size ih = oh * s->sh - s->ph + r * s->dh;
                    if (ih < 0 || ih >= s->H) {
                        memset(dst, 0, (size_t)s->OW * sizeof(float));
                        continue;
                    }
                    const float *src = xg + (c * s->H + ih) * s->W + off;
                    for (tl_size ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
                    if (s->sw == 1)
                        memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                    else
                        for (tl_size ow = lo; ow < hi; ow++) dst[ow] = src[ow * s->sw];
                    for (tl_size ow = hi; ow < s->OW; ow++) dst[ow] = 0.0f;
                }
            }
}

/* dxg (Cg, H, W) += the receptive fields in col (CRS, P) summed back onto the input. */
static void col2im(float *dxg, const float *col, const conv_shape *s) {
    for (tl_size c = 0; c < s->Cg; c++)
        for (tl_size r = 0; r < s->R; r++)
            for (tl_size q = 0; q < s->S; q++) {
                const float *row = col + ((c * s->R + r) * s->S + q) * s->P;
                tl_size lo, hi;
                valid_cols(s, q, &lo, &hi);
                const tl_size off = q * s->dw - s->pw;
                for (tl_size oh = 0; oh < s->OH; oh++) {
                    const tl_size ih = oh * s->sh - s->ph + r * s->dh;
                    if (ih < 0 || ih >= s->H) continue;
                    const float *src = row + oh * s->OW;
                    float *dst = dxg + (c * s->H + ih) * s->W + off;
                    if (s->sw == 1)
                        for (tl_size ow = lo; ow < hi; ow++) dst[ow] += src[ow];
                    else
                        for (tl_size ow = lo; ow < hi; ow++) dst[ow * s->sw] += src[ow];
                }
            }
}

static void add_bias(float *yg, const float *bg, tl_size rows, tl_size P) {
    for (tl_size k = 0; k < rows; k++) {
        const float v = bg[k];
        float *row = yg + k * P;
        for (tl_size i = 0; i < P; i++) row[i] += v;
    }
}

/* One image, all groups. The GEMM takes every thread when called outside a parallel region (a lone
   image), one inside. Returns TL_OK or TL_ERR_OUT_OF_MEMORY. */
static int forward_image(float *y, const float *x, const float *w, const float *b, const conv_shape *s, tl_size n,
                         float *col, const tl_gemm_kernel *kern) {
    for (tl_size g = 0; g < s->G; g++) {
        const float *xg = x + (n * s->C + g * s->Cg) * s->HW;
        float *yg = y + (n * s->K + g * s->Kg) * s->P;
        const float *wg = w + g * s->Kg * s->CRS;
        const float *B = xg;
        if (!is_pointwise(s)) {
            im2col(col, xg, s);
            B = col;
        }
        TL_TRY(tl_gemm_run(kern, 0, 0, s->Kg, s->P, s->CRS, 1.0f, wg, s->CRS, B, s->P, 0.0f, yg, s->P));
        if (b) add_bias(yg, b + g * s->Kg, s->Kg, s->P);
    }
    return TL_OK;
}

int conv_im2col_forward(float *y, const float *x, const float *w, const float *b, const conv_shape *s) {
    const size_t col_floats = is_pointwise(s) ? 0 : conv_im2col_col_floats(s);
    const tl_gemm_kernel *kern = tl_gemm_pick();
    if (s->N >= 4) { /* images in parallel, else the threads inside each product: the bits are the same */
        int failed = 0;
        tl_size next_n = 0; /* tasks handed out one by one: a slowed thread takes fewer */
        #pragma omp parallel
        for (tl_size n; (n = tl_next_task(&next_n)) < s->N;) {
            float *col = tl_scratch(TL_SCR_A, col_floats);
            if (!col || forward_image(y, x, w, b, s, n, col, kern) != TL_OK) failed = 1;
        }
        return failed ? TL_ERR_OUT_OF_MEMORY : TL_OK;
    }
    float *col = tl_scratch(TL_SCR_A, col_floats);
    if (!col) return TL_ERR_OUT_OF_MEMORY;
    for (tl_size n = 0; n < s->N; n++) TL_TRY(forward_image(y, x, w, b, s, n, col, kern));
    return TL_OK;
}

/* One image's input gradient, all groups (threads as in forward_image). */
static int backward_input_image(float *dx, const float *dy, const float *w, const conv_shape *s, tl_size n,
                                float *col, const tl_gemm_kernel *kern) {
    for (tl_size g = 0; g < s->G; g++) {
        float *dxg = dx + (n * s->C + g * s->Cg) * s->HW;
        const float *dyg = dy + (n * s->K + g * s->Kg) * s->P;
        const float *wg = w + g * s->Kg * s->CRS;
        /* dcol (CRS, P) = wg^T (CRS, Kg) dyg (Kg, P); pointwise: dcol is dxg itself. */
        float *dcol = is_pointwise(s) ? dxg : col;
        TL_TRY(tl_gemm_run(kern, 1, 0, s->CRS, s->P, s->Kg, 1.0f, wg, s->CRS, dyg, s->P, 0.0f, dcol, s->P));
        if (!is_pointwise(s)) {
            memset(dxg, 0, (size_t)(s->Cg * s->HW) * sizeof(float));
            col2im(dxg, col, s);
        }
    }
    return TL_OK;
}

int conv_im2col_backward_input(float *dx, const float *dy, const float *w, const conv_shape *s) {
    const size_t col_floats = is_pointwise(s) ? 0 : conv_im2col_col_floats(s);
    const tl_gemm_kernel *kern = tl_gemm_pick();
    if (s->N >= 4) { /* as in conv_im2col_forward */
        int failed = 0;
        tl_size next_n = 0; /* tasks handed out one by one: a slowed thread takes fewer */
        #pragma omp parallel
        for (tl_size n; (n = tl_next_task(&next_n)) < s->N;) {
            float *col = tl_scratch(TL_SCR_A, col_floats);
            if (!col || backward_input_image(dx, dy, w, s, n, col, kern) != TL_OK) failed = 1;
        }
        return failed ? TL_ERR_OUT_OF_MEMORY : TL_OK;
    }
    float *col = tl_scratch(TL_SCR_A, col_floats);
    if (!col) return TL_ERR_OUT_OF_MEMORY;
    for (tl_size n = 0; n < s->N; n++) TL_TRY(backward_input_image(dx, dy, w, s, n, col, kern));
    return TL_OK;
}

int conv_im2col_weight_block(float *pdw, const float *dy, const float *x, const conv_shape *s, tl_size n0,
                             tl_size n1, float *col, const tl_gemm_kernel *kern) {
    for (tl_size n = n0; n < n1; n++)
        for (tl_size g = 0; g < s->G; g++) {
            const float *dyg = dy + (n * s->K + g * s->Kg) * s->P;
            const float *xg = x + (n * s->C + g * s->Cg) * s->HW;
            const float *B = xg;
            if (!is_pointwise(s)) {
                im2col(col, xg, s);
                B = col;
            }
            /* pdw_g (Kg, CRS) (+)= dyg (Kg, P) col^T (P, CRS) */
            TL_TRY(tl_gemm_run(kern, 0, 1, s->Kg, s->CRS, s->P, 1.0f, dyg, s->P, B, s->P, n == n0 ? 0.0f : 1.0f,
                               pdw + g * s->Kg * s->CRS, s->CRS));
        }
    return TL_OK;
}

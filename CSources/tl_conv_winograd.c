/* Winograd F(4x4, 3x3) for 3x3 stride-1 undilated convolutions (Lavin & Gray 2016): each 4x4 block
   of outputs ("tile") comes from a 6x6 input patch with 36 multiplies per channel pair instead of 144.
   For a block of TB tiles and one group:
     V[xi][c][t] = (B^T d_{c,t} B)[xi]         input transform (36 x Cg x TB)
     M[xi]       = U[xi] (Kg x Cg) V[xi]        36 GEMMs, U[xi][k][c] = (G w_{k,c} G^T)[xi]
     y_{k,t}     = A^T M_{k,t} A                output transform, cropped at the image border.
   The input gradient is the same computation on dy with the filters flipped and transposed and the
   padding 2 - pad; the weight gradient sums (A dy_t A^T) * V_t over tiles (one GEMM per xi) and maps
   back with G^T . G (summed over fixed parts of the tile blocks, then over parts in order, so the
   result does not depend on the number of threads). All transforms run across the TB tiles of a block, which the compiler vectorises. */
#include "tl_conv_internal.h"

#include <immintrin.h>
#include <omp.h>
#include <string.h>

/* Tiles per block: V and M of a 64-channel block (2 x 36 x 64 x TB floats) stay in L2. */
#define TB 32

typedef struct wino_dims {
    tl_size N, G, Cg, Kg;     /* in has G*Cg channels, out has G*Kg */
    tl_size H, W, OH, OW;     /* in and out plane sizes */
    tl_size ph, pw;           /* padding of in */
    tl_size TH, TW, tiles;    /* tiles per image: rows, columns, total */
} wino_dims;

static wino_dims wino_make(tl_size N, tl_size G, tl_size Cg, tl_size Kg, tl_size H, tl_size W, tl_size OH,
                           tl_size OW, tl_size ph, tl_size pw) {
    wino_dims d = {N, G, Cg, Kg, H, W, OH, OW, ph, pw, (OH + 3) / 4, (OW + 3) / 4, 0};
    d.tiles = d.TH * d.TW;
    return d;
}

int conv_winograd_supported(const conv_shape *s) {
    return !(conv_mode & TL_CONV2D_NO_WINOGRAD) && s->R == 3 && s->S == 3 && s->sh == 1 && s->sw == 1 && s->dh == 1 && s->dw == 1 && s->ph <= 2 &&
           s->pw <= 2 && s->Cg >= 8 && s->Kg >= 8;
}

/* ------------------------------------------------------------------ 1-D transforms over TB lanes */

/* out[a] = sum_i BT[a][i] in[i] for the six rows of B^T, on arrays of TB floats spaced `is` / `os` apart. */
static inline void bt6(float *restrict out, tl_size os, const float *restrict in, tl_size is) {
    const float *d0 = in, *d1 = in + is, *d2 = in + 2 * is, *d3 = in + 3 * is, *d4 = in + 4 * is, *d5 = in + 5 * is;
    for (int t = 0; t < TB; t++) {
        out[t] = 4.0f * d0[t] - 5.0f * d2[t] + d4[t];
        out[os + t] = -4.0f * (d1[t] + d2[t]) + d3[t] + d4[t];
        out[2 * os + t] = 4.0f * (d1[t] - d2[t]) - d3[t] + d4[t];
        out[3 * os + t] = 2.0f * (d3[t] - d1[t]) - d2[t] + d4[t];
        out[4 * os + t] = 2.0f * (d1[t] - d3[t]) - d2[t] + d4[t];
        out[5 * os + t] = 4.0f * d1[t] - 5.0f * d3[t] + d5[t];
    }
}

/* out[a] = sum_i AT[a][i] in[i], four outputs from six inputs. */
static inline void at6(float *restrict out, tl_size os, const float *restrict in, tl_size is) {
    const float *m0 = in, *m1 = in + is, *m2 = in + 2 * is, *m3 = in + 3 * is, *m4 = in + 4 * is, *m5 = in + 5 * is;
    for (int t = 0; t < TB; t++) {
        const float p12 = m1[t] + m2[t], d12 = m1[t] - m2[t], p34 = m3[t] + m4[t], d34 = m3[t] - m4[t];
        out[t] = m0[t] + p12 + p34;
        out[os + t] = d12 + 2.0f * d34;
        out[2 * os + t] = p12 + 4.0f * p34;
        out[3 * os + t] = d12 + 8.0f * d34 + m5[t];
    }
}

/* out[a] = sum_i A[a][i] in[i] (A = (A^T)^T), six outputs from four inputs: the adjoint of at6. */
static inline void a4(float *restrict out, tl_size os, const float *restrict in, tl_size is) {
    const float *e0 = in, *e1 = in + is, *e2 = in + 2 * is, *e3 = in + 3 * is;
    for (int t = 0; t < TB; t++) {
        const float p02 = e0[t] + e2[t], p13 = e1[t] + e3[t];
        const float q02 = e0[t] + 4.0f * e2[t], q13 = 2.0f * e1[t] + 8.0f * e3[t];
        out[t] = e0[t];
        out[os + t] = p02 + p13;
        out[2 * os + t] = p02 - p13;
        out[3 * os + t] = q02 + q13;
        out[4 * os + t] = q02 - q13;
        out[5 * os + t] = e3[t];
    }
}

/* U (36, Kg, Cg) = G f G^T, rows k_begin .. k_end-1, for the 3x3 filters f(k, c) = w[(k*kstride + c*cstride) * 9 ...] (flipped when `flip`),
   which covers both w (Kg, Cg) and its transpose. */
static void filter_transform(float *U, const float *w, tl_size Kg, tl_size Cg, tl_size kstride, tl_size cstride,
                             int flip, tl_size k_begin, tl_size k_end) {
    /* Vectorised over c: f[i][c] gathered from w, then the two passes G f and (G f) G^T as loops over c,
       written to U rows that are contiguous in c. */
    enum { CB = 64 };
    float f[9][CB], h[6][3][CB];
    for (tl_size k = k_begin; k < k_end; k++)
        for (tl_size c0 = 0; c0 < Cg; c0 += CB) {
            const tl_size nc = Cg - c0 < CB ? Cg - c0 : CB;
            for (tl_size c = 0; c < nc; c++) {
                const float *src = w + (k * kstride + (c0 + c) * cstride) * 9;
                for (int i = 0; i < 9; i++) f[i][c] = flip ? src[8 - i] : src[i];
            }
            for (int j = 0; j < 3; j++) /* h[a][j] = sum_i G[a][i] f[i][j] */
                for (tl_size c = 0; c < nc; c++) {
                    const float g0 = f[j][c], g1 = f[3 + j][c], g2 = f[6 + j][c];
                    h[0][j][c] = g0 * 0.25f;
                    h[1][j][c] = -(g0 + g1 + g2) * (1.0f / 6.0f);
                    h[2][j][c] = -(g0 - g1 + g2) * (1.0f / 6.0f);
                    h[3][j][c] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
                    h[4][j][c] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
                    h[5][j][c] = g2;
                }
            for (int a = 0; a < 6; a++) { /* U[a][b] = sum_j G[b][j] h[a][j] */
                float *u = U + ((a * 6) * Kg + k) * Cg + c0;
                const tl_size step = Kg * Cg;
                for (tl_size c = 0; c < nc; c++) {
                    const float g0 = h[a][0][c], g1 = h[a][1][c], g2 = h[a][2][c];
                    u[c] = g0 * 0.25f;
                    u[step + c] = -(g0 + g1 + g2) * (1.0f / 6.0f);
                    u[2 * step + c] = -(g0 - g1 + g2) * (1.0f / 6.0f);
                    u[3 * step + c] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
                    u[4 * step + c] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
                    u[5 * step + c] = g2;
                }
            }
        }
}

/* dst[j*ld + l] = r_l[j] for l, j < 4: four rows of 4 floats written as four columns, so that four
   tiles are moved to (or from) the tile-major [element][tile] layout with vector loads and stores. */
static inline void transpose4(float *dst, tl_size ld, const float *r0, const float *r1, const float *r2,
                              const float *r3) {
    __m128 a = _mm_loadu_ps(r0), b = _mm_loadu_ps(r1), c = _mm_loadu_ps(r2), e = _mm_loadu_ps(r3);
    _MM_TRANSPOSE4_PS(a, b, c, e);
    _mm_storeu_ps(dst, a);
    _mm_storeu_ps(dst + ld, b);
    _mm_storeu_ps(dst + 2 * ld, c);
    _mm_storeu_ps(dst + 3 * ld, e);
}

/* ------------------------------------------------------------------ tiles */

/* Where the tiles of a block are: offset of the 6x6 input patch origin (channel 0 of the image, may
   lie in the padding), offset of the 4x4 output block, which patch rows/columns are inside the input
   (bit i), and how many output rows/columns are inside the output. Computed once per block. */
typedef struct tile_info {
    tl_size in_off, out_off;
    unsigned rows, cols;
    int out_rows, out_cols;
    tl_size n, pad_off; /* image, and patch origin in a zero-padded copy of the image plane (row length PW) */
} tile_info;

/* Row length and rows of the zero-padded plane that holds every 6x6 patch of an image. */
static tl_size padded_w(const wino_dims *d) { return d->TW * 4 + 2; }
static tl_size padded_h(const wino_dims *d) { return d->TH * 4 + 2; }

/* Scratch of input_transform for the padded planes of one block of small images (0 otherwise). */
static tl_size wino_pad_floats(const wino_dims *d) {
    if (d->tiles > TB) return 0;
    const tl_size images = TB / d->tiles + 2; /* a block can start and end inside an image */
    return images * d->Cg * padded_h(d) * padded_w(d);
}

static void tile_table(tile_info *tab, const wino_dims *d, tl_size t0, tl_size nt) {
    const tl_size C = d->G * d->Cg, K = d->G * d->Kg;
    for (tl_size t = 0; t < nt; t++) {
        const tl_size tile = t0 + t, n = tile / d->tiles, r = tile - n * d->tiles, ty = r / d->TW, tx = r - ty * d->TW;
        const tl_size y0 = ty * 4 - d->ph, x0 = tx * 4 - d->pw;
        tile_info *ti = &tab[t];
        ti->in_off = n * C * d->H * d->W + y0 * d->W + x0;
        ti->out_off = n * K * d->OH * d->OW + ty * 4 * d->OW + tx * 4;
        ti->rows = ti->cols = 0;
        for (int i = 0; i < 6; i++) {
            if (y0 + i >= 0 && y0 + i < d->H) ti->rows |= 1u << i;
            if (x0 + i >= 0 && x0 + i < d->W) ti->cols |= 1u << i;
        }
        ti->n = n;
        ti->pad_off = ty * 4 * padded_w(d) + tx * 4;
        ti->out_rows = d->OH - ty * 4 < 4 ? (int)(d->OH - ty * 4) : 4;
        ti->out_cols = d->OW - tx * 4 < 4 ? (int)(d->OW - tx * 4) : 4;
    }
}

/* V (36, Cg, TB) = B^T d B for channel group g of the block's nt tiles of `in`; lanes >= nt are zero.
   D (36 * TB) and T (36 * TB + wino_pad_floats) are scratch. */
static void input_transform(float *V, const float *in, const wino_dims *d, tl_size g, const tile_info *tab,
                            tl_size nt, float *D, float *T) {
    const tl_size HW = d->H * d->W, W = d->W;
    for (tl_size t = nt; t < TB; t++)
        for (int i = 0; i < 36; i++) D[i * TB + t] = 0.0f;
    /* Small images (at most one block of tiles): the block's images are first copied, zero bordered,
       into planes P[image][c] of PH x PW, so that every patch is read without tests; all copies are done
       before the first patch read (no store-to-load forwarding stalls). */
    const tl_size PW = padded_w(d), PH = padded_h(d), plane_p = PH * PW;
    float *P = T + 36 * TB;
    const int small = d->tiles <= TB;
    const tl_size n_first = nt > 0 ? tab[0].n : 0, images = nt > 0 ? tab[nt - 1].n - n_first + 1 : 0;
    if (small) {
        const tl_size C = d->G * d->Cg;
        memset(P, 0, (size_t)(images * d->Cg * plane_p) * sizeof(float));
        for (tl_size i = 0; i < images; i++)
            for (tl_size c = 0; c < d->Cg; c++) {
                const float *src = in + ((n_first + i) * C + g * d->Cg + c) * HW;
                float *dst = P + (i * d->Cg + c) * plane_p + d->ph * PW + d->pw;
                for (tl_size iy = 0; iy < d->H; iy++)
                    for (tl_size k = 0; k < W; k++) dst[iy * PW + k] = src[iy * W + k];
            }
    }
    for (tl_size c = 0; c < d->Cg; c++) {
        const float *plane = in + (g * d->Cg + c) * HW;
        if (small) {
            tl_size t = 0;
            for (; t + 4 <= nt; t += 4) { /* four tiles at a time, 4x4 transposes (P has slack for j = 6, 7) */
                const float *p0 = P + ((tab[t].n - n_first) * d->Cg + c) * plane_p + tab[t].pad_off;
                const float *p1 = P + ((tab[t + 1].n - n_first) * d->Cg + c) * plane_p + tab[t + 1].pad_off;
                const float *p2 = P + ((tab[t + 2].n - n_first) * d->Cg + c) * plane_p + tab[t + 2].pad_off;
                const float *p3 = P + ((tab[t + 3].n - n_first) * d->Cg + c) * plane_p + tab[t + 3].pad_off;
                for (int i = 0; i < 6; i++) {
                    const tl_size r = i * PW;
                    transpose4(D + (i * 6) * TB + t, TB, p0 + r, p1 + r, p2 + r, p3 + r);
                    float tail[16]; /* columns 4..7 of the four rows; 6 and 7 are not needed */
                    transpose4(tail, 4, p0 + r + 4, p1 + r + 4, p2 + r + 4, p3 + r + 4);
                    for (int l = 0; l < 4; l++) {
                        D[(i * 6 + 4) * TB + t + l] = tail[l];
                        D[(i * 6 + 5) * TB + t + l] = tail[4 + l];
                    }
                }
            }
            for (; t < nt; t++) {
                const float *p = P + ((tab[t].n - n_first) * d->Cg + c) * plane_p + tab[t].pad_off;
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) D[(i * 6 + j) * TB + t] = p[i * PW + j];
            }
        } else for (tl_size t = 0; t < nt; t++) {
            const float *p = plane + tab[t].in_off;
            const unsigned rows = tab[t].rows, cols = tab[t].cols;
            if (rows == 0x3F && cols == 0x3F) {
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) D[(i * 6 + j) * TB + t] = p[i * W + j];
            } else {
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++)
                        D[(i * 6 + j) * TB + t] = (rows >> i) & (cols >> j) & 1u ? p[i * W + j] : 0.0f;
            }
        }
        /* Columns: T[a][j] = sum_i BT[a][i] D[i][j]; rows: V[a][b] = sum_j BT[b][j] T[a][j]. */
        for (int j = 0; j < 6; j++) bt6(T + j * TB, 6 * TB, D + j * TB, 6 * TB);
        for (int a = 0; a < 6; a++) bt6(V + ((a * 6) * d->Cg + c) * TB, d->Cg * TB, T + a * 6 * TB, TB);
    }
}

/* out = A^T M A (+ bias) for the block's nt tiles, cropped to the output; M (36, Kg, TB). */
static void output_transform(float *out, const float *M, const float *bias, const wino_dims *d, tl_size g,
                             const tile_info *tab, tl_size nt, float *T, float *O) {
    const tl_size P = d->OH * d->OW, OW = d->OW;
    for (tl_size k = 0; k < d->Kg; k++) {
        /* T[a][j] = sum_i AT[a][i] M[i][j] (4 x 6); O[a][b] = sum_j AT[b][j] T[a][j] (4 x 4). */
        for (int j = 0; j < 6; j++) at6(T + j * TB, 6 * TB, M + (j * d->Kg + k) * TB, 6 * d->Kg * TB);
        for (int a = 0; a < 4; a++) at6(O + a * 4 * TB, TB, T + a * 6 * TB, TB);
        const float b = bias ? bias[g * d->Kg + k] : 0.0f;
        float *plane = out + (g * d->Kg + k) * P;
        tl_size t = 0;
        for (; t + 4 <= nt; t += 4) { /* four whole tiles: 4x4 transposes (element, tile) -> (tile, element) */
            const tile_info *q = tab + t;
            if (q[0].out_rows + q[1].out_rows + q[2].out_rows + q[3].out_rows +
                q[0].out_cols + q[1].out_cols + q[2].out_cols + q[3].out_cols != 32) break;
            float buf[16]; /* buf[4*l + b] = output (a, b) of tile t + l */
            const __m128 bv = _mm_set1_ps(b);
            for (int a = 0; a < 4; a++) {
                transpose4(buf, 4, O + (a * 4) * TB + t, O + (a * 4 + 1) * TB + t, O + (a * 4 + 2) * TB + t,
                           O + (a * 4 + 3) * TB + t);
                for (int l = 0; l < 4; l++)
                    _mm_storeu_ps(plane + q[l].out_off + a * OW, _mm_add_ps(_mm_loadu_ps(buf + 4 * l), bv));
            }
        }
        for (; t < nt; t++) {
            float *o = plane + tab[t].out_off;
            const int rows = tab[t].out_rows, cols = tab[t].out_cols;
            if (rows == 4 && cols == 4) {
                for (int a = 0; a < 4; a++)
                    for (int bb = 0; bb < 4; bb++) o[a * OW + bb] = O[(a * 4 + bb) * TB + t] + b;
            } else {
                for (int a = 0; a < rows; a++)
                    for (int bb = 0; bb < cols; bb++) o[a * OW + bb] = O[(a * 4 + bb) * TB + t] + b;
            }
        }
    }
}

/* out (N, G*Kg, OH, OW) = Winograd convolution of in with transformed filters U (G, 36, Kg, Cg). */
static int wino_run(float *out, const float *in, const float *U, const float *bias, const wino_dims *d) {
    const tl_size blocks = (d->N * d->tiles + TB - 1) / TB, tasks = blocks * d->G;
    const size_t v_floats = (size_t)(36 * d->Cg * TB), m_floats = (size_t)(36 * d->Kg * TB);
    int failed = 0;
    tl_size next_task = 0; /* tasks handed out one by one: a slowed thread takes fewer */
    #pragma omp parallel if (tasks > 1)
    for (tl_size task; (task = conv_next_task(&next_task)) < tasks;) {
        float *V = tl_scratch(TL_SCR_A, v_floats), *M = tl_scratch(TL_SCR_B, m_floats), *tmp = tl_scratch(TL_SCR_C, (size_t)(3 * 36 * TB + wino_pad_floats(d)));
        if (!V || !M || !tmp) { failed = 1; continue; }
        const tl_size g = task / blocks, t0 = (task - g * blocks) * TB;
        const tl_size nt = d->N * d->tiles - t0 < TB ? d->N * d->tiles - t0 : TB;
        tile_info tab[TB];
        tile_table(tab, d, t0, nt);
        input_transform(V, in, d, g, tab, nt, tmp, tmp + 36 * TB);
        const float *Ug = U + g * 36 * d->Kg * d->Cg;
        for (int xi = 0; xi < 36; xi++)
            conv_gemm(0, 0, d->Kg, TB, d->Cg, 1.0f, Ug + xi * d->Kg * d->Cg, d->Cg, V + xi * d->Cg * TB, TB, 0.0f,
                      M + xi * d->Kg * TB, TB);
        output_transform(out, M, bias, d, g, tab, nt, tmp, tmp + 36 * TB);
    }
    return failed ? TL_ERR_OUT_OF_MEMORY : TL_OK;
}

int conv_winograd_forward(float *y, const float *x, const float *w, const float *b, const conv_shape *s) {
    float *U = tl_scratch(TL_SCR_WEIGHTS, (size_t)(s->G * 36 * s->Kg * s->Cg));
    if (!U) return TL_ERR_OUT_OF_MEMORY;
    #pragma omp parallel for schedule(static) if (s->K * s->Cg > 4096)
    for (tl_size gk = 0; gk < s->K; gk++) { /* one filter row (group g, output channel k) per iteration */
        const tl_size g = gk / s->Kg, k = gk % s->Kg;
        filter_transform(U + g * 36 * s->Kg * s->Cg, w + g * s->Kg * s->Cg * 9, s->Kg, s->Cg, s->Cg, 1, 0, k, k + 1);
    }
    const wino_dims d = wino_make(s->N, s->G, s->Cg, s->Kg, s->H, s->W, s->OH, s->OW, s->ph, s->pw);
    return wino_run(y, x, U, b, &d);
}

int conv_winograd_backward_input(float *dx, const float *dy, const float *w, const conv_shape *s) {
    /* dx = conv(dy, w flipped with in/out channels swapped, padding 2 - pad): filters (Cg, Kg) per group. */
    float *U = tl_scratch(TL_SCR_WEIGHTS, (size_t)(s->G * 36 * s->Kg * s->Cg));
    if (!U) return TL_ERR_OUT_OF_MEMORY;
    #pragma omp parallel for schedule(static) if (s->K * s->Cg > 4096)
    for (tl_size gc = 0; gc < s->C; gc++) { /* one row (group g, input channel c) per iteration */
        const tl_size g = gc / s->Cg, c = gc % s->Cg;
        filter_transform(U + g * 36 * s->Kg * s->Cg, w + g * s->Kg * s->Cg * 9, s->Cg, s->Kg, 1, s->Cg, 1, c, c + 1);
    }
    const wino_dims d = wino_make(s->N, s->G, s->Kg, s->Cg, s->OH, s->OW, s->H, s->W, 2 - s->ph, 2 - s->pw);
    return wino_run(dx, dy, U, NULL, &d);
}

/* Mhat (36, Kg, TB) = A e A^T for the 4x4 output-gradient tiles e of group g in the block; zero
   outside the output and for lanes >= nt. E (16 * TB) and T (24 * TB) are scratch. */
static void grad_transform(float *Mhat, const float *dy, const wino_dims *d, tl_size g, const tile_info *tab,
                           tl_size nt, float *E, float *T) {
    const tl_size P = d->OH * d->OW, OW = d->OW;
    for (tl_size t = nt; t < TB; t++)
        for (int i = 0; i < 16; i++) E[i * TB + t] = 0.0f;
    for (tl_size k = 0; k < d->Kg; k++) {
        const float *plane = dy + (g * d->Kg + k) * P;
        tl_size t = 0;
        for (; t + 4 <= nt; t += 4) { /* four whole tiles: 4x4 transposes */
            const tile_info *q = tab + t;
            if (q[0].out_rows + q[1].out_rows + q[2].out_rows + q[3].out_rows +
                q[0].out_cols + q[1].out_cols + q[2].out_cols + q[3].out_cols != 32) break;
            for (int i = 0; i < 4; i++)
                transpose4(E + (i * 4) * TB + t, TB, plane + q[0].out_off + i * OW, plane + q[1].out_off + i * OW,
                           plane + q[2].out_off + i * OW, plane + q[3].out_off + i * OW);
        }
        for (; t < nt; t++) {
            const float *e = plane + tab[t].out_off;
            const int rows = tab[t].out_rows, cols = tab[t].out_cols;
            if (rows == 4 && cols == 4) {
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) E[(i * 4 + j) * TB + t] = e[i * OW + j];
            } else {
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) E[(i * 4 + j) * TB + t] = i < rows && j < cols ? e[i * OW + j] : 0.0f;
            }
        }
        /* Columns: T[a][j] = sum_i A[a][i] E[i][j] (6 x 4); rows: Mhat[a][b] = sum_j A[b][j] T[a][j]. */
        for (int j = 0; j < 4; j++) a4(T + j * TB, 4 * TB, E + j * TB, 4 * TB);
        for (int a = 0; a < 6; a++) a4(Mhat + ((a * 6) * d->Kg + k) * TB, d->Kg * TB, T + a * 4 * TB, TB);
    }
}

/* Parts the tile blocks are split into for the weight gradient: fixed (thread-count independent), fewer
   when the partial sums would pass 2^24 floats. */
#define WINO_WEIGHT_PARTS 8

int conv_winograd_backward_weight(float *dw, const float *dy, const float *x, const conv_shape *s) {
    const wino_dims d = wino_make(s->N, s->G, s->Cg, s->Kg, s->H, s->W, s->OH, s->OW, s->ph, s->pw);
    const tl_size blocks = (d.N * d.tiles + TB - 1) / TB;
    const tl_size wsize = s->K * s->CRS;
    tl_size parts = blocks < WINO_WEIGHT_PARTS ? blocks : WINO_WEIGHT_PARTS;
    if (parts * wsize > ((tl_size)1 << 24)) parts = ((tl_size)1 << 24) / wsize > 0 ? ((tl_size)1 << 24) / wsize : 1;
    const tl_size per_part = (blocks + parts - 1) / parts;
    float *partials = tl_scratch(TL_SCR_PARTIALS, (size_t)(parts * wsize));
    if (!partials) return TL_ERR_OUT_OF_MEMORY;
    const size_t v_floats = (size_t)(36 * d.Cg * TB), m_floats = (size_t)(36 * d.Kg * TB);
    const size_t u_floats = (size_t)(36 * d.Kg * d.Cg);
    const tl_size tasks = parts * d.G;
    int failed = 0;
    tl_size next_task = 0; /* tasks handed out one by one: a slowed thread takes fewer */
    #pragma omp parallel if (tasks > 1)
    for (tl_size task; (task = conv_next_task(&next_task)) < tasks;) {
        /* V and its transpose VT (36, TB, Cg): the product dU += Mhat VT^T is then the plain A*B form. */
        float *V = tl_scratch(TL_SCR_A, 2 * v_floats), *M = tl_scratch(TL_SCR_B, m_floats);
        float *tmp = tl_scratch(TL_SCR_C, (size_t)(3 * 36 * TB + 27 * d.Cg + wino_pad_floats(&d))), *dU = tl_scratch(TL_SCR_D, u_floats);
        if (!V || !M || !tmp || !dU) { failed = 1; continue; }
        const tl_size g = task / parts, part = task % parts;
        const tl_size b0 = part * per_part, b1 = b0 + per_part < blocks ? b0 + per_part : blocks;
        /* dU accumulated with beta = 1 from zero over the part's blocks. The product is taken as
           Mhat (Kg, TB) * VT (TB, Cg) with V transposed first: OpenBLAS 0.3.21 runs the A*B^T form of this
           small product (64 x 64 x 32) at 35-80 GFLOP/s, the A*B form at ~110. */
        memset(dU, 0, u_floats * sizeof(float));
        for (tl_size blk = b0; blk < b1; blk++) {
            const tl_size t0 = blk * TB, nt = d.N * d.tiles - t0 < TB ? d.N * d.tiles - t0 : TB;
            tile_info tab[TB];
            tile_table(tab, &d, t0, nt);
            input_transform(V, x, &d, g, tab, nt, tmp, tmp + 36 * TB);
            grad_transform(M, dy, &d, g, tab, nt, tmp, tmp + 16 * TB);
            float *VT = V + v_floats;
            for (int xi = 0; xi < 36; xi++) {
                const float *v = V + xi * d.Cg * TB;
                float *vt = VT + xi * d.Cg * TB;
                for (tl_size c = 0; c < d.Cg; c++)
                    for (tl_size t = 0; t < TB; t++) vt[t * d.Cg + c] = v[c * TB + t];
                conv_gemm(0, 0, d.Kg, d.Cg, TB, 1.0f, M + xi * d.Kg * TB, TB, vt, d.Cg, 1.0f, dU + xi * d.Kg * d.Cg, d.Cg);
            }
        }
        /* dw (Kg, Cg, 3, 3) of this part = G^T dU G, vectorised over c (dU[xi][k][c] is contiguous in c). */
        float *out = partials + part * wsize + g * d.Kg * d.Cg * 9;
        if (b1 <= b0) {
            memset(out, 0, (size_t)(d.Kg * d.Cg * 9) * sizeof(float));
            continue;
        }
        float *half = tmp; /* (3, 6, Cg) */
        float *fin = tmp + 18 * d.Cg; /* (9, Cg) */
        for (tl_size k = 0; k < d.Kg; k++) {
            for (int b = 0; b < 6; b++) {
                const float *u0 = dU + ((0 * 6 + b) * d.Kg + k) * d.Cg, *u1 = u0 + 6 * d.Kg * d.Cg;
                const float *u2 = u1 + 6 * d.Kg * d.Cg, *u3 = u2 + 6 * d.Kg * d.Cg, *u4 = u3 + 6 * d.Kg * d.Cg;
                const float *u5 = u4 + 6 * d.Kg * d.Cg;
                float *h0 = half + b * d.Cg, *h1 = half + (6 + b) * d.Cg, *h2 = half + (12 + b) * d.Cg;
                for (tl_size c = 0; c < d.Cg; c++) {
                    h0[c] = u0[c] * 0.25f - (u1[c] + u2[c]) * (1.0f / 6.0f) + (u3[c] + u4[c]) * (1.0f / 24.0f);
                    h1[c] = (u2[c] - u1[c]) * (1.0f / 6.0f) + (u3[c] - u4[c]) * (1.0f / 12.0f);
                    h2[c] = (u3[c] + u4[c] - u1[c] - u2[c]) * (1.0f / 6.0f) + u5[c];
                }
            }
            for (int i = 0; i < 3; i++) {
                const float *u0 = half + (i * 6) * d.Cg, *u1 = u0 + d.Cg, *u2 = u1 + d.Cg, *u3 = u2 + d.Cg;
                const float *u4 = u3 + d.Cg, *u5 = u4 + d.Cg;
                float *f0 = fin + (i * 3) * d.Cg, *f1 = f0 + d.Cg, *f2 = f1 + d.Cg;
                for (tl_size c = 0; c < d.Cg; c++) {
                    f0[c] = u0[c] * 0.25f - (u1[c] + u2[c]) * (1.0f / 6.0f) + (u3[c] + u4[c]) * (1.0f / 24.0f);
                    f1[c] = (u2[c] - u1[c]) * (1.0f / 6.0f) + (u3[c] - u4[c]) * (1.0f / 12.0f);
                    f2[c] = (u3[c] + u4[c] - u1[c] - u2[c]) * (1.0f / 6.0f) + u5[c];
                }
            }
            for (tl_size c = 0; c < d.Cg; c++)
                for (int i = 0; i < 9; i++) out[(k * d.Cg + c) * 9 + i] = fin[i * d.Cg + c];
        }
    }
    if (failed) return TL_ERR_OUT_OF_MEMORY;
    conv_sum_partials(dw, partials, parts, wsize, wsize);
    return TL_OK;
}

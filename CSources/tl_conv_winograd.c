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

/* ------------------------------------------------------------------ filter transform */

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

/* The same transforms on vectors of 8 tiles (one tile per lane), for the in-register passes below. */
static inline void bt6v(__m256 o[6], const __m256 d[6]) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f);
    const __m256 p12 = _mm256_add_ps(d[1], d[2]), p34 = _mm256_add_ps(d[3], d[4]);
    const __m256 m12 = _mm256_sub_ps(d[1], d[2]), m43 = _mm256_sub_ps(d[4], d[3]);
    const __m256 m31 = _mm256_sub_ps(d[3], d[1]), m42 = _mm256_sub_ps(d[4], d[2]);
    o[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
    o[1] = _mm256_fnmadd_ps(four, p12, p34);
    o[2] = _mm256_fmadd_ps(four, m12, m43);
    o[3] = _mm256_fmadd_ps(two, m31, m42);
    o[4] = _mm256_fnmadd_ps(two, m31, m42);
    o[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

static inline void at6v(__m256 o[4], const __m256 m[6]) {
    const __m256 p12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
    const __m256 p34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], p12), p34);
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), d34, d12);
    o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), p34, p12);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), d34, d12), m[5]);
}

static inline void a4v(__m256 o[6], const __m256 e[4]) {
    const __m256 p02 = _mm256_add_ps(e[0], e[2]), p13 = _mm256_add_ps(e[1], e[3]);
    const __m256 q02 = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), e[2], e[0]);
    const __m256 q13 = _mm256_fmadd_ps(_mm256_set1_ps(8.0f), e[3], _mm256_add_ps(e[1], e[1]));
    o[0] = e[0];
    o[1] = _mm256_add_ps(p02, p13);
    o[2] = _mm256_sub_ps(p02, p13);
    o[3] = _mm256_add_ps(q02, q13);
    o[4] = _mm256_sub_ps(q02, q13);
    o[5] = e[3];
}

/* Lanes below n (0..8) all ones. */
static inline __m256 lanes_below(tl_size n) {
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
}

/* ------------------------------------------------------------------ tiles */

/* Where the tiles of a block are: image, tile row and column, offset of the 4x4 output block, and how
   many output rows/columns are inside the output. Computed once per block. */
typedef struct tile_info {
    tl_size out_off;
    int out_rows, out_cols;
    tl_size n, ty, tx;
} tile_info;

/* Row length of the zero-padded bands of input rows that hold the 6x6 patches of a block's tiles:
   every patch row is read as 8 floats (columns 4 tx .. 4 tx + 7), all inside the band row. */
static tl_size band_w(const wino_dims *d) { return d->TW * 4 + 4; }

/* Scratch of input_transform for the bands of one block: a block of TB consecutive tiles touches at most
   (TB - 1) / TW + 2 tile rows in at most (TB - 1) / tiles + 2 images; each image's band has 4 rows per
   tile row plus 2. */
static tl_size wino_pad_floats(const wino_dims *d) {
    const tl_size rows = 4 * ((TB - 1) / d->TW + 2) + 2 * ((TB - 1) / d->tiles + 2);
    return d->Cg * rows * band_w(d) + 16;
}

static void tile_table(tile_info *tab, const wino_dims *d, tl_size t0, tl_size nt) {
    const tl_size K = d->G * d->Kg;
    for (tl_size t = 0; t < nt; t++) {
        const tl_size tile = t0 + t, n = tile / d->tiles, r = tile - n * d->tiles, ty = r / d->TW, tx = r - ty * d->TW;
        tile_info *ti = &tab[t];
        ti->out_off = n * K * d->OH * d->OW + ty * 4 * d->OW + tx * 4;
        ti->n = n;
        ti->ty = ty;
        ti->tx = tx;
        ti->out_rows = d->OH - ty * 4 < 4 ? (int)(d->OH - ty * 4) : 4;
        ti->out_cols = d->OW - tx * 4 < 4 ? (int)(d->OW - tx * 4) : 4;
    }
}

/* V (Cg, 36, TB) = B^T d B for channel group g of the block's nt tiles of `in`; lanes >= nt are zero.
   D (36 * TB) and T (36 * TB + wino_pad_floats) are scratch. The input rows the block's patches cover are
   first copied, zero-padded, into one band per image (channel-major, rows of band_w floats) so that every
   patch is read without tests and four tiles at a time through 4x4 transposes (a patch read element by
   element from the image costs three times as much). */
/* The images and rows (first image n0 from row y0, last n1 to row y1) that the block after the one
   starting at tile tab[0] reads, rows `before` above and `after` below its tiles' 4-row bands; n1 < n0
   when there is no such block. */
typedef struct row_span { tl_size n0, y0, n1, y1; } row_span;

static row_span next_block_rows(const wino_dims *d, const tile_info *tab, tl_size before, tl_size after) {
    row_span r = {0, 0, -1, 0};
    const tl_size next = tab[0].n * d->tiles + tab[0].ty * d->TW + tab[0].tx + TB, all = d->N * d->tiles;
    if (next >= all) return r;
    const tl_size last = next + TB - 1 < all ? next + TB - 1 : all - 1;
    r.n0 = next / d->tiles;
    r.y0 = 4 * ((next % d->tiles) / d->TW) - before;
    r.n1 = last / d->tiles;
    r.y1 = 4 * ((last % d->tiles) / d->TW) + after;
    return r;
}

/* Prefetches (into L2) rows of one channel plane: the span's rows of each image, H x W planes `stride` apart.
   Activations come from memory, and the short runs of rows per channel of a block defeat the hardware
   prefetcher (into L1 the prefetches evict the block's own transforms: measured 15% slower). */
static inline void prefetch_span(const float *plane0, tl_size stride, const row_span *r, tl_size H, tl_size W) {
    for (tl_size n = r->n0; n <= r->n1; n++) {
        const char *plane = (const char *)(plane0 + n * stride);
        const tl_size y0 = n == r->n0 && r->y0 > 0 ? r->y0 : 0, y1 = n == r->n1 && r->y1 < H ? r->y1 : H - 1;
        const char *end = plane + (y1 + 1) * W * (tl_size)sizeof(float);
        for (const char *q = plane + y0 * W * (tl_size)sizeof(float); q < end; q += 64) _mm_prefetch(q, _MM_HINT_T1);
    }
}

/* no_builtin: the zeroing loops below must stay inline stores, not calls to memset for a few floats. */
__attribute__((no_builtin("memset", "memcpy")))
static void input_transform(float *V, const float *in, const wino_dims *d, tl_size g, const tile_info *tab,
                            tl_size nt, float *D, float *T, int prefetch_next) {
    const tl_size HW = d->H * d->W, W = d->W, C = d->G * d->Cg, BW = band_w(d);
    float *P = T + 36 * TB;
    /* Bands: image i of the block (n_first + i) covers tile rows ty_lo[i] .. ty_hi[i]. */
    enum { MAXIMG = TB + 2 };
    tl_size ty_lo[MAXIMG], rows[MAXIMG], off[MAXIMG];
    const tl_size n_first = nt > 0 ? tab[0].n : 0, images = nt > 0 ? tab[nt - 1].n - n_first + 1 : 0;
    tl_size total = 0;
    for (tl_size i = 0; i < images; i++) {
        const tl_size lo = i == 0 ? tab[0].ty : 0, hi = i == images - 1 ? tab[nt - 1].ty : d->TH - 1;
        ty_lo[i] = lo;
        rows[i] = 4 * (hi - lo) + 6;
        off[i] = total;
        total += d->Cg * rows[i] * BW;
    }
    for (tl_size i = 0; i < images; i++)
        for (tl_size c = 0; c < d->Cg; c++) {
            const float *src = in + ((n_first + i) * C + g * d->Cg + c) * HW;
            float *band = P + off[i] + c * rows[i] * BW;
            /* Whole vectors, rows in increasing address order: a store past the end of a row lands in
               the next row (written after) or in the slack at the end of P. Loads past the end of an
               input row are masked, since it may be the end of the tensor. */
            const __m256 zero = _mm256_setzero_ps();
            for (tl_size r = 0; r < rows[i]; r++) {
                float *dst = band + r * BW;
                const tl_size iy = 4 * ty_lo[i] + r - d->ph;
                if (iy >= 0 && iy < d->H) {
                    const float *row = src + iy * W;
                    _mm256_storeu_ps(dst, zero); /* the left padding (pw <= 2), overwritten from pw on */
                    tl_size k = 0;
                    for (; k < W; k += 8)
                        _mm256_storeu_ps(dst + d->pw + k, k + 8 <= W ? _mm256_loadu_ps(row + k)
                                                                     : _mm256_maskload_ps(row + k, _mm256_castps_si256(lanes_below(W - k))));
                    /* at most 7 floats of right padding are left (BW - pw - W <= pw + 5) */
                    _mm256_storeu_ps(dst + d->pw + k, zero);
                } else {
                    for (tl_size k = 0; k < BW; k += 8) _mm256_storeu_ps(dst + k, zero);
                }
            }
        }
    /* Patch origin of each tile in its band, channel 0, and the distance between channels. */
    tl_size porg[TB], pstep[TB];
    for (tl_size t = 0; t < nt; t++) {
        const tl_size i = tab[t].n - n_first;
        porg[t] = off[i] + 4 * (tab[t].ty - ty_lo[i]) * BW + 4 * tab[t].tx;
        pstep[t] = rows[i] * BW;
    }
    /* The input rows of the next block (when the caller runs it next), prefetched channel by channel
       while this one is transformed. */
    row_span pf = {0, 0, -1, 0};
    if (prefetch_next && nt == TB) pf = next_block_rows(d, tab, d->ph, 5 - d->ph);
    /* Per channel and 8 tiles: patch rows as 8 vectors, transposed to one tile per lane, the row pass
       (along j) in registers, then the column pass (along i); lanes past nt are zeroed. */
    float *R = D; /* 36 vectors of 8: R[i][b] = sum_j BT[b][j] d[i][j] */
    for (tl_size c = 0; c < d->Cg; c++) {
        prefetch_span(in + (g * d->Cg + c) * HW, C * HW, &pf, d->H, W);
        for (tl_size t0 = 0; t0 < nt; t0 += 8) {
            float *Vc = V + c * 36 * TB;
            const float *pk[8];
            for (int l = 0; l < 8; l++) {
                const tl_size t = t0 + l < nt ? t0 + l : t0;
                pk[l] = P + porg[t] + c * pstep[t];
            }
            for (int i = 0; i < 6; i++) {
                __m256 r[8], dv[6], o[6];
                for (int l = 0; l < 8; l++) r[l] = _mm256_loadu_ps(pk[l] + i * BW);
                tl_transpose8(dv, r, 6);
                bt6v(o, dv);
                for (int b = 0; b < 6; b++) _mm256_storeu_ps(R + (i * 6 + b) * 8, o[b]);
            }
            const __m256 keep = lanes_below(nt - t0);
            for (int b = 0; b < 6; b++) {
                __m256 dv[6], o[6];
                for (int i = 0; i < 6; i++) dv[i] = _mm256_loadu_ps(R + (i * 6 + b) * 8);
                bt6v(o, dv);
                for (int a = 0; a < 6; a++) _mm256_storeu_ps(Vc + (a * 6 + b) * TB + t0, _mm256_and_ps(o[a], keep));
            }
        }
    }
    /* Lanes of whole empty groups (nt <= 24). */
    for (tl_size t0 = (nt + 7) / 8 * 8; t0 < TB; t0 += 8)
        for (tl_size r = 0; r < 36 * d->Cg; r++) _mm256_storeu_ps(V + r * TB + t0, _mm256_setzero_ps());
}

/* out = A^T M A (+ bias) for the block's nt tiles, cropped to the output; M (Kg, 36, TB). Per output
   channel and 8 tiles: the column pass into T (24 vectors), the row pass in registers, a 4x8 transpose
   to rows of 4 outputs per tile, stored whole (or cropped for tiles at the edge). O is unused. */
static void output_transform(float *out, const float *M, const float *bias, const wino_dims *d, tl_size g,
                             const tile_info *tab, tl_size nt, float *T, float *O) {
    (void)O;
    const tl_size P = d->OH * d->OW, OW = d->OW;
    for (tl_size k = 0; k < d->Kg; k++) {
        const __m256 bv = _mm256_set1_ps(bias ? bias[g * d->Kg + k] : 0.0f);
        float *plane = out + (g * d->Kg + k) * P;
        const float *Mk = M + k * 36 * TB;
        for (tl_size t0 = 0; t0 < nt; t0 += 8) {
            for (int j = 0; j < 6; j++) { /* T[a][j] = sum_i AT[a][i] M[i][j] */
                __m256 m[6], o[4];
                for (int i = 0; i < 6; i++) m[i] = _mm256_loadu_ps(Mk + (i * 6 + j) * TB + t0);
                at6v(o, m);
                for (int a = 0; a < 4; a++) _mm256_storeu_ps(T + (a * 6 + j) * 8, o[a]);
            }
            const tl_size n8 = nt - t0 < 8 ? nt - t0 : 8;
            for (int a = 0; a < 4; a++) { /* O[a][b] = sum_j AT[b][j] T[a][j], then row a of each tile */
                __m256 tv[6], o[4];
                for (int jj = 0; jj < 6; jj++) tv[jj] = _mm256_loadu_ps(T + (a * 6 + jj) * 8);
                at6v(o, tv);
                for (int b = 0; b < 4; b++) o[b] = _mm256_add_ps(o[b], bv);
                const __m256 t0v = _mm256_unpacklo_ps(o[0], o[1]), t1v = _mm256_unpackhi_ps(o[0], o[1]);
                const __m256 t2v = _mm256_unpacklo_ps(o[2], o[3]), t3v = _mm256_unpackhi_ps(o[2], o[3]);
                __m256 u[4];
                u[0] = _mm256_shuffle_ps(t0v, t2v, 0x44);
                u[1] = _mm256_shuffle_ps(t0v, t2v, 0xEE);
                u[2] = _mm256_shuffle_ps(t1v, t3v, 0x44);
                u[3] = _mm256_shuffle_ps(t1v, t3v, 0xEE);
                for (tl_size l = 0; l < n8; l++) {
                    const tile_info *q = tab + t0 + l;
                    if (a >= q->out_rows) continue;
                    const __m128 row = l < 4 ? _mm256_castps256_ps128(u[l]) : _mm256_extractf128_ps(u[l - 4], 1);
                    float *dst = plane + q->out_off + a * OW;
                    if (q->out_cols == 4) {
                        _mm_storeu_ps(dst, row);
                    } else {
                        float buf[4];
                        _mm_storeu_ps(buf, row);
                        for (int bb = 0; bb < q->out_cols; bb++) dst[bb] = buf[bb];
                    }
                }
            }
        }
    }
}

/* out (N, G*Kg, OH, OW) = Winograd convolution of in with the transformed filters U (G, 36, Kg, Cg), each
   U[g][xi] packed for GEMM kernel `kern` (tl_gemm_pack_a), `up` floats apart. */
static int wino_run(float *out, const float *in, const float *Up, tl_size up, const tl_gemm_kernel *kern,
                    const float *bias, const wino_dims *d) {
    const tl_size blocks = (d->N * d->tiles + TB - 1) / TB;
    /* A task is a run of up to 4 consecutive blocks (at least 8 tasks when there are enough blocks), so
       that the thread running a block runs the next one too and its input prefetch pays. */
    const tl_size run = blocks >= 32 ? 4 : blocks >= 16 ? 2 : 1, runs = (blocks + run - 1) / run, tasks = runs * d->G;
    const size_t v_floats = (size_t)(36 * d->Cg * TB), m_floats = (size_t)(36 * d->Kg * TB);
    int failed = 0;
    tl_size next_task = 0; /* tasks handed out one by one: a slowed thread takes fewer */
    #pragma omp parallel if (tasks > 1)
    for (tl_size task; (task = tl_next_task(&next_task)) < tasks;) {
        float *V = tl_scratch(TL_SCR_A, v_floats), *M = tl_scratch(TL_SCR_B, m_floats), *tmp = tl_scratch(TL_SCR_C, (size_t)(3 * 36 * TB + wino_pad_floats(d)));
        if (!V || !M || !tmp) { failed = 1; continue; }
        const tl_size g = task / runs, b0 = (task - g * runs) * run, b1 = b0 + run < blocks ? b0 + run : blocks;
        for (tl_size blk = b0; blk < b1; blk++) {
            const tl_size t0 = blk * TB, nt = d->N * d->tiles - t0 < TB ? d->N * d->tiles - t0 : TB;
            tile_info tab[TB];
            tile_table(tab, d, t0, nt);
            input_transform(V, in, d, g, tab, nt, tmp, tmp + 36 * TB, blk + 1 < b1);
            /* V (Cg, 36, TB) and M (Kg, 36, TB) keep the 36 x TB values of one channel together for the
               transforms; the products read V where it is (a copy would cost as much as they do). */
            for (int xi = 0; xi < 36; xi++)
                tl_gemm_packed_a_product(kern, d->Kg, TB, d->Cg, 1.0f, Up + (g * 36 + xi) * up, V + xi * TB, 36 * TB, 0.0f,
                                         M + xi * TB, 36 * TB);
            output_transform(out, M, bias, d, g, tab, nt, tmp, tmp + 36 * TB);
        }
    }
    return failed ? TL_ERR_OUT_OF_MEMORY : TL_OK;
}

/* The transformed filters U (G, 36, rows, cols) of the convolution `d` computes (rows = d->Kg output,
   cols = d->Cg input channels) with U[g][xi] packed for `kern` `*up` floats apart, in *Up (scratch).
   `transposed`: the input gradient's filters, w's channels swapped and the taps flipped. */
static int wino_filters(float **Up, tl_size *up, const float *w, const conv_shape *s, const wino_dims *d, int transposed,
                        const tl_gemm_kernel *kern) {
    const tl_size Kg = d->Kg, Cg = d->Cg, ufloats = s->G * 36 * Kg * Cg;
    *up = tl_gemm_packed_a_floats(kern, Kg, Cg);
    float *U = tl_scratch(TL_SCR_WEIGHTS, (size_t)(ufloats + s->G * 36 * *up));
    if (!U) return TL_ERR_OUT_OF_MEMORY;
    *Up = U + ufloats;
    #pragma omp parallel for schedule(static) if (s->K * s->Cg > 4096)
    for (tl_size gk = 0; gk < s->G * Kg; gk++) { /* one filter row (group g, row k) per iteration */
        const tl_size g = gk / Kg, k = gk % Kg;
        if (transposed) filter_transform(U + g * 36 * Kg * Cg, w + g * Kg * Cg * 9, Kg, Cg, 1, Kg, 1, k, k + 1);
        else filter_transform(U + g * 36 * Kg * Cg, w + g * Kg * Cg * 9, Kg, Cg, Cg, 1, 0, k, k + 1);
    }
    #pragma omp parallel for schedule(static) if (s->K * s->Cg > 4096)
    for (tl_size gx = 0; gx < s->G * 36; gx++) tl_gemm_pack_a(kern, *Up + gx * *up, 0, Kg, Cg, U + gx * Kg * Cg, Cg);
    return TL_OK;
}

int conv_winograd_forward(float *y, const float *x, const float *w, const float *b, const conv_shape *s) {
    const wino_dims d = wino_make(s->N, s->G, s->Cg, s->Kg, s->H, s->W, s->OH, s->OW, s->ph, s->pw);
    const tl_gemm_kernel *kern = tl_gemm_pick();
    float *Up;
    tl_size up;
    TL_TRY(wino_filters(&Up, &up, w, s, &d, 0, kern));
    return wino_run(y, x, Up, up, kern, b, &d);
}

int conv_winograd_backward_input(float *dx, const float *dy, const float *w, const conv_shape *s) {
    /* dx = conv(dy, w flipped with in/out channels swapped, padding 2 - pad): filters (Cg, Kg) per group. */
    const wino_dims d = wino_make(s->N, s->G, s->Kg, s->Cg, s->OH, s->OW, s->H, s->W, 2 - s->ph, 2 - s->pw);
    const tl_gemm_kernel *kern = tl_gemm_pick();
    float *Up;
    tl_size up;
    TL_TRY(wino_filters(&Up, &up, w, s, &d, 1, kern));
    return wino_run(dx, dy, Up, up, kern, NULL, &d);
}

/* Mhat (Kg, 36, TB) = A e A^T for the 4x4 output-gradient tiles e of group g in the block; zero
   outside the output and for lanes >= nt. Per output channel and 8 tiles: rows of 4 gathered as vectors
   and transposed in 128-bit lanes, the column pass into T, the row pass in registers. E (16 * TB) and
   T (24 * TB) are scratch. */
static void grad_transform(float *Mhat, const float *dy, const wino_dims *d, tl_size g, const tile_info *tab,
                           tl_size nt, float *E, float *T, int prefetch_next) {
    const tl_size P = d->OH * d->OW, OW = d->OW, K = d->G * d->Kg;
    float *edge = E; /* cropped copies of edge tiles, zero padded: 4x4 each */
    row_span pf = {0, 0, -1, 0};
    if (prefetch_next && nt == TB) pf = next_block_rows(d, tab, 0, 3);
    for (tl_size k = 0; k < d->Kg; k++) {
        const float *plane = dy + (g * d->Kg + k) * P;
        prefetch_span(dy + (g * d->Kg + k) * P, K * P, &pf, d->OH, OW);
        for (tl_size t0 = 0; t0 < TB; t0 += 8) {
            if (t0 >= nt) {
                for (int xi = 0; xi < 36; xi++) _mm256_storeu_ps(Mhat + (k * 36 + xi) * TB + t0, _mm256_setzero_ps());
                continue;
            }
            const float *src[8];
            tl_size ld[8];
            for (int l = 0; l < 8; l++) {
                const tl_size t = t0 + l;
                float *buf = edge + 16 * l;
                if (t >= nt) {
                    for (int e = 0; e < 16; e++) buf[e] = 0.0f;
                    src[l] = buf;
                    ld[l] = 4;
                } else if (tab[t].out_rows == 4 && tab[t].out_cols == 4) {
                    src[l] = plane + tab[t].out_off;
                    ld[l] = OW;
                } else {
                    const float *e0 = plane + tab[t].out_off;
                    for (int i = 0; i < 4; i++)
                        for (int jj = 0; jj < 4; jj++)
                            buf[i * 4 + jj] = i < tab[t].out_rows && jj < tab[t].out_cols ? e0[i * OW + jj] : 0.0f;
                    src[l] = buf;
                    ld[l] = 4;
                }
            }
            __m256 ev[4][4]; /* ev[i][j] lane l = e_l[i][j] */
            for (int i = 0; i < 4; i++) {
                __m256 v[4];
                for (int l = 0; l < 4; l++)
                    v[l] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(src[l] + i * ld[l])),
                                                _mm_loadu_ps(src[l + 4] + i * ld[l + 4]), 1);
                const __m256 t0v = _mm256_unpacklo_ps(v[0], v[1]), t1v = _mm256_unpackhi_ps(v[0], v[1]);
                const __m256 t2v = _mm256_unpacklo_ps(v[2], v[3]), t3v = _mm256_unpackhi_ps(v[2], v[3]);
                ev[i][0] = _mm256_shuffle_ps(t0v, t2v, 0x44);
                ev[i][1] = _mm256_shuffle_ps(t0v, t2v, 0xEE);
                ev[i][2] = _mm256_shuffle_ps(t1v, t3v, 0x44);
                ev[i][3] = _mm256_shuffle_ps(t1v, t3v, 0xEE);
            }
            for (int jj = 0; jj < 4; jj++) { /* T[a][j] = sum_i A[a][i] e[i][j] */
                const __m256 col[4] = {ev[0][jj], ev[1][jj], ev[2][jj], ev[3][jj]};
                __m256 o[6];
                a4v(o, col);
                for (int a = 0; a < 6; a++) _mm256_storeu_ps(T + (a * 4 + jj) * 8, o[a]);
            }
            for (int a = 0; a < 6; a++) { /* Mhat[a][b] = sum_j A[b][j] T[a][j] */
                __m256 tv[4], o[6];
                for (int jj = 0; jj < 4; jj++) tv[jj] = _mm256_loadu_ps(T + (a * 4 + jj) * 8);
                a4v(o, tv);
                for (int b = 0; b < 6; b++) _mm256_storeu_ps(Mhat + (k * 36 + a * 6 + b) * TB + t0, o[b]);
            }
        }
    }
}

/* vt (TB, Cg) = v (Cg, TB, rows ldv apart) transposed: 8x8 blocks when Cg is a multiple of 8. */
static void transpose_v(float *vt, const float *v, tl_size ldv, tl_size Cg) {
    if (Cg % 8 == 0) {
        for (tl_size c0 = 0; c0 < Cg; c0 += 8)
            for (tl_size t0 = 0; t0 < TB; t0 += 8) {
                __m256 r[8], col[8];
                for (int l = 0; l < 8; l++) r[l] = _mm256_loadu_ps(v + (c0 + l) * ldv + t0);
                tl_transpose8(col, r, 8);
                for (int j = 0; j < 8; j++) _mm256_storeu_ps(vt + (t0 + j) * Cg + c0, col[j]);
            }
        return;
    }
    for (tl_size c = 0; c < Cg; c++)
        for (tl_size t = 0; t < TB; t++) vt[t * Cg + c] = v[c * ldv + t];
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
    const tl_gemm_kernel *kern = tl_gemm_pick();
    const tl_size a_floats = tl_gemm_packed_a_floats(kern, d.Kg, TB);
    int failed = 0;
    tl_size next_task = 0; /* tasks handed out one by one: a slowed thread takes fewer */
    #pragma omp parallel if (tasks > 1)
    for (tl_size task; (task = tl_next_task(&next_task)) < tasks;) {
        /* V and its transpose VT (36, TB, Cg): the product dU += Mhat VT^T is then the plain A*B form. */
        float *V = tl_scratch(TL_SCR_A, 2 * v_floats + (size_t)a_floats), *M = tl_scratch(TL_SCR_B, m_floats);
        float *tmp = tl_scratch(TL_SCR_C, (size_t)(3 * 36 * TB + 27 * d.Cg + wino_pad_floats(&d))), *dU = tl_scratch(TL_SCR_D, u_floats);
        if (!V || !M || !tmp || !dU) { failed = 1; continue; }
        const tl_size g = task / parts, part = task % parts;
        const tl_size b0 = part * per_part, b1 = b0 + per_part < blocks ? b0 + per_part : blocks;
        /* dU accumulated with beta = 1 from zero over the part's blocks, one product per xi:
           Mhat (Kg, TB), packed for the micro-kernel (Ap), times VT (TB, Cg), V transposed so that the
           micro-kernel reads its rows in place. */
        memset(dU, 0, u_floats * sizeof(float));
        for (tl_size blk = b0; blk < b1; blk++) {
            const tl_size t0 = blk * TB, nt = d.N * d.tiles - t0 < TB ? d.N * d.tiles - t0 : TB;
            tile_info tab[TB];
            tile_table(tab, &d, t0, nt);
            input_transform(V, x, &d, g, tab, nt, tmp, tmp + 36 * TB, blk + 1 < b1);
            grad_transform(M, dy, &d, g, tab, nt, tmp, tmp + 16 * TB, blk + 1 < b1);
            float *VT = V + v_floats, *Ap = VT + v_floats;
            for (int xi = 0; xi < 36; xi++) {
                float *vt = VT + xi * d.Cg * TB;
                transpose_v(vt, V + xi * TB, 36 * TB, d.Cg);
                tl_gemm_pack_a(kern, Ap, 0, d.Kg, TB, M + xi * TB, 36 * TB);
                tl_gemm_packed_a_product(kern, d.Kg, d.Cg, TB, 1.0f, Ap, vt, d.Cg, 1.0f, dU + xi * d.Kg * d.Cg, d.Cg);
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

/* Direct convolution as a "shifted GEMM". One image's input is copied, zero padded, into planes of
   row length LW (split into stride phases, so that every tap reads consecutive floats). Tap t = (c, r, s)
   of output row oh, column ow then reads xp[toff[t] + oh*LW + ow]: the im2col matrix is never built,
   each of its rows is the padded image shifted by toff[t]. Outputs are processed as vectors of VL
   consecutive columns of one row ("positions", the last one of a row partial):
       y  (Kg, positions) = W (Kg, T) * X_shift (T, positions)     forward, tile MR channels x NV vectors
       dW (Kg, T)        += dy (Kg, positions) * X_shift^T          weight gradient, tile MRW channels x NTW taps
   Both read and write the NCHW tensors directly (partial vectors masked). The input gradient is the
   forward kernel applied per stride phase to the padded dy (see conv_direct_backward_input).
   Kernels exist for AVX2 (8 floats, 16 registers) and AVX-512 (16 floats, 32 registers); the latter is
   chosen at run time when tl_kernels_use_avx512 says so (the CPU has it and TL_ISA allows it). */
#include "tl_conv_internal.h"

#include <immintrin.h>
#include <omp.h>
#include <string.h>

/* One output vector: offset of its first input in a packed plane, of its first output, valid lanes. */
typedef struct vec_pos {
    int xoff, yoff, lanes;
} vec_pos;

/* ---------------------------------------------------------------- kernels, one set per ISA */

/* avx2 partial vectors: lanes [0, n) of mask8_table + 8 - n are all ones. */
static const int mask8_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

#define KSUF avx2
#define KATTR
#define VL 8
#define MR 4
#define NV 3
#define MRW 4
#define NTW 2 /* 4 x 2 accumulators: with 4 x 3 the 16 ymm registers spill one (measured 2x slower) */
#define VT __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMASK(n) _mm256_loadu_si256((const __m256i *)(mask8_table + 8 - (n)))
#define VLOADN(p, n) _mm256_maskload_ps(p, VMASK(n))
#define VSTOREN(p, n, v) ((n) == 8 ? _mm256_storeu_ps(p, v) : _mm256_maskstore_ps(p, VMASK(n), v))
#include "tl_conv_direct_kernels.h"
#undef KSUF
#undef KATTR
#undef VL
#undef MR
#undef NV
#undef MRW
#undef NTW
#undef VT
#undef VLOAD
#undef VSTORE
#undef VZERO
#undef VSET1
#undef VFMA
#undef VMASK
#undef VLOADN
#undef VSTOREN

#define KSUF avx512
#define KATTR __attribute__((target("avx512f")))
#define VL 16
#define MR 8
#define NV 3
#define MRW 8
#define NTW 3
#define VT __m512
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VZERO() _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VLOADN(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define VSTOREN(p, n, v) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
#include "tl_conv_direct_kernels.h"
#undef KSUF
#undef KATTR
#undef VL
#undef MR
#undef NV
#undef MRW
#undef NTW
#undef VT
#undef VLOAD
#undef VSTORE
#undef VZERO
#undef VSET1
#undef VFMA
#undef VLOADN
#undef VSTOREN

typedef void (*forward_fn)(float *, tl_size, tl_size, const float *, const float *, const float *, const int *,
                           tl_size, tl_size, const vec_pos *, tl_size);
typedef void (*weight_fn)(float *, const float *, tl_size, tl_size, const float *, const int *, tl_size, tl_size,
                          const vec_pos *, tl_size, int);

typedef struct direct_isa {
    tl_size vl, mr, nv, mrw, ntw;
    forward_fn forward;
    weight_fn weight;
} direct_isa;

static const direct_isa isa_avx2 = {8, 4, 3, 4, 2, direct_forward_kernel_avx2, direct_weight_kernel_avx2};
static const direct_isa isa_avx512 = {16, 8, 3, 8, 3, direct_forward_kernel_avx512, direct_weight_kernel_avx512};

static const direct_isa *direct_isa_pick(void) {
    if (conv_mode & TL_CONV2D_NO_AVX512) return &isa_avx2;
    return tl_kernels_use_avx512() ? &isa_avx512 : &isa_avx2;
}

/* Positions of an output plane of rows x cols: input offsets with row length `ldx`, output offsets with
   row length `ldy`, row by row; padded with empty positions to a multiple of `multiple`. Returns the count. */
static tl_size make_positions(vec_pos *pos, tl_size rows, tl_size cols, tl_size ldx, tl_size ldy, tl_size vl,
                              tl_size multiple) {
    tl_size n = 0;
    for (tl_size r = 0; r < rows; r++)
        for (tl_size c = 0; c < cols; c += vl) {
            pos[n].xoff = (int)(r * ldx + c);
            pos[n].yoff = (int)(r * ldy + c);
            pos[n].lanes = (int)(cols - c < vl ? cols - c : vl);
            n++;
        }
    while (n % multiple) {
        pos[n].xoff = pos[n].yoff = pos[n].lanes = 0;
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------- plan */

/* Sizes of the packed layout of convolution s for the chosen kernels. */
typedef struct direct_plan {
    const direct_isa *isa;
    tl_size phases, Hp, LW, plane;  /* stride phases, rows and row length of a phase plane, floats per plane */
    tl_size xp_floats;              /* packed input of one image and group, slack included */
    tl_size npos;                   /* output positions (OH rows of ceil(OW / VL) vectors) */
    tl_size T, TBn, KB, KBW;        /* taps, tap blocks (weight tile), channel blocks (both tiles) */
} direct_plan;

static direct_plan direct_plan_make(const conv_shape *s) {
    direct_plan p;
    p.isa = direct_isa_pick();
    p.phases = s->sh * s->sw;
    const tl_size roff = (s->R - 1) * s->dh / s->sh, coff = (s->S - 1) * s->dw / s->sw;
    p.Hp = s->OH + roff;
    p.LW = s->OW + coff;
    /* Rows are written and read in whole vectors: 32 floats of zeroed slack after each plane. */
    p.plane = p.Hp * p.LW + 32;
    p.xp_floats = p.phases * s->Cg * p.plane + p.isa->vl;
    p.npos = s->OH * ((s->OW + p.isa->vl - 1) / p.isa->vl);
    p.T = s->CRS;
    p.TBn = (p.T + p.isa->ntw - 1) / p.isa->ntw;
    p.KB = (s->Kg + p.isa->mr - 1) / p.isa->mr;
    p.KBW = (s->Kg + p.isa->mrw - 1) / p.isa->mrw;
    return p;
}

/* Lane accumulators of the weight kernel for all groups, in floats. */
static tl_size vacc_floats(const conv_shape *s, const direct_plan *p) {
    return s->G * p->KBW * p->TBn * p->isa->mrw * p->isa->ntw * p->isa->vl;
}

/* Worth it and affordable: enough output channels to fill a tile, short partial vectors a small
   fraction of the work. Depends on the shape only (never on the thread count), so results are the
   same for any number of threads. */
int conv_direct_supported(const conv_shape *s, int for_weight) {
    if (conv_mode & TL_CONV2D_NO_DIRECT) return 0;
    if (s->Kg < 4) return 0;
    const direct_plan p = direct_plan_make(s);
    if (p.npos * p.isa->vl * 2 > s->P * 3) return 0; /* more than a third of the lanes idle */
    /* Position offsets are ints and span up to four images. */
    if (p.T > INT_MAX / 2 || p.xp_floats > ((tl_size)1 << 26) || s->K * s->P > INT_MAX / 4) return 0;
    if (for_weight && vacc_floats(s, &p) > ((tl_size)1 << 22)) return 0;
    return 1;
}

/* toff[t] for taps t = (c, r, s) in filter order; taps T .. pad-1 point at offset 0 (their results are dropped). */
static void tap_offsets(int *toff, tl_size pad, const conv_shape *s, const direct_plan *p) {
    for (tl_size c = 0; c < s->Cg; c++)
        for (tl_size r = 0; r < s->R; r++)
            for (tl_size q = 0; q < s->S; q++) {
                const tl_size py = r * s->dh % s->sh, px = q * s->dw % s->sw;
                toff[(c * s->R + r) * s->S + q] = (int)(((py * s->sw + px) * s->Cg + c) * p->plane +
                                                        (r * s->dh / s->sh) * p->LW + q * s->dw / s->sw);
            }
    for (tl_size t = p->T; t < pad; t++) toff[t] = 0;
}

/* Precomputed load and store masks of one phase row: dst[j] = row[j*sw + e] where 0 <= j*sw + e < W,
   else 0, for j < LW, 16 outputs per chunk; sw is 1 or 2. They depend only on the shape, so a row
   costs one or two masked loads, a permute for stride 2 and a masked store per chunk. */
#define GATHER_MAX_CHUNKS 16
typedef struct gather_plan {
    int chunks;
    tl_size start[GATHER_MAX_CHUNKS];
    unsigned short load[GATHER_MAX_CHUNKS][2], store[GATHER_MAX_CHUNKS];
} gather_plan;

static void gather_plan_make(gather_plan *g, tl_size LW, tl_size W, tl_size e, tl_size sw) {
    g->chunks = (int)((LW + 15) / 16);
    for (int c = 0; c < g->chunks; c++) {
        const tl_size j0 = (tl_size)c * 16, left = LW - j0;
        g->store[c] = left >= 16 ? 0xFFFF : (unsigned short)((1u << left) - 1);
        g->start[c] = j0 * sw + e;
        for (int part = 0; part < 2; part++) {
            const tl_size start = g->start[c] + 16 * part; /* row index of lane 0 */
            tl_size lo = -start, hi = W - start;           /* valid lanes [lo, hi) */
            if (lo < 0) lo = 0;
            if (hi > 16) hi = 16;
            g->load[c][part] = lo < hi && part < sw ? (unsigned short)(((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
        }
    }
}

__attribute__((target("avx512f"))) static void gather_row_avx512(float *dst, const float *row, const gather_plan *g,
                                                                  tl_size sw) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int c = 0; c < g->chunks; c++) {
        /* Masked-off lanes are not read, so `row + start` may point outside the row. */
        const float *src = row + g->start[c];
        __m512 out = _mm512_maskz_loadu_ps(g->load[c][0], src);
        if (sw == 2) out = _mm512_permutex2var_ps(out, even, _mm512_maskz_loadu_ps(g->load[c][1], src + 16));
        _mm512_mask_storeu_ps(dst + 16 * c, g->store[c], out);
    }
}

/* Stride-2 rows of at most 24 outputs per phase (2*LW <= 48), AVX-512: the padded input row
   R[k] = in[k - pw] (zero outside [0, W)) is loaded as three masked vectors (the masks are the same for
   every row), and two permutes per phase pick its even and odd elements. Stores are whole vectors:
   the planes have 16 floats of slack, and rows are written in increasing order, so the overflow of one
   row is overwritten by the next or lands in the slack. */
__attribute__((target("avx512f"))) static void pack_rows_s2_avx512(float *xp, const float *xg, const conv_shape *s,
                                                                    const direct_plan *p) {
    const tl_size phase_stride = s->Cg * p->plane, LW = p->LW;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __mmask16 m[3];
    for (int v = 0; v < 3; v++) {
        unsigned bits = 0;
        for (int l = 0; l < 16; l++) {
            const tl_size k = 16 * v + l - s->pw; /* input column of lane l */
            if (k >= 0 && k < s->W && 16 * v + l < 2 * LW) bits |= 1u << l;
        }
        m[v] = (__mmask16)bits;
    }
    for (tl_size c = 0; c < s->Cg; c++) {
        const float *src = xg + c * s->HW;
        for (tl_size i = 0; i < p->Hp; i++)
            for (tl_size py = 0; py < 2; py++) {
                const tl_size ih = 2 * i + py - s->ph;
                float *r0 = xp + (py * 2 * s->Cg + c) * p->plane + i * LW, *r1 = r0 + phase_stride;
                if (ih < 0 || ih >= s->H) {
                    _mm512_storeu_ps(r0, _mm512_setzero_ps());
                    _mm512_storeu_ps(r0 + 16, _mm512_setzero_ps());
                    _mm512_storeu_ps(r1, _mm512_setzero_ps());
                    _mm512_storeu_ps(r1 + 16, _mm512_setzero_ps());
                    continue;
                }
                const float *in = src + ih * s->W - s->pw; /* masked-off lanes are not read */
                const __m512 a = _mm512_maskz_loadu_ps(m[0], in), b = _mm512_maskz_loadu_ps(m[1], in + 16);
                const __m512 d = _mm512_maskz_loadu_ps(m[2], in + 32);
                _mm512_storeu_ps(r0, _mm512_permutex2var_ps(a, even, b));
                _mm512_storeu_ps(r1, _mm512_permutex2var_ps(a, odd, b));
                _mm512_storeu_ps(r0 + 16, _mm512_permutex2var_ps(d, even, d));
                _mm512_storeu_ps(r1 + 16, _mm512_permutex2var_ps(d, odd, d));
            }
    }
}

/* xp = image xg (Cg, H, W) zero padded, split into stride phases, rows of LW floats; slack zeroed. */
static void pack_input(float *xp, const float *xg, const conv_shape *s, const direct_plan *p) {
    const tl_size phase_stride = s->Cg * p->plane;
    if (p->isa == &isa_avx512 && s->sh == 2 && s->sw == 2 && p->LW <= 24) {
        pack_rows_s2_avx512(xp, xg, s, p);
    } else if (p->isa == &isa_avx512 && s->sw <= 2 && p->LW <= 16 * GATHER_MAX_CHUNKS) {
        gather_plan gp[2];
        for (tl_size px = 0; px < s->sw; px++) gather_plan_make(&gp[px], p->LW, s->W, px - s->pw, s->sw);
        for (tl_size c = 0; c < s->Cg; c++) {
            const float *src = xg + c * s->HW;
            for (tl_size i = 0; i < p->Hp; i++)
                for (tl_size py = 0; py < s->sh; py++) {
                    const tl_size ih = i * s->sh + py - s->ph;
                    float *rows = xp + (py * s->sw * s->Cg + c) * p->plane + i * p->LW; /* phase (py, 0) */
                    for (tl_size px = 0; px < s->sw; px++) {
                        if (ih < 0 || ih >= s->H)
                            memset(rows + px * phase_stride, 0, (size_t)p->LW * sizeof(float));
                        else
                            gather_row_avx512(rows + px * phase_stride, src + ih * s->W, &gp[px], s->sw);
                    }
                }
        }
    } else {
        for (tl_size c = 0; c < s->Cg; c++) {
            const float *src = xg + c * s->HW;
            for (tl_size i = 0; i < p->Hp; i++)
                for (tl_size py = 0; py < s->sh; py++) {
                    const tl_size ih = i * s->sh + py - s->ph;
                    float *rows = xp + (py * s->sw * s->Cg + c) * p->plane + i * p->LW; /* phase (py, 0) */
                    const int inside = ih >= 0 && ih < s->H;
                    const float *in = src + (inside ? ih : 0) * s->W;
                    for (tl_size px = 0; px < s->sw; px++) {
                        float *dst = rows + px * phase_stride;
                        const tl_size e = px - s->pw; /* dst[j] = in[j*sw + e] */
                        for (tl_size j = 0; j < p->LW; j++) {
                            const tl_size iw = j * s->sw + e;
                            dst[j] = inside && iw >= 0 && iw < s->W ? in[iw] : 0.0f;
                        }
                    }
                }
        }
    }
    /* Junk lanes read the slack: it must hold zeros (0 * junk must stay 0 in the weight gradient). */
    for (tl_size plane = 0; plane < p->phases * s->Cg; plane++)
        memset(xp + plane * p->plane + p->Hp * p->LW, 0, (size_t)(p->plane - p->Hp * p->LW) * sizeof(float));
    const tl_size used = p->phases * s->Cg * p->plane;
    memset(xp + used, 0, (size_t)(p->xp_floats - used) * sizeof(float));
}

/* ---------------------------------------------------------------- forward */

/* Images per forward task: the one of 1..4 that leaves the fewest idle slots in the last tile of NV
   vectors (positions of consecutive images are concatenated). */
static tl_size images_per_task(const conv_shape *s, const direct_plan *p) {
    const tl_size nv = p->isa->nv;
    tl_size best = 1, best_idle = nv;
    for (tl_size k = 1; k <= 4 && k <= s->N; k++) {
        const tl_size idle = (nv - k * p->npos % nv) % nv;
        if (idle * best < best_idle * k) { best = k; best_idle = idle; } /* idle fraction idle / (k npos) */
    }
    return best;
}

int conv_direct_forward(float *y, const float *x, const float *w, const float *b, const conv_shape *s) {
    const direct_plan p = direct_plan_make(s);
    const tl_size mr = p.isa->mr, nv = p.isa->nv, Kp = p.KB * mr;
    /* Few images: positions cut into a fixed number of parts so that every thread has work (a part
       packs the whole image again, cheap next to its products). Otherwise several images per task. */
    const tl_size few = s->N * s->G < 8;
    const tl_size ipt = few ? 1 : images_per_task(s, &p);
    const tl_size npos = ipt * p.npos;
    float *wp = tl_scratch(TL_SCR_WEIGHTS, (size_t)(s->G * Kp * p.T));
    int *toff = (int *)tl_scratch(TL_SCR_TABLE, (size_t)p.T);
    vec_pos *pos = (vec_pos *)tl_scratch(TL_SCR_POSITIONS, (size_t)npos * 3);
    if (!wp || !toff || !pos) return TL_ERR_OUT_OF_MEMORY;
    tap_offsets(toff, p.T, s, &p);
    /* Image i of a task: its packed input follows at i * xp_floats, its output at i * K * P. */
    for (tl_size i = 0; i < ipt; i++) {
        vec_pos *pi = pos + i * p.npos;
        make_positions(pi, s->OH, s->OW, p.LW, s->OW, p.isa->vl, 1);
        for (tl_size j = 0; j < p.npos; j++) {
            pi[j].xoff += (int)(i * p.xp_floats);
            pi[j].yoff += (int)(i * s->K * s->P);
        }
    }
    /* wp (G, KB, T, MR): the MR filters of a block interleaved tap by tap, zero past Kg. */
    for (tl_size g = 0; g < s->G; g++)
        for (tl_size k = 0; k < Kp; k++)
            for (tl_size t = 0; t < p.T; t++)
                wp[((g * p.KB + k / mr) * p.T + t) * mr + k % mr] = k < s->Kg ? w[((g * s->Kg + k) * p.T) + t] : 0.0f;
    const tl_size tiles = (npos + nv - 1) / nv;
    tl_size parts = few ? (8 + s->N * s->G - 1) / (s->N * s->G) : 1;
    if (parts > tiles) parts = tiles;
    const tl_size per_part = (tiles + parts - 1) / parts * nv;
    const tl_size groups_of_images = (s->N + ipt - 1) / ipt;
    const tl_size tasks = groups_of_images * s->G * parts;
    int failed = 0;
    tl_size next_task = 0; /* tasks handed out one by one: a slowed thread takes fewer */
    #pragma omp parallel
    for (tl_size task; (task = tl_next_task(&next_task)) < tasks;) {
        float *xp = tl_scratch(TL_SCR_A, (size_t)(ipt * p.xp_floats));
        if (!xp) { failed = 1; continue; }
        const tl_size ig = task / parts, part = task % parts, g = ig % s->G, n0 = ig / s->G * ipt;
        const tl_size count = s->N - n0 < ipt ? s->N - n0 : ipt;
        const tl_size p0 = part * per_part, p1 = p0 + per_part < count * p.npos ? p0 + per_part : count * p.npos;
        if (p1 <= p0) continue;
        for (tl_size i = 0; i < count; i++) pack_input(xp + i * p.xp_floats, x + ((n0 + i) * s->C + g * s->Cg) * s->HW, s, &p);
        p.isa->forward(y + (n0 * s->K + g * s->Kg) * s->P, s->P, s->Kg, b ? b + g * s->Kg : NULL, xp,
                       wp + g * Kp * p.T, toff, p.T, p.KB, pos + p0, p1 - p0);
    }
    return failed ? TL_ERR_OUT_OF_MEMORY : TL_OK;
}

/* ---------------------------------------------------------------- input gradient */

/* The input gradient by stride phases. Input rows ih = i*sh + py receive dy rows oh = i + e_r from the
   taps r with (py + ph - r*dh) divisible by sh, e_r = (py + ph - r*dh) / sh; columns likewise. Each phase
   (py, px) is therefore a stride-1 correlation of dy (zero padded by Pt rows / Pl columns so that every
   offset is >= 0) with its own taps, computed by the forward kernel with the roles of C and K swapped.
   Stride 1 has a single phase (the usual flipped-filter formulation) written straight into dx; other
   strides go through a buffer and are scattered (stride 2 with AVX-512: two column phases interleaved). */
#define BWD_MAX_PHASES 16

typedef struct bwd_plan {
    const direct_isa *isa;
    tl_size Pt, Pl, Hb, LWb, planeb, dyp_floats, CB, Cp; /* padded dy layout; blocks of MR input channels */
    tl_size phases, Qmax;                                 /* floats per channel of a phase output buffer */
    tl_size Hi[BWD_MAX_PHASES], Wi[BWD_MAX_PHASES];
    tl_size T[BWD_MAX_PHASES], first_tap[BWD_MAX_PHASES]; /* taps of each phase in the shared tables */
    tl_size npos[BWD_MAX_PHASES], first_pos[BWD_MAX_PHASES], total_pos;
} bwd_plan;

static int phase_tap(tl_size p, tl_size pad, tl_size t, tl_size dil, tl_size stride, tl_size *e) {
    const tl_size a = p + pad - t * dil;
    if (a % stride != 0) return 0;
    *e = a / stride;
    return 1;
}

static void bwd_plan_make(bwd_plan *b, const conv_shape *s) {
    b->isa = direct_isa_pick();
    b->phases = s->sh * s->sw;
    tl_size emin = 0, emax = 0, fmin = 0, fmax = 0, e;
    for (tl_size py = 0; py < s->sh; py++)
        for (tl_size r = 0; r < s->R; r++)
            if (phase_tap(py, s->ph, r, s->dh, s->sh, &e)) { emin = e < emin ? e : emin; emax = e > emax ? e : emax; }
    for (tl_size px = 0; px < s->sw; px++)
        for (tl_size q = 0; q < s->S; q++)
            if (phase_tap(px, s->pw, q, s->dw, s->sw, &e)) { fmin = e < fmin ? e : fmin; fmax = e > fmax ? e : fmax; }
    b->Pt = -emin;
    b->Pl = -fmin;
    const tl_size Himax = (s->H + s->sh - 1) / s->sh, Wimax = (s->W + s->sw - 1) / s->sw;
    b->LWb = b->Pl + s->OW > Wimax + fmax + b->Pl ? b->Pl + s->OW : Wimax + fmax + b->Pl;
    b->Hb = b->Pt + s->OH > Himax + emax + b->Pt ? b->Pt + s->OH : Himax + emax + b->Pt;
    b->planeb = b->Hb * b->LWb + 32;
    b->CB = (s->Cg + b->isa->mr - 1) / b->isa->mr;
    b->Cp = b->CB * b->isa->mr;
    b->Qmax = Himax * b->LWb + 16; /* phase buffers: rows of LWb, +16 for whole-vector reads */
    tl_size taps = 0, positions = 0;
    const tl_size vl = b->isa->vl;
    for (tl_size py = 0; py < s->sh; py++)
        for (tl_size px = 0; px < s->sw; px++) {
            const tl_size ph = py * s->sw + px;
            tl_size nr = 0, ns = 0;
            for (tl_size r = 0; r < s->R; r++) nr += phase_tap(py, s->ph, r, s->dh, s->sh, &e);
            for (tl_size q = 0; q < s->S; q++) ns += phase_tap(px, s->pw, q, s->dw, s->sw, &e);
            b->Hi[ph] = py < s->H ? (s->H - py + s->sh - 1) / s->sh : 0;
            b->Wi[ph] = px < s->W ? (s->W - px + s->sw - 1) / s->sw : 0;
            b->T[ph] = s->Kg * nr * ns;
            b->first_tap[ph] = taps;
            taps += b->T[ph];
            b->npos[ph] = b->Hi[ph] * ((b->Wi[ph] + vl - 1) / vl);
            b->first_pos[ph] = positions;
            positions += b->npos[ph];
        }
    b->total_pos = positions;
    b->dyp_floats = s->Kg * b->planeb + vl;
}

int conv_direct_backward_input_supported(const conv_shape *s) {
    if (conv_mode & TL_CONV2D_NO_DIRECT) return 0;
    if (s->Cg < 4 || s->sh * s->sw > BWD_MAX_PHASES) return 0;
    bwd_plan b;
    bwd_plan_make(&b, s);
    if (b.total_pos * b.isa->vl * 2 > s->HW * 3) return 0; /* more than a third of the lanes idle */
    if (b.dyp_floats > ((tl_size)1 << 26) || s->Kg * b.planeb > INT_MAX / 2 || s->C * s->HW > INT_MAX / 4) return 0;
    return 1;
}

/* dx rows i*sh + py (all Cg channels) = the two column phases a (even columns) and b (odd) interleaved. */
__attribute__((target("avx512f"))) static void interleave_rows_avx512(float *dxg, const float *ya, const float *yb,
                                                                       tl_size ld, tl_size LWb, tl_size Cg,
                                                                       tl_size Hi, tl_size py, const conv_shape *s) {
    const __m512i zip = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    for (tl_size c = 0; c < Cg; c++)
        for (tl_size i = 0; i < Hi; i++) {
            const float *ra = ya + c * ld + i * LWb, *rb = yb + c * ld + i * LWb;
            float *out = dxg + (c * s->H + i * s->sh + py) * s->W;
            for (tl_size j0 = 0; 2 * j0 < s->W; j0 += 8) {
                /* Rows are followed by other rows or 16 floats of slack: reading 16 floats is safe. */
                const __m512 v = _mm512_permutex2var_ps(_mm512_loadu_ps(ra + j0), zip, _mm512_loadu_ps(rb + j0));
                const tl_size left = s->W - 2 * j0;
                _mm512_mask_storeu_ps(out + 2 * j0, left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1), v);
            }
        }
}

int conv_direct_backward_input(float *dx, const float *dy, const float *w, const conv_shape *s) {
    bwd_plan b;
    bwd_plan_make(&b, s);
    const tl_size mr = b.isa->mr, nv = b.isa->nv, taps = s->Kg * s->R * s->S;
    const int single = b.phases == 1, pairs = s->sw == 2 && b.isa == &isa_avx512;
    /* Several images per task when that fills the last register tile of each phase better. */
    tl_size ipt = 1;
    if (s->N * s->G >= 8) {
        tl_size best_idle = 0;
        for (tl_size ph = 0; ph < b.phases; ph++) best_idle += (nv - b.npos[ph] % nv) % nv;
        for (tl_size k = 2; k <= 4 && k <= s->N; k++) {
            tl_size idle = 0;
            for (tl_size ph = 0; ph < b.phases; ph++) idle += (nv - k * b.npos[ph] % nv) % nv;
            if (idle * ipt < best_idle * k) { ipt = k; best_idle = idle; }
        }
    }
    /* Per image of a task: dy copy at i * dyp_floats; output in dx (i * C*HW) or in its buffers. */
    const tl_size ybuf_floats = single ? 0 : 2 * s->Cg * b.Qmax;
    float *wp = tl_scratch(TL_SCR_WEIGHTS, (size_t)(s->G * b.Cp * taps));
    int *toff = (int *)tl_scratch(TL_SCR_TABLE, (size_t)taps);
    vec_pos *pos = (vec_pos *)tl_scratch(TL_SCR_POSITIONS, (size_t)(ipt * b.total_pos) * 3);
    if (!wp || !toff || !pos) return TL_ERR_OUT_OF_MEMORY;
    /* Tap tables, filters wp (G, [phase: CB, T_phase, MR]) and output positions, phase by phase. */
    for (tl_size py = 0; py < s->sh; py++)
        for (tl_size px = 0; px < s->sw; px++) {
            const tl_size ph = py * s->sw + px;
            vec_pos *pp = pos + ipt * b.first_pos[ph];
            for (tl_size i = 0; i < ipt; i++) {
                vec_pos *pi = pp + i * b.npos[ph];
                make_positions(pi, b.Hi[ph], b.Wi[ph], b.LWb, single ? s->W : b.LWb, b.isa->vl, 1);
                for (tl_size j = 0; j < b.npos[ph]; j++) {
                    pi[j].xoff += (int)(i * b.dyp_floats);
                    pi[j].yoff += (int)(i * (single ? s->C * s->HW : ybuf_floats));
                }
            }
            tl_size t = b.first_tap[ph], e, f;
            for (tl_size k = 0; k < s->Kg; k++)
                for (tl_size r = 0; r < s->R; r++) {
                    if (!phase_tap(py, s->ph, r, s->dh, s->sh, &e)) continue;
                    for (tl_size q = 0; q < s->S; q++) {
                        if (!phase_tap(px, s->pw, q, s->dw, s->sw, &f)) continue;
                        toff[t] = (int)(k * b.planeb + (e + b.Pt) * b.LWb + f + b.Pl);
                        for (tl_size g = 0; g < s->G; g++) {
                            float *wg = wp + g * b.Cp * taps + b.first_tap[ph] * b.Cp;
                            for (tl_size c = 0; c < b.Cp; c++)
                                wg[((c / mr) * b.T[ph] + (t - b.first_tap[ph])) * mr + c % mr] =
                                    c < s->Cg ? w[((g * s->Kg + k) * s->Cg + c) * s->R * s->S + r * s->S + q] : 0.0f;
                        }
                        t++;
                    }
                }
        }
    const tl_size tasks = (s->N + ipt - 1) / ipt * s->G;
    int failed = 0;
    tl_size next_task = 0; /* tasks handed out one by one: a slowed thread takes fewer */
    #pragma omp parallel
    for (tl_size task; (task = tl_next_task(&next_task)) < tasks;) {
        float *dyp = tl_scratch(TL_SCR_A, (size_t)(ipt * b.dyp_floats));
        float *ybuf = single ? NULL : tl_scratch(TL_SCR_B, (size_t)(ipt * ybuf_floats));
        if (!dyp || (!single && !ybuf)) { failed = 1; continue; }
        const tl_size g = task % s->G, n0 = task / s->G * ipt, count = s->N - n0 < ipt ? s->N - n0 : ipt;
        /* dyp (Kg, Hb, LWb) per image: dy at row Pt, column Pl, zero around. */
        memset(dyp, 0, (size_t)(count * b.dyp_floats) * sizeof(float));
        for (tl_size i = 0; i < count; i++)
            for (tl_size k = 0; k < s->Kg; k++) {
                const float *src = dy + ((n0 + i) * s->K + g * s->Kg + k) * s->P;
                float *dst = dyp + i * b.dyp_floats + k * b.planeb + b.Pt * b.LWb + b.Pl;
                for (tl_size oh = 0; oh < s->OH; oh++)
                    memcpy(dst + oh * b.LWb, src + oh * s->OW, (size_t)s->OW * sizeof(float));
            }
        float *dxg = dx + (n0 * s->C + g * s->Cg) * s->HW;
        for (tl_size py = 0; py < s->sh; py++) {
            if (b.Hi[py * s->sw] == 0) continue;
            for (tl_size px = 0; px < s->sw; px++) {
                const tl_size ph = py * s->sw + px, Hi = b.Hi[ph], Wi = b.Wi[ph];
                if (Wi == 0) continue;
                float *out = single ? dxg : ybuf + (pairs ? px : 0) * s->Cg * b.Qmax;
                const tl_size ld = single ? s->HW : b.Qmax;
                if (b.T[ph] == 0) { /* no tap reaches this phase */
                    for (tl_size i = 0; i < count; i++)
                        for (tl_size c = 0; c < s->Cg; c++)
                            memset(out + i * ybuf_floats + c * ld, 0, (size_t)(Hi * b.LWb) * sizeof(float));
                } else {
                    b.isa->forward(out, ld, s->Cg, NULL, dyp, wp + g * b.Cp * taps + b.first_tap[ph] * b.Cp,
                                   toff + b.first_tap[ph], b.T[ph], b.CB, pos + ipt * b.first_pos[ph],
                                   count * b.npos[ph]);
                }
                if (single || pairs) continue;
                for (tl_size i = 0; i < count; i++)
                    for (tl_size c = 0; c < s->Cg; c++)
                        for (tl_size r = 0; r < Hi; r++) {
                            const float *row = out + i * ybuf_floats + c * ld + r * b.LWb;
                            float *o = dxg + i * s->C * s->HW + (c * s->H + r * s->sh + py) * s->W + px;
                            if (s->sw == 1)
                                memcpy(o, row, (size_t)Wi * sizeof(float));
                            else
                                for (tl_size j = 0; j < Wi; j++) o[j * s->sw] = row[j];
                        }
            }
            if (pairs)
                for (tl_size i = 0; i < count; i++)
                    interleave_rows_avx512(dxg + i * s->C * s->HW, ybuf + i * ybuf_floats, ybuf + i * ybuf_floats + s->Cg * b.Qmax,
                                           b.Qmax, b.LWb, s->Cg, b.Hi[py * 2], py, s);
        }
    }
    return failed ? TL_ERR_OUT_OF_MEMORY : TL_OK;
}

/* ---------------------------------------------------------------- weight gradient */

int conv_direct_backward_weight(float *dw, float *db, int *db_done, const float *dy, const float *x,
                                const conv_shape *s) {
    const direct_plan p = direct_plan_make(s);
    const tl_size mrw = p.isa->mrw, ntw = p.isa->ntw, vl = p.isa->vl;
    /* When the last block of NTW taps has a free slot, the bias gradient rides along as one more tap that
       reads a plane of ones placed after the packed input: sum(dy * 1) per channel, reduced like the
       weights, and dy is read once. Otherwise (3x3 filters: 9*Cg taps) a whole extra block of taps would
       cost more than the caller's separate pass over dy, so db is left to it (db = NULL here). */
    if (p.T % ntw == 0) db = NULL;
    *db_done = db != NULL;
    const tl_size taps = p.T + (db ? 1 : 0), TBn = (taps + ntw - 1) / ntw;
    const tl_size ones_off = p.phases * s->Cg * p.plane, xpw_floats = ones_off + p.plane + vl;
    const tl_size per_group = p.KBW * TBn * mrw * ntw * vl, wsize = s->K * s->CRS, psize = wsize + s->K;
    const tl_size nb = conv_weight_block_images(s), blocks = (s->N + nb - 1) / nb;
    /* Images per kernel call: enough positions (>= 48) that the accumulator loads and stores of each
       tile are a small part of its work. */
    tl_size ipw = (48 + p.npos - 1) / p.npos;
    if (ipw > 4) ipw = 4;
    if (ipw > nb) ipw = nb;
    float *partials = tl_scratch(TL_SCR_PARTIALS, (size_t)(blocks * psize));
    int *toff = (int *)tl_scratch(TL_SCR_TABLE, (size_t)(TBn * ntw));
    vec_pos *pos = (vec_pos *)tl_scratch(TL_SCR_POSITIONS, (size_t)(ipw * p.npos) * 3);
    if (!partials || !toff || !pos) return TL_ERR_OUT_OF_MEMORY;
    tap_offsets(toff, TBn * ntw, s, &p);
    if (db) toff[p.T] = (int)ones_off;
    /* Image i of a call: its packed input at i * xpw_floats, its dy at i * K * P. */
    for (tl_size i = 0; i < ipw; i++) {
        vec_pos *pi = pos + i * p.npos;
        make_positions(pi, s->OH, s->OW, p.LW, s->OW, vl, 1);
        for (tl_size j = 0; j < p.npos; j++) {
            pi[j].xoff += (int)(i * xpw_floats);
            pi[j].yoff += (int)(i * s->K * s->P);
        }
    }
    int failed = 0;
    tl_size next_blk = 0; /* tasks handed out one by one: a slowed thread takes fewer */
    #pragma omp parallel if (blocks > 1)
    for (tl_size blk; (blk = tl_next_task(&next_blk)) < blocks;) {
        float *xp = tl_scratch(TL_SCR_A, (size_t)(ipw * xpw_floats));
        float *vacc = tl_scratch(TL_SCR_C, (size_t)(s->G * per_group));
        if (!xp || !vacc) { failed = 1; continue; }
        if (db)
            for (tl_size i = 0; i < ipw; i++) {
                float *ones = xp + i * xpw_floats + ones_off;
                for (tl_size e = 0; e < p.plane; e++) ones[e] = 1.0f;
            }
        const tl_size n0 = blk * nb, n1 = n0 + nb < s->N ? n0 + nb : s->N;
        for (tl_size n = n0; n < n1; n += ipw) {
            const tl_size count = n1 - n < ipw ? n1 - n : ipw;
            for (tl_size g = 0; g < s->G; g++) {
                for (tl_size i = 0; i < count; i++) {
                    pack_input(xp + i * xpw_floats, x + ((n + i) * s->C + g * s->Cg) * s->HW, s, &p);
                    if (db) /* pack_input zeroes vl floats past the planes: the start of the ones plane */
                        for (tl_size e = 0; e < vl; e++) xp[i * xpw_floats + ones_off + e] = 1.0f;
                }
                p.isa->weight(vacc + g * per_group, dy + (n * s->K + g * s->Kg) * s->P, s->P, s->Kg, xp, toff,
                              TBn, p.KBW, pos, count * p.npos, n == n0);
            }
        }
        /* Lanes summed in a fixed order into the block's partial (weights, then bias). */
        float *pdw = partials + blk * psize;
        for (tl_size g = 0; g < s->G; g++)
            for (tl_size k = 0; k < s->Kg; k++)
                for (tl_size t = 0; t < taps; t++) {
                    const float *lanes = vacc + g * per_group +
                                         ((((k / mrw) * TBn + t / ntw) * mrw + k % mrw) * ntw + t % ntw) * vl;
                    float acc = 0.0f;
                    for (tl_size l = 0; l < vl; l++) acc += lanes[l];
                    if (t < p.T) pdw[(g * s->Kg + k) * p.T + t] = acc;
                    else pdw[wsize + g * s->Kg + k] = acc;
                }
    }
    if (failed) return TL_ERR_OUT_OF_MEMORY;
    conv_sum_partials(dw, partials, blocks, wsize, psize);
    if (db) conv_sum_partials(db, partials + wsize, blocks, s->K, psize);
    return TL_OK;
}

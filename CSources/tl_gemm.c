/* Matrix products: TrainingLab's own single-precision GEMM, with BLIS's loops (Van Zee & van de Geijn,
   "BLIS: A Framework for Rapidly Instantiating BLAS Functionality", 2015) around register-blocked
   micro-kernels (tl_gemm_avx512.c, tl_gemm_avx2.c, tl_gemm_portable.c). For each block of C a thread owns:

     for pc over K in blocks of kc                       the same kc for every element: the bits
       for ic over the block's rows in blocks of mc      pack op(A) (mc x kc) into slivers of MR rows
         for jc over its columns in blocks of nc         pack op(B) (kc x nc) into tiles of <= NR columns (L2)
           for each sliver of MR rows                    stays in L1 while ...
             for each tile of <= NR columns              ... the B tiles stream from L2
               micro-kernel: C (MR x tile) = alpha * sliver x tile + beta * C

   Packing copies an operand into the order the micro-kernel reads, transposes and leading dimensions
   resolved, zero-padded at the edges. op(A) is always packed (a small copy next to the product); op(B)
   is read where it is when it is stored untransposed and its block is compact (skinny and small
   products: the copy would cost as much as the product). The threads of a product share its packed
   blocks, pack a part of each and take slivers from a common counter (gemm_share). */
#include "tl_gemm_internal.h"
#include "../include/tl_gemm.h"

#include <cblas.h>
#include <limits.h>
#include <omp.h>
#include <pthread.h>

/* ---------------------------------------------------------------- kernel choice */

const tl_gemm_kernel *tl_gemm_pick(void) {
    switch (tl_kernels_level()) {
    case TL_KERNELS_AVX512: return &tl_gemm_kernel_avx512;
    case TL_KERNELS_AVX2: return &tl_gemm_kernel_avx2;
    default: return &tl_gemm_kernel_portable;
    }
}

const char *tl_gemm_kernel_name(void) { return tl_gemm_pick()->name; }

/* ---------------------------------------------------------------- blocking */

/* Block sizes of a kernel family on this machine, from its tile and the cache sizes (computed once:
   a product too small to notice the divisions would otherwise pay for them on every call). */
typedef struct gemm_blocking {
    tl_size kc_max, mc, nc;
    tl_size b_span; /* bytes of rows of B beyond which a product packs B */
} gemm_blocking;

static const tl_gemm_kernel *const all_kernels[] = {&tl_gemm_kernel_avx512, &tl_gemm_kernel_avx2, &tl_gemm_kernel_portable};
enum { KERNELS = sizeof all_kernels / sizeof all_kernels[0] };
static gemm_blocking blockings[KERNELS];
static pthread_once_t blockings_once = PTHREAD_ONCE_INIT;

static void blockings_fill(void) {
    const tl_cpu_info *cpu = tl_cpu();
    const tl_size l1 = cpu->l1d_bytes > 0 ? cpu->l1d_bytes : 32 * 1024;
    const tl_size l2 = cpu->l2_bytes > 0 ? cpu->l2_bytes : 256 * 1024;
    const tl_size l3 = cpu->l3_bytes > 0 ? cpu->l3_bytes : 4 * l2;
    for (int i = 0; i < KERNELS; i++) {
        const tl_size mr = all_kernels[i]->mr, nr = all_kernels[i]->nr, f = (tl_size)sizeof(float);
        gemm_blocking *b = &blockings[i];
        /* kc: an A sliver (MR x kc) fills a quarter of L1, beside the B and C lines streaming through. */
        b->kc_max = l1 / 4 / (mr * f) / 8 * 8;
        if (b->kc_max < 64) b->kc_max = 64;
        /* nc: a packed B block (kc x nc) fills half of L2, where its tiles stream from. */
        b->nc = l2 / 2 / (b->kc_max * f) / nr * nr;
        if (b->nc < nr) b->nc = nr;
        /* mc: a packed A block (mc x kc) takes at most a quarter of L3. */
        b->mc = l3 / 4 / (b->kc_max * f) / mr * mr;
        b->mc = b->mc < mr ? mr : b->mc > 4096 ? 4096 : b->mc;
        /* B read in place may span half of L2: past that its rows' pages and the lines the prefetcher
           misses cost more than a copy (measured: 1024^3 runs at half speed unpacked, 512^3 the same). */
        b->b_span = l2 / 2;
    }
}

/* How one product is blocked. kc depends on K, the kernel and the L1 size only (never on the threads),
   so every element of C is summed in the same order whatever the partition. */
typedef struct gemm_plan {
    const tl_gemm_kernel *kern;
    tl_size kc, mc, nc;
    int pack_b;
} gemm_plan;

static gemm_plan plan_make(const tl_gemm_kernel *kern, int trans_b, tl_size K, tl_size ldb) {
    pthread_once(&blockings_once, blockings_fill);
    int i = 0;
    while (i + 1 < KERNELS && all_kernels[i] != kern) i++;
    const gemm_blocking *b = &blockings[i];
    const tl_size blocks = (K + b->kc_max - 1) / b->kc_max; /* K in equal blocks of at most kc_max */
    gemm_plan p = {kern, (K + blocks - 1) / blocks, b->mc, b->nc, 0};
    p.pack_b = trans_b || p.kc * ldb * (tl_size)sizeof(float) > b->b_span;
    return p;
}

/* ---------------------------------------------------------------- packing */

/* A sliver of width W (MR or NR) holds, for each k < kc, W consecutive floats: the sliver's rows of op(A)
   or columns of op(B) at step k, zero past the matrix's edge. Both operands are packed by the same two
   helpers: one for slivers whose W values are consecutive in memory at each k (op(A) stored transposed,
   op(B) as is), one for slivers whose values at each k lie in W different rows (op(A) as is, op(B)
   transposed). */

/* dst[k*W + c] = src[k*ld + c] for c < cols, 0 for cols <= c < W; k < kc. */
static void pack_copy(float *restrict dst, int W, const float *restrict src, tl_size ld, int cols, tl_size kc) {
    for (tl_size k = 0; k < kc; k++) {
        const float *s = src + k * ld;
        float *d = dst + k * W;
        for (int c = 0; c < cols; c++) d[c] = s[c];
        for (int c = cols; c < W; c++) d[c] = 0.0f;
    }
}

/* dst[k*W + r] = src[r*ld + k] for r < rows, 0 for rows <= r < W; k < kc. Blocks of 8 rows x 8 steps
   go through registers (8 x 8 transposes): element by element, the strided stores cost more than the
   product of a skinny GEMM. */
static void pack_transposed(float *restrict dst, int W, const float *restrict src, tl_size ld, int rows, tl_size kc) {
    int r0 = 0;
#ifdef __AVX2__
    for (; r0 + 8 <= rows; r0 += 8) {
        tl_size k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 in[8], out[8];
            for (int i = 0; i < 8; i++) in[i] = _mm256_loadu_ps(src + (r0 + i) * ld + k);
            tl_transpose8(out, in, 8);
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + (k + j) * W + r0, out[j]);
        }
        for (; k < kc; k++)
            for (int i = 0; i < 8; i++) dst[k * W + r0 + i] = src[(r0 + i) * ld + k];
    }
#endif
    for (int r = r0; r < rows; r++)
        for (tl_size k = 0; k < kc; k++) dst[k * W + r] = src[r * ld + k];
    for (tl_size k = 0; k < kc; k++)
        for (int r = rows; r < W; r++) dst[k * W + r] = 0.0f;
}

/* Slivers of MR rows of op(A), rows [i0, i0+m), steps [p0, p0+kc): dst[s*kc*MR + k*MR + r]. */
static void pack_a(float *restrict dst, const float *restrict A, tl_size lda, int trans_a, tl_size i0, tl_size m,
                   tl_size p0, tl_size kc, int MR) {
    for (tl_size r0 = 0; r0 < m; r0 += MR, dst += kc * MR) {
        const int rows = m - r0 < MR ? (int)(m - r0) : MR;
        if (trans_a) pack_copy(dst, MR, A + p0 * lda + i0 + r0, lda, rows, kc);
        else pack_transposed(dst, MR, A + (i0 + r0) * lda + p0, lda, rows, kc);
    }
}

/* One sliver of W >= n columns of op(B), columns [j0, j0+n), steps [p0, p0+kc): dst[k*W + c]. */
static void pack_b(float *restrict dst, int W, const float *restrict B, tl_size ldb, int trans_b, tl_size p0, tl_size kc,
                   tl_size j0, int n) {
    if (trans_b) pack_transposed(dst, W, B + j0 * ldb + p0, ldb, n, kc);
    else pack_copy(dst, W, B + p0 * ldb + j0, ldb, n, kc);
}

/* ---------------------------------------------------------------- column tiles */

/* The micro-kernel's tiles across n columns: as few as NR allows, of whole vectors, as even as possible
   (64 columns with NR 48 make two tiles of 32, not 48 + 16: a tile of one vector per row runs at the
   speed of its broadcasts). Tile i spans columns [tile_start(i), tile_start(i + 1)) clipped to n. */
typedef struct col_tiles {
    tl_size count, per, extra; /* tiles; vectors per tile (the first `extra` tiles have one more) */
    int vl;
} col_tiles;

static col_tiles tiles_make(const tl_gemm_kernel *kern, tl_size n) {
    const tl_size vectors = (n + kern->vl - 1) / kern->vl, count = (n + kern->nr - 1) / kern->nr;
    const col_tiles t = {count, vectors / count, vectors % count, kern->vl};
    return t;
}

static tl_size tile_start(const col_tiles *t, tl_size i) {
    return (i * t->per + (i < t->extra ? i : t->extra)) * t->vl;
}

tl_size tl_gemm_packed_a_floats(const tl_gemm_kernel *kern, tl_size M, tl_size K) {
    return (M + kern->mr - 1) / kern->mr * kern->mr * K;
}

void tl_gemm_pack_a(const tl_gemm_kernel *kern, float *dst, int trans_a, tl_size M, tl_size K, const float *A, tl_size lda) {
    pack_a(dst, A, lda, trans_a, 0, M, 0, K, kern->mr);
}

void tl_gemm_packed_a_product(const tl_gemm_kernel *kern, tl_size M, tl_size N, tl_size K, float alpha, const float *Ap,
                              const float *B, tl_size ldb, float beta, float *C, tl_size ldc) {
    const int MR = kern->mr;
    const col_tiles t = tiles_make(kern, N);
    for (tl_size i = 0; i < M; i += MR)
        for (tl_size q = 0; q < t.count; q++) {
            const tl_size j = tile_start(&t, q), end = tile_start(&t, q + 1) < N ? tile_start(&t, q + 1) : N;
            kern->micro(K, Ap + i * K, B + j, ldb, C + i * ldc + j, ldc, M - i < MR ? (int)(M - i) : MR, (int)(end - j), alpha,
                        beta);
        }
}

/* ---------------------------------------------------------------- the product on a team of threads */

typedef struct gemm_args {
    int trans_a, trans_b;
    tl_size M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    tl_size lda, ldb, ldc;
} gemm_args;

/* What the threads computing one product share: the packed blocks of A and B (each packed once, its
   slivers shared out among the threads) and the counter they take micro-kernel work from. */
typedef struct gemm_team {
    float *abuf, *bbuf;
    tl_size claims; /* work items handed out so far, over all phases */
    int threads;
} gemm_team;

/* The next item of a phase of `count` items whose first claim number is `base`, or `count` when the
   phase is used up. Items go one by one, so a thread slowed by another process takes fewer. Every
   thread claims until it gets a number past the phase, exactly once, so the next phase starts at
   base + count + threads for every thread (the claims of the next phase only begin after a barrier). */
static tl_size team_claim(gemm_team *team, tl_size base, tl_size count) {
    const tl_size claim = tl_next_task(&team->claims);
    return claim - base < count ? claim - base : count;
}

/* The barrier of the team's parallel region; nothing for a team of one (which may run inside somebody
   else's parallel region: a barrier there would bind to that region). */
static void team_wait(const gemm_team *team) {
    if (team->threads > 1) {
        #pragma omp barrier
    }
}

/* Packs tile q of the block of B at columns [jc, jc+nc), steps [pc, pc+kc) into bbuf + start * kc. */
static void gemm_pack_tile(const gemm_args *g, float *bbuf, const col_tiles *t, tl_size q, tl_size pc,
                           tl_size kc, tl_size jc, tl_size nc) {
    const tl_size j = tile_start(t, q), w = tile_start(t, q + 1) - j;
    pack_b(bbuf + j * kc, (int)w, g->B, g->ldb, g->trans_b, pc, kc, jc + j, (int)((j + w < nc ? j + w : nc) - j));
}

/* Thread `tid`'s part of the product: every thread runs the same loops, packs every threads-th sliver
   of each block and then takes slivers of A (or tiles of B, when a block has fewer slivers than tiles)
   from the shared counter. Each element of C is still summed by one micro-kernel call per kc block, in
   the same order, so the bits do not depend on the team's size. */
static void gemm_share(const gemm_args *g, const gemm_plan *p, gemm_team *team, int tid) {
    const int MR = p->kern->mr, nth = team->threads;
    const tl_gemm_micro_fn micro = p->kern->micro;
    tl_size base = 0;
    for (tl_size pc = 0; pc < g->K; pc += p->kc) {
        const tl_size kc = g->K - pc < p->kc ? g->K - pc : p->kc;
        const float beta = pc == 0 ? g->beta : 1.0f; /* later blocks add to the first's result */
        for (tl_size ic = 0; ic < g->M; ic += p->mc) {
            const tl_size mc = g->M - ic < p->mc ? g->M - ic : p->mc, slivers = (mc + MR - 1) / MR;
            for (tl_size s = (tl_size)tid; s < slivers; s += nth)
                pack_a(team->abuf + s * kc * MR, g->A, g->lda, g->trans_a, ic + s * MR, mc - s * MR < (tl_size)MR ? mc - s * MR : MR,
                       pc, kc, MR);
            for (tl_size jc = 0; jc < g->N; jc += p->nc) {
                const tl_size nc = g->N - jc < p->nc ? g->N - jc : p->nc;
                const col_tiles t = tiles_make(p->kern, nc);
                /* Work items: slivers of A (each against every tile of B) or, when the block has fewer
                   slivers than tiles, tiles of B (each against every sliver). The operand the items share
                   is packed by all threads before the barrier; a tile that is an item is packed by the
                   thread that takes it, where it is used (another core's cache is far). Tile q's columns
                   of B: a packed sliver (kc x its width) at bbuf + start * kc, or B itself. */
                const int by_slivers = slivers >= t.count;
                const tl_size items = by_slivers ? slivers : t.count;
                if (p->pack_b && by_slivers)
                    for (tl_size q = (tl_size)tid; q < t.count; q += nth) gemm_pack_tile(g, team->bbuf, &t, q, pc, kc, jc, nc);
                team_wait(team); /* the shared blocks packed */
                for (tl_size item; (item = team_claim(team, base, items)) < items;) {
                    const tl_size i_lo = by_slivers ? item : 0, i_hi = by_slivers ? item + 1 : slivers;
                    const tl_size q_lo = by_slivers ? 0 : item, q_hi = by_slivers ? t.count : item + 1;
                    if (p->pack_b && !by_slivers) gemm_pack_tile(g, team->bbuf, &t, item, pc, kc, jc, nc);
                    for (tl_size s = i_lo; s < i_hi; s++) {
                        const tl_size i = s * MR;
                        const int mr = mc - i < (tl_size)MR ? (int)(mc - i) : MR;
                        for (tl_size q = q_lo; q < q_hi; q++) {
                            const tl_size j = tile_start(&t, q), next = tile_start(&t, q + 1), end = next < nc ? next : nc;
                            const float *b = p->pack_b ? team->bbuf + j * kc : g->B + pc * g->ldb + jc + j;
                            micro(kc, team->abuf + i * kc, b, p->pack_b ? next - j : g->ldb, g->C + (ic + i) * g->ldc + jc + j,
                                  g->ldc, mr, (int)(end - j), g->alpha, beta);
                        }
                    }
                }
                base += items + nth;
                team_wait(team); /* every tile computed: the blocks may be packed again */
            }
        }
    }
}

/* A team for the product on `threads` threads, its blocks in the calling thread's scratch (the team only
   reads and writes them). Returns TL_ERR_OUT_OF_MEMORY when they cannot be had. */
static int team_make(gemm_team *team, const gemm_args *g, const gemm_plan *p, int threads) {
    const tl_size arows = g->M < p->mc ? (g->M + p->kern->mr - 1) / p->kern->mr * p->kern->mr : p->mc;
    const tl_size bcols = g->N < p->nc ? (g->N + p->kern->nr - 1) / p->kern->nr * p->kern->nr : p->nc;
    const gemm_team made = {tl_scratch(TL_SCR_GEMM_A, (size_t)(arows * p->kc)), NULL, 0, threads};
    *team = made;
    if (!team->abuf) return TL_ERR_OUT_OF_MEMORY;
    if (p->pack_b && !(team->bbuf = tl_scratch(TL_SCR_GEMM_B, (size_t)(p->kc * bcols)))) return TL_ERR_OUT_OF_MEMORY;
    return TL_OK;
}

/* The product on the calling thread alone. */
static int gemm_alone(const gemm_args *g, const gemm_plan *p) {
    gemm_team team;
    TL_TRY(team_make(&team, g, p, 1));
    gemm_share(g, p, &team, 0);
    return TL_OK;
}

/* Rows [lo, hi) of C (by_columns 0) or its columns [lo, hi) (1): the same product on part of the operands. */
static gemm_args gemm_part(const gemm_args *g, int by_columns, tl_size lo, tl_size hi) {
    gemm_args part = *g;
    if (by_columns) {
        part.N = hi - lo;
        part.B += g->trans_b ? lo * g->ldb : lo;
        part.C += lo;
    } else {
        part.M = hi - lo;
        part.A += g->trans_a ? lo : lo * g->lda;
        part.C += lo * g->ldc;
    }
    return part;
}

/* Below this many multiply-adds a second thread costs more (wake-up, duplicate packing) than it saves
   (measured: 16 x 1024 x 27, 442k, runs 1.4x faster on two threads; 64 x 32 x 64, 131k, breaks even;
   64 x 64 x 32 runs slower). */
#define TL_GEMM_PARALLEL_MIN_FMA ((tl_size)1 << 18)

/* From this many rows and columns a team shares the packed blocks (gemm_share); below it each thread
   takes whole parts of C and packs what they need. Measured on the Ice Lake Xeon, 2 threads, pairs
   run back to back: sharing made 512^2 to 2048^2 10-30 % faster (the parts each packed all of the other
   operand, megabytes from L3), and the skinny products of the models 15-30 % slower (a barrier per
   block of K costs more than the small operand each part packs again). */
#define TL_GEMM_SHARED_MIN_SIDE 256

int tl_gemm_run(const tl_gemm_kernel *kern, int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha,
                const float *A, tl_size lda, const float *B, tl_size ldb, float beta, float *C, tl_size ldc) {
    const gemm_args g = {trans_a, trans_b, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc};
    const gemm_plan p = plan_make(kern, trans_b, K, ldb);
    const double fma = (double)M * (double)N * (double)K; /* in double: no overflow */
    const int threads = fma < (double)TL_GEMM_PARALLEL_MIN_FMA || omp_in_parallel() ? 1 : omp_get_max_threads();
    if (threads == 1) return gemm_alone(&g, &p);
    int status = TL_OK;
    if (M >= TL_GEMM_SHARED_MIN_SIDE && N >= TL_GEMM_SHARED_MIN_SIDE) {
        gemm_team team;
        TL_TRY(team_make(&team, &g, &p, threads));
        #pragma omp parallel num_threads(threads)
        {
            /* The runtime may give fewer threads than asked: the team is whoever came. */
            #pragma omp single
            team.threads = omp_get_num_threads();
            gemm_share(&g, &p, &team, omp_get_thread_num());
        }
        return TL_OK;
    }
    /* Parts: ranges of whole slivers along the longer side of C, two per thread, handed out one by one
       so that a thread slowed by another process takes fewer. Which thread computes an element does not
       change its bits. */
    const int by_columns = N >= M && N > kern->nr;
    const tl_size unit = by_columns ? kern->nr : kern->mr, len = by_columns ? N : M, slivers = (len + unit - 1) / unit;
    const tl_size parts = 2 * (tl_size)threads < slivers ? 2 * (tl_size)threads : slivers;
    tl_size next = 0;
    #pragma omp parallel num_threads(threads)
    for (tl_size t; (t = tl_next_task(&next)) < parts;) {
        const tl_size lo = slivers * t / parts * unit, hi = slivers * (t + 1) / parts * unit;
        const gemm_args part = gemm_part(&g, by_columns, lo, hi < len ? hi : len);
        const int s = gemm_alone(&part, &p);
        if (s != TL_OK) {
            #pragma omp atomic write
            status = s;
        }
    }
    return status;
}

/* ---------------------------------------------------------------- API */

static int gemm_check(const char *fn, int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, const float *A,
                      tl_size lda, const float *B, tl_size ldb, const float *C, tl_size ldc) {
    TL_CHECK_PTR(fn, A);
    TL_CHECK_PTR(fn, B);
    TL_CHECK_PTR(fn, C);
    TL_CHECK(fn, trans_a == 0 || trans_a == 1, "%s: trans_a must be 0 or 1, got %d", fn, trans_a);
    TL_CHECK(fn, trans_b == 0 || trans_b == 1, "%s: trans_b must be 0 or 1, got %d", fn, trans_b);
    TL_CHECK_POS(fn, M);
    TL_CHECK_POS(fn, N);
    TL_CHECK_POS(fn, K);
    const tl_size min_lda = trans_a ? M : K, min_ldb = trans_b ? K : N;
    TL_CHECK(fn, lda >= min_lda, "%s: lda must be >= %td, got %td", fn, min_lda, lda);
    TL_CHECK(fn, ldb >= min_ldb, "%s: ldb must be >= %td, got %td", fn, min_ldb, ldb);
    TL_CHECK(fn, ldc >= N, "%s: ldc must be >= N = %td, got %td", fn, N, ldc);
    return TL_OK;
}

int tl_sgemm(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha, const float *A, tl_size lda,
             const float *B, tl_size ldb, float beta, float *C, tl_size ldc) {
    const char *fn = "tl_sgemm";
    TL_TRY(gemm_check(fn, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc));
    const int status = tl_gemm_run(tl_gemm_pick(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return status == TL_OK ? TL_OK : tl_fail(status, "%s: out of memory for packing buffers", fn);
}

int tl_sgemm_strided_batched(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha,
                             const float *A, tl_size lda, tl_size stride_a, const float *B, tl_size ldb,
                             tl_size stride_b, float beta, float *C, tl_size ldc, tl_size stride_c, tl_size batch) {
    const char *fn = "tl_sgemm_strided_batched";
    TL_CHECK_NONNEG(fn, batch);
    TL_TRY(gemm_check(fn, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc));
    TL_CHECK_NONNEG(fn, stride_a);
    TL_CHECK_NONNEG(fn, stride_b);
    /* Overlapping outputs would make the result depend on the order of the products. */
    TL_CHECK(fn, batch <= 1 || stride_c >= (M - 1) * ldc + N,
             "%s: stride_c must be >= (M-1)*ldc + N = %td so that outputs do not overlap, got %td", fn,
             (M - 1) * ldc + N, stride_c);
    const tl_gemm_kernel *kern = tl_gemm_pick();
    int status = TL_OK;
    if (batch == 1) {
        status = tl_gemm_run(kern, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else if (batch >= 2) {
        const double fma = (double)batch * (double)M * (double)N * (double)K;
        #pragma omp parallel for schedule(static) if (fma >= (double)TL_GEMM_PARALLEL_MIN_FMA && !omp_in_parallel())
        for (tl_size b = 0; b < batch; b++) {
            const int s = tl_gemm_run(kern, trans_a, trans_b, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb,
                                      beta, C + b * stride_c, ldc);
            if (s != TL_OK) {
                #pragma omp atomic write
                status = s;
            }
        }
    }
    return status == TL_OK ? TL_OK : tl_fail(status, "%s: out of memory for packing buffers", fn);
}

int tl_sgemm_ref(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha, const float *A, tl_size lda,
                 const float *B, tl_size ldb, float beta, float *C, tl_size ldc) {
    TL_TRY(gemm_check("tl_sgemm_ref", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc));
    for (tl_size i = 0; i < M; i++)
        for (tl_size j = 0; j < N; j++) {
            double acc = 0.0;
            for (tl_size k = 0; k < K; k++) {
                const float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                const float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                acc += (double)a * (double)b;
            }
            const double old = beta == 0.0f ? 0.0 : (double)beta * (double)C[i * ldc + j];
            C[i * ldc + j] = (float)((double)alpha * acc + old);
        }
    return TL_OK;
}

int tl_sgemm_openblas_direct(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha,
                             const float *A, tl_size lda, const float *B, tl_size ldb, float beta, float *C,
                             tl_size ldc) {
    const char *fn = "tl_sgemm_openblas_direct";
    TL_TRY(gemm_check(fn, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc));
    TL_CHECK(fn, M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX,
             "%s: sizes and leading dimensions must fit in an int (OpenBLAS's interface)", fn);
    openblas_set_num_threads(omp_get_max_threads());
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
                (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
    openblas_set_num_threads(1);
    return TL_OK;
}

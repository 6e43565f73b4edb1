/* Sparsity kernels: masks, magnitude top-k by radix selection, and structured groups spanning several tensors. */
#include "tl_internal.h"
#include "../include/tl_sparse.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

/* No implicit FMA contraction: every rounding is spelled out (fmaf where wanted) so the Swift references match bitwise. */
#pragma STDC FP_CONTRACT OFF

#define TL_SPARSE_PAR_MIN 32768
/* Elements per chunk of the top-k passes: chunk boundaries fix the order in which tie ranks are assigned. */
#define TL_TOPK_CHUNK 65536

/* ---------------------------------------------------------------- masks */

/* x[i] = +0 where mask[i] == 0, as an AND of the bits with an all-ones/all-zeros word: written as a select, the
   compiler emits masked stores (vmaskmovps), which are very slow on AMD cores. */
static void mask_run(float *restrict x, const uint8_t *restrict mask, tl_size n) {
    for (tl_size i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, x + i, sizeof b);
        b &= 0u - (uint32_t)(mask[i] != 0);
        memcpy(x + i, &b, sizeof b);
    }
}

int tl_sparse_mask_apply(float *w, float *g, const uint8_t *mask, tl_size n) {
    static const char fn[] = "tl_sparse_mask_apply";
    TL_CHECK_PTR(fn, mask);
    TL_CHECK(fn, w != NULL || g != NULL, "%s: w and g are both NULL", fn);
    TL_CHECK_NONNEG(fn, n);
    const tl_size tiles = (n + TL_TOPK_CHUNK - 1) / TL_TOPK_CHUNK;
    #pragma omp parallel for schedule(static) if (n > TL_SPARSE_PAR_MIN)
    for (tl_size t = 0; t < tiles; t++) {
        const tl_size i0 = t * TL_TOPK_CHUNK, len = n - i0 < TL_TOPK_CHUNK ? n - i0 : TL_TOPK_CHUNK;
        /* Both arrays tile by tile, so the mask tile is read from memory once. */
        if (w) mask_run(w + i0, mask + i0, len);
        if (g) mask_run(g + i0, mask + i0, len);
    }
    return TL_OK;
}

int tl_sparse_count_nonzero(tl_size *count, const float *x, tl_size n) {
    static const char fn[] = "tl_sparse_count_nonzero";
    TL_CHECK_PTR(fn, count);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_NONNEG(fn, n);
    tl_size c = 0;
    #pragma omp parallel for schedule(static) reduction(+:c) if (n > TL_SPARSE_PAR_MIN)
    for (tl_size i = 0; i < n; i++) c += x[i] != 0.0f;
    *count = c;
    return TL_OK;
}

/* ---------------------------------------------------------------- top-k by radix selection */

/* |w| as an ordered integer key: for non-negative floats the bit pattern orders like the value (NaN above inf). */
static inline uint32_t mag_key(float v) {
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b & 0x7FFFFFFFu;
}

typedef struct topk_chunk { tl_size tensor, begin, end; } topk_chunk;

/* Three digits of the 31-bit key: 11, 11 and 9 bits. */
#define D1_SHIFT 20
#define D2_SHIFT 9
#define D1_BINS 2048
#define D2_BINS 2048
#define D3_BINS 512

/* Histogram pass: counts keys whose bits above `shift + bits` equal `prefix`, by the digit at `shift`. */
static void topk_hist(tl_size *hist, tl_size bins, const topk_chunk *chunks, tl_size nchunks, const float *const *w,
                      uint32_t prefix, int prefix_shift, int shift, tl_size total, tl_size *scratch, int threads) {
    memset(scratch, 0, (size_t)threads * (size_t)bins * sizeof(tl_size));
    #pragma omp parallel num_threads(threads)
    {
        tl_size *mine = scratch + (tl_size)omp_get_thread_num() * bins;
        #pragma omp for schedule(static)
        for (tl_size c = 0; c < nchunks; c++) {
            const float *x = w[chunks[c].tensor];
            if (prefix_shift >= 31) {
                for (tl_size i = chunks[c].begin; i < chunks[c].end; i++) mine[mag_key(x[i]) >> shift]++;
            } else {
                for (tl_size i = chunks[c].begin; i < chunks[c].end; i++) {
                    const uint32_t key = mag_key(x[i]);
                    if ((key >> prefix_shift) == prefix) mine[(key >> shift) & (uint32_t)(bins - 1)]++;
                }
            }
        }
    }
    (void)total;
    for (tl_size b = 0; b < bins; b++) {
        tl_size s = 0;
        for (int t = 0; t < threads; t++) s += scratch[(tl_size)t * bins + b];
        hist[b] = s;
    }
}

/* Highest bucket b such that the counts of buckets >= b reach *k; *k becomes the rank left inside b, *above the count above b. */
static tl_size topk_pick(const tl_size *hist, tl_size bins, tl_size *k) {
    tl_size above = 0;
    for (tl_size b = bins - 1; b >= 0; b--) {
        if (above + hist[b] >= *k) { *k -= above; return b; }
        above += hist[b];
    }
    return 0; /* unreachable when *k <= total */
}

static int topk_run(const char *fn, uint8_t *const *masks, const float *const *w, const tl_size *sizes, tl_size num_tensors,
                    tl_size total, tl_size k) {
    if (k == 0 || k == total) {
        for (tl_size t = 0; t < num_tensors; t++) memset(masks[t], k == 0 ? 0 : 1, (size_t)sizes[t]);
        return TL_OK;
    }
    tl_size nchunks = 0;
    for (tl_size t = 0; t < num_tensors; t++) nchunks += (sizes[t] + TL_TOPK_CHUNK - 1) / TL_TOPK_CHUNK;
    const int threads = total > TL_SPARSE_PAR_MIN ? tl_get_num_threads() : 1;
    const size_t chunk_bytes = (size_t)nchunks * (sizeof(topk_chunk) + sizeof(tl_size));
    const size_t hist_bytes = (size_t)(threads + 1) * D1_BINS * sizeof(tl_size);
    char *mem = tl_alloc(chunk_bytes + hist_bytes);
    if (!mem) return tl_fail(TL_ERR_OUT_OF_MEMORY, "%s: no memory for %td chunks", fn, nchunks);
    topk_chunk *chunks = (topk_chunk *)mem;
    tl_size *rank0 = (tl_size *)(mem + (size_t)nchunks * sizeof(topk_chunk));
    tl_size *hist = (tl_size *)(mem + chunk_bytes), *scratch = hist + D1_BINS;
    tl_size c = 0;
    for (tl_size t = 0; t < num_tensors; t++)
        for (tl_size b = 0; b < sizes[t]; b += TL_TOPK_CHUNK) {
            chunks[c].tensor = t;
            chunks[c].begin = b;
            chunks[c].end = b + TL_TOPK_CHUNK < sizes[t] ? b + TL_TOPK_CHUNK : sizes[t];
            c++;
        }
    /* Narrow the threshold key digit by digit; kk = rank of the threshold among keys sharing the prefix. */
    tl_size kk = k;
    topk_hist(hist, D1_BINS, chunks, nchunks, w, 0, 31, D1_SHIFT, total, scratch, threads);
    const uint32_t b1 = (uint32_t)topk_pick(hist, D1_BINS, &kk);
    topk_hist(hist, D2_BINS, chunks, nchunks, w, b1, D1_SHIFT, D2_SHIFT, total, scratch, threads);
    const uint32_t b2 = (uint32_t)topk_pick(hist, D2_BINS, &kk);
    topk_hist(hist, D3_BINS, chunks, nchunks, w, (b1 << (D1_SHIFT - D2_SHIFT)) | b2, D2_SHIFT, 0, total, scratch, threads);
    const uint32_t b3 = (uint32_t)topk_pick(hist, D3_BINS, &kk);
    const uint32_t thr = (b1 << D1_SHIFT) | (b2 << D2_SHIFT) | b3;
    const tl_size equal = hist[b3], need = kk; /* keys == thr, and how many of them to keep (1..equal) */

    if (need == equal) {
        #pragma omp parallel for schedule(static) num_threads(threads)
        for (tl_size ci = 0; ci < nchunks; ci++) {
            const float *x = w[chunks[ci].tensor];
            uint8_t *m = masks[chunks[ci].tensor];
            for (tl_size i = chunks[ci].begin; i < chunks[ci].end; i++) m[i] = mag_key(x[i]) >= thr;
        }
    } else {
        /* Ties straddle the cut: keep the first `need` equal keys in (tensor, index) order via per-chunk prefix counts. */
        #pragma omp parallel for schedule(static) num_threads(threads)
        for (tl_size ci = 0; ci < nchunks; ci++) {
            const float *x = w[chunks[ci].tensor];
            tl_size e = 0;
            for (tl_size i = chunks[ci].begin; i < chunks[ci].end; i++) e += mag_key(x[i]) == thr;
            rank0[ci] = e;
        }
        tl_size run = 0;
        for (tl_size ci = 0; ci < nchunks; ci++) { const tl_size e = rank0[ci]; rank0[ci] = run; run += e; }
        #pragma omp parallel for schedule(static) num_threads(threads)
        for (tl_size ci = 0; ci < nchunks; ci++) {
            const float *x = w[chunks[ci].tensor];
            uint8_t *m = masks[chunks[ci].tensor];
            tl_size r = rank0[ci];
            for (tl_size i = chunks[ci].begin; i < chunks[ci].end; i++) {
                const uint32_t key = mag_key(x[i]);
                const int eq = key == thr;
                m[i] = key > thr || (eq && r < need);
                r += eq;
            }
        }
    }
    tl_free(mem);
    return TL_OK;
}

int tl_sparse_topk_mask(uint8_t *mask, const float *w, tl_size n, tl_size k) {
    static const char fn[] = "tl_sparse_topk_mask";
    TL_CHECK_PTR(fn, mask);
    TL_CHECK_PTR(fn, w);
    TL_CHECK_NONNEG(fn, n);
    TL_CHECK(fn, k >= 0 && k <= n, "%s: k must be in [0, n = %td], got %td", fn, n, k);
    uint8_t *masks[1] = {mask};
    const float *ws[1] = {w};
    const tl_size sizes[1] = {n};
    return topk_run(fn, masks, ws, sizes, 1, n, k);
}

int tl_sparse_topk_mask_global(uint8_t *const *masks, const float *const *w, const tl_size *sizes, tl_size num_tensors, tl_size k) {
    static const char fn[] = "tl_sparse_topk_mask_global";
    TL_CHECK_PTR(fn, masks);
    TL_CHECK_PTR(fn, w);
    TL_CHECK_PTR(fn, sizes);
    TL_CHECK_POS(fn, num_tensors);
    tl_size total = 0;
    for (tl_size t = 0; t < num_tensors; t++) {
        if (masks[t] == NULL) return tl_fail(TL_ERR_NULL_POINTER, "%s: masks[%td] is NULL", fn, t);
        if (w[t] == NULL) return tl_fail(TL_ERR_NULL_POINTER, "%s: w[%td] is NULL", fn, t);
        TL_CHECK(fn, sizes[t] >= 0, "%s: sizes[%td] must be >= 0, got %td", fn, t, sizes[t]);
        total += sizes[t];
    }
    TL_CHECK(fn, k >= 0 && k <= total, "%s: k must be in [0, sum of sizes = %td], got %td", fn, total, k);
    return topk_run(fn, masks, w, sizes, num_tensors, total, k);
}

/* ---------------------------------------------------------------- groups */

/* Validates the descriptor; *elements (optional) = total elements over all groups. */
static int groups_check(const char *fn, const tl_groups *g, tl_size *elements) {
    TL_CHECK_PTR(fn, g);
    tl_size total = 0;
    if (elements) *elements = 0;
    TL_CHECK_NONNEG(fn, g->num_tensors);
    TL_CHECK_NONNEG(fn, g->num_groups);
    TL_CHECK(fn, g->num_tensors == 0 || g->tensor_sizes != NULL, "%s: groups->tensor_sizes is NULL", fn);
    if (g->num_groups == 0) return TL_OK;
    TL_CHECK(fn, g->group_offsets != NULL, "%s: groups->group_offsets is NULL", fn);
    TL_CHECK(fn, g->group_offsets[0] == 0, "%s: groups->group_offsets[0] must be 0, got %td", fn, g->group_offsets[0]);
    for (tl_size i = 0; i < g->num_groups; i++)
        TL_CHECK(fn, g->group_offsets[i + 1] >= g->group_offsets[i],
                 "%s: groups->group_offsets must be non-decreasing (group %td)", fn, i);
    const tl_size nseg = g->group_offsets[g->num_groups];
    TL_CHECK(fn, nseg == 0 || g->segments != NULL, "%s: groups->segments is NULL", fn);
    for (tl_size s = 0; s < nseg; s++) {
        const tl_group_segment q = g->segments[s];
        TL_CHECK(fn, q.tensor >= 0 && q.tensor < g->num_tensors, "%s: segment %td: tensor %td not in [0, %td)", fn, s,
                 q.tensor, g->num_tensors);
        TL_CHECK(fn, q.count >= 0 && q.stride >= 0 && q.block >= 1 && q.start >= 0,
                 "%s: segment %td: need start >= 0, count >= 0, stride >= 0, block >= 1", fn, s);
        if (q.count == 0) continue;
        total += q.count * q.block;
        const tl_size size = g->tensor_sizes[q.tensor];
        /* last = start + (count-1)*stride + block, checked without overflow */
        TL_CHECK(fn, q.start <= size && q.block <= size - q.start &&
                     (q.count == 1 || q.stride == 0 || (q.count - 1) <= (size - q.start - q.block) / q.stride),
                 "%s: segment %td exceeds tensor %td of %td elements", fn, s, q.tensor, size);
    }
    if (elements) *elements = total;
    return TL_OK;
}

int tl_sparse_groups_check(const tl_groups *groups) { return groups_check("tl_sparse_groups_check", groups, NULL); }

static int tensors_check(const char *fn, const char *name, const void *const *p, const tl_groups *g) {
    if (p == NULL) return tl_fail(TL_ERR_NULL_POINTER, "%s: %s is NULL", fn, name);
    for (tl_size t = 0; t < g->num_tensors; t++)
        if (p[t] == NULL && g->tensor_sizes[t] > 0) return tl_fail(TL_ERR_NULL_POINTER, "%s: %s[%td] is NULL", fn, name, t);
    return TL_OK;
}

/* Run the statement for each contiguous run of group gi: tensor `ten`, elements [base, base + len). */
#define FOR_GROUP_RUNS(g, gi, ...)                                                                  \
    for (tl_size s_ = (g)->group_offsets[gi]; s_ < (g)->group_offsets[(gi) + 1]; s_++) {            \
        const tl_group_segment q_ = (g)->segments[s_];                                              \
        for (tl_size j_ = 0; j_ < q_.count; j_++) {                                                 \
            const tl_size base = q_.start + j_ * q_.stride, len = q_.block, ten = q_.tensor;        \
            __VA_ARGS__                                                                             \
        }                                                                                           \
    }


/* Sums over group gi in double: *sxx = sum x^2 and, when y is given, *syy = sum y^2, *sxy = sum x*y. Each run's
   whole groups of 8 go to eight register lanes (element k of the group to lane k), the leftover (run length % 8)
   elements to one sequential tail sum; lanes combine in a fixed tree, then the tail. A single sequential double sum
   would wait one add latency per element; this order depends only on the descriptor, never on threads. */
#define GROUP_LANES 8
static void group_sums(const tl_groups *g, tl_size gi, const float *const *x, const float *const *y,
                       double *sxx, double *syy, double *sxy) {
    double axx[GROUP_LANES], ayy[GROUP_LANES], axy[GROUP_LANES], txx = 0.0, tyy = 0.0, txy = 0.0;
#ifdef __AVX2__
    /* Lanes 0-3 in the first register of each pair, 4-7 in the second: the same per-lane sums as the loop below. */
    __m256d xx0 = _mm256_setzero_pd(), xx1 = xx0, yy0 = xx0, yy1 = xx0, xy0 = xx0, xy1 = xx0;
#else
    for (int k = 0; k < GROUP_LANES; k++) axx[k] = ayy[k] = axy[k] = 0.0;
#endif
    FOR_GROUP_RUNS(g, gi, {
        const float *a = x[ten] + base;
        const float *b = y ? y[ten] + base : NULL;
        tl_size i = 0;
        /* Strided runs (e.g. an input-channel slice) miss the hardware prefetcher: ask for a run 8 strides ahead. */
        if (q_.stride > q_.block && j_ + 8 < q_.count) {
            __builtin_prefetch(a + 8 * q_.stride);
            if (b) __builtin_prefetch(b + 8 * q_.stride);
        }
#ifdef __AVX2__
        for (; i + GROUP_LANES <= len; i += GROUP_LANES) {
            const __m256 av = _mm256_loadu_ps(a + i);
            const __m256d a0 = _mm256_cvtps_pd(_mm256_castps256_ps128(av)), a1 = _mm256_cvtps_pd(_mm256_extractf128_ps(av, 1));
            xx0 = _mm256_add_pd(xx0, _mm256_mul_pd(a0, a0));
            xx1 = _mm256_add_pd(xx1, _mm256_mul_pd(a1, a1));
            if (b) {
                const __m256 bv = _mm256_loadu_ps(b + i);
                const __m256d b0 = _mm256_cvtps_pd(_mm256_castps256_ps128(bv)), b1 = _mm256_cvtps_pd(_mm256_extractf128_ps(bv, 1));
                yy0 = _mm256_add_pd(yy0, _mm256_mul_pd(b0, b0));
                yy1 = _mm256_add_pd(yy1, _mm256_mul_pd(b1, b1));
                xy0 = _mm256_add_pd(xy0, _mm256_mul_pd(a0, b0));
                xy1 = _mm256_add_pd(xy1, _mm256_mul_pd(a1, b1));
            }
        }
#else
        for (; i + GROUP_LANES <= len; i += GROUP_LANES)
            for (int k = 0; k < GROUP_LANES; k++) {
                const double av = a[i + k];
                axx[k] += av * av;
                if (b) { const double bv = b[i + k]; ayy[k] += bv * bv; axy[k] += av * bv; }
            }
#endif
        for (; i < len; i++) {
            const double av = a[i];
            txx += av * av;
            if (b) { const double bv = b[i]; tyy += bv * bv; txy += av * bv; }
        }
    })
#ifdef __AVX2__
    _mm256_storeu_pd(axx, xx0); _mm256_storeu_pd(axx + 4, xx1);
    _mm256_storeu_pd(ayy, yy0); _mm256_storeu_pd(ayy + 4, yy1);
    _mm256_storeu_pd(axy, xy0); _mm256_storeu_pd(axy + 4, xy1);
#endif
#define LANE_TREE(v) (((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])))
    *sxx = LANE_TREE(axx) + txx;
    if (y) { *syy = LANE_TREE(ayy) + tyy; *sxy = LANE_TREE(axy) + txy; }
#undef LANE_TREE
}

int tl_sparse_group_stats(double *xx, double *yy, double *xy, const tl_groups *groups, const float *const *x, const float *const *y) {
    static const char fn[] = "tl_sparse_group_stats";
    tl_size elements;
    TL_TRY(groups_check(fn, groups, &elements));
    TL_TRY(tensors_check(fn, "x", (const void *const *)x, groups));
    TL_CHECK(fn, y != NULL || (yy == NULL && xy == NULL), "%s: y is NULL but yy or xy is requested", fn);
    if (y) TL_TRY(tensors_check(fn, "y", (const void *const *)y, groups));
    const tl_groups *g = groups;
    #pragma omp parallel for schedule(static) if (g->num_groups > 1 && elements > TL_SPARSE_PAR_MIN)
    for (tl_size gi = 0; gi < g->num_groups; gi++) {
        double sxx = 0.0, syy = 0.0, sxy = 0.0;
        group_sums(g, gi, x, y, &sxx, &syy, &sxy);
        if (xx) xx[gi] = sxx;
        if (yy) yy[gi] = syy;
        if (xy) xy[gi] = sxy;
    }
    return TL_OK;
}

int tl_sparse_group_norms(float *norms, const tl_groups *groups, const float *const *x) {
    static const char fn[] = "tl_sparse_group_norms";
    TL_CHECK_PTR(fn, norms);
    tl_size elements;
    TL_TRY(groups_check(fn, groups, &elements));
    TL_TRY(tensors_check(fn, "x", (const void *const *)x, groups));
    const tl_groups *g = groups;
    #pragma omp parallel for schedule(static) if (g->num_groups > 1 && elements > TL_SPARSE_PAR_MIN)
    for (tl_size gi = 0; gi < g->num_groups; gi++) {
        double sxx = 0.0;
        group_sums(g, gi, x, NULL, &sxx, NULL, NULL);
        norms[gi] = (float)sqrt(sxx);
    }
    return TL_OK;
}

int tl_sparse_group_zero(const tl_groups *groups, float *const *x, const uint8_t *selected) {
    static const char fn[] = "tl_sparse_group_zero";
    tl_size elements;
    TL_TRY(groups_check(fn, groups, &elements));
    TL_TRY(tensors_check(fn, "x", (const void *const *)x, groups));
    const tl_groups *g = groups;
    #pragma omp parallel for schedule(static) if (g->num_groups > 1 && elements > TL_SPARSE_PAR_MIN)
    for (tl_size gi = 0; gi < g->num_groups; gi++) {
        if (selected && !selected[gi]) continue;
        FOR_GROUP_RUNS(g, gi, { memset(x[ten] + base, 0, (size_t)len * sizeof(float)); })
    }
    return TL_OK;
}

int tl_sparse_group_axpy(const tl_groups *groups, float *const *y, const float *const *x, const float *alpha) {
    static const char fn[] = "tl_sparse_group_axpy";
    TL_CHECK_PTR(fn, alpha);
    tl_size elements;
    TL_TRY(groups_check(fn, groups, &elements));
    TL_TRY(tensors_check(fn, "y", (const void *const *)y, groups));
    TL_TRY(tensors_check(fn, "x", (const void *const *)x, groups));
    const tl_groups *g = groups;
    #pragma omp parallel for schedule(static) if (g->num_groups > 1 && elements > TL_SPARSE_PAR_MIN)
    for (tl_size gi = 0; gi < g->num_groups; gi++) {
        const float a = alpha[gi];
        if (a == 0.0f) continue;
        FOR_GROUP_RUNS(g, gi, {
            float *d = y[ten] + base;
            const float *s = x[ten] + base;
            for (tl_size i = 0; i < len; i++) d[i] = fmaf(a, s[i], d[i]);
        })
    }
    return TL_OK;
}

int tl_sparse_group_half_space_project(uint8_t *zeroed, const tl_groups *groups, float *const *hx, const float *const *x,
                                       const uint8_t *active, float epsilon) {
    static const char fn[] = "tl_sparse_group_half_space_project";
    tl_size elements;
    TL_TRY(groups_check(fn, groups, &elements));
    TL_TRY(tensors_check(fn, "hx", (const void *const *)hx, groups));
    TL_TRY(tensors_check(fn, "x", (const void *const *)x, groups));
    TL_CHECK(fn, epsilon >= 0.0f && epsilon < 1.0f, "%s: epsilon must be in [0, 1), got %g", fn, epsilon);
    const tl_groups *g = groups;
    #pragma omp parallel for schedule(static) if (g->num_groups > 1 && elements > TL_SPARSE_PAR_MIN)
    for (tl_size gi = 0; gi < g->num_groups; gi++) {
        int project = 0;
        if (!active || active[gi]) {
            double sxx = 0.0, shh = 0.0, sxh = 0.0;
            group_sums(g, gi, x, (const float *const *)hx, &sxx, &shh, &sxh);
            project = sxh < (double)epsilon * sxx;
            if (project) FOR_GROUP_RUNS(g, gi, { memset(hx[ten] + base, 0, (size_t)len * sizeof(float)); })
        }
        if (zeroed) zeroed[gi] = (uint8_t)project;
    }
    return TL_OK;
}

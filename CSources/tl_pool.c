/* 2-D pooling. Every kernel runs one (n, c) plane per task: the plane's input and output stay in L1/L2
   while they are worked on, backward passes can zero a plane and scatter into it without atomics, and
   the order of the additions inside a plane is fixed, so results do not depend on the thread count. */
#include "tl_internal.h"
#include "../include/tl_pool.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Below this many input elements a second thread costs more than it saves. */
#define TL_POOL_PAR_MIN 32768

tl_size tl_pool2d_output_size(tl_size in, tl_size k, tl_size s, tl_size p) {
    if (in < 1 || k < 1 || s < 1 || p < 0 || p > k / 2 || in + 2 * p < k) return -1;
    return (in + 2 * p - k) / s + 1;
}

/* Checks shared by every windowed kernel; writes the output size. */
static int tl_pool_check(const char *fn, tl_size N, tl_size C, tl_size H, tl_size W, tl_size kh, tl_size kw,
                         tl_size sh, tl_size sw, tl_size ph, tl_size pw, tl_size *OH, tl_size *OW) {
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK_NONNEG(fn, C);
    TL_CHECK_POS(fn, H);
    TL_CHECK_POS(fn, W);
    TL_CHECK_POS(fn, kh);
    TL_CHECK_POS(fn, kw);
    TL_CHECK_POS(fn, sh);
    TL_CHECK_POS(fn, sw);
    TL_CHECK_NONNEG(fn, ph);
    TL_CHECK_NONNEG(fn, pw);
    TL_CHECK(fn, ph <= kh / 2 && pw <= kw / 2,
             "%s: padding (ph=%td, pw=%td) must be at most half the kernel (kh=%td, kw=%td)", fn, ph, pw, kh, kw);
    TL_CHECK(fn, H + 2 * ph >= kh && W + 2 * pw >= kw,
             "%s: kernel %tdx%td does not fit the padded input %tdx%td", fn, kh, kw, H + 2 * ph, W + 2 * pw);
    TL_CHECK(fn, H * W <= INT32_MAX, "%s: plane H*W = %td does not fit int32 indices", fn, H * W);
    *OH = tl_pool2d_output_size(H, kh, sh, ph);
    *OW = tl_pool2d_output_size(W, kw, sw, pw);
    return TL_OK;
}

/* ---- max pooling ---- */

/* PyTorch's rule: a later element wins when it is greater or NaN (so NaN propagates). `|` rather
   than `||` keeps the scalar code free of branches, which random data would mispredict. */
#define TL_MAX_TAKE(v, best) (((v) > (best)) | ((v) != (v)))

/* Any geometry: windows clipped to the input, which padding makes equivalent to -inf padding. */
static void tl_maxpool_plane(float *y, int32_t *idx, const float *x, tl_size H, tl_size W, tl_size OH, tl_size OW,
                             tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw) {
    for (tl_size oh = 0; oh < OH; oh++) {
        const tl_size h0 = oh * sh - ph, hs = h0 < 0 ? 0 : h0, he = h0 + kh < H ? h0 + kh : H;
        for (tl_size ow = 0; ow < OW; ow++) {
            const tl_size w0 = ow * sw - pw, ws = w0 < 0 ? 0 : w0, we = w0 + kw < W ? w0 + kw : W;
            float best = -INFINITY;
            tl_size bi = hs * W + ws;
            for (tl_size h = hs; h < he; h++)
                for (tl_size w = ws; w < we; w++) {
                    const float v = x[h * W + w];
                    if (TL_MAX_TAKE(v, best)) { best = v; bi = h * W + w; }
                }
            y[oh * OW + ow] = best;
            if (idx) idx[oh * OW + ow] = (int32_t)bi;
        }
    }
}

#if defined(__AVX2__)
#include <immintrin.h>

/* Elements 0, 2, .., 14 and 1, 3, .., 15 of the 16 floats at p, in order. */
static inline void tl_deinterleave16(const float *p, __m256 *even, __m256 *odd) {
    const __m256 v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8);
    const __m256 e = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m256 o = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline void tl_take8(__m256 v, __m256i iv, __m256 *best, __m256i *bi) {
    const __m256 t = _mm256_or_ps(_mm256_cmp_ps(v, *best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    *best = _mm256_blendv_ps(*best, v, t);
    *bi = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(*bi), _mm256_castsi256_ps(iv), t));
}

/* Lanes below n of a mask vector (n in 0..8). */
static inline __m256i tl_lanes_below(tl_size n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* tl_deinterleave16 of the first n (< 16) floats at p, reading nothing beyond them (the rest are 0). */
static inline void tl_deinterleave16_partial(const float *p, tl_size n, __m256 *even, __m256 *odd) {
    float buf[16];
    _mm256_storeu_ps(buf, _mm256_maskload_ps(p, tl_lanes_below(n)));
    _mm256_storeu_ps(buf + 8, n > 8 ? _mm256_maskload_ps(p + 8, tl_lanes_below(n - 8)) : _mm256_setzero_ps());
    tl_deinterleave16(buf, even, odd);
}

/* Eight outputs ow .. ow+7 of one output row, the same selects as tl_max4; with valid < 8 only the
   first `valid` outputs are read and written (rows narrower than one vector, e.g. 14x14 -> 7x7). */
static inline void tl_max4x8(float *yr, int32_t *ir, const float *r0, const float *r1, tl_size ow, int32_t base, int32_t W,
                             tl_size valid) {
    __m256 a, b, c, d;
    if (valid < 8) {
        tl_deinterleave16_partial(r0 + 2 * ow, 2 * valid, &a, &b);
        tl_deinterleave16_partial(r1 + 2 * ow, 2 * valid, &c, &d);
    } else {
        tl_deinterleave16(r0 + 2 * ow, &a, &b);
        tl_deinterleave16(r1 + 2 * ow, &c, &d);
    }
    const __m256i ia = _mm256_add_epi32(_mm256_set1_epi32(base + 2 * (int32_t)ow), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
    __m256 best = a;
    __m256i bi = ia;
    tl_take8(b, _mm256_add_epi32(ia, _mm256_set1_epi32(1)), &best, &bi);
    tl_take8(c, _mm256_add_epi32(ia, _mm256_set1_epi32(W)), &best, &bi);
    tl_take8(d, _mm256_add_epi32(ia, _mm256_set1_epi32(W + 1)), &best, &bi);
    if (valid < 8) {
        const __m256i keep = tl_lanes_below(valid);
        _mm256_maskstore_ps(yr + ow, keep, best);
        if (ir) _mm256_maskstore_epi32(ir + ow, keep, bi);
        return;
    }
    _mm256_storeu_ps(yr + ow, best);
    if (ir) _mm256_storeu_si256((__m256i *)(ir + ow), bi);
}
#endif

#if !defined(__AVX2__)
/* One output of a 2x2 window whose top-left input is r0[2 ow] (flat offset i0 in the plane). The first
   candidate always wins against the -inf start, so it seeds the search. */
static inline void tl_max4(float *yo, int32_t *io, const float *r0, const float *r1, tl_size ow, int32_t i0, int32_t W) {
    const float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
    float best = a;
    int32_t bi = i0;
    int t = TL_MAX_TAKE(b, best); best = t ? b : best; bi = t ? i0 + 1 : bi;
    t = TL_MAX_TAKE(c, best); best = t ? c : best; bi = t ? i0 + W : bi;
    t = TL_MAX_TAKE(d, best); best = t ? d : best; bi = t ? i0 + W + 1 : bi;
    *yo = best;
    if (io) *io = bi;
}
#endif

/* 2x2 windows, stride 2, no padding (the usual downsampling). With AVX2 each output row is covered by
   vectors of 8 outputs, the last one overlapping the previous when OW is not a multiple of 8 (outputs
   are pure functions of the input, so writing some twice is harmless); rows narrower than 8 use one
   masked vector (the scalar selects cost about 10x more there); builds without AVX2 use scalar code. */
static void tl_maxpool_plane_2x2(float *y, int32_t *idx, const float *x, tl_size W, tl_size OH, tl_size OW) {
    for (tl_size oh = 0; oh < OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
        float *yr = y + oh * OW;
        int32_t *ir = idx ? idx + oh * OW : NULL;
        const int32_t base = (int32_t)(2 * oh * W);
#if defined(__AVX2__)
        if (OW < 8) {
            tl_max4x8(yr, ir, r0, r1, 0, base, (int32_t)W, OW);
            continue;
        }
        for (tl_size ow = 0;; ow += 8) {
            if (ow > OW - 8) ow = OW - 8;
            tl_max4x8(yr, ir, r0, r1, ow, base, (int32_t)W, 8);
            if (ow == OW - 8) break;
        }
#else
        for (tl_size ow = 0; ow < OW; ow++)
            tl_max4(yr + ow, ir ? ir + ow : NULL, r0, r1, ow, base + 2 * (int32_t)ow, (int32_t)W);
#endif
    }
}

int tl_maxpool2d_forward(float *y, int32_t *idx, const float *x, tl_size N, tl_size C, tl_size H, tl_size W,
                         tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw) {
    static const char fn[] = "tl_maxpool2d_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    tl_size OH, OW;
    TL_TRY(tl_pool_check(fn, N, C, H, W, kh, kw, sh, sw, ph, pw, &OH, &OW));
    const tl_size planes = N * C, in = H * W, out = OH * OW;
    const int fast = kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0;
    #pragma omp parallel for schedule(static) if (planes * in > TL_POOL_PAR_MIN && planes > 1)
    for (tl_size p = 0; p < planes; p++) {
        int32_t *ip = idx ? idx + p * out : NULL;
        if (fast) tl_maxpool_plane_2x2(y + p * out, ip, x + p * in, W, OH, OW);
        else tl_maxpool_plane(y + p * out, ip, x + p * in, H, W, OH, OW, kh, kw, sh, sw, ph, pw);
    }
    return TL_OK;
}

int tl_maxpool2d_backward(float *dx, const float *dy, const int32_t *idx, tl_size N, tl_size C, tl_size H, tl_size W,
                          tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw) {
    static const char fn[] = "tl_maxpool2d_backward";
    TL_CHECK_PTR(fn, dx);
    TL_CHECK_PTR(fn, dy);
    TL_CHECK_PTR(fn, idx);
    tl_size OH, OW;
    TL_TRY(tl_pool_check(fn, N, C, H, W, kh, kw, sh, sw, ph, pw, &OH, &OW));
    const tl_size planes = N * C, in = H * W, out = OH * OW;
    int bad = 0;
    /* The plane is zeroed and scattered into while it sits in L1, so memory sees one write of dx. */
    #pragma omp parallel for schedule(static) reduction(|: bad) if (planes * in > TL_POOL_PAR_MIN && planes > 1)
    for (tl_size p = 0; p < planes; p++) {
        float *dxp = dx + p * in;
        const float *dyp = dy + p * out;
        const int32_t *ipp = idx + p * out;
        memset(dxp, 0, (size_t)in * sizeof *dxp);
        for (tl_size o = 0; o < out; o++) {
            const int32_t i = ipp[o];
            if ((uint32_t)i < (uint32_t)in) dxp[i] += dyp[o];
            else bad = 1;
        }
    }
    if (bad) return tl_fail(TL_ERR_INVALID_ARGUMENT, "%s: idx holds an offset outside [0, H*W = %td)", fn, in);
    return TL_OK;
}

/* ---- average pooling ---- */

static void tl_avgpool_plane(float *y, const float *x, tl_size H, tl_size W, tl_size OH, tl_size OW,
                             tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw, int include_pad) {
    for (tl_size oh = 0; oh < OH; oh++) {
        const tl_size h0 = oh * sh - ph, hs = h0 < 0 ? 0 : h0, he = h0 + kh < H ? h0 + kh : H;
        for (tl_size ow = 0; ow < OW; ow++) {
            const tl_size w0 = ow * sw - pw, ws = w0 < 0 ? 0 : w0, we = w0 + kw < W ? w0 + kw : W;
            float s = 0.0f;
            for (tl_size h = hs; h < he; h++)
                for (tl_size w = ws; w < we; w++) s += x[h * W + w];
            const tl_size count = include_pad ? kh * kw : (he - hs) * (we - ws);
            y[oh * OW + ow] = s / (float)count;
        }
    }
}

static void tl_avgpool_plane_backward(float *dx, const float *dy, tl_size H, tl_size W, tl_size OH, tl_size OW,
                                      tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw,
                                      int include_pad) {
    memset(dx, 0, (size_t)(H * W) * sizeof *dx);
    for (tl_size oh = 0; oh < OH; oh++) {
        const tl_size h0 = oh * sh - ph, hs = h0 < 0 ? 0 : h0, he = h0 + kh < H ? h0 + kh : H;
        for (tl_size ow = 0; ow < OW; ow++) {
            const tl_size w0 = ow * sw - pw, ws = w0 < 0 ? 0 : w0, we = w0 + kw < W ? w0 + kw : W;
            const tl_size count = include_pad ? kh * kw : (he - hs) * (we - ws);
            const float g = dy[oh * OW + ow] / (float)count;
            for (tl_size h = hs; h < he; h++)
                for (tl_size w = ws; w < we; w++) dx[h * W + w] += g;
        }
    }
}

int tl_avgpool2d_forward(float *y, const float *x, tl_size N, tl_size C, tl_size H, tl_size W,
                         tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw, int count_include_pad) {
    static const char fn[] = "tl_avgpool2d_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    tl_size OH, OW;
    TL_TRY(tl_pool_check(fn, N, C, H, W, kh, kw, sh, sw, ph, pw, &OH, &OW));
    const tl_size planes = N * C, in = H * W, out = OH * OW;
    #pragma omp parallel for schedule(static) if (planes * in > TL_POOL_PAR_MIN && planes > 1)
    for (tl_size p = 0; p < planes; p++)
        tl_avgpool_plane(y + p * out, x + p * in, H, W, OH, OW, kh, kw, sh, sw, ph, pw, count_include_pad != 0);
    return TL_OK;
}

int tl_avgpool2d_backward(float *dx, const float *dy, tl_size N, tl_size C, tl_size H, tl_size W,
                          tl_size kh, tl_size kw, tl_size sh, tl_size sw, tl_size ph, tl_size pw, int count_include_pad) {
    static const char fn[] = "tl_avgpool2d_backward";
    TL_CHECK_PTR(fn, dx);
    TL_CHECK_PTR(fn, dy);
    tl_size OH, OW;
    TL_TRY(tl_pool_check(fn, N, C, H, W, kh, kw, sh, sw, ph, pw, &OH, &OW));
    const tl_size planes = N * C, in = H * W, out = OH * OW;
    #pragma omp parallel for schedule(static) if (planes * in > TL_POOL_PAR_MIN && planes > 1)
    for (tl_size p = 0; p < planes; p++)
        tl_avgpool_plane_backward(dx + p * in, dy + p * out, H, W, OH, OW, kh, kw, sh, sw, ph, pw, count_include_pad != 0);
    return TL_OK;
}

/* ---- global average pooling ---- */

/* Sum in double over 8 independent lanes (vectorisable without reassociation, fixed order). */
static double tl_pool_sum(const float *x, tl_size n) {
    double s[8] = {0};
    tl_size i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += (double)x[i + l];
    for (; i < n; i++) s[0] += (double)x[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static int tl_global_pool_check(const char *fn, tl_size N, tl_size C, tl_size H, tl_size W) {
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK_NONNEG(fn, C);
    TL_CHECK_POS(fn, H);
    TL_CHECK_POS(fn, W);
    return TL_OK;
}

int tl_global_avgpool2d_forward(float *y, const float *x, tl_size N, tl_size C, tl_size H, tl_size W) {
    static const char fn[] = "tl_global_avgpool2d_forward";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_TRY(tl_global_pool_check(fn, N, C, H, W));
    const tl_size planes = N * C, in = H * W;
    const double inv = 1.0 / (double)in;
    #pragma omp parallel for schedule(static) if (planes * in > TL_POOL_PAR_MIN && planes > 1)
    for (tl_size p = 0; p < planes; p++) y[p] = (float)(tl_pool_sum(x + p * in, in) * inv);
    return TL_OK;
}

int tl_global_avgpool2d_backward(float *dx, const float *dy, tl_size N, tl_size C, tl_size H, tl_size W) {
    static const char fn[] = "tl_global_avgpool2d_backward";
    TL_CHECK_PTR(fn, dx);
    TL_CHECK_PTR(fn, dy);
    TL_TRY(tl_global_pool_check(fn, N, C, H, W));
    const tl_size planes = N * C, in = H * W;
    const float inv = 1.0f / (float)in;
    #pragma omp parallel for schedule(static) if (planes * in > TL_POOL_PAR_MIN && planes > 1)
    for (tl_size p = 0; p < planes; p++) {
        const float g = dy[p] * inv;
        float *dxp = dx + p * in;
        for (tl_size i = 0; i < in; i++) dxp[i] = g;
    }
    return TL_OK;
}

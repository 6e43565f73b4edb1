/* Batch augmentation straight from the uint8 store: one read of each source byte, one write of each output
   float, no intermediate images. Random words of sample b come from Philox with counter
   {key lo, key hi, sub, 0}, key = counter + index of b, so every sample owns its own stream:
     sub 0:       word 0 -> crop dy, word 1 -> crop dx, word 2 -> flip;
     sub 1 + a:   resized-crop attempt a (0..9): word 0 -> area, 1 -> log aspect, 2 -> top, 3 -> left. */
#include "tl_internal.h"
#include "../include/tl_augment.h"
#include "../include/tl_rng.h"

#include <math.h>
#include <string.h>

/* Philox block `sub` of the private stream of one sample. */
static inline void sample_words(uint64_t seed, uint64_t key, uint32_t sub, uint32_t out[4]) {
    const uint32_t ctr[4] = {(uint32_t)key, (uint32_t)(key >> 32), sub, 0};
    const uint32_t k[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    tl_philox4x32_10(ctr, k, out);
}

/* Shared argument checks of both kernels; the index check runs serially before any parallel work. */
static int check_common(const char *fn, const float *out, const void *images, const int64_t *indices,
                        const float *std, tl_size N, tl_size B, tl_size C, tl_size H, tl_size W, float flip_prob) {
    TL_CHECK_PTR(fn, out);
    TL_CHECK_PTR(fn, images);
    TL_CHECK_NONNEG(fn, B);
    TL_CHECK_POS(fn, N);
    TL_CHECK_POS(fn, C);
    TL_CHECK_POS(fn, H);
    TL_CHECK_POS(fn, W);
    TL_CHECK(fn, flip_prob >= 0.0f && flip_prob <= 1.0f, "%s: flip_prob must be in [0, 1], got %g", fn, flip_prob);
    if (std != NULL) {
        for (tl_size c = 0; c < C; c++)
            TL_CHECK(fn, std[c] > 0.0f && isfinite(std[c]), "%s: std[%td] must be finite and > 0, got %g", fn, c, std[c]);
    }
    if (indices == NULL) {
        TL_CHECK(fn, B <= N, "%s: indices is NULL, so B (%td) must be <= N (%td)", fn, B, N);
    } else {
        for (tl_size b = 0; b < B; b++)
            TL_CHECK(fn, indices[b] >= 0 && indices[b] < N, "%s: indices[%td] = %lld is outside [0, N = %td)", fn, b,
                     (long long)indices[b], N);
    }
    return TL_OK;
}

/* Stored value -> normalised float as one multiply-add: (v * unit - mean) / std = v * scale + bias, where unit
   is 1/255 for uint8 pixels and 1 for float samples. */
static inline void channel_affine(const float *mean, const float *std, tl_size c, float unit, float *scale, float *bias) {
    const float m = mean ? mean[c] : 0.0f, s = std ? std[c] : 1.0f;
    *scale = unit / s;
    *bias = -m / s;
}

/* One output row of the crop/flip: columns [0, x_lo) and [x_hi, W) are padding (bias), the others read the
   source row shifted by dx (mirrored when flipped). The same body for both store types. */
#define CROP_FLIP_ROW(NAME, T)                                                                                     \
    static inline void NAME(float *dst, const T *src, tl_size W, tl_size x_lo, tl_size x_hi, tl_size dx, int flip, \
                            float scale, float bias) {                                                             \
        for (tl_size x = 0; x < x_lo; x++) dst[x] = bias;                                                          \
        if (!flip) {                                                                                               \
            for (tl_size x = x_lo; x < x_hi; x++) dst[x] = (float)src[x + dx] * scale + bias;                      \
        } else {                                                                                                   \
            const tl_size last = W - 1 + dx;                                                                       \
            for (tl_size x = x_lo; x < x_hi; x++) dst[x] = (float)src[last - x] * scale + bias;                    \
        }                                                                                                          \
        for (tl_size x = x_hi; x < W; x++) dst[x] = bias;                                                          \
    }
CROP_FLIP_ROW(crop_flip_row_u8, uint8_t)
CROP_FLIP_ROW(crop_flip_row_f32, float)
#undef CROP_FLIP_ROW

/* The crop/flip kernel over either store: exactly one of bytes (uint8 pixels) and floats is non-NULL. */
static int crop_flip(const char *fn, float *out, const uint8_t *bytes, const float *floats, const int64_t *indices,
                     const float *mean, const float *std, tl_size N, tl_size B, tl_size C, tl_size H, tl_size W,
                     tl_size pad, float flip_prob, uint64_t seed, uint64_t counter) {
    TL_TRY(check_common(fn, out, bytes ? (const void *)bytes : (const void *)floats, indices, std, N, B, C, H, W, flip_prob));
    TL_CHECK_NONNEG(fn, pad);
    TL_CHECK(fn, pad <= (1 << 20), "%s: pad must be <= 2^20, got %td", fn, pad);
    const tl_size plane = H * W;
    const float unit = bytes ? 1.0f / 255.0f : 1.0f;
    /* A float store without any transform is a plain gather: one copy per sample. */
    if (floats && pad == 0 && flip_prob == 0.0f && mean == NULL && std == NULL) {
        #pragma omp parallel for schedule(static) if (B * C * plane > 32768)
        for (tl_size b = 0; b < B; b++)
            memcpy(out + b * C * plane, floats + (indices ? indices[b] : b) * C * plane, (size_t)(C * plane) * sizeof(float));
        return TL_OK;
    }
    #pragma omp parallel for schedule(static) if (B * C * plane > 32768)
    for (tl_size b = 0; b < B; b++) {
        const uint64_t key = counter + (uint64_t)(indices ? indices[b] : b);
        uint32_t w[4] = {0, 0, 0, 0};
        if (pad > 0 || flip_prob > 0.0f) sample_words(seed, key, 0, w);
        const tl_size dy = pad > 0 ? (tl_size)(w[0] % (uint32_t)(2 * pad + 1)) - pad : 0;
        const tl_size dx = pad > 0 ? (tl_size)(w[1] % (uint32_t)(2 * pad + 1)) - pad : 0;
        const int flip = flip_prob > 0.0f && tl_u32_to_unit(w[2]) < flip_prob;
        /* Output column x reads source column x + dx (or W-1-x + dx when flipped); [x_lo, x_hi) stays inside. */
        tl_size x_lo, x_hi;
        if (!flip) { x_lo = dx < 0 ? -dx : 0; x_hi = dx > 0 ? W - dx : W; }
        else { x_lo = dx > 0 ? dx : 0; x_hi = dx < 0 ? W + dx : W; }
        if (x_lo > W) x_lo = W;
        if (x_hi < x_lo) x_hi = x_lo;
        const tl_size first = (indices ? indices[b] : b) * C * plane;
        for (tl_size c = 0; c < C; c++) {
            float scale, bias;
            channel_affine(mean, std, c, unit, &scale, &bias);
            float *dst_plane = out + (b * C + c) * plane;
            for (tl_size y = 0; y < H; y++) {
                float *dst = dst_plane + y * W;
                const tl_size sy = y + dy;
                if (sy < 0 || sy >= H) {
                    for (tl_size x = 0; x < W; x++) dst[x] = bias;
                } else if (bytes) {
                    crop_flip_row_u8(dst, bytes + first + c * plane + sy * W, W, x_lo, x_hi, dx, flip, scale, bias);
                } else {
                    crop_flip_row_f32(dst, floats + first + c * plane + sy * W, W, x_lo, x_hi, dx, flip, scale, bias);
                }
            }
        }
    }
    return TL_OK;
}

int tl_augment_crop_flip(float *out, const uint8_t *images, const int64_t *indices, const float *mean,
                         const float *std, tl_size N, tl_size B, tl_size C, tl_size H, tl_size W, tl_size pad,
                         float flip_prob, uint64_t seed, uint64_t counter) {
    return crop_flip("tl_augment_crop_flip", out, images, NULL, indices, mean, std, N, B, C, H, W, pad, flip_prob,
                     seed, counter);
}

int tl_augment_crop_flip_f32(float *out, const float *samples, const int64_t *indices, const float *mean,
                             const float *std, tl_size N, tl_size B, tl_size C, tl_size H, tl_size W, tl_size pad,
                             float flip_prob, uint64_t seed, uint64_t counter) {
    return crop_flip("tl_augment_crop_flip_f32", out, NULL, samples, indices, mean, std, N, B, C, H, W, pad, flip_prob,
                     seed, counter);
}

/* torchvision's RandomResizedCrop.get_params with Philox words; rounding is Python's (half to even). */
static void resized_crop_params(uint64_t seed, uint64_t key, tl_size H, tl_size W, double scale_min, double scale_max,
                                double log_ratio_min, double log_ratio_max, tl_size *top, tl_size *left, tl_size *h,
                                tl_size *w) {
    const double area = (double)H * (double)W;
    for (uint32_t attempt = 0; attempt < 10; attempt++) {
        uint32_t r[4];
        sample_words(seed, key, 1 + attempt, r);
        const double target = area * (scale_min + (scale_max - scale_min) * (double)tl_u32_to_unit(r[0]));
        const double aspect = exp(log_ratio_min + (log_ratio_max - log_ratio_min) * (double)tl_u32_to_unit(r[1]));
        const tl_size cw = (tl_size)nearbyint(sqrt(target * aspect));
        const tl_size ch = (tl_size)nearbyint(sqrt(target / aspect));
        if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
            *h = ch;
            *w = cw;
            *top = (tl_size)(r[2] % (uint32_t)(H - ch + 1));
            *left = (tl_size)(r[3] % (uint32_t)(W - cw + 1));
            return;
        }
    }
    const double in_ratio = (double)W / (double)H, ratio_min = exp(log_ratio_min), ratio_max = exp(log_ratio_max);
    tl_size cw = W, ch = H;
    if (in_ratio < ratio_min) ch = (tl_size)nearbyint((double)W / ratio_min);
    else if (in_ratio > ratio_max) cw = (tl_size)nearbyint((double)H * ratio_max);
    if (ch < 1) ch = 1;
    if (cw < 1) cw = 1;
    if (ch > H) ch = H;
    if (cw > W) cw = W;
    *h = ch;
    *w = cw;
    *top = (H - ch) / 2;
    *left = (W - cw) / 2;
}

/* Output columns per chunk of the separable resize (stack tables and row buffers). */
#define RC_CHUNK 256

/* dst[k] = row[x0[k]] (1 - lx[k]) + row[x1[k]] lx[k], in pixel units. */
static inline void resample_row(float *dst, const uint8_t *row, const tl_size *x0, const tl_size *x1, const float *lx,
                                tl_size n) {
    for (tl_size k = 0; k < n; k++) dst[k] = (float)row[x0[k]] + lx[k] * ((float)row[x1[k]] - (float)row[x0[k]]);
}

int tl_augment_resized_crop(float *out, const uint8_t *images, const int64_t *indices, const float *mean,
                            const float *std, tl_size N, tl_size B, tl_size C, tl_size H, tl_size W, tl_size OH,
                            tl_size OW, float scale_min, float scale_max, float ratio_min, float ratio_max,
                            float flip_prob, uint64_t seed, uint64_t counter) {
    const char *fn = "tl_augment_resized_crop";
    TL_TRY(check_common(fn, out, images, indices, std, N, B, C, H, W, flip_prob));
    TL_CHECK_POS(fn, OH);
    TL_CHECK_POS(fn, OW);
    TL_CHECK(fn, scale_min > 0.0f && scale_min <= scale_max && isfinite(scale_max),
             "%s: scale range must satisfy 0 < scale_min <= scale_max, got [%g, %g]", fn, scale_min, scale_max);
    TL_CHECK(fn, ratio_min > 0.0f && ratio_min <= ratio_max && isfinite(ratio_max),
             "%s: ratio range must satisfy 0 < ratio_min <= ratio_max, got [%g, %g]", fn, ratio_min, ratio_max);
    const double log_rmin = log((double)ratio_min), log_rmax = log((double)ratio_max);
    const tl_size plane = H * W, out_plane = OH * OW;
    #pragma omp parallel for schedule(static) if (B * C * out_plane > 32768)
    for (tl_size b = 0; b < B; b++) {
        const tl_size index = indices ? indices[b] : b;
        const uint64_t key = counter + (uint64_t)index;
        tl_size top, left, ch, cw;
        resized_crop_params(seed, key, H, W, scale_min, scale_max, log_rmin, log_rmax, &top, &left, &ch, &cw);
        uint32_t fw[4] = {0, 0, 0, 0};
        if (flip_prob > 0.0f) sample_words(seed, key, 0, fw);
        const int flip = flip_prob > 0.0f && tl_u32_to_unit(fw[2]) < flip_prob;
        const float sy_scale = (float)ch / (float)OH, sx_scale = (float)cw / (float)OW;
        const uint8_t *src_image = images + index * C * plane + top * W + left;
        /* Separable bilinear: each source row is resampled horizontally once into a row buffer (consecutive
           output rows mostly share source rows when upsampling), then output rows blend two buffers; columns
           go in chunks so the tables and buffers live on the stack. */
        for (tl_size x_start = 0; x_start < OW; x_start += RC_CHUNK) {
            const tl_size n = OW - x_start < RC_CHUNK ? OW - x_start : RC_CHUNK;
            tl_size x0[RC_CHUNK], x1[RC_CHUNK];
            float lx[RC_CHUNK];
            for (tl_size k = 0; k < n; k++) {
                const tl_size ox = x_start + k, sxo = flip ? OW - 1 - ox : ox;
                float sx = ((float)sxo + 0.5f) * sx_scale - 0.5f;
                if (sx < 0.0f) sx = 0.0f;
                x0[k] = (tl_size)sx;
                x1[k] = x0[k] < cw - 1 ? x0[k] + 1 : x0[k];
                lx[k] = sx - (float)x0[k];
            }
            for (tl_size c = 0; c < C; c++) {
                float scale, bias;
                channel_affine(mean, std, c, 1.0f / 255.0f, &scale, &bias);
                const uint8_t *src = src_image + c * plane;
                float buffer_a[RC_CHUNK], buffer_b[RC_CHUNK], *row_a = buffer_a, *row_b = buffer_b;
                tl_size y_a = -1, y_b = -1;
                for (tl_size oy = 0; oy < OH; oy++) {
                    float sy = ((float)oy + 0.5f) * sy_scale - 0.5f;
                    if (sy < 0.0f) sy = 0.0f;
                    const tl_size y0 = (tl_size)sy, y1 = y0 < ch - 1 ? y0 + 1 : y0;
                    const float ly = sy - (float)y0, ky = 1.0f - ly;
                    if (y_a != y0) {
                        if (y_b == y0) {
                            float *t = row_a; row_a = row_b; row_b = t;
                            y_b = y_a; y_a = y0;
                        } else {
                            resample_row(row_a, src + y0 * W, x0, x1, lx, n);
                            y_a = y0;
                        }
                    }
                    if (y_b != y1) {
                        resample_row(row_b, src + y1 * W, x0, x1, lx, n);
                        y_b = y1;
                    }
                    float *dst = out + (b * C + c) * out_plane + oy * OW + x_start;
                    for (tl_size k = 0; k < n; k++) dst[k] = (ky * row_a[k] + ly * row_b[k]) * scale + bias;
                }
            }
        }
    }
    return TL_OK;
}

int tl_augment_channel_histogram(int64_t *hist, const uint8_t *images, tl_size N, tl_size C, tl_size P) {
    const char *fn = "tl_augment_channel_histogram";
    TL_CHECK_PTR(fn, hist);
    TL_CHECK_NONNEG(fn, N);
    TL_CHECK_POS(fn, C);
    TL_CHECK_POS(fn, P);
    if (N > 0) TL_CHECK_PTR(fn, images);
    for (tl_size i = 0; i < C * 256; i++) hist[i] = 0;
    /* Four sub-histograms per channel break the store-to-load dependency on runs of equal bytes (black borders). */
    for (tl_size c = 0; c < C; c++) {
        int64_t sub[4][256] = {{0}};
        for (tl_size n = 0; n < N; n++) {
            const uint8_t *p = images + (n * C + c) * P;
            tl_size i = 0;
            for (; i + 4 <= P; i += 4) { sub[0][p[i]]++; sub[1][p[i + 1]]++; sub[2][p[i + 2]]++; sub[3][p[i + 3]]++; }
            for (; i < P; i++) sub[0][p[i]]++;
        }
        for (int v = 0; v < 256; v++) hist[c * 256 + v] = sub[0][v] + sub[1][v] + sub[2][v] + sub[3][v];
    }
    return TL_OK;
}

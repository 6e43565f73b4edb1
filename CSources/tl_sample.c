/* Bilinear grid sampling with zero padding (see tl_sample.h). The forward and the grid gradient are
   parallel over output rows; the input gradient scatters into x's layout, so it is parallel over (n, c)
   planes, each visiting the output pixels in the same order for any thread count. */
#include "tl_internal.h"
#include "../include/tl_sample.h"

#include <math.h>
#include <string.h>

/* Below this many output elements a parallel region costs more than it saves. */
#define TL_PAR_MIN 16384

/* The four neighbours of one sampling point: flat offsets into an (h, w) plane and bilinear weights, with
   out-of-range neighbours marked invalid (they read as 0 and receive no gradient). */
typedef struct corners {
    tl_size offset[4];  /* north-west, north-east, south-west, south-east */
    int valid[4];
    float tx, ty;       /* fractional position inside the cell */
} corners;

/* Pixel coordinate of a normalised coordinate g along an axis of `size` pixels. */
static float unnormalize(float g, tl_size size, int align_corners) {
    return align_corners ? (g + 1.0f) * 0.5f * (float)(size - 1) : ((g + 1.0f) * (float)size - 1.0f) * 0.5f;
}

/* d(pixel coordinate) / d(normalised coordinate). */
static float coordinate_scale(tl_size size, int align_corners) {
    return align_corners ? 0.5f * (float)(size - 1) : 0.5f * (float)size;
}

static corners locate(float gx, float gy, tl_size h, tl_size w, int align_corners) {
    corners k;
    const float ix = unnormalize(gx, w, align_corners), iy = unnormalize(gy, h, align_corners);
    const float fx = floorf(ix), fy = floorf(iy);
    k.tx = ix - fx;
    k.ty = iy - fy;
    /* Far-away or non-finite points touch no pixel; the range test also keeps the integer casts safe. */
    const int near = fx >= -1.0f && fx <= (float)w && fy >= -1.0f && fy <= (float)h;
    const tl_size x0 = near ? (tl_size)fx : -2, y0 = near ? (tl_size)fy : -2;
    for (int q = 0; q < 4; q++) {
        const tl_size xq = x0 + (q & 1), yq = y0 + (q >> 1);
        k.valid[q] = near && xq >= 0 && xq < w && yq >= 0 && yq < h;
        k.offset[q] = k.valid[q] ? yq * w + xq : 0;
    }
    return k;
}

static void weights(float wq[4], const corners *k) {
    wq[0] = (1.0f - k->tx) * (1.0f - k->ty);
    wq[1] = k->tx * (1.0f - k->ty);
    wq[2] = (1.0f - k->tx) * k->ty;
    wq[3] = k->tx * k->ty;
}

static int check_args(const char *fn, const float *x, const float *grid, tl_size n, tl_size c, tl_size h, tl_size w,
                      tl_size ho, tl_size wo) {
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, grid);
    TL_CHECK_NONNEG(fn, n);
    TL_CHECK_NONNEG(fn, c);
    TL_CHECK_POS(fn, h);
    TL_CHECK_POS(fn, w);
    TL_CHECK_NONNEG(fn, ho);
    TL_CHECK_NONNEG(fn, wo);
    return TL_OK;
}

int tl_grid_sample_forward(float *y, const float *x, const float *grid, tl_size n, tl_size c, tl_size h, tl_size w,
                           tl_size ho, tl_size wo, int align_corners) {
    const char *fn = "tl_grid_sample_forward";
    TL_CHECK_PTR(fn, y);
    TL_TRY(check_args(fn, x, grid, n, c, h, w, ho, wo));
    const tl_size rows = n * ho, plane = h * w, out_plane = ho * wo;
    #pragma omp parallel for schedule(static) if (rows * wo * c > TL_PAR_MIN)
    for (tl_size r = 0; r < rows; r++) {
        const tl_size b = r / ho, oy = r % ho;
        for (tl_size ox = 0; ox < wo; ox++) {
            const float *g = grid + ((r * wo) + ox) * 2;
            const corners k = locate(g[0], g[1], h, w, align_corners);
            float wq[4];
            weights(wq, &k);
            for (tl_size ch = 0; ch < c; ch++) {
                const float *xs = x + (b * c + ch) * plane;
                float v = 0.0f;
                for (int q = 0; q < 4; q++)
                    if (k.valid[q]) v += wq[q] * xs[k.offset[q]];
                y[(b * c + ch) * out_plane + oy * wo + ox] = v;
            }
        }
    }
    return TL_OK;
}

int tl_grid_sample_backward(float *dx, float *dgrid, const float *dy, const float *x, const float *grid, tl_size n,
                            tl_size c, tl_size h, tl_size w, tl_size ho, tl_size wo, int align_corners) {
    const char *fn = "tl_grid_sample_backward";
    TL_CHECK_PTR(fn, dy);
    TL_TRY(check_args(fn, x, grid, n, c, h, w, ho, wo));
    const tl_size plane = h * w, out_plane = ho * wo;
    if (dx) {
        #pragma omp parallel for schedule(static) if (n * c * out_plane > TL_PAR_MIN)
        for (tl_size p = 0; p < n * c; p++) {
            float *ds = dx + p * plane;
            const float *gs = grid + (p / c) * out_plane * 2, *dys = dy + p * out_plane;
            memset(ds, 0, (size_t)plane * sizeof(float));
            for (tl_size o = 0; o < out_plane; o++) {
                const corners k = locate(gs[2 * o], gs[2 * o + 1], h, w, align_corners);
                float wq[4];
                weights(wq, &k);
                for (int q = 0; q < 4; q++)
                    if (k.valid[q]) ds[k.offset[q]] += wq[q] * dys[o];
            }
        }
    }
    if (dgrid) {
        const float sx = coordinate_scale(w, align_corners), sy = coordinate_scale(h, align_corners);
        #pragma omp parallel for schedule(static) if (n * c * out_plane > TL_PAR_MIN)
        for (tl_size p = 0; p < n * out_plane; p++) {
            const tl_size b = p / out_plane, o = p % out_plane;
            const float *g = grid + p * 2;
            const corners k = locate(g[0], g[1], h, w, align_corners);
            /* d weight / d tx and d weight / d ty of the four corners, in corner order. */
            const float dwx[4] = {-(1.0f - k.ty), 1.0f - k.ty, -k.ty, k.ty};
            const float dwy[4] = {-(1.0f - k.tx), -k.tx, 1.0f - k.tx, k.tx};
            float gx = 0.0f, gy = 0.0f;
            for (tl_size ch = 0; ch < c; ch++) {
                const float *xs = x + (b * c + ch) * plane;
                const float d = dy[(b * c + ch) * out_plane + o];
                for (int q = 0; q < 4; q++)
                    if (k.valid[q]) {
                        gx += dwx[q] * xs[k.offset[q]] * d;
                        gy += dwy[q] * xs[k.offset[q]] * d;
                    }
            }
            dgrid[p * 2] = gx * sx;
            dgrid[p * 2 + 1] = gy * sy;
        }
    }
    return TL_OK;
}

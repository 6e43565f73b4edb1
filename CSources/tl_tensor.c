/* Layout and broadcasting kernels on tensors of any rank (see tl_tensor.h). Each output element is
   written by one iteration of a parallel loop over outputs, so results do not depend on the thread count. */
#include "tl_internal.h"
#include "../include/tl_tensor.h"

#include <math.h>
#include <string.h>

/* Below this many elements a parallel region costs more than it saves. */
#define TL_PAR_MIN 32768

static int check_shape(const char *fn, const char *what, const tl_size *shape, int rank) {
    if (!shape) return tl_fail(TL_ERR_NULL_POINTER, "%s: %s is NULL", fn, what);
    for (int d = 0; d < rank; d++)
        if (shape[d] < 0) return tl_fail(TL_ERR_INVALID_ARGUMENT, "%s: %s[%d] = %td is negative", fn, what, d, shape[d]);
    return TL_OK;
}

static int check_rank(const char *fn, int rank) {
    TL_CHECK(fn, rank >= 1 && rank <= TL_MAX_RANK, "%s: rank must be in [1, %d], got %d", fn, TL_MAX_RANK, rank);
    return TL_OK;
}

static tl_size product(const tl_size *shape, int n) {
    tl_size p = 1;
    for (int d = 0; d < n; d++) p *= shape[d];
    return p;
}

/* Row-major element strides of `shape`, with 0 along the dims of size 1 so that they repeat (broadcast). */
static void broadcast_strides(tl_size *stride, const tl_size *shape, int rank) {
    tl_size s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        stride[d] = shape[d] == 1 ? 0 : s;
        s *= shape[d];
    }
}

/* Offset of row-major position `index` over shape[0..dims) in a tensor with the given strides. */
static tl_size offset_of(tl_size index, int dims, const tl_size *shape, const tl_size *stride) {
    tl_size offset = 0;
    for (int d = dims - 1; d >= 0; d--) {
        offset += (index % shape[d]) * stride[d];
        index /= shape[d];
    }
    return offset;
}

int tl_permute(float *y, const float *x, int rank, const tl_size *shape, const int *perm) {
    const char *fn = "tl_permute";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_PTR(fn, perm);
    TL_TRY(check_rank(fn, rank));
    TL_TRY(check_shape(fn, "shape", shape, rank));
    int seen[TL_MAX_RANK] = {0};
    for (int k = 0; k < rank; k++) {
        TL_CHECK(fn, perm[k] >= 0 && perm[k] < rank && !seen[perm[k]], "%s: perm is not a permutation of 0..%d (entry %d is %d)",
                 fn, rank - 1, k, perm[k]);
        seen[perm[k]] = 1;
    }
    tl_size in_stride[TL_MAX_RANK], out_shape[TL_MAX_RANK], stride[TL_MAX_RANK];
    tl_size s = 1;
    for (int d = rank - 1; d >= 0; d--) { in_stride[d] = s; s *= shape[d]; }
    for (int k = 0; k < rank; k++) { out_shape[k] = shape[perm[k]]; stride[k] = in_stride[perm[k]]; }
    const tl_size total = product(out_shape, rank), cols = out_shape[rank - 1];
    if (total == 0) return TL_OK;
    const tl_size rows = total / cols, step = stride[rank - 1];
    #pragma omp parallel for schedule(static) if (total > TL_PAR_MIN)
    for (tl_size r = 0; r < rows; r++) {
        const float *xs = x + offset_of(r, rank - 1, out_shape, stride);
        float *ys = y + r * cols;
        for (tl_size j = 0; j < cols; j++) ys[j] = xs[j * step];
    }
    return TL_OK;
}

/* Checks that a_shape broadcasts to y_shape (each dim equal or 1). */
static int check_broadcast(const char *fn, const char *what, const tl_size *shape, const tl_size *y_shape, int rank) {
    for (int d = 0; d < rank; d++)
        TL_CHECK(fn, shape[d] == y_shape[d] || shape[d] == 1, "%s: %s[%d] = %td does not broadcast to %td", fn, what, d,
                 shape[d], y_shape[d]);
    return TL_OK;
}

/* One row of y from rows of a and b stepping by sa and sb (0 repeats the element, 1 walks the row). */
#define TL_BROADCAST_ROW(expr) \
    for (tl_size j = 0; j < cols; j++) { const float av = as[j * sa], bv = bs[j * sb]; ys[j] = (expr); }

int tl_broadcast_binary(int op, float *y, const float *a, const tl_size *a_shape, const float *b,
                        const tl_size *b_shape, const tl_size *y_shape, int rank) {
    const char *fn = "tl_broadcast_binary";
    TL_CHECK_PTR(fn, y);
    TL_CHECK_PTR(fn, a);
    TL_CHECK_PTR(fn, b);
    TL_TRY(check_rank(fn, rank));
    TL_CHECK(fn, op >= TL_BINARY_ADD && op <= TL_BINARY_DIV, "%s: unknown op %d", fn, op);
    TL_TRY(check_shape(fn, "a_shape", a_shape, rank));
    TL_TRY(check_shape(fn, "b_shape", b_shape, rank));
    TL_TRY(check_shape(fn, "y_shape", y_shape, rank));
    TL_TRY(check_broadcast(fn, "a_shape", a_shape, y_shape, rank));
    TL_TRY(check_broadcast(fn, "b_shape", b_shape, y_shape, rank));
    tl_size a_stride[TL_MAX_RANK], b_stride[TL_MAX_RANK];
    broadcast_strides(a_stride, a_shape, rank);
    broadcast_strides(b_stride, b_shape, rank);
    const tl_size total = product(y_shape, rank), cols = y_shape[rank - 1];
    if (total == 0) return TL_OK;
    const tl_size rows = total / cols, sa = a_stride[rank - 1], sb = b_stride[rank - 1];
    #pragma omp parallel for schedule(static) if (total > TL_PAR_MIN)
    for (tl_size r = 0; r < rows; r++) {
        const float *as = a + offset_of(r, rank - 1, y_shape, a_stride);
        const float *bs = b + offset_of(r, rank - 1, y_shape, b_stride);
        float *ys = y + r * cols;
        switch (op) {
        case TL_BINARY_ADD: TL_BROADCAST_ROW(av + bv) break;
        case TL_BINARY_SUB: TL_BROADCAST_ROW(av - bv) break;
        case TL_BINARY_MUL: TL_BROADCAST_ROW(av * bv) break;
        default: TL_BROADCAST_ROW(av / bv) break;
        }
    }
    return TL_OK;
}

int tl_sum_to_shape(float *out, const float *x, const tl_size *x_shape, const tl_size *out_shape, int rank) {
    const char *fn = "tl_sum_to_shape";
    TL_CHECK_PTR(fn, out);
    TL_CHECK_PTR(fn, x);
    TL_TRY(check_rank(fn, rank));
    TL_TRY(check_shape(fn, "x_shape", x_shape, rank));
    TL_TRY(check_shape(fn, "out_shape", out_shape, rank));
    TL_TRY(check_broadcast(fn, "out_shape", out_shape, x_shape, rank));
    /* Kept dims address x through the output index; reduced dims are walked by an inner odometer. */
    tl_size x_stride[TL_MAX_RANK], kept_stride[TL_MAX_RANK], reduced_shape[TL_MAX_RANK], reduced_stride[TL_MAX_RANK];
    int reduced = 0;
    tl_size s = 1;
    for (int d = rank - 1; d >= 0; d--) { x_stride[d] = s; s *= x_shape[d]; }
    for (int d = 0; d < rank; d++) {
        const int folds = out_shape[d] == 1 && x_shape[d] != 1;
        kept_stride[d] = folds ? 0 : x_stride[d];
        if (folds) { reduced_shape[reduced] = x_shape[d]; reduced_stride[reduced] = x_stride[d]; reduced++; }
    }
    const tl_size total = product(out_shape, rank), per_output = product(reduced_shape, reduced);
    #pragma omp parallel for schedule(static) if (total * per_output > TL_PAR_MIN)
    for (tl_size o = 0; o < total; o++) {
        const float *xs = x + offset_of(o, rank, out_shape, kept_stride);
        tl_size counter[TL_MAX_RANK] = {0}, offset = 0;
        double acc = 0.0;
        for (tl_size r = 0; r < per_output; r++) {
            acc += xs[offset];
            for (int d = reduced - 1; d >= 0; d--) {
                offset += reduced_stride[d];
                if (++counter[d] < reduced_shape[d]) break;
                offset -= counter[d] * reduced_stride[d];
                counter[d] = 0;
            }
        }
        out[o] = (float)acc;
    }
    return TL_OK;
}

int tl_extreme_axis_forward(float *out, int64_t *index, const float *x, tl_size outer, tl_size axis, tl_size inner,
                            int minimum) {
    const char *fn = "tl_extreme_axis_forward";
    TL_CHECK_PTR(fn, out);
    TL_CHECK_PTR(fn, index);
    TL_CHECK_PTR(fn, x);
    TL_CHECK_NONNEG(fn, outer);
    TL_CHECK_POS(fn, axis);
    TL_CHECK_NONNEG(fn, inner);
    const tl_size total = outer * inner;
    #pragma omp parallel for schedule(static) if (total * axis > TL_PAR_MIN)
    for (tl_size p = 0; p < total; p++) {
        const float *xs = x + (p / inner) * axis * inner + p % inner;
        tl_size best = 0;
        float value = xs[0];
        for (tl_size j = 1; j < axis; j++) {
            const float v = xs[j * inner];
            /* Strict comparisons keep the first extreme; a NaN start is replaced by the first number. */
            if (minimum ? (v < value) : (v > value)) { value = v; best = j; }
            else if (isnan(value) && !isnan(v)) { value = v; best = j; }
        }
        out[p] = value;
        index[p] = (int64_t)best;
    }
    return TL_OK;
}

int tl_extreme_axis_backward(float *dx, const float *dout, const int64_t *index, tl_size outer, tl_size axis,
                             tl_size inner) {
    const char *fn = "tl_extreme_axis_backward";
    TL_CHECK_PTR(fn, dx);
    TL_CHECK_PTR(fn, dout);
    TL_CHECK_PTR(fn, index);
    TL_CHECK_NONNEG(fn, outer);
    TL_CHECK_POS(fn, axis);
    TL_CHECK_NONNEG(fn, inner);
    const tl_size total = outer * inner;
    for (tl_size p = 0; p < total; p++)
        TL_CHECK(fn, index[p] >= 0 && index[p] < axis, "%s: index[%td] = %lld is outside [0, %td)", fn, p,
                 (long long)index[p], axis);
    #pragma omp parallel for schedule(static) if (total * axis > TL_PAR_MIN)
    for (tl_size o = 0; o < outer; o++) {
        float *ds = dx + o * axis * inner;
        memset(ds, 0, (size_t)(axis * inner) * sizeof(float));
        for (tl_size i = 0; i < inner; i++) ds[index[o * inner + i] * inner + i] = dout[o * inner + i];
    }
    return TL_OK;
}

int tl_copy_axis_block(float *dst, tl_size dst_axis, tl_size dst_start, const float *src, tl_size src_axis,
                       tl_size src_start, tl_size outer, tl_size length, tl_size inner) {
    const char *fn = "tl_copy_axis_block";
    TL_CHECK_PTR(fn, dst);
    TL_CHECK_PTR(fn, src);
    TL_CHECK_NONNEG(fn, outer);
    TL_CHECK_NONNEG(fn, length);
    TL_CHECK_NONNEG(fn, inner);
    TL_CHECK(fn, dst_start >= 0 && dst_start + length <= dst_axis, "%s: block [%td, %td) is outside dst axis %td", fn,
             dst_start, dst_start + length, dst_axis);
    TL_CHECK(fn, src_start >= 0 && src_start + length <= src_axis, "%s: block [%td, %td) is outside src axis %td", fn,
             src_start, src_start + length, src_axis);
    const size_t bytes = (size_t)(length * inner) * sizeof(float);
    #pragma omp parallel for schedule(static) if (outer * length * inner > TL_PAR_MIN)
    for (tl_size o = 0; o < outer; o++)
        memcpy(dst + (o * dst_axis + dst_start) * inner, src + (o * src_axis + src_start) * inner, bytes);
    return TL_OK;
}

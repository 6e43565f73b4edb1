/* Fused optimiser updates and gradient-norm clipping. The updates stream their arrays once (SGD with
   momentum reads w, grad, buf and writes w, buf), so they are bound by memory bandwidth: each variant is
   a branch-free loop the compiler vectorises, run by every thread over its own contiguous range. */
#include "tl_internal.h"
#include "../include/tl_optim.h"

#include <math.h>
#include <omp.h>

/* Elements below which an update stays on the calling thread. */
#define TL_OPTIM_PARALLEL_MIN 65536

/* Fixed number of chunks the global norm is split into, whatever the thread count: the partial sums
   and the order they are combined in are the same with 1 or 64 threads. */
#define TL_NORM_CHUNKS 256

/* sqrtf may set errno, which stops clang from vectorising a loop that calls it; the elementwise builtin is
   the same IEEE square root without errno. The argument here is never negative. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define TL_SQRTF(x) __builtin_elementwise_sqrt(x)
#endif
#endif
#ifndef TL_SQRTF
#define TL_SQRTF(x) sqrtf(x)
#endif

/* This thread's share [*begin, *end) of n elements, cut at multiples of 16 floats (64 bytes) so that
   threads never share a cache line. */
static inline void tl_thread_range(tl_size n, tl_size *begin, tl_size *end) {
    const tl_size threads = omp_get_num_threads(), t = omp_get_thread_num();
    tl_size chunk = (n + threads - 1) / threads;
    chunk = (chunk + 15) & ~(tl_size)15;
    const tl_size b = t * chunk, e = b + chunk;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}

/* One SGD variant over [begin, end). The flags are compile-time constants at every call site, so each
   combination becomes its own branch-free vector loop. */
static inline __attribute__((always_inline)) void tl_sgd_range(
    float *restrict w, float *restrict buf, const float *restrict grad, const float *restrict mask,
    tl_size begin, tl_size end, float lr, float momentum, float wd,
    const int has_momentum, const int nesterov, const int first, const int masked) {
    #pragma omp simd
    for (tl_size i = begin; i < end; i++) {
        const float wi = w[i];
        float d = grad[i] + wd * wi;
        float b = 0.0f;
        if (has_momentum) {
            b = first ? d : momentum * buf[i] + d;
            d = nesterov ? d + momentum * b : b;
        }
        const float wn = wi - lr * d;
        if (masked) {
            const int keep = mask[i] != 0.0f;
            w[i] = keep ? wn : wi;
            if (has_momentum) buf[i] = keep ? b : (first ? 0.0f : buf[i]);
        } else {
            w[i] = wn;
            if (has_momentum) buf[i] = b;
        }
    }
}

/* Dispatch on the flags to a specialised loop (2 x 2 x 2 momentum variants + plain SGD, each with or without mask). */
static void tl_sgd_dispatch(float *w, float *buf, const float *grad, const float *mask, tl_size begin, tl_size end,
                            float lr, float momentum, float wd, int nesterov, int first) {
#define TL_SGD(hm, nv, fs, mk) tl_sgd_range(w, buf, grad, mask, begin, end, lr, momentum, wd, hm, nv, fs, mk)
    const int masked = mask != NULL;
    if (momentum == 0.0f) {
        if (masked) TL_SGD(0, 0, 0, 1); else TL_SGD(0, 0, 0, 0);
    } else if (nesterov) {
        if (first) { if (masked) TL_SGD(1, 1, 1, 1); else TL_SGD(1, 1, 1, 0); }
        else       { if (masked) TL_SGD(1, 1, 0, 1); else TL_SGD(1, 1, 0, 0); }
    } else {
        if (first) { if (masked) TL_SGD(1, 0, 1, 1); else TL_SGD(1, 0, 1, 0); }
        else       { if (masked) TL_SGD(1, 0, 0, 1); else TL_SGD(1, 0, 0, 0); }
    }
#undef TL_SGD
}

int tl_optim_sgd_step(float *w, float *buf, const float *grad, const float *mask, tl_size n,
                      float lr, float momentum, float weight_decay, int nesterov, int first_step) {
    static const char fn[] = "tl_optim_sgd_step";
    TL_CHECK_PTR(fn, w);
    TL_CHECK_PTR(fn, grad);
    TL_CHECK_NONNEG(fn, n);
    TL_CHECK(fn, lr >= 0.0f && isfinite(lr), "%s: lr must be finite and >= 0, got %g", fn, lr);
    TL_CHECK(fn, momentum >= 0.0f && isfinite(momentum), "%s: momentum must be finite and >= 0, got %g", fn, momentum);
    TL_CHECK(fn, weight_decay >= 0.0f && isfinite(weight_decay),
             "%s: weight_decay must be finite and >= 0, got %g", fn, weight_decay);
    TL_CHECK(fn, !nesterov || momentum > 0.0f, "%s: nesterov requires momentum > 0", fn);
    if (momentum > 0.0f) TL_CHECK_PTR(fn, buf);
    if (n >= TL_OPTIM_PARALLEL_MIN) {
        #pragma omp parallel
        {
            tl_size begin, end;
            tl_thread_range(n, &begin, &end);
            tl_sgd_dispatch(w, buf, grad, mask, begin, end, lr, momentum, weight_decay, nesterov, first_step);
        }
    } else {
        tl_sgd_dispatch(w, buf, grad, mask, 0, n, lr, momentum, weight_decay, nesterov, first_step);
    }
    return TL_OK;
}

/* The scalars of one AdamW step, rounded to float the way PyTorch's single-tensor path rounds them. */
typedef struct tl_adamw_consts {
    float decay;      /* 1 - lr wd */
    float lerp;       /* 1 - beta1: the weight of the new gradient in m */
    float beta2, one_minus_beta2;
    float step_size;  /* lr / (1 - beta1^step) */
    float bc2_sqrt;   /* sqrt(1 - beta2^step) */
    float eps;
} tl_adamw_consts;

static inline __attribute__((always_inline)) void tl_adamw_range(
    float *restrict w, float *restrict m, float *restrict v, const float *restrict grad, const float *restrict mask,
    tl_size begin, tl_size end, tl_adamw_consts k, const int masked) {
    #pragma omp simd
    for (tl_size i = begin; i < end; i++) {
        const float g = grad[i], wi = w[i], mi = m[i], vi = v[i];
        /* torch.lerp: the formula depends on which side of 0.5 the weight is. */
        const float mn = k.lerp < 0.5f ? mi + k.lerp * (g - mi) : g - (g - mi) * (1.0f - k.lerp);
        const float vn = vi * k.beta2 + k.one_minus_beta2 * g * g;
        const float denom = TL_SQRTF(vn) / k.bc2_sqrt + k.eps;
        const float wn = wi * k.decay - k.step_size * mn / denom;
        if (masked) {
            const int keep = mask[i] != 0.0f;
            w[i] = keep ? wn : wi;
            m[i] = keep ? mn : mi;
            v[i] = keep ? vn : vi;
        } else {
            w[i] = wn;
            m[i] = mn;
            v[i] = vn;
        }
    }
}

static void tl_adamw_dispatch(float *w, float *m, float *v, const float *grad, const float *mask,
                              tl_size begin, tl_size end, tl_adamw_consts k) {
    if (mask != NULL) tl_adamw_range(w, m, v, grad, mask, begin, end, k, 1);
    else tl_adamw_range(w, m, v, grad, mask, begin, end, k, 0);
}

int tl_optim_adamw_step(float *w, float *m, float *v, const float *grad, const float *mask, tl_size n,
                        float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step) {
    static const char fn[] = "tl_optim_adamw_step";
    TL_CHECK_PTR(fn, w);
    TL_CHECK_PTR(fn, m);
    TL_CHECK_PTR(fn, v);
    TL_CHECK_PTR(fn, grad);
    TL_CHECK_NONNEG(fn, n);
    TL_CHECK(fn, lr >= 0.0f && isfinite(lr), "%s: lr must be finite and >= 0, got %g", fn, lr);
    TL_CHECK(fn, beta1 >= 0.0f && beta1 < 1.0f, "%s: beta1 must be in [0, 1), got %g", fn, beta1);
    TL_CHECK(fn, beta2 >= 0.0f && beta2 < 1.0f, "%s: beta2 must be in [0, 1), got %g", fn, beta2);
    TL_CHECK(fn, eps > 0.0f && isfinite(eps), "%s: eps must be finite and > 0, got %g", fn, eps);
    TL_CHECK(fn, weight_decay >= 0.0f && isfinite(weight_decay),
             "%s: weight_decay must be finite and >= 0, got %g", fn, weight_decay);
    TL_CHECK(fn, step >= 1, "%s: step must be >= 1 (updates so far, this one included), got %lld", fn, (long long)step);
    /* Python computes these in double and the tensor ops use them rounded to float. */
    const double bc1 = 1.0 - pow((double)beta1, (double)step), bc2 = 1.0 - pow((double)beta2, (double)step);
    const tl_adamw_consts k = {
        .decay = (float)(1.0 - (double)lr * (double)weight_decay),
        .lerp = (float)(1.0 - (double)beta1),
        .beta2 = beta2,
        .one_minus_beta2 = (float)(1.0 - (double)beta2),
        .step_size = (float)((double)lr / bc1),
        .bc2_sqrt = (float)sqrt(bc2),
        .eps = eps,
    };
    if (n >= TL_OPTIM_PARALLEL_MIN) {
        #pragma omp parallel
        {
            tl_size begin, end;
            tl_thread_range(n, &begin, &end);
            tl_adamw_dispatch(w, m, v, grad, mask, begin, end, k);
        }
    } else {
        tl_adamw_dispatch(w, m, v, grad, mask, 0, n, k);
    }
    return TL_OK;
}

/* Checks the array list of the norm functions and returns the total element count in *total. */
static int tl_check_arrays(const char *fn, const void *const *arrays, const tl_size *counts, tl_size k, tl_size *total) {
    TL_CHECK_NONNEG(fn, k);
    if (k > 0) {
        TL_CHECK_PTR(fn, arrays);
        TL_CHECK_PTR(fn, counts);
    }
    tl_size t = 0;
    for (tl_size j = 0; j < k; j++) {
        if (counts[j] < 0)
            return tl_fail(TL_ERR_INVALID_ARGUMENT, "%s: counts[%td] must be >= 0, got %td", fn, (ptrdiff_t)j, (ptrdiff_t)counts[j]);
        if (counts[j] > 0 && arrays[j] == NULL)
            return tl_fail(TL_ERR_NULL_POINTER, "%s: arrays[%td] is NULL (count %td)", fn, (ptrdiff_t)j, (ptrdiff_t)counts[j]);
        t += counts[j];
    }
    *total = t;
    return TL_OK;
}

/* The piece of array j that global range [begin, end) covers (arrays laid end to end, array j starting at
   global index base): [*lo, *hi) within the array, empty when *lo >= *hi. */
static inline void tl_segment(tl_size base, tl_size count, tl_size begin, tl_size end, tl_size *lo, tl_size *hi) {
    *lo = begin > base ? begin - base : 0;
    *hi = end - base < count ? end - base : count;
}

/* sum of x^2 over global range [begin, end) of the arrays, in double, in index order per vector lane. */
static double tl_sumsq_range(const float *const *arrays, const tl_size *counts, tl_size k, tl_size begin, tl_size end) {
    double acc = 0.0;
    tl_size base = 0;
    for (tl_size j = 0; j < k && base < end; base += counts[j], j++) {
        tl_size lo, hi;
        tl_segment(base, counts[j], begin, end, &lo, &hi);
        const float *x = arrays[j];
        double s = 0.0;
        #pragma omp simd reduction(+ : s)
        for (tl_size i = lo; i < hi; i++) s += (double)x[i] * (double)x[i];
        acc += s;
    }
    return acc;
}

static void tl_scale_range(float *const *arrays, const tl_size *counts, tl_size k, tl_size begin, tl_size end, float scale) {
    tl_size base = 0;
    for (tl_size j = 0; j < k && base < end; base += counts[j], j++) {
        tl_size lo, hi;
        tl_segment(base, counts[j], begin, end, &lo, &hi);
        float *x = arrays[j];
        #pragma omp simd
        for (tl_size i = lo; i < hi; i++) x[i] *= scale;
    }
}

int tl_optim_global_norm(float *norm, const float *const *arrays, const tl_size *counts, tl_size k) {
    static const char fn[] = "tl_optim_global_norm";
    TL_CHECK_PTR(fn, norm);
    tl_size total;
    TL_TRY(tl_check_arrays(fn, (const void *const *)arrays, counts, k, &total));
    double partial[TL_NORM_CHUNKS];
    #pragma omp parallel for schedule(static) if (total >= TL_OPTIM_PARALLEL_MIN)
    for (tl_size c = 0; c < TL_NORM_CHUNKS; c++)
        partial[c] = tl_sumsq_range(arrays, counts, k, total * c / TL_NORM_CHUNKS, total * (c + 1) / TL_NORM_CHUNKS);
    double sum = 0.0;
    for (tl_size c = 0; c < TL_NORM_CHUNKS; c++) sum += partial[c];
    *norm = (float)sqrt(sum);
    return TL_OK;
}

/* Scale the k arrays in place, split into the same fixed chunks as the norm. */
static void tl_scale_arrays(float *const *arrays, const tl_size *counts, tl_size k, tl_size total, float scale) {
    #pragma omp parallel for schedule(static) if (total >= TL_OPTIM_PARALLEL_MIN)
    for (tl_size c = 0; c < TL_NORM_CHUNKS; c++)
        tl_scale_range(arrays, counts, k, total * c / TL_NORM_CHUNKS, total * (c + 1) / TL_NORM_CHUNKS, scale);
}

int tl_optim_scale(float *const *arrays, const tl_size *counts, tl_size k, float scale) {
    static const char fn[] = "tl_optim_scale";
    tl_size total;
    TL_TRY(tl_check_arrays(fn, (const void *const *)arrays, counts, k, &total));
    tl_scale_arrays(arrays, counts, k, total, scale);
    return TL_OK;
}

int tl_optim_clip_grad_norm(float *total_norm, float *const *grads, const tl_size *counts, tl_size k, float max_norm) {
    static const char fn[] = "tl_optim_clip_grad_norm";
    TL_CHECK_PTR(fn, total_norm);
    TL_CHECK(fn, max_norm > 0.0f && isfinite(max_norm), "%s: max_norm must be finite and > 0, got %g", fn, max_norm);
    tl_size total;
    TL_TRY(tl_check_arrays(fn, (const void *const *)grads, counts, k, &total));
    float norm;
    TL_TRY(tl_optim_global_norm(&norm, (const float *const *)grads, counts, k));
    *total_norm = norm;
    if (!isfinite(norm))
        return tl_fail(TL_ERR_NUMERIC, "%s: the gradient norm is %g; gradients left unchanged", fn, norm);
    /* Float arithmetic as in PyTorch; a factor of exactly 1 would change nothing, so it is skipped. */
    const float coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f) tl_scale_arrays(grads, counts, k, total, coef);
    return TL_OK;
}

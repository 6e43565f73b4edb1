/* Matrix products: OpenBLAS does the arithmetic single-threaded, OpenMP splits C between threads. */
#include "tl_internal.h"
#include "../include/tl_gemm.h"

#include <cblas.h>
#include <limits.h>
#include <omp.h>

/* Below this many multiply-adds a second thread costs more (wake-up, duplicate packing) than it saves. */
#define TL_GEMM_PARALLEL_MIN_FMA ((tl_size)1 << 20)

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
    /* OpenBLAS takes int sizes. */
    TL_CHECK(fn, M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX,
             "%s: sizes and leading dimensions must fit in an int", fn);
    const tl_size min_lda = trans_a ? M : K, min_ldb = trans_b ? K : N;
    TL_CHECK(fn, lda >= min_lda, "%s: lda must be >= %td, got %td", fn, min_lda, lda);
    TL_CHECK(fn, ldb >= min_ldb, "%s: ldb must be >= %td, got %td", fn, min_ldb, ldb);
    TL_CHECK(fn, ldc >= N, "%s: ldc must be >= N = %td, got %td", fn, N, ldc);
    return TL_OK;
}

static void blas(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha, const float *A, tl_size lda,
                 const float *B, tl_size ldb, float beta, float *C, tl_size ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
                (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* Part `part` of `parts` of [0, n), boundaries on multiples of 16 so that every part but the last
   starts and ends on whole OpenBLAS register tiles. */
static void split_range(tl_size n, int parts, int part, tl_size *begin, tl_size *end) {
    tl_size chunk = (n + parts - 1) / parts;
    chunk = (chunk + 15) / 16 * 16;
    *begin = (tl_size)part * chunk < n ? (tl_size)part * chunk : n;
    *end = *begin + chunk < n ? *begin + chunk : n;
}

/* C is cut into two blocks along its larger dimension (rows on ties) when the product is large enough,
   else left whole. The cut depends only on the shape: OpenBLAS may round an element differently in a
   product of another size, so a cut that followed the thread count would make the bits depend on it.
   The blocks go to the available threads (one thread computes both, in order). */
static void gemm_parallel(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha, const float *A,
                          tl_size lda, const float *B, tl_size ldb, float beta, float *C, tl_size ldc) {
    const int split_cols = N > M; /* rows on ties: measured a few % faster for square products */
    const tl_size dim = split_cols ? N : M;
    const double fma = (double)M * (double)N * (double)K; /* in double: no overflow for any int sizes */
    const int parts = fma >= (double)TL_GEMM_PARALLEL_MIN_FMA && dim >= 32 ? 2 : 1;
    if (parts == 1) {
        blas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    #pragma omp parallel for schedule(static) if (omp_get_max_threads() > 1)
    for (int part = 0; part < parts; part++) {
        tl_size begin, end;
        split_range(dim, parts, part, &begin, &end);
        if (end <= begin) continue;
        if (split_cols) {
            const float *Bp = trans_b ? B + begin * ldb : B + begin;
            blas(trans_a, trans_b, M, end - begin, K, alpha, A, lda, Bp, ldb, beta, C + begin, ldc);
        } else {
            const float *Ap = trans_a ? A + begin : A + begin * lda;
            blas(trans_a, trans_b, end - begin, N, K, alpha, Ap, lda, B, ldb, beta, C + begin * ldc, ldc);
        }
    }
}

int tl_sgemm(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha, const float *A, tl_size lda,
             const float *B, tl_size ldb, float beta, float *C, tl_size ldc) {
    TL_TRY(gemm_check("tl_sgemm", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc));
    gemm_parallel(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return TL_OK;
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
    if (batch == 0) return TL_OK;
    /* Shape-only choice again: several products run one per thread, a single product is cut in two. */
    if (batch >= 2) {
        const double fma = (double)batch * (double)M * (double)N * (double)K;
        #pragma omp parallel for schedule(static) if (fma >= (double)TL_GEMM_PARALLEL_MIN_FMA)
        for (tl_size b = 0; b < batch; b++)
            blas(trans_a, trans_b, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb, beta,
                 C + b * stride_c, ldc);
    } else {
        gemm_parallel(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    return TL_OK;
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
    TL_TRY(gemm_check("tl_sgemm_openblas_direct", trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc));
    openblas_set_num_threads(omp_get_max_threads());
    blas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    openblas_set_num_threads(1);
    return TL_OK;
}

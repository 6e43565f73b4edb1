/* TrainingLab core: single-precision matrix products (our own packed, register-blocked GEMM; OpenBLAS
   only as the tests' and benchmarks' reference).
   All matrices are row-major. trans_x is 0 (use X as stored) or 1 (use its transpose); op(A) is M x K,
   op(B) is K x N, C is M x N. Leading dimensions are the stored row lengths: lda >= (trans_a ? M : K),
   ldb >= (trans_b ? K : N), ldc >= N; elements past a row's length are never read or written. beta == 0
   overwrites C (its old contents, even NaN, are ignored). M, N and K must be > 0; a strided batch of 0
   matrices is a no-op.
   Numerics: K is cut into blocks whose size depends on K, the micro-kernel and the CPU's L1 size only;
   each block adds alpha times its products, summed in k order, to the element (the first block to beta
   times the old value). The
   threads share out blocks of C, which changes which thread computes an element but not how: the result
   is bitwise the same for any number of threads, and whether the call comes from inside an OpenMP
   parallel region (it then runs on the calling thread alone) or not. The micro-kernel is the widest the
   CPU has, capped by the environment variable TL_ISA (tl_cpu.h); different kernels may differ in the last
   bits. Products from 2^17 multiply-adds use all OpenMP threads; a strided batch of two or more products
   runs one product per thread instead. */
#ifndef TL_GEMM_H
#define TL_GEMM_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C (M,N) = alpha * op(A) (M,K) op(B) (K,N) + beta * C. TL_ERR_OUT_OF_MEMORY when the packing buffers cannot grow. */
int tl_sgemm(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha, const float *A, tl_size lda,
             const float *B, tl_size ldb, float beta, float *C, tl_size ldc);

/* For b < batch: C + b*stride_c = alpha * op(A + b*stride_a) op(B + b*stride_b) + beta * C + b*stride_c.
   A stride of 0 shares one matrix across the batch (not allowed for C). Parallel over the batch when it
   has two or more matrices, otherwise within the product. */
int tl_sgemm_strided_batched(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha,
                             const float *A, tl_size lda, tl_size stride_a, const float *B, tl_size ldb,
                             tl_size stride_b, float beta, float *C, tl_size ldc, tl_size stride_c, tl_size batch);

/* Plain triple loop with double accumulation, same contract as tl_sgemm: the reference of the tests. */
int tl_sgemm_ref(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha, const float *A, tl_size lda,
                 const float *B, tl_size ldb, float beta, float *C, tl_size ldc);

/* The micro-kernel tl_sgemm runs with now, e.g. "avx512 8x48" (ISA, register tile rows x columns):
   the widest the CPU has, capped by TL_ISA (tl_cpu.h). Static string, never NULL. */
const char *tl_gemm_kernel_name(void);

/* Benchmark reference only: one cblas_sgemm call with OpenBLAS's own threads set to tl_get_num_threads()
   for the call (restored to 1 afterwards). Not for use inside kernels. */
int tl_sgemm_openblas_direct(int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha,
                             const float *A, tl_size lda, const float *B, tl_size ldb, float beta, float *C,
                             tl_size ldc);

#ifdef __cplusplus
}
#endif
#endif

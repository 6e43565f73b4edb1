/* Private to the GEMM files: the micro-kernel interface, one descriptor per kernel family, and the
   unchecked product the convolution files call. */
#ifndef TL_GEMM_INTERNAL_H
#define TL_GEMM_INTERNAL_H

#include "tl_internal.h"

/* c (m x n, rows ldc apart, 0 < m <= MR, 0 < n <= NR) = alpha * a b + beta * c, where a is a packed
   sliver of MR rows of op(A) (a[k*MR + i] = a(i, k), rows past m zero) and b(k, j) = b[k*b_ks + j] (a
   packed sliver, or the caller's matrix itself: columns past n are never read). Every element is the sum
   over k = 0, 1, ... kc-1 in that order from 0, then alpha * sum + beta * c; beta == 0 never reads c.
   So the same element gets the same bits whatever tile it falls in. */
typedef void (*tl_gemm_micro_fn)(tl_size kc, const float *a, const float *b, tl_size b_ks, float *c, tl_size ldc, int m,
                                 int n, float alpha, float beta);

/* A micro-kernel family: its register tile MR x NR (NR a multiple of its vector length VL: it also runs
   narrower tiles of whole vectors) and its name for reports ("avx512 8x48"). */
typedef struct tl_gemm_kernel {
    const char *name;
    int mr, nr, vl;
    tl_gemm_micro_fn micro;
} tl_gemm_kernel;

extern const tl_gemm_kernel tl_gemm_kernel_avx512; /* tl_gemm_avx512.c */
extern const tl_gemm_kernel tl_gemm_kernel_avx2;   /* tl_gemm_avx2.c */
extern const tl_gemm_kernel tl_gemm_kernel_portable; /* tl_gemm_portable.c */

/* The kernel family tl_sgemm uses now: the widest the CPU has, capped by TL_ISA (read per call). */
const tl_gemm_kernel *tl_gemm_pick(void);

/* C (M,N) = alpha op(A) op(B) + beta C with micro-kernel `kern`, without argument checks (the tl_sgemm
   contract otherwise). Runs on the available threads, or on the calling thread alone when called inside
   a parallel region (the convolutions call it from their own workers); the bits are the same either
   way. Returns TL_OK or TL_ERR_OUT_OF_MEMORY (packing buffers) without recording a message. */
int tl_gemm_run(const tl_gemm_kernel *kern, int trans_a, int trans_b, tl_size M, tl_size N, tl_size K, float alpha,
                const float *A, tl_size lda, const float *B, tl_size ldb, float beta, float *C, tl_size ldc);

/* For many small products (Winograd's 36 per block of tiles): op(A) (M,K) packed into `kern`'s slivers,
   tl_gemm_packed_a_floats(kern, M, K) floats at dst (once, when A serves many products), then each
   product reads B in place, without blocking, packing or threads. K is one block (summed in order 0..K-1), so the bits may
   differ from tl_gemm_run's for the same product when K exceeds its block size. */
tl_size tl_gemm_packed_a_floats(const tl_gemm_kernel *kern, tl_size M, tl_size K);
void tl_gemm_pack_a(const tl_gemm_kernel *kern, float *dst, int trans_a, tl_size M, tl_size K, const float *A, tl_size lda);

/* C (M,N) = alpha op(A) B + beta C on the calling thread, op(A) packed by tl_gemm_pack_a, B (K,N) rows ldb apart. */
void tl_gemm_packed_a_product(const tl_gemm_kernel *kern, tl_size M, tl_size N, tl_size K, float alpha, const float *Ap,
                              const float *B, tl_size ldb, float beta, float *C, tl_size ldc);

#endif

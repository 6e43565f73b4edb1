/* The AVX2+FMA GEMM micro-kernel: 6 x 16 (12 accumulators, 2 vectors of b and the broadcast of a in
   the 16 ymm registers). */
#include "tl_gemm_internal.h"

#include <immintrin.h>

/* Partial vectors: lanes [0, n) of mask8_table + 8 - n are all ones. */
static const int mask8_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

#define KSUF avx2
#define KATTR __attribute__((target("avx2,fma")))
#define VL 8
#define MR 6
#define NV 2
#define VT __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMASK(n) _mm256_loadu_si256((const __m256i *)(mask8_table + 8 - (n)))
#define VLOADN(p, n) _mm256_maskload_ps(p, VMASK(n))
#define VSTOREN(p, n, v) _mm256_maskstore_ps(p, VMASK(n), v)
#include "tl_gemm_kernel.h"

const tl_gemm_kernel tl_gemm_kernel_avx2 = {"avx2 6x16", MR, NV * VL, VL, gemm_micro_avx2};

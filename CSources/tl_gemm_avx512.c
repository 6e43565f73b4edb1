/* The AVX-512 GEMM micro-kernel: 32 zmm registers hold MR x NV accumulators, NV vectors of b and the
   broadcast of a. */
#include "tl_gemm_internal.h"

#include <immintrin.h>

#ifndef GEMM512_MR
#define GEMM512_MR 8
#endif
#ifndef GEMM512_NV
#define GEMM512_NV 3
#endif

#define KSUF avx512
#define KATTR __attribute__((target("avx512f")))
#define VL 16
#define MR GEMM512_MR
#define NV GEMM512_NV
#define VT __m512
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VZERO() _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VLOADN(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define VSTOREN(p, n, v) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
#include "tl_gemm_kernel.h"

#define STR2(x) #x
#define STR(x) STR2(x)
const tl_gemm_kernel tl_gemm_kernel_avx512 = {"avx512 " STR(GEMM512_MR) "x" STR(GEMM512_NV), MR, NV * VL, gemm_micro_avx512};

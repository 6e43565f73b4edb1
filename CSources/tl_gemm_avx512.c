/* The AVX-512 GEMM micro-kernel, 8 x 48: 24 accumulators, 3 vectors of b and the broadcast of a in the
   32 zmm registers. Measured on an Ice Lake Xeon (tiles in L1, best of 400 runs): 8 x 48 and 6 x 64
   (24 accumulators) reach the FMA units' peak, 8 x 32 and 12 x 32 about 10 % less; 8 rows divide the
   channel counts of convolutions (16, 32, 64) and 48 columns also run tiles of 16 and 32. */
#include "tl_gemm_internal.h"

#include <immintrin.h>

#define KSUF avx512
#define KATTR __attribute__((target("avx512f")))
#define VL 16
#define MR 8
#define NV 3
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

const tl_gemm_kernel tl_gemm_kernel_avx512 = {"avx512 8x48", MR, NV * VL, VL, gemm_micro_avx512};

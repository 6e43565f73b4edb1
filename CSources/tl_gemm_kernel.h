/* The vector GEMM micro-kernel, written once and included once per instruction set (no include guard
   on purpose). The includer defines:
     KSUF        suffix of the generated names (avx2, avx512)
     KATTR       function attribute selecting the instruction set
     VL          floats per vector
     MR, NV      register tile: MR rows of C x NV vectors of VL columns (NR = NV * VL)
     VT VLOAD VSTORE VZERO VSET1 VMUL VFMA VLOADN(p, n) VSTOREN(p, n, v)
                 vector type and operations; the N forms touch only the first n lanes (0 < n <= VL).
   NV must be at most 4.
   The accumulators (MR x NV vectors), the NV vectors of b and the broadcast of a stay in registers:
   the includer picks MR and NV so that MR * NV + NV + 1 fit its register file. */

#define KCAT2(a, b) a##_##b
#define KCAT(a, b) KCAT2(a, b)
#define KNAME(name) KCAT(name, KSUF)

_Static_assert(NV >= 1 && NV <= 4, "gemm_micro handles 1 to 4 vectors per row");

/* acc += a(i, k) b(k, j) for one step k (b points at row k) over the first nv vectors of the tile; the
   last one (when `masked`) holds `tail` lanes of the matrix, the others none. */
static inline __attribute__((always_inline)) KATTR void KNAME(gemm_step)(VT acc[MR][NV], int nv, int masked, int tail,
                                                                         const float *a, const float *b) {
    VT bv[NV];
    for (int j = 0; j < nv; j++) bv[j] = masked && j == nv - 1 ? VLOADN(b + j * VL, tail) : VLOAD(b + j * VL);
    for (int i = 0; i < MR; i++) {
        const VT av = VSET1(a[i]);
        for (int j = 0; j < nv; j++) acc[i][j] = VFMA(av, bv[j], acc[i][j]);
    }
}

/* The micro-kernel for tiles of nv vectors (a constant where it is inlined), the last one of `tail`
   lanes when `masked`: accumulate over k, four steps per iteration, then update m rows of C. */
static inline __attribute__((always_inline)) KATTR void KNAME(gemm_tile)(int nv, int masked, int tail, tl_size kc,
                                                                         const float *a, const float *b, tl_size b_ks,
                                                                         float *c, tl_size ldc, int m, float alpha,
                                                                         float beta) {
    VT acc[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < nv; j++) acc[i][j] = VZERO();
    tl_size k = 0;
    for (; k + 4 <= kc; k += 4, a += 4 * MR, b += 4 * b_ks) {
        KNAME(gemm_step)(acc, nv, masked, tail, a, b);
        KNAME(gemm_step)(acc, nv, masked, tail, a + MR, b + b_ks);
        KNAME(gemm_step)(acc, nv, masked, tail, a + 2 * MR, b + 2 * b_ks);
        KNAME(gemm_step)(acc, nv, masked, tail, a + 3 * MR, b + 3 * b_ks);
    }
    for (; k < kc; k++, a += MR, b += b_ks) KNAME(gemm_step)(acc, nv, masked, tail, a, b);
    const VT va = VSET1(alpha), vb = VSET1(beta);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < nv; j++) {
            float *p = c + i * ldc + j * VL;
            const VT r = VMUL(va, acc[i][j]);
            if (masked && j == nv - 1) VSTOREN(p, tail, beta == 0.0f ? r : VFMA(vb, VLOADN(p, tail), r));
            else VSTORE(p, beta == 0.0f ? r : VFMA(vb, VLOAD(p), r));
        }
}

/* The tl_gemm_micro_fn contract (tl_gemm_internal.h) for an MR x (NV*VL) tile. Narrow tiles run a copy
   of the kernel without the vectors past n (no multiply-adds on padding), full-height tiles one whose
   row count is a constant. */
static KATTR void KNAME(gemm_micro)(tl_size kc, const float *a, const float *b, tl_size b_ks, float *c, tl_size ldc,
                                    int m, int n, float alpha, float beta) {
    const int nv = (n + VL - 1) / VL, tail = n - (nv - 1) * VL;
#define KTILE(NVEC)                                                                                                    \
    do {                                                                                                               \
        enum { W = (NVEC) <= NV ? (NVEC) : NV };                                                                       \
        if (tail < VL) KNAME(gemm_tile)(W, 1, tail, kc, a, b, b_ks, c, ldc, m, alpha, beta);                     \
        else if (m == MR) KNAME(gemm_tile)(W, 0, VL, kc, a, b, b_ks, c, ldc, MR, alpha, beta);                   \
        else KNAME(gemm_tile)(W, 0, VL, kc, a, b, b_ks, c, ldc, m, alpha, beta);                                 \
    } while (0)
    switch (nv) {
    case 1: KTILE(1); break;
    case 2: KTILE(2); break;
    case 3: KTILE(3); break;
    default: KTILE(4); break;
    }
#undef KTILE
}

#undef KCAT2
#undef KCAT
#undef KNAME

/* The vector GEMM micro-kernel, written once and included once per instruction set (no include guard
   on purpose). The includer defines:
     KSUF        suffix of the generated names (avx2, avx512)
     KATTR       function attribute selecting the instruction set
     VL          floats per vector
     MR, NV      register tile: MR rows of C x NV vectors of VL columns (NR = NV * VL)
     VT VLOAD VSTORE VZERO VSET1 VMUL VFMA VLOADN(p, n) VSTOREN(p, n, v)
                 vector type and operations; the N forms touch only the first n lanes (0 < n <= VL).
   The accumulators (MR x NV vectors), the NV vectors of b and the broadcast of a stay in registers:
   the includer picks MR and NV so that MR * NV + NV + 1 fit its register file. */

#define KCAT2(a, b) a##_##b
#define KCAT(a, b) KCAT2(a, b)
#define KNAME(name) KCAT(name, KSUF)

/* acc += a(i, k) b(k, j) for one step k (b points at row k); `lanes` (when `masked`) are the lanes of
   each b vector inside the matrix. */
static inline __attribute__((always_inline)) KATTR void KNAME(gemm_step)(VT acc[MR][NV], const float *const *ar,
                                                                         tl_size ak, const float *b, int masked,
                                                                         const int *lanes) {
    VT bv[NV];
    for (int j = 0; j < NV; j++) bv[j] = masked ? (lanes[j] > 0 ? VLOADN(b + j * VL, lanes[j]) : VZERO()) : VLOAD(b + j * VL);
    for (int i = 0; i < MR; i++) {
        const VT av = VSET1(ar[i][ak]);
        for (int j = 0; j < NV; j++) acc[i][j] = VFMA(av, bv[j], acc[i][j]);
    }
}

/* acc (MR x NR) = sum over k < kc, in order, of a(i, k) b(k, j). Four steps per iteration (measured
   up to 1.3x faster than one: the loop's own instructions compete with the loads). Inlined twice, so
   that full tiles load b without masks. */
static inline __attribute__((always_inline)) KATTR void KNAME(gemm_accumulate)(
    VT acc[MR][NV], tl_size kc, const float *const *ar, tl_size a_ks, const float *restrict b, tl_size b_ks,
    int masked, const int *lanes) {
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NV; j++) acc[i][j] = VZERO();
    tl_size k = 0;
    for (; k + 4 <= kc; k += 4, b += 4 * b_ks) {
        KNAME(gemm_step)(acc, ar, k * a_ks, b, masked, lanes);
        KNAME(gemm_step)(acc, ar, (k + 1) * a_ks, b + b_ks, masked, lanes);
        KNAME(gemm_step)(acc, ar, (k + 2) * a_ks, b + 2 * b_ks, masked, lanes);
        KNAME(gemm_step)(acc, ar, (k + 3) * a_ks, b + 3 * b_ks, masked, lanes);
    }
    for (; k < kc; k++, b += b_ks) KNAME(gemm_step)(acc, ar, k * a_ks, b, masked, lanes);
}

/* The tl_gemm_micro_fn contract (tl_gemm_internal.h) for an MR x (NV*VL) tile. */
static KATTR void KNAME(gemm_micro)(tl_size kc, const float *a, tl_size a_rs, tl_size a_ks, const float *b,
                                    tl_size b_ks, float *c, tl_size ldc, int m, int n, float alpha, float beta) {
    enum { NR = NV * VL };
    const float *ar[MR]; /* rows past m repeat row m-1: they are computed and dropped, never out of bounds */
    for (int i = 0; i < MR; i++) ar[i] = a + (i < m ? i : m - 1) * a_rs;
    int lanes[NV];
    for (int j = 0; j < NV; j++) lanes[j] = n - j * VL < 0 ? 0 : n - j * VL < VL ? n - j * VL : VL;
    VT acc[MR][NV];
    if (n == NR) KNAME(gemm_accumulate)(acc, kc, ar, a_ks, b, b_ks, 0, lanes);
    else KNAME(gemm_accumulate)(acc, kc, ar, a_ks, b, b_ks, 1, lanes);
    const VT va = VSET1(alpha), vb = VSET1(beta);
    if (m == MR && n == NR) {
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NV; j++) {
                float *p = c + i * ldc + j * VL;
                const VT r = VMUL(va, acc[i][j]);
                VSTORE(p, beta == 0.0f ? r : VFMA(vb, VLOAD(p), r));
            }
        return;
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < NV && lanes[j] > 0; j++) {
            float *p = c + i * ldc + j * VL;
            const VT r = VMUL(va, acc[i][j]);
            VSTOREN(p, lanes[j], beta == 0.0f ? r : VFMA(vb, VLOADN(p, lanes[j]), r));
        }
}

#undef KCAT2
#undef KCAT
#undef KNAME

/* Register-tiled inner kernels of tl_conv_direct.c, written once and included once per instruction
   set (no include guard on purpose). The includer defines:
     KSUF          suffix of the generated names (avx2, avx512)
     KATTR         function attribute selecting the instruction set
     VL            floats per vector
     MR, NV        forward tile: MR output channels x NV vectors of flattened outputs
     MRW, NTW      weight-gradient tile: MRW output channels x NTW taps
     VT VLOAD VSTORE VZERO VSET1 VFMA   vector type and operations (unaligned loads and stores). */

#define KCAT2(a, b) a##_##b
#define KCAT(a, b) KCAT2(a, b)
#define KNAME(name) KCAT(name, KSUF)

/* yflat (KB*MR rows of stride ldy)[k][q] = sum over taps t of wp (KB, T, MR)[kb][t][m] * xp[toff[t] + q]
   for q < nq, a multiple of NV*VL. */
static KATTR void KNAME(direct_forward_kernel)(float *restrict yflat, tl_size ldy, const float *restrict xp,
                                               const float *restrict wp, const int *restrict toff, tl_size T,
                                               tl_size KB, tl_size nq) {
    for (tl_size q0 = 0; q0 < nq; q0 += NV * VL)
        for (tl_size kb = 0; kb < KB; kb++) {
            VT acc[MR][NV];
            for (int m = 0; m < MR; m++)
                for (int v = 0; v < NV; v++) acc[m][v] = VZERO();
            const float *w = wp + kb * T * MR;
            const float *base = xp + q0;
            for (tl_size t = 0; t < T; t++) {
                const float *src = base + toff[t];
                VT x[NV];
                for (int v = 0; v < NV; v++) x[v] = VLOAD(src + v * VL);
                for (int m = 0; m < MR; m++) {
                    const VT wm = VSET1(w[t * MR + m]);
                    for (int v = 0; v < NV; v++) acc[m][v] = VFMA(wm, x[v], acc[m][v]);
                }
            }
            for (int m = 0; m < MR; m++)
                for (int v = 0; v < NV; v++) VSTORE(yflat + (kb * MR + m) * ldy + q0 + v * VL, acc[m][v]);
        }
}

/* vacc (KB, TB, MRW, NTW, VL) (+)= lane-wise sums over q of dyflat (KB*MRW, Qr)[k][q] * xp[toff[t] + q] for
   taps t = tb*NTW + j; `first` overwrites instead of adding. Qr a multiple of VL. */
static KATTR void KNAME(direct_weight_kernel)(float *restrict vacc, const float *restrict dyflat,
                                              const float *restrict xp, const int *restrict toff, tl_size TB,
                                              tl_size KB, tl_size Qr, int first) {
    for (tl_size kb = 0; kb < KB; kb++)
        for (tl_size tb = 0; tb < TB; tb++) {
            float *out = vacc + ((kb * TB + tb) * MRW * NTW) * VL;
            VT acc[MRW][NTW];
            for (int m = 0; m < MRW; m++)
                for (int j = 0; j < NTW; j++) acc[m][j] = first ? VZERO() : VLOAD(out + (m * NTW + j) * VL);
            const float *dk = dyflat + kb * MRW * Qr;
            const float *src[NTW];
            for (int j = 0; j < NTW; j++) src[j] = xp + toff[tb * NTW + j];
            for (tl_size q = 0; q < Qr; q += VL) {
                VT x[NTW];
                for (int j = 0; j < NTW; j++) x[j] = VLOAD(src[j] + q);
                for (int m = 0; m < MRW; m++) {
                    const VT d = VLOAD(dk + m * Qr + q);
                    for (int j = 0; j < NTW; j++) acc[m][j] = VFMA(d, x[j], acc[m][j]);
                }
            }
            for (int m = 0; m < MRW; m++)
                for (int j = 0; j < NTW; j++) VSTORE(out + (m * NTW + j) * VL, acc[m][j]);
        }
}

#undef KNAME
#undef KCAT
#undef KCAT2

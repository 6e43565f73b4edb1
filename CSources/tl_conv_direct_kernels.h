/* Register-tiled inner kernels of tl_conv_direct.c, written once and included once per instruction
   set (no include guard on purpose). The includer defines:
     KSUF          suffix of the generated names (avx2, avx512)
     KATTR         function attribute selecting the instruction set
     VL            floats per vector
     MR, NV        forward tile: MR output channels x NV output vectors
     MRW, NTW      weight-gradient tile: MRW output channels x NTW taps
     VT VLOAD VZERO VSET1 VFMA VLOADN(p, n) VSTOREN(p, n, v)
                   vector type and operations; the N forms touch only the first n lanes (n <= VL). */

#define KCAT2(a, b) a##_##b
#define KCAT(a, b) KCAT2(a, b)
#define KNAME(name) KCAT(name, KSUF)

/* For the output vectors pos[0 .. npos) and the output channels k < Kvalid in blocks of MR:
     y[k*ldk + pos.yoff + l] = bias[k] + sum over taps t of wp (KB, T, MR)[kb][t][m] * xp[toff[t] + pos.xoff + l]
   for lanes l < pos.lanes. bias may be NULL. */
static KATTR void KNAME(direct_forward_kernel)(float *restrict y, tl_size ldk, tl_size Kvalid,
                                               const float *restrict bias, const float *restrict xp,
                                               const float *restrict wp, const int *restrict toff, tl_size T,
                                               tl_size KB, const vec_pos *restrict pos, tl_size npos) {
    for (tl_size p0 = 0; p0 < npos; p0 += NV) {
        vec_pos vp[NV]; /* past the end: empty positions (read offset 0, store nothing) */
        for (int v = 0; v < NV; v++) {
            if (p0 + v < npos) vp[v] = pos[p0 + v];
            else vp[v].xoff = vp[v].yoff = vp[v].lanes = 0;
        }
        for (tl_size kb = 0; kb < KB; kb++) {
            VT acc[MR][NV];
            for (int m = 0; m < MR; m++) {
                const tl_size k = kb * MR + m;
                const VT init = bias && k < Kvalid ? VSET1(bias[k]) : VZERO();
                for (int v = 0; v < NV; v++) acc[m][v] = init;
            }
            const float *w = wp + kb * T * MR;
            const float *base[NV];
            for (int v = 0; v < NV; v++) base[v] = xp + vp[v].xoff;
            for (tl_size t = 0; t < T; t++) {
                const tl_size o = toff[t];
                VT x[NV];
                for (int v = 0; v < NV; v++) x[v] = VLOAD(base[v] + o);
                for (int m = 0; m < MR; m++) {
                    const VT wm = VSET1(w[t * MR + m]);
                    for (int v = 0; v < NV; v++) acc[m][v] = VFMA(wm, x[v], acc[m][v]);
                }
            }
            for (int m = 0; m < MR; m++) {
                const tl_size k = kb * MR + m;
                if (k >= Kvalid) break;
                for (int v = 0; v < NV; v++)
                    if (vp[v].lanes) VSTOREN(y + k * ldk + vp[v].yoff, vp[v].lanes, acc[m][v]);
            }
        }
    }
}

/* vacc (KB, TB, MRW, NTW, VL) (+)= lane-wise sums over the vectors pos[0 .. npos) of
   dy[k*ldk + pos.yoff + l] (lanes l < pos.lanes, others 0) * xp[toff[t] + pos.xoff + l], for channels
   k = kb*MRW + m (rows k >= Kvalid repeat row Kvalid-1; their sums are never read) and taps
   t = tb*NTW + j. `first` overwrites instead of adding. */
static KATTR void KNAME(direct_weight_kernel)(float *restrict vacc, const float *restrict dy, tl_size ldk,
                                              tl_size Kvalid, const float *restrict xp, const int *restrict toff,
                                              tl_size TB, tl_size KB, const vec_pos *restrict pos, tl_size npos,
                                              int first) {
    for (tl_size kb = 0; kb < KB; kb++)
        for (tl_size tb = 0; tb < TB; tb++) {
            float *out = vacc + ((kb * TB + tb) * MRW * NTW) * VL;
            VT acc[MRW][NTW];
            for (int m = 0; m < MRW; m++)
                for (int j = 0; j < NTW; j++) acc[m][j] = first ? VZERO() : VLOAD(out + (m * NTW + j) * VL);
            const float *drow[MRW];
            for (int m = 0; m < MRW; m++) {
                const tl_size k = kb * MRW + m < Kvalid ? kb * MRW + m : Kvalid - 1;
                drow[m] = dy + k * ldk;
            }
            const float *src[NTW];
            for (int j = 0; j < NTW; j++) src[j] = xp + toff[tb * NTW + j];
            for (tl_size p = 0; p < npos; p++) {
                const tl_size xo = pos[p].xoff, yo = pos[p].yoff, lanes = pos[p].lanes;
                VT x[NTW];
                for (int j = 0; j < NTW; j++) x[j] = VLOAD(src[j] + xo);
                for (int m = 0; m < MRW; m++) {
                    const VT d = lanes == VL ? VLOAD(drow[m] + yo) : VLOADN(drow[m] + yo, lanes);
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

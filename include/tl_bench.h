/* Reference kernels that benchmarks measure themselves against in the same run. */
#ifndef TL_BENCH_H
#define TL_BENCH_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* STREAM triad a[i] = b[i] + scalar * c[i] over n floats, OpenMP-parallel: the machine's memory bandwidth. */
int tl_bench_triad(float *a, const float *b, const float *c, float scalar, tl_size n);

#ifdef __cplusplus
}
#endif
#endif

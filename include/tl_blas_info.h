/* Which BLAS library the core runs on, which of its CPU-specific kernel sets it picked, and whether
   that set is narrower than the CPU allows (e.g. an OpenBLAS too old for the CPU falling back to SSE3). */
#ifndef TL_BLAS_INFO_H
#define TL_BLAS_INFO_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* OpenBLAS's functions are looked up at run time, so another BLAS still links; its fields read
   "unknown" (threads -1) then. */
typedef struct tl_blas_info {
    char library[256]; /* resolved path of the shared library providing cblas_sgemm */
    char name[32];     /* "OpenBLAS" when openblas_get_config exists */
    char version[32];  /* from the config string, e.g. "0.3.21" */
    char config[256];  /* openblas_get_config(): version and build options, e.g. "... DYNAMIC_ARCH ..." */
    char core[64];     /* openblas_get_corename(): the kernel set in use, e.g. "SkylakeX", "Prescott" */
    char parallel[16]; /* openblas_get_parallel(): "sequential", "pthreads" or "openmp" */
    int threads;       /* openblas_get_num_threads() */
} tl_blas_info;

/* *out = the BLAS in use. */
int tl_blas_info_get(tl_blas_info *out);

/* *isa_out = TL_ISA_* level of the widest instructions in OpenBLAS x86 core `core`'s kernels (name
   as openblas_get_corename or a TARGET spells it, any case), *isa_name_out = their exact name ("SSE3",
   "AVX2", ...); TL_ISA_UNKNOWN and "unknown" for names not in the table (other architectures). */
int tl_blas_core_isa(const char *core, int *isa_out, const char **isa_name_out);

/* *below_out = 1 when `core`'s kernels are narrower than level `cpu_isa`; 0 when either is unknown. */
int tl_blas_core_below_cpu(const char *core, int cpu_isa, int *below_out);

#ifdef __cplusplus
}
#endif
#endif

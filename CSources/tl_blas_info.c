/* BLAS identification through dlsym, so that the core links against any CBLAS and reports what it
   finds, and the table of OpenBLAS x86 kernel sets ("cores") behind the below-the-CPU warning. */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include "tl_internal.h"
#include "../include/tl_blas_info.h"
#include "../include/tl_cpu.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RTLD_DEFAULT from inside this library searches its own dependencies too, so this also works when
   libTrainingLab itself was opened with RTLD_LOCAL. */
static void *blas_symbol(const char *name) { return dlsym(RTLD_DEFAULT, name); }

int tl_blas_info_get(tl_blas_info *out) {
    TL_CHECK_PTR("tl_blas_info_get", out);
    memset(out, 0, sizeof *out);
    snprintf(out->library, sizeof out->library, "unknown");
    snprintf(out->name, sizeof out->name, "unknown");
    snprintf(out->version, sizeof out->version, "unknown");
    snprintf(out->config, sizeof out->config, "unknown");
    snprintf(out->core, sizeof out->core, "unknown");
    snprintf(out->parallel, sizeof out->parallel, "unknown");
    out->threads = -1;

    Dl_info where;
    void *sgemm = blas_symbol("cblas_sgemm");
    if (sgemm != NULL && dladdr(sgemm, &where) != 0 && where.dli_fname != NULL) {
        /* The resolved path names the variant behind Debian's alternatives (openblas-pthread, ...). */
        char *resolved = realpath(where.dli_fname, NULL);
        snprintf(out->library, sizeof out->library, "%s", resolved ? resolved : where.dli_fname);
        free(resolved);
    }

    char *(*get_config)(void) = (char *(*)(void))blas_symbol("openblas_get_config");
    char *(*get_corename)(void) = (char *(*)(void))blas_symbol("openblas_get_corename");
    int (*get_num_threads)(void) = (int (*)(void))blas_symbol("openblas_get_num_threads");
    int (*get_parallel)(void) = (int (*)(void))blas_symbol("openblas_get_parallel");
    if (get_config != NULL && get_config() != NULL) {
        snprintf(out->name, sizeof out->name, "OpenBLAS");
        snprintf(out->config, sizeof out->config, "%s", get_config());
        char version[sizeof out->version];
        if (sscanf(out->config, "OpenBLAS %31s", version) == 1) snprintf(out->version, sizeof out->version, "%s", version);
    }
    if (get_corename != NULL && get_corename() != NULL) snprintf(out->core, sizeof out->core, "%s", get_corename());
    if (get_num_threads != NULL) out->threads = get_num_threads();
    if (get_parallel != NULL) {
        static const char *const modes[] = {"sequential", "pthreads", "openmp"};
        const int mode = get_parallel();
        if (mode >= 0 && mode <= 2) snprintf(out->parallel, sizeof out->parallel, "%s", modes[mode]);
    }
    return TL_OK;
}

/* Each OpenBLAS x86 core (corename spellings and the TARGET names of single-core builds) with the
   widest instructions of the CPUs it was written for. Excavator's CPUs have AVX2 (its kernels are
   Piledriver's), so it counts as AVX2: the right choice there must not warn. */
static const struct {
    const char *core;
    int isa;
    const char *isa_name;
} blas_cores[] = {
    {"Katmai", TL_ISA_SSE, "SSE"},          {"Coppermine", TL_ISA_SSE, "SSE"},     {"Athlon", TL_ISA_SSE, "SSE"},
    {"Northwood", TL_ISA_SSE, "SSE2"},      {"Banias", TL_ISA_SSE, "SSE2"},        {"Opteron", TL_ISA_SSE, "SSE2"},
    {"SSE_Generic", TL_ISA_SSE, "SSE2"},    {"Prescott", TL_ISA_SSE, "SSE3"},      {"Yonah", TL_ISA_SSE, "SSE3"},
    {"Opteron_SSE3", TL_ISA_SSE, "SSE3"},   {"Nano", TL_ISA_SSE, "SSE3"},          {"Atom", TL_ISA_SSE, "SSSE3"},
    {"Core2", TL_ISA_SSE, "SSSE3"},         {"Penryn", TL_ISA_SSE, "SSE4.1"},      {"Dunnington", TL_ISA_SSE, "SSE4.1"},
    {"Nehalem", TL_ISA_SSE, "SSE4.2"},      {"Barcelona", TL_ISA_SSE, "SSE4a"},    {"Shanghai", TL_ISA_SSE, "SSE4a"},
    {"Istanbul", TL_ISA_SSE, "SSE4a"},      {"Bobcat", TL_ISA_SSE, "SSE4a"},       {"Sandybridge", TL_ISA_AVX, "AVX"},
    {"Bulldozer", TL_ISA_AVX, "AVX"},       {"Piledriver", TL_ISA_AVX, "AVX"},     {"Steamroller", TL_ISA_AVX, "AVX"},
    {"Excavator", TL_ISA_AVX2, "AVX2"},     {"Haswell", TL_ISA_AVX2, "AVX2"},      {"Zen", TL_ISA_AVX2, "AVX2"},
    {"SkylakeX", TL_ISA_AVX512, "AVX-512"}, {"Cooperlake", TL_ISA_AVX512, "AVX-512"}, {"SapphireRapids", TL_ISA_AVX512, "AVX-512"},
};

int tl_blas_core_isa(const char *core, int *isa_out, const char **isa_name_out) {
    TL_CHECK_PTR("tl_blas_core_isa", core);
    TL_CHECK_PTR("tl_blas_core_isa", isa_out);
    TL_CHECK_PTR("tl_blas_core_isa", isa_name_out);
    *isa_out = TL_ISA_UNKNOWN;
    *isa_name_out = "unknown";
    for (size_t i = 0; i < sizeof blas_cores / sizeof blas_cores[0]; i++) {
        if (strcasecmp(core, blas_cores[i].core) == 0) {
            *isa_out = blas_cores[i].isa;
            *isa_name_out = blas_cores[i].isa_name;
            break;
        }
    }
    return TL_OK;
}

int tl_blas_core_below_cpu(const char *core, int cpu_isa, int *below_out) {
    TL_CHECK_PTR("tl_blas_core_below_cpu", below_out);
    int core_isa;
    const char *name;
    TL_TRY(tl_blas_core_isa(core, &core_isa, &name));
    *below_out = core_isa != TL_ISA_UNKNOWN && cpu_isa != TL_ISA_UNKNOWN && core_isa < cpu_isa;
    return TL_OK;
}

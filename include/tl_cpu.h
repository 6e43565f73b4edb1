/* The CPU this process runs on (cpuid), its caches, and the instruction set the library's own kernels
   use on it. The environment variable TL_ISA caps that instruction set for every kernel: "avx512",
   "avx2" or "portable" (unset: the widest the CPU has). Only the GEMM has a portable (plain C) variant;
   the other kernels need the build's AVX2 baseline and take it under "portable". */
#ifndef TL_CPU_H
#define TL_CPU_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Vector ISA levels, ordered so that a larger value means wider kernels. SSE covers SSE..SSE4.2;
   AVX2 includes FMA; AVX512 means F, BW and VL (what AVX-512 GEMM kernels rely on). */
enum { TL_ISA_UNKNOWN = 0, TL_ISA_SSE = 1, TL_ISA_AVX = 2, TL_ISA_AVX2 = 3, TL_ISA_AVX512 = 4 };

/* Identity and usable ISA flags. A flag is 1 only when the CPU has the instructions AND the OS saves
   their registers (OSXSAVE/xgetbv), the same condition Linux uses for /proc/cpuinfo's flags. */
typedef struct tl_cpu_info {
    char vendor[16];            /* cpuid vendor ("GenuineIntel", "AuthenticAMD"); "unknown" off x86 */
    char brand[64];             /* brand string without surrounding blanks (= /proc/cpuinfo "model name") */
    int family, model, stepping; /* display values (extended fields folded in as Linux does); -1 off x86 */
    int sse3, avx, avx2, fma, avx512f, avx512dq, avx512bw, avx512vl;
    /* Data cache sizes in bytes, 0 when unknown: L1d and L2 of one core, L3 of the whole package (cpuid
       leaf 4 on Intel, 0x8000001D on AMD, else sysconf). */
    tl_size l1d_bytes, l2_bytes, l3_bytes;
} tl_cpu_info;

/* *out = this CPU's identity and flags. */
int tl_cpu_info_get(tl_cpu_info *out);

/* *isa_out = the widest TL_ISA_* level whose instructions `cpu` can run (TL_ISA_UNKNOWN off x86). */
int tl_cpu_isa_level(const tl_cpu_info *cpu, int *isa_out);

/* *isa_out = the TL_ISA_* level this library's vector kernels run with now: AVX512 when the CPU has
   AVX-512 F/DQ/BW/VL and TL_ISA allows it, else the build's baseline (AVX2); TL_ISA is read per call.
   The GEMM's own choice, which can also be portable C, is tl_gemm_kernel_name (tl_gemm.h). */
int tl_kernel_isa(int *isa_out);

/* TL_OK when TL_ISA is unset or one of "avx512", "avx2", "portable"; otherwise TL_ERR_INVALID_ARGUMENT
   with a message naming TL_ISA and the valid values. The kernels ignore an invalid value (they take the
   widest ISA the CPU has) and print that message once on stderr. */
int tl_isa_setting_check(void);

/* Display name of a TL_ISA_* level ("SSE", "AVX", "AVX2", "AVX-512", "unknown"); never NULL. */
const char *tl_isa_name(int isa);

#ifdef __cplusplus
}
#endif
#endif

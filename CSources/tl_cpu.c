/* CPU identification from cpuid and the one place that decides whether the kernels take their
   AVX-512 variants (tl_act.c, tl_quant.c and tl_conv_direct.c all ask tl_kernels_use_avx512). */
#include "tl_internal.h"
#include "../include/tl_cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define TL_CPU_X86 1
#include <cpuid.h>
#endif

const char *tl_isa_name(int isa) {
    switch (isa) {
    case TL_ISA_SSE: return "SSE";
    case TL_ISA_AVX: return "AVX";
    case TL_ISA_AVX2: return "AVX2";
    case TL_ISA_AVX512: return "AVX-512";
    default: return "unknown";
    }
}

#ifdef TL_CPU_X86
/* Copies the blank-trimmed brand string of cpuid leaves 0x80000002..4 (48 bytes) into `brand`. */
static void cpu_brand(char *brand, size_t capacity) {
    unsigned regs[13] = {0};
    if (__get_cpuid_max(0x80000000u, NULL) < 0x80000004u) {
        snprintf(brand, capacity, "unknown");
        return;
    }
    for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    const char *s = (const char *)regs; /* regs[12] = 0 terminates it */
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ') n--;
    snprintf(brand, capacity, "%.*s", (int)n, s);
}

/* XCR0, the register states the OS saves on context switches; 0 when the OS does not expose it. */
static unsigned long long cpu_xcr0(unsigned leaf1_ecx) {
    if (!(leaf1_ecx & (1u << 27))) return 0; /* OSXSAVE: xgetbv would fault without it */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

int tl_cpu_info_get(tl_cpu_info *out) {
    TL_CHECK_PTR("tl_cpu_info_get", out);
    memset(out, 0, sizeof *out);
    snprintf(out->vendor, sizeof out->vendor, "unknown");
    snprintf(out->brand, sizeof out->brand, "unknown");
    out->family = out->model = out->stepping = -1;
#ifdef TL_CPU_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return TL_OK;
    const unsigned max_leaf = a;
    memcpy(out->vendor, &b, 4);
    memcpy(out->vendor + 4, &d, 4);
    memcpy(out->vendor + 8, &c, 4);
    out->vendor[12] = '\0';
    cpu_brand(out->brand, sizeof out->brand);

    __get_cpuid(1, &a, &b, &c, &d);
    /* Linux's rule (arch/x86/lib/cpu.c), so that the numbers match /proc/cpuinfo. */
    out->family = (int)((a >> 8) & 0xf);
    if (out->family == 0xf) out->family += (int)((a >> 20) & 0xff);
    out->model = (int)((a >> 4) & 0xf);
    if (out->family >= 0x6) out->model += (int)(((a >> 16) & 0xf) << 4);
    out->stepping = (int)(a & 0xf);

    const unsigned long long xcr0 = cpu_xcr0(c);
    const int avx_state = (xcr0 & 0x6) == 0x6;       /* xmm and ymm */
    const int avx512_state = (xcr0 & 0xe6) == 0xe6;  /* plus opmask and both zmm halves */
    out->sse3 = (c & 1u) != 0;
    out->avx = avx_state && (c & (1u << 28));
    out->fma = out->avx && (c & (1u << 12));
    if (max_leaf >= 7) {
        __get_cpuid_count(7, 0, &a, &b, &c, &d);
        out->avx2 = out->avx && (b & (1u << 5));
        out->avx512f = avx512_state && (b & (1u << 16));
        out->avx512dq = out->avx512f && (b & (1u << 17));
        out->avx512bw = out->avx512f && (b & (1u << 30));
        out->avx512vl = out->avx512f && (b & (1u << 31));
    }
#endif
    return TL_OK;
}

int tl_cpu_isa_level(const tl_cpu_info *cpu, int *isa_out) {
    TL_CHECK_PTR("tl_cpu_isa_level", cpu);
    TL_CHECK_PTR("tl_cpu_isa_level", isa_out);
    if (cpu->family < 0) *isa_out = TL_ISA_UNKNOWN;
    else if (cpu->avx512f && cpu->avx512bw && cpu->avx512vl) *isa_out = TL_ISA_AVX512;
    else if (cpu->avx2 && cpu->fma) *isa_out = TL_ISA_AVX2;
    else if (cpu->avx) *isa_out = TL_ISA_AVX;
    else *isa_out = TL_ISA_SSE; /* every x86-64 CPU has SSE2 */
    return TL_OK;
}

int tl_kernels_use_avx512(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static int cpu = -1; /* every thread that races here stores the same value */
    if (cpu < 0) {
        tl_cpu_info info;
        tl_cpu_info_get(&info);
        cpu = info.avx512f && info.avx512dq && info.avx512bw && info.avx512vl;
    }
    const char *off = getenv("TL_NO_AVX512");
    return cpu && !(off != NULL && off[0] != '\0' && off[0] != '0');
#else
    return 0;
#endif
}

int tl_kernel_isa(int *isa_out) {
    TL_CHECK_PTR("tl_kernel_isa", isa_out);
#if defined(__AVX2__)
    const int baseline = TL_ISA_AVX2; /* the build's -march=x86-64-v3 */
#elif defined(TL_CPU_X86)
    const int baseline = TL_ISA_SSE;
#else
    const int baseline = TL_ISA_UNKNOWN;
#endif
    *isa_out = tl_kernels_use_avx512() ? TL_ISA_AVX512 : baseline;
    return TL_OK;
}

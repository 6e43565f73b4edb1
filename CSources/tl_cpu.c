/* CPU identification from cpuid (flags and cache sizes) and the one place that decides which kernel
   family runs: tl_kernels_level reads TL_ISA; the GEMM, tl_act.c, tl_quant.c and tl_conv_direct.c ask it. */
#include "tl_internal.h"
#include "../include/tl_cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Data and unified cache sizes from the deterministic cache parameters of `leaf` (4 on Intel,
   0x8000001D on AMD: same layout), one subleaf per cache. */
static void cpu_caches(unsigned leaf, tl_cpu_info *out) {
    for (unsigned i = 0; i < 16; i++) {
        unsigned a, b, c, d;
        __get_cpuid_count(leaf, i, &a, &b, &c, &d);
        const unsigned type = a & 0x1f, level = (a >> 5) & 7;
        if (type == 0) break;
        if (type == 2) continue; /* instruction cache */
        const tl_size bytes = (tl_size)((b >> 22) + 1) * (((b >> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) * ((tl_size)c + 1);
        if (level == 1) out->l1d_bytes = bytes;
        else if (level == 2) out->l2_bytes = bytes;
        else if (level == 3) out->l3_bytes = bytes;
    }
}
#endif

/* Cache sizes the C library knows (glibc reads them from cpuid or sysfs), for what cpuid did not give. */
static void sysconf_caches(tl_cpu_info *out) {
#ifdef _SC_LEVEL1_DCACHE_SIZE
    const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE), l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (out->l1d_bytes == 0 && l1 > 0) out->l1d_bytes = l1;
    if (out->l2_bytes == 0 && l2 > 0) out->l2_bytes = l2;
    if (out->l3_bytes == 0 && l3 > 0) out->l3_bytes = l3;
#else
    (void)out;
#endif
}

int tl_cpu_info_get(tl_cpu_info *out) {
    TL_CHECK_PTR("tl_cpu_info_get", out);
    memset(out, 0, sizeof *out);
    snprintf(out->vendor, sizeof out->vendor, "unknown");
    snprintf(out->brand, sizeof out->brand, "unknown");
    out->family = out->model = out->stepping = -1;
#ifdef TL_CPU_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) {
        sysconf_caches(out);
        return TL_OK;
    }
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
    if (strcmp(out->vendor, "GenuineIntel") == 0 && max_leaf >= 4) {
        cpu_caches(4, out);
    } else if (__get_cpuid_max(0x80000000u, NULL) >= 0x8000001Du) {
        __get_cpuid(0x80000001u, &a, &b, &c, &d);
        if (c & (1u << 22)) cpu_caches(0x8000001Du, out); /* topology extensions */
    }
#endif
    sysconf_caches(out);
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

static tl_cpu_info cpu_once;
static pthread_once_t cpu_once_flag = PTHREAD_ONCE_INIT;
static void cpu_fill(void) { tl_cpu_info_get(&cpu_once); }

const tl_cpu_info *tl_cpu(void) {
    pthread_once(&cpu_once_flag, cpu_fill); /* cpuid is slow under a hypervisor (a VM exit per leaf) */
    return &cpu_once;
}

/* TL_ISA's values, widest first, and the family each one caps the kernels at. */
static const struct { const char *name; int level; } isa_values[] = {
    {"avx512", TL_KERNELS_AVX512}, {"avx2", TL_KERNELS_AVX2}, {"portable", TL_KERNELS_PORTABLE}};
enum { ISA_VALUES = sizeof isa_values / sizeof isa_values[0] };

/* The cap TL_ISA sets (TL_KERNELS_AVX512 when unset), -1 when its value is invalid. */
static int isa_cap(void) {
    const char *value = getenv("TL_ISA");
    if (value == NULL || value[0] == '\0') return TL_KERNELS_AVX512;
    for (int i = 0; i < ISA_VALUES; i++)
        if (strcmp(value, isa_values[i].name) == 0) return isa_values[i].level;
    return -1;
}

/* The one message about an invalid TL_ISA, for tl_isa_setting_check and stderr. */
static void isa_message(char *buffer, size_t capacity) {
    snprintf(buffer, capacity, "TL_ISA: unknown value '%s' (valid: avx512, avx2, portable; unset: the widest the CPU "
             "has); the kernels ignore it", getenv("TL_ISA"));
}

int tl_isa_setting_check(void) {
    if (isa_cap() >= 0) return TL_OK;
    char message[256];
    isa_message(message, sizeof message);
    return tl_fail(TL_ERR_INVALID_ARGUMENT, "%s", message);
}

int tl_kernels_level(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    const tl_cpu_info *cpu = tl_cpu();
    const int widest = cpu->avx512f && cpu->avx512dq && cpu->avx512bw && cpu->avx512vl ? TL_KERNELS_AVX512
                       : cpu->avx2 && cpu->fma                                         ? TL_KERNELS_AVX2
                                                                                       : TL_KERNELS_PORTABLE;
#else
    const int widest = TL_KERNELS_PORTABLE;
#endif
    int cap = isa_cap();
    if (cap < 0) {
        static int warned;
        if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED)) {
            char message[256];
            isa_message(message, sizeof message);
            fprintf(stderr, "%s\n", message);
        }
        cap = TL_KERNELS_AVX512;
    }
    return widest < cap ? widest : cap;
}

int tl_kernels_use_avx512(void) { return tl_kernels_level() == TL_KERNELS_AVX512; }

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

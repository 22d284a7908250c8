/* The widest vector instruction set this CPU runs, for the compiled kernels that
   carry variants for several (sklearn_shallowrelu._linear_pieces and
   sklearn_shallowrelu._exact1d._fastchain): 3 (AVX-512 F, DQ and VL, with AVX2
   and FMA), 2 (AVX2 and FMA) or 1 (anything else, every non-x86 CPU included).

   Read from cpuid and from the registers the operating system saves (xgetbv),
   which need no symbol of a compiler's runtime library (__builtin_cpu_supports
   does: clang-cl and some macOS toolchains lack it).  Compilers without GCC's
   inline assembly and cpuid.h (MSVC) get 1. */
#ifndef SRL_CPU_H
#define SRL_CPU_H

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) \
    && !defined(_MSC_VER) && !defined(SRL_NO_DISPATCH)
#define SRL_X86 1
#include <cpuid.h>
#endif

static int srl_cpu_level(void) {
#ifdef SRL_X86
    unsigned int a, b, c, d, lo, hi;
    unsigned long long xcr0;
    int level = 1;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1) || !((c >> 28) & 1))
        return 1;  /* no OSXSAVE or no AVX */
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((unsigned long long)hi << 32) | lo;
    if ((xcr0 & 0x6) != 0x6 || !((c >> 12) & 1) || !__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 1;  /* the OS does not save the YMM registers, or no FMA */
    if ((b >> 5) & 1)
        level = 2;  /* AVX2 */
    if (level == 2 && ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 31) & 1) && (xcr0 & 0xe6) == 0xe6)
        level = 3;  /* AVX-512 F, DQ and VL, with the opmask and ZMM state saved */
    return level;
#else
    return 1;
#endif
}

#endif

/* What a file compiling the kernel families defines first (tiles.c, conv_kernels.c):
 * whether this is x86-64, its intrinsics, and the forced inlining and per-function
 * instruction-set attributes that tiles_isa_*.h and the families expect.  The target
 * attributes let one file hold every instruction set's code without a -march flag;
 * MSVC compiles the intrinsics without them. */
#ifndef FASTNET_TILES_TARGET_H
#define FASTNET_TILES_TARGET_H

#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64)
#define FASTNET_X86 1
#else
#define FASTNET_X86 0
#endif

#if FASTNET_X86
#include <immintrin.h>
#endif

/* FASTNET_INLINE follows `static`: small helpers whose loops must unroll where they are used. */
#if defined(_MSC_VER) && !defined(__clang__)
#define FASTNET_INLINE __forceinline
#define TARGET_AVX512
#define TARGET_AVX2
#else
#define FASTNET_INLINE inline __attribute__((always_inline))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

/* Unrolled loops keep a tile's accumulators in registers (GCC and Clang: the
 * loops over a tile have constant trip counts; Clang needs to be told to unroll
 * them fully, or its tiles stay in memory and run 3x slower). */
#ifndef FASTNET_UNROLL
#if defined(__clang__)
#define FASTNET_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define FASTNET_UNROLL _Pragma("GCC unroll 16")
#else
#define FASTNET_UNROLL
#endif
#endif

#endif

/* tiles.h's kernels for each instruction set, their tables, and the choice among them.
 *
 * tiles_variant.h (every kernel family) is compiled four times here: AVX-512 and
 * AVX2 (+FMA), each in double and float, each time after its instruction set's
 * header (tiles_isa_*.h: vector macros and block sizes), which it undefines when
 * done.  Every function carries its instruction set as a target attribute (GCC,
 * Clang), so this file needs no -march flag and the module still loads on any
 * x86-64; MSVC compiles the intrinsics without one.  Which level runs is decided
 * once, from what the CPU reports (CPUID) and what the operating system saves on a
 * context switch (XGETBV): a CPU may have AVX-512 while the OS does not enable its
 * registers.
 *
 * On other CPUs (aarch64, 32-bit x86) no variant is compiled: every level's table
 * is level 0's, the level is 0 and training.pyx uses BLAS.  Another instruction set
 * is one more header, its two inclusions below and its place in the tables.
 */
#include <string.h>

#include "tiles.h"
#include "tiles_target.h"

/* Level 0: no vectors, no kernels (its callers use BLAS). */
#define NO_KERNEL(name) NULL,
static const fastnet_table_d none_d = { 1, FASTNET_KERNEL_NAMES(NO_KERNEL) };
static const fastnet_table_f none_f = { 1, FASTNET_KERNEL_NAMES(NO_KERNEL) };
#undef NO_KERNEL

#if FASTNET_X86

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#else
#include <cpuid.h>
#endif

#define FASTNET_PREFETCH(p) _mm_prefetch((const char*) (p), _MM_HINT_T0)
#define FASTNET_PREFETCH_L2(p) _mm_prefetch((const char*) (p), _MM_HINT_T1)

/* Ask for p[from .. to) one 64-byte step at a time, counted from p (a row of inputs), into
 * the L1 cache (where = FASTNET_PREFETCH_TO_L1) or only the L2 (FASTNET_PREFETCH_TO_L2): one
 * request per 64 bytes even where the row does not start on a cache line (asking instead
 * for every line a share touches measured 4% slower headline epochs). */
static FASTNET_INLINE void prefetch_lines(int where, const char* p, ptrdiff_t from, ptrdiff_t to)
{
    ptrdiff_t offset;
    if (where == FASTNET_PREFETCH_TO_L2)
        for (offset = from - from % 64; offset < to; offset += 64) FASTNET_PREFETCH_L2(p + offset);
    else
        for (offset = from - from % 64; offset < to; offset += 64) FASTNET_PREFETCH(p + offset);
}

/* Ask for parts part0 .. part1 - 1 of `parts` equal parts of each of the `count` rows of
 * `bytes` bytes: how the kernels spread the next mini-batch's rows over their passes. */
static FASTNET_INLINE void prefetch_share(int where, const char* const* rows, int count,
                                          ptrdiff_t bytes, ptrdiff_t part0, ptrdiff_t part1,
                                          ptrdiff_t parts)
{
    ptrdiff_t from = bytes * part0 / parts, to = bytes * part1 / parts;
    int r;
    for (r = 0; r < count; r++) prefetch_lines(where, rows[r], from, to);
}

/* Where the variant's kernels fetch the next rows to: FASTNET_PREFETCH_* of the table in use. */
#define PREFETCH_WHERE(single) \
    ((single) ? fastnet_tuning_in_use.prefetch_float : fastnet_tuning_in_use.prefetch_double)

static volatile double fma_sink;      /* where fma_chain leaves its sums */

/* Named fields, so that a field added to fastnet_tuning cannot shift the others. */
fastnet_tuning fastnet_tuning_in_use = { .dot_chunk = 24, .dot_block = 2, .axpy_chunk = 4,
                                         .prefetch_double = FASTNET_PREFETCH_TO_L1,
                                         .prefetch_float = FASTNET_PREFETCH_TO_L1 };

#define SINGLE 0
#include "tiles_isa_avx512.h"
#include "tiles_variant.h"
#define SINGLE 1
#include "tiles_isa_avx512.h"
#include "tiles_variant.h"
#define SINGLE 0
#include "tiles_isa_avx2.h"
#include "tiles_variant.h"
#define SINGLE 1
#include "tiles_isa_avx2.h"
#include "tiles_variant.h"

/* The tables, by level (filled when the module is loaded). */
const fastnet_table_d* const fastnet_tables_d[FASTNET_SIMD_LEVELS] = { &none_d, &table_avx2_d,
                                                                       &table_avx512_d };
const fastnet_table_f* const fastnet_tables_f[FASTNET_SIMD_LEVELS] = { &none_f, &table_avx2_f,
                                                                       &table_avx512_f };

/* --- What the CPU and OS support ------------------------------------------ */
static void cpuid_query(unsigned leaf, unsigned subleaf, unsigned out[4])
{
#if defined(_MSC_VER) && !defined(__clang__)
    int regs[4];
    __cpuidex(regs, (int) leaf, (int) subleaf);
    out[0] = (unsigned) regs[0]; out[1] = (unsigned) regs[1];
    out[2] = (unsigned) regs[2]; out[3] = (unsigned) regs[3];
#else
    __cpuid_count(leaf, subleaf, out[0], out[1], out[2], out[3]);
#endif
}

static unsigned long long xcr0_read(void)
{
#if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long) hi << 32) | lo;
#endif
}

static int detect_level(void)
{
    unsigned r[4];
    unsigned long long xcr0;
    int avx2, fma, avx512;
    cpuid_query(0, 0, r);
    if (r[0] < 7) return FASTNET_SIMD_NONE;
    cpuid_query(1, 0, r);
    fma = (r[2] >> 12) & 1;
    if (!((r[2] >> 27) & 1) || !((r[2] >> 28) & 1)) return FASTNET_SIMD_NONE;  /* OSXSAVE, AVX */
    xcr0 = xcr0_read();
    if ((xcr0 & 0x6) != 0x6) return FASTNET_SIMD_NONE;       /* the OS saves xmm and ymm */
    cpuid_query(7, 0, r);
    avx2 = (r[1] >> 5) & 1;
    /* AVX-512 F (bit 16), DQ (17), BW (30), VL (31); the OS saves opmask and zmm (xcr0 bits 5-7). */
    avx512 = ((r[1] >> 16) & 1) && ((r[1] >> 17) & 1) && ((r[1] >> 30) & 1)
             && ((r[1] >> 31) & 1) && (xcr0 & 0xE0) == 0xE0;
    if (avx2 && fma && avx512) return FASTNET_SIMD_AVX512;
    if (avx2 && fma) return FASTNET_SIMD_AVX2;
    return FASTNET_SIMD_NONE;
}

void fastnet_cpu_signature(char vendor[13], int* family, int* model)
{
    unsigned r[4], base_family, base_model;
    cpuid_query(0, 0, r);
    memcpy(vendor, &r[1], 4); memcpy(vendor + 4, &r[3], 4); memcpy(vendor + 8, &r[2], 4);
    vendor[12] = 0;
    cpuid_query(1, 0, r);
    base_family = (r[0] >> 8) & 0xF;
    base_model = (r[0] >> 4) & 0xF;
    *family = (int) (base_family == 0xF ? base_family + ((r[0] >> 20) & 0xFF) : base_family);
    *model = (int) (base_family == 0xF || base_family == 0x6
                    ? base_model | (((r[0] >> 16) & 0xF) << 4) : base_model);
}

#else   /* not x86-64 */

/* Named fields, so that a field added to fastnet_tuning cannot shift the others. */
fastnet_tuning fastnet_tuning_in_use = { .dot_chunk = 24, .dot_block = 2, .axpy_chunk = 4,
                                         .prefetch_double = FASTNET_PREFETCH_TO_L1,
                                         .prefetch_float = FASTNET_PREFETCH_TO_L1 };

void fastnet_cpu_signature(char vendor[13], int* family, int* model)
{
    vendor[0] = 0; *family = 0; *model = 0;
}

const fastnet_table_d* const fastnet_tables_d[FASTNET_SIMD_LEVELS] = { &none_d, &none_d, &none_d };
const fastnet_table_f* const fastnet_tables_f[FASTNET_SIMD_LEVELS] = { &none_f, &none_f, &none_f };

static int detect_level(void) { return FASTNET_SIMD_NONE; }

#endif

/* --- What the CPU runs ------------------------------------------------------
 * Which level is in use is the caller's (fastnet.dispatch): it passes the level to
 * every call, which indexes the tables with it, so a change of level by another
 * thread cannot reach a call halfway. */
static int supported = -1;     /* detected on first use */

int fastnet_simd_supported(void)
{
    if (supported < 0) supported = detect_level();
    return supported;
}

void fastnet_set_tuning(int dot_chunk, int dot_block, int axpy_chunk, int columns_chunk,
                        int columns_wide, int prefetch_double, int prefetch_float)
{
    fastnet_tuning_in_use.dot_chunk = dot_chunk < 1 ? 1 : dot_chunk;
    fastnet_tuning_in_use.dot_block = dot_block < 1 ? 1 : dot_block > FASTNET_DOT_BLOCK_MAX
                                                                ? FASTNET_DOT_BLOCK_MAX : dot_block;
    fastnet_tuning_in_use.axpy_chunk = axpy_chunk < 1 ? 1 : axpy_chunk;
    fastnet_tuning_in_use.columns_chunk = columns_chunk < 0 ? 0 : columns_chunk;
    fastnet_tuning_in_use.columns_wide = columns_wide != 0;
    fastnet_tuning_in_use.prefetch_double = prefetch_double < 0 || prefetch_double > 2
                                            ? FASTNET_PREFETCH_TO_L1 : prefetch_double;
    fastnet_tuning_in_use.prefetch_float = prefetch_float < 0 || prefetch_float > 2
                                           ? FASTNET_PREFETCH_TO_L1 : prefetch_float;
}

void fastnet_prefetch(const void* p, ptrdiff_t bytes)
{
#if FASTNET_X86
    const char* line = (const char*) p - (ptrdiff_t) ((size_t) p % 64);   /* every line touched */
    prefetch_lines(FASTNET_PREFETCH_TO_L1, line, 0, (const char*) p + bytes - line);
#else
    (void) p; (void) bytes;
#endif
}

double fastnet_fma_chain(int level, int single_precision, long long rounds)
{
    if (level <= FASTNET_SIMD_NONE || level > fastnet_simd_supported()) return 0;
    return single_precision ? fastnet_tables_f[level]->fma_chain(rounds)
                            : fastnet_tables_d[level]->fma_chain(rounds);
}

/* conv.h's kernels for each instruction set and their tables.
 *
 * As in tiles.c, the vectorised families (conv_variant.h) are compiled four times,
 * AVX-512 and AVX2 (+FMA) in double and float, each after tiles.c's instruction-set
 * header (tiles_isa_*.h: the same vector macros and block sizes), with the instruction
 * set as a target attribute on every function, so no -march flag is needed and the
 * module loads on any CPU.  Level 0 (conv_portable.h) is plain C: the level of CPUs
 * without AVX2 (and of ARM), and the reference the vector levels agree with.  Which
 * level runs is the caller's: conv.pyx indexes the tables with the level it is given.
 */
#include <math.h>
#include <string.h>

#include "tiles.h"
#include "conv.h"
#include "tiles_target.h"

/* Level 0, in each precision. */
#define T double
#define FN0(name) name##_portable_d
#define POOL(name) name##_portable_d
#define POOL_TARGET
#define LIBM_EXP exp
#define LIBM_TANH tanh
#include "conv_portable.h"
#include "conv_pool.h"
#undef T
#undef FN0
#undef POOL
#undef POOL_TARGET
#undef LIBM_EXP
#undef LIBM_TANH
#define T float
#define FN0(name) name##_portable_f
#define POOL(name) name##_portable_f
#define POOL_TARGET
#define LIBM_EXP expf
#define LIBM_TANH tanhf
#include "conv_portable.h"
#include "conv_pool.h"
#undef T
#undef FN0
#undef POOL
#undef POOL_TARGET
#undef LIBM_EXP
#undef LIBM_TANH

#define PORTABLE_ENTRY_D(name) name##_portable_d,
#define PORTABLE_ENTRY_F(name) name##_portable_f,
static const fastnet_conv_table_d portable_d = { 1, FASTNET_CONV_KERNEL_NAMES(PORTABLE_ENTRY_D) };
static const fastnet_conv_table_f portable_f = { 1, FASTNET_CONV_KERNEL_NAMES(PORTABLE_ENTRY_F) };
#undef PORTABLE_ENTRY_D
#undef PORTABLE_ENTRY_F

#if FASTNET_X86

#define SINGLE 0
#define CONV_AVX512 1
#include "tiles_isa_avx512.h"
#include "conv_variant.h"
#define SINGLE 1
#define CONV_AVX512 1
#include "tiles_isa_avx512.h"
#include "conv_variant.h"
#define SINGLE 0
#define CONV_AVX512 0
#include "tiles_isa_avx2.h"
#include "conv_variant.h"
#define SINGLE 1
#define CONV_AVX512 0
#include "tiles_isa_avx2.h"
#include "conv_variant.h"

const fastnet_conv_table_d* const fastnet_conv_tables_d[3] = { &portable_d, &conv_table_avx2_d,
                                                               &conv_table_avx512_d };
const fastnet_conv_table_f* const fastnet_conv_tables_f[3] = { &portable_f, &conv_table_avx2_f,
                                                               &conv_table_avx512_f };
#else

const fastnet_conv_table_d* const fastnet_conv_tables_d[3] = { &portable_d, &portable_d,
                                                               &portable_d };
const fastnet_conv_table_f* const fastnet_conv_tables_f[3] = { &portable_f, &portable_f,
                                                               &portable_f };
#endif

/* conv.h's vectorised kernel families for one instruction set and precision, and that
 * variant's table.  conv_kernels.c includes this file once per variant, just after tiles.c's
 * instruction-set header (tiles_isa_*.h: tiles_variant.h lists its macros), with
 * CONV_AVX512 1 after the AVX-512 header and 0 after the AVX2 one (for the few steps whose
 * intrinsics differ).  The variant's macros are undefined at the end, as tiles_variant.h
 * does, so that the next variant can define its own.
 */
#include "conv_dot.h"
#include "conv_elementwise.h"
#include "conv_shift.h"
#include "conv_pool2x2.h"
#define POOL(name) FN(name)
#define POOL_TARGET TARGET
#define POOL_VECTOR_ROWS
#include "conv_pool.h"
#undef POOL
#undef POOL_TARGET
#undef POOL_VECTOR_ROWS

#define CONV_TABLE_ENTRY(name) FN(name),
#if SINGLE
static const fastnet_conv_table_f FN(conv_table) = { VL, FASTNET_CONV_KERNEL_NAMES(CONV_TABLE_ENTRY) };
#else
static const fastnet_conv_table_d FN(conv_table) = { VL, FASTNET_CONV_KERNEL_NAMES(CONV_TABLE_ENTRY) };
#endif
#undef CONV_TABLE_ENTRY

#undef CONV_AVX512
#include "tiles_isa_end.h"

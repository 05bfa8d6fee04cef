/* Every kernel family of tiles.h for one instruction set and precision, and that
 * variant's table.  tiles.c includes this file once per variant, just after the
 * instruction set's header (tiles_isa_*.h), which defines:
 *
 *   T, V, M      element, vector and lane-mask types; VL lanes per vector; SINGLE 1 for float
 *   FN(name)     the name with this variant's suffix;  TARGET  its target attribute
 *   VZERO() VSET1(x) VLOAD(p) VSTORE(p, v) VFMA(a, b, c) = a*b + c  VMUL VADD VDIV VMAX VSUM(v)
 *   MASK(n)      the first n lanes (n <= 0: none, n >= VL: all)
 *   VLOADM(p, m) VSTOREM(p, m, v)   masked: lanes outside m are read as 0 / not written
 *   VABS(v) VROUND(v) VSCALE2(p, n) = p * 2^n for integral n   VSELECT_GE0(z, a, b) = z >= 0 ? a : b
 *   VKEEP_NAN(z, v)  v, with z's NaN lanes passed through
 *   VSUB(a, b)   a - b
 * and the block sizes (register tiles):
 *   DOT_MR x DOT_NR      dot rows (rows of A x rows of B)
 *   AXPY_RR x AXPY_KV    axpy rows (rows of C x vectors along a row)
 *   COLS_MR x COLS_CV    rows times matrix (rows of C x vectors)
 *   UPDATE_TERMS x UPDATE_CV  the rows of D x vectors that rank update holds in registers
 *   FMA_CHAINS           how many independent accumulators fma_chain keeps in registers
 * Each family's header checks the sizes its code can take (#error).  From tiles.c, for
 * every variant: prefetch_share (ask for a share of the next mini-batch's rows); from
 * tiles_target.h: FASTNET_INLINE and FASTNET_UNROLL.  The variant's macros are undefined
 * at the end of this file (tiles_isa_end.h), so that the next variant can define its own.
 */

#include "tiles_dotxf.h"
#include "tiles_axpyf.h"
#include "tiles_sup_rv.h"
#include "tiles_elementwise.h"
#include "tiles_fma_probe.h"

/* The variant's table: its vector width, then its kernels in tiles.h's order. */
#define TABLE_ENTRY(name) FN(name),
#if SINGLE
static const fastnet_table_f FN(table) = { VL, FASTNET_KERNEL_NAMES(TABLE_ENTRY) };
#else
static const fastnet_table_d FN(table) = { VL, FASTNET_KERNEL_NAMES(TABLE_ENTRY) };
#endif
#undef TABLE_ENTRY

#include "tiles_isa_end.h"

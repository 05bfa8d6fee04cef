/* The end of an instruction set's variant: its macros (tiles_isa_*.h and the
 * variant's own) undefined, so that the next variant, or the next file
 * compiled from the same headers, defines them afresh.  Included last by
 * tiles_variant.h and conv_variant.h. */
#undef T
#undef V
#undef M
#undef VL
#undef SINGLE
#undef FN
#undef TARGET
#undef VZERO
#undef VSET1
#undef VLOAD
#undef VSTORE
#undef VLOADM
#undef VSTOREM
#undef MASK
#undef VFMA
#undef VMUL
#undef VADD
#undef VSUB
#undef VDIV
#undef VMAX
#undef VSUM
#undef VABS
#undef VROUND
#undef VSCALE2
#undef VSELECT_GE0
#undef VKEEP_NAN
#undef FMA_CHAINS
#undef DOT_MR
#undef DOT_NR
#undef AXPY_RR
#undef AXPY_KV
#undef COLS_MR
#undef COLS_CV
#undef COLS_WIDE_MR
#undef COLS_WIDE_CV
#undef UPDATE_TERMS
#undef UPDATE_CV

/* AVX-512 (x86-64-v4: F, DQ, BW, VL; 32 vector registers): the vector macros and
 * block sizes of one precision, for tiles_variant.h.  tiles.c includes this header
 * twice, with SINGLE defined 0 (double) and 1 (float); tiles_variant.h lists what
 * each macro means and undefines them all after use.
 *
 * The block sizes (BLIS's block-size table for this instruction set) are register
 * tiles: with 32 registers, dot rows keeps 5 x 5 sums, the column forms 10 rows by
 * 2 vectors, or (the forward's wide tile, where the CPU's table asks for it) 6 rows by
 * 4 vectors.
 */
#ifndef FASTNET_ISA_AVX512_HELPERS
#define FASTNET_ISA_AVX512_HELPERS
/* An AVX-512 vector is summed as two AVX2 halves: the AVX2 helpers, without its macros. */
#define FASTNET_ISA_HELPERS_ONLY
#include "tiles_isa_avx2.h"
#undef FASTNET_ISA_HELPERS_ONLY

/* Sums across a vector's lanes, written out: not every compiler has the
 * _mm512_reduce_add_* sequences. */
TARGET_AVX512 static FASTNET_INLINE double sum_avx512_d(__m512d v)
{
    return sum_avx2_d(_mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1)));
}

TARGET_AVX512 static FASTNET_INLINE float sum_avx512_f(__m512 v)
{
    return sum_avx2_f(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
#endif

#define TARGET TARGET_AVX512

#if SINGLE
#define T float
#define V __m512
#define M __mmask16
#define VL 16
#define FN(name) name##_avx512_f
#define VZERO() _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VLOADM(p, m) _mm512_maskz_loadu_ps(m, p)
#define VSTOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define MASK(n) ((M) ((n) >= VL ? 0xFFFFu : (n) <= 0 ? 0u : (1u << (n)) - 1u))
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUB(a, b) _mm512_sub_ps(a, b)
#define VDIV(a, b) _mm512_div_ps(a, b)
#define VMAX(a, b) _mm512_max_ps(a, b)
#define VSUM(v) sum_avx512_f(v)
#define VABS(v) _mm512_andnot_ps(_mm512_set1_ps(-0.0f), v)
#define VROUND(v) _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VSCALE2(p, n) _mm512_scalef_ps(p, n)
#define VSELECT_GE0(z, a, b) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GE_OQ), b, a)
#define VKEEP_NAN(z, v) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, z, _CMP_UNORD_Q), v, z)
#else
#define T double
#define V __m512d
#define M __mmask8
#define VL 8
#define FN(name) name##_avx512_d
#define VZERO() _mm512_setzero_pd()
#define VSET1(x) _mm512_set1_pd(x)
#define VLOAD(p) _mm512_loadu_pd(p)
#define VSTORE(p, v) _mm512_storeu_pd(p, v)
#define VLOADM(p, m) _mm512_maskz_loadu_pd(m, p)
#define VSTOREM(p, m, v) _mm512_mask_storeu_pd(p, m, v)
#define MASK(n) ((M) ((n) >= VL ? 0xFFu : (n) <= 0 ? 0u : (1u << (n)) - 1u))
#define VFMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define VMUL(a, b) _mm512_mul_pd(a, b)
#define VADD(a, b) _mm512_add_pd(a, b)
#define VSUB(a, b) _mm512_sub_pd(a, b)
#define VDIV(a, b) _mm512_div_pd(a, b)
#define VMAX(a, b) _mm512_max_pd(a, b)
#define VSUM(v) sum_avx512_d(v)
#define VABS(v) _mm512_andnot_pd(_mm512_set1_pd(-0.0), v)
#define VROUND(v) _mm512_roundscale_pd(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VSCALE2(p, n) _mm512_scalef_pd(p, n)
#define VSELECT_GE0(z, a, b) _mm512_mask_blend_pd(_mm512_cmp_pd_mask(z, _mm512_setzero_pd(), _CMP_GE_OQ), b, a)
#define VKEEP_NAN(z, v) _mm512_mask_blend_pd(_mm512_cmp_pd_mask(z, z, _CMP_UNORD_Q), v, z)
#endif

/* Block sizes, the same in both precisions. */
#define FMA_CHAINS 16
#define DOT_MR 5
#define DOT_NR 5
#define AXPY_RR 5
#define AXPY_KV 5
#define COLS_MR 10
#define COLS_CV 2
/* The forward's wide tile (the table's columns_wide), for outputs of more than two vectors:
 * 6 x 4 sums, 4 vectors of B and a broadcast fill 29 of the 32 registers. */
#define COLS_WIDE_MR 6
#define COLS_WIDE_CV 4
#define UPDATE_TERMS 10
#define UPDATE_CV 2

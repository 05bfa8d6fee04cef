/* AVX2 + FMA (x86-64-v3; 16 vector registers): the vector macros and block sizes of
 * one precision, for tiles_variant.h.  tiles.c includes this header twice, with
 * SINGLE defined 0 (double) and 1 (float); tiles_variant.h lists what each macro
 * means and undefines them all after use.
 *
 * The block sizes (BLIS's block-size table for this instruction set) are register
 * tiles: with 16 registers, dot rows keeps 3 x 4 sums, the column forms 5 rows by
 * 2 vectors (10 rows, the book's mini-batch, as two equal tiles: measured on Zen 2,
 * headline epochs 0.97 of the time of 6 rows, whose second tile has 4).  These sizes
 * serve every AVX2 table of fastnet.dispatch; the tables choose how the tiles walk
 * their work.  AVX2 has no lane-mask registers: a mask is a vector whose lanes are all
 * ones (in use) or zeros.
 */
#ifndef FASTNET_ISA_AVX2_HELPERS
#define FASTNET_ISA_AVX2_HELPERS

/* Sums across a vector's lanes. */
TARGET_AVX2 static FASTNET_INLINE double sum_avx2_d(__m256d v)
{
    __m128d half = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(half, _mm_unpackhi_pd(half, half)));
}

TARGET_AVX2 static FASTNET_INLINE float sum_avx2_f(__m256 v)
{
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    return _mm_cvtss_f32(_mm_add_ss(half, _mm_movehdup_ps(half)));
}

/* The first n lanes, as a vector mask. */
TARGET_AVX2 static FASTNET_INLINE __m256i mask_avx2_d(int n)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}

TARGET_AVX2 static FASTNET_INLINE __m256i mask_avx2_f(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* p * 2^n for integral n whose 2^n is a normal number: n added to p's exponent field.
 * n + 2^52 + 2^51 holds n in its low mantissa bits (float: 2^23 + 2^22). */
TARGET_AVX2 static FASTNET_INLINE __m256d scale2_avx2_d(__m256d p, __m256d n)
{
    __m256i bits = _mm256_castpd_si256(_mm256_add_pd(n, _mm256_set1_pd(6755399441055744.0)));
    return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(p), _mm256_slli_epi64(bits, 52)));
}

TARGET_AVX2 static FASTNET_INLINE __m256 scale2_avx2_f(__m256 p, __m256 n)
{
    __m256i bits = _mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(12582912.0f)));
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(bits, 23)));
}
#endif

/* Only the helpers, for the AVX-512 header, which sums its halves with them. */
#ifndef FASTNET_ISA_HELPERS_ONLY

#define TARGET TARGET_AVX2

#if SINGLE
#define T float
#define V __m256
#define M __m256i
#define VL 8
#define FN(name) name##_avx2_f
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VLOADM(p, m) _mm256_maskload_ps(p, m)
#define VSTOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define MASK(n) mask_avx2_f(n)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VADD(a, b) _mm256_add_ps(a, b)
#define VSUB(a, b) _mm256_sub_ps(a, b)
#define VDIV(a, b) _mm256_div_ps(a, b)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VSUM(v) sum_avx2_f(v)
#define VABS(v) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v)
#define VROUND(v) _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VSCALE2(p, n) scale2_avx2_f(p, n)
#define VSELECT_GE0(z, a, b) _mm256_blendv_ps(b, a, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ))
#define VKEEP_NAN(z, v) _mm256_blendv_ps(v, z, _mm256_cmp_ps(z, z, _CMP_UNORD_Q))
#else
#define T double
#define V __m256d
#define M __m256i
#define VL 4
#define FN(name) name##_avx2_d
#define VZERO() _mm256_setzero_pd()
#define VSET1(x) _mm256_set1_pd(x)
#define VLOAD(p) _mm256_loadu_pd(p)
#define VSTORE(p, v) _mm256_storeu_pd(p, v)
#define VLOADM(p, m) _mm256_maskload_pd(p, m)
#define VSTOREM(p, m, v) _mm256_maskstore_pd(p, m, v)
#define MASK(n) mask_avx2_d(n)
#define VFMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define VMUL(a, b) _mm256_mul_pd(a, b)
#define VADD(a, b) _mm256_add_pd(a, b)
#define VSUB(a, b) _mm256_sub_pd(a, b)
#define VDIV(a, b) _mm256_div_pd(a, b)
#define VMAX(a, b) _mm256_max_pd(a, b)
#define VSUM(v) sum_avx2_d(v)
#define VABS(v) _mm256_andnot_pd(_mm256_set1_pd(-0.0), v)
#define VROUND(v) _mm256_round_pd(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VSCALE2(p, n) scale2_avx2_d(p, n)
#define VSELECT_GE0(z, a, b) _mm256_blendv_pd(b, a, _mm256_cmp_pd(z, _mm256_setzero_pd(), _CMP_GE_OQ))
#define VKEEP_NAN(z, v) _mm256_blendv_pd(v, z, _mm256_cmp_pd(z, z, _CMP_UNORD_Q))
#endif

/* Block sizes, the same in both precisions. */
#define FMA_CHAINS 12
#define DOT_MR 3
#define DOT_NR 4
#define AXPY_RR 5
#define AXPY_KV 2
#define COLS_MR 5
#define COLS_CV 2
#define UPDATE_TERMS 6
#define UPDATE_CV 2

#endif

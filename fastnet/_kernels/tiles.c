/* tiles.h's kernels for each instruction set, and the choice among them at run time.
 *
 * tiles_body.h is compiled four times here: AVX-512 and AVX2 (+FMA), each in
 * double and float, each time with the macros it needs defined just before
 * (it undefines them when done).  Every function carries its instruction set as a target
 * attribute (GCC, Clang), so this file needs no -march flag and the module
 * still loads on any x86-64; MSVC compiles the intrinsics without one.  Which
 * variant runs is decided once, from what the CPU reports (CPUID) and what the
 * operating system saves on a context switch (XGETBV): a CPU may have AVX-512
 * while the OS does not enable its registers.
 *
 * On other CPUs (aarch64, 32-bit x86) nothing here is compiled but the
 * dispatch: the level is 0 and training.pyx uses BLAS.
 */
#include "tiles.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64)
#define FASTNET_X86 1
#else
#define FASTNET_X86 0
#endif

#if FASTNET_X86

#include <immintrin.h>
/* FASTNET_INLINE follows `static`: small helpers whose loops must unroll where they are used. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define FASTNET_INLINE __forceinline
#define TARGET_AVX512
#define TARGET_AVX2
#else
#include <cpuid.h>
#define FASTNET_INLINE inline __attribute__((always_inline))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

#define FASTNET_PREFETCH(p) _mm_prefetch((const char*) (p), _MM_HINT_T0)

/* Ask for p[from .. to) one 64-byte step at a time, counted from p (a row of inputs): one
 * request per 64 bytes even where the row does not start on a cache line (asking instead
 * for every line a share touches measured 4% slower headline epochs). */
static FASTNET_INLINE void prefetch_lines(const char* p, ptrdiff_t from, ptrdiff_t to)
{
    ptrdiff_t offset;
    for (offset = from - from % 64; offset < to; offset += 64) FASTNET_PREFETCH(p + offset);
}

/* Ask for parts part0 .. part1 - 1 of `parts` equal parts of each of the `count` rows of
 * `bytes` bytes: how the kernels spread the next mini-batch's rows over their passes. */
static FASTNET_INLINE void prefetch_share(const char* const* rows, int count, ptrdiff_t bytes,
                                          ptrdiff_t part0, ptrdiff_t part1, ptrdiff_t parts)
{
    ptrdiff_t from = bytes * part0 / parts, to = bytes * part1 / parts;
    int r;
    for (r = 0; r < count; r++) prefetch_lines(rows[r], from, to);
}

static volatile double fma_sink;      /* where fma_chain leaves its sums */

/* --- Sums across a vector's lanes (written out: not every compiler has the
 * _mm512_reduce_add_* sequences) ------------------------------------------ */
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

TARGET_AVX512 static FASTNET_INLINE double sum_avx512_d(__m512d v)
{
    return sum_avx2_d(_mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1)));
}

TARGET_AVX512 static FASTNET_INLINE float sum_avx512_f(__m512 v)
{
    return sum_avx2_f(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

/* --- AVX-512, double ---------------------------------------------------- */
#define T double
#define V __m512d
#define M __mmask8
#define VL 8
#define SINGLE 0
#define FN(name) name##_avx512_d
#define TARGET TARGET_AVX512
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
#define FMA_CHAINS 16
#define DOT_MR 5
#define DOT_NR 5
#define AXPY_RR 5
#define AXPY_KV 5
#define COLS_MR 10
#define COLS_CV 2
#define UPDATE_TERMS 10
#define UPDATE_CV 2
#include "tiles_body.h"

/* --- AVX-512, float ----------------------------------------------------- */
#define T float
#define V __m512
#define M __mmask16
#define VL 16
#define SINGLE 1
#define FN(name) name##_avx512_f
#define TARGET TARGET_AVX512
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
#define FMA_CHAINS 16
#define DOT_MR 5
#define DOT_NR 5
#define AXPY_RR 5
#define AXPY_KV 5
#define COLS_MR 10
#define COLS_CV 2
#define UPDATE_TERMS 10
#define UPDATE_CV 2
#include "tiles_body.h"

/* --- AVX2 helpers: lane masks as vectors, 2^n ----------------------------- */
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

/* --- AVX2, double ------------------------------------------------------- */
#define T double
#define V __m256d
#define M __m256i
#define VL 4
#define SINGLE 0
#define FN(name) name##_avx2_d
#define TARGET TARGET_AVX2
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
#define FMA_CHAINS 12
#define DOT_MR 3
#define DOT_NR 4
#define AXPY_RR 5
#define AXPY_KV 2
#define COLS_MR 6
#define COLS_CV 2
#define UPDATE_TERMS 6
#define UPDATE_CV 2
#include "tiles_body.h"

/* --- AVX2, float -------------------------------------------------------- */
#define T float
#define V __m256
#define M __m256i
#define VL 8
#define SINGLE 1
#define FN(name) name##_avx2_f
#define TARGET TARGET_AVX2
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
#define FMA_CHAINS 12
#define DOT_MR 3
#define DOT_NR 4
#define AXPY_RR 5
#define AXPY_KV 2
#define COLS_MR 6
#define COLS_CV 2
#define UPDATE_TERMS 6
#define UPDATE_CV 2
#include "tiles_body.h"

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

#else   /* not x86-64 */

static int detect_level(void) { return FASTNET_SIMD_NONE; }

#endif

/* --- Dispatch ------------------------------------------------------------- */
static int supported = -1;     /* detected on first use */
static int level_in_use = -1;  /* -1 until first asked: then the best supported */

int fastnet_simd_supported(void)
{
    if (supported < 0) supported = detect_level();
    return supported;
}

int fastnet_simd_level(void)
{
    if (level_in_use < 0) level_in_use = fastnet_simd_supported();
    return level_in_use;
}

int fastnet_simd_use(int wanted)
{
    int best = fastnet_simd_supported();
    level_in_use = wanted < FASTNET_SIMD_NONE ? FASTNET_SIMD_NONE : wanted > best ? best : wanted;
    return level_in_use;
}

/* Each entry point runs the variant of the level it is given: a call takes
 * fastnet_simd_level() once, when it starts, so that a change of level by
 * another thread cannot reach it halfway.  At level 0 the callers use BLAS and
 * do not come here; if they did, nothing would happen. */
#if FASTNET_X86
#define DISPATCH(call_avx512, call_avx2) \
    do { if (level == FASTNET_SIMD_AVX512) call_avx512; \
         else if (level == FASTNET_SIMD_AVX2) call_avx2; } while (0)
#else
#define DISPATCH(call_avx512, call_avx2) do { } while (0)
#endif

void fastnet_dot_rows_d(int level, int m, int n, int k, const double* const* a, const double* const* b,
                        const double* bias, double* c, ptrdiff_t ldc, const char* const* prefetch,
                        int prefetch_rows, ptrdiff_t prefetch_bytes)
{
    DISPATCH(dot_rows_avx512_d(m, n, k, a, b, bias, c, ldc, prefetch, prefetch_rows, prefetch_bytes), dot_rows_avx2_d(m, n, k, a, b, bias, c, ldc, prefetch, prefetch_rows, prefetch_bytes));
}

void fastnet_dot_rows_f(int level, int m, int n, int k, const float* const* a, const float* const* b,
                        const float* bias, float* c, ptrdiff_t ldc, const char* const* prefetch,
                        int prefetch_rows, ptrdiff_t prefetch_bytes)
{
    DISPATCH(dot_rows_avx512_f(m, n, k, a, b, bias, c, ldc, prefetch, prefetch_rows, prefetch_bytes), dot_rows_avx2_f(m, n, k, a, b, bias, c, ldc, prefetch, prefetch_rows, prefetch_bytes));
}

void fastnet_axpy_rows_d(int level, int rows, int k, int terms, const double* s_values,
                         ptrdiff_t s_row_step, ptrdiff_t s_col_step, const double* const* b,
                         double beta, double* c, ptrdiff_t ldc,
                         const char* const* prefetch, int prefetch_rows, ptrdiff_t prefetch_bytes)
{
    DISPATCH(axpy_rows_avx512_d(rows, k, terms, s_values, s_row_step, s_col_step, b, beta, c, ldc,
                                prefetch, prefetch_rows, prefetch_bytes),
             axpy_rows_avx2_d(rows, k, terms, s_values, s_row_step, s_col_step, b, beta, c, ldc,
                              prefetch, prefetch_rows, prefetch_bytes));
}

void fastnet_axpy_rows_f(int level, int rows, int k, int terms, const float* s_values,
                         ptrdiff_t s_row_step, ptrdiff_t s_col_step, const float* const* b,
                         float beta, float* c, ptrdiff_t ldc,
                         const char* const* prefetch, int prefetch_rows, ptrdiff_t prefetch_bytes)
{
    DISPATCH(axpy_rows_avx512_f(rows, k, terms, s_values, s_row_step, s_col_step, b, beta, c, ldc,
                                prefetch, prefetch_rows, prefetch_bytes),
             axpy_rows_avx2_f(rows, k, terms, s_values, s_row_step, s_col_step, b, beta, c, ldc,
                              prefetch, prefetch_rows, prefetch_bytes));
}

void fastnet_rows_times_matrix_d(int level, int m, int n, int k, const double* const* a,
                                 const double* b, ptrdiff_t ldb, double scale, const double* bias, double* c,
                                 ptrdiff_t ldc, const char* const* prefetch, int prefetch_rows,
                                 ptrdiff_t prefetch_bytes)
{
    DISPATCH(rows_times_matrix_avx512_d(m, n, k, a, b, ldb, scale, bias, c, ldc, prefetch, prefetch_rows, prefetch_bytes),
             rows_times_matrix_avx2_d(m, n, k, a, b, ldb, scale, bias, c, ldc, prefetch, prefetch_rows, prefetch_bytes));
}

void fastnet_rows_times_matrix_f(int level, int m, int n, int k, const float* const* a,
                                 const float* b, ptrdiff_t ldb, float scale, const float* bias, float* c,
                                 ptrdiff_t ldc, const char* const* prefetch, int prefetch_rows,
                                 ptrdiff_t prefetch_bytes)
{
    DISPATCH(rows_times_matrix_avx512_f(m, n, k, a, b, ldb, scale, bias, c, ldc, prefetch, prefetch_rows, prefetch_bytes),
             rows_times_matrix_avx2_f(m, n, k, a, b, ldb, scale, bias, c, ldc, prefetch, prefetch_rows, prefetch_bytes));
}

void fastnet_rank_update_d(int level, int k, int n, int terms, const double* const* a,
                           const double* d, ptrdiff_t ldd, double alpha, double* c, ptrdiff_t ldc)
{
    DISPATCH(rank_update_avx512_d(k, n, terms, a, d, ldd, alpha, c, ldc),
             rank_update_avx2_d(k, n, terms, a, d, ldd, alpha, c, ldc));
}

void fastnet_rank_update_f(int level, int k, int n, int terms, const float* const* a,
                           const float* d, ptrdiff_t ldd, float alpha, float* c, ptrdiff_t ldc)
{
    DISPATCH(rank_update_avx512_f(k, n, terms, a, d, ldd, alpha, c, ldc),
             rank_update_avx2_f(k, n, terms, a, d, ldd, alpha, c, ldc));
}

void fastnet_prefetch(const void* p, ptrdiff_t bytes)
{
#if FASTNET_X86
    const char* line = (const char*) p - (ptrdiff_t) ((size_t) p % 64);   /* every line touched */
    prefetch_lines(line, 0, (const char*) p + bytes - line);
#else
    (void) p; (void) bytes;
#endif
}

void fastnet_sigmoid_d(int level, double* z, ptrdiff_t count)
{
    DISPATCH(sigmoid_all_avx512_d(z, count), sigmoid_all_avx2_d(z, count));
}

void fastnet_sigmoid_f(int level, float* z, ptrdiff_t count)
{
    DISPATCH(sigmoid_all_avx512_f(z, count), sigmoid_all_avx2_f(z, count));
}

void fastnet_bias_step_d(int level, int m, int n, const double* d, double alpha, double beta,
                         double* b, double* sums)
{
    DISPATCH(bias_step_avx512_d(m, n, d, alpha, beta, b, sums),
             bias_step_avx2_d(m, n, d, alpha, beta, b, sums));
}

void fastnet_bias_step_f(int level, int m, int n, const float* d, float alpha, float beta,
                         float* b, float* sums)
{
    DISPATCH(bias_step_avx512_f(m, n, d, alpha, beta, b, sums),
             bias_step_avx2_f(m, n, d, alpha, beta, b, sums));
}

void fastnet_times_sigmoid_slope_d(int level, double* d, const double* a, ptrdiff_t count)
{
    DISPATCH(times_sigmoid_slope_avx512_d(d, a, count), times_sigmoid_slope_avx2_d(d, a, count));
}

void fastnet_times_sigmoid_slope_f(int level, float* d, const float* a, ptrdiff_t count)
{
    DISPATCH(times_sigmoid_slope_avx512_f(d, a, count), times_sigmoid_slope_avx2_f(d, a, count));
}

int fastnet_all_finite_d(int level, const double* x, ptrdiff_t count)
{
    int finite = 1;
    DISPATCH(finite = all_finite_avx512_d(x, count), finite = all_finite_avx2_d(x, count));
    return finite;
}

int fastnet_all_finite_f(int level, const float* x, ptrdiff_t count)
{
    int finite = 1;
    DISPATCH(finite = all_finite_avx512_f(x, count), finite = all_finite_avx2_f(x, count));
    return finite;
}

double fastnet_fma_chain(int at_level, int single_precision, long long rounds)
{
#if FASTNET_X86
    if (at_level > fastnet_simd_supported()) return 0;
    if (at_level == FASTNET_SIMD_AVX512)
        return single_precision ? fma_chain_avx512_f(rounds) : fma_chain_avx512_d(rounds);
    if (at_level == FASTNET_SIMD_AVX2)
        return single_precision ? fma_chain_avx2_f(rounds) : fma_chain_avx2_d(rounds);
#endif
    (void) single_precision; (void) rounds;
    return 0;
}

/* Hand-written small-matrix kernels with runtime CPU dispatch (tiles.c).
 *
 * fastnet's mini-batches are small (10 rows of 784 inputs, 30 hidden neurons
 * in the book's network).  At these shapes a BLAS call spends much of its time
 * on entry, packing and edge handling; these kernels instead keep a tile of
 * accumulators in vector registers and read their operands in place, rows
 * given by pointers, so a mini-batch's input rows need not be gathered first.
 *
 * Two forms cover every product of training, all row-major:
 *
 *   dot rows   C[i][j] = sum_p A_i[p] * B_j[p] (+ bias[j])  (Z = A W^T + b: forward)
 *   axpy rows  C[r][p] = beta C[r][p] + sum_s S(r, s) B_s[p] (D W: deltas; s D^T A: update)
 *
 * with S(r, s) = s_values[r * s_row_step + s * s_col_step].  A beta of 0
 * writes C without reading it.  Two more serve a layer whose weights are kept
 * transposed (an SGD epoch's first layer), where outputs lie along the vectors:
 *
 *   rows times matrix  C[i][:] = scale sum_p A_i[p] B[p][:] + bias  (forward)
 *   rank update        C[p][:] += alpha sum_i A_i[p] D_i[:]         (update)
 *
 * Each is built for x86-64-v4 (AVX-512) and x86-64-v3 (AVX2 + FMA) from one
 * source (tiles_body.h) and chosen at run time by what the CPU has; elsewhere
 * (baseline x86-64, aarch64) fastnet_simd_level() is 0 and training.pyx keeps
 * to BLAS.  Nothing here checks its arguments: the callers have.
 */
#ifndef FASTNET_TILES_H
#define FASTNET_TILES_H

#include <stddef.h>

/* Instruction-set levels, in the order of preference. */
#define FASTNET_SIMD_NONE 0      /* BLAS only */
#define FASTNET_SIMD_AVX2 1      /* x86-64-v3: AVX2 + FMA, 16 vector registers */
#define FASTNET_SIMD_AVX512 2    /* x86-64-v4: AVX-512 F/DQ/BW/VL, 32 vector registers */

/* The best level this CPU (and operating system) supports. */
int fastnet_simd_supported(void);
/* The level in use. */
int fastnet_simd_level(void);
/* Use `level` (clamped to what is supported); returns the level now in use. */
int fastnet_simd_use(int level);

void fastnet_dot_rows_d(int level, int m, int n, int k, const double* const* a, const double* const* b,
                        const double* bias, double* c, ptrdiff_t ldc, const char* const* prefetch,
                        int prefetch_rows, ptrdiff_t prefetch_bytes);
void fastnet_dot_rows_f(int level, int m, int n, int k, const float* const* a, const float* const* b,
                        const float* bias, float* c, ptrdiff_t ldc, const char* const* prefetch,
                        int prefetch_rows, ptrdiff_t prefetch_bytes);

void fastnet_axpy_rows_d(int level, int rows, int k, int terms, const double* s_values,
                         ptrdiff_t s_row_step, ptrdiff_t s_col_step, const double* const* b,
                         double beta, double* c, ptrdiff_t ldc,
                         const char* const* prefetch, int prefetch_rows, ptrdiff_t prefetch_bytes);
void fastnet_axpy_rows_f(int level, int rows, int k, int terms, const float* s_values,
                         ptrdiff_t s_row_step, ptrdiff_t s_col_step, const float* const* b,
                         float beta, float* c, ptrdiff_t ldc,
                         const char* const* prefetch, int prefetch_rows, ptrdiff_t prefetch_bytes);

/* The column forms (tiles_body.h), b and c row-major with rows padded to whole vectors:
 *   rows times matrix  c[i][j] = scale sum_p a[i][p] b[p][j] + bias[j]  (i < m, j < n; bias may be NULL)
 *   rank update        c[p][j] += alpha sum_s a[s][p] d[s][j]  (p < k, j < n, terms >= 1); c's
 *                      columns from n to the end of their vector are written but not changed */
void fastnet_rows_times_matrix_d(int level, int m, int n, int k, const double* const* a,
                                 const double* b, ptrdiff_t ldb, double scale, const double* bias, double* c,
                                 ptrdiff_t ldc, const char* const* prefetch, int prefetch_rows,
                                 ptrdiff_t prefetch_bytes);
void fastnet_rows_times_matrix_f(int level, int m, int n, int k, const float* const* a,
                                 const float* b, ptrdiff_t ldb, float scale, const float* bias, float* c,
                                 ptrdiff_t ldc, const char* const* prefetch, int prefetch_rows,
                                 ptrdiff_t prefetch_bytes);
void fastnet_rank_update_d(int level, int k, int n, int terms, const double* const* a,
                           const double* d, ptrdiff_t ldd, double alpha, double* c, ptrdiff_t ldc);
void fastnet_rank_update_f(int level, int k, int n, int terms, const float* const* a,
                           const float* d, ptrdiff_t ldd, float alpha, float* c, ptrdiff_t ldc);

/* Ask for the cache lines of p[0 .. bytes) (nothing where there is no x86 prefetch). */
void fastnet_prefetch(const void* p, ptrdiff_t bytes);

/* z[i] <- sigmoid(z[i]) for i < count. */
void fastnet_sigmoid_d(int level, double* z, ptrdiff_t count);
void fastnet_sigmoid_f(int level, float* z, ptrdiff_t count);

/* The bias part of a step, D (m, n) the deltas: b[j] = alpha sum_i D[i][j] + beta b[j]
 * (beta = 0: written, not read), and sums[j] += sum_i D[i][j] unless sums is NULL. */
void fastnet_bias_step_d(int level, int m, int n, const double* d, double alpha, double beta,
                         double* b, double* sums);
void fastnet_bias_step_f(int level, int m, int n, const float* d, float alpha, float beta,
                         float* b, float* sums);

/* d[i] <- d[i] * a[i] * (1 - a[i]) for i < count: deltas times the sigmoid's slope. */
void fastnet_times_sigmoid_slope_d(int level, double* d, const double* a, ptrdiff_t count);
void fastnet_times_sigmoid_slope_f(int level, float* d, const float* a, ptrdiff_t count);

/* Whether none of x[0 .. count) is NaN or infinite. */
int fastnet_all_finite_d(int level, const double* x, ptrdiff_t count);
int fastnet_all_finite_f(int level, const float* x, ptrdiff_t count);

/* Register-only chains of fused multiply-adds at `level` (for the benchmark's peak):
 * as many independent accumulators of one vector each as the registers hold, each
 * taking `rounds` steps.  Returns the flops done (0 at a level the CPU lacks). */
double fastnet_fma_chain(int level, int single_precision, long long rounds);

#endif

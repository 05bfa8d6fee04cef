/* Hand-written small-matrix kernels with runtime CPU dispatch (tiles.c).
 *
 * fastnet's mini-batches are small (10 rows of 784 inputs, 30 hidden neurons
 * in the book's network).  At these shapes a BLAS call spends much of its time
 * on entry, packing and edge handling; these kernels instead keep a tile of
 * accumulators in vector registers and read their operands in place, rows
 * given by pointers, so a mini-batch's input rows need not be gathered first
 * (BLIS calls such unpacked small-matrix kernels "sup").
 *
 * Two forms cover every product of training, all row-major:
 *
 *   dot rows   C[i][j] = sum_p A_i[p] * B_j[p] (+ bias[j])  (Z = A W^T + b: forward)
 *   axpy rows  C[r][p] = beta C[r][p] + sum_s S(r, s) B_s[p] (D W: deltas; s D^T A: update)
 *
 * with S(r, s) = s_values[r * s_row_step + s * s_col_step].  In BLAS terms
 * dot rows is a grid of fused dot products (dotxf, BLIS's sup-rd: each sum is
 * reduced across a vector's lanes) and axpy rows a stack of fused axpys
 * (axpyf).  A beta of 0 writes C without reading it.  Two more serve a layer
 * whose weights are kept transposed (an SGD epoch's first layer), where the
 * outputs lie along the vectors (BLIS's sup-rv: no sum across lanes):
 *
 *   rows times matrix  C[i][:] = scale sum_p A_i[p] B[p][:] + bias  (forward)
 *   rank update        C[p][:] += alpha sum_i A_i[p] D_i[:]         (update)
 *
 * and elementwise kernels: the sigmoid, the deltas times its slope, the bias
 * part of a step and a check that every value is finite.
 *
 * Each kernel is compiled once per instruction set and precision (tiles.c) and
 * reached through a table of function pointers for that level and precision,
 * fastnet_tables_d[level] or fastnet_tables_f[level] (BLIS's "context"),
 * filled when the module is loaded.  Level 0 has no kernels (its entries are
 * NULL: its callers use BLAS); on CPUs other than x86-64 it is the only level.
 * Nothing here checks its arguments: the callers have.
 */
#ifndef FASTNET_TILES_H
#define FASTNET_TILES_H

#include <stddef.h>

/* Instruction-set levels, in the order of preference. */
#define FASTNET_SIMD_NONE 0      /* BLAS only */
#define FASTNET_SIMD_AVX2 1      /* x86-64-v3: AVX2 + FMA, 16 vector registers */
#define FASTNET_SIMD_AVX512 2    /* x86-64-v4: AVX-512 F/DQ/BW/VL, 32 vector registers */
#define FASTNET_SIMD_LEVELS 3

/* The kernels of one level in one precision T; `lanes` is the width of its vectors
 * in values of T (1 at level 0).  The forms, b and c row-major:
 *   dot_rows           c[i][j] = sum_p a[i][p] b[j][p] (+ bias[j] unless NULL), i < m, j < n
 *   axpy_rows          c[r][p] = beta c[r][p] + sum_s s_values[r*s_row_step + s*s_col_step] b[s][p]
 *   rows_times_matrix  c[i][j] = scale sum_p a[i][p] b[p][j] + bias[j] (bias may be NULL), b's
 *                      rows padded to whole vectors
 *   rank_update        c[p][j] += alpha sum_s a[s][p] d[s][j]  (p < k, j < n, terms >= 1); c's
 *                      columns from n to the end of their vector are written but not changed
 *   sigmoid            z[i] <- sigmoid(z[i]) for i < count
 *   bias_step          b[j] = alpha sum_i d[i][j] + beta b[j] (beta = 0: written, not read), and
 *                      sums[j] += sum_i d[i][j] unless sums is NULL; d is (m, n)
 *   times_sigmoid_slope  d[i] <- d[i] * a[i] * (1 - a[i]) for i < count
 *   all_finite         whether none of x[0 .. count) is NaN or infinite
 *   fma_chain          register-only chains of fused multiply-adds, as many independent
 *                      accumulators of one vector as the registers hold, each taking `rounds`
 *                      steps (the benchmark's peak); returns the flops done
 * A `prefetch` that is not NULL names prefetch_rows rows of prefetch_bytes to ask the
 * cache for along the way (the next mini-batch's inputs). */
#define FASTNET_TABLE_FIELDS(T)                                                              \
    int lanes;                                                                               \
    void (*dot_rows)(int m, int n, int k, const T* const* a, const T* const* b,              \
                     const T* bias, T* c, ptrdiff_t ldc, const char* const* prefetch,        \
                     int prefetch_rows, ptrdiff_t prefetch_bytes);                           \
    void (*axpy_rows)(int rows, int k, int terms, const T* s_values, ptrdiff_t s_row_step,   \
                      ptrdiff_t s_col_step, const T* const* b, T beta, T* c, ptrdiff_t ldc,  \
                      const char* const* prefetch, int prefetch_rows,                        \
                      ptrdiff_t prefetch_bytes);                                             \
    void (*rows_times_matrix)(int m, int n, int k, const T* const* a, const T* b,            \
                              ptrdiff_t ldb, T scale, const T* bias, T* c, ptrdiff_t ldc,    \
                              const char* const* prefetch, int prefetch_rows,                \
                              ptrdiff_t prefetch_bytes);                                     \
    void (*rank_update)(int k, int n, int terms, const T* const* a, const T* d,              \
                        ptrdiff_t ldd, T alpha, T* c, ptrdiff_t ldc);                        \
    void (*sigmoid)(T* z, ptrdiff_t count);                                                  \
    void (*bias_step)(int m, int n, const T* d, T alpha, T beta, T* b, T* sums);             \
    void (*times_sigmoid_slope)(T* d, const T* a, ptrdiff_t count);                          \
    int (*all_finite)(const T* x, ptrdiff_t count);                                          \
    double (*fma_chain)(long long rounds);

/* The kernels' names, in the order of the fields above after `lanes`: tiles.c fills
 * each table from this list. */
#define FASTNET_KERNEL_NAMES(X) \
    X(dot_rows) X(axpy_rows) X(rows_times_matrix) X(rank_update) X(sigmoid) X(bias_step) \
    X(times_sigmoid_slope) X(all_finite) X(fma_chain)

typedef struct { FASTNET_TABLE_FIELDS(double) } fastnet_table_d;
typedef struct { FASTNET_TABLE_FIELDS(float) } fastnet_table_f;

/* One table per level, indexed by the level. */
extern const fastnet_table_d* const fastnet_tables_d[FASTNET_SIMD_LEVELS];
extern const fastnet_table_f* const fastnet_tables_f[FASTNET_SIMD_LEVELS];

/* How the kernels walk their work, set from fastnet.dispatch's table for the CPU (its
 * parameters change the speed, never the order of a sum):
 *   dot_chunk   dot rows: the longest stretch of a sum, in vectors, kept in L1 per pass
 *   dot_block   dot rows: columns of tiles that share a stretch (1 .. FASTNET_DOT_BLOCK_MAX)
 *   axpy_chunk  axpy rows: the stretch of a row, in groups of AXPY_KV vectors, per pass
 *   columns_chunk  the column forms: rows of B (or C) per pass over every tile, so that a
 *               stretch of the weights and of the inputs is read from L2 once (0: all k)
 *   columns_wide  rows times matrix: wide tiles (COLS_WIDE_MR x COLS_WIDE_CV, where the
 *               instruction set has them) for outputs of more than COLS_CV vectors (0: never)
 *   prefetch_double, prefetch_float   where the kernels fetch the next mini-batch's rows
 *               to as they go, in each precision: FASTNET_PREFETCH_* below
 * One copy per compiled module (each links its own tiles.c); the defaults are the zen5 row. */
#define FASTNET_DOT_BLOCK_MAX 4
#define FASTNET_PREFETCH_NONE 0
#define FASTNET_PREFETCH_TO_L1 1
#define FASTNET_PREFETCH_TO_L2 2
typedef struct {
    int dot_chunk, dot_block, axpy_chunk, columns_chunk, columns_wide, prefetch_double,
        prefetch_float;
} fastnet_tuning;
extern fastnet_tuning fastnet_tuning_in_use;

/* Set fastnet_tuning_in_use, each value clamped to what the kernels take. */
void fastnet_set_tuning(int dot_chunk, int dot_block, int axpy_chunk, int columns_chunk,
                        int columns_wide, int prefetch_double, int prefetch_float);

/* CPUID's vendor string (12 characters and a NUL; empty off x86-64), display family
 * and model (the extended fields folded in, as the vendors' manuals say). */
void fastnet_cpu_signature(char vendor[13], int* family, int* model);

/* The best level this CPU (and operating system) supports. */
int fastnet_simd_supported(void);

/* Ask for the cache lines of p[0 .. bytes) (nothing where there is no x86 prefetch). */
void fastnet_prefetch(const void* p, ptrdiff_t bytes);

/* The table's fma_chain at `level` in float (single_precision) or double; 0 flops at a
 * level the CPU lacks. */
double fastnet_fma_chain(int level, int single_precision, long long rounds);

#endif

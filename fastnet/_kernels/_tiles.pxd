# cython: language_level=3
"""The hand-written small-matrix kernels of tiles.c, one wrapper per routine over `floating`.

Each wrapper calls its kernel through the table of `level` in its precision
(``fastnet_tables_d`` or ``fastnet_tables_f``), which tiles.c fills when the module
loads.  The caller passes the level (fastnet.dispatch holds the one in use); level 0
(BLAS only) has no kernels: nothing here may be called with it.  Row-major throughout,
rows given by pointers (see tiles.h for the forms).
"""
from cython cimport floating


cdef extern from "tiles.h" nogil:
    int FASTNET_SIMD_NONE
    int FASTNET_SIMD_AVX2
    int FASTNET_SIMD_AVX512
    int FASTNET_SIMD_LEVELS

    # One table of kernels per level and precision (tiles.h says what each computes).
    ctypedef struct fastnet_table_d:
        int lanes
        void (*dot_rows)(int m, int n, int k, const double* const* a, const double* const* b,
                         const double* bias, double* c, Py_ssize_t ldc,
                         const char* const* prefetch, int prefetch_rows, Py_ssize_t prefetch_bytes) noexcept nogil
        void (*axpy_rows)(int rows, int k, int terms, const double* s_values,
                          Py_ssize_t s_row_step, Py_ssize_t s_col_step, const double* const* b,
                          double beta, double* c, Py_ssize_t ldc, const char* const* prefetch,
                          int prefetch_rows, Py_ssize_t prefetch_bytes) noexcept nogil
        void (*rows_times_matrix)(int m, int n, int k, const double* const* a, const double* b,
                                  Py_ssize_t ldb, double scale, const double* bias, double* c,
                                  Py_ssize_t ldc, const char* const* prefetch, int prefetch_rows,
                                  Py_ssize_t prefetch_bytes) noexcept nogil
        void (*rank_update)(int k, int n, int terms, const double* const* a, const double* d,
                            Py_ssize_t ldd, double alpha, double* c, Py_ssize_t ldc) noexcept nogil
        void (*sigmoid)(double* z, Py_ssize_t count) noexcept nogil
        void (*bias_step)(int m, int n, const double* d, double alpha, double beta, double* b,
                          double* sums) noexcept nogil
        void (*times_sigmoid_slope)(double* d, const double* a, Py_ssize_t count) noexcept nogil
        int (*all_finite)(const double* x, Py_ssize_t count) noexcept nogil
        double (*fma_chain)(long long rounds) noexcept nogil

    ctypedef struct fastnet_table_f:
        int lanes
        void (*dot_rows)(int m, int n, int k, const float* const* a, const float* const* b,
                         const float* bias, float* c, Py_ssize_t ldc,
                         const char* const* prefetch, int prefetch_rows, Py_ssize_t prefetch_bytes) noexcept nogil
        void (*axpy_rows)(int rows, int k, int terms, const float* s_values,
                          Py_ssize_t s_row_step, Py_ssize_t s_col_step, const float* const* b,
                          float beta, float* c, Py_ssize_t ldc, const char* const* prefetch,
                          int prefetch_rows, Py_ssize_t prefetch_bytes) noexcept nogil
        void (*rows_times_matrix)(int m, int n, int k, const float* const* a, const float* b,
                                  Py_ssize_t ldb, float scale, const float* bias, float* c,
                                  Py_ssize_t ldc, const char* const* prefetch, int prefetch_rows,
                                  Py_ssize_t prefetch_bytes) noexcept nogil
        void (*rank_update)(int k, int n, int terms, const float* const* a, const float* d,
                            Py_ssize_t ldd, float alpha, float* c, Py_ssize_t ldc) noexcept nogil
        void (*sigmoid)(float* z, Py_ssize_t count) noexcept nogil
        void (*bias_step)(int m, int n, const float* d, float alpha, float beta, float* b,
                          float* sums) noexcept nogil
        void (*times_sigmoid_slope)(float* d, const float* a, Py_ssize_t count) noexcept nogil
        int (*all_finite)(const float* x, Py_ssize_t count) noexcept nogil
        double (*fma_chain)(long long rounds) noexcept nogil

    const fastnet_table_d* fastnet_tables_d[]
    const fastnet_table_f* fastnet_tables_f[]

    # How the kernels walk their work (tiles.h; the module's own copy).
    ctypedef struct fastnet_tuning:
        int columns_wide
    fastnet_tuning fastnet_tuning_in_use

    int fastnet_simd_supported()
    void fastnet_prefetch(const void* p, Py_ssize_t bytes)
    void fastnet_set_tuning(int dot_chunk, int dot_block, int axpy_chunk, int columns_chunk,
                            int columns_wide, int prefetch_double, int prefetch_float)
    void fastnet_cpu_signature(char* vendor, int* family, int* model)
    double fastnet_fma_chain(int level, int single_precision, long long rounds)


cdef inline void dot_rows(int level, int m, int n, int k, const floating** a, const floating** b,
                          const floating* bias, floating* c, Py_ssize_t ldc,
                          const char** prefetch=NULL, int prefetch_rows=0,
                          Py_ssize_t prefetch_bytes=0) noexcept nogil:
    """c[i, j] = sum_p a[i][p] * b[j][p] (+ bias[j] unless bias is NULL) for i < m, j < n
    (row stride ldc).

    If `prefetch` is not NULL, its rows (prefetch_bytes each) are fetched into
    the cache along the way.
    """
    if floating is float:
        fastnet_tables_f[level].dot_rows(m, n, k, a, b, bias, c, ldc, prefetch, prefetch_rows,
                                           prefetch_bytes)
    else:
        fastnet_tables_d[level].dot_rows(m, n, k, a, b, bias, c, ldc, prefetch, prefetch_rows,
                                           prefetch_bytes)


cdef inline void axpy_rows(int level, int rows, int k, int terms, const floating* s_values,
                           Py_ssize_t s_row_step, Py_ssize_t s_col_step, const floating** b,
                           floating beta, floating* c, Py_ssize_t ldc,
                           const char** prefetch, int prefetch_rows,
                           Py_ssize_t prefetch_bytes) noexcept nogil:
    """c[r, p] = beta c[r, p] + sum_s s_values[r*s_row_step + s*s_col_step] * b[s][p].

    If `prefetch` is not NULL, its rows (prefetch_bytes each) are fetched into
    the cache along the way.
    """
    if floating is float:
        fastnet_tables_f[level].axpy_rows(rows, k, terms, s_values, s_row_step, s_col_step, b,
                                            beta, c, ldc, prefetch, prefetch_rows, prefetch_bytes)
    else:
        fastnet_tables_d[level].axpy_rows(rows, k, terms, s_values, s_row_step, s_col_step, b,
                                            beta, c, ldc, prefetch, prefetch_rows, prefetch_bytes)


cdef inline int vector_bytes(int level) noexcept nogil:
    """The width of `level`'s vectors in bytes, as tiles.c's tables give it."""
    return fastnet_tables_d[level].lanes * <int> sizeof(double)


cdef inline void rows_times_matrix(int level, int m, int n, int k, const floating** a,
                                   const floating* b, Py_ssize_t ldb, floating scale,
                                   const floating* bias, floating* c, Py_ssize_t ldc,
                                   const char** prefetch, int prefetch_rows,
                                   Py_ssize_t prefetch_bytes) noexcept nogil:
    """c[i, j] = scale * sum_p a[i][p] * b[p, j] + bias[j] for i < m, j < n (bias may be NULL).

    b's rows (stride ldb) are padded to whole vectors of `level`.  If
    `prefetch` is not NULL, its rows (prefetch_bytes each) are fetched into
    the cache along the way.
    """
    if floating is float:
        fastnet_tables_f[level].rows_times_matrix(m, n, k, a, b, ldb, scale, bias, c, ldc, prefetch,
                                                  prefetch_rows, prefetch_bytes)
    else:
        fastnet_tables_d[level].rows_times_matrix(m, n, k, a, b, ldb, scale, bias, c, ldc, prefetch,
                                                  prefetch_rows, prefetch_bytes)


cdef inline void rank_update(int level, int k, int n, int terms, const floating** a,
                             const floating* d, Py_ssize_t ldd, floating alpha, floating* c,
                             Py_ssize_t ldc) noexcept nogil:
    """c[p, j] += alpha * sum_s a[s][p] * d[s, j] for p < k, j < n, s < terms (terms >= 1).

    c's rows (stride ldc) are padded to whole vectors of `level`, which are
    written (the padding unchanged).
    """
    if floating is float:
        fastnet_tables_f[level].rank_update(k, n, terms, a, d, ldd, alpha, c, ldc)
    else:
        fastnet_tables_d[level].rank_update(k, n, terms, a, d, ldd, alpha, c, ldc)


cdef inline void sigmoid_all(int level, floating* z, Py_ssize_t count) noexcept nogil:
    """z[i] <- sigmoid(z[i]) for i < count, vectorised."""
    if floating is float:
        fastnet_tables_f[level].sigmoid(z, count)
    else:
        fastnet_tables_d[level].sigmoid(z, count)


cdef inline void bias_step(int level, int m, int n, const floating* d, floating alpha,
                           floating beta, floating* b, floating* sums) noexcept nogil:
    """b[j] = alpha * sum_i d[i, j] + beta * b[j] (beta = 0: written, not read), and
    sums[j] += sum_i d[i, j] unless sums is NULL, for the (m, n) deltas d."""
    if floating is float:
        fastnet_tables_f[level].bias_step(m, n, d, alpha, beta, b, sums)
    else:
        fastnet_tables_d[level].bias_step(m, n, d, alpha, beta, b, sums)


cdef inline void times_sigmoid_slope(int level, floating* d, const floating* a,
                                     Py_ssize_t count) noexcept nogil:
    """d[i] <- d[i] * a[i] * (1 - a[i]) for i < count, vectorised."""
    if floating is float:
        fastnet_tables_f[level].times_sigmoid_slope(d, a, count)
    else:
        fastnet_tables_d[level].times_sigmoid_slope(d, a, count)


cdef inline bint vector_all_finite(int level, const floating* x, Py_ssize_t count) noexcept nogil:
    """Whether no value of x[:count] is NaN or infinite, with the vectors of `level`."""
    if floating is float:
        return fastnet_tables_f[level].all_finite(x, count)
    else:
        return fastnet_tables_d[level].all_finite(x, count)

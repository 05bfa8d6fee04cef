# cython: language_level=3
"""Python-callable twins of tiles.c's kernels and of the BLAS wrappers, for tests and benchmarks.

Each twin takes NumPy arrays and an explicit instruction-set level, checks them, and
calls the kernel of that level through the same table and the same `_tiles.pxd`
wrapper that training uses (training.pyx never calls these).  Rows are handed to
the kernels by pointer, as in training: any 2-D array whose rows are contiguous
(inner stride one value, outer stride any positive multiple) will do, so a slice
of a larger array gives a row stride ``ld`` past its width.  An output is written
in place; every value outside its block is left alone, which the tests check.

The column forms read and write whole vectors of their padded operands: their
twins ask for those arrays to be at least ``padded(n, lanes(level, ...))`` wide.

``blas_gemm`` and ``blas_gemv`` call the row-major BLAS wrappers of ``_blas.pxd``,
so that tests check them against NumPy directly.  ``fma_chain`` is the
benchmarks' FMA-peak probe.
"""
import numpy as np

from cython cimport floating
from libc.stdint cimport uintptr_t
from libc.stdlib cimport free, malloc

from ._blas cimport AS_STORED, TRANSPOSED, gemm, gemv
from ._tiles cimport (FASTNET_SIMD_NONE, axpy_rows as tile_axpy_rows,
                      bias_step as tile_bias_step, dot_rows as tile_dot_rows,
                      fastnet_fma_chain, fastnet_simd_supported, fastnet_tables_d,
                      fastnet_tuning_in_use,
                      fastnet_tables_f, rank_update as tile_rank_update,
                      rows_times_matrix as tile_rows_times_matrix, sigmoid_all,
                      times_sigmoid_slope as tile_times_sigmoid_slope, vector_all_finite)


def supported():
    """The best level of tiles.c this CPU runs: 0 none, 1 AVX2+FMA, 2 AVX-512."""
    return fastnet_simd_supported()


def lanes(int level, bint single_precision):
    """How many values of float (single_precision) or double one vector of `level` holds."""
    check_level(level)
    return fastnet_tables_f[level].lanes if single_precision else fastnet_tables_d[level].lanes


def padded(int n, int lanes):
    """n rounded up to whole vectors of `lanes` values: the width the column forms touch."""
    return (n + lanes - 1) // lanes * lanes


def check_level(int level):
    if not FASTNET_SIMD_NONE < level <= fastnet_simd_supported():
        raise ValueError("level {} is not run by this CPU (its levels: 1 to {})".format(
            level, fastnet_simd_supported()))


def as_operand(name, array, dtype, ndim, writeable=False):
    """`array` if it can be handed to a kernel as it is: an ndarray of `dtype` (None: float32
    or float64, the first operand's choice) with `ndim` dimensions, rows contiguous, strides
    non-negative (and writeable if asked)."""
    if not isinstance(array, np.ndarray):
        raise TypeError("{} must be a NumPy array, not {}".format(name, type(array).__name__))
    if dtype is None and array.dtype not in (np.float32, np.float64):
        raise TypeError("{} must be float32 or float64, not {}".format(name, array.dtype))
    if dtype is not None and array.dtype != dtype:
        raise TypeError("{} is {}, not {} as the other operands".format(name, array.dtype, dtype))
    if array.ndim != ndim:
        raise ValueError("{} must have {} dimensions, not {}".format(name, ndim, array.ndim))
    if array.size == 0:
        raise ValueError("{} is empty".format(name))
    if array.strides[-1] != array.itemsize or any(s < 0 or s % array.itemsize for s in array.strides):
        raise ValueError("{}'s rows must be contiguous, its strides whole values and not negative"
                         .format(name))
    if writeable and not array.flags.writeable:
        raise ValueError("{} must be writeable".format(name))
    return array


def bias_operand(name, bias, dtype, n):
    """bias as a kernel takes it: None, or n contiguous values of dtype."""
    if bias is None:
        return None
    bias = as_operand(name, bias, dtype, 1)
    if bias.shape != (n,):
        raise ValueError("{} must have {} values, not {}".format(name, n, bias.shape[0]))
    return bias


def stride(array, axis=0):
    """The stride of `array` along `axis`, in values."""
    return array.strides[axis] // array.itemsize


cdef inline uintptr_t address(array):
    return 0 if array is None else <uintptr_t> array.ctypes.data


cdef class Rows:
    """A pointer to each row of a 2-D array (none for None), as the kernels take rows; the
    pointers are freed with this object, the array kept alive as long."""
    cdef void** pointers
    cdef int count
    cdef Py_ssize_t row_bytes
    cdef object array

    def __cinit__(self, array):
        cdef Py_ssize_t i
        cdef uintptr_t base, step
        self.array = array
        if array is None:
            return
        base, step = array.ctypes.data, array.strides[0]
        self.count, self.row_bytes = array.shape[0], array.shape[1] * array.itemsize
        self.pointers = <void**> malloc(self.count * sizeof(void*))
        if self.pointers == NULL:
            raise MemoryError()
        for i in range(self.count):
            self.pointers[i] = <void*> (base + i * step)

    def __dealloc__(self):
        free(self.pointers)


def prefetch_rows(prefetch):
    """The rows a kernel asks the cache for along the way (None: none)."""
    return Rows(None if prefetch is None else as_operand("prefetch", prefetch, None, 2))


def dot_rows(int level, a, b, bias, c, prefetch=None):
    """c[i, j] = sum_p a[i, p] b[j, p] (+ bias[j] unless bias is None), for the (m, k) a,
    (n, k) b and (m, n) c; prefetch's rows (if given) are asked for along the way."""
    check_level(level)
    a = as_operand("a", a, None, 2)
    b = as_operand("b", b, a.dtype, 2)
    c = as_operand("c", c, a.dtype, 2, writeable=True)
    m, k = a.shape
    n = b.shape[0]
    if b.shape[1] != k or c.shape != (m, n):
        raise ValueError("dot_rows: a {}, b {} and c {} do not match".format(a.shape, b.shape, c.shape))
    bias = bias_operand("bias", bias, a.dtype, n)
    cdef Rows ar = Rows(a), br = Rows(b), pf = prefetch_rows(prefetch)
    if a.dtype == np.float32:
        tile_dot_rows[float](level, m, n, k, <const float**> ar.pointers, <const float**> br.pointers,
                             <const float*> address(bias), <float*> address(c), stride(c),
                             <const char**> pf.pointers, pf.count, pf.row_bytes)
    else:
        tile_dot_rows[double](level, m, n, k, <const double**> ar.pointers,
                              <const double**> br.pointers, <const double*> address(bias),
                              <double*> address(c), stride(c), <const char**> pf.pointers,
                              pf.count, pf.row_bytes)


def axpy_rows(int level, s, b, beta, c, prefetch=None):
    """c[r, p] = beta c[r, p] + sum_t s[r, t] b[t, p], for the (rows, terms) s (any
    non-negative strides: a transposed view is read in place), (terms, k) b and
    (rows, k) c; beta = 0 writes c without reading it."""
    check_level(level)
    b = as_operand("b", b, None, 2)
    if not isinstance(s, np.ndarray) or s.dtype != b.dtype or s.ndim != 2 or s.size == 0:
        raise TypeError("s must be a non-empty 2-D array of {}".format(b.dtype))
    if any(t < 0 or t % s.itemsize for t in s.strides):
        raise ValueError("s's strides must be whole values and not negative")
    c = as_operand("c", c, b.dtype, 2, writeable=True)
    rows, terms = s.shape
    k = b.shape[1]
    if b.shape[0] != terms or c.shape != (rows, k):
        raise ValueError("axpy_rows: s {}, b {} and c {} do not match".format(s.shape, b.shape, c.shape))
    cdef Rows br = Rows(b), pf = prefetch_rows(prefetch)
    if b.dtype == np.float32:
        tile_axpy_rows[float](level, rows, k, terms, <const float*> address(s), stride(s, 0),
                              stride(s, 1), <const float**> br.pointers, beta, <float*> address(c),
                              stride(c), <const char**> pf.pointers, pf.count, pf.row_bytes)
    else:
        tile_axpy_rows[double](level, rows, k, terms, <const double*> address(s), stride(s, 0),
                               stride(s, 1), <const double**> br.pointers, beta,
                               <double*> address(c), stride(c), <const char**> pf.pointers,
                               pf.count, pf.row_bytes)


def padded_operand(kernel, name, array, dtype, level, rows, n):
    """array if it has `rows` rows at least padded(n, lanes) wide: the whole vectors a
    column form reads (b) or rewrites (c)."""
    array = as_operand(name, array, dtype, 2, writeable=name == "c")
    width = padded(n, lanes(level, dtype == np.float32))
    if array.shape[0] != rows or array.shape[1] < width:
        raise ValueError("{}: {} must be {} rows by at least {} (n = {} in whole vectors), not {}"
                         .format(kernel, name, rows, width, n, array.shape))
    return array


def rows_times_matrix(int level, a, b, scale, bias, c, prefetch=None):
    """c[i, j] = scale sum_p a[i, p] b[p, j] + bias[j] (no bias if None), for the (m, k) a,
    (m, n) c and a b of k rows at least padded(n, lanes) wide (whole vectors are read)."""
    check_level(level)
    a = as_operand("a", a, None, 2)
    c = as_operand("c", c, a.dtype, 2, writeable=True)
    m, k = a.shape
    n = c.shape[1]
    if c.shape[0] != m:
        raise ValueError("rows_times_matrix: a {} and c {} do not match".format(a.shape, c.shape))
    b = padded_operand("rows_times_matrix", "b", b, a.dtype, level, k, n)
    bias = bias_operand("bias", bias, a.dtype, n)
    cdef Rows ar = Rows(a), pf = prefetch_rows(prefetch)
    if a.dtype == np.float32:
        tile_rows_times_matrix[float](level, m, n, k, <const float**> ar.pointers,
                                      <const float*> address(b), stride(b), scale,
                                      <const float*> address(bias), <float*> address(c), stride(c),
                                      <const char**> pf.pointers, pf.count, pf.row_bytes)
    else:
        tile_rows_times_matrix[double](level, m, n, k, <const double**> ar.pointers,
                                       <const double*> address(b), stride(b), scale,
                                       <const double*> address(bias), <double*> address(c),
                                       stride(c), <const char**> pf.pointers, pf.count,
                                       pf.row_bytes)


def rank_update(int level, a, d, alpha, c):
    """c[p, j] += alpha sum_s a[s, p] d[s, j], for the (terms, k) a, (terms, n) d and a c of
    k rows at least padded(n, lanes) wide, whose columns n to padded(n) are rewritten
    unchanged."""
    check_level(level)
    a = as_operand("a", a, None, 2)
    d = as_operand("d", d, a.dtype, 2)
    terms, k = a.shape
    n = d.shape[1]
    if d.shape[0] != terms:
        raise ValueError("rank_update: a {} and d {} do not match".format(a.shape, d.shape))
    c = padded_operand("rank_update", "c", c, a.dtype, level, k, n)
    cdef Rows ar = Rows(a)
    if a.dtype == np.float32:
        tile_rank_update[float](level, k, n, terms, <const float**> ar.pointers,
                                <const float*> address(d), stride(d), alpha, <float*> address(c),
                                stride(c))
    else:
        tile_rank_update[double](level, k, n, terms, <const double**> ar.pointers,
                                 <const double*> address(d), stride(d), alpha,
                                 <double*> address(c), stride(c))


def vector(name, x, dtype=None, writeable=False):
    """x if it is a contiguous non-empty 1-D float32/float64 array (of `dtype` if given)."""
    if not isinstance(x, np.ndarray) or x.ndim != 1 or not x.flags.c_contiguous or x.size == 0:
        raise ValueError("{} must be a contiguous, non-empty 1-D array".format(name))
    if x.dtype not in (np.float32, np.float64) or (dtype is not None and x.dtype != dtype):
        raise TypeError("{} is {}, not {}".format(name, x.dtype, dtype or "float32 or float64"))
    if writeable and not x.flags.writeable:
        raise ValueError("{} must be writeable".format(name))
    return x


def sigmoid(int level, z):
    """z[i] <- sigmoid(z[i]), in place."""
    check_level(level)
    z = vector("z", z, writeable=True)
    if z.dtype == np.float32:
        sigmoid_all[float](level, <float*> address(z), z.size)
    else:
        sigmoid_all[double](level, <double*> address(z), z.size)


def times_sigmoid_slope(int level, d, a):
    """d[i] <- d[i] * a[i] * (1 - a[i]), in place."""
    check_level(level)
    d = vector("d", d, writeable=True)
    a = vector("a", a, d.dtype)
    if a.size != d.size:
        raise ValueError("times_sigmoid_slope: d and a differ in length")
    if d.dtype == np.float32:
        tile_times_sigmoid_slope[float](level, <float*> address(d), <const float*> address(a), d.size)
    else:
        tile_times_sigmoid_slope[double](level, <double*> address(d), <const double*> address(a),
                                         d.size)


def bias_step(int level, d, alpha, beta, b, sums=None):
    """b[j] = alpha sum_i d[i, j] + beta b[j] (beta = 0: written, not read), and
    sums[j] += sum_i d[i, j] unless sums is None, for the C-contiguous (m, n) d."""
    check_level(level)
    if not isinstance(d, np.ndarray) or d.ndim != 2 or not d.flags.c_contiguous or d.size == 0:
        raise ValueError("d must be a C-contiguous, non-empty 2-D array")
    m, n = d.shape
    b = vector("b", b, d.dtype, writeable=True)
    if b.size != n:
        raise ValueError("bias_step: b must have {} values".format(n))
    if sums is not None:
        sums = vector("sums", sums, d.dtype, writeable=True)
        if sums.size != n:
            raise ValueError("bias_step: sums must have {} values".format(n))
    if d.dtype == np.float32:
        tile_bias_step[float](level, m, n, <const float*> address(d), alpha, beta,
                              <float*> address(b), <float*> address(sums))
    else:
        tile_bias_step[double](level, m, n, <const double*> address(d), alpha, beta,
                               <double*> address(b), <double*> address(sums))


def all_finite(int level, x):
    """Whether no value of the 1-D x is NaN or infinite."""
    check_level(level)
    x = vector("x", x)
    if x.dtype == np.float32:
        return bool(vector_all_finite[float](level, <const float*> address(x), x.size))
    return bool(vector_all_finite[double](level, <const double*> address(x), x.size))


def columns_wide(bint wide):
    """Whether rows_times_matrix takes its wide register tiles (the tables' columns_wide) in
    this module's copy of the kernels from now on."""
    fastnet_tuning_in_use.columns_wide = wide


def fma_chain(int level, bint single_precision, long long rounds):
    """Run tiles.c's register-only chains of fused multiply-adds at `level` (at most
    supported()), and return the floating-point operations they did: time the call to
    get the machine's peak rate in that precision.  Returns 0 at a level it cannot run."""
    cdef double flops
    if level < 1 or level > fastnet_simd_supported() or rounds < 1:
        return 0.0
    with nogil:
        flops = fastnet_fma_chain(level, single_precision, rounds)
    return flops


def blas_gemm(bint transpose_a, bint transpose_b, double alpha,
              const floating[:, ::1] a, const floating[:, ::1] b,
              double beta, floating[:, ::1] c):
    """c = alpha * op(a) @ op(b) + beta * c through the row-major gemm wrapper (for tests)."""
    cdef int m = c.shape[0], n = c.shape[1]
    cdef int k = a.shape[0] if transpose_a else a.shape[1]
    if ((a.shape[1] if transpose_a else a.shape[0]) != m or m == 0 or n == 0 or k == 0
            or (b.shape[1] if transpose_b else b.shape[0]) != k
            or (b.shape[0] if transpose_b else b.shape[1]) != n):
        raise ValueError("blas_gemm: shapes do not match (or are empty)")
    gemm(TRANSPOSED if transpose_a else AS_STORED, TRANSPOSED if transpose_b else AS_STORED,
         m, n, k, <floating> alpha, &a[0, 0], a.shape[1], &b[0, 0], b.shape[1],
         <floating> beta, &c[0, 0], n)


def blas_gemv(bint transpose_a, double alpha, const floating[:, ::1] a,
              const floating[::1] x, double beta, floating[::1] y):
    """y = alpha * op(a) @ x + beta * y through the row-major gemv wrapper (for tests)."""
    if (a.shape[0] == 0 or a.shape[1] == 0
            or x.shape[0] != (a.shape[0] if transpose_a else a.shape[1])
            or y.shape[0] != (a.shape[1] if transpose_a else a.shape[0])):
        raise ValueError("blas_gemv: shapes do not match (or are empty)")
    gemv(TRANSPOSED if transpose_a else AS_STORED, a.shape[0], a.shape[1], <floating> alpha,
         &a[0, 0], a.shape[1], &x[0], <floating> beta, &y[0])

# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The row-major BLAS wrappers of ``_blas.pxd``, callable from Python so that tests check them
against NumPy directly."""
from cython cimport floating

from ._blas cimport AS_STORED, TRANSPOSED, gemm, gemv


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

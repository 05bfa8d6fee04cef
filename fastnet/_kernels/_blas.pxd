# cython: language_level=3
"""Row-major BLAS wrappers over scipy.linalg.cython_blas, one per routine.

Every array in fastnet's kernels is C-ordered (row-major), while BLAS is
column-major.  A row-major matrix M is, to BLAS, the column-major matrix M^T,
so the translation is done here once: callers describe row-major operands and
never think about Fortran order.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv


cdef enum Transpose:
    # How an operand enters a product: as it is stored, or transposed.
    AS_STORED = 0
    TRANSPOSED = 1


cdef inline char blas_flag(Transpose op) noexcept nogil:
    return b'T' if op == TRANSPOSED else b'N'


cdef inline void gemm(Transpose op_a, Transpose op_b, int m, int n, int k,
                      floating alpha, const floating* a, int lda,
                      const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """C = alpha * op(A) @ op(B) + beta * C with C (m, n) and row-major operands.

    Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so BLAS
    gets the operands swapped, each with its own transpose flag.  With
    beta = 0, C is written without being read.
    """
    cdef char ta = blas_flag(op_a)
    cdef char tb = blas_flag(op_b)
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb,
              <float*> a, &lda, &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb,
              <double*> a, &lda, &beta, c, &ldc)


cdef inline void gemv(Transpose op_a, int m, int n, floating alpha,
                      const floating* a, int lda, const floating* x,
                      floating beta, floating* y) noexcept nogil:
    """y = alpha * op(A) @ x + beta * y with A (m, n) row-major, unit strides.

    To BLAS the row-major A is A^T, so the transpose flag is flipped.
    """
    cdef char ta = blas_flag(AS_STORED if op_a == TRANSPOSED else TRANSPOSED)
    cdef int one = 1
    if floating is float:
        sgemv(&ta, &n, &m, &alpha, <float*> a, &lda, <float*> x, &one,
              &beta, y, &one)
    else:
        dgemv(&ta, &n, &m, &alpha, <double*> a, &lda, <double*> x, &one,
              &beta, y, &one)

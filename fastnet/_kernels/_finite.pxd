# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Whether values hold no NaN or infinity: the check of training inputs and of one-example calls."""
from cython cimport floating

from ._tiles cimport FASTNET_SIMD_NONE, vector_all_finite


cdef inline bint all_finite_plain(const floating* x, Py_ssize_t count) noexcept nogil:
    """Whether no value is NaN or infinite: x * 0 is 0 for every finite x, NaN otherwise.

    Eight running sums, so that the compiler can vectorise the loop and the
    additions do not wait on each other (nothing is reassociated): the
    values of a mini-batch of 10 MNIST rows take about 0.6 us here, against
    2.8 us for a test and flag per value.
    """
    cdef Py_ssize_t k = 0
    cdef floating zero = 0          # in the values' own precision (a bare 0 would be a double)
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    while k + 8 <= count:
        s0 += x[k] * zero
        s1 += x[k + 1] * zero
        s2 += x[k + 2] * zero
        s3 += x[k + 3] * zero
        s4 += x[k + 4] * zero
        s5 += x[k + 5] * zero
        s6 += x[k + 6] * zero
        s7 += x[k + 7] * zero
        k += 8
    while k < count:
        s0 += x[k] * zero
        k += 1
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)) == zero


cdef inline bint all_finite(int level, const floating* x, Py_ssize_t count) noexcept nogil:
    """Whether no value of x[:count] is NaN or infinite, with tiles.c's vectors at level
    `level` (about 0.1 us for 10 MNIST rows), or else in plain C."""
    if level != FASTNET_SIMD_NONE:
        return vector_all_finite(level, x, count)
    return all_finite_plain(x, count)

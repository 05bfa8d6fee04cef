# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Input rows in either precision, read into the network's.

The inputs may be stored in float32 or float64, whatever the network's
precision: float32 images (as the book's loader gives them) train a float64
network without a float64 copy of the data, converted row by row as they are
read.
"""
from cython cimport floating
from libc.string cimport memcpy


ctypedef fused input_t:
    float
    double


cdef inline bint same_precision(input_t* rows, floating* buffer) noexcept nogil:
    return (input_t is float and floating is float) or (input_t is double and floating is double)


cdef inline void copy_values(const input_t* source, floating* destination,
                             Py_ssize_t count) noexcept nogil:
    """destination[:count] = source[:count], converting the precision if it differs."""
    cdef Py_ssize_t k
    if same_precision(<input_t*> source, destination):
        memcpy(destination, source, count * sizeof(floating))
    else:
        for k in range(count):
            destination[k] = <floating> source[k]


cdef inline floating* block_inputs(const input_t* rows, floating* buffer,
                                   Py_ssize_t count) noexcept nogil:
    """A block of input rows in the network's precision: the rows themselves, or converted."""
    if same_precision(<input_t*> rows, buffer):
        return <floating*> rows
    copy_values(rows, buffer, count)
    return buffer

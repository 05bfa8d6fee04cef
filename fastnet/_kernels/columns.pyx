# cython: language_level=3, boundscheck=False, wraparound=False
"""The columns of network2's list of pairs, for fastnet.examples' list path: where each
column's values lie (``column_addresses``), and those rows copied into one array
(``gather_rows``; ``copy_columns`` for columns the first refuses).

``column_addresses`` reads each array's fields through NumPy's header accessors
(PyArray_BYTES, PyArray_NDIM, ...), which are inline reads of the array struct and
no call into NumPy's C-API table, so this module needs NumPy's headers to build but
no ``import_array``.  The buffer protocol would give the same address, but NumPy
builds and frees a description of the array at every request: about 0.7 us a
column, 35 ms for MNIST's 50,000, which is the whole of the conversion's budget.
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.object cimport PyObject, PyTypeObject, Py_TYPE
from libc.stdint cimport uintptr_t
from libc.string cimport memcpy


cdef extern from "numpy/ndarraytypes.h":
    ctypedef struct PyArrayObject:
        pass
    ctypedef Py_ssize_t npy_intp
    char* PyArray_BYTES(PyArrayObject* array)
    int PyArray_NDIM(PyArrayObject* array)
    npy_intp* PyArray_DIMS(PyArrayObject* array)
    int PyArray_FLAGS(PyArrayObject* array)
    void* PyArray_DESCR(PyArrayObject* array)
    int NPY_ARRAY_C_CONTIGUOUS
    int NPY_ARRAY_ALIGNED


def column_addresses(list columns, ndarray, dtype, int ndim, Py_ssize_t height,
                     Py_ssize_t[::1] addresses):
    """Set addresses[k] to the address of column k's first value, for every column; True.

    Every column must be an instance of exactly ``ndarray`` (numpy.ndarray:
    a subclass may hold its values elsewhere) whose dtype is the very object
    ``dtype`` (the caller passes a native float dtype, so a byte-swapped or
    other dtype is refused), of shape (height, 1) if ``ndim`` is 2 or
    (height,) if it is 1, C-contiguous and aligned, so that its values are ``height`` consecutive native values
    the kernels can read in place.  Returns False at the first column that is
    not, with ``addresses`` partly written, for the caller to take its
    general path.  The addresses stay valid as long as the columns live (an
    ndarray's values do not move), which the caller sees to.
    """
    cdef Py_ssize_t k, n = len(columns)
    cdef PyTypeObject* array_type = <PyTypeObject*> ndarray
    cdef void* descr = <void*> <PyObject*> dtype
    cdef int needed = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED
    cdef npy_intp* dims
    cdef object column
    cdef PyArrayObject* array
    if addresses.shape[0] != n:
        raise ValueError("column_addresses: addresses must have one entry per column")
    for k in range(n):
        column = columns[k]
        if Py_TYPE(column) is not array_type:
            return False
        array = <PyArrayObject*> column
        if PyArray_DESCR(array) != descr or (PyArray_FLAGS(array) & needed) != needed:
            return False
        if PyArray_NDIM(array) != ndim or (ndim != 1 and ndim != 2):
            return False
        dims = PyArray_DIMS(array)
        if dims[0] != height or (ndim == 2 and dims[1] != 1):
            return False
        addresses[k] = <Py_ssize_t> <uintptr_t> PyArray_BYTES(array)
    return True


def gather_rows(const Py_ssize_t[::1] addresses, out):
    """Copy row_bytes bytes from each of ``addresses`` into consecutive rows of ``out``
    (a C-contiguous array of one row per address), for addresses from
    ``column_addresses`` whose columns the caller keeps alive."""
    cdef Py_buffer dest
    cdef Py_ssize_t k, n = addresses.shape[0], row_bytes
    cdef char* at
    if n == 0:
        return
    PyObject_GetBuffer(out, &dest, PyBUF_SIMPLE | PyBUF_WRITABLE)
    try:
        row_bytes = dest.len // n
        if row_bytes * n != dest.len:
            raise ValueError("gather_rows: out must have one row per address")
        at = <char*> dest.buf
        with nogil:
            for k in range(n):
                memcpy(at + k * row_bytes, <const void*> <uintptr_t> addresses[k], row_bytes)
    finally:
        PyBuffer_Release(&dest)


def copy_columns(list columns, out):
    """Copy the bytes of each of ``columns`` into consecutive rows of ``out``.

    The caller has checked that every column is an ndarray of one dtype and
    shape, and ``out`` a new C-contiguous array of that dtype with one row per
    column; this only moves bytes, one memcpy per column (``np.concatenate``
    spends about a microsecond on each small array's setup before that).
    Returns False, with ``out`` partly written, at the first column whose bytes
    are not one C-contiguous block of a row's length (a strided view), for the
    caller to take its general path.  (NumPy refuses a strided array's buffer
    with ValueError, other exporters with BufferError.)
    """
    cdef Py_buffer dest, src
    cdef Py_ssize_t i, n = len(columns), row_bytes
    cdef char* at
    cdef bint whole = True
    if n == 0:
        return True
    PyObject_GetBuffer(out, &dest, PyBUF_SIMPLE | PyBUF_WRITABLE)
    try:
        row_bytes = dest.len // n
        if row_bytes * n != dest.len:
            raise ValueError("copy_columns: out must have one row per column")
        at = <char*> dest.buf
        for i in range(n):
            try:
                PyObject_GetBuffer(columns[i], &src, PyBUF_SIMPLE)
            except (BufferError, ValueError):
                whole = False
                break
            if src.len != row_bytes:
                PyBuffer_Release(&src)
                whole = False
                break
            memcpy(at, src.buf, row_bytes)
            PyBuffer_Release(&src)
            at += row_bytes
    finally:
        PyBuffer_Release(&dest)
    return whole

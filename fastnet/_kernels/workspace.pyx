# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The workspace's allocation (workspace.pxd says what it holds)."""
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy


cdef class Workspace:
    """Buffers for blocks of up to `rows` examples of the network `sizes`, sized once.

    ``itemsize`` is the network's precision in bytes (8: float64, 4: float32);
    ``level`` the tiles.c level its calls use (0: every product to BLAS),
    which fastnet.dispatch picks for blocks of this many rows.
    """

    def __cinit__(self, const int[::1] sizes, Py_ssize_t rows, int itemsize, int level):
        if itemsize != sizeof(double) and itemsize != sizeof(float):
            raise ValueError("a workspace holds float64 or float32 values")
        self.itemsize = itemsize
        if buffers_allocate(&self.buffers, &sizes[0], sizes.shape[0], max(rows, 1), itemsize,
                            level) != 0:
            raise MemoryError()

    def __dealloc__(self):
        buffers_free(&self.buffers)

    @property
    def rows(self):
        """The most rows a block may have."""
        return self.buffers.rows

    @property
    def level(self):
        """The tiles.c level its calls use (0: BLAS)."""
        return self.buffers.level


cdef int buffers_allocate(Buffers* work, const int* sizes, int num_layers, Py_ssize_t rows,
                          int itemsize, int level) noexcept nogil:
    """Size every buffer for blocks of `rows` examples and point `work` into one allocation.

    The output layer's activations get room too (feedforward may redirect
    them).  Returns 0, or -1 when out of memory (then nothing is held).
    """
    cdef Py_ssize_t widest = 0, hidden = 0, values, pointers, l
    cdef char* cursor
    cdef double* ones_d
    cdef float* ones_f
    cdef int k
    for k in range(1, num_layers):
        hidden += sizes[k]
        if sizes[k] > widest:
            widest = sizes[k]
    work.num_layers = num_layers
    work.rows = rows
    work.level = level
    work.first = IN_PARAMS
    work.first_columns = 0
    work.first_block = NULL
    work.first_weights = NULL
    work.first_scale = 1
    work.inputs_by_pointer = False
    work.prefetch_rows = 0
    work.prefetch_bytes = 0
    # The pointer tables first: their size is a multiple of 8 bytes, so the values stay
    # aligned; then the sizes, padded to 8 bytes.
    pointers = (num_layers + 3 * rows + widest) * sizeof(void*)
    values = rows * (hidden + 3 * widest + 1 + sizes[0] + sizes[num_layers - 1])
    work.block = malloc(pointers + (num_layers + 1) // 2 * 8 + values * itemsize)
    if work.block == NULL:
        return -1
    work.activations = <void**> work.block
    work.input_pointers = work.activations + num_layers
    work.row_pointers = work.input_pointers + rows
    work.prefetch = <const char**> (work.row_pointers + rows)
    work.weight_pointers = <void**> (work.prefetch + rows)
    work.sizes = <int*> (<char*> work.block + pointers)
    memcpy(work.sizes, sizes, num_layers * sizeof(int))
    cursor = <char*> work.sizes + (num_layers + 1) // 2 * 8
    work.activations[0] = NULL
    for k in range(1, num_layers):
        work.activations[k] = cursor
        cursor += rows * sizes[k] * itemsize
    work.own_output = work.activations[num_layers - 1]
    work.deltas = cursor
    cursor += rows * widest * itemsize
    work.deltas_prev = cursor
    cursor += rows * widest * itemsize
    work.scaled = cursor
    cursor += rows * widest * itemsize
    work.ones = cursor
    if itemsize == sizeof(double):
        ones_d = <double*> cursor
        for l in range(rows):
            ones_d[l] = 1
    else:
        ones_f = <float*> cursor
        for l in range(rows):
            ones_f[l] = 1
    cursor += rows * itemsize
    work.input_rows = cursor
    cursor += rows * sizes[0] * itemsize
    work.target_rows = cursor
    return 0


cdef void buffers_free(Buffers* work) noexcept nogil:
    free(work.block)
    free(work.first_block)
    work.block = NULL
    work.first_block = NULL

# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The buffers of one training or evaluation call, sized once (llm.c's way).

A ``Workspace`` is made once per call of ``Network.SGD`` (or of an
evaluation) and handed to every kernel call it makes: epochs and ``progress``
chunks reuse its buffers, and an SGD epoch's transposed first layer stays in
it from one chunk to the next, so how an epoch is cut into calls changes
nothing in what the kernels compute.

The buffers hold one block of ``rows`` examples, as row-major matrices, in
the network's precision (``itemsize`` 8 or 4 bytes): the activations of every
layer, two sets of deltas, the gathered input and target rows, and the row
pointers the tile kernels take.
"""
from cython cimport floating
from libc.stdint cimport uintptr_t
from libc.stdlib cimport malloc
from libc.string cimport memset

from ._tiles cimport vector_bytes


cdef struct Buffers:
    int* sizes             # the layer sizes (a copy), num_layers of them
    int num_layers
    Py_ssize_t rows        # the most rows a block may have
    void* block            # the one allocation everything below points into
    void** activations     # activations[l]: (rows, sizes[l]); [0] is set by the caller
    void* own_output       # activations[L]'s buffer (feedforward points it elsewhere)
    void* deltas           # (rows, widest layer after the input), twice
    void* deltas_prev
    void* ones             # rows ones, for bias sums as a gemv
    void* input_rows       # (rows, sizes[0]): gathered or converted inputs
    void* target_rows      # (rows, sizes[-1]): gathered targets
    # For the tile kernels (level > 0), which take rows by pointer:
    int level              # the tiles.c level the calls use; 0: BLAS
    bint inputs_by_pointer # the block's input rows are input_pointers[0..m), read where they lie
    void** input_pointers  # rows
    void** row_pointers    # rows: rows of one layer's activations
    void** weight_pointers # widest: rows of one weight matrix
    void* scaled           # (rows, widest): deltas times the step's -eta/m
    const char** prefetch  # rows: the next block's input rows, fetched while this one computes
    int prefetch_rows
    Py_ssize_t prefetch_bytes
    # The first layer's weights kept transposed, for the column forms (SGD epochs only):
    FirstLayer first       # where the first layer's current values are
    int first_columns      # their rows' width, padded to whole vectors; 0: not kept
    void* first_weights    # (sizes[0], first_columns): W^T / first_scale
    double first_scale     # the weights are first_scale * first_weights (it takes the decay)
    void* first_block      # the allocation first_weights points into (made at first use)


cdef enum FirstLayer:
    IN_PARAMS = 0          # params holds the first layer; first_weights is not current
    BOTH = 1               # first_weights (scale 1) holds exactly what params holds
    AHEAD = 2              # first_weights holds steps params does not have yet


# An SGD epoch keeps its first layer's weights transposed (sizes[0] rows of
# sizes[1] values, padded to whole vectors) when the tile kernels run: the
# layer's outputs then lie along the vectors, and its forward pass and update
# take the column forms of tiles.h.  Measured for a first layer of 784 inputs,
# kernel time of forward + update, column forms / dot and axpy rows: with
# AVX-512 0.76 at 30 outputs and mini-batch 10, 0.57-0.83 for 16-1000 outputs
# and 2-256 rows, but 1.09 at 10 outputs; with AVX2 0.93-0.94 (30 and 100
# outputs).  Transposing in and out costs about two mini-batches, so epochs of
# fewer mini-batches than COLUMNS_MIN_BATCHES (network2's update_mini_batch:
# one) keep the usual layout.
cdef enum:
    COLUMNS_MIN_OUTPUTS = 16
    COLUMNS_MIN_BATCHES = 16


cdef class Workspace:
    cdef Buffers buffers
    cdef readonly int itemsize


cdef int buffers_allocate(Buffers* work, const int* sizes, int num_layers, Py_ssize_t rows,
                          int itemsize, int level) noexcept nogil
cdef void buffers_free(Buffers* work) noexcept nogil


cdef inline bint first_layer_fits(Buffers* work, Py_ssize_t batches) noexcept nogil:
    """Whether an epoch of `batches` mini-batches keeps the first layer transposed."""
    return (work.level != 0 and work.num_layers >= 2
            and work.sizes[1] >= COLUMNS_MIN_OUTPUTS and work.rows >= 2
            and batches >= COLUMNS_MIN_BATCHES)


cdef inline int first_layer_take(Buffers* work, const floating* weights) noexcept nogil:
    """Make work.first_weights the first layer's (sizes[1], sizes[0]) `weights`,
    transposed, unless it holds them already.  Returns 0, or -1 when out of memory."""
    cdef int n_in = work.sizes[0], n_out = work.sizes[1]
    cdef int lanes = vector_bytes(work.level) // <int> sizeof(floating)
    cdef int columns = (n_out + lanes - 1) // lanes * lanes
    cdef Py_ssize_t values = <Py_ssize_t> n_in * columns
    cdef Py_ssize_t p
    cdef int j
    cdef floating* transposed
    if work.first != IN_PARAMS:
        return 0
    if work.first_block == NULL:
        work.first_block = malloc(values * sizeof(floating) + 64)
        if work.first_block == NULL:
            return -1
        # Rows on 64-byte boundaries, so that no vector straddles two cache lines.
        transposed = <floating*> ((<uintptr_t> work.first_block + 63) // 64 * 64)
        memset(transposed, 0, values * sizeof(floating))
        work.first_weights = transposed
        work.first_columns = columns
    transposed = <floating*> work.first_weights
    for p in range(n_in):
        for j in range(n_out):
            transposed[p * columns + j] = weights[j * <Py_ssize_t> n_in + p]
    work.first_scale = 1
    work.first = BOTH
    return 0


cdef inline void first_layer_decay(Buffers* work, floating beta) noexcept nogil:
    """Multiply the transposed first layer by beta: in work.first_scale, as long as that
    stays within [1/2, 2]; else in its values, and the scale goes back to 1.  (Carried in
    the scale, the weight decay costs the update no pass over the weights.)"""
    cdef double scale = work.first_scale * beta
    if 0.5 <= scale <= 2.0:
        work.first_scale = scale
        return
    first_layer_rescale(work, <floating> scale)


cdef inline void first_layer_rescale(Buffers* work, floating factor) noexcept nogil:
    """first_weights *= factor, and the scale goes back to 1."""
    cdef floating* transposed = <floating*> work.first_weights
    cdef Py_ssize_t i
    for i in range(<Py_ssize_t> work.sizes[0] * work.first_columns):
        transposed[i] = factor * transposed[i]
    work.first_scale = 1


cdef inline void first_layer_give_back(Buffers* work, floating* weights) noexcept nogil:
    """Write the transposed first layer's values into `weights` if they are ahead of them.

    The scale is folded into the values first, so that both hold the very same
    numbers and the next epoch goes on from the transposed copy unchanged.
    """
    cdef int n_in = work.sizes[0], n_out = work.sizes[1]
    cdef const floating* transposed = <floating*> work.first_weights
    cdef Py_ssize_t p
    cdef int j
    if work.first != AHEAD:
        return
    if work.first_scale != 1:
        first_layer_rescale(work, <floating> work.first_scale)
    for j in range(n_out):
        for p in range(n_in):
            weights[j * <Py_ssize_t> n_in + p] = transposed[p * work.first_columns + j]
    work.first = BOTH


cdef inline const floating** row_table(void** table, const floating* a, int count,
                                       Py_ssize_t stride) noexcept nogil:
    """table[i] = the row i of a (rows `stride` values apart) for i < count, for the tile
    kernels, which take rows by pointer."""
    cdef int i
    for i in range(count):
        table[i] = <void*> (a + i * stride)
    return <const floating**> table


cdef inline const floating** rows_of(Buffers* work, const floating* a, int m,
                                     int n) noexcept nogil:
    """Pointers to the m rows of the (m, n) block a."""
    return row_table(work.row_pointers, a, m, n)


cdef inline const floating** layer_inputs(Buffers* work, int l, const floating* a, int m,
                                          int n) noexcept nogil:
    """The m input rows of layer l: the block's own rows where they lie, or those of a
    (its activations[l])."""
    if l == 0 and work.inputs_by_pointer:
        return <const floating**> work.input_pointers
    return rows_of(work, a, m, n)


cdef inline const floating** weight_rows(Buffers* work, const floating* weights, int n_out,
                                         int n_in) noexcept nogil:
    """Pointers to the n_out rows of a layer's (n_out, n_in) weights."""
    return row_table(work.weight_pointers, weights, n_out, n_in)

# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled hot path: forward pass, backprop and whole SGD epochs.

Everything works on a block of examples at a time, as row-major matrices: row
i of an activation matrix is one example.  For a layer with weights W (n_out,
n_in) and biases b (n_out,), the forward pass is

    A_out = f(A_in @ W.T + b)

with f the layer's activation (``Activation``: sigmoid, network2's, tanh or
ReLU for hidden layers; sigmoid or softmax for the output layer), and
backprop, with deltas D (m, n_out) for a block of m examples, is

    D_in     = (D @ W) * f'(Z_in)                  (the previous layer's deltas)
    dC/dW    = D.T @ A_in                          (summed over the block)
    dC/db    = D.T @ ones                          (summed over the block)

The parameters of all layers live in one flat array, layer by layer: the
weights of layer l (row-major, n_{l+1} x n_l) followed by its biases
(fastnet.parameters builds it).  The Python layer validates every shape and
value and only then calls in here: these functions check nothing.

An SGD step folds the update into the weight-gradient GEMM itself:
    W <- (1 - eta*lmbda/n) * W - (eta/m) * D.T @ A_in
is one gemm with alpha = -eta/m and beta = 1 - eta*lmbda/n writing into W,
so no gradient buffer is needed and W is passed over once for the update.

Each call sizes its workspace once (``workspace_allocate``), in one block,
and releases the GIL for all of its arithmetic.

Where the CPU has AVX2 or AVX-512 and a block has at most tile_max_rows rows,
the products go to the hand-written tile kernels of tiles.c (``_tiles.pxd``)
instead of BLAS: the same sums in another order, with the mini-batch's rows
read where they lie (by pointer), the update's -eta/m folded into the deltas
and the next mini-batch's rows fetched while this one computes.  Which one
runs is taken once per call (``fastnet_simd_level``); fastnet.dispatch sets it.
"""
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cython cimport floating
from libc.math cimport exp, expf, fabs, fabsf, tanh, tanhf
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint32_t, uint64_t, uintptr_t
from libc.string cimport memcpy, memset

from ._blas cimport Transpose, AS_STORED, TRANSPOSED, gemm, gemv
from ._tiles cimport (FASTNET_SIMD_NONE, axpy_rows, bias_step, dot_rows, fastnet_fma_chain,
                      fastnet_prefetch, fastnet_simd_level, fastnet_simd_supported,
                      fastnet_simd_use, rank_update, rows_times_matrix, sigmoid_all,
                      times_sigmoid_slope, vector_all_finite, vector_bytes)


cpdef enum Cost:
    # The output error each cost gives; fastnet.costs maps the cost classes here.
    CROSS_ENTROPY = 0     # delta^L = a - y                (sigmoid output)
    QUADRATIC = 1         # delta^L = (a - y) * sigma'(z)  (sigmoid output)
    LOG_LIKELIHOOD = 2    # delta^L = a - y                (softmax output: C = -ln a_y)


cpdef enum Activation:
    # What a layer computes from z = W a + b; fastnet.activations maps the names here.
    SIGMOID = 0           # 1 / (1 + exp(-z)): network2's, hidden and output layers
    TANH = 1              # tanh(z): hidden layers
    RELU = 2              # max(0, z): hidden layers
    SOFTMAX = 3           # exp(z_j) / sum_k exp(z_k) over a row: the output layer


cdef inline floating sigmoid(floating z) noexcept nogil:
    """1 / (1 + exp(-z)), in a form whose exp never overflows.

    With e = exp(-|z|):  sigmoid(z) = 1/(1+e) for z >= 0 and e/(1+e) for z < 0.
    Both sides are computed and one is selected, which compiles without a
    branch: the sign of z is random, and a mispredicted branch per neuron
    cost more than the arithmetic.
    """
    cdef floating e, s
    if floating is float:
        e = expf(-fabsf(z))
    else:
        e = exp(-fabs(z))
    s = 1 / (1 + e)
    return s if z >= 0 else e * s


# Each activation is a pair: the forward function of z, and its derivative
# written in terms of the activation a = f(z) itself, which is what backprop
# keeps (so no buffer of z values is needed):
#     sigmoid: sigma'(z) = a (1 - a)     tanh: 1 - a^2     ReLU: 1 if a > 0 else 0
# The derivative of softmax is not elementwise; with the log-likelihood cost
# the output error is simply a - y (output_error), and softmax is never a
# hidden layer's activation.

cdef inline floating tanh_forward(floating z) noexcept nogil:
    if floating is float:
        return tanhf(z)
    else:
        return tanh(z)


cdef inline floating relu_forward(floating z) noexcept nogil:
    return z if z > 0 else 0


# The derivatives are returned in double: Cython writes the 1 in 1 - a as 1.0,
# so a float32 network has always taken delta * a (1 - a) in double and rounded
# once, and keeping that keeps the BLAS path's float32 results bit for bit as
# they were.  (The tile kernels take the sigmoid's slope in the network's own
# precision, vectorised: times_sigmoid_slope.)

cdef inline double sigmoid_backward(floating a) noexcept nogil:
    return a * (1 - a)


cdef inline double tanh_backward(floating a) noexcept nogil:
    return 1 - a * a


cdef inline double relu_backward(floating a) noexcept nogil:
    return 1 if a > 0 else 0


cdef void softmax_rows(floating* z, const floating* biases, Py_ssize_t m,
                       Py_ssize_t n) noexcept nogil:
    """Each row of z <- softmax(z + b): exp(z_j - max z) / sum_k exp(z_k - max z).

    Subtracting the row's largest value keeps exp from overflowing and does
    not change the result.
    """
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating largest, total
    for i in range(m):
        row = z + i * n
        for j in range(n):
            row[j] = row[j] + biases[j]
        largest = row[0]
        for j in range(1, n):
            if row[j] > largest:
                largest = row[j]
        total = 0
        for j in range(n):
            if floating is float:
                row[j] = expf(row[j] - largest)
            else:
                row[j] = exp(row[j] - largest)
            total = total + row[j]
        for j in range(n):
            row[j] = row[j] / total


cdef void activate(Activation kind, floating* z, const floating* biases, Py_ssize_t m,
                   Py_ssize_t n) noexcept nogil:
    """z <- f(z + b) over a block of m rows of n neurons (the forward half of each pair).

    One loop per activation, chosen once per block, so each stays a plain
    loop the compiler can vectorise.
    """
    cdef Py_ssize_t i, j
    if kind == SIGMOID:
        for i in range(m):
            for j in range(n):
                z[i * n + j] = sigmoid(z[i * n + j] + biases[j])
    elif kind == TANH:
        for i in range(m):
            for j in range(n):
                z[i * n + j] = tanh_forward(z[i * n + j] + biases[j])
    elif kind == RELU:
        for i in range(m):
            for j in range(n):
                z[i * n + j] = relu_forward(z[i * n + j] + biases[j])
    else:
        softmax_rows(z, biases, m, n)


cdef void times_derivative(Activation kind, floating* deltas, const floating* a,
                           Py_ssize_t count) noexcept nogil:
    """deltas *= f'(z), from the activations a = f(z) (the backward half of each pair)."""
    cdef Py_ssize_t i
    if kind == SIGMOID:
        for i in range(count):
            deltas[i] = deltas[i] * sigmoid_backward(a[i])
    elif kind == TANH:
        for i in range(count):
            deltas[i] = deltas[i] * tanh_backward(a[i])
    else:
        for i in range(count):
            deltas[i] = deltas[i] * relu_backward(a[i])


# The inputs may be stored in either precision, whatever the network's:
# float32 images (as the book's loader gives them) train a float64 network
# without a float64 copy of the data, converted row by row as they are read.
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


cdef bint all_finite(int simd, const floating* x, Py_ssize_t count) noexcept nogil:
    """Whether no value of x[:count] is NaN or infinite, with tiles.c's vectors at level
    `simd` (about 0.1 us for 10 MNIST rows), or else in plain C."""
    if simd != FASTNET_SIMD_NONE:
        return vector_all_finite(simd, x, count)
    return all_finite_plain(x, count)


cdef bint all_finite_plain(const floating* x, Py_ssize_t count) noexcept nogil:
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


cdef bint rows_finite(Workspace* work, bint by_pointer, const floating* block, int m,
                      int n) noexcept nogil:
    """Whether a block's m input rows of n values hold no NaN or infinity: the rows of
    work.input_pointers, or of the (m, n) `block`."""
    cdef int i
    if not by_pointer:
        return all_finite(work.simd, block, m * <Py_ssize_t> n)
    for i in range(m):
        if not all_finite(work.simd, <floating*> work.input_pointers[i], n):
            return False
    return True


cdef Py_ssize_t parameter_count(const int* sizes, int num_layers) noexcept nogil:
    cdef Py_ssize_t total = 0
    cdef int l
    for l in range(num_layers - 1):
        total += <Py_ssize_t> sizes[l + 1] * sizes[l] + sizes[l + 1]
    return total


# ---------------------------------------------------------------------------
# The workspace of one call

# Blocks of at most this many rows go to the tile kernels (tiles.c) when the CPU
# has them; larger blocks go to BLAS, whose packing pays off there.  Measured on
# an AVX-512 machine (OpenBLAS 0.3.30), time with tiles / time with BLAS: an SGD
# epoch of [784,30,10] 0.40 at mini-batch 16, 0.67 at 200; [784,1000,10] 0.80 at
# 100, 0.95 at 256, but 1.22 at 1000; 256-row blocks of inference 0.61-0.97.
# feedforward and gradient_sums work in blocks of at most this many rows.
cdef int tile_max_rows = 256


cdef struct Workspace:
    void* block            # the one allocation everything below points into
    void** activations     # activations[l]: (rows, sizes[l]); [0] is set by the caller
    void* deltas           # (rows, widest layer after the input), twice
    void* deltas_prev
    void* ones             # rows ones, for bias sums as a gemv
    void* input_rows       # (rows, sizes[0]): gathered or converted inputs
    void* target_rows      # (rows, sizes[-1]): gathered targets
    # For the tile kernels (simd > 0), which take rows by pointer:
    int simd               # the tiles.c level this call uses; 0: BLAS
    bint inputs_by_pointer # the block's input rows are input_pointers[0..m), read where they lie
    void** input_pointers  # rows
    void** row_pointers    # rows: rows of one layer's activations
    void** weight_pointers # widest: rows of one weight matrix
    void* scaled           # (rows, widest): deltas times the step's -eta/m
    const char** prefetch  # rows: the next block's input rows, fetched while this one computes
    int prefetch_rows
    Py_ssize_t prefetch_bytes
    # The first layer's weights kept transposed, for the column forms (an SGD epoch only):
    int first_columns      # their rows' width, padded to whole vectors; 0: not kept so
    void* first_weights    # (sizes[0], first_columns): W^T / first_scale, live during the epoch
    double first_scale     # the weights are first_scale * first_weights (it takes the decay)
    void* first_block      # the allocation first_weights points into


cdef int workspace_allocate(Workspace* work, const int* sizes, int num_layers,
                            Py_ssize_t rows, bint with_input_rows,
                            bint with_target_rows, floating dtype_tag) noexcept nogil:
    """Size every buffer for blocks of `rows` examples and point `work` into one allocation.

    The output layer's activations get room too (feedforward may redirect
    them).  `dtype_tag` only selects the precision.  The tile kernels serve
    the call if the CPU has them and `rows` is at most tile_max_rows.
    Returns 0, or -1 when out of memory.
    """
    cdef Py_ssize_t widest = 0, hidden = 0, values, l
    cdef Py_ssize_t pointers
    cdef floating* cursor
    cdef int k
    for k in range(1, num_layers):
        hidden += sizes[k]
        if sizes[k] > widest:
            widest = sizes[k]
    work.simd = fastnet_simd_level() if rows <= tile_max_rows else FASTNET_SIMD_NONE
    work.first_columns = 0
    work.first_block = NULL
    work.inputs_by_pointer = False
    work.prefetch_rows = 0
    work.prefetch_bytes = 0
    # The pointer tables first: their size is a multiple of 8 bytes, so the values stay aligned.
    pointers = (num_layers + 3 * rows + widest) * sizeof(void*)
    values = rows * (hidden + 3 * widest + 1)
    if with_input_rows:
        values += rows * sizes[0]
    if with_target_rows:
        values += rows * sizes[num_layers - 1]
    work.block = malloc(pointers + values * sizeof(floating))
    if work.block == NULL:
        return -1
    work.activations = <void**> work.block
    work.input_pointers = work.activations + num_layers
    work.row_pointers = work.input_pointers + rows
    work.prefetch = <const char**> (work.row_pointers + rows)
    work.weight_pointers = <void**> (work.prefetch + rows)
    cursor = <floating*> (<char*> work.block + pointers)
    work.activations[0] = NULL
    for k in range(1, num_layers):
        work.activations[k] = cursor
        cursor += rows * sizes[k]
    work.deltas = cursor
    cursor += rows * widest
    work.deltas_prev = cursor
    cursor += rows * widest
    work.scaled = cursor
    cursor += rows * widest
    work.ones = cursor
    for l in range(rows):
        cursor[l] = 1
    cursor += rows
    work.input_rows = cursor if with_input_rows else NULL
    if with_input_rows:
        cursor += rows * sizes[0]
    work.target_rows = cursor if with_target_rows else NULL
    return 0


# An SGD epoch keeps its first layer's weights transposed (sizes[0] rows of
# sizes[1] values, padded to whole vectors) when the tile kernels run: the
# layer's outputs then lie along the vectors, and its forward pass and update
# take the column forms of tiles.h.  Measured for a first layer of 784 inputs,
# kernel time of forward + update, column forms / dot and axpy rows: with
# AVX-512 0.76 at 30 outputs and mini-batch 10, 0.57-0.83 for 16-1000 outputs
# and 2-256 rows, but 1.09 at 10 outputs; with AVX2 0.93-0.94 (30 and 100
# outputs).  Transposing in and out costs about two mini-batches, so calls with
# fewer mini-batches than columns_min_batches (network2's update_mini_batch:
# one) keep the usual layout.
cdef int columns_min_outputs = 16
cdef int columns_min_batches = 16


cdef int first_layer_transposed(Workspace* work, const int* sizes,
                                const floating* weights) noexcept nogil:
    """Copy the first layer's (sizes[1], sizes[0]) `weights` into work, transposed, and set
    work.first_columns: the live copy until first_layer_restore.  Returns 0, or -1 when
    out of memory."""
    cdef int n_in = sizes[0], n_out = sizes[1]
    cdef int lanes = vector_bytes(work.simd) // <int> sizeof(floating)
    cdef int columns = (n_out + lanes - 1) // lanes * lanes
    cdef Py_ssize_t values = <Py_ssize_t> n_in * columns
    cdef Py_ssize_t p
    cdef int j
    cdef floating* transposed
    work.first_block = malloc(values * sizeof(floating) + 64)
    if work.first_block == NULL:
        return -1
    # Rows on 64-byte boundaries, so that no vector straddles two cache lines.
    transposed = <floating*> ((<uintptr_t> work.first_block + 63) // 64 * 64)
    memset(transposed, 0, values * sizeof(floating))
    for p in range(n_in):
        for j in range(n_out):
            transposed[p * columns + j] = weights[j * <Py_ssize_t> n_in + p]
    work.first_weights = transposed
    work.first_scale = 1
    work.first_columns = columns
    return 0


cdef void first_layer_decay(Workspace* work, int n_in, floating beta,
                            floating* transposed) noexcept nogil:
    """Multiply the transposed first layer (`transposed`, work.first_weights) by beta: in
    work.first_scale, as long as that stays within [1/2, 2]; else in its values, and the
    scale goes back to 1.  (Carried in the scale, the weight decay costs the update no
    pass over the weights.)"""
    cdef double scale = work.first_scale * beta
    cdef Py_ssize_t i
    cdef floating factor
    if 0.5 <= scale <= 2.0:
        work.first_scale = scale
        return
    factor = <floating> scale
    for i in range(<Py_ssize_t> n_in * work.first_columns):
        transposed[i] = factor * transposed[i]
    work.first_scale = 1


cdef void first_layer_restore(Workspace* work, const int* sizes, floating* weights) noexcept nogil:
    """Write work's transposed first layer back into `weights`, and free it."""
    cdef int n_in = sizes[0], n_out = sizes[1]
    cdef const floating* transposed = <floating*> work.first_weights
    cdef floating scale = <floating> work.first_scale
    cdef Py_ssize_t p
    cdef int j
    for j in range(n_out):
        for p in range(n_in):
            weights[j * <Py_ssize_t> n_in + p] = scale * transposed[p * work.first_columns + j]
    free(work.first_block)
    work.first_block = NULL
    work.first_columns = 0


cdef const floating** rows_of(Workspace* work, const floating* a, int m, int n) noexcept nogil:
    """Pointers to the m rows of the (m, n) block a, for the tile kernels."""
    cdef int i
    for i in range(m):
        work.row_pointers[i] = <void*> (a + <Py_ssize_t> i * n)
    return <const floating**> work.row_pointers


cdef const floating** layer_inputs(Workspace* work, int l, const floating* a, int m,
                                   int n) noexcept nogil:
    """The m input rows of layer l: the block's own rows where they lie, or those of a
    (its activations[l])."""
    if l == 0 and work.inputs_by_pointer:
        return <const floating**> work.input_pointers
    return rows_of(work, a, m, n)


cdef const floating** weight_rows(Workspace* work, const floating* weights, int n_out,
                                  int n_in) noexcept nogil:
    """Pointers to the n_out rows of a layer's (n_out, n_in) weights."""
    cdef int j
    for j in range(n_out):
        work.weight_pointers[j] = <void*> (weights + <Py_ssize_t> j * n_in)
    return <const floating**> work.weight_pointers


# ---------------------------------------------------------------------------
# Forward and backward over one block of rows

cdef bint forward(int num_layers, const int* sizes, const floating* params,
                  Workspace* work, int m, Activation hidden, Activation output,
                  bint check_first=False) noexcept nogil:
    """Fill work's activations[1..L] from the block's m input rows.

    The input rows are activations[0], or work.input_pointers if
    work.inputs_by_pointer.  Hidden layers apply `hidden`, the output layer
    `output`.  Returns True, or with `check_first`, whether the first layer's
    sums (before its activation) are all finite: a NaN or infinity in an input
    row makes every sum of that row NaN or infinite while the weights are
    finite, so finite sums mean finite inputs (see sgd_epoch).
    """
    cdef bint finite = True
    cdef int l, n_in, n_out
    cdef Activation kind
    cdef const floating* weights = params
    cdef const floating* biases
    cdef floating* a_out
    for l in range(num_layers - 1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        kind = output if l == num_layers - 2 else hidden
        biases = weights + <Py_ssize_t> n_out * n_in
        a_out = <floating*> work.activations[l + 1]
        # Z = A_in @ W.T, then A_out = f(Z + b) in one more pass over Z.
        if work.simd != FASTNET_SIMD_NONE:
            # The sigmoid's biases are added as the sums are stored, so that it runs over
            # the block as one flat array (lane masks only at its very end); the other
            # activations add their own.
            if l == 0 and work.first_columns > 0:
                rows_times_matrix(work.simd, m, n_out, n_in,
                                  layer_inputs(work, 0, <const floating*> work.activations[0], m,
                                               n_in),
                                  <floating*> work.first_weights, work.first_columns,
                                  <floating> work.first_scale,
                                  biases if kind == SIGMOID else NULL, a_out, n_out,
                                  work.prefetch, work.prefetch_rows, work.prefetch_bytes)
            else:
                dot_rows(work.simd, m, n_out, n_in,
                         layer_inputs(work, l, <const floating*> work.activations[l], m, n_in),
                         weight_rows(work, weights, n_out, n_in),
                         biases if kind == SIGMOID else NULL, a_out, n_out,
                         work.prefetch if l == 0 else NULL, work.prefetch_rows,
                         work.prefetch_bytes)
        else:
            # One row is a matrix-vector product, which BLAS does 3x faster as gemv than as gemm.
            if m == 1:
                gemv(AS_STORED, n_out, n_in, <floating> 1, weights, n_in,
                     <floating*> work.activations[l], <floating> 0, a_out)
            else:
                gemm(AS_STORED, TRANSPOSED, m, n_out, n_in, <floating> 1,
                     <floating*> work.activations[l], n_in, weights, n_in, <floating> 0, a_out,
                     n_out)
        if check_first and l == 0:
            finite = all_finite(work.simd, a_out, <Py_ssize_t> m * n_out)
        if work.simd != FASTNET_SIMD_NONE and kind == SIGMOID:
            sigmoid_all(work.simd, a_out, <Py_ssize_t> m * n_out)     # its biases are in
        else:
            activate(kind, a_out, biases, m, n_out)
        weights = biases + n_out
    return finite


cdef void output_error(Cost cost, const floating* a, const floating* targets,
                       Py_ssize_t count, floating* deltas) noexcept nogil:
    """delta^L = a - y (cross-entropy; log-likelihood after softmax), times
    sigma'(z) = a (1 - a) for the quadratic cost."""
    cdef Py_ssize_t i
    cdef floating d
    for i in range(count):
        d = a[i] - targets[i]
        if cost == QUADRATIC:
            d = d * a[i] * (1 - a[i])
        deltas[i] = d


cdef void outer_update(int n_out, int n_in, floating alpha, const floating* d,
                       const floating* a, floating beta, floating* w) noexcept nogil:
    """W = alpha * d a^T + beta * W for one example (beta = 0: W is written, not read).

    The gemm of a single row: plain loops that the compiler vectorises beat
    BLAS's call overhead at this size.
    """
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating scale
    for i in range(n_out):
        row = w + i * <Py_ssize_t> n_in
        scale = alpha * d[i]
        if beta == 0:
            for j in range(n_in):
                row[j] = scale * a[j]
        else:
            for j in range(n_in):
                row[j] = beta * row[j] + scale * a[j]


cdef void backward(int num_layers, const int* sizes, const floating* params,
                   Workspace* work, const floating* targets, Cost cost,
                   Activation hidden, int m, floating* update, floating alpha,
                   floating weight_beta, floating bias_beta,
                   floating* bias_sums) noexcept nogil:
    """Backpropagate m examples and fold their summed gradient into `update`.

    For every layer:  update_W = alpha * sum_x dC_x/dW + weight_beta * update_W
                      update_b = alpha * sum_x dC_x/db + bias_beta * update_b
    (a beta of 0 writes without reading).  `update` has the layout of
    `params` and may be `params` itself (an SGD step): each layer's weights
    are used for the previous layer's deltas before they are overwritten.
    Unless `bias_sums` is NULL, its bias slots (same layout) also get
    += sum_x dC_x/db, the gradient before the step.  With the tile kernels,
    the first layer's update also fetches work.prefetch's rows (the next
    block's inputs) into the cache, as the forward pass does.  If
    work.first_columns > 0 (an SGD epoch), the first layer's weights are
    work.first_weights, transposed, and are updated there, not in `update`
    (and only the forward pass fetches the next rows: measured, fetching in
    both was no faster).
    """
    cdef int L = num_layers - 1
    cdef int l, n_in, n_out, i
    cdef Py_ssize_t count, biases_at
    cdef Py_ssize_t offset = parameter_count(sizes, num_layers)
    cdef const floating* weights
    cdef const floating* a
    cdef const floating* scaled
    cdef floating* deltas = <floating*> work.deltas
    cdef floating* deltas_prev = <floating*> work.deltas_prev
    cdef floating* swap
    cdef bint tiles = work.simd != FASTNET_SIMD_NONE

    output_error(cost, <floating*> work.activations[L], targets, <Py_ssize_t> m * sizes[L], deltas)
    for l in range(L, 0, -1):
        n_out = sizes[l]
        n_in = sizes[l - 1]
        offset -= <Py_ssize_t> n_out * n_in + n_out
        biases_at = offset + <Py_ssize_t> n_out * n_in
        weights = params + offset
        a = <floating*> work.activations[l - 1]
        if l > 1:
            # delta^{l-1} = (D @ W) * f'(z^{l-1}), f' from the activations a.
            if tiles:
                axpy_rows(work.simd, m, n_in, n_out, deltas, n_out, 1,
                          weight_rows(work, weights, n_out, n_in), <floating> 0, deltas_prev,
                          n_in, NULL, 0, 0)
            elif m == 1:
                gemv(TRANSPOSED, n_out, n_in, <floating> 1, weights, n_in, deltas,
                     <floating> 0, deltas_prev)
            else:
                gemm(AS_STORED, AS_STORED, m, n_in, n_out, <floating> 1, deltas, n_out,
                     weights, n_in, <floating> 0, deltas_prev, n_in)
            count = <Py_ssize_t> m * n_in
            if tiles and hidden == SIGMOID:
                times_sigmoid_slope(work.simd, deltas_prev, a, count)
            else:
                times_derivative(hidden, deltas_prev, a, count)
        # W-part: alpha * D.T @ A_in + beta * W;  b-part: alpha * D.T @ ones + beta * b.
        if tiles:
            bias_step(work.simd, m, n_out, deltas, alpha, bias_beta, update + biases_at,
                      bias_sums + biases_at if bias_sums != NULL else NULL)
            if l == 1 and work.first_columns > 0:
                # W = beta W + alpha D^T A, with W = first_scale W^T kept transposed: beta
                # goes into first_scale, then W^T += (alpha / first_scale) A^T D.
                first_layer_decay(work, n_in, weight_beta, <floating*> work.first_weights)
                rank_update(work.simd, n_in, n_out, m, layer_inputs(work, 0, a, m, n_in),
                            deltas, n_out, <floating> (alpha / work.first_scale),
                            <floating*> work.first_weights, work.first_columns)
            else:
                # The deltas scaled by alpha once, so the update is a sum of plain products.
                scaled = deltas
                if alpha != 1:
                    for i in range(m * n_out):
                        (<floating*> work.scaled)[i] = alpha * deltas[i]
                    scaled = <floating*> work.scaled
                axpy_rows(work.simd, n_out, n_in, m, scaled, 1, n_out,
                          layer_inputs(work, l - 1, a, m, n_in), weight_beta, update + offset,
                          n_in, work.prefetch if l == 1 else NULL, work.prefetch_rows,
                          work.prefetch_bytes)
        else:
            if m == 1:
                outer_update(n_out, n_in, alpha, deltas, a, weight_beta, update + offset)
            else:
                gemm(TRANSPOSED, AS_STORED, n_out, n_in, m, alpha, deltas, n_out, a, n_in,
                     weight_beta, update + offset, n_in)
            gemv(TRANSPOSED, m, n_out, alpha, deltas, n_out, <floating*> work.ones, bias_beta,
                 update + biases_at)
            if bias_sums != NULL:
                gemv(TRANSPOSED, m, n_out, <floating> 1, deltas, n_out, <floating*> work.ones,
                     <floating> 1, bias_sums + biases_at)
        swap = deltas
        deltas = deltas_prev
        deltas_prev = swap


# ---------------------------------------------------------------------------
# The calls the Python layer makes

def sgd_epoch(const input_t[:, ::1] inputs, const floating[:, ::1] targets,
              const Py_ssize_t[::1] order, floating[::1] params,
              const int[::1] sizes, Cost cost, int mini_batch_size,
              double eta, double lmbda, Py_ssize_t n,
              Py_ssize_t first_batch, Py_ssize_t stop_batch,
              floating[::1] bias_gradient_sums=None, bint check_inputs=False,
              Activation hidden=SIGMOID, Activation output=SIGMOID,
              const Py_ssize_t[::1] target_rows=None):
    """Run mini-batches first_batch .. stop_batch-1 of one SGD epoch in place on `params`.

    The epoch visits the rows inputs[order[0]], inputs[order[1]], ... cut into
    consecutive mini-batches of `mini_batch_size` (the last may be shorter).
    Input row r has the target row targets[r], or with `target_rows` (one per
    input row), targets[target_rows[r]]: for int labels, `targets` is the
    identity and `target_rows` the labels, so no one-hot array of the whole
    set is made;
    each mini-batch of m rows is one step
        w <- (1 - eta*lmbda/n) w - (eta/m) sum dC/dw,   b <- b - (eta/m) sum dC/db,
    with n the size of the whole training set.  Hidden layers apply `hidden`,
    the output layer `output` (softmax goes with the LOG_LIKELIHOOD cost).

    If `bias_gradient_sums` (the layout of `params`) is given, its bias slots
    get += every mini-batch's sum of dC/db, taken before that mini-batch's
    step: with one mini-batch per epoch, the chapter's learning speeds at the
    start of the epoch, for free.

    With `check_inputs`, every mini-batch's input rows are checked, as read
    and converted, for NaN and infinity (a float64 value beyond float32's
    range becomes infinite in a float32 network); the first mini-batch that
    has one is not used, and its index is returned.  The check goes through
    the first layer's sums, before their activation: a NaN or infinity in a
    row makes every sum of that row NaN or infinite (the weights being
    finite), so only when a sum is not finite are the rows themselves read,
    and if they are finite (the sums overflowed, or the weights are no longer
    finite) the step goes on.  Reading every row costs 5-6% of the headline's
    epoch; the sums cost about nothing, where a separate pass over the data
    costs up to a tenth of an epoch.  Returns -1 when every mini-batch ran.
    """
    cdef int num_layers = sizes.shape[0]
    cdef int n0 = sizes[0]
    cdef int n_last = sizes[num_layers - 1]
    cdef Py_ssize_t rows_in_order = order.shape[0]
    cdef const Py_ssize_t* label_of = NULL
    cdef Py_ssize_t batch, start, row, i
    cdef Py_ssize_t stopped_at = -1
    cdef int m
    cdef floating weight_decay = 1.0 - eta * (lmbda / n)
    cdef floating* bias_sums = NULL
    cdef floating* batch_inputs
    cdef floating* batch_targets
    cdef Workspace work
    if rows_in_order == 0 or first_batch >= stop_batch:
        return -1
    if target_rows is not None:
        if target_rows.shape[0] != inputs.shape[0]:
            raise ValueError("sgd_epoch: target_rows must have one entry per input row")
        label_of = &target_rows[0]
    if bias_gradient_sums is not None:
        bias_sums = &bias_gradient_sums[0]
    if workspace_allocate(&work, &sizes[0], num_layers, mini_batch_size, True, True,
                          <floating> 0) != 0:
        raise MemoryError()
    if (work.simd != FASTNET_SIMD_NONE and sizes[1] >= columns_min_outputs
            and mini_batch_size >= 2 and stop_batch - first_batch >= columns_min_batches):
        if first_layer_transposed(&work, &sizes[0], &params[0]) != 0:
            free(work.block)
            raise MemoryError()
    batch_inputs = <floating*> work.input_rows
    batch_targets = <floating*> work.target_rows
    cdef bint whole_set_in_place = (
        mini_batch_size >= rows_in_order and rows_in_order == inputs.shape[0]
        and same_precision(<input_t*> NULL, <floating*> NULL))
    # The tile kernels read the rows where they lie (when no conversion is needed), and
    # fetch the next mini-batch's rows into the cache while this one computes.
    cdef bint rows_in_place = (work.simd != FASTNET_SIMD_NONE and not whole_set_in_place
                               and same_precision(<input_t*> NULL, <floating*> NULL))
    cdef bint finite
    cdef Py_ssize_t next_start
    try:
        with nogil:
            for batch in range(first_batch, stop_batch):
                start = batch * mini_batch_size
                m = <int> min(<Py_ssize_t> mini_batch_size, rows_in_order - start)
                if whole_set_in_place:
                    # One mini-batch of every row: the sum over it does not depend on
                    # the order (but for round-off), so the rows are read where they lie,
                    # and so are the targets (labels' rows are gathered in the same order).
                    batch_inputs = <floating*> &inputs[0, 0]
                    if label_of == NULL:
                        batch_targets = <floating*> &targets[0, 0]
                    else:
                        for i in range(m):
                            memcpy(batch_targets + i * <Py_ssize_t> n_last,
                                   &targets[label_of[i], 0], n_last * sizeof(floating))
                else:
                    for i in range(m):
                        row = order[start + i]
                        if rows_in_place:
                            work.input_pointers[i] = <void*> &inputs[row, 0]
                        else:
                            copy_values(&inputs[row, 0], batch_inputs + i * <Py_ssize_t> n0, n0)
                        memcpy(batch_targets + i * <Py_ssize_t> n_last,
                               &targets[row if label_of == NULL else label_of[row], 0],
                               n_last * sizeof(floating))
                work.activations[0] = batch_inputs
                work.inputs_by_pointer = rows_in_place
                if work.simd != FASTNET_SIMD_NONE:
                    next_start = start + m
                    work.prefetch_rows = <int> min(<Py_ssize_t> mini_batch_size,
                                                   rows_in_order - next_start)
                    if batch + 1 >= stop_batch or whole_set_in_place or work.prefetch_rows < 0:
                        work.prefetch_rows = 0
                    for i in range(work.prefetch_rows):
                        row = order[next_start + i]
                        work.prefetch[i] = <const char*> &inputs[row, 0]
                        # Its target row too (or its label): a random row of a few MB, the
                        # next step's first wait otherwise.
                        if label_of != NULL:
                            fastnet_prefetch(&label_of[row], sizeof(Py_ssize_t))
                        else:
                            fastnet_prefetch(&targets[row, 0],
                                             n_last * <Py_ssize_t> sizeof(floating))
                    work.prefetch_bytes = n0 * <Py_ssize_t> sizeof(input_t)
                finite = forward(num_layers, &sizes[0], &params[0], &work, m, hidden, output,
                                 check_inputs)
                if not finite and not rows_finite(&work, rows_in_place, batch_inputs, m, n0):
                    stopped_at = batch
                    break
                backward(num_layers, &sizes[0], &params[0], &work, batch_targets, cost, hidden,
                         m, &params[0], <floating> (-(eta / m)), weight_decay, <floating> 1,
                         bias_sums)
    finally:
        if work.first_columns > 0:
            first_layer_restore(&work, &sizes[0], &params[0])
        free(work.block)
    return stopped_at


def gradient_sums(const input_t[:, ::1] inputs, const floating[:, ::1] targets,
                  const floating[::1] params, const int[::1] sizes, Cost cost,
                  floating[::1] gradients, bint accumulate=True, int block_rows=256,
                  Activation hidden=SIGMOID, Activation output=SIGMOID):
    """gradients (+)= the sum over all rows of dC_x/d(params), in params' layout.

    With accumulate=False the sum overwrites `gradients`, which need not be
    initialised.  Rows are processed block_rows at a time, each block as one matrix.
    """
    cdef int num_layers = sizes.shape[0]
    cdef Py_ssize_t n = inputs.shape[0]
    cdef Py_ssize_t rows = min(<Py_ssize_t> block_rows, max(n, <Py_ssize_t> 1))
    cdef Py_ssize_t start = 0
    cdef int m
    cdef floating beta = 1 if accumulate else 0
    cdef Workspace work
    if n == 0:
        if not accumulate:
            gradients[:] = 0
        return
    if workspace_allocate(&work, &sizes[0], num_layers, rows,
                          not same_precision(<input_t*> NULL, <floating*> NULL), False,
                          <floating> 0) != 0:
        raise MemoryError()
    try:
        with nogil:
            while start < n:
                m = <int> min(rows, n - start)
                work.activations[0] = block_inputs(&inputs[start, 0], <floating*> work.input_rows,
                                                   <Py_ssize_t> m * sizes[0])
                forward(num_layers, &sizes[0], &params[0], &work, m, hidden, output)
                backward(num_layers, &sizes[0], &params[0], &work, &targets[start, 0], cost,
                         hidden, m, &gradients[0], <floating> 1, beta, beta, NULL)
                beta = 1
                start += rows
    finally:
        free(work.block)


def feedforward(const input_t[:, ::1] inputs, const floating[::1] params,
                const int[::1] sizes, floating[:, ::1] outputs, int block_rows=256,
                Activation hidden=SIGMOID, Activation output=SIGMOID):
    """outputs = the network's output for every row of inputs, block_rows at a time."""
    cdef int num_layers = sizes.shape[0]
    cdef Py_ssize_t n = inputs.shape[0]
    cdef Py_ssize_t rows = min(<Py_ssize_t> block_rows, max(n, <Py_ssize_t> 1))
    cdef Py_ssize_t start = 0
    cdef int m
    cdef Workspace work
    if n == 0:
        return
    if workspace_allocate(&work, &sizes[0], num_layers, rows,
                          not same_precision(<input_t*> NULL, <floating*> NULL), False,
                          <floating> 0) != 0:
        raise MemoryError()
    try:
        with nogil:
            while start < n:
                m = <int> min(rows, n - start)
                work.activations[0] = block_inputs(&inputs[start, 0], <floating*> work.input_rows,
                                                   <Py_ssize_t> m * sizes[0])
                # The output layer writes straight into `outputs`.
                work.activations[num_layers - 1] = &outputs[start, 0]
                forward(num_layers, &sizes[0], &params[0], &work, m, hidden, output)
                start += rows
    finally:
        free(work.block)


# ---------------------------------------------------------------------------
# One example at a time: network2's feedforward(a) and backprop(x, y)
#
# These are called once per example, so the cost of entering them matters as
# much as the arithmetic: they take plain buffers (a few pointer checks)
# instead of typed memoryviews (about 0.2 us each).  Every buffer must be
# C-contiguous (the buffer protocol refuses others) and its byte length is
# checked against the sizes; the input row may be float32 or float64 (told
# apart by its length), everything else is float64.  The input row is also
# checked for NaN and infinity here, where it is read anyway: a Python-side
# check would cost more than the whole forward pass of a small network.

cdef enum:
    SIZES, X, PARAMS, OUT, TARGET     # the buffers of a one-example call, in order


cdef struct RowCall:
    Py_buffer views[5]     # indexed by the enum above
    int acquired           # how many of them are held
    int num_layers
    bint x_is_float


cdef int open_row_call(RowCall* call, object sizes, object x, object params, object out,
                       object target) except -1:
    """Acquire the buffers of a one-example call and check their lengths against `sizes`."""
    cdef int L, n0, simd
    cdef Py_ssize_t count, expected_out
    cdef int* layer
    call.acquired = 0
    acquire(call, sizes, PyBUF_SIMPLE)
    acquire(call, x, PyBUF_SIMPLE)
    acquire(call, params, PyBUF_SIMPLE)
    acquire(call, out, PyBUF_SIMPLE | PyBUF_WRITABLE)
    if target is not None:
        acquire(call, target, PyBUF_SIMPLE)
    layer = <int*> call.views[SIZES].buf
    call.num_layers = <int> (call.views[SIZES].len // sizeof(int))
    L = call.num_layers - 1
    n0 = layer[0]
    count = parameter_count(layer, call.num_layers)
    expected_out = count if target is not None else layer[L]
    call.x_is_float = call.views[X].len == n0 * <Py_ssize_t> sizeof(float)
    if ((call.views[X].len != n0 * <Py_ssize_t> sizeof(double) and not call.x_is_float)
            or call.views[PARAMS].len != count * <Py_ssize_t> sizeof(double)
            or call.views[OUT].len != expected_out * <Py_ssize_t> sizeof(double)
            or (target is not None and
                call.views[TARGET].len != layer[L] * <Py_ssize_t> sizeof(double))):
        raise ValueError("a one-example kernel call got buffers that do not match its sizes")
    simd = fastnet_simd_level()
    if not (all_finite(simd, <float*> call.views[X].buf, n0) if call.x_is_float
            else all_finite(simd, <double*> call.views[X].buf, n0)):
        raise ValueError("x contains NaN or infinity")
    return 0




cdef inline int acquire(RowCall* call, object obj, int flags) except -1:
    """Hold obj's buffer as the next view of the call (C-contiguous, or BufferError)."""
    PyObject_GetBuffer(obj, &call.views[call.acquired], flags)
    call.acquired += 1
    return 0


cdef void close_row_call(RowCall* call) noexcept:
    cdef int k
    for k in range(call.acquired):
        PyBuffer_Release(&call.views[k])
    call.acquired = 0


cdef int row_forward(const int* sizes, int num_layers, const void* x, bint x_is_float,
                     const double* params, Workspace* work, Activation hidden,
                     Activation output) noexcept nogil:
    """The forward pass of one example into `work`'s activations (-1: out of memory)."""
    if workspace_allocate(work, sizes, num_layers, 1, x_is_float, False, <double> 0) != 0:
        return -1
    if x_is_float:
        copy_values(<const float*> x, <double*> work.input_rows, sizes[0])
        work.activations[0] = work.input_rows
    else:
        work.activations[0] = <void*> x
    forward(num_layers, sizes, params, work, 1, hidden, output)
    return 0


def feedforward_row(sizes, x, params, out, Activation hidden=SIGMOID,
                    Activation output=SIGMOID):
    """out (float64, sizes[-1]) = the output of the float64 network for one input row x."""
    cdef RowCall call
    cdef Workspace work
    call.acquired = 0
    cdef int status, L
    try:
        open_row_call(&call, sizes, x, params, out, None)
        L = call.num_layers - 1
        with nogil:
            status = row_forward(<int*> call.views[SIZES].buf, call.num_layers, call.views[X].buf,
                                 call.x_is_float, <double*> call.views[PARAMS].buf, &work,
                                 hidden, output)
            if status == 0:
                memcpy(call.views[OUT].buf, work.activations[L],
                       (<int*> call.views[SIZES].buf)[L] * sizeof(double))
                free(work.block)
        if status != 0:
            raise MemoryError()
    finally:
        close_row_call(&call)


def backprop_row(sizes, x, target, params, Cost cost, gradient, Activation hidden=SIGMOID,
                 Activation output=SIGMOID):
    """gradient (float64, params' layout) = dC_x/d(params) for one example (x, target row)."""
    cdef RowCall call
    cdef Workspace work
    call.acquired = 0
    cdef int status
    try:
        open_row_call(&call, sizes, x, params, gradient, target)
        with nogil:
            status = row_forward(<int*> call.views[SIZES].buf, call.num_layers, call.views[X].buf,
                                 call.x_is_float, <double*> call.views[PARAMS].buf, &work,
                                 hidden, output)
            if status == 0:
                backward(call.num_layers, <int*> call.views[SIZES].buf,
                         <double*> call.views[PARAMS].buf, &work,
                         <double*> call.views[TARGET].buf, cost, hidden, 1,
                         <double*> call.views[OUT].buf, 1, 0, 0, NULL)
                free(work.block)
        if status != 0:
            raise MemoryError()
    finally:
        close_row_call(&call)


# ---------------------------------------------------------------------------
# random.shuffle, replayed

cdef Py_ssize_t shuffle_with_words(const uint32_t* words, Py_ssize_t available,
                                   Py_ssize_t* positions, Py_ssize_t top) noexcept nogil:
    """Fisher-Yates exactly as CPython's random.shuffle, fed its generator's 32-bit words.

    random.shuffle swaps x[i] with x[j], i = n-1 .. 1, where j = _randbelow(i+1):
    draw getrandbits(k) = word >> (32 - k), k = (i+1).bit_length(), until it is
    <= i.  This does the swaps for i = top, top-1, ... while words last and
    returns the i it stopped at (0 when the shuffle is done): a rejected draw's
    word is used up all the same, so the next call goes on from there with
    new words.

    A word is rejected about a third of the time, at random, so a branch on
    it would be mispredicted often: instead every word makes a swap, of x[i]
    with itself when it is rejected, and i moves on only when it is accepted.
    """
    cdef Py_ssize_t i = top, used, j, swap
    cdef uint32_t drawn
    cdef bint accepted
    cdef int bits = 0
    while bits < 63 and ((<uint64_t> 1) << bits) <= <uint64_t> (top + 1):
        bits += 1                     # bits = (top + 1).bit_length()
    for used in range(available):
        if i == 0:
            break
        drawn = words[used] >> (32 - bits)
        accepted = drawn <= <uint64_t> i
        j = <Py_ssize_t> drawn if accepted else i
        swap = positions[i]
        positions[i] = positions[j]
        positions[j] = swap
        i -= accepted
        # keep bits = (i + 1).bit_length()
        bits -= ((<uint64_t> 1) << (bits - 1)) > <uint64_t> (i + 1)
    return i


def shuffle_positions(const uint32_t[::1] words, Py_ssize_t[::1] positions, Py_ssize_t top):
    """Go on with random.shuffle's swaps of `positions` from index `top` down, with `words`.

    Returns where it stopped (0: done).  Needs top < 2**32, so that every draw
    takes one 32-bit word.
    """
    cdef Py_ssize_t stopped
    if top < 1:
        return 0
    if words.shape[0] == 0:
        return top
    with nogil:
        stopped = shuffle_with_words(&words[0], words.shape[0], &positions[0], top)
    return stopped


# ---------------------------------------------------------------------------
# The BLAS wrappers, callable from Python so that tests can check them directly

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


# ---------------------------------------------------------------------------
# Identity of the parameter lists, checked before every per-example call

def same_items(list a, list b):
    """Whether lists a and b hold the same objects in the same order (by identity).

    fastnet.parameters asks this before every per-example call, to know that
    net.weights/net.biases still hold its views; at a few items, a Python
    expression for it costs about as much as the call's arithmetic.
    """
    cdef Py_ssize_t i, n = len(a)
    if len(b) != n:
        return False
    for i in range(n):
        if <object> a[i] is not <object> b[i]:
            return False
    return True


# ---------------------------------------------------------------------------
# Which kernels run: the tile kernels of tiles.c at an instruction-set level, or BLAS

def simd_supported():
    """The best tiles.c level this CPU supports: 0 none (BLAS only), 1 AVX2+FMA, 2 AVX-512."""
    return fastnet_simd_supported()


def simd_level():
    """The tiles.c level in use (0: every product goes to BLAS)."""
    return fastnet_simd_level()


def simd_use(int level):
    """Use tiles.c at `level` (clamped to what is supported; 0: BLAS only); returns it.

    A call in progress keeps the level it started with.
    """
    return fastnet_simd_use(level)


def tile_rows():
    """Blocks of at most this many rows use the tile kernels (when the level is not 0)."""
    return tile_max_rows


def set_tile_rows(int rows):
    """Change tile_rows() (for measuring where tiles and BLAS cross over); returns the old value."""
    global tile_max_rows
    cdef int old = tile_max_rows
    tile_max_rows = max(rows, 0)
    return old


def fma_chain(int level, bint single_precision, long long rounds):
    """Run tiles.c's register-only chains of fused multiply-adds at `level` (at most
    simd_supported()), and return the floating-point operations they did: time the call
    to get the machine's peak rate in that precision.  Returns 0 at a level it cannot run."""
    cdef double flops = 0
    if level < 1 or level > fastnet_simd_supported() or rounds < 1:
        return 0
    with nogil:
        flops = fastnet_fma_chain(level, single_precision, rounds)
    return int(flops)

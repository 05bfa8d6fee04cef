# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled hot path: forward pass, backprop and whole SGD epochs.

Everything works on a mini-batch at a time, as row-major matrices: row i of an
activation matrix is one example.  For a layer with weights W (n_out, n_in)
and biases b (n_out,), the forward pass is

    A_out = sigmoid(A_in @ W.T + b)

and backprop, with deltas D (m, n_out) for a mini-batch of m examples, is

    D_in     = (D @ W) * A_in * (1 - A_in)         (the previous layer's deltas)
    dC/dW    = D.T @ A_in                          (summed over the mini-batch)
    dC/db    = D.T @ ones                          (summed over the mini-batch)

The parameters of all layers live in one flat array, layer by layer: the
weights of layer l (row-major, n_{l+1} x n_l) followed by its biases.  The
Python layer (fastnet.network2) builds that array, validates every shape and
value, and only then calls in here: these functions do no checking at all.

An SGD step folds the update into the weight-gradient GEMM itself:
    W <- (1 - eta*lmbda/n) * W - (eta/m) * D.T @ A_in
is one gemm with alpha = -eta/m and beta = 1 - eta*lmbda/n writing into W,
so no gradient buffer is needed and W is passed over once for the update.
"""
import numpy as np

from cython cimport floating
from libc.math cimport exp, expf, fabs, fabsf
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from ._blas cimport gemm, gemv

# Which cost's output error to use; fastnet.network2 maps the cost classes here.
CROSS_ENTROPY = 0
QUADRATIC = 1
cdef enum:
    _CROSS_ENTROPY = 0
    _QUADRATIC = 1


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


# The inputs may be stored in either precision, whatever the network's:
# float32 images (as the book's loader gives them) train a float64 network
# without a float64 copy of the data, converted row by row as they are read.
ctypedef fused input_t:
    float
    double


cdef inline void copy_rows(const input_t* source, floating* destination,
                           Py_ssize_t count) noexcept nogil:
    """destination[:count] = source[:count], converting the precision if it differs."""
    cdef Py_ssize_t k
    if (input_t is float and floating is float) or (input_t is double and floating is double):
        memcpy(destination, source, count * sizeof(floating))
    else:
        for k in range(count):
            destination[k] = <floating> source[k]


cdef inline floating* block_inputs(const input_t* rows, floating* buffer,
                                   Py_ssize_t count) noexcept nogil:
    """A block of input rows in the network's precision: the rows themselves, or converted."""
    if (input_t is float and floating is float) or (input_t is double and floating is double):
        return <floating*> rows
    else:
        copy_rows(rows, buffer, count)
        return buffer


cdef Py_ssize_t parameter_count(const int* sizes, int num_layers) noexcept nogil:
    cdef Py_ssize_t total = 0
    cdef int l
    for l in range(num_layers - 1):
        total += <Py_ssize_t> sizes[l + 1] * sizes[l] + sizes[l + 1]
    return total


cdef void forward(int num_layers, const int* sizes, const floating* params,
                  floating** activations, int m) noexcept nogil:
    """Fill activations[1..L] from the m input rows in activations[0]."""
    cdef int l, n_in, n_out
    cdef Py_ssize_t i, j
    cdef const floating* weights = params
    cdef const floating* biases
    cdef floating* a_out
    for l in range(num_layers - 1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        biases = weights + <Py_ssize_t> n_out * n_in
        a_out = activations[l + 1]
        # Z = A_in @ W.T, then A_out = sigmoid(Z + b) in the same pass.
        gemm(False, True, m, n_out, n_in, <floating> 1, activations[l], n_in,
             weights, n_in, <floating> 0, a_out, n_out)
        for i in range(m):
            for j in range(n_out):
                a_out[i * n_out + j] = sigmoid(a_out[i * n_out + j] + biases[j])
        weights = biases + n_out


cdef void backward(int num_layers, const int* sizes, const floating* params,
                   floating** activations, const floating* targets, int cost_kind,
                   int m, floating* deltas, floating* deltas_prev,
                   const floating* ones, floating* update,
                   floating alpha, floating weight_beta, floating* bias_sums) noexcept nogil:
    """Backpropagate m examples and fold their summed gradient into `update`.

    For every layer:  update_W = alpha * sum_x dC_x/dW + weight_beta * update_W
                      update_b = alpha * sum_x dC_x/db + update_b
    `update` has the layout of `params` and may be `params` itself (an SGD
    step): each layer's weights are used for the previous layer's deltas
    before they are overwritten.  Unless `bias_sums` is NULL, its bias slots
    (same layout) also get  += sum_x dC_x/db,  the gradient before the step.
    `deltas` and `deltas_prev` each hold at least m * max(sizes[1:]) values;
    `ones` holds m ones.
    """
    cdef int L = num_layers - 1
    cdef int l, n_in, n_out
    cdef Py_ssize_t i, count
    cdef Py_ssize_t offset = parameter_count(sizes, num_layers)
    cdef const floating* weights
    cdef const floating* a
    cdef floating* swap
    cdef floating d

    # Output error: delta^L = a - y (cross-entropy), times sigma'(z) (quadratic).
    a = activations[L]
    count = <Py_ssize_t> m * sizes[L]
    for i in range(count):
        d = a[i] - targets[i]
        if cost_kind == _QUADRATIC:
            d = d * a[i] * (1 - a[i])
        deltas[i] = d

    for l in range(L, 0, -1):
        n_out = sizes[l]
        n_in = sizes[l - 1]
        offset -= <Py_ssize_t> n_out * n_in + n_out
        weights = params + offset
        a = activations[l - 1]
        if l > 1:
            # delta^{l-1} = (D @ W) * sigma'(z^{l-1}), with sigma' = a (1 - a).
            gemm(False, False, m, n_in, n_out, <floating> 1, deltas, n_out,
                 weights, n_in, <floating> 0, deltas_prev, n_in)
            count = <Py_ssize_t> m * n_in
            for i in range(count):
                deltas_prev[i] = deltas_prev[i] * (a[i] * (1 - a[i]))
        # W-part: alpha * D.T @ A_in + beta * W;  b-part: alpha * D.T @ ones + b.
        gemm(True, False, n_out, n_in, m, alpha, deltas, n_out, a, n_in,
             weight_beta, update + offset, n_in)
        gemv(True, m, n_out, alpha, deltas, n_out, ones, <floating> 1,
             update + offset + <Py_ssize_t> n_out * n_in)
        if bias_sums != NULL:
            gemv(True, m, n_out, <floating> 1, deltas, n_out, ones, <floating> 1,
                 bias_sums + offset + <Py_ssize_t> n_out * n_in)
        swap = deltas
        deltas = deltas_prev
        deltas_prev = swap


cdef floating** layer_pointers(int num_layers, floating* buffer, const int* sizes,
                               int rows) noexcept nogil:
    """Point activations[1..L] at consecutive (rows, n_l) blocks of `buffer`.

    activations[0] is left NULL for the caller.  Returns NULL if out of memory.
    """
    cdef floating** activations = <floating**> malloc(num_layers * sizeof(floating*))
    cdef int l
    if activations == NULL:
        return NULL
    activations[0] = NULL
    for l in range(1, num_layers):
        activations[l] = buffer
        buffer += <Py_ssize_t> rows * sizes[l]
    return activations


def sgd_epoch(const input_t[:, ::1] inputs, const floating[:, ::1] targets,
              const Py_ssize_t[::1] order, floating[::1] params,
              const int[::1] sizes, int cost_kind, int mini_batch_size,
              double eta, double lmbda, Py_ssize_t first_batch, Py_ssize_t stop_batch,
              floating[::1] bias_gradient_sums=None):
    """Run mini-batches first_batch .. stop_batch-1 of one SGD epoch in place on `params`.

    The epoch visits the rows inputs[order[0]], inputs[order[1]], ... cut into
    consecutive mini-batches of `mini_batch_size` (the last may be shorter);
    each mini-batch is one step  w <- (1 - eta*lmbda/n) w - (eta/m) sum dC/dw,
    b <- b - (eta/m) sum dC/db,  with n = len(order).  The GIL is released for
    the whole call; the buffers are allocated once, here.

    If `bias_gradient_sums` (the layout of `params`) is given, its bias slots
    get += every mini-batch's sum of dC/db, taken before that mini-batch's
    step: with one mini-batch per epoch, the chapter's learning speeds at the
    start of the epoch, for free.
    """
    cdef int num_layers = sizes.shape[0]
    cdef int n0 = sizes[0]
    cdef int n_last = sizes[num_layers - 1]
    cdef Py_ssize_t n = order.shape[0]
    cdef int widest = np.max(sizes[1:])
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] hidden = np.empty(mini_batch_size * np.sum(sizes[1:]), dtype=dtype)
    cdef floating[::1] batch_inputs = np.empty(mini_batch_size * n0, dtype=dtype)
    cdef floating[::1] batch_targets = np.empty(mini_batch_size * n_last, dtype=dtype)
    cdef floating[::1] deltas = np.empty(mini_batch_size * widest, dtype=dtype)
    cdef floating[::1] deltas_prev = np.empty(mini_batch_size * widest, dtype=dtype)
    cdef floating[::1] ones = np.ones(mini_batch_size, dtype=dtype)
    cdef floating** activations = layer_pointers(num_layers, &hidden[0], &sizes[0],
                                                 mini_batch_size)
    cdef floating weight_decay = 1.0 - eta * (lmbda / n)
    cdef Py_ssize_t batch, start, row, i
    cdef int m
    cdef floating* bias_sums = NULL
    if bias_gradient_sums is not None:
        bias_sums = &bias_gradient_sums[0]
    if activations == NULL:
        raise MemoryError()
    activations[0] = &batch_inputs[0]
    try:
        with nogil:
            for batch in range(first_batch, stop_batch):
                start = batch * mini_batch_size
                m = <int> min(<Py_ssize_t> mini_batch_size, n - start)
                for i in range(m):
                    row = order[start + i]
                    copy_rows(&inputs[row, 0], &batch_inputs[i * n0], n0)
                    memcpy(&batch_targets[i * n_last], &targets[row, 0],
                           n_last * sizeof(floating))
                forward(num_layers, &sizes[0], &params[0], activations, m)
                backward(num_layers, &sizes[0], &params[0], activations,
                         &batch_targets[0], cost_kind, m, &deltas[0], &deltas_prev[0],
                         &ones[0], &params[0], <floating> (-(eta / m)), weight_decay,
                         bias_sums)
    finally:
        free(activations)


def accumulate_gradients(const input_t[:, ::1] inputs, const floating[:, ::1] targets,
                         const floating[::1] params, const int[::1] sizes,
                         int cost_kind, floating[::1] gradients, int block_rows=256):
    """gradients += the sum over all rows of dC_x/d(params), in params' layout.

    Rows are processed block_rows at a time, each block as one matrix.
    """
    cdef int num_layers = sizes.shape[0]
    cdef int n_last = sizes[num_layers - 1]
    cdef Py_ssize_t n = inputs.shape[0]
    cdef int widest = np.max(sizes[1:])
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] hidden = np.empty(block_rows * np.sum(sizes[1:]), dtype=dtype)
    cdef floating[::1] deltas = np.empty(block_rows * widest, dtype=dtype)
    cdef floating[::1] deltas_prev = np.empty(block_rows * widest, dtype=dtype)
    cdef floating[::1] ones = np.ones(block_rows, dtype=dtype)
    cdef Py_ssize_t converted_count = 1        # room to convert a block, if precisions differ
    if not ((input_t is float and floating is float) or (input_t is double and floating is double)):
        converted_count = block_rows * sizes[0]
    cdef floating[::1] converted = np.empty(converted_count, dtype=dtype)
    cdef floating** activations = layer_pointers(num_layers, &hidden[0], &sizes[0],
                                                 block_rows)
    cdef Py_ssize_t start
    cdef int m
    if activations == NULL:
        raise MemoryError()
    try:
        with nogil:
            start = 0
            while start < n:
                m = <int> min(<Py_ssize_t> block_rows, n - start)
                activations[0] = block_inputs(&inputs[start, 0], &converted[0],
                                              <Py_ssize_t> m * sizes[0])
                forward(num_layers, &sizes[0], &params[0], activations, m)
                backward(num_layers, &sizes[0], &params[0], activations,
                         &targets[start, 0], cost_kind, m, &deltas[0], &deltas_prev[0],
                         &ones[0], &gradients[0], <floating> 1, <floating> 1, NULL)
                start += block_rows
    finally:
        free(activations)


def feedforward(const input_t[:, ::1] inputs, const floating[::1] params,
                const int[::1] sizes, floating[:, ::1] outputs, int block_rows=512):
    """outputs = the network's output for every row of inputs, block_rows at a time."""
    cdef int num_layers = sizes.shape[0]
    cdef Py_ssize_t n = inputs.shape[0]
    dtype = np.float32 if floating is float else np.float64
    # The output layer writes straight into `outputs`; its slot in `hidden` goes unused.
    cdef floating[::1] hidden = np.empty(block_rows * np.sum(sizes[1:]), dtype=dtype)
    cdef Py_ssize_t converted_count = 1        # room to convert a block, if precisions differ
    if not ((input_t is float and floating is float) or (input_t is double and floating is double)):
        converted_count = block_rows * sizes[0]
    cdef floating[::1] converted = np.empty(converted_count, dtype=dtype)
    cdef floating** activations = layer_pointers(num_layers, &hidden[0], &sizes[0],
                                                 block_rows)
    cdef Py_ssize_t start
    cdef int m
    if activations == NULL:
        raise MemoryError()
    try:
        with nogil:
            start = 0
            while start < n:
                m = <int> min(<Py_ssize_t> block_rows, n - start)
                activations[0] = block_inputs(&inputs[start, 0], &converted[0],
                                              <Py_ssize_t> m * sizes[0])
                activations[num_layers - 1] = &outputs[start, 0]
                forward(num_layers, &sizes[0], &params[0], activations, m)
                start += block_rows
    finally:
        free(activations)


cdef extern from *:
    int __builtin_clzll(unsigned long long) nogil


cdef Py_ssize_t shuffle_with_words(const uint64_t* words, Py_ssize_t available,
                                   Py_ssize_t* positions, Py_ssize_t n) noexcept nogil:
    """Fisher-Yates exactly as CPython's random.shuffle, fed MT19937 32-bit outputs.

    random.shuffle swaps x[i] with x[j], i = n-1 .. 1, where j = _randbelow(i+1):
    draw getrandbits(k) = word >> (32 - k), k = (i+1).bit_length(), until it is
    <= i.  Returns the number of words used, or -1 if `available` ran out.
    """
    cdef Py_ssize_t i, used = 0, swap
    cdef uint64_t j
    cdef int shift
    for i in range(n - 1, 0, -1):
        shift = __builtin_clzll(<unsigned long long> (i + 1)) - 32
        while True:
            if used == available:
                return -1
            j = words[used] >> shift
            used += 1
            if j <= <uint64_t> i:
                break
        swap = positions[i]
        positions[i] = positions[j]
        positions[j] = swap
    return used


def shuffle_positions(const uint64_t[::1] words, Py_ssize_t[::1] positions):
    """Shuffle `positions` in place as random.shuffle would with these MT19937 outputs.

    Returns how many of `words` were used, or -1 if there were too few (the
    positions are then partly shuffled and must be reset by the caller).
    Needs len(positions) <= 2**31 so that every draw takes one 32-bit word.
    """
    cdef Py_ssize_t used
    if positions.shape[0] < 2:
        return 0
    if words.shape[0] == 0:
        return -1
    with nogil:
        used = shuffle_with_words(&words[0], words.shape[0], &positions[0],
                                  positions.shape[0])
    return used

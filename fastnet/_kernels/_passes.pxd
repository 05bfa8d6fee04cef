# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Forward and backward over one block of rows, with BLAS or the tile kernels.

For a layer with weights W (n_out, n_in) and biases b (n_out,), the forward
pass of a block of m examples (row i of an activation matrix: example i) is

    A_out = f(A_in @ W.T + b)

and backprop, with deltas D (m, n_out), is

    D_in     = (D @ W) * f'(Z_in)                  (the previous layer's deltas)
    dC/dW    = D.T @ A_in                          (summed over the block)
    dC/db    = D.T @ ones                          (summed over the block)

Where work.level is not 0, the products go to the tile kernels of tiles.c
(``_tiles.pxd``) instead of BLAS: the same sums in another order, with the
block's rows read where they lie (by pointer), the update's -eta/m folded
into the deltas and the next block's rows fetched while this one computes.
"""
from cython cimport floating

from ._activations cimport activate, output_error, times_derivative
from ._blas cimport AS_STORED, TRANSPOSED, gemm, gemv
from ._finite cimport all_finite
from ._tiles cimport (FASTNET_SIMD_NONE, axpy_rows, bias_step, dot_rows, rank_update,
                      rows_times_matrix, sigmoid_all, times_sigmoid_slope)
from .training cimport Activation, Cost, SIGMOID
from .workspace cimport (Buffers, IN_PARAMS, first_layer_decay, layer_inputs, weight_rows)


cdef inline Py_ssize_t parameter_count(const int* sizes, int num_layers) noexcept nogil:
    cdef Py_ssize_t total = 0
    cdef int l
    for l in range(num_layers - 1):
        total += <Py_ssize_t> sizes[l + 1] * sizes[l] + sizes[l + 1]
    return total


cdef inline bint rows_finite(Buffers* work, bint by_pointer, const floating* block, int m,
                      int n) noexcept nogil:
    """Whether a block's m input rows of n values hold no NaN or infinity: the rows of
    work.input_pointers, or of the (m, n) `block`."""
    cdef int i
    if not by_pointer:
        return all_finite(work.level, block, m * <Py_ssize_t> n)
    for i in range(m):
        if not all_finite(work.level, <floating*> work.input_pointers[i], n):
            return False
    return True


cdef inline bint forward(int num_layers, const int* sizes, const floating* params,
                  Buffers* work, int m, Activation hidden, Activation output,
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
        if work.level != FASTNET_SIMD_NONE:
            # The sigmoid's biases are added as the sums are stored, so that it runs over
            # the block as one flat array (lane masks only at its very end); the other
            # activations add their own.
            if l == 0 and work.first != IN_PARAMS:
                rows_times_matrix(work.level, m, n_out, n_in,
                                  layer_inputs(work, 0, <const floating*> work.activations[0], m,
                                               n_in),
                                  <floating*> work.first_weights, work.first_columns,
                                  <floating> work.first_scale,
                                  biases if kind == SIGMOID else NULL, a_out, n_out,
                                  work.prefetch, work.prefetch_rows, work.prefetch_bytes)
            else:
                dot_rows(work.level, m, n_out, n_in,
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
            finite = all_finite(work.level, a_out, <Py_ssize_t> m * n_out)
        if work.level != FASTNET_SIMD_NONE and kind == SIGMOID:
            sigmoid_all(work.level, a_out, <Py_ssize_t> m * n_out)     # its biases are in
        else:
            activate(kind, a_out, biases, m, n_out)
        weights = biases + n_out
    return finite


cdef inline void outer_update(int n_out, int n_in, floating alpha, const floating* d,
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


cdef inline void backward(int num_layers, const int* sizes, const floating* params,
                   Buffers* work, const floating* targets, Cost cost,
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
    work.first != IN_PARAMS (an SGD epoch), the first layer's weights are
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
    cdef bint tiles = work.level != FASTNET_SIMD_NONE

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
                axpy_rows(work.level, m, n_in, n_out, deltas, n_out, 1,
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
                times_sigmoid_slope(work.level, deltas_prev, a, count)
            else:
                times_derivative(hidden, deltas_prev, a, count)
        # W-part: alpha * D.T @ A_in + beta * W;  b-part: alpha * D.T @ ones + beta * b.
        if tiles:
            bias_step(work.level, m, n_out, deltas, alpha, bias_beta, update + biases_at,
                      bias_sums + biases_at if bias_sums != NULL else NULL)
            if l == 1 and work.first != IN_PARAMS:
                # W = beta W + alpha D^T A, with W = first_scale W^T kept transposed: beta
                # goes into first_scale, then W^T += (alpha / first_scale) A^T D.
                first_layer_decay(work, weight_beta)
                rank_update(work.level, n_in, n_out, m, layer_inputs(work, 0, a, m, n_in),
                            deltas, n_out, <floating> (alpha / work.first_scale),
                            <floating*> work.first_weights, work.first_columns)
            else:
                # The deltas scaled by alpha once, so the update is a sum of plain products.
                scaled = deltas
                if alpha != 1:
                    for i in range(m * n_out):
                        (<floating*> work.scaled)[i] = alpha * deltas[i]
                    scaled = <floating*> work.scaled
                axpy_rows(work.level, n_out, n_in, m, scaled, 1, n_out,
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

# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled entry points: SGD epochs, gradient sums, outputs, one example at a time.

The parameters of all layers live in one flat array, layer by layer: the
weights of layer l (row-major, n_{l+1} x n_l) followed by its biases
(fastnet.parameters builds it).  The Python layer validates every shape and
value and only then calls in here, with keywords: these functions check
nothing.  The forward and backward passes are in ``_passes.pxd``, the
activations in ``_activations.pxd``.

An SGD step folds the update into the weight-gradient GEMM itself:
    W <- (1 - eta*lmbda/n) * W - (eta/m) * D.T @ A_in
is one gemm with alpha = -eta/m and beta = 1 - eta*lmbda/n writing into W,
so no gradient buffer is needed and W is passed over once for the update.

The block calls take a ``Workspace`` (workspace.pxd), made by the caller once
for many calls, whose ``level`` says which kernels compute the products; the
one-example calls take the level itself.  Every call releases the GIL for
all of its arithmetic.
"""
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cython cimport floating
from libc.stdint cimport uintptr_t
from libc.string cimport memcpy

from ._passes cimport backward, forward, parameter_count, rows_finite
from ._precision cimport block_inputs, copy_values, input_t, same_precision
from ._finite cimport all_finite
from ._tiles cimport FASTNET_SIMD_NONE, fastnet_prefetch, fastnet_set_tuning
from .workspace cimport (AHEAD, Buffers, IN_PARAMS, Workspace, buffers_allocate, buffers_free,
                         first_layer_fits, first_layer_give_back, first_layer_take)


cdef inline int check_precision(Workspace work, const floating* params) except -1:
    if work.itemsize != sizeof(floating):
        raise ValueError("the workspace was made for the other precision")
    return 0


cdef inline const input_t* input_row(const input_t* stored, const Py_ssize_t* addresses,
                                     Py_ssize_t row, int n0) noexcept nogil:
    """Where input row `row` lies: at addresses[row], or in the (rows, n0) array `stored`."""
    if addresses != NULL:
        return <const input_t*> <uintptr_t> addresses[row]
    return stored + row * <Py_ssize_t> n0


def sgd_epoch(Workspace work, const input_t[:, ::1] inputs, const floating[:, ::1] targets,
              const Py_ssize_t[::1] order, floating[::1] params, Cost cost,
              Py_ssize_t mini_batch_size, double eta, double lmbda, Py_ssize_t n,
              Py_ssize_t first_batch, Py_ssize_t stop_batch,
              floating[::1] bias_sums=None, bint check_inputs=False,
              Activation hidden=SIGMOID, Activation output=SIGMOID,
              const Py_ssize_t[::1] target_rows=None, const Py_ssize_t[::1] row_addresses=None):
    """Run mini-batches first_batch .. stop_batch-1 of one SGD epoch in place on `params`.

    The epoch visits the rows inputs[order[0]], inputs[order[1]], ... cut into
    consecutive mini-batches of `mini_batch_size` (the last may be shorter;
    `work` has room for the largest).  Input row r has the target row
    targets[r], or with `target_rows` (one per input row),
    targets[target_rows[r]]: for int labels, `targets` is the identity and
    `target_rows` the labels, so no one-hot array of the whole set is made;
    each mini-batch of m rows is one step
        w <- (1 - eta*lmbda/n) w - (eta/m) sum dC/dw,   b <- b - (eta/m) sum dC/db,
    with n the size of the whole training set.  Hidden layers apply `hidden`,
    the output layer `output` (softmax goes with the LOG_LIKELIHOOD cost).

    With `row_addresses`, input row r is instead the n0 values at address
    row_addresses[r] (network2's list of columns, read where they lie rather
    than copied into one array first), and `inputs` is an empty (0, n0) array
    that only gives their type.  The caller keeps the columns alive and has
    checked each is n0 aligned, native values of that type.  The epoch
    computes exactly what it computes on those rows stacked in one array.

    An epoch of at least COLUMNS_MIN_BATCHES mini-batches with the tile
    kernels trains its first layer transposed, in `work`; the transposed copy
    carries over from one call to the next, and is written back into `params`
    when the epoch's last mini-batch is done (``give_back`` writes it back
    after an interrupted epoch).  So an epoch run in one call or in many
    computes the same thing.

    If `bias_sums` (the layout of `params`) is given, its bias slots get +=
    every mini-batch's sum of dC/db, taken before that mini-batch's step: with
    one mini-batch per epoch, the chapter's learning speeds at the start of
    the epoch, for free.

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
    check_precision(work, &params[0])
    cdef Buffers* w = &work.buffers
    cdef int num_layers = w.num_layers
    cdef int n0 = w.sizes[0]
    cdef int n_last = w.sizes[num_layers - 1]
    cdef Py_ssize_t rows_in_order = order.shape[0]
    cdef const Py_ssize_t* addresses = NULL
    cdef const input_t* stored = NULL
    cdef Py_ssize_t rows_stored = inputs.shape[0]
    cdef Py_ssize_t batches = (rows_in_order + mini_batch_size - 1) // mini_batch_size
    cdef const Py_ssize_t* label_of = NULL
    cdef Py_ssize_t batch, start, row, i
    cdef Py_ssize_t stopped_at = -1
    cdef int m
    cdef floating weight_decay = 1.0 - eta * (lmbda / n)
    cdef floating* sums = NULL
    cdef floating* batch_inputs = <floating*> w.input_rows
    cdef floating* batch_targets = <floating*> w.target_rows
    if rows_in_order == 0 or first_batch >= stop_batch:
        return -1
    if row_addresses is not None:
        if inputs.shape[0] != 0 or row_addresses.shape[0] < rows_in_order:
            raise ValueError("sgd_epoch: with row_addresses, inputs must be empty and the "
                             "addresses cover every row in order")
        addresses, rows_stored = &row_addresses[0], row_addresses.shape[0]
    elif inputs.shape[0] != 0:
        stored = &inputs[0, 0]
    if target_rows is not None:
        if target_rows.shape[0] != rows_stored:
            raise ValueError("sgd_epoch: target_rows must have one entry per input row")
        label_of = &target_rows[0]
    if bias_sums is not None:
        sums = &bias_sums[0]
    if first_layer_fits(w, batches):
        if first_layer_take(w, &params[0]) != 0:
            raise MemoryError()
        w.first = AHEAD
    else:
        first_layer_give_back(w, &params[0])
        w.first = IN_PARAMS
    # One mini-batch of every row: the sum over it does not depend on the order (but for
    # round-off), so its rows are taken in storage order, the order of the array the
    # kernel reads where it lies (the addressed rows, gathered, give the same sums).
    cdef bint whole_set = (mini_batch_size >= rows_in_order and rows_in_order == rows_stored
                           and same_precision(<input_t*> NULL, <floating*> NULL))
    cdef bint whole_set_in_place = whole_set and addresses == NULL
    # The tile kernels read the rows where they lie (when no conversion is needed), and
    # fetch the next mini-batch's rows into the cache while this one computes.
    cdef bint rows_in_place = (w.level != FASTNET_SIMD_NONE and not whole_set_in_place
                               and same_precision(<input_t*> NULL, <floating*> NULL))
    cdef bint finite
    cdef Py_ssize_t next_start
    with nogil:
        for batch in range(first_batch, stop_batch):
            start = batch * mini_batch_size
            m = <int> min(mini_batch_size, rows_in_order - start)
            if whole_set_in_place:
                # The rows are read where they lie, and so are the targets (labels'
                # rows are gathered in the same order).
                batch_inputs = <floating*> stored
                if label_of == NULL:
                    batch_targets = <floating*> &targets[0, 0]
                else:
                    for i in range(m):
                        memcpy(batch_targets + i * <Py_ssize_t> n_last,
                               &targets[label_of[i], 0], n_last * sizeof(floating))
            else:
                for i in range(m):
                    row = i if whole_set else order[start + i]
                    if rows_in_place:
                        w.input_pointers[i] = <void*> input_row(stored, addresses, row, n0)
                    else:
                        copy_values(input_row(stored, addresses, row, n0),
                                    batch_inputs + i * <Py_ssize_t> n0, n0)
                    memcpy(batch_targets + i * <Py_ssize_t> n_last,
                           &targets[row if label_of == NULL else label_of[row], 0],
                           n_last * sizeof(floating))
            w.activations[0] = batch_inputs
            w.inputs_by_pointer = rows_in_place
            if w.level != FASTNET_SIMD_NONE:
                next_start = start + m
                w.prefetch_rows = <int> min(mini_batch_size, rows_in_order - next_start)
                if batch + 1 >= stop_batch or whole_set_in_place or w.prefetch_rows < 0:
                    w.prefetch_rows = 0
                for i in range(w.prefetch_rows):
                    row = order[next_start + i]
                    w.prefetch[i] = <const char*> input_row(stored, addresses, row, n0)
                    # Its target row too (or its label): a random row of a few MB, the
                    # next step's first wait otherwise.
                    if label_of != NULL:
                        fastnet_prefetch(&label_of[row], sizeof(Py_ssize_t))
                    else:
                        fastnet_prefetch(&targets[row, 0],
                                         n_last * <Py_ssize_t> sizeof(floating))
                w.prefetch_bytes = n0 * <Py_ssize_t> sizeof(input_t)
            finite = forward(num_layers, w.sizes, &params[0], w, m, hidden, output,
                             check_inputs)
            if not finite and not rows_finite(w, rows_in_place, batch_inputs, m, n0):
                stopped_at = batch
                break
            backward(num_layers, w.sizes, &params[0], w, batch_targets, cost, hidden,
                     m, &params[0], <floating> (-(eta / m)), weight_decay, <floating> 1, sums)
        w.inputs_by_pointer = False
        w.prefetch_rows = 0
        if stop_batch >= batches or stopped_at >= 0:
            first_layer_give_back(w, &params[0])
    return stopped_at


def give_back(Workspace work, floating[::1] params):
    """Write `work`'s transposed first layer into `params` if it holds steps params lacks
    (after an epoch stopped between calls of sgd_epoch)."""
    check_precision(work, &params[0])
    with nogil:
        first_layer_give_back(&work.buffers, &params[0])


def gradient_sums(Workspace work, const input_t[:, ::1] inputs, const floating[:, ::1] targets,
                  const floating[::1] params, Cost cost, floating[::1] gradients,
                  Activation hidden=SIGMOID, Activation output=SIGMOID):
    """gradients = the sum over all rows of dC_x/d(params), in params' layout.

    `gradients` need not be initialised.  Rows are processed work.rows at a
    time, each block as one matrix.
    """
    check_precision(work, &params[0])
    cdef Buffers* w = &work.buffers
    cdef Py_ssize_t n = inputs.shape[0]
    cdef Py_ssize_t start = 0
    cdef int m
    cdef floating beta = 0
    if n == 0:
        gradients[:] = 0
        return
    with nogil:
        while start < n:
            m = <int> min(w.rows, n - start)
            w.activations[0] = block_inputs(&inputs[start, 0], <floating*> w.input_rows,
                                            <Py_ssize_t> m * w.sizes[0])
            forward(w.num_layers, w.sizes, &params[0], w, m, hidden, output)
            backward(w.num_layers, w.sizes, &params[0], w, &targets[start, 0], cost,
                     hidden, m, &gradients[0], <floating> 1, beta, beta, NULL)
            beta = 1
            start += w.rows


def feedforward(Workspace work, const input_t[:, ::1] inputs, const floating[::1] params,
                floating[:, ::1] outputs, Activation hidden=SIGMOID, Activation output=SIGMOID):
    """outputs = the network's output for every row of inputs, work.rows at a time.

    With the tile kernels and at least COLUMNS_MIN_BATCHES rows, the first layer runs
    from a transposed copy of its weights made for this call (the column forms, as an
    SGD epoch's forward: an evaluation of 10,000 MNIST images spends most of its time
    there), unless `work` keeps one already; the copy is dropped at the end, since
    `params` may change before the next call."""
    check_precision(work, &params[0])
    cdef Buffers* w = &work.buffers
    cdef int last = w.num_layers - 1
    cdef Py_ssize_t n = inputs.shape[0]
    cdef Py_ssize_t start = 0
    cdef int m
    cdef bint transposed_here = False
    if n == 0:
        return
    if w.first == IN_PARAMS and first_layer_fits(w, n):
        if first_layer_take(w, &params[0]) != 0:
            raise MemoryError()
        transposed_here = True
    with nogil:
        while start < n:
            m = <int> min(w.rows, n - start)
            w.activations[0] = block_inputs(&inputs[start, 0], <floating*> w.input_rows,
                                            <Py_ssize_t> m * w.sizes[0])
            # The output layer writes straight into `outputs`.
            w.activations[last] = &outputs[start, 0]
            forward(w.num_layers, w.sizes, &params[0], w, m, hidden, output)
            start += w.rows
        w.activations[last] = w.own_output
        if transposed_here:
            w.first = IN_PARAMS


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
    int acquired           # how many of X, OUT and TARGET are held (Rows holds the rest)
    int num_layers
    bint x_is_float


cdef int row_forward(const int* sizes, int num_layers, const void* x, bint x_is_float,
                     const double* params, Buffers* work, int level, Activation hidden,
                     Activation output) noexcept nogil:
    """The forward pass of one example into `work`'s activations (-1: out of memory)."""
    if buffers_allocate(work, sizes, num_layers, 1, sizeof(double), level) != 0:
        return -1
    if x_is_float:
        copy_values(<const float*> x, <double*> work.input_rows, sizes[0])
        work.activations[0] = work.input_rows
    else:
        work.activations[0] = <void*> x
    forward(num_layers, sizes, params, work, 1, hidden, output)
    return 0


def feedforward_row(sizes, x, params, out, Activation hidden, Activation output, int level):
    """out (float64, sizes[-1]) = the output of the float64 network for one input row x."""
    Rows(sizes, params, hidden, output).feedforward(x, out, level)


def backprop_row(sizes, x, target, params, Cost cost, gradient, Activation hidden,
                 Activation output, int level):
    """gradient (float64, params' layout) = dC_x/d(params) for one example (x, target row)."""
    Rows(sizes, params, hidden, output).backprop(x, target, cost, gradient, level)


cdef class Rows:
    """The one-example calls of one network, its sizes and parameters held between calls.

    Holding a NumPy array's buffer costs about 0.1 us: a caller that makes many
    calls on the same parameters (network2's per-example feedforward and
    backprop, the book's scripts' loops) makes one of these and pays for the
    two buffers once (``feedforward_row`` and ``backprop_row`` make one per
    call).  The parameters' values are read at each call, so steps taken in
    place in between are seen.  Every call checks its buffers' lengths against
    the sizes, and the input row's values for NaN and infinity.
    """
    cdef Py_buffer views[2]       # SIZES and PARAMS of a RowCall, in that order
    cdef int held
    cdef readonly int num_layers
    cdef Activation hidden, output

    def __cinit__(self, sizes, params, Activation hidden, Activation output):
        cdef int* layer
        self.held = 0
        PyObject_GetBuffer(sizes, &self.views[0], PyBUF_SIMPLE)
        self.held = 1
        PyObject_GetBuffer(params, &self.views[1], PyBUF_SIMPLE)
        self.held = 2
        layer = <int*> self.views[0].buf
        self.num_layers = <int> (self.views[0].len // sizeof(int))
        if (self.num_layers < 2 or self.views[1].len !=
                parameter_count(layer, self.num_layers) * <Py_ssize_t> sizeof(double)):
            raise ValueError("a one-example kernel call got buffers that do not match its "
                             "sizes")
        self.hidden = hidden
        self.output = output

    def __dealloc__(self):
        cdef int k
        for k in range(self.held):
            PyBuffer_Release(&self.views[k])

    cdef int open(self, RowCall* call, object x, object out, object target,
                  int level) except -1:
        """Acquire the call's other buffers (released by release()) beside the held sizes
        and parameters, and check their lengths against the sizes and x's values."""
        cdef int* layer = <int*> self.views[0].buf
        cdef int L = self.num_layers - 1
        cdef int n0 = layer[0]
        cdef Py_ssize_t expected_out
        call.acquired = 0
        call.num_layers = self.num_layers
        call.views[SIZES] = self.views[0]
        call.views[PARAMS] = self.views[1]
        PyObject_GetBuffer(x, &call.views[X], PyBUF_SIMPLE)
        call.acquired = 1
        PyObject_GetBuffer(out, &call.views[OUT], PyBUF_SIMPLE | PyBUF_WRITABLE)
        call.acquired = 2
        if target is not None:
            PyObject_GetBuffer(target, &call.views[TARGET], PyBUF_SIMPLE)
            call.acquired = 3
        expected_out = (self.views[1].len // <Py_ssize_t> sizeof(double) if target is not None
                        else layer[L])
        call.x_is_float = call.views[X].len == n0 * <Py_ssize_t> sizeof(float)
        if ((call.views[X].len != n0 * <Py_ssize_t> sizeof(double) and not call.x_is_float)
                or call.views[OUT].len != expected_out * <Py_ssize_t> sizeof(double)
                or (target is not None and
                    call.views[TARGET].len != layer[L] * <Py_ssize_t> sizeof(double))):
            raise ValueError("a one-example kernel call got buffers that do not match its "
                             "sizes")
        if not (all_finite(level, <float*> call.views[X].buf, n0) if call.x_is_float
                else all_finite(level, <double*> call.views[X].buf, n0)):
            raise ValueError("x contains NaN or infinity")
        return 0

    @staticmethod
    cdef void release(RowCall* call) noexcept:
        # Only what open() acquired: X, OUT and TARGET, in that order.
        if call.acquired > 0:
            PyBuffer_Release(&call.views[X])
        if call.acquired > 1:
            PyBuffer_Release(&call.views[OUT])
        if call.acquired > 2:
            PyBuffer_Release(&call.views[TARGET])
        call.acquired = 0

    cdef int forward_into(self, RowCall* call, Buffers* work, int level) noexcept nogil:
        """The opened call's forward pass into `work` (-1: out of memory)."""
        return row_forward(<int*> call.views[SIZES].buf, call.num_layers, call.views[X].buf,
                           call.x_is_float, <double*> call.views[PARAMS].buf, work, level,
                           self.hidden, self.output)

    def feedforward(self, x, out, int level):
        """out (float64, the last layer's size) = the network's output for input row x."""
        cdef RowCall call
        cdef Buffers work
        cdef int status
        cdef int L = self.num_layers - 1
        call.acquired = 0
        try:
            self.open(&call, x, out, None, level)
            with nogil:
                status = self.forward_into(&call, &work, level)
                if status == 0:
                    memcpy(call.views[OUT].buf, work.activations[L],
                           (<int*> call.views[SIZES].buf)[L] * sizeof(double))
                    buffers_free(&work)
            if status != 0:
                raise MemoryError()
        finally:
            Rows.release(&call)

    def backprop(self, x, target, Cost cost, gradient, int level):
        """gradient (float64, the parameters' layout) = dC_x/d(params) for (x, target row)."""
        cdef RowCall call
        cdef Buffers work
        cdef int status
        call.acquired = 0
        try:
            self.open(&call, x, gradient, target, level)
            with nogil:
                status = self.forward_into(&call, &work, level)
                if status == 0:
                    backward(call.num_layers, <int*> call.views[SIZES].buf,
                             <double*> call.views[PARAMS].buf, &work,
                             <double*> call.views[TARGET].buf, cost, self.hidden, 1,
                             <double*> call.views[OUT].buf, 1, 0, 0, NULL)
                    buffers_free(&work)
            if status != 0:
                raise MemoryError()
        finally:
            Rows.release(&call)


def set_tuning(int dot_chunk, int dot_block, int axpy_chunk, int columns_chunk,
               bint columns_wide, int prefetch_double, int prefetch_float):
    """Walk the tile kernels' work this way from now on (fastnet.dispatch's table in use):
    chunk lengths (columns_chunk 0: none), columns of tiles per chunk, whether the column
    forms' forward takes its wide tiles, and where the next rows are fetched to in each
    precision (0 not at all, 1 the L1 cache, 2 the L2)."""
    fastnet_set_tuning(dot_chunk, dot_block, axpy_chunk, columns_chunk, columns_wide,
                       prefetch_double, prefetch_float)

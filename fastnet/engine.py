"""Where fastnet's Python meets its kernels: every compiled call goes through here.

The functions take packed ``Parameters`` and converted ``Examples`` that the
callers have already checked, hold BLAS to fastnet's thread count while the
kernels run (``fastnet.threads``), and bound temporary memory by working in
blocks of rows.  ``Network`` and the chapter toolkit (``fastnet.speed``) both
train and measure through them.  ``layers`` (a ``fastnet.activations.Layers``)
says which activations the network computes; it defaults to network2's sigmoids.
"""
import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fastnet import dispatch  # noqa: F401  (applies FASTNET_KERNEL before the first call)
from fastnet._kernels import training as kernels
from fastnet.activations import DEFAULT
from fastnet.examples import check_finite
from fastnet.parameters import Parameters, parameter_count, unpack
from fastnet.threads import kernel_threads

EVALUATION_ROWS = 8192      # rows per block of outputs: bounds the temporaries


class NonFiniteInputs(ValueError):
    """Training inputs holding NaN or infinity, found by the kernel as it read them."""


def sgd_epoch(params, train, order, mini_batch_size, eta, lmbda, n, cost_kind,
              progress=None, step_bias_sums=None, check_inputs=False, layers=DEFAULT):
    """One epoch of SGD in place on ``params.flat``, over the rows in ``order``.

    ``n`` is the size of the training set (the weight decay's denominator).
    With ``progress``, the epoch runs in about 100 chunks and
    ``progress(k)`` is told after each of the k mini-batches just done, so
    that Ctrl-C lands between chunks with consistent weights.  With
    ``check_inputs``, the kernel checks every input row as it reads it and
    NonFiniteInputs is raised at the first mini-batch holding NaN or
    infinity (``params`` then holds the steps before it).
    """
    batches = -(-len(order) // mini_batch_size)
    chunk = batches if progress is None else max(1, batches // 100)
    room = min(mini_batch_size, len(order))       # the largest mini-batch there will be
    targets, target_rows = train.kernel_targets()
    with kernel_threads():
        for first in range(0, batches, chunk):
            stop = min(first + chunk, batches)
            stopped_at = kernels.sgd_epoch(train.X, targets, order, params.flat,
                                           params.kernel_sizes, cost_kind, room, eta, lmbda,
                                           n, first, stop, step_bias_sums, check_inputs,
                                           layers.hidden, layers.output, target_rows)
            if stopped_at >= 0:
                raise NonFiniteInputs(
                    "training_data inputs contain NaN or infinity{} (in mini-batch {} of "
                    "the first epoch)".format(
                        ", or values beyond float32's range" if params.flat.dtype == np.float32
                        and train.X.dtype == np.float64 else "", stopped_at))
            if progress is not None:
                progress(stop - first)


class FullBatchSteps:
    """Gradient descent with one mini-batch of every example, its rows shared by threads.

    Each step is network2's with m = n:
        w <- (1 - eta*lmbda/n) w - (eta/n) sum_x dC_x/dw,   b <- b - (eta/n) sum_x dC_x/db.
    The sum is taken over fixed blocks of ``BLOCK_ROWS`` rows, in storage order
    (one batch of every row: the shuffle changes only the summation order),
    by ``threads`` threads, and added up in block order, so the result does not
    depend on the number of threads.  This is the chapter's learning-speed
    setting (1,000 images, mini-batch 1,000), where a single mini-batch is
    large enough for two cores to share.

    Inputs that are zero in every example (175 of MNIST's 784 pixels in the
    first 1,000 images) are left out of the products: their weights get an
    exact zero gradient, so each step only decays them, and that is what is
    done to them.  The other weights are trained in a compressed copy, and
    ``sync()`` brings ``params`` up to date (before anything reads it).
    """

    BLOCK_ROWS = 250
    COMPRESS_BYTES = 64 << 20       # the largest input array worth a compressed copy

    @classmethod
    def applies(cls, mini_batch_size, n):
        return mini_batch_size >= n >= 2 * cls.BLOCK_ROWS

    def __init__(self, params, train, eta, lmbda, cost_kind, threads, layers=DEFAULT):
        n = train.n
        self.params, self.train, self.cost_kind = params, train, cost_kind
        self.layers = layers
        self.step_size = eta / n
        self.weight_decay = 1.0 - eta * (lmbda / n)
        self.inputs, self.work, self.used = train.X, params, None
        if train.X.nbytes <= self.COMPRESS_BYTES:
            used = np.flatnonzero(train.X.any(axis=0))        # NaN counts as used
            if len(used) < 0.9 * train.X.shape[1]:
                self._compress(used if len(used) else np.arange(1))
        self.blocks = [slice(start, min(start + self.BLOCK_ROWS, n))
                       for start in range(0, n, self.BLOCK_ROWS)]
        self.sums = [np.empty_like(self.work.flat) for _ in self.blocks]
        self.decay = np.ones_like(self.work.flat)          # weights decay, biases do not
        for weights in unpack(self.decay, self.work.sizes)[0]:
            weights[...] = self.weight_decay
        # The calling thread takes blocks too, with threads - 1 helpers.
        helpers = min(threads, len(self.blocks)) - 1
        self.pool = ThreadPoolExecutor(helpers) if helpers > 0 else None
        self.helpers = helpers
        self.pending = 0                # steps not yet written back to params (see sync)

    def _compress(self, used):
        """Train only the weights of the inputs in ``used``, in a copy of the parameters."""
        sizes = [len(used)] + self.params.sizes[1:]
        work = Parameters(sizes, np.empty(parameter_count(sizes), dtype=self.params.flat.dtype))
        work.weights[0][...] = self.params.weights[0][:, used]
        first = self.params.weights[0].size                # the full array past weights[0]
        work.flat[work.weights[0].size:] = self.params.flat[first:]
        self.unused = np.setdiff1d(np.arange(self.params.sizes[0]), used)
        self.inputs = np.ascontiguousarray(self.train.X[:, used])
        self.work, self.used = work, used

    def _block_sum(self, k):
        rows = self.blocks[k]
        kernels.gradient_sums(self.inputs[rows], self.train.targets[rows], self.work.flat,
                              self.work.kernel_sizes, self.cost_kind, self.sums[k], False,
                              hidden=self.layers.hidden, output=self.layers.output)

    def _take_blocks(self, counter):
        for k in iter(counter.__next__, None):
            if k >= len(self.blocks):
                return
            self._block_sum(k)

    def step(self, step_bias_sums=None, check_inputs=False):
        """One step; ``step_bias_sums`` (if given) gets += the gradient taken before it."""
        if check_inputs:
            X = self.train.X
            try:
                check_finite(X, "training_data inputs",
                             fits_float32=(self.params.flat.dtype == np.float32
                                           and X.dtype == np.float64))
            except ValueError as error:
                raise NonFiniteInputs(str(error)) from None
        with kernel_threads():
            # Blocks go to whoever is free (a shared counter; next() is atomic under
            # the GIL), so a helper the system has parked just takes fewer of them.
            counter = itertools.count()
            helping = [self.pool.submit(self._take_blocks, counter)
                       for _ in range(self.helpers)]
            self._take_blocks(counter)
            for future in helping:
                future.result()
        total = self.sums[0]
        for partial in self.sums[1:]:
            total += partial
        if step_bias_sums is not None:
            for full, part in zip(unpack(step_bias_sums, self.params.sizes)[1],
                                  unpack(total, self.work.sizes)[1]):
                full += part
        flat = self.work.flat
        flat *= self.decay
        flat -= self.step_size * total
        self.pending += 1

    def sync(self):
        """Bring ``params`` up to date with the steps taken (a no-op without compression).

        The left-out inputs' weights get their decay once per step taken, by
        repeated multiplication, exactly as the steps would have applied it.
        """
        if self.used is None or self.pending == 0:
            return
        first = self.params.weights[0]
        unused = first[:, self.unused]
        for _ in range(self.pending):
            unused *= self.weight_decay
        first[:, self.unused] = unused
        first[:, self.used] = self.work.weights[0]
        self.params.flat[first.size:] = self.work.flat[self.work.weights[0].size:]
        self.pending = 0

    def close(self):
        self.sync()
        if self.pool is not None:
            self.pool.shutdown()


def gradient_sums(params, examples, cost_kind, layers=DEFAULT):
    """The sum over the examples of dC_x/d(parameters), in the packed layout."""
    sums = np.empty_like(params.flat)
    with kernel_threads():
        kernels.gradient_sums(examples.X, examples.targets, params.flat, params.kernel_sizes,
                              cost_kind, sums, False, hidden=layers.hidden, output=layers.output)
    return sums


def mean_gradients(params, examples, cost_kind, layers=DEFAULT):
    """``(nabla_b, nabla_w)``: every bias and weight gradient averaged over the examples."""
    weights, biases = unpack(gradient_sums(params, examples, cost_kind, layers) / examples.n,
                             params.sizes)
    return biases, weights


def hidden_speeds(mean_gradient, sizes):
    """||delta^l|| of every hidden layer, from a mean gradient in the packed layout."""
    _, biases = unpack(mean_gradient, sizes)
    return [float(np.linalg.norm(b)) for b in biases[:-1]]


def learning_speeds(params, examples, cost_kind, layers=DEFAULT):
    """The chapter's learning speed ||delta^l|| of every hidden layer on the examples."""
    return hidden_speeds(gradient_sums(params, examples, cost_kind, layers) / examples.n,
                         params.sizes)


def outputs(params, X, layers=DEFAULT):
    """The output layer's activations for every row of ``X``, in the parameters' precision."""
    result = np.empty((X.shape[0], params.sizes[-1]), dtype=params.flat.dtype)
    if X.shape[0]:
        with kernel_threads():
            kernels.feedforward(X, params.flat, params.kernel_sizes, result,
                                hidden=layers.hidden, output=layers.output)
    return result


def accuracy(params, examples, layers=DEFAULT):
    """How many examples have their label as the output's argmax (a Python int)."""
    correct = 0
    for rows in _blocks(examples.n):
        predictions = np.argmax(outputs(params, examples.X[rows], layers), axis=1)
        correct += int(np.count_nonzero(predictions == examples.labels[rows]))
    return correct


def total_cost(params, examples, lmbda, cost, layers=DEFAULT):
    """Mean ``cost.fn`` over the examples plus 0.5*(lmbda/n)*sum ||w||^2, as np.float64."""
    total = np.float64(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        for rows in _blocks(examples.n):
            total += cost.fn(outputs(params, examples.X[rows], layers), examples.targets[rows])
    weights, _ = unpack(params.flat, params.sizes)
    regulariser = sum(np.linalg.norm(w) ** 2 for w in weights)
    return np.float64(total / examples.n + 0.5 * (lmbda / examples.n) * regulariser)


def _blocks(n, rows=EVALUATION_ROWS):
    return [slice(start, min(start + rows, n)) for start in range(0, n, rows)]

"""Where fastnet's Python meets its kernels: every compiled call goes through here.

``Trainer`` holds one call of ``Network.SGD``; the functions below it
evaluate and differentiate a network, in blocks of rows or one example at a
time.  They take packed ``Parameters`` and converted ``Examples`` that the
callers have already checked, hold BLAS to fastnet's thread count while the
kernels run (``fastnet.threads``), pass each kernel call the level
``fastnet.dispatch`` has in use, and bound temporary memory by working in
blocks of rows.  ``layers`` (a ``fastnet.activations.Layers``) says which
activations the network computes; it defaults to network2's sigmoids.
"""
import itertools
from collections import namedtuple

import numpy as np

from fastnet import dispatch
from fastnet._kernels import training as kernels
from fastnet._kernels.workspace import Workspace
from fastnet.activations import DEFAULT
from fastnet.costs import cost_kind
from fastnet.examples import check_finite
from fastnet.parameters import Parameters, parameter_count, unpack
from fastnet.shuffling import shuffled_positions
from fastnet.threads import kernel_threads

KERNEL_ROWS = 256           # rows per kernel block of outputs and gradient sums
EVALUATION_ROWS = 8192      # rows per block of outputs: bounds the temporaries


class NonFiniteInputs(ValueError):
    """Training inputs holding NaN or infinity, found by the kernel as it read them."""


Measurements = namedtuple("Measurements", "training_cost training_accuracy "
                                          "evaluation_cost evaluation_accuracy")
Measurements.__doc__ = """One epoch's monitored values; None for those not monitored."""


class EarlyStopping:
    """The port's early stopping: count the epochs since the accuracy last beat its best."""

    def __init__(self, patience):
        self.patience, self.best, self.without_gain = patience, 0, 0

    def stop_after(self, measured):
        """Whether training stops after this epoch's measurements."""
        if not self.patience:
            return False
        accuracy = measured.evaluation_accuracy
        if accuracy is None:
            accuracy = measured.training_accuracy
        if accuracy > self.best:
            self.best, self.without_gain = accuracy, 0
        else:
            self.without_gain += 1
        return self.without_gain == self.patience


class Trainer:
    """One SGD call: the parameters being trained, the descent, and the monitors' lists.

    ``train_epoch`` runs one epoch (the shuffle, then mini-batch descent, or
    full-batch descent when one mini-batch holds every example: see
    ``FullBatchDescent``) and says whether the weights just stopped being
    finite; ``measure`` takes the monitors' measurements after it.  Use it
    as a context manager: leaving it brings ``params`` up to date, also when
    an epoch is interrupted (Ctrl-C in ``progress``).  ``monitor`` names the
    Measurements fields to take; ``speed_examples`` (or None) the data whose
    learning speeds are recorded after every epoch.
    """

    def __init__(self, params, train, mini_batch_size, eta, lmbda, cost, layers=DEFAULT, *,
                 threads=1, evaluation=None, speed_examples=None, monitor=()):
        self.params, self.train, self.eta, self.lmbda = params, train, eta, lmbda
        self.cost, self.kind, self.layers = cost, cost_kind(cost), layers
        self.evaluation, self.speed_examples, self.monitor = evaluation, speed_examples, monitor
        self.evaluation_cost, self.evaluation_accuracy = [], []
        self.training_cost, self.training_accuracy = [], []
        self.learning_speeds = []
        n = train.n
        if FullBatchDescent.applies(mini_batch_size, n):
            self.descent = FullBatchDescent(params, train, eta, lmbda, self.kind, threads, layers)
        else:
            self.descent = MiniBatchDescent(params, train, mini_batch_size, eta, lmbda, n,
                                            self.kind, layers)
        # With one mini-batch per epoch on the very examples monitored (the
        # chapter's setting), each step's bias gradient is the speed before
        # that step, i.e. after the previous epoch: the kernel hands it over.
        self.step_sums = (np.zeros_like(params.flat)
                          if speed_examples is train and mini_batch_size >= n else None)
        self.order = None             # order[k]: the row at list position k (None: k)
        self.pairs = None if train.pairs is None else list(train.pairs)
        self.epochs_done = 0
        self.finite = True
        self._workspaces = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.descent.close()

    def train_epoch(self, shuffle_with, progress=None):
        """One epoch; True if it is the first after which the weights are not all finite."""
        train, n, j = self.train, self.train.n, self.epochs_done
        permutation = shuffled_positions(n, shuffle_with)
        self.order = permutation if self.order is None else self.order[permutation]
        if self.pairs is not None:                  # network2 shuffles its list in place
            self.pairs = list(map(self.pairs.__getitem__, permutation.tolist()))
            train.pairs[:] = self.pairs
        if self.step_sums is not None:
            self.step_sums[:] = 0
        self.descent.epoch(self.order, progress, self.step_sums, check_inputs=(j == 0))
        if self.step_sums is not None and j > 0:
            self.learning_speeds.append(hidden_speeds(self.step_sums / n, self.params.sizes))
        self.epochs_done += 1
        # Not isfinite(sum): the sum of large finite weights can overflow, and warn.
        if self.finite and not np.isfinite(self.descent.trained.flat).all():
            self.finite = False
            return True
        return False

    def measure(self):
        """The monitors' measurements after the epoch just trained (recorded, and returned)."""
        measure_speed = self.step_sums is None and self.speed_examples is not None
        if measure_speed or self.monitor:
            self.descent.sync()
        params, values = self.params, {}
        for name in Measurements._fields:
            if name in self.monitor:
                examples = self.train if name.startswith("training") else self.evaluation
                if name.endswith("cost"):
                    value = total_cost(params, examples, self.lmbda, self.cost, self.layers,
                                       self._workspace)
                else:
                    value = accuracy(params, examples, self.layers, self._workspace)
                getattr(self, name).append(value)
                values[name] = value
        if measure_speed:
            self.learning_speeds.append(self._speeds(self.speed_examples))
        return Measurements(**{name: values.get(name) for name in Measurements._fields})

    def finish(self):
        """Bring ``params`` up to date and take the last learning speeds, if handed over."""
        self.descent.sync()
        if self.step_sums is not None and self.epochs_done > 0:
            self.learning_speeds.append(self._speeds(self.train))

    def _speeds(self, examples):
        sums = gradient_sums(self.params, examples, self.kind, self.layers, self._workspace)
        return hidden_speeds(sums / examples.n, self.params.sizes)

    def _workspace(self, rows):
        """The evaluations' workspace for blocks of `rows` rows, made at its first use."""
        level = dispatch.level_for(rows)
        found = self._workspaces.get((rows, level))
        if found is None:
            found = self._workspaces[rows, level] = workspace(self.params, rows, level)
        return found


def workspace(params, rows, level=None):
    """A kernel workspace for blocks of up to `rows` rows of the network ``params``."""
    return Workspace(params.kernel_sizes, rows, params.flat.itemsize,
                     dispatch.level_for(rows) if level is None else level)


class MiniBatchDescent:
    """network2's SGD epochs, in the kernel, with one workspace for every epoch.

    With ``progress``, an epoch runs in about 100 chunks and ``progress(k)``
    is told after each of the k mini-batches just done, so that Ctrl-C lands
    between chunks; ``sync`` (or ``close``) then brings ``params`` up to
    date.  ``n`` is the size of the training set (the weight decay's
    denominator).  The chunks share the workspace, so they compute what one call for
    the whole epoch computes.
    """

    def __init__(self, params, train, mini_batch_size, eta, lmbda, n, cost_kind,
                 layers=DEFAULT):
        self.params, self.train, self.trained, self.n = params, train, params, n
        self.mini_batch_size, self.eta, self.lmbda, self.cost_kind = (mini_batch_size, eta,
                                                                      lmbda, cost_kind)
        self.layers = layers
        self.targets, self.target_rows = train.kernel_targets()
        self.inputs, self.row_addresses = train.kernel_inputs()
        self.work = workspace(params, min(mini_batch_size, train.n))

    def epoch(self, order, progress=None, step_bias_sums=None, check_inputs=False):
        """One epoch over the rows in ``order``; ``step_bias_sums`` (if given) gets += the
        bias gradients taken before each step.  With ``check_inputs``, NonFiniteInputs is
        raised at the first mini-batch holding NaN or infinity (``params`` then holds
        the steps before it)."""
        params, train = self.params, self.train
        batches = -(-len(order) // self.mini_batch_size)
        chunk = batches if progress is None else max(1, batches // 100)
        with kernel_threads():
            for first in range(0, batches, chunk):
                stop = min(first + chunk, batches)
                stopped_at = kernels.sgd_epoch(
                    work=self.work, inputs=self.inputs, targets=self.targets, order=order,
                    params=params.flat, cost=self.cost_kind,
                    mini_batch_size=self.mini_batch_size, eta=self.eta, lmbda=self.lmbda,
                    n=self.n, first_batch=first, stop_batch=stop, bias_sums=step_bias_sums,
                    check_inputs=check_inputs, hidden=self.layers.hidden,
                    output=self.layers.output, target_rows=self.target_rows,
                    row_addresses=self.row_addresses)
                if stopped_at >= 0:
                    raise NonFiniteInputs(
                        "training_data inputs contain NaN or infinity{} (in mini-batch {} of "
                        "the first epoch)".format(
                            ", or values beyond float32's range"
                            if params.flat.dtype == np.float32
                            and train.input_dtype == np.float64
                            else "", stopped_at))
                if progress is not None:
                    progress(stop - first)

    def sync(self):
        """Bring ``params`` up to date (after an epoch stopped between chunks)."""
        kernels.give_back(work=self.work, params=self.params.flat)

    def close(self):
        self.sync()


class FullBatchDescent:
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
    done to them.  The other weights are trained in a compressed copy
    (``trained``), and ``sync()`` brings ``params`` up to date.
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
        self.inputs, self.trained, self.used = train.X, params, None
        if train.X.nbytes <= self.COMPRESS_BYTES:
            used = np.flatnonzero(train.X.any(axis=0))        # NaN counts as used
            if len(used) < 0.9 * train.X.shape[1]:
                self._compress(used if len(used) else np.arange(1))
        self.blocks = [slice(start, min(start + self.BLOCK_ROWS, n))
                       for start in range(0, n, self.BLOCK_ROWS)]
        self.sums = [np.empty_like(self.trained.flat) for _ in self.blocks]
        self.decay = np.ones_like(self.trained.flat)          # weights decay, biases do not
        for weights in unpack(self.decay, self.trained.sizes)[0]:
            weights[...] = self.weight_decay
        # The calling thread takes blocks too, with threads - 1 helpers, each its workspace.
        helpers = min(threads, len(self.blocks)) - 1
        self.pool = None
        if helpers > 0:
            # Imported here: only full-batch descent with threads needs it, and fastnet
            # train (every import of the engine) would pay for it otherwise.
            from concurrent.futures import ThreadPoolExecutor
            self.pool = ThreadPoolExecutor(helpers)
        self.works = [workspace(self.trained, self.BLOCK_ROWS) for _ in range(helpers + 1)]
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
        self.trained, self.used = work, used

    def _take_blocks(self, counter, work):
        for k in iter(counter.__next__, None):
            if k >= len(self.blocks):
                return
            rows = self.blocks[k]
            kernels.gradient_sums(work=work, inputs=self.inputs[rows],
                                  targets=self.train.targets[rows], params=self.trained.flat,
                                  cost=self.cost_kind, gradients=self.sums[k],
                                  hidden=self.layers.hidden, output=self.layers.output)

    def epoch(self, order, progress=None, step_bias_sums=None, check_inputs=False):
        """One step (``order`` changes only the summation order, so it is not used);
        ``step_bias_sums`` (if given) gets += the gradient taken before it."""
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
            helping = [self.pool.submit(self._take_blocks, counter, work)
                       for work in self.works[1:]]
            self._take_blocks(counter, self.works[0])
            for future in helping:
                future.result()
        total = self.sums[0]
        for partial in self.sums[1:]:
            total += partial
        if step_bias_sums is not None:
            for full, part in zip(unpack(step_bias_sums, self.params.sizes)[1],
                                  unpack(total, self.trained.sizes)[1]):
                full += part
        flat = self.trained.flat
        flat *= self.decay
        flat -= self.step_size * total
        self.pending += 1
        if progress is not None:
            progress(1)

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
        first[:, self.used] = self.trained.weights[0]
        self.params.flat[first.size:] = self.trained.flat[self.trained.weights[0].size:]
        self.pending = 0

    def close(self):
        self.sync()
        if self.pool is not None:
            self.pool.shutdown()


def update_mini_batch(params, batch, eta, lmbda, n, cost_kind, layers=DEFAULT):
    """network2's update_mini_batch: one SGD step in place on ``params`` over every row."""
    descent = MiniBatchDescent(params, batch, batch.n, eta, lmbda, n, cost_kind, layers)
    descent.epoch(np.arange(batch.n, dtype=np.intp))
    descent.close()


def gradient_sums(params, examples, cost_kind, layers=DEFAULT, workspaces=None):
    """The sum over the examples of dC_x/d(parameters), in the packed layout.

    ``workspaces(rows)``, if given, supplies the kernel's workspace.
    """
    sums = np.empty_like(params.flat)
    work = _block_workspace(params, examples.n, workspaces)
    with kernel_threads():
        kernels.gradient_sums(work=work, inputs=examples.X, targets=examples.targets,
                              params=params.flat, cost=cost_kind, gradients=sums,
                              hidden=layers.hidden, output=layers.output)
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


def outputs(params, X, layers=DEFAULT, workspaces=None):
    """The output layer's activations for every row of ``X``, in the parameters' precision."""
    result = np.empty((X.shape[0], params.sizes[-1]), dtype=params.flat.dtype)
    if X.shape[0]:
        work = _block_workspace(params, X.shape[0], workspaces)
        with kernel_threads():
            kernels.feedforward(work=work, inputs=X, params=params.flat, outputs=result,
                                hidden=layers.hidden, output=layers.output)
    return result


def accuracy(params, examples, layers=DEFAULT, workspaces=None):
    """How many examples have their label as the output's argmax (a Python int)."""
    correct = 0
    for rows in _blocks(examples.n):
        predictions = np.argmax(outputs(params, examples.X[rows], layers, workspaces), axis=1)
        correct += int(np.count_nonzero(predictions == examples.labels[rows]))
    return correct


def total_cost(params, examples, lmbda, cost, layers=DEFAULT, workspaces=None):
    """Mean ``cost.fn`` over the examples plus 0.5*(lmbda/n)*sum ||w||^2, as np.float64."""
    total = np.float64(0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for rows in _blocks(examples.n):
            total += cost.fn(outputs(params, examples.X[rows], layers, workspaces),
                             examples.targets[rows])
        mean = total / examples.n
        if not np.isfinite(mean):
            mean = _mean_cost_example_by_example(params, examples, cost, layers, workspaces)
    weights, _ = unpack(params.flat, params.sizes)
    regulariser = sum(np.linalg.norm(w) ** 2 for w in weights)
    return np.float64(mean + 0.5 * (lmbda / examples.n) * regulariser)


def _mean_cost_example_by_example(params, examples, cost, layers, workspaces):
    """network2's order: each example's cost divided by n, then added up.  Where
    nan_to_num caps each saturated example's cost at the largest float, a sum of
    whole blocks can overflow to inf while network2's mean stays finite."""
    mean = np.float64(0.0)
    for rows in _blocks(examples.n):
        out = outputs(params, examples.X[rows], layers, workspaces)
        for a, y in zip(out, examples.targets[rows]):
            mean += cost.fn(a, y) / examples.n
    return mean


# One example's products are too small for BLAS threads: no limiter needed.

# Positional arguments: each keyword costs the call a lookup, and these run once per example.

def row_calls(params, layers=DEFAULT):
    """The one-example calls on ``params`` with ``layers``, for a caller that makes many:
    ``feedforward(x, out, level)`` and ``backprop(x, target, cost_kind, gradient, level)``
    compute what ``feedforward_row`` and ``backprop_row`` do (level:
    ``dispatch.level_for(1)``), with the sizes' and parameters' buffers held in between."""
    return kernels.Rows(params.kernel_sizes, params.flat, layers.hidden, layers.output)


def feedforward_row(params, x, out, layers=DEFAULT):
    """out (float64, sizes[-1]) = the network's output for one input row x."""
    kernels.feedforward_row(params.kernel_sizes, x, params.flat, out, layers.hidden,
                            layers.output, dispatch.level_for(1))


def backprop_row(params, x, target, cost_kind, gradient, layers=DEFAULT):
    """gradient (float64, the packed layout) = dC_x/d(parameters) for one example."""
    kernels.backprop_row(params.kernel_sizes, x, target, params.flat, cost_kind, gradient,
                         layers.hidden, layers.output, dispatch.level_for(1))


def _block_workspace(params, n, workspaces=None):
    """The workspace for blocks of KERNEL_ROWS of n rows: from ``workspaces(rows)``, or new."""
    rows = min(KERNEL_ROWS, max(n, 1))
    return workspaces(rows) if workspaces is not None else workspace(params, rows)


def _blocks(n, rows=EVALUATION_ROWS):
    return [slice(start, min(start + rows, n)) for start in range(0, n, rows)]

"""The vanishing-gradient toolkit: how fast each layer of a network learns.

Chapter 5 of Nielsen's book measures the *learning speed* of hidden layer l as
``||delta^l||``: take dC/db for every neuron of the layer, average it over a set
of training examples (the first 1,000 training images), and take the Euclidean
norm over the layer's neurons.  In a deep sigmoid network the early layers
learn far more slowly than the late ones.  This module reproduces the
chapter's experiments and gives the same measurements for any network:

- ``layer_speeds(net, data)``: ``||delta^l||`` and ``||grad w^l||`` per layer and
  the average dC/db of every neuron (the per-neuron view);
- ``initial_speeds(...)``: the speeds of freshly initialised networks of
  several depths, over several seeds (mean and standard deviation);
- ``train_with_speeds(...)``: train a network and record every hidden layer's
  speed before the first epoch and after each epoch;
- ``speeds_during_training(...)``: the chapter's three 500-epoch runs;
- ``unstable_gradient(net, data)``: for the first hidden layer, the factors
  ``|w sigma'(z)|`` that backpropagation multiplies along the chain, and their
  product, which is why the gradient vanishes (or explodes);
- ``depth_table(...)``: validation accuracy of 1 to 4 hidden layers, with the
  seeds trained in parallel threads.

For example::

    (X, y), _, _ = fastnet.datasets.load_mnist(dtype=np.float64)
    data = (X[:1000], y[:1000])
    net = speed.initial_network([784, 30, 30, 30, 30, 10], seed=0)
    speed.layer_speeds(net, data)["speeds"]        # ~[0.0029, 0.015, 0.058, 0.33]
    speeds = speed.train_with_speeds(net, data, 500, 1000, 0.1, 5.0)   # shape (501, 4)

``python -m fastnet speed`` runs all of the chapter's experiments and writes
figures, a JSON file and a report (see ``fastnet.speed_cli``).

Seeds without the global generators.  network2 draws initial weights from the
global ``np.random`` and shuffles with the global ``random``.  Threads running
side by side must not share those, so here a run with seed ``s`` draws its
weights from ``np.random.RandomState(s)`` -- in network2's order, so the
weights are exactly those of ``np.random.seed(s); Network(sizes)`` -- and
shuffles with ``random.Random(s)`` (``SGD(..., shuffle_with=...)``).  A run
therefore gives the same numbers whether it runs alone or beside others, and
the caller's global generators are left as they were.

The speeds are computed by the compiled kernels over the whole set of
examples at once, in float64.
"""
import itertools
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fastnet import network2
from fastnet._kernels import training as _kernels
from fastnet.threads import kernel_threads

__all__ = [
    "BOOK", "CHAPTER", "chapter_sizes", "initial_network", "layer_speeds", "initial_speeds",
    "train_with_speeds", "speeds_during_training", "unstable_gradient", "depth_table",
    "compare_with_book", "mean_std", "Stopped",
]

# What the chapter ran, and what it reported.  The book's numbers are single
# runs from one random initialisation each; ours come with spreads over seeds.
CHAPTER = {
    "width": 30,                    # neurons per hidden layer
    "speed_examples": 1000,         # the first 1,000 training images
    "speed_depths": (2, 3, 4),      # hidden layers in the learning-speed experiments
    "speed_epochs": 500,
    "speed_mini_batch_size": 1000,
    "table_depths": (1, 2, 3, 4),
    "table_epochs": 30,
    "table_mini_batch_size": 10,
    "table_examples": 50000,
    "eta": 0.1,
    "lmbda": 5.0,
    "neurons_shown": 6,             # the per-neuron view shows the first six neurons
}

BOOK = {
    # ||delta^l|| of each hidden layer, first to last, for 2, 3 and 4 hidden layers.
    "initial_speeds": {2: [0.07, 0.31], 3: [0.012, 0.060, 0.283],
                       4: [0.003, 0.017, 0.070, 0.285]},
    # Validation accuracy (percent) after 30 epochs, for 1 to 4 hidden layers.
    "depth_accuracy": {1: 96.48, 2: 96.90, 3: 96.57, 4: 96.53},
}


class Stopped(Exception):
    """Raised inside a run when its ``stop`` event is set (e.g. after Ctrl-C)."""


def chapter_sizes(depth, width=30, n_in=784, n_out=10):
    """``[784, 30, ..., 30, 10]`` with ``depth`` hidden layers."""
    depth = _check_int(depth, "depth", 1)
    width = _check_int(width, "width", 1)
    return [n_in] + [width] * depth + [n_out]


def initial_network(sizes, seed, cost=network2.CrossEntropyCost):
    """A Network initialised as ``np.random.seed(seed); Network(sizes)`` would be.

    The weights come from a private ``np.random.RandomState(seed)`` drawn in
    network2's order, so the global ``np.random`` is neither used nor changed
    and threads can build networks side by side.
    """
    return network2.Network(sizes, cost=cost, random_state=_check_seed(seed))


# ---------------------------------------------------------------------------
# Measuring one network

def layer_speeds(net, data):
    """How fast each layer of ``net`` learns on ``data``, as the chapter measures it.

    Returns a dict:
      ``speeds``: ``||delta^l||`` for every hidden layer (first to last), where
          delta^l is dC/db^l averaged over the examples;
      ``output_speed``: the same for the output layer;
      ``weight_gradient_norms``: ``||dC/dw^l||`` (Frobenius norm of the mean
          weight gradient) for every layer after the input, output layer last;
      ``neurons``: for every hidden layer, the averaged dC/db of each neuron
          (a list of floats): the bars of the book's per-neuron figure.
    """
    nabla_b, nabla_w = net.gradients(data)
    bias_means = [np.ravel(b) for b in nabla_b]
    return {
        "speeds": [float(np.linalg.norm(b)) for b in bias_means[:-1]],
        "output_speed": float(np.linalg.norm(bias_means[-1])),
        "weight_gradient_norms": [float(np.linalg.norm(w)) for w in nabla_w],
        "neurons": [b.tolist() for b in bias_means[:-1]],
    }


def unstable_gradient(net, data):
    """Why the first hidden layer's gradient vanishes: the factors along the chain.

    Backpropagation reaches the first hidden layer through every later layer:
    delta^l = sigma'(z^l) * (W^{l+1})^T delta^{l+1}.  In the book's chain of
    one neuron per layer this multiplies the output error by one factor
    ``w^{l+1} sigma'(z^l)`` per layer, and since |w sigma'(z)| is usually below
    1/4 the product shrinks geometrically with depth.  With many neurons per
    layer each step is a matrix; this reports, for each step from layer l+1
    back to layer l (l = last hidden ... first hidden):

      ``mean_abs_w_sigma_prime``: |W^{l+1}_{kj} sigma'(z^l_j)| averaged over the
          examples and all connections k, j -- the book's factor;
      ``gain``: how much the step scales the error vector,
          ||delta^l_x|| / ||delta^{l+1}_x||, as a geometric mean over examples x.

    ``products`` multiplies each factor over the whole chain.  The product of
    the gains is exactly the geometric mean over examples of
    ||delta^1_x|| / ||delta^L_x||: how much smaller the first hidden layer's
    error is than the output layer's.  Computed in float64 with NumPy over all
    examples at once.
    """
    X, targets = _arrays(net, data)
    activations = [X]
    for w, b in zip(net.weights, net.biases):
        activations.append(network2.sigmoid(activations[-1] @ np.asarray(w).T + np.ravel(b)))
    output = activations[-1]
    delta = output - targets
    if _is_quadratic(net.cost):
        delta = delta * output * (1 - output)
    steps = []
    log_gains = np.zeros(len(X))
    for l in range(len(net.weights) - 1, 0, -1):     # weights[l] leads out of hidden layer l
        w = np.asarray(net.weights[l])
        a = activations[l]
        sigma_prime = a * (1 - a)
        previous = (delta @ w) * sigma_prime
        ratio = np.linalg.norm(previous, axis=1) / np.maximum(np.linalg.norm(delta, axis=1),
                                                                np.finfo(float).tiny)
        log_ratio = np.log(np.maximum(ratio, np.finfo(float).tiny))
        log_gains += log_ratio
        # mean over x, k, j of |w_kj| sigma'_xj = mean_j (mean_k |w_kj|)(mean_x sigma'_xj)
        link = float(np.mean(np.abs(w).mean(axis=0) * sigma_prime.mean(axis=0)))
        steps.append({
            "from_layer": l + 1, "to_layer": l,
            "mean_abs_w_sigma_prime": link,
            "mean_sigma_prime": float(sigma_prime.mean()),
            "mean_abs_w": float(np.abs(w).mean()),
            "gain": float(np.exp(log_ratio.mean())),
        })
        delta = previous
    return {
        "steps": steps,
        "products": {
            "mean_abs_w_sigma_prime": float(np.prod([s["mean_abs_w_sigma_prime"]
                                                     for s in steps])),
            "gain": float(np.exp(log_gains.mean())),
        },
        "first_hidden_delta_mean": delta.mean(axis=0).tolist(),
    }


# ---------------------------------------------------------------------------
# Initial speeds over seeds

def initial_speeds(data, depths=(2, 3, 4), seeds=range(5), width=30):
    """The learning speeds of freshly initialised networks of several depths.

    For each depth (hidden layers of ``width`` neurons) and each seed, builds
    ``initial_network`` and measures ``layer_speeds`` on ``data``.  Returns
    ``{depth: summary}`` where a summary holds ``sizes``, ``seeds``,
    ``per_seed`` (each seed's ``layer_speeds``), ``mean`` and ``std`` of the
    speeds per layer (std: the sample standard deviation over seeds, n - 1 in
    the denominator; 0 for a single seed), their ``min`` and ``max``, the same
    for ``weight_gradient_norms``, and ``ratio`` = last hidden layer's speed /
    first's (per seed, mean, std).
    """
    seeds = _check_seeds(seeds)
    depths = _check_depths(depths)
    results = {}
    for depth in depths:
        sizes = chapter_sizes(depth, width)
        with kernel_threads():
            per_seed = [layer_speeds(initial_network(sizes, s), data) for s in seeds]
        speeds = np.array([r["speeds"] for r in per_seed])
        grads = np.array([r["weight_gradient_norms"] for r in per_seed])
        ratio = speeds[:, -1] / speeds[:, 0]
        results[depth] = {
            "sizes": sizes, "seeds": list(seeds), "per_seed": per_seed,
            "mean": speeds.mean(axis=0).tolist(), "std": _std(speeds).tolist(),
            "min": speeds.min(axis=0).tolist(), "max": speeds.max(axis=0).tolist(),
            "weight_gradient_norms_mean": grads.mean(axis=0).tolist(),
            "weight_gradient_norms_std": _std(grads).tolist(),
            "ratio": {"per_seed": ratio.tolist(), "mean": float(ratio.mean()),
                      "std": float(_std(ratio))},
        }
    return results


def compare_with_book(summary):
    """For each depth the book reports, where its speeds sit in our bands.

    Returns ``{depth: [{"book", "mean", "std", "z", "within_1_std", "within_range"}, ...]}``
    per hidden layer, with z = (book - mean) / std.
    """
    comparison = {}
    for depth, book in BOOK["initial_speeds"].items():
        if depth not in summary:
            continue
        s = summary[depth]
        rows = []
        for l, value in enumerate(book):
            mean, std = s["mean"][l], s["std"][l]
            z = (value - mean) / std if std > 0 else float("inf")
            rows.append({"layer": l + 1, "book": value, "mean": mean, "std": std,
                         "z": z, "within_1_std": abs(z) <= 1.0,
                         "within_2_std": abs(z) <= 2.0,
                         "within_range": s["min"][l] <= value <= s["max"][l]})
        comparison[depth] = rows
    return comparison


# ---------------------------------------------------------------------------
# Speeds during training

def train_with_speeds(net, data, epochs, mini_batch_size, eta, lmbda=0.0, *,
                      speed_data=None, shuffle_with=None, threads=1, progress=None,
                      stop=None, replay_shuffles=True):
    """Train ``net`` with network2's SGD and record the hidden layers' speeds.

    Returns an array of shape ``(epochs + 1, hidden layers)``: row 0 holds the
    speeds before training, row j those after j epochs.  (The book's figures
    plot the speed measured before each of its 500 epochs: rows 0..499.)
    ``speed_data`` is where speeds are measured (default: the training data).

    When a mini-batch holds the whole training set and speeds are measured on
    that same set -- the chapter's setting, 1,000 images in mini-batches of
    1,000 -- each epoch is one gradient step, and the gradient of that step
    *is* the speed measurement (the order of the examples in the one batch
    changes only the summation order).  Then one forward and backward pass
    per epoch serves both, shared by ``threads`` threads in blocks of rows, and
    pixels that are zero in every example are left out of the first layer's
    products (they contribute exactly nothing; their weights only decay, and
    are decayed at the end).  Otherwise this is ``net.SGD`` with
    ``monitor_learning_speed``.  Either way ``net`` ends trained, and
    ``shuffle_with`` (a ``random.Random``; default: the global ``random``, as
    network2) is advanced as network2's shuffles would advance it.

    ``progress(k)`` is called after every k finished epochs; setting the
    ``threading.Event`` ``stop`` makes the run raise ``Stopped``.

    ``replay_shuffles=False`` lets the one-batch route skip drawing the
    shuffles it does not need (a tenth of its time): ``shuffle_with`` is then
    left where it was and a network2 list keeps its order.  Use it when the
    generator is yours alone, as ``speeds_during_training`` does.
    """
    epochs = _check_int(epochs, "epochs", 0)
    mini_batch_size = _check_int(mini_batch_size, "mini_batch_size", 1)
    threads = _check_int(threads, "threads", 1)
    X, targets = _arrays(net, data)
    n = len(X)
    if n == 0:
        raise ValueError("data is empty")
    same_data = speed_data is None or speed_data is data
    if shuffle_with is None:
        shuffle_with = random
    if same_data and mini_batch_size >= n:
        order = np.arange(n)
        try:
            return _full_batch_descent(net, X, targets, epochs, float(eta), float(lmbda),
                                       shuffle_with if replay_shuffles else None, order,
                                       threads, progress, stop)
        finally:
            if isinstance(data, list):      # network2 leaves its list shuffled in place
                data[:] = [data[i] for i in order.tolist()]
    speed_data = data if speed_data is None else speed_data
    speeds = [net.learning_speed(speed_data)]

    def step(done):
        if stop is not None and stop.is_set():
            raise Stopped()

    for _ in range(epochs):
        result = net.SGD(data, 1, mini_batch_size, eta, lmbda=lmbda, quiet=True,
                         monitor_learning_speed=speed_data, shuffle_with=shuffle_with,
                         progress=step if stop is not None else None)
        speeds.append(result[4][0])
        if progress is not None:
            progress(1)
    return np.array(speeds, dtype=np.float64).reshape(epochs + 1, len(net.sizes) - 2)


def _full_batch_descent(net, X, targets, epochs, eta, lmbda, shuffle_with, order, threads,
                        progress, stop):
    """Full-batch gradient descent whose every gradient is also a speed measurement.

    The update is network2's with m = n:
        w <- (1 - eta*lmbda/n) w - (eta/n) sum_x dC_x/dw,   b <- b - (eta/n) sum_x dC_x/db.
    The gradient sums come from the compiled kernel (GIL released), over
    blocks of rows shared among ``threads`` threads (``_RowBlocks``).  ``order``
    (an index array) is permuted in place by every epoch's shuffle.
    """
    n = len(X)
    sizes = list(net.sizes)
    hidden = len(sizes) - 2
    cost_id = network2._cost_kernel_id(net.cost)
    used = np.flatnonzero(np.any(X != 0, axis=0))      # pixels non-zero somewhere
    if len(used) == 0:
        used = np.arange(1)
    inputs = np.ascontiguousarray(X[:, used])
    kernel_sizes = np.array([len(used)] + sizes[1:], dtype=np.intc)
    weights = [np.asarray(w, dtype=np.float64) for w in net.weights]
    biases = [np.asarray(b, dtype=np.float64).reshape(-1) for b in net.biases]
    first_full = weights[0].copy()
    kept = [weights[0][:, used]] + weights[1:]
    params = network2._pack(kept, biases)
    decay = np.ones_like(params)                 # weights decay, biases do not
    for decay_of_weights in network2._unpack(decay, kernel_sizes)[0]:
        decay_of_weights[...] = 1.0 - eta * (lmbda / n)

    blocks = _RowBlocks(inputs, targets, params, kernel_sizes, cost_id, threads)
    speeds = np.empty((epochs + 1, hidden))
    steps = 0
    try:
        for epoch in range(epochs + 1):
            if stop is not None and stop.is_set():
                raise Stopped()
            gradient = blocks.gradient_sum()
            bias_gradients = network2._unpack(gradient, kernel_sizes)[1]
            for l in range(hidden):
                speeds[epoch, l] = np.linalg.norm(bias_gradients[l]) / n
            if epoch == epochs:
                break
            if shuffle_with is not None:
                # network2's shuffle of its list, replayed on the positions
                order[:] = order[network2._shuffled_positions(n, shuffle_with)]
            params[:] = params * decay - (eta / n) * gradient
            steps += 1
            if progress is not None:
                progress(1)
    finally:
        blocks.close()
        # Leave net trained -- also when stopped early, at the last whole epoch.
        _store(net, params, kernel_sizes, used, first_full, 1.0 - eta * (lmbda / n), steps)
    return speeds


class _RowBlocks:
    """The kernel's gradient sum over all rows, computed block by block by several threads.

    The rows are cut into blocks of ``BLOCK_ROWS``; the calling thread and
    ``threads - 1`` helpers take blocks from a shared counter until none is
    left.  A helper the operating system has parked just takes fewer blocks,
    so on a busy machine nobody waits long for it.  The block sums are added
    in block order, so the result does not depend on the number of threads
    or on who computed what.
    """

    BLOCK_ROWS = 250

    def __init__(self, inputs, targets, params, sizes, cost_id, threads):
        rows = self.BLOCK_ROWS
        self.blocks = [(inputs[a:a + rows], targets[a:a + rows])
                       for a in range(0, len(inputs), rows)]
        self.sums = [np.zeros_like(params) for _ in self.blocks]
        self.params, self.sizes, self.cost_id = params, sizes, cost_id
        helpers = min(threads, len(self.blocks)) - 1
        self.helpers = helpers
        self.pool = ThreadPoolExecutor(helpers) if helpers > 0 else None

    def _work(self, counter, done, errors):
        while True:
            k = next(counter)              # atomic: itertools.count under the GIL
            if k >= len(self.blocks):
                return
            try:
                block_inputs, block_targets = self.blocks[k]
                self.sums[k].fill(0.0)
                _kernels.accumulate_gradients(block_inputs, block_targets, self.params,
                                              self.sizes, self.cost_id, self.sums[k],
                                              len(block_inputs))
            except BaseException as error:   # handed to the caller, never lost
                errors.append(error)
            finally:
                done[k].set()

    def gradient_sum(self):
        """The sum over all rows of dC_x/d(params), in the kernels' flat layout."""
        counter = itertools.count()
        done = [threading.Event() for _ in self.blocks]
        errors = []
        with kernel_threads():
            for _ in range(self.helpers):
                self.pool.submit(self._work, counter, done, errors)
            self._work(counter, done, errors)
            for event in done:
                event.wait()
        if errors:
            raise errors[0]
        total = self.sums[0]
        for partial in self.sums[1:]:
            total += partial
        return total

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()


def _store(net, params, kernel_sizes, used, first_full, weight_decay, epochs_done):
    """Unpack the flat parameters into net, re-inserting the all-zero pixels' weights."""
    weights, biases = network2._unpack(params.copy(), kernel_sizes)
    first = first_full
    unused = np.ones(first.shape[1], dtype=bool)
    unused[used] = False
    for _ in range(epochs_done):         # the decay each step applied to them
        first[:, unused] *= weight_decay
    first[:, used] = weights[0]
    net.weights = [first] + weights[1:]
    net.biases = biases


def speeds_during_training(data, depths=(2, 3, 4), seed=0, epochs=500,
                           mini_batch_size=1000, eta=0.1, lmbda=5.0, width=30,
                           threads=2, progress=None, stop=None):
    """The chapter's experiment: learning speed per hidden layer over training.

    For each depth, ``initial_network(chapter_sizes(depth), seed)`` is trained
    on ``data`` (the chapter: the first 1,000 training images, 500 epochs,
    mini-batch 1000, eta 0.1, lmbda 5.0), shuffled with ``random.Random(seed)``,
    and its speeds recorded before training and after every epoch.  Returns
    ``{depth: {"sizes", "seed", "speeds" (epochs+1 rows), "seconds", "cpu_seconds"
    (of the whole process, all threads),
    "unstable_gradient": {"initial", "trained"}, "net" (the trained Network)}}``.
    """
    depths = _check_depths(depths)
    seed = _check_seed(seed)
    results = {}
    with kernel_threads():
        for depth in depths:
            net = initial_network(chapter_sizes(depth, width), seed)
            before = unstable_gradient(net, data)
            start, cpu_start = time.perf_counter(), time.process_time()
            speeds = train_with_speeds(net, data, epochs, mini_batch_size, eta, lmbda,
                                       shuffle_with=random.Random(seed), threads=threads,
                                       progress=progress, stop=stop, replay_shuffles=False)
            seconds = time.perf_counter() - start
            results[depth] = {"sizes": list(net.sizes), "seed": seed, "epochs": epochs,
                              "speeds": speeds, "seconds": seconds,
                              "cpu_seconds": time.process_time() - cpu_start,
                              "unstable_gradient": {"initial": before,
                                                    "trained": unstable_gradient(net, data)},
                              "net": net}
    return results


# ---------------------------------------------------------------------------
# The depth table

def depth_table(training, validation, depths=(1, 2, 3, 4), seeds=range(5), epochs=30,
                mini_batch_size=10, eta=0.1, lmbda=5.0, width=30, workers=2,
                dtype=np.float64, progress=None, stop=None, scheduler=None, cluster=None):
    """Validation accuracy after training networks of several depths, over seeds.

    Every (depth, seed) pair is one run: ``initial_network(sizes, seed)``
    trained with ``SGD(training, epochs, mini_batch_size, eta, lmbda,
    shuffle_with=random.Random(seed))``, then scored on ``validation``.  The
    runs go through ``fastnet.sweep.run_sweep``: by default to ``workers``
    threads (the kernels release the GIL); with ``cluster=N`` to a Dask
    LocalCluster of N worker processes, with ``scheduler="tcp://HOST:PORT"``
    to a running Dask cluster.  Each run owns its generators, so the results
    do not depend on where it ran.

    ``progress(k)`` is called after every k mini-batches (from worker threads;
    on Dask, a run's batches at once when it finishes).  Returns ``{depth:
    {"sizes", "seeds", "correct", "accuracy" (percent per seed), "mean",
    "std" (sample standard deviation), "seconds" (per seed)}}``.
    """
    from fastnet import sweep

    depths = _check_depths(depths)
    seeds = _check_seeds(seeds)
    epochs = _check_int(epochs, "epochs", 1)
    mini_batch_size = _check_int(mini_batch_size, "mini_batch_size", 1)
    workers = _check_int(workers, "workers", 1)
    X_val, y_val = validation
    n_val = len(y_val)
    if n_val == 0:
        raise ValueError("validation data is empty")
    # Deepest (slowest) runs first, so the pool's last runs are the short ones.
    runs = [{"sizes": chapter_sizes(d, width), "eta": float(eta), "lmbda": float(lmbda),
             "mini_batch_size": mini_batch_size, "epochs": epochs, "seed": s,
             "dtype": np.dtype(dtype).name, "depth": d}
            for d in sorted(depths, reverse=True) for s in seeds]
    local = scheduler is None and cluster is None
    try:
        results = sweep.run_sweep(runs, training, validation, every_epoch=False,
                                  threads=workers if local else None, scheduler=scheduler,
                                  cluster=cluster, progress=progress, stop=stop)
    except sweep.Stopped:
        raise Stopped() from None
    outcomes = {(r["settings"]["depth"], r["settings"]["seed"]): r for r in results}
    table = {}
    for depth in depths:
        correct = [outcomes[(depth, s)]["correct"][-1] for s in seeds]
        accuracy = np.array(correct, dtype=np.float64) * 100.0 / n_val
        table[depth] = {"sizes": chapter_sizes(depth, width), "seeds": list(seeds),
                        "correct": correct, "validation_size": n_val,
                        "accuracy": accuracy.tolist(), "mean": float(accuracy.mean()),
                        "std": float(_std(accuracy)),
                        "seconds": [outcomes[(depth, s)]["seconds"] for s in seeds]}
    return table


# ---------------------------------------------------------------------------
# Helpers

def _arrays(net, data):
    """``data`` as input rows (n, n0) and float64 target rows (n, nL), checked by the core.

    The inputs keep their own precision (float32 images stay float32); the
    kernels convert rows as they read them.
    """
    examples = net._examples(data, np.float64, "data")
    if examples.n == 0:
        raise ValueError("data is empty")
    return examples.X, examples.targets


def _is_quadratic(cost):
    return getattr(cost, "__name__", None) == "QuadraticCost"


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError("{} must be an integer, got {!r}".format(name, value))
    if value < minimum:
        raise ValueError("{} must be at least {}, got {}".format(name, minimum, value))
    return int(value)


def _check_seed(seed):
    seed = _check_int(seed, "seed", 0)
    if seed > 2 ** 32 - 1:
        raise ValueError("seed must be below 2**32, got {}".format(seed))
    return seed


def _check_seeds(seeds):
    try:
        seeds = [_check_seed(s) for s in seeds]
    except TypeError as e:
        if "not iterable" in str(e):
            raise TypeError("seeds must be a list of integers, e.g. range(5)") from None
        raise
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError("seeds must be distinct, got {}".format(seeds))
    return seeds


def _check_depths(depths):
    try:
        depths = [_check_int(d, "depth", 1) for d in depths]
    except TypeError as e:
        if "not iterable" in str(e):
            raise TypeError("depths must be a list of hidden-layer counts, e.g. (2, 3, 4)") \
                from None
        raise
    if not depths:
        raise ValueError("depths must hold at least one depth")
    if len(set(depths)) != len(depths):
        raise ValueError("depths must be distinct, got {}".format(depths))
    return depths


def mean_std(values):
    """(mean, sample standard deviation) of a sequence of numbers, as floats."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(_std(values))


def _std(values):
    """The sample standard deviation (n - 1) along the first axis; 0 for one value."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return np.zeros(values.shape[1:])
    return values.std(axis=0, ddof=1)

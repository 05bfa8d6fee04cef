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
- ``depth_table(...)``: validation accuracy of 1 to 4 hidden layers, the runs
  trained side by side (``fastnet.sweep``: threads or Dask); ``depth_grid``
  does the same for several (activation, init) choices at once.

For example::

    (X, y), _, _ = fastnet.datasets.load_mnist(dtype=np.float64)
    data = (X[:1000], y[:1000])
    net = speed.initial_network([784, 30, 30, 30, 30, 10], seed=0)
    speed.layer_speeds(net, data)["speeds"]        # ~[0.0029, 0.015, 0.058, 0.33]
    speeds = speed.train_with_speeds(net, data, 500, 1000, 0.1, 5.0)   # shape (501, 4)

``python -m fastnet speed`` runs all of the chapter's experiments and writes
figures, a JSON file and a report (``fastnet speed --help``).

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
import contextlib
import random
import time

import numpy as np

from fastnet import examples, network2
from fastnet.activations import NUMPY_FUNCTIONS
from fastnet.checks import check_count, check_depths, check_seed, check_seeds, check_sizes
from fastnet.costs import QuadraticCost, cost_kind
from fastnet.datasets import N_CLASSES, N_PIXELS, N_TRAIN
from fastnet.stats import mean_std, sample_std
from fastnet.sweep import Stopped, run_sweep
from fastnet.threads import kernel_threads

__all__ = [
    "BOOK", "CHAPTER", "chapter_sizes", "initial_network", "layer_speeds", "initial_speeds",
    "train_with_speeds", "speeds_during_training", "unstable_gradient", "depth_table",
    "depth_grid", "compare_with_book", "mean_std", "Stopped",
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
    "table_examples": N_TRAIN,
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


def chapter_sizes(depth, width=30, n_in=N_PIXELS, n_out=N_CLASSES):
    """``[784, 30, ..., 30, 10]`` with ``depth`` hidden layers."""
    depth = check_count(depth, "depth", 1)
    width = check_count(width, "width", 1)
    return [n_in] + [width] * depth + [n_out]


def initial_network(sizes, seed, cost=network2.CrossEntropyCost, *, activation="sigmoid",
                    init="default"):
    """A Network initialised as ``np.random.seed(seed); Network(sizes)`` would be.

    The weights come from a private ``np.random.RandomState(seed)`` drawn in
    network2's order, so the global ``np.random`` is neither used nor changed
    and threads can build networks side by side.  ``activation`` and ``init``
    (see ``fastnet.activations``) choose other hidden layers and initial weights.
    """
    return network2.Network(sizes, cost=cost, activation=activation, init=init,
                            random_state=check_seed(seed))


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
    converted = _examples(net, data)
    X, targets = converted.X, converted.targets
    hidden, hidden_prime = NUMPY_FUNCTIONS[getattr(net, "activation", "sigmoid")]
    activations = [X]
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        z = activations[-1] @ np.asarray(w).T + np.ravel(b)
        if l < len(net.weights) - 1:
            activations.append(hidden(z))
        elif getattr(net, "output", "sigmoid") == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            activations.append(e / e.sum(axis=1, keepdims=True))
        else:
            activations.append(network2.sigmoid(z))
    output = activations[-1]
    delta = output - targets
    if cost_kind(net.cost) == QuadraticCost.kind:
        delta = delta * output * (1 - output)
    steps = []
    log_gains = np.zeros(len(X))
    for l in range(len(net.weights) - 1, 0, -1):     # weights[l] leads out of hidden layer l
        w = np.asarray(net.weights[l])
        a = activations[l]
        sigma_prime = hidden_prime(a)        # f'(z) of this hidden layer, from a = f(z)
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

def initial_speeds(data, depths=(2, 3, 4), seeds=range(5), width=30, *, activation="sigmoid",
                   init="default"):
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
    seeds = check_seeds(seeds)
    depths = check_depths(depths)
    results = {}
    for depth in depths:
        sizes = chapter_sizes(depth, width)
        with kernel_threads():
            per_seed = [layer_speeds(initial_network(sizes, s, activation=activation,
                                                     init=init), data) for s in seeds]
        speeds = np.array([r["speeds"] for r in per_seed])
        grads = np.array([r["weight_gradient_norms"] for r in per_seed])
        ratio = speeds[:, -1] / speeds[:, 0]
        results[depth] = {
            "sizes": sizes, "seeds": list(seeds), "per_seed": per_seed,
            "mean": speeds.mean(axis=0).tolist(), "std": sample_std(speeds).tolist(),
            "min": speeds.min(axis=0).tolist(), "max": speeds.max(axis=0).tolist(),
            "weight_gradient_norms_mean": grads.mean(axis=0).tolist(),
            "weight_gradient_norms_std": sample_std(grads).tolist(),
            "ratio": {"per_seed": ratio.tolist(), "mean": float(ratio.mean()),
                      "std": float(sample_std(ratio))},
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
                      stop=None, warn_nonfinite=True):
    """Train ``net`` with network2's SGD and record the hidden layers' speeds.

    Returns an array of shape ``(epochs + 1, hidden layers)``: row 0 holds the
    speeds before training, row j those after j epochs.  (The book's figures
    plot the speed measured before each of its 500 epochs: rows 0..499.)
    ``speed_data`` is where speeds are measured (default: the training data).

    This is ``net.SGD(..., monitor_learning_speed=speed_data)``, the same
    engine as any training run.  In the chapter's setting -- 1,000 images
    in one mini-batch, speeds measured on those same images -- each epoch is
    one gradient step whose gradient *is* the speed measurement, so the
    kernel hands it over and measuring costs nothing extra; ``threads``
    threads share each such step's rows.  ``shuffle_with``
    (a ``random.Random``; default: the global ``random``, as network2) is
    advanced as network2's shuffles would advance it, and a network2 list
    is shuffled in place.

    ``progress(k)`` is called after every k finished epochs; setting the
    ``threading.Event`` ``stop`` makes the run raise ``Stopped`` before its next
    chunk of mini-batches (``net`` then holds the weights of the last one done).
    ``warn_nonfinite=False`` asks SGD for no RuntimeWarning when the weights
    stop being finite: the caller looks at ``net``'s weights itself.
    """
    epochs = check_count(epochs, "epochs", 0)
    mini_batch_size = check_count(mini_batch_size, "mini_batch_size", 1)
    speed_data = data if speed_data is None else speed_data
    try:        # the data is read more than once here: a sequence, not a one-pass iterable
        n = len(data[0]) if examples.is_array_form(data) else len(data)
    except TypeError:
        raise TypeError("data must be a list of (x, y) pairs or a tuple of arrays (X, y), "
                        "got {}".format(type(data).__name__)) from None
    batches_per_epoch = -(-n // mini_batch_size)
    batches_done = [0]

    def step(k):
        if stop is not None and stop.is_set():
            raise Stopped()
        if progress is not None:
            before = batches_done[0] // batches_per_epoch
            batches_done[0] += k
            finished = batches_done[0] // batches_per_epoch - before
            if finished:
                progress(finished)

    step(0)
    speeds = [net.learning_speed(speed_data)]
    # Without SGD's warning, none from NumPy either as a step overflows (per thread).
    quiet = contextlib.nullcontext() if warn_nonfinite else np.errstate(over="ignore",
                                                                       invalid="ignore")
    with quiet:
        result = net.SGD(data, epochs, mini_batch_size, eta, lmbda=lmbda, quiet=True,
                         monitor_learning_speed=speed_data, shuffle_with=shuffle_with,
                         threads=threads, warn_nonfinite=warn_nonfinite,
                         progress=step if (stop is not None or progress is not None) else None)
    speeds.extend(result[4])
    return np.array(speeds, dtype=np.float64).reshape(epochs + 1, len(net.sizes) - 2)


def speeds_during_training(data, depths=(2, 3, 4), seed=0, epochs=500,
                           mini_batch_size=1000, eta=0.1, lmbda=5.0, width=30,
                           threads=2, progress=None, stop=None, *, activation="sigmoid",
                           init="default"):
    """The chapter's experiment: learning speed per hidden layer over training.

    For each depth, ``initial_network(chapter_sizes(depth), seed)`` is trained
    on ``data`` (the chapter: the first 1,000 training images, 500 epochs,
    mini-batch 1000, eta 0.1, lmbda 5.0), shuffled with ``random.Random(seed)``,
    and its speeds recorded before training and after every epoch; ``threads``
    threads share each step's rows.  Returns ``{depth: {"sizes", "seed",
    "speeds" (epochs+1 rows), "seconds", "cpu_seconds" (of the whole process),
    "unstable_gradient": {"initial", "trained"}, "net" (the trained Network)}}``.
    """
    depths = check_depths(depths)
    seed = check_seed(seed)
    results = {}
    for depth in depths:
        net = initial_network(chapter_sizes(depth, width), seed, activation=activation,
                              init=init)
        before = unstable_gradient(net, data)
        start, cpu_start = time.perf_counter(), time.process_time()
        speeds = train_with_speeds(net, data, epochs, mini_batch_size, eta, lmbda,
                                   shuffle_with=random.Random(seed), threads=threads,
                                   progress=progress, stop=stop)
        results[depth] = {"sizes": list(net.sizes), "seed": seed, "epochs": epochs,
                          "speeds": speeds, "seconds": time.perf_counter() - start,
                          "cpu_seconds": time.process_time() - cpu_start,
                          "unstable_gradient": {"initial": before,
                                                "trained": unstable_gradient(net, data)},
                          "net": net}
    return results


# ---------------------------------------------------------------------------
# The depth table

def depth_table(training, validation, depths=(1, 2, 3, 4), seeds=range(5), epochs=30,
                mini_batch_size=10, eta=0.1, lmbda=5.0, width=30, workers=2,
                dtype=np.float64, progress=None, stop=None, scheduler=None, cluster=None, *,
                activation="sigmoid", init="default"):
    """Validation accuracy after training networks of several depths, over seeds.

    ``depth_grid`` for the one choice ``(activation, init)``: returns
    ``{depth: row}`` with its rows.
    """
    choice = (activation, init)
    return depth_grid(training, validation, [choice], depths, seeds, epochs,
                      mini_batch_size, eta, lmbda, width, workers, dtype, progress=progress,
                      stop=stop, scheduler=scheduler, cluster=cluster)[choice]


def depth_grid(training, validation, choices, depths=(1, 2, 3, 4), seeds=range(5), epochs=30,
               mini_batch_size=10, eta=0.1, lmbda=5.0, width=30, workers=2, dtype=np.float64,
               *, progress=None, stop=None, scheduler=None, cluster=None, on_run=None):
    """Validation accuracy for every choice (activation, init) and depth, over seeds.

    Every (choice, depth, seed) is one run: ``initial_network(sizes, seed,
    activation=..., init=...)`` trained with ``SGD(training, epochs,
    mini_batch_size, eta, lmbda, shuffle_with=random.Random(seed))``, then
    scored on ``validation``.  The runs go through ``fastnet.sweep.run_sweep``:
    by default to ``workers`` threads (the kernels release the GIL); with
    ``cluster=N`` to a Dask LocalCluster of N worker processes, with
    ``scheduler="tcp://HOST:PORT"`` to a running Dask cluster.  Each run owns
    its generators, so the results do not depend on where it ran.

    A run whose weights stop being finite (too large a step for that network)
    counts as 0 correct and is marked ``finite: False``; no warning is raised
    for it.  ``progress(k)`` is called after every k mini-batches (from worker
    threads; on Dask, a run's batches at once when it finishes);
    ``on_run(result)`` with each run's ``sweep.train_run`` result as it
    finishes, in this thread.  Returns ``{choice: {depth: {"sizes", "seeds",
    "correct", "validation_size", "accuracy" (percent per seed), "mean",
    "std" (sample standard deviation), "seconds" (per seed), "finite" (per
    seed)}}}``, the choices as given.
    """
    choices = [tuple(c) for c in choices]
    depths = check_depths(depths)
    seeds = check_seeds(seeds)
    epochs = check_count(epochs, "epochs", 1)
    mini_batch_size = check_count(mini_batch_size, "mini_batch_size", 1)
    workers = check_count(workers, "workers", 1)
    n_val = len(validation[1])
    if n_val == 0:
        raise ValueError("validation data is empty")
    # Deepest (slowest) runs first, so the pool's last runs are the short ones.
    runs = [{"sizes": chapter_sizes(d, width), "eta": float(eta), "lmbda": float(lmbda),
             "mini_batch_size": mini_batch_size, "epochs": epochs, "seed": s,
             "dtype": np.dtype(dtype).name, "activation": a, "init": i, "depth": d}
            for d in sorted(depths, reverse=True) for a, i in choices for s in seeds]
    local = scheduler is None and cluster is None
    results = run_sweep(runs, training, validation, every_epoch=False,
                        threads=workers if local else None, scheduler=scheduler,
                        cluster=cluster, on_result=on_run, progress=progress, stop=stop,
                        warn_nonfinite=False)
    outcomes = {(r["activation"], r["init"], r["depth"], r["seed"]): result
                for r, result in zip(runs, results)}
    grid = {}
    for choice in choices:
        rows = {}
        for depth in depths:
            done = [outcomes[choice + (depth, s)] for s in seeds]
            correct = [r["correct"][-1] for r in done]
            accuracy = np.array(correct, dtype=np.float64) * 100.0 / n_val
            mean, std = mean_std(accuracy)
            rows[depth] = {"sizes": chapter_sizes(depth, width), "seeds": list(seeds),
                           "correct": correct, "validation_size": n_val,
                           "accuracy": accuracy.tolist(), "mean": mean, "std": std,
                           "seconds": [r["seconds"] for r in done],
                           "finite": [r["finite"] for r in done]}
        grid[choice] = rows
    return grid


# ---------------------------------------------------------------------------
# Helpers

def _examples(net, data):
    """``data`` checked and converted against ``net``'s sizes (float64 targets), non-empty.

    The inputs keep their own precision (float32 images stay float32); the
    kernels convert rows as they read them.
    """
    converted = examples.convert(data, check_sizes(net.sizes), np.float64, "data")
    if converted.n == 0:
        raise ValueError("data is empty")
    return converted

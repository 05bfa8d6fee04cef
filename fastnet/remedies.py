"""The remedies for unstable gradients, measured: activations, initialisations, the chain.

Chapter 5 of Nielsen's book shows that in deep sigmoid networks the early
layers learn far more slowly than the late ones, and explains it with a chain
of one neuron per layer: ``dC/db_1`` is a product of factors ``w_j sigma'(z_j)``,
each usually below 1/4 in size, so it vanishes -- or, with large weights,
explodes.  This module measures what the usual remedies change:

- ``chain(kind)``: the chapter's chain ``[1, 1, 1, 1, 1]``, each layer's
  ``dC/db`` from the kernel next to the chapter's product formula; under
  network2's initialisation (``"vanishing"``) or with w = 100 and
  b = -100 a (``"exploding"``, z = 0 everywhere, so each step multiplies by
  100 * sigma'(0) = 25);
- ``initial_speeds(data, choices, depths, seeds)``: the chapter's learning
  speed of every hidden layer of fresh networks, for each choice of
  (activation, initialisation), mean and spread over seeds, and how far the
  first hidden layer is behind the last (``ratio`` = last / first);
- ``training_speeds(...)``: the speeds while training (the chapter's 1,000
  images, mini-batch 1,000), one run per choice;
- ``depth_table(...)``: validation accuracy against depth for each choice, the
  runs trained side by side by ``fastnet.sweep`` (threads, or Dask).

A *choice* is a pair ``(activation, init)``, e.g. ``("relu", "he")``; every
network has a sigmoid output layer and the cross-entropy cost, as the
chapter's, so only the hidden layers and the initial weights change.
``fastnet remedies`` runs all of it (``fastnet remedies --help``).
"""
import random
import time

import numpy as np

from fastnet import network2
from fastnet.activations import HIDDEN, INITIALISERS, check_choice
from fastnet.checks import check_seed, check_seeds
from fastnet.speed import chapter_sizes, depth_grid, layer_speeds, train_with_speeds
from fastnet.stats import mean_std
from fastnet.threads import kernel_threads

__all__ = ["CHAIN_SIZES", "chain", "choice_name", "remedy_network", "initial_speeds",
           "training_speeds", "depth_table"]

CHAIN_SIZES = [1, 1, 1, 1, 1]      # the chapter's chain: input and four one-neuron layers


def choice_name(choice):
    """"relu/he" for ("relu", "he")."""
    return "{}/{}".format(*choice)


def check_choices(choices):
    """A list of distinct (activation, init) pairs, each name checked."""
    checked = []
    for choice in choices:
        if not isinstance(choice, (tuple, list)) or len(choice) != 2:
            raise TypeError("a choice is a pair (activation, init), got {!r}".format(choice))
        checked.append((check_choice(choice[0], "activation", tuple(HIDDEN)),
                        check_choice(choice[1], "init", INITIALISERS)))
    if not checked:
        raise ValueError("choices must hold at least one (activation, init) pair")
    if len(set(checked)) != len(checked):
        raise ValueError("choices must be distinct, got {}".format(checked))
    return checked


def remedy_network(sizes, seed, choice):
    """A fresh chapter network (sigmoid output, cross-entropy) with this choice's hidden layers.

    The weights come from ``np.random.RandomState(seed)``; with network2's
    choice, ("sigmoid", "default"), they are ``np.random.seed(seed); Network(sizes)``'s.
    """
    activation, init = choice
    return network2.Network(sizes, network2.CrossEntropyCost, activation=activation,
                            init=init, random_state=check_seed(seed))


# ---------------------------------------------------------------------------
# The chain of one neuron per layer

def chain(kind="vanishing", seed=0, x=1.0, y=0.0):
    """Each layer's dC/db in the chapter's chain, by backprop and by the chapter's product.

    The chain has sizes ``[1, 1, 1, 1, 1]`` and the quadratic cost, so that
    ``dC/db_j = sigma'(z_j) * w_{j+1} sigma'(z_{j+1}) * ... * w_4 sigma'(z_4) * dC/da_4``
    with ``dC/da_4 = a_4 - y``, exactly the chapter's formula.  Going one layer
    back multiplies dC/db by ``w_{j+1} sigma'(z_j)``: the ``factors``.

    ``kind``: "vanishing" draws network2's default initial weights from
    ``np.random.RandomState(seed)``; "exploding" sets every w = 100 and each
    b_j = -100 a_{j-1}, so every z_j = 0, sigma'(z_j) = 1/4 and every factor
    is 100/4 = 25.  Returns a dict of plain floats, first layer first:
    ``weights``, ``biases``, ``z``, ``sigma_prime``, ``dC_db`` (the kernel's
    backprop), ``dC_db_formula`` (the product above, in NumPy),
    ``factors`` (``w_{j+1} sigma'(z_j)``, j = 1..3) and ``ratios``
    (dC/db_j / dC/db_{j+1} from the kernel's numbers).
    """
    check_choice(kind, "kind", ("vanishing", "exploding"))
    net = network2.Network(CHAIN_SIZES, network2.QuadraticCost, random_state=check_seed(seed))
    if kind == "exploding":
        weights, biases, a = [], [], x
        for _ in range(len(CHAIN_SIZES) - 1):
            weights.append(np.array([[100.0]]))
            biases.append(np.array([[-100.0 * a]]))
            a = float(network2.sigmoid(100.0 * a - 100.0 * a))      # z = 0: a = 1/2
        net.weights, net.biases = weights, biases
    w = [float(m[0, 0]) for m in net.weights]
    b = [float(v[0, 0]) for v in net.biases]
    z, a = [], x
    for w_j, b_j in zip(w, b):
        z.append(w_j * a + b_j)
        a = float(network2.sigmoid(z[-1]))
    sigma_prime = [float(network2.sigmoid_prime(z_j)) for z_j in z]
    nabla_b, _ = net.backprop(np.array([[x]]), np.array([[y]]))
    dC_db = [float(v[0, 0]) for v in nabla_b]
    formula = []
    for j in range(len(w)):
        product = sigma_prime[j] * (a - y)
        for k in range(j + 1, len(w)):
            product *= w[k] * sigma_prime[k]
        formula.append(product)
    factors = [w[j + 1] * sigma_prime[j] for j in range(len(w) - 1)]
    ratios = [dC_db[j] / dC_db[j + 1] if dC_db[j + 1] != 0 else float("inf")
              for j in range(len(w) - 1)]
    return {"kind": kind, "seed": seed, "x": x, "y": y, "weights": w, "biases": b, "z": z,
            "sigma_prime": sigma_prime, "output": a, "dC_db": dC_db,
            "dC_db_formula": formula, "factors": factors, "ratios": ratios}


def chain_text(result):
    """The chain as lines a reader can check against the chapter's algebra."""
    lines = ["{} chain [1, 1, 1, 1, 1], quadratic cost, x = {}, y = {}{}:".format(
        result["kind"], result["x"], result["y"],
        "" if result["kind"] == "exploding" else ", network2's initial weights (seed {})"
        .format(result["seed"]))]
    lines.append("  layer          w          b          z   sigma'(z)      dC/db (kernel)"
                 "   dC/db (formula)")
    for j in range(len(result["weights"])):
        lines.append("  {:5d} {:10.4g} {:10.4g} {:10.4g} {:11.4g} {:19.6g} {:17.6g}".format(
            j + 1, result["weights"][j], result["biases"][j], result["z"][j],
            result["sigma_prime"][j], result["dC_db"][j], result["dC_db_formula"][j]))
    for j, (factor, ratio) in enumerate(zip(result["factors"], result["ratios"])):
        lines.append("  dC/db_{0} / dC/db_{1} = {2:.6g}   (w_{1} sigma'(z_{0}) = {3:.6g})"
                     .format(j + 1, j + 2, ratio, factor))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Initial learning speeds over the grid

def initial_speeds(data, choices, depths=(2, 3, 4), seeds=range(10), width=30):
    """The hidden layers' initial learning speeds for every choice and depth, over seeds.

    Returns ``{choice_name: {depth: summary}}``; a summary holds ``mean``,
    ``std`` (sample, over seeds), ``min`` and ``max`` of each hidden layer's
    speed (first to last) and ``ratio``: last hidden layer's speed / first's,
    per seed, with its ``mean``, ``std``, ``min``, ``max`` and geometric mean
    ``geomean`` (speeds span orders of magnitude).
    """
    choices = check_choices(choices)
    seeds = check_seeds(seeds)
    results = {}
    with kernel_threads():
        for choice in choices:
            per_depth = {}
            for depth in depths:
                sizes = chapter_sizes(depth, width)
                speeds = np.array([layer_speeds(remedy_network(sizes, s, choice), data)["speeds"]
                                   for s in seeds])
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = speeds[:, -1] / speeds[:, 0]
                per_depth[depth] = {
                    "sizes": sizes, "seeds": list(seeds),
                    "per_seed": speeds.tolist(),
                    "mean": speeds.mean(axis=0).tolist(),
                    "std": (speeds.std(axis=0, ddof=1) if len(seeds) > 1
                            else np.zeros(depth)).tolist(),
                    "min": speeds.min(axis=0).tolist(), "max": speeds.max(axis=0).tolist(),
                    "ratio": _summary(ratio),
                }
            results[choice_name(choice)] = per_depth
    return results


def _summary(values):
    values = np.asarray(values, dtype=np.float64)
    mean, std = mean_std(values)
    positive = values[np.isfinite(values) & (values > 0)]
    return {"per_seed": values.tolist(), "mean": mean, "std": std,
            "min": float(values.min()), "max": float(values.max()),
            "geomean": float(np.exp(np.log(positive).mean())) if len(positive) else None}


# ---------------------------------------------------------------------------
# Speeds during training

def training_speeds(data, choices, depth=4, seed=0, epochs=500, mini_batch_size=1000,
                    eta=0.1, lmbda=5.0, width=30, threads=2):
    """Every hidden layer's speed before training and after each epoch, for each choice.

    The chapter's setting: ``data`` (the first 1,000 training images) trained
    with mini-batch 1,000, eta 0.1, lmbda 5.0, shuffled by ``random.Random(seed)``.
    Returns ``{choice_name: {"sizes", "speeds" (epochs+1 rows), "seconds", "finite"}}``.
    """
    choices = check_choices(choices)
    results = {}
    for choice in choices:
        net = remedy_network(chapter_sizes(depth, width), seed, choice)
        start = time.perf_counter()
        speeds = train_with_speeds(net, data, epochs, mini_batch_size, eta, lmbda,
                                   shuffle_with=random.Random(seed), threads=threads,
                                   warn_nonfinite=False)          # recorded as "finite"
        results[choice_name(choice)] = {
            "sizes": list(net.sizes), "seed": seed, "epochs": epochs, "speeds": speeds,
            "seconds": time.perf_counter() - start,
            "finite": bool(all(np.isfinite(w).all() for w in net.weights))}
    return results


# ---------------------------------------------------------------------------
# Accuracy against depth

def depth_table(training, validation, choices, depths=(1, 2, 4, 6, 8), seeds=range(2),
                epochs=10, mini_batch_size=10, eta=0.1, lmbda=5.0, width=30, workers=2, *,
                progress=None, stop=None, scheduler=None, cluster=None, on_run=None):
    """Validation accuracy (percent) after training each choice at each depth, over seeds.

    Every (choice, depth, seed) is one run, ``remedy_network`` trained by SGD
    with ``shuffle_with=random.Random(seed)``: ``fastnet.speed.depth_grid``,
    which runs them through ``fastnet.sweep.run_sweep`` on ``workers`` threads
    or on Dask (``cluster``, ``scheduler``), the results not depending on
    where a run ran.  A run whose weights stop being finite (too large a step
    for that network) counts as 0% correct and is marked ``finite: False``.
    ``progress`` and ``stop`` are ``depth_grid``'s.  Returns
    ``{choice_name: {depth: {"accuracy" (per seed), "mean", "std", "finite", ...}}}``.

    ``on_run(result)``, if given, is called in this thread as each run
    finishes, with ``{"choice", "depth", "seed", "accuracy", "finite"}``, so
    that a caller stopped half-way (Ctrl-C) still holds the runs that finished.
    """
    choices = check_choices(choices)
    report = None
    if on_run is not None:
        def report(run):
            s = run["settings"]
            on_run({"choice": choice_name((s["activation"], s["init"])), "depth": s["depth"],
                    "seed": s["seed"], "finite": run["finite"],
                    "accuracy": 100.0 * run["correct"][-1] / run["validation_images"]})
    grid = depth_grid(training, validation, choices, depths, seeds, epochs, mini_batch_size,
                      eta, lmbda, width, workers, progress=progress, stop=stop,
                      scheduler=scheduler, cluster=cluster, on_run=report)
    return {choice_name(choice): rows for choice, rows in grid.items()}

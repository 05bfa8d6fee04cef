"""The ``network`` case: one epoch of chapter 1's network.py, the book's maths against fastnet.network.

Chapter 1 trains ``Network([784, 30, 10])`` with ``SGD(training_data, 30, 10,
3.0, test_data=test_data)``.  One epoch of that training (no test data, so
the epoch ends with the line ``Epoch 0 complete``) is timed three ways, in
the same run and interleaved:

- the reference: network.py's loop, per example, in NumPy (its backprop is
  ``fastnet.reference``'s on the quadratic cost, which is network.py's);
- ``fastnet.network`` from the book's list of pairs (the conversion of the
  list into arrays is part of every epoch, as it is of every SGD call);
- ``fastnet.network`` from the arrays ``(X, y)`` that ``fastnet.datasets``
  loads, with no conversion at all.

The pairs hold float32 columns, as ``mnist_loader.load_data_wrapper`` gives
them; pixel/256 is exact in float32, so every side trains on the same values.
All start from the same seeds, and the weights after the epoch must agree to
round-off.
"""
import contextlib
import io
import random

import numpy as np

from fastnet import network, reference

from benchmarks.cases import agreement_row
from benchmarks.impls import Runner, seed_all
from benchmarks.timing import summary, time_runners

SIZES = [784, 30, 10]
MINI_BATCH, ETA, SEED = 10, 3.0, 12345

MODES = {
    # examples timed (the reference too: nothing is scaled), warm-up examples, repeats, and
    # the bound on max |difference| of any weight or bias from the reference after the epoch
    "full": {"examples": 50000, "warmup": 2000, "repeats": 3, "tolerance": 1e-4},
    "quick": {"examples": 2000, "warmup": 200, "repeats": 1, "tolerance": 1e-10},
}
# Why the full epoch's bound is wider than round-off's 1e-10: at eta 3.0 the training is
# chaotic.  Summation order's round-off grows step by step (about 1e-14 after 2,000 examples,
# 2e-8 to 1.4e-7 after 50,000); network.py itself, started with one weight 1 ulp away, is
# 8e-9 from itself after this epoch and 0.23 after the next.  A wrong update is far outside
# the bound: eta 1e-6 larger, another shuffle or mini-batch 11 differ by 0.6 to 5 here.


class BookTrain(Runner):
    """network.py's epoch and update_mini_batch, example by example.

    The per-example gradient is ``fastnet.reference``'s backprop on the quadratic cost,
    which computes what network.py's does, in the same operations.  (network2's
    update_mini_batch with lmbda = 0 would multiply every weight by 1 at every step,
    a few per cent of the epoch that network.py does not spend.)
    """
    impl = "reference"
    note = "network.py's maths, per example, in NumPy"

    def __init__(self, pairs, n_examples, n_warm, **kw):
        super().__init__(np.float64, n_examples, n_examples, n_warm=n_warm, **kw)
        self.pairs = pairs

    @property
    def label(self):
        return "network.py reference"

    def prepare(self, warm):
        n = self.n_warm if warm else self.n_examples
        seed_all(SEED)
        start = network.Network(SIZES)           # the same initial weights, the same draws
        net = reference.Network(list(SIZES), cost=reference.QuadraticCost)
        net.weights = [w.copy() for w in start.weights]
        net.biases = [b.copy() for b in start.biases]
        return net, list(self.pairs[:n])

    def run(self, state):
        net, data = state
        random.shuffle(data)
        for k in range(0, len(data), MINI_BATCH):
            mini_batch = data[k:k + MINI_BATCH]
            nabla_b = [np.zeros(b.shape) for b in net.biases]
            nabla_w = [np.zeros(w.shape) for w in net.weights]
            for x, y in mini_batch:
                delta_b, delta_w = net.backprop(x, y)
                nabla_b = [nb + d for nb, d in zip(nabla_b, delta_b)]
                nabla_w = [nw + d for nw, d in zip(nabla_w, delta_w)]
            step = ETA / len(mini_batch)
            net.weights = [w - step * nw for w, nw in zip(net.weights, nabla_w)]
            net.biases = [b - step * nb for b, nb in zip(net.biases, nabla_b)]

    def finish(self, state):
        net, _ = state
        return {"weights": net.weights, "biases": net.biases}


class Chapter1Train(Runner):
    """``fastnet.network.Network(SIZES).SGD(data, 1, 10, 3.0)``, from pairs or from arrays."""
    impl = "fastnet.network"

    def __init__(self, form, data, n_examples, n_warm, **kw):
        super().__init__(np.float64, n_examples, n_examples, n_warm=n_warm, **kw)
        self.form, self.data = form, data
        self.note = {"pairs": "the book's list of (x, y) pairs, converted in every epoch",
                     "arrays": "arrays (X float32, y int labels), used in place"}[form]

    @property
    def label(self):
        return "fastnet.network from " + self.form

    def prepare(self, warm):
        n = self.n_warm if warm else self.n_examples
        seed_all(SEED)
        net = network.Network(SIZES)
        if self.form == "pairs":
            return net, list(self.data[:n])
        X, y = self.data
        return net, (X[:n], y[:n])

    def run(self, state):
        net, data = state
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(data, 1, MINI_BATCH, ETA)

    def finish(self, state):
        net, _ = state
        return {"weights": net.weights, "biases": net.biases}


def run_network_case(mode, data, threads, log):
    """Time the three, interleaved, and check that fastnet's weights agree with the book's."""
    cfg = MODES[mode]
    n = cfg["examples"]
    X = np.ascontiguousarray(data["train32"][:n])
    labels = data["train"][1][:n]
    pairs = [(X[i].reshape(784, 1).copy(), network_target(labels[i])) for i in range(n)]
    runners = [BookTrain(pairs, n, cfg["warmup"]),
               Chapter1Train("pairs", pairs, n, cfg["warmup"]),
               Chapter1Train("arrays", (X, labels), n, cfg["warmup"])]
    for r in runners:
        r.threads = threads
    log("case network: {}, mini-batch {}, eta {}, one epoch on {} examples ({} BLAS "
        "thread(s))".format(SIZES, MINI_BATCH, ETA, n, threads))
    time_runners(runners, cfg["repeats"], 1, log=log)
    finished = [r.finish(r.last_state) for r in runners]
    rows = [summary(r) for r in runners]
    for row, r in zip(rows, runners):
        row["label"] = r.label
        row["speedup_vs_reference"] = rows[0]["median_s"] / row["median_s"]
    agreement = [agreement_row("network", np.float64, n, 1, result, finished[0], impl=r.label,
                               tolerance=cfg["tolerance"])
                 for r, result in zip(runners[1:], finished[1:])]
    return {"name": "network", "sizes": SIZES, "mini_batch_size": MINI_BATCH, "eta": ETA,
            "examples": n, "threads": threads, "results": rows, "agreement": agreement}


def network_target(label):
    """The one-hot (10, 1) column of a digit, as mnist_loader gives it."""
    e = np.zeros((10, 1))
    e[int(label)] = 1.0
    return e


def render(case, w):
    """The case's section of the Markdown report."""
    w("### Chapter 1: network.py's epoch, {} mini-batch {}, eta {} ({:,} examples)".format(
        case["sizes"], case["mini_batch_size"], case["eta"], case["examples"]))
    w("")
    w("| implementation | threads | median s | min s | × reference |")
    w("|---|---:|---:|---:|---:|")
    for r in case["results"]:
        w("| {} | {} | {:.4f} | {:.4f} | {:.1f} |".format(
            r["label"], r["threads"], r["median_s"], r["min_s"], r["speedup_vs_reference"]))
    w("")
    for a in case["agreement"]:
        w("{} against the reference after one epoch: max |difference| {:.1e} in the weights, "
          "{:.1e} in the biases (bound {:.0e}).".format(
              a["impl"], a["max_abs_diff_weights"], a["max_abs_diff_biases"], a["tolerance"]))
    w("")
    w("Same seeds on every side, all interleaved in one run. The reference is network.py's "
      "loop in NumPy, example by example; fastnet.network trains on fastnet's kernels through "
      "fastnet.network2. From pairs, every epoch includes converting the list into arrays.")
    w("")

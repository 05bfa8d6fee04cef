"""Training results of a fixed build, saved so that a restructured build can be held to them.

``python tests/golden_results.py`` (with fastnet built) writes
``tests/data/golden_results.npz``: for network2's defaults and every hidden
activation and output, in float64 and float32, by mini-batches (which keep the
first layer transposed on the tile kernels) and as one full batch, the trained
weights and biases and the four monitor lists, at every kernel level the CPU
runs.  Each result is kept as the SHA-256 of its bytes (bit identity) and
whole (to say by how much a result differs, and to bound another BLAS's
round-off).  ``tests/test_golden.py`` trains the same cases
again and compares.

The file was first written with the build of commit eca66e5 (blas and avx2, on a
Zen 2, OpenBLAS's Haswell kernel), before the training loop moved into
``fastnet.engine`` and the kernels were split by family: a pure restructuring
must reproduce it bit for bit.  It was written again, with
``OPENBLAS_CORETYPE=Haswell`` so that the recorded BLAS kernel stayed the same,
when evaluations began to run their first layer from transposed weights (the
column forms): that moved the cost monitors by at most 3.0e-16 relative, while
every parameter and accuracy of the 56 earlier cases stayed bit for bit those of
eca66e5.  That rewrite added the avx512 level's cases.
"""
import hashlib
import random
import sys
from pathlib import Path

import numpy as np

SIZES = [196, 16, 10]     # every 4th pixel; 16 outputs: the tile kernels transpose the first layer
# (hidden activation, output, cost): network2's defaults first.
CASES = [
    ("sigmoid", "sigmoid", "CrossEntropyCost"),
    ("sigmoid", "sigmoid", "QuadraticCost"),
    ("tanh", "sigmoid", "CrossEntropyCost"),
    ("relu", "sigmoid", "CrossEntropyCost"),
    ("sigmoid", "softmax", "LogLikelihoodCost"),
    ("tanh", "softmax", "LogLikelihoodCost"),
    ("relu", "softmax", "LogLikelihoodCost"),
]
MINI_BATCHES = {"mini_batch": 10, "full_batch": 1000}
TARGET = Path(__file__).resolve().parent / "data" / "golden_results.npz"


def mnist_slice(n=1200):
    """The first n training images (every 4th pixel, scaled as the book's loader does) and labels."""
    if __package__:
        from .helpers import first_training_images, need_mnist
        need_mnist()
    else:                                        # run as a script, to write the file
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.helpers import first_training_images
    images, labels = first_training_images(n)
    return np.ascontiguousarray(images[:, ::4]), labels


def case_name(level, activation, output, cost, mode, dtype):
    return "/".join((level, activation, output, cost, mode, np.dtype(dtype).name))


def train(network2, activation, output, cost, mini_batch_size, dtype, X, y):
    """Two epochs with every monitor on: the parameters and monitors, flat, in one array."""
    net = network2.Network(SIZES, getattr(network2, cost), activation=activation,
                           output=output, random_state=7)
    eta = 0.5 if mini_batch_size > 100 else 0.1
    monitors = net.SGD((X[:1000], y[:1000]), EPOCHS, mini_batch_size, eta, lmbda=3.0,
                       evaluation_data=(X[1000:], y[1000:]),
                       monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                       monitor_training_cost=True, monitor_training_accuracy=True,
                       quiet=True, dtype=dtype, shuffle_with=random.Random(5))
    parts = [w.ravel() for w in net.weights + net.biases]
    parts += [np.asarray(m, dtype=np.float64).ravel() for m in monitors]
    return np.concatenate(parts)


EPOCHS = 2   # train's: each monitor list holds one value per epoch


def cost_positions(values):
    """Where ``train``'s result holds the two cost monitors (evaluation, then
    training): its last four lists are network2's SGD monitors (evaluation cost,
    evaluation accuracy, training cost, training accuracy), EPOCHS values each."""
    n = len(values)
    return np.r_[n - 4 * EPOCHS:n - 3 * EPOCHS, n - 2 * EPOCHS:n - EPOCHS]


def digest(values):
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def results(network2, dispatch, levels):
    """Every case's result, by name, at each of `levels` the CPU runs."""
    X, y = mnist_slice()
    out = {}
    for level in levels:
        with dispatch.using(level):
            for activation, output, cost in CASES:
                for mode, mini_batch_size in MINI_BATCHES.items():
                    for dtype in (np.float64, np.float32):
                        out[case_name(level, activation, output, cost, mode, dtype)] = train(
                            network2, activation, output, cost, mini_batch_size, dtype, X, y)
    return out


def blas_core():
    """SciPy's BLAS and the CPU kernel it chose (its products' round-off depends on both)."""
    from threadpoolctl import threadpool_info
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS, so that threadpoolctl sees it)
    found = sorted((i for i in threadpool_info() if i.get("user_api") == "blas"),
                   key=lambda i: "numpy.libs" in i.get("filepath", ""))
    if not found:
        return "unknown"
    return "{} {} {}".format(found[0].get("internal_api"), found[0].get("version"),
                             found[0].get("architecture"))


if __name__ == "__main__":
    from fastnet import dispatch, network2
    levels = dispatch.LEVELS[:dispatch.LEVELS.index(dispatch.supported()) + 1]
    found = results(network2, dispatch, levels)
    saved = {"sha256/" + name: np.array(digest(v)) for name, v in found.items()}
    saved.update({"values/" + name: v for name, v in found.items()})
    saved["blas_core"] = np.array(blas_core())
    np.savez_compressed(TARGET, **saved)
    print("wrote", TARGET, "levels", ", ".join(levels), "BLAS", saved["blas_core"])

"""The sigmoid network's results on every code path, saved before activations were added.

``python tests/sigmoid_expectation.py`` (with fastnet installed) writes
``tests/data/sigmoid_before.npz``; it was run once with the build of commit
5c14c0c, before the kernels learned tanh, ReLU and softmax, and
``tests/test_activations.py`` checks that network2's defaults still give
exactly these numbers.
"""
import random
import sys
from pathlib import Path

import numpy as np

SIZES = [98, 6, 5, 10]            # every 8th pixel: a small file


def mnist_slice(n=600):
    if __package__:
        from .helpers import first_training_images, need_mnist
        need_mnist()
    else:                                        # run as a script, to write the file
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.helpers import first_training_images
    images, labels = first_training_images(n)
    return np.ascontiguousarray(images[:, ::8]), labels


def results(network2):
    """Every path's numbers, by name, for the default (sigmoid, cross-entropy) network."""
    X, y = mnist_slice()
    out = {}
    for cost in (network2.CrossEntropyCost, network2.QuadraticCost):
        tag = cost.__name__
        net = network2.Network(SIZES, cost, random_state=3)
        out[tag + "/init"] = np.concatenate([w.ravel() for w in net.weights + net.biases])
        for dtype in (np.float64, np.float32):
            d = np.dtype(dtype).name
            trained = network2.Network(SIZES, cost, random_state=3)
            trained.SGD((X[:300], y[:300]), 2, 10, 0.5, 1.0, quiet=True, dtype=dtype,
                        shuffle_with=random.Random(5))
            out["{}/sgd/{}".format(tag, d)] = np.concatenate(
                [w.ravel() for w in trained.weights + trained.biases])
            full = network2.Network(SIZES, cost, random_state=3)
            full.SGD((X, y), 2, 600, 0.5, 1.0, quiet=True, dtype=dtype,
                     shuffle_with=random.Random(5))
            out["{}/full_batch/{}".format(tag, d)] = np.concatenate(
                [w.ravel() for w in full.weights + full.biases])
            out["{}/outputs/{}".format(tag, d)] = trained.outputs(X[:50], dtype=dtype)
            nb, nw = trained.gradients((X[:200], y[:200]), dtype=dtype)
            out["{}/gradients/{}".format(tag, d)] = np.concatenate(
                [a.ravel() for a in nw + nb])
            out["{}/speeds/{}".format(tag, d)] = np.array(
                trained.learning_speed((X[:200], y[:200]), dtype=dtype))
        out[tag + "/feedforward"] = trained.feedforward(X[7].reshape(-1, 1)).ravel()
        nb, nw = trained.backprop(X[7].reshape(-1, 1), network2.vectorized_result(y[7]))
        out[tag + "/backprop"] = np.concatenate([a.ravel() for a in nw + nb])
        out[tag + "/total_cost"] = np.array([trained.total_cost((X[:100], y[:100]), 1.0)])
        out[tag + "/accuracy"] = np.array([trained.accuracy((X[:100], y[:100]))])
    return out


if __name__ == "__main__":
    from fastnet import network2
    target = Path(__file__).resolve().parent / "data" / "sigmoid_before.npz"
    np.savez_compressed(target, **results(network2))
    print("wrote", target)

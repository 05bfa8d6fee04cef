"""MNIST as arrays: fastnet.datasets.load_mnist when it works, else a small IDX reader of our own."""
import gzip
import os

import numpy as np

from benchmarks.machine import REPO

DEFAULT_DIR = os.path.join(os.path.dirname(REPO), "shared", "data", "mnist")


def default_path():
    """``$FASTNET_DATA`` if set, else ``../shared/data/mnist`` beside the repository."""
    return os.environ.get("FASTNET_DATA") or DEFAULT_DIR


def _read_idx(path, magic):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        raise ValueError("{}: IDX magic {} (expected {})".format(path, got, magic))
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _find(directory, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError("{}: no {}(.gz)".format(directory, name))


def _load_idx_dir(directory):
    images = _read_idx(_find(directory, "train-images-idx3-ubyte"), 2051).reshape(-1, 784)
    labels = _read_idx(_find(directory, "train-labels-idx1-ubyte"), 2049).astype(np.int64)
    test_images = _read_idx(_find(directory, "t10k-images-idx3-ubyte"), 2051).reshape(-1, 784)
    test_labels = _read_idx(_find(directory, "t10k-labels-idx1-ubyte"), 2049).astype(np.int64)
    scale = lambda a: np.ascontiguousarray(a, dtype=np.float64) / 256.0  # noqa: E731
    return ((scale(images[:50000]), labels[:50000]), (scale(images[50000:]), labels[50000:]),
            (scale(test_images), test_labels))


def load(path):
    """``(X_train, y_train), (X_val, y_val), (X_test, y_test)``, X float64 C-contiguous.

    Returns the triple and a note saying which loader read it.
    """
    try:
        from fastnet.datasets import load_mnist
    except ImportError:
        load_mnist = None
    if load_mnist is not None:
        try:
            data = load_mnist(path, dtype=np.float64, download=False)
            return tuple((np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64))
                         for X, y in data), "fastnet.datasets.load_mnist({!r})".format(path)
        except Exception as e:  # fall back to our own reader, and say so
            note = "fastnet.datasets.load_mnist failed ({}: {}); ".format(type(e).__name__, e)
    else:
        note = "fastnet.datasets missing; "
    return _load_idx_dir(path), note + "benchmarks' own IDX reader on {!r}".format(path)

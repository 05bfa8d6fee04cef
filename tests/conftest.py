"""Shared fixtures: the real MNIST files from ../shared/data/mnist (or $FASTNET_TEST_DATA)."""
import gzip
import os
import random
from pathlib import Path

import numpy as np
import pytest

MNIST_DIR = Path(os.environ.get("FASTNET_TEST_DATA",
                                Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))


def _read_idx(name, header):
    path = MNIST_DIR / name
    if not path.is_file():
        pytest.fail("MNIST file {} not found: set FASTNET_TEST_DATA to the folder holding "
                    "the four IDX .gz files".format(path))
    return np.frombuffer(gzip.decompress(path.read_bytes()), dtype=np.uint8, offset=header)


@pytest.fixture(scope="session")
def mnist_train():
    """The first 50,000 training images (n, 784) float64 scaled by 1/256, and int labels."""
    images = _read_idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    labels = _read_idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    X = images[:50000] / 256.0
    X.setflags(write=False)
    return X, labels[:50000]


@pytest.fixture(scope="session")
def mnist_validation():
    """The last 10,000 training images: network2's validation data, as arrays."""
    images = _read_idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    labels = _read_idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    X = images[50000:] / 256.0
    X.setflags(write=False)
    return X, labels[50000:]


def as_network2_list(X, labels, one_hot=True):
    """network2's list form: (column x, one-hot column y) or (column x, int label)."""
    data = []
    for x, label in zip(X, labels):
        if one_hot:
            y = np.zeros((10, 1))
            y[label] = 1.0
        else:
            y = int(label)
        data.append((x.reshape(784, 1).copy(), y))
    return data


def seed(s):
    """Seed both generators, as network2 scripts do."""
    random.seed(s)
    np.random.seed(s)

"""fastnet.mnist_loader returns exactly the book's structures, from the real files."""

import numpy as np
import pytest

from fastnet import mnist_loader

from .helpers import MNIST_DIR as DATA

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def wrapped():
    return mnist_loader.load_data_wrapper(DATA)


def test_load_data():
    tr, va, te = mnist_loader.load_data(str(DATA))
    for (images, labels), n in zip((tr, va, te), (50000, 10000, 10000)):
        assert images.shape == (n, 784) and images.dtype == np.float32
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert 0 <= images.min() and images.max() < 1
    assert list(tr[1][:5]) == [5, 0, 4, 1, 9]


def test_load_data_uses_fastnet_data(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTNET_DATA", str(DATA))
    monkeypatch.setenv("FASTNET_CACHE", str(tmp_path))
    tr, _, _ = mnist_loader.load_data()
    assert tr[0].shape == (50000, 784)


def test_wrapper_structures(wrapped):
    training, validation, test = wrapped
    assert type(training) is list and type(validation) is list and type(test) is list
    assert (len(training), len(validation), len(test)) == (50000, 10000, 10000)
    x, y = training[0]
    assert x.shape == (784, 1) and y.shape == (10, 1)
    assert y.dtype == np.float64 and y[5, 0] == 1.0 and y.sum() == 1.0
    assert [int(np.argmax(y)) for _, y in training[:5]] == [5, 0, 4, 1, 9]
    for data in (validation, test):
        x, y = data[0]
        assert x.shape == (784, 1) and np.issubdtype(x.dtype, np.floating)
        assert isinstance(y, int)
    assert [y for _, y in test[:5]] == [7, 2, 1, 0, 4]


def test_wrapper_matches_load_data(wrapped):
    (tr_x, tr_y), (va_x, va_y), _ = mnist_loader.load_data(DATA)
    training, validation, _ = wrapped
    for i in (0, 1234, 49999):
        assert np.array_equal(training[i][0].ravel(), tr_x[i])
        assert np.array_equal(training[i][1], mnist_loader.vectorized_result(tr_y[i]))
    assert np.array_equal(validation[-1][0].ravel(), va_x[-1]) and validation[-1][1] == va_y[-1]


def test_vectorized_result():
    e = mnist_loader.vectorized_result(3)
    assert e.shape == (10, 1) and e.dtype == np.float64
    assert e[3, 0] == 1.0 and e.sum() == 1.0

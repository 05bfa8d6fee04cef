"""Big-endian and unaligned arrays give the same results as native, aligned ones."""
import numpy as np
import pytest

from fastnet.network2 import Network

from .helpers import unaligned

SIZES = [6, 5, 3]


def _net():
    return Network(SIZES, random_state=3)


def _variants(a):
    yield "big-endian >f8", a.astype(">f8")
    yield "big-endian >f4", a.astype(np.float32).astype(">f4")
    yield "unaligned f8", unaligned(a.astype(np.float64))
    yield "unaligned f4", unaligned(a.astype(np.float32))


def _data(n=12):
    rng = np.random.RandomState(0)
    return rng.rand(n, SIZES[0]), rng.randint(0, SIZES[-1], n)


def _native(a):
    return a.astype(a.dtype.newbyteorder("=")).copy()


def test_one_example_paths_read_hostile_arrays_like_native_ones():
    net = _net()
    X, labels = _data()
    column = X[0].reshape(-1, 1)
    target = np.eye(SIZES[-1])[labels[0]].reshape(-1, 1)
    for name, x in _variants(column):
        expected = net.feedforward(_native(x))
        np.testing.assert_array_equal(net.feedforward(x), expected, err_msg=name)
        nb, nw = net.backprop(_native(x), target)
        gb, gw = net.backprop(x, target)
        for a, b in zip(gb + gw, nb + nw):
            np.testing.assert_array_equal(a, b, err_msg=name)
    for name, y in _variants(target):
        nb, nw = net.backprop(column, _native(y))
        gb, gw = net.backprop(column, y)
        for a, b in zip(gb + gw, nb + nw):
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_paths_read_hostile_arrays_like_native_ones(dtype):
    X, labels = _data()
    targets = np.eye(SIZES[-1])[labels]
    for name, Xh in _variants(X):
        Xn = _native(Xh)
        net = _net()
        np.testing.assert_array_equal(net.outputs(Xh, dtype=dtype), net.outputs(Xn, dtype=dtype),
                                      err_msg=name)
        np.testing.assert_array_equal(net.feedforward(Xh.T), net.feedforward(Xn.T), err_msg=name)
        for yh, yn in ((labels, labels), (targets.astype(">f8"), targets),
                       (unaligned(targets), targets)):
            assert net.accuracy((Xh, yh)) == net.accuracy((Xn, yn)), name
            assert net.total_cost((Xh, yh), 0.1) == net.total_cost((Xn, yn), 0.1), name
            for a, b in zip(net.gradients((Xh, yh), dtype=dtype),
                            net.gradients((Xn, yn), dtype=dtype)):
                for u, v in zip(a, b):
                    np.testing.assert_array_equal(u, v, err_msg=name)
        trained = []
        for data in ((Xh, labels), (Xn, labels)):
            np.random.seed(1)
            import random
            random.seed(1)
            one = _net()
            one.weights = [w.copy() for w in net.weights]
            one.biases = [b.copy() for b in net.biases]
            one.SGD(data, 2, 4, 0.5, dtype=dtype)
            trained.append(one.weights)
        for a, b in zip(*trained):
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_ready_gives_kernels_aligned_native_copies(dtype):
    # What the kernels are handed; tools/asan.sh runs this file under UBSan, which aborts
    # on a misaligned load, so the results above are checked at the loads too.
    from fastnet.examples import kernel_ready
    X, _ = _data()
    for name, Xh in _variants(X):
        ready = kernel_ready(Xh, dtype)
        assert ready.flags.aligned and ready.flags.c_contiguous, name
        assert ready.dtype == np.dtype(dtype) and ready.dtype.isnative, name
        np.testing.assert_array_equal(ready, _native(Xh).astype(dtype), err_msg=name)
    native = np.ascontiguousarray(X, dtype=dtype)
    assert np.shares_memory(kernel_ready(native, dtype), native)   # no copy when none is needed

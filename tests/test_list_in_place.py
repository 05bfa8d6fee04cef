"""SGD on network2's list reads the input columns where they lie (a table of their
addresses) when it can, and computes exactly what the copying path computes.

The copying path is reached with the very same values by making one column of the
list unaligned (a copy one byte into a buffer): ``column_addresses`` refuses it, and
the whole list is then stacked into one array, as every list was before.  Each test
also asserts which path its lists take, so that none passes by both taking the same.
"""
import contextlib
import io
import random

import numpy as np
import pytest

from fastnet import examples, mnist_loader, network2
from fastnet.engine import NonFiniteInputs
from tests.helpers import MNIST_DIR, need_mnist, unaligned

SIZES = [6, 5, 3]


def _copying(pairs):
    """The same pairs, the last input column unaligned: the list takes the copying path."""
    pairs = list(pairs)
    x, y = pairs[-1]
    pairs[-1] = (unaligned(x), y)
    return pairs


def _in_place(data, sizes):
    """Whether SGD's conversion of ``data`` reads the input columns where they lie."""
    converted = examples.convert(data, sizes, np.float64, "training_data", check_inputs=False)
    return converted.kernel_inputs()[1] is not None


def _train(data, sizes, epochs=2, mini_batch_size=10, seed=5, **kw):
    """The network, the monitors, what SGD printed and both generators' states after."""
    random.seed(seed)
    np.random.seed(seed)
    net = network2.Network(sizes, cost=network2.CrossEntropyCost)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        monitors = net.SGD(data, epochs, mini_batch_size, 0.5, lmbda=5.0, **kw)
    return net, monitors, out.getvalue(), (random.getstate(), np.random.get_state()[1].tobytes())


def _assert_same(a, b):
    net_a, monitors_a, printed_a, states_a = a
    net_b, monitors_b, printed_b, states_b = b
    for p, q in zip(net_a.weights + net_a.biases, net_b.weights + net_b.biases):
        assert p.dtype == q.dtype and np.array_equal(p, q)
    assert monitors_a == monitors_b and printed_a == printed_b
    assert states_a[0] == states_b[0] and states_a[1] == states_b[1]


@pytest.fixture(scope="module")
def mnist_pairs():
    need_mnist()
    training, validation, _ = mnist_loader.load_data_wrapper(MNIST_DIR)
    return training[:4000], validation[:500]


@pytest.mark.mnist
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("monitor", [False, True])
def test_real_mnist_pairs_train_bit_for_bit_as_the_copying_path(mnist_pairs, dtype, monitor):
    training, validation = mnist_pairs
    in_place, copying = list(training), _copying(training)
    assert _in_place(in_place, [784, 30, 10]) and not _in_place(copying, [784, 30, 10])
    kw = dict(dtype=dtype)
    if monitor:      # the training monitors stack the columns into an array after epoch 0
        kw.update(evaluation_data=validation, monitor_training_cost=True,
                  monitor_training_accuracy=True, monitor_evaluation_accuracy=True)
    a = _train(in_place, [784, 30, 10], **kw)
    b = _train(copying, [784, 30, 10], **kw)
    _assert_same(a, b)
    # network2 shuffles the caller's list in place: both lists end in the same order.
    assert [x is y for (x, _), (y, _) in zip(in_place[:-1], training)] == \
        [x is y for (x, _), (y, _) in zip(copying[:-1], training)]
    # ... and the same as arrays holding the same rows.
    X = np.concatenate([x.reshape(1, 784) for x, _ in training])
    T = np.concatenate([y.reshape(1, 10) for _, y in training])
    _assert_same(a, _train((X, T), [784, 30, 10], **kw))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, mini_batch_size", [(37, 37), (37, 50), (300, 7), (40, 10)])
def test_in_place_columns_give_the_arrays_result(dtype, n, mini_batch_size):
    """Including one mini-batch of every row (read in storage order, as an array is)."""
    rng = np.random.default_rng(n)
    X = rng.random((n, 6)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    pairs = [(X[k].reshape(6, 1).copy(), int(labels[k])) for k in range(n)]
    assert _in_place(pairs, SIZES)
    a = _train(list(pairs), SIZES, 3, mini_batch_size, dtype=dtype)   # SGD shuffles the list
    _assert_same(a, _train(_copying(pairs), SIZES, 3, mini_batch_size, dtype=dtype))
    _assert_same(a, _train((X, labels), SIZES, 3, mini_batch_size, dtype=dtype))


def _pairs(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.random((6, 1)), network2.vectorized_result(k % 3, 3)) for k in range(n)]


def _strided(pairs):
    base = np.concatenate([x for x, _ in pairs], axis=1)       # (6, n): columns strided
    out = [(base[:, k:k + 1], y) for k, (_, y) in enumerate(pairs)]
    assert not out[0][0].flags.c_contiguous
    return out


def _mixed_dtypes(pairs):
    return pairs[:-1] + [(pairs[-1][0].astype(np.float32), pairs[-1][1])]


def _big_endian(pairs):
    return [(x.astype(">f8"), y) for x, y in pairs]


def _flat_and_columns(pairs):
    return pairs[:-1] + [(pairs[-1][0].reshape(6), pairs[-1][1])]


def _subclass(pairs):
    class Column(np.ndarray):
        pass
    return pairs[:-1] + [(pairs[-1][0].view(Column), pairs[-1][1])]


@pytest.mark.parametrize("variant", [_strided, _mixed_dtypes, _big_endian, _flat_and_columns,
                                     _subclass, _copying])
def test_lists_the_kernel_cannot_read_in_place_take_the_copying_path(variant):
    pairs = _pairs()
    odd = variant(pairs)
    assert _in_place(pairs, SIZES) and not _in_place(odd, SIZES)
    # Their values are those of the native list (the float32 column rounded, as before).
    expected = _pairs()
    if variant is _mixed_dtypes:
        expected = _mixed_dtypes(expected)
        expected[-1] = (expected[-1][0].astype(np.float64), expected[-1][1])
    _assert_same(_train(odd, SIZES, 2, 4), _train(expected, SIZES, 2, 4))


def test_native_float32_columns_are_read_in_place_and_float16_ones_are_copied():
    pairs = [(x.astype(np.float32), y) for x, y in _pairs()]
    assert _in_place(pairs, SIZES)
    half = [(x.astype(np.float16), y) for x, y in _pairs()]
    assert not _in_place(half, SIZES)
    expected = [(x.astype(np.float16).astype(np.float64), y) for x, y in _pairs()]
    _assert_same(_train(half, SIZES), _train(expected, SIZES))


@pytest.mark.parametrize("bad, match", [
    (np.ones((5, 1)), r"training_data\[7\] x must be a column of shape \(6, 1\)"),
    (np.ones((6, 2)), r"training_data\[7\] x must be a column of shape \(6, 1\)"),
    (np.ones((6, 1, 1)), r"training_data\[7\] x must be a column of shape \(6, 1\)"),
    (np.float64(1.0), r"training_data\[7\] x"),
    (np.array(["a"] * 6).reshape(6, 1), r"training_data\[7\] x"),
])
def test_a_wrong_column_still_gets_its_clear_error(bad, match):
    pairs = _pairs()
    pairs[7] = (bad, pairs[7][1])
    net = network2.Network(SIZES)
    before = [w.copy() for w in net.weights]
    with pytest.raises((ValueError, TypeError), match=match):
        net.SGD(pairs, 1, 4, 0.5, quiet=True)
    assert all(np.array_equal(w, v) for w, v in zip(net.weights, before))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mini_batch_size", [4, 30])
def test_nan_or_inf_in_a_column_gives_the_copying_paths_error(value, dtype, mini_batch_size):
    pairs = [(x.astype(dtype), y) for x, y in _pairs()]
    pairs[21][0][3, 0] = value
    copying = _copying(pairs)
    assert _in_place(pairs, SIZES) and not _in_place(copying, SIZES)
    errors = []
    for data in (pairs, copying):
        random.seed(1)
        net = network2.Network(SIZES, random_state=2)
        before = [w.copy() for w in net.weights]
        with pytest.raises(NonFiniteInputs, match="training_data inputs contain NaN or "
                                                  "infinity") as error:
            net.SGD(data, 2, mini_batch_size, 0.5, quiet=True)
        assert all(np.array_equal(w, v) for w, v in zip(net.weights, before))
        errors.append(str(error.value))
    assert errors[0] == errors[1]


def test_float64_columns_beyond_float32_range_give_the_copying_paths_error():
    pairs = _pairs()
    pairs[9][0][0, 0] = 1e300
    errors = []
    for data in (pairs, _copying(pairs)):
        random.seed(1)
        with pytest.raises(NonFiniteInputs, match="beyond float32's range") as error:
            network2.Network(SIZES).SGD(data, 1, 4, 0.5, quiet=True, dtype=np.float32)
        errors.append(str(error.value))
    assert errors[0] == errors[1]


def test_columns_only_the_call_holds_stay_alive_through_it():
    """A generator's arrays live only in fastnet's own list while SGD reads them."""
    import gc

    def fresh():
        rng = np.random.default_rng(4)
        for k in range(200):
            yield rng.random((6, 1)), k % 3

    random.seed(3)
    net = network2.Network(SIZES, random_state=1)
    gc.collect()
    net.SGD(fresh(), 3, 8, 0.5, quiet=True, progress=lambda done: gc.collect())
    random.seed(3)
    expected = network2.Network(SIZES, random_state=1)
    expected.SGD(list(fresh()), 3, 8, 0.5, quiet=True)
    for p, q in zip(net.weights + net.biases, expected.weights + expected.biases):
        assert np.array_equal(p, q)


def test_the_inputs_array_is_stacked_only_when_asked_for_and_as_the_copy_was():
    pairs = [(x.astype(np.float32), y) for x, y in _pairs()]
    converted = examples.convert(pairs, SIZES, np.float64, "data", check_inputs=False)
    inputs, addresses = converted.kernel_inputs()
    assert inputs.shape == (0, 6) and inputs.dtype == np.float32 and len(addresses) == 30
    assert converted.input_dtype == np.float32
    copied = examples.convert(pairs, SIZES, np.float64, "data")
    assert copied.kernel_inputs()[1] is None
    assert converted.X.dtype == np.float32 and np.array_equal(converted.X, copied.X)
    assert np.array_equal(converted.targets, copied.targets)

"""Bad input gets a clear ValueError/TypeError naming the problem, never a crash.

Small synthetic arrays are enough here: these tests are about the checks in
front of the kernels, not about MNIST.
"""
import json
import random

import numpy as np
import pytest

from fastnet import network2


@pytest.fixture
def net():
    np.random.seed(0)
    return network2.Network([4, 3, 2])


@pytest.fixture
def data():
    rng = np.random.RandomState(1)
    return rng.rand(12, 4), rng.randint(2, size=12)


@pytest.mark.parametrize("sizes, error, words", [
    ([4], ValueError, "at least two layers"),
    ([], ValueError, "at least two layers"),
    ([4, 0, 2], ValueError, "at least one neuron"),
    ([4, -3, 2], ValueError, "at least one neuron"),
    ([4, 2.5, 2], TypeError, "integers"),
    (None, TypeError, "sizes"),
])
def test_bad_sizes(sizes, error, words):
    with pytest.raises(error, match=words):
        network2.Network(sizes)


def test_data_of_the_wrong_width(net, data):
    X, y = data
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        net.SGD((X[:, :3], y), 1, 2, 0.1)
    with pytest.raises(ValueError, match=r"column of shape \(4, 1\)"):
        net.SGD([(np.zeros((3, 1)), np.zeros((2, 1)))], 1, 2, 0.1)
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        net.accuracy((X[:, :3], y))


@pytest.mark.parametrize("labels, error, words", [
    (np.array([0, 1, 2] * 4), ValueError, "labels must lie in 0..1"),
    (np.array([-1] + [0] * 11), ValueError, "labels must lie in 0..1"),
    (np.zeros(11, dtype=int), ValueError, "11 labels for 12 examples"),
    (np.zeros(12), TypeError, "integer class labels"),
    (np.zeros((12, 3)), ValueError, "target rows"),
])
def test_bad_labels(net, data, labels, error, words):
    with pytest.raises(error, match=words):
        net.SGD((data[0], labels), 1, 2, 0.1)


def test_bad_labels_in_network2_lists(net):
    with pytest.raises(ValueError, match="labels must lie in 0..1, found 5"):
        net.SGD([(np.zeros((4, 1)), 5)], 1, 1, 0.1)
    with pytest.raises(ValueError, match=r"column of shape \(2, 1\)"):
        net.SGD([(np.zeros((4, 1)), np.zeros((3, 1)))], 1, 1, 0.1)
    with pytest.raises(ValueError, match=r"must be an \(x, y\) pair"):
        net.SGD([np.zeros((4, 1))], 1, 1, 0.1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_in_inputs_and_parameters(net, data, bad):
    X, y = data
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.SGD((X, y), 1, 2, 0.1)
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.accuracy((X, y))
    net.weights[1][0, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.SGD((data[0], y), 1, 2, 0.1)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(mini_batch_size=0), ValueError, "mini_batch_size must be at least 1"),
    (dict(mini_batch_size=2.0), TypeError, "mini_batch_size must be an integer"),
    (dict(epochs=-1), ValueError, "epochs must be at least 0"),
    (dict(eta=float("nan")), ValueError, "eta must be finite"),
    (dict(eta="0.1"), TypeError, "eta must be a real number"),
    (dict(lmbda=float("inf")), ValueError, "lmbda must be finite"),
    (dict(dtype=np.int32), ValueError, "float64 or float32"),
    (dict(progress=3), TypeError, "progress must be a callable"),
    (dict(monitor_evaluation_accuracy=True), ValueError, "needs evaluation_data"),
])
def test_bad_arguments(net, data, kwargs, error, words):
    arguments = dict(epochs=1, mini_batch_size=2, eta=0.1)
    arguments.update(kwargs)
    with pytest.raises(error, match=words):
        net.SGD(data, **arguments)


def test_empty_training_data(net):
    with pytest.raises(ValueError, match="training_data is empty"):
        net.SGD([], 1, 10, 0.1)
    with pytest.raises(ValueError, match="training_data is empty"):
        net.SGD((np.zeros((0, 4)), np.zeros(0, dtype=int)), 1, 10, 0.1)


def test_wrong_data_type(net):
    with pytest.raises(TypeError, match="iterable of \\(x, y\\) pairs or a tuple of arrays"):
        net.SGD(np.zeros((3, 4)), 1, 1, 0.1)
    with pytest.raises(TypeError, match="numeric"):
        net.SGD((np.array([["a"] * 4]), np.array([0])), 1, 1, 0.1)


def test_replaced_parameters_of_the_wrong_shape(net, data):
    net.weights = [np.zeros((3, 4)), np.zeros((3, 2))]
    with pytest.raises(ValueError, match=r"weights\[1\] must have shape \(2, 3\)"):
        net.SGD(data, 1, 2, 0.1)
    net.weights = [np.zeros((3, 4))]
    with pytest.raises(ValueError, match="needs 2 weight matrices"):
        net.accuracy(data)
    net.weights = [np.zeros((3, 4)), np.zeros((2, 3))]
    net.biases = [np.zeros((3, 1)), np.zeros((4, 1))]
    with pytest.raises(ValueError, match=r"biases\[1\] must have shape \(2, 1\)"):
        net.SGD(data, 1, 2, 0.1)


def test_files_that_are_not_network2_files(tmp_path):
    cases = {
        "garbage.json": "this is not json",
        "list.json": "[1, 2, 3]",
        "missing.json": json.dumps({"sizes": [2, 2], "weights": []}),
        "cost.json": json.dumps({"sizes": [2, 2], "weights": [[[0, 0], [0, 0]]],
                                 "biases": [[[0], [0]]], "cost": "LogLikelihood"}),
        "shape.json": json.dumps({"sizes": [2, 2], "weights": [[[0, 0, 0], [0, 0, 0]]],
                                  "biases": [[[0], [0]]], "cost": "CrossEntropyCost"}),
        "sizes.json": json.dumps({"sizes": [2], "weights": [], "biases": [],
                                  "cost": "CrossEntropyCost"}),
        "ragged.json": json.dumps({"sizes": [2, 2], "weights": [[[0, 0], [0]]],
                                   "biases": [[[0], [0]]], "cost": "CrossEntropyCost"}),
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValueError) as error:
            network2.load(str(path))
        assert str(path) in str(error.value) or "at least two layers" in str(error.value), name


def test_overflowing_learning_rate_does_not_crash(data):
    X, y = data
    np.random.seed(0)
    net = network2.Network([4, 3, 2], cost=network2.QuadraticCost)
    net.SGD((X * 1e3, y), 3, 2, 1e300, quiet=True)
    # The kernels ran to the end; whatever the weights became, the next call says so clearly.
    if not all(np.isfinite(w).all() for w in net.weights + net.biases):
        with pytest.raises(ValueError, match="NaN or infinity"):
            net.SGD((X, y), 1, 2, 0.1)
    # The sigmoid itself never overflows.
    with np.errstate(over="raise"):
        assert network2.sigmoid(np.array([-1e308, 0.0, 1e308])).tolist() == [0.0, 0.5, 1.0]


def test_backprop_checks_its_arguments(net):
    with pytest.raises(ValueError, match=r"x must be a column of shape \(4, 1\)"):
        net.backprop(np.zeros((3, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="out of range"):
        net.backprop(np.zeros((4, 1)), 7)
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.backprop(np.full((4, 1), np.nan), 1)


def test_a_mini_batch_larger_than_the_data_is_one_batch(data):
    X, y = data
    np.random.seed(0)
    big = network2.Network([4, 3, 2])
    same = network2.Network([4, 3, 2])
    same.weights, same.biases = [w.copy() for w in big.weights], [b.copy() for b in big.biases]
    big.SGD((X, y), 1, 2 ** 31 - 1, 0.5, quiet=True, shuffle_with=random.Random(1))
    same.SGD((X, y), 1, len(y), 0.5, quiet=True, shuffle_with=random.Random(1))
    assert all(np.array_equal(a, b) for a, b in zip(big.weights, same.weights))


def test_any_memory_layout_gives_the_same_training(data):
    X, y = data
    layouts = {
        "C": X,
        "Fortran": np.asfortranarray(X),
        "big-endian": X.astype(">f8"),
        "strided": np.repeat(X, 2, axis=0)[::2],
    }
    readonly = X.copy()
    readonly.setflags(write=False)
    layouts["read-only"] = readonly
    results = {}
    for name, inputs in layouts.items():
        net = network2.Network([4, 3, 2], random_state=5)
        net.SGD((inputs, list(y)), 2, 3, 0.5, 0.1, quiet=True, shuffle_with=random.Random(3))
        results[name] = np.concatenate([w.ravel() for w in net.weights + net.biases])
    for name, params in results.items():
        np.testing.assert_array_equal(params, results["C"], err_msg=name)

"""network2's per-example calls through ``engine.row_calls``: the compiled object that
holds the sizes and parameters between calls.  Its results must be those of
``feedforward_row``/``backprop_row`` bit for bit, its checks theirs, and network2 must
never use one made for parameters or activations it no longer has."""
import copy
import pickle

import numpy as np
import pytest

from fastnet import dispatch, engine, network2, reference
from fastnet.activations import kernel_layers
from fastnet.costs import cost_kind
from fastnet.parameters import Parameters

SIZES = [784, 30, 30, 10]


def _net(seed=3, **kw):
    return network2.Network(SIZES, random_state=seed, **kw)


def _reference_of(net):
    ref = reference.Network(SIZES, cost=reference.CrossEntropyCost)
    ref.weights = [w.copy() for w in net.weights]
    ref.biases = [b.copy() for b in net.biases]
    return ref


@pytest.fixture
def column():
    return np.random.default_rng(5).random((784, 1))


@pytest.mark.parametrize("level", sorted({0, dispatch.level_for(1)}))
def test_same_bits_as_the_one_call_functions(column, level):
    net = _net()
    params = Parameters.pack(SIZES, net.weights, net.biases)
    layers = kernel_layers("sigmoid", "sigmoid", cost_kind(network2.CrossEntropyCost))
    calls = engine.row_calls(params, layers)
    target = np.zeros(10)
    target[4] = 1
    for x in (column, column.astype(np.float32)):
        out, expected = np.empty(10), np.empty(10)
        calls.feedforward(x, out, level)
        engine.kernels.feedforward_row(params.kernel_sizes, x, params.flat, expected,
                                       layers.hidden, layers.output, level)
        assert np.array_equal(out, expected)
        gradient, expected = np.empty_like(params.flat), np.empty_like(params.flat)
        calls.backprop(x, target, cost_kind(network2.CrossEntropyCost), gradient, level)
        engine.kernels.backprop_row(params.kernel_sizes, x, target, params.flat,
                                    cost_kind(network2.CrossEntropyCost), expected,
                                    layers.hidden, layers.output, level)
        assert np.array_equal(gradient, expected)


def test_buffers_that_do_not_match_are_refused(column):
    net = _net()
    params = Parameters.pack(SIZES, net.weights, net.biases)
    layers = kernel_layers("sigmoid", "sigmoid", cost_kind(network2.CrossEntropyCost))
    calls = engine.row_calls(params, layers)
    level = dispatch.level_for(1)
    kind = cost_kind(network2.CrossEntropyCost)
    with pytest.raises(ValueError, match="do not match"):
        calls.feedforward(column[:783], np.empty(10), level)
    with pytest.raises(ValueError, match="do not match"):
        calls.feedforward(column, np.empty(11), level)
    with pytest.raises(ValueError, match="do not match"):
        calls.backprop(column, np.zeros(9), kind, np.empty_like(params.flat), level)
    with pytest.raises(ValueError, match="do not match"):
        calls.backprop(column, np.zeros(10), kind, np.empty(10), level)
    with pytest.raises(ValueError, match="do not match"):
        engine.kernels.Rows(params.kernel_sizes, params.flat[:-1], layers.hidden,
                            layers.output)
    bad = column.copy()
    bad[700, 0] = np.nan
    out = np.full(10, 7.0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        calls.feedforward(bad, out, level)
    assert np.all(out == 7.0)
    with pytest.raises(ValueError, match="not C-contiguous"):    # NumPy's own refusal
        calls.feedforward(np.asfortranarray(np.ones((392, 2))), np.empty(10), level)


def test_network_follows_its_parameters_between_calls(column):
    net = _net()
    ref = _reference_of(net)
    assert np.abs(net.feedforward(column) - ref.feedforward(column)).max() <= 1e-10
    # A step in place, as SGD takes them.
    net.weights[0][3] += 0.5
    ref.weights[0][3] += 0.5
    assert np.abs(net.feedforward(column) - ref.feedforward(column)).max() <= 1e-10
    # Arrays replaced, in the list and by a new list.
    net.weights[1] = net.weights[1] * 2
    ref.weights[1] = ref.weights[1] * 2
    assert np.abs(net.feedforward(column) - ref.feedforward(column)).max() <= 1e-10
    net.biases = [b - 1 for b in net.biases]
    ref.biases = [b - 1 for b in ref.biases]
    assert np.abs(net.feedforward(column) - ref.feedforward(column)).max() <= 1e-10
    y = np.zeros((10, 1))
    y[2] = 1
    nb, nw = net.backprop(column, y)
    rb, rw = ref.backprop(column, y)
    assert max(np.abs(a - b).max() for a, b in zip(nb + nw, rb + rw)) <= 1e-10
    # Another cost: another output error.
    net.cost = network2.QuadraticCost
    ref.cost = reference.QuadraticCost
    nb, nw = net.backprop(column, y)
    rb, rw = ref.backprop(column, y)
    assert max(np.abs(a - b).max() for a, b in zip(nb + nw, rb + rw)) <= 1e-10


def test_network_follows_its_activations(column):
    net = _net()
    before = net.feedforward(column)
    net.activation = "tanh"
    tanh = net.feedforward(column)
    a = column
    for w, b in zip(net.weights[:-1], net.biases[:-1]):
        a = np.tanh(w @ a + b)
    expected = 1 / (1 + np.exp(-(net.weights[-1] @ a + net.biases[-1])))
    assert np.abs(tanh - expected).max() <= 1e-10 and np.abs(tanh - before).max() > 1e-3
    net.activation = "sigmoid"
    assert np.array_equal(net.feedforward(column), before)


def test_pickles_and_copies_after_per_example_calls(column):
    net = _net()
    out = net.feedforward(column)
    net.backprop(column, 3)
    for other in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net), copy.copy(net)):
        assert np.array_equal(other.feedforward(column), out)
    twin = copy.deepcopy(net)
    twin.weights[0][:] = 0           # the copy's own parameters, not the original's
    assert np.array_equal(net.feedforward(column), out)
    assert not np.array_equal(twin.feedforward(column), out)

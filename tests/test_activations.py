"""Activations (sigmoid, tanh, ReLU; sigmoid or softmax output) and initialisers.

Every combination is checked the way the sigmoid network is in test_network.py:
float64 against the per-example NumPy reference (fastnet.reference) after an
epoch from the same seeds, to round-off; gradients against finite
differences; float32 against float64 within float32's precision.  And
network2's defaults must give the numbers saved by the build whose products
all went to BLAS (tests/data/sigmoid_before.npz).
"""
import io
import json
import random
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from fastnet import dispatch, network2, reference

from . import sigmoid_expectation
from .helpers import as_network2_list, max_abs_diff, seed

ROUND_OFF = 1e-10

# (activation, output, fastnet's cost, the reference's cost)
COMBINATIONS = [
    (activation, output, cost, getattr(reference, cost.__name__))
    for activation in ("sigmoid", "tanh", "relu")
    for output, cost in (("sigmoid", network2.CrossEntropyCost),
                         ("sigmoid", network2.QuadraticCost),
                         ("softmax", network2.LogLikelihoodCost))]
IDS = ["{}-{}-{}".format(a, o, c.__name__) for a, o, c, _ in COMBINATIONS]


@pytest.fixture(scope="module")
def slice_600(mnist_train):
    X, y = mnist_train
    return np.ascontiguousarray(X[:600]), y[:600]


# The per-example keys come from the network trained last, in float32: float32 round-off.
FROM_FLOAT32_NET = ("/feedforward", "/backprop", "/total_cost", "/accuracy")


@pytest.mark.parametrize("kernels", dispatch.LEVELS)
def test_network2_defaults_give_the_numbers_saved_by_the_all_blas_build(kernels):
    """Every path of the sigmoid network, float64 and float32, both costs, on every kernel.

    The expectation was saved by tests/sigmoid_expectation.py with the build
    of commit 5c14c0c, whose products all went to BLAS.  Bit-identity holds
    for the same BLAS on the same machine (0.0 with "blas" on the development
    machine, OpenBLAS 0.3.30); the tile kernels and other BLAS builds sum in
    another order, so they get float64/float32 round-off as the bound.
    """
    saved = np.load(Path(__file__).resolve().parent / "data" / "sigmoid_before.npz")
    with dispatch.using(kernels):
        now = sigmoid_expectation.results(network2)
    assert sorted(now) == sorted(saved.files)
    single = [k for k in now if "float32" in k or k.endswith(FROM_FLOAT32_NET)]
    worst64 = max(float(np.max(np.abs(saved[k] - now[k]))) for k in now if k not in single)
    worst32 = max(float(np.max(np.abs(saved[k] - now[k]))) for k in single)
    assert worst64 <= ROUND_OFF and worst32 <= 1e-5


@pytest.mark.parametrize("activation, output, cost, ref_cost", COMBINATIONS, ids=IDS)
def test_one_epoch_matches_the_reference(slice_600, activation, output, cost, ref_cost):
    """SGD (mini-batch 10, and one full batch of 600), then every measurement, vs the reference."""
    X, y = slice_600
    sizes = [784, 12, 10, 10]
    out = io.StringIO()
    results = {}
    for mini_batch_size in (10, 600):
        seed(11)
        ref = reference.Network(sizes, ref_cost, activation=activation, output=output)
        with redirect_stdout(out):
            ref.SGD(as_network2_list(X, y), 1, mini_batch_size, 0.2, 2.0)
        seed(11)
        net = network2.Network(sizes, cost, activation=activation, output=output)
        net.SGD(as_network2_list(X, y), 1, mini_batch_size, 0.2, 2.0, quiet=True)
        results[mini_batch_size] = max(max_abs_diff(net.weights, ref.weights),
                                       max_abs_diff(net.biases, ref.biases))
    assert max(results.values()) <= ROUND_OFF, results

    # The trained network's outputs, per-example calls, cost, accuracy and gradients.
    data = as_network2_list(X[:50], y[:50])
    outputs = net.outputs(X[:50])
    ref_outputs = np.hstack([ref.feedforward(x) for x, _ in data]).T
    assert np.max(np.abs(outputs - ref_outputs)) <= ROUND_OFF
    assert np.max(np.abs(net.feedforward(data[3][0]) - ref.feedforward(data[3][0]))) <= ROUND_OFF
    nabla_b, nabla_w = net.backprop(*data[3])
    ref_b, ref_w = ref.backprop(*data[3])
    assert max_abs_diff(nabla_b + nabla_w, ref_b + ref_w) <= ROUND_OFF
    mean_b, mean_w = net.gradients(data)
    ref_sums = [sum(ref.backprop(x, t)[0][l] for x, t in data) / len(data) for l in range(3)]
    assert max_abs_diff(mean_b, ref_sums) <= ROUND_OFF
    assert abs(net.total_cost(data, 2.0) - ref.total_cost(data, 2.0)) <= ROUND_OFF
    assert net.accuracy(data) == ref.accuracy(data, convert=True)
    speeds = net.learning_speed(data)
    assert np.allclose(speeds, [np.linalg.norm(b) for b in ref_sums[:-1]], rtol=1e-9, atol=0)
    if output == "softmax":
        assert np.allclose(outputs.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("activation, output, cost, ref_cost", COMBINATIONS, ids=IDS)
def test_gradients_match_finite_differences(activation, output, cost, ref_cost):
    sizes = [5, 4, 6, 3]
    rng = np.random.RandomState(len(activation) + 7 * len(output))
    net = network2.Network(sizes, cost, activation=activation, output=output, random_state=1)
    net.weights = [rng.randn(*w.shape) for w in net.weights]
    net.biases = [rng.randn(*b.shape) for b in net.biases]
    X = rng.rand(8, sizes[0])
    labels = rng.randint(sizes[-1], size=8)
    nabla_b, nabla_w = net.gradients((X, labels))

    def mean_cost():
        return float(net.total_cost((X, labels), 0.0))

    h = 1e-6
    worst = 0.0
    for params, grads in ((net.weights, nabla_w), (net.biases, nabla_b)):
        for p, g in zip(params, grads):
            for index in np.ndindex(p.shape):
                saved = p[index]
                p[index] = saved + h
                up = mean_cost()
                p[index] = saved - h
                down = mean_cost()
                p[index] = saved
                worst = max(worst, abs((up - down) / (2 * h) - g[index]))
    assert worst < 1e-7, worst


@pytest.mark.parametrize("activation, output, cost, ref_cost", COMBINATIONS, ids=IDS)
def test_float32_agrees_with_float64_within_its_precision(slice_600, activation, output, cost,
                                                          ref_cost):
    X, y = slice_600
    nets = {}
    for dtype in (np.float64, np.float32):
        net = network2.Network([784, 12, 10, 10], cost, activation=activation, output=output,
                               random_state=4)
        net.SGD((X, y), 1, 10, 0.2, 2.0, quiet=True, dtype=dtype, shuffle_with=random.Random(4))
        nets[dtype] = net
    # 60 float32 steps (eps 1.2e-7) on weights of size ~0.1-1.
    diff = max_abs_diff(nets[np.float32].weights + nets[np.float32].biases,
                        nets[np.float64].weights + nets[np.float64].biases)
    assert diff < 2e-4, diff
    assert diff > 0          # float32 really ran
    out32 = nets[np.float64].outputs(X[:100], dtype=np.float32)
    assert out32.dtype == np.float32
    assert np.max(np.abs(out32 - nets[np.float64].outputs(X[:100]))) < 1e-5


@pytest.mark.parametrize("init", ["default", "large", "glorot", "he"])
def test_initialisers_match_the_reference_and_their_formulas(init):
    sizes = [400, 300, 200, 10]
    ref = reference.Network(sizes)
    np.random.seed(5)
    getattr(ref, init + "_weight_initializer")()
    np.random.seed(5)
    net = network2.Network(sizes, init=init)
    assert max_abs_diff(net.weights + net.biases, ref.weights + ref.biases) == 0.0
    expected_std = {"default": lambda i, o: 1 / np.sqrt(i), "large": lambda i, o: 1.0,
                    "glorot": lambda i, o: np.sqrt(2 / (i + o)),
                    "he": lambda i, o: np.sqrt(2 / i)}[init]
    for w in net.weights[:2]:
        n_out, n_in = w.shape
        assert abs(w.std() / expected_std(n_in, n_out) - 1) < 0.02
    biases = np.concatenate([b.ravel() for b in net.biases])
    if init in ("glorot", "he"):
        assert not biases.any()
    else:
        assert abs(biases.std() - 1) < 0.15
    # The methods draw the same as the keyword.
    other = network2.Network(sizes, random_state=1)
    getattr(other, init + "_weight_initializer")(random_state=5)
    assert max_abs_diff(other.weights, net.weights) == 0.0


def test_files_keep_the_activations_and_network2_s_files_stay_network2_s(tmp_path):
    plain = network2.Network([4, 3, 2], random_state=0)
    plain.save(tmp_path / "plain.json")
    assert set(json.loads((tmp_path / "plain.json").read_text())) == \
        {"sizes", "weights", "biases", "cost"}
    # The same bytes as the reference (network2's own save) writes for the same numbers.
    ref = reference.Network([4, 3, 2])
    ref.weights, ref.biases = plain.weights, plain.biases
    ref.save(tmp_path / "ref.json")
    assert (tmp_path / "plain.json").read_bytes() == (tmp_path / "ref.json").read_bytes()

    net = network2.Network([4, 3, 2], network2.LogLikelihoodCost, activation="relu",
                           output="softmax", random_state=0)
    net.save(tmp_path / "relu.json")
    data = json.loads((tmp_path / "relu.json").read_text())
    assert data["activation"] == "relu" and data["output"] == "softmax"
    assert data["cost"] == "LogLikelihoodCost"
    back = network2.load(tmp_path / "relu.json")
    assert (back.activation, back.output, back.cost) == ("relu", "softmax",
                                                         network2.LogLikelihoodCost)
    x = np.linspace(-1, 1, 4).reshape(4, 1)
    assert np.array_equal(back.feedforward(x), net.feedforward(x))
    tanh = network2.Network([4, 3, 2], activation="tanh", random_state=0)
    tanh.save(tmp_path / "tanh.json")
    assert "output" not in json.loads((tmp_path / "tanh.json").read_text())
    assert network2.load(tmp_path / "tanh.json").activation == "tanh"
    # network2's file: a sigmoid network.
    assert network2.load(tmp_path / "ref.json").activation == "sigmoid"
    data["activation"] = "swish"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="activation"):
        network2.load(tmp_path / "bad.json")


@pytest.mark.parametrize("call, error, words", [
    (lambda: network2.Network([3, 2], activation="swish"), ValueError, "activation"),
    (lambda: network2.Network([3, 2], activation=None), ValueError, "activation"),
    (lambda: network2.Network([3, 2], output="tanh"), ValueError, "output"),
    (lambda: network2.Network([3, 2], output="softmax"), ValueError, "LogLikelihoodCost"),
    (lambda: network2.Network([3, 2], network2.LogLikelihoodCost), ValueError, "softmax"),
    (lambda: network2.Network([3, 2], init="xavier"), ValueError, "init"),
    (lambda: network2.Network([3, 2], network2.CrossEntropyCost, "relu"), TypeError,
     "positional"),
])
def test_bad_choices_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_changing_the_cost_afterwards_is_checked_at_the_next_call():
    net = network2.Network([3, 2], network2.LogLikelihoodCost, output="softmax", random_state=0)
    net.cost = network2.QuadraticCost
    with pytest.raises(ValueError, match="softmax"):
        net.SGD((np.ones((2, 3)), np.array([0, 1])), 1, 1, 0.1, quiet=True)


def test_pickles_and_copies_keep_the_activations():
    import copy
    import pickle
    net = network2.Network([3, 4, 2], activation="tanh", random_state=0)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other.activation == "tanh"
        x = np.ones((3, 1))
        assert np.array_equal(other.feedforward(x), net.feedforward(x))


def test_sklearn_estimator_takes_the_activations(mnist_train):
    sklearn_module = pytest.importorskip("fastnet.sklearn")
    from sklearn.utils.estimator_checks import check_estimator
    X, y = mnist_train
    X, y = X[:500], y[:500]
    clf = sklearn_module.FastNetClassifier(hidden_layer_sizes=(20, 20), activation="relu",
                                           output="softmax", cost="log_likelihood",
                                           init="he", epochs=2, random_state=3).fit(X, y)
    net = network2.Network([784, 20, 20, 10], network2.LogLikelihoodCost, activation="relu",
                           output="softmax", init="he", random_state=3)
    net.SGD((X, y), 2, 10, 0.1, 5.0, quiet=True, shuffle_with=random.Random(3))
    assert max_abs_diff(clf.network_.weights, net.weights) == 0.0
    assert np.allclose(clf.predict_proba(X[:20]), net.outputs(X[:20]), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="activation"):
        sklearn_module.FastNetClassifier(activation="elu").fit(X, y)
    with pytest.raises(ValueError, match="log_likelihood"):
        sklearn_module.FastNetClassifier(output="softmax").fit(X, y)
    # scikit-learn's own checks on a non-default choice.
    check_estimator(sklearn_module.FastNetClassifier(activation="tanh", output="softmax",
                                                     cost="log_likelihood", init="glorot",
                                                     random_state=0))


def test_the_constructor_still_calls_default_weight_initializer():
    """Scripts that override network2's initialiser in a subclass keep getting theirs."""
    class Zeros(network2.Network):
        def default_weight_initializer(self, random_state=None):
            self.weights = [np.zeros((y, x)) for x, y in zip(self.sizes[:-1], self.sizes[1:])]
            self.biases = [np.zeros((y, 1)) for y in self.sizes[1:]]

    net = Zeros([3, 2], activation="tanh")
    assert not net.weights[0].any()
    assert np.array_equal(net.feedforward(np.ones((3, 1))), np.full((2, 1), 0.5))

"""fastnet.network, chapter 1's network.py drop-in, against network.py's maths written out here.

``BookNetwork`` below is network.py's arithmetic, one example at a time, in
plain NumPy and independent of fastnet.  Both sides start from the same
seeds; float64 results may then differ by summation order only, so the
bound on the weights is round-off (1e-10), and printed lines, the shuffled
list and both generators' states must be identical.
"""
import io
import random
from contextlib import redirect_stdout

import numpy as np
import pytest

from fastnet import mnist_loader, network

from .helpers import MNIST_DIR, max_abs_diff, need_mnist, seed

ROUND_OFF = 1e-10


def book_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def book_sigmoid_prime(z):
    return book_sigmoid(z) * (1 - book_sigmoid(z))


class BookNetwork:
    """network.py's maths: N(0, 1) biases then weights, per-example backprop, quadratic cost."""

    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = book_sigmoid(np.dot(w, a) + b)
        return a

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        n = len(training_data)
        for j in range(epochs):
            random.shuffle(training_data)
            for k in range(0, n, mini_batch_size):
                self.update_mini_batch(training_data[k:k + mini_batch_size], eta)
            if test_data:
                print("Epoch {0}: {1} / {2}".format(j, self.evaluate(test_data), len(test_data)))
            else:
                print("Epoch {0} complete".format(j))

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            db, dw = self.backprop(x, y)
            nabla_b = [nb + d for nb, d in zip(nabla_b, db)]
            nabla_w = [nw + d for nw, d in zip(nabla_w, dw)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = book_sigmoid(z)
            activations.append(activation)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = self.output_error(activations[-1], y, zs[-1])
        nabla_b[-1], nabla_w[-1] = delta, np.dot(delta, activations[-2].T)
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].T, delta) * book_sigmoid_prime(zs[-l])
            nabla_b[-l], nabla_w[-l] = delta, np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w

    def output_error(self, a, y, z):
        return (a - y) * book_sigmoid_prime(z)

    def evaluate(self, test_data):
        return sum(int(np.argmax(self.feedforward(x)) == y) for x, y in test_data)


class BookCrossEntropy(BookNetwork):
    """The chapter-3 exercise's network: sigma'(z) cancels against the cross-entropy's dC/da."""

    def output_error(self, a, y, z):
        return a - y


class CrossEntropyNetwork(network.Network):
    """A reader's subclass, as the exercise asks: only cost_derivative changes."""

    def cost_derivative(self, output_activations, y):
        a = output_activations
        return (a - y) / (a * (1 - a))


def printed(fn, *args, **kwargs):
    out = io.StringIO()
    with redirect_stdout(out):
        fn(*args, **kwargs)
    return out.getvalue()


def copies(pairs):
    return [(x.copy(), y if isinstance(y, int) else y.copy()) for x, y in pairs]


@pytest.fixture(scope="module")
def chapter1_data():
    """mnist_loader.load_data_wrapper's lists, as chapter 1 loads them, cut to a few thousand."""
    need_mnist()
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper(MNIST_DIR)
    return training_data[:3000], [(x, int(y)) for x, y in test_data[:1000]]


def both_trained(net_class, book_class, training_data, epochs, eta, test_data, seed_value=3):
    seed(seed_value)
    book = book_class([784, 30, 10])
    book_list = copies(training_data)
    book_printed = printed(book.SGD, book_list, epochs, 10, eta, test_data=test_data)
    book_states = random.getstate(), np.random.get_state()
    seed(seed_value)
    net = net_class([784, 30, 10])
    net_list = list(training_data)
    net_printed = printed(net.SGD, net_list, epochs, 10, eta, test_data=test_data)
    net_states = random.getstate(), np.random.get_state()
    return book, book_list, book_printed, book_states, net, net_list, net_printed, net_states


def same_states(a, b):
    assert a[0] == b[0]
    assert all(np.array_equal(p, q) for p, q in zip(a[1], b[1]))


def test_construction_draws_as_network_py():
    seed(11)
    book = BookNetwork([784, 30, 10])
    book_state = np.random.get_state()
    seed(11)
    net = network.Network([784, 30, 10])
    assert net.num_layers == 3 and net.sizes == [784, 30, 10]
    assert [b.shape for b in net.biases] == [(30, 1), (10, 1)]
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert all(np.array_equal(a, b) for a, b in zip(net.biases, book.biases))
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, book.weights))
    same_states((0, book_state), (0, np.random.get_state()))


def test_chapter_1_usage_matches_network_py(chapter1_data):
    training_data, test_data = chapter1_data
    book, book_list, book_out, book_states, net, net_list, net_out, net_states = both_trained(
        network.Network, BookNetwork, training_data, 2, 3.0, test_data)
    assert net_out == book_out
    assert net_out.splitlines()[0].startswith("Epoch 0: ") and net_out.count("\n") == 2
    assert net_out.splitlines()[1].endswith(" / 1000")
    assert max_abs_diff(net.weights + net.biases, book.weights + book.biases) <= ROUND_OFF
    same_states(net_states, book_states)
    # The caller's list is shuffled in place exactly as network.py shuffles it.
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(net_list, book_list))


def test_arrays_and_iterables_train_as_the_list(chapter1_data):
    training_data, test_data = chapter1_data
    data = training_data[:1000]
    X = np.stack([x.ravel() for x, _ in data])
    labels = np.array([int(np.argmax(y)) for _, y in data])
    test_X = np.stack([x.ravel() for x, _ in test_data])
    test_y = np.array([y for _, y in test_data])
    runs = {}
    for form, train, test in (("list", list(data), test_data),
                              ("zip", zip([x for x, _ in data], [y for _, y in data]),
                               iter(test_data)),
                              ("arrays", (X, labels), (test_X, test_y))):
        seed(5)
        net = network.Network([784, 30, 10])
        runs[form] = printed(net.SGD, train, 3, 10, 3.0, test_data=test), net
    out, net = runs["list"]
    assert len(out.splitlines()) == 3
    for form in ("zip", "arrays"):
        assert runs[form][0] == out
        # Three epochs: the shuffles compose as they would on a list.
        assert max_abs_diff(runs[form][1].weights, net.weights) <= ROUND_OFF
    assert X.flags.writeable and np.array_equal(X[0], data[0][0].ravel())   # rows not reordered


def test_without_test_data_prints_epoch_complete(chapter1_data):
    training_data, _ = chapter1_data
    seed(2)
    net = network.Network([784, 10])
    assert printed(net.SGD, list(training_data[:200]), 2, 10, 3.0) == \
        "Epoch 0 complete\nEpoch 1 complete\n"


def test_overridden_cost_derivative_gets_its_own_maths(chapter1_data):
    training_data, test_data = chapter1_data
    data = training_data[:1000]
    book, _, book_out, book_states, net, _, net_out, net_states = both_trained(
        CrossEntropyNetwork, BookCrossEntropy, data, 1, 0.5, test_data)
    assert net_out == book_out
    assert max_abs_diff(net.weights + net.biases, book.weights + book.biases) <= ROUND_OFF
    same_states(net_states, book_states)
    quadratic = both_trained(network.Network, BookNetwork, data, 1, 0.5, test_data)[4]
    assert max_abs_diff(quadratic.weights, net.weights) > 1e-3       # not silently ignored
    x, y = data[0]
    for got, want in zip(net.backprop(x, y), book.backprop(x, y)):
        assert max_abs_diff(got, want) <= ROUND_OFF


def test_per_example_methods_match_network_py(chapter1_data):
    training_data, test_data = chapter1_data
    seed(9)
    book = BookNetwork([784, 30, 10])
    seed(9)
    net = network.Network([784, 30, 10])
    x, y = training_data[0]
    assert max_abs_diff([net.feedforward(x)], [book.feedforward(x)]) <= ROUND_OFF
    assert net.feedforward(x).shape == (10, 1)
    for got, want in zip(net.backprop(x, y), book.backprop(x, y)):
        assert [g.shape for g in got] == [w.shape for w in want]
        assert max_abs_diff(got, want) <= ROUND_OFF
    assert np.array_equal(net.cost_derivative(np.full((10, 1), 0.25), y), 0.25 - y)
    net.update_mini_batch(training_data[:10], 3.0)
    book.update_mini_batch(training_data[:10], 3.0)
    assert max_abs_diff(net.weights + net.biases, book.weights + book.biases) <= ROUND_OFF
    assert net.evaluate(test_data) == book.evaluate(test_data)
    assert isinstance(net.evaluate(test_data), int)


def test_parameters_edited_by_the_reader_are_trained(chapter1_data):
    training_data, _ = chapter1_data
    seed(4)
    net = network.Network([784, 30, 10])
    book = BookNetwork([784, 30, 10])
    net.weights = [w.copy() for w in book.weights]
    net.biases[0][:] = book.biases[0]
    net.biases[1][:] = book.biases[1]
    state = random.getstate()
    printed(net.SGD, list(training_data[:500]), 1, 10, 3.0)
    random.setstate(state)
    printed(book.SGD, copies(training_data[:500]), 1, 10, 3.0)
    assert max_abs_diff(net.weights + net.biases, book.weights + book.biases) <= ROUND_OFF


def test_overridden_backprop_is_what_training_uses(chapter1_data):
    training_data, test_data = chapter1_data

    class DoubleGradient(network.Network):
        def backprop(self, x, y):
            nabla_b, nabla_w = super().backprop(x, y)
            return [2 * b for b in nabla_b], [2 * w for w in nabla_w]

    trained = []
    for net_class, eta in ((DoubleGradient, 1.5), (network.Network, 3.0)):
        seed(6)
        net = net_class([784, 30, 10])
        trained.append((printed(net.SGD, list(training_data[:500]), 1, 10, eta, test_data), net))
    (doubled_out, doubled), (plain_out, plain) = trained
    assert doubled_out == plain_out
    assert max_abs_diff(doubled.weights + doubled.biases, plain.weights + plain.biases) <= ROUND_OFF


def test_empty_test_data_counts_as_none(chapter1_data):
    training_data, _ = chapter1_data
    seed(2)
    net = network.Network([784, 10])
    assert printed(net.SGD, list(training_data[:100]), 1, 10, 3.0, test_data=[]) == \
        "Epoch 0 complete\n"


def test_overridden_feedforward_is_what_evaluate_uses(chapter1_data):
    _, test_data = chapter1_data

    class AlwaysSeven(network.Network):
        def feedforward(self, a):
            out = np.zeros((10, 1))
            out[7] = 1.0
            return out

    net = AlwaysSeven([784, 30, 10])
    assert net.evaluate(test_data) == sum(y == 7 for _, y in test_data)


def test_module_sigmoid():
    z = np.linspace(-30, 30, 61)
    assert np.allclose(network.sigmoid(z), book_sigmoid(z), rtol=1e-15, atol=0)
    assert np.allclose(network.sigmoid_prime(z), book_sigmoid_prime(z), rtol=1e-12, atol=1e-300)

"""A drop-in for the book's chapter-1 network.py, trained by fastnet's kernels.

Change ``import network`` to ``from fastnet import network`` and chapter 1's
code keeps working: the same names and arguments, the same printed lines, the
same use of ``np.random`` (the initial weights) and ``random`` (the shuffle),
so the same seeds give the same run, up to floating-point summation order.

network.py is network2.py's first draft: a sigmoid network on the quadratic
cost, no regularisation, no monitors.  So a ``Network`` here holds a
``fastnet.network2.Network`` with ``QuadraticCost`` and N(0, 1) initial
weights, and trains it through network2's public methods with ``lmbda=0``.

Data may be a list of ``(x, y)`` pairs, as in the book, any other iterable
of pairs, or the tuple of arrays ``(X, y)`` that fastnet.network2 takes.

``cost_derivative`` is a method because the book's readers override it (the
chapter-3 exercise swaps in the cross-entropy derivative).  A subclass that
overrides ``cost_derivative``, ``backprop`` or ``update_mini_batch`` gets
exactly the maths it wrote: training then runs network.py's own per-example
loop in NumPy, calling the overrides, slower but never silently ignored.
Likewise an overridden ``feedforward`` is what ``evaluate`` uses.
"""
import random

import numpy as np

from fastnet import examples, network2
from fastnet.network2 import sigmoid, sigmoid_prime
from fastnet.shuffling import shuffled_positions

__all__ = ["Network", "sigmoid", "sigmoid_prime"]


class Network:

    def __init__(self, sizes):
        """A sigmoid network with ``sizes[l]`` neurons in layer l (layer 0: the input).

        As network.py: every layer's biases are drawn from N(0, 1) first, then
        every layer's weights, all from np.random.
        """
        self._net = network2.Network(sizes, cost=network2.QuadraticCost, init="large")
        self.num_layers = len(sizes)
        self.sizes = sizes

    # The parameters are the trained network2 network's own lists, so that
    # reading, replacing or editing them in place is seen by the next call.
    @property
    def biases(self):
        return self._net.biases

    @biases.setter
    def biases(self, value):
        self._net.biases = value

    @property
    def weights(self):
        return self._net.weights

    @weights.setter
    def weights(self, value):
        self._net.weights = value

    def feedforward(self, a):
        """The network's output column for the input column ``a``."""
        return self._net.feedforward(a)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Train with mini-batch stochastic gradient descent on the quadratic cost.

        Every epoch shuffles ``training_data`` in place with ``random.shuffle``
        (arrays ``(X, y)`` are never reordered: each call shuffles their row
        order as a list would be shuffled), steps through it in mini-batches
        of ``mini_batch_size`` with learning rate ``eta`` and prints
        ``Epoch j: correct / n_test`` when ``test_data`` is given, else
        ``Epoch j complete``.  Returns None.
        """
        arrays = examples.is_array_form(training_data)
        if not arrays and not isinstance(training_data, list):
            training_data = list(training_data)
        if test_data is not None and not examples.is_array_form(test_data) \
                and not isinstance(test_data, list):
            test_data = list(test_data)
        if self._overridden("update_mini_batch", "backprop", "cost_derivative"):
            epoch = _PerExampleEpochs(self, training_data, mini_batch_size, eta)
        elif arrays:
            epoch = _ArrayEpochs(self._net, training_data, mini_batch_size, eta)
        else:
            epoch = _PairEpochs(self._net, training_data, mini_batch_size, eta)
        # As network.py's ``if test_data:``, empty test data counts as none.
        has_test = test_data is not None and _count(test_data) > 0
        for j in range(epochs):
            epoch.run()
            if has_test:
                print("Epoch {0}: {1} / {2}".format(j, self.evaluate(test_data),
                                                    _count(test_data)))
            else:
                print("Epoch {0} complete".format(j))

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on the ``(x, y)`` pairs of ``mini_batch``.

        w <- w - (eta/m) sum_x dC_x/dw and b <- b - (eta/m) sum_x dC_x/db
        over the m examples.  Afterwards ``weights``/``biases`` are new arrays.
        """
        if not self._overridden("backprop", "cost_derivative"):
            # With lmbda = 0 network2's weight decay factor is exactly 1, whatever n is.
            self._net.update_mini_batch(mini_batch, eta, 0.0, 1)
            return
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        step = eta / len(mini_batch)
        self.weights = [w - step * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - step * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        """The gradient ``(nabla_b, nabla_w)`` of the cost C_x of one example.

        Shaped like ``biases`` and ``weights``.  The output layer's error is
        ``cost_derivative(a, y) * sigmoid_prime(z)``.
        """
        if not self._overridden("cost_derivative"):
            return self._net.backprop(x, y)
        activation = np.asarray(x, dtype=np.float64).reshape(-1, 1)
        activations, zs = [activation], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].T)
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].T, delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """How many test examples the network classifies right: the output's argmax
        equals the example's int label."""
        if not self._overridden("feedforward"):
            return self._net.accuracy(test_data)
        return sum(int(np.argmax(self.feedforward(x)) == y)
                   for x, y in _as_pairs(test_data, self.sizes[-1], one_hot=False))

    def cost_derivative(self, output_activations, y):
        """dC_x/da for the output activations: the quadratic cost's ``a - y``."""
        return output_activations - y

    def _overridden(self, *names):
        """Whether a subclass has replaced any of these methods with its own."""
        return any(getattr(type(self), name) is not getattr(Network, name) for name in names)


class _PairEpochs:
    """Epochs on a list of pairs: network2's SGD shuffles the list in place, as network.py."""

    def __init__(self, net, pairs, mini_batch_size, eta):
        self.net, self.pairs, self.mini_batch_size, self.eta = net, pairs, mini_batch_size, eta

    def run(self):
        self.net.SGD(self.pairs, 1, self.mini_batch_size, self.eta, 0.0, quiet=True)


class _ArrayEpochs:
    """Epochs on arrays ``(X, y)``, whose rows are taken in the order a list of them
    would have after the epochs so far (network2 starts every call from the rows' order)."""

    def __init__(self, net, data, mini_batch_size, eta):
        self.net, self.mini_batch_size, self.eta = net, mini_batch_size, eta
        self.X, self.y = data
        self.order = None             # order[k]: the row at list position k (None: k)

    def run(self):
        data = (self.X, self.y)
        if self.order is not None:
            data = (self.X[self.order], self.y[self.order])
        # The shuffle network2 is about to make, read off a copy of the generator.
        replay = random.Random()
        replay.setstate(random.getstate())
        permutation = shuffled_positions(len(self.X), replay)
        self.net.SGD(data, 1, self.mini_batch_size, self.eta, 0.0, quiet=True)
        self.order = permutation if self.order is None else self.order[permutation]


class _PerExampleEpochs:
    """network.py's own epoch, calling the network's (overridden) update_mini_batch."""

    def __init__(self, net, data, mini_batch_size, eta):
        self.net, self.mini_batch_size, self.eta = net, mini_batch_size, eta
        self.pairs = _as_pairs(data, net.sizes[-1], one_hot=True)

    def run(self):
        random.shuffle(self.pairs)
        m = self.mini_batch_size
        for k in range(0, len(self.pairs), m):
            self.net.update_mini_batch(self.pairs[k:k + m], self.eta)


def _as_pairs(data, n_out, one_hot):
    """A list of network.py's pairs: the list itself, or columns made from arrays ``(X, y)``.

    Array labels become one-hot columns when ``one_hot`` (training), else
    stay ints (test data); target rows become columns.
    """
    if not examples.is_array_form(data):
        return data if isinstance(data, list) else list(data)
    X, y = data
    y = np.asarray(y)
    if y.ndim == 1:
        targets = [network2.vectorized_result(int(label), n_out) if one_hot else int(label)
                   for label in y]
    else:
        targets = [row.reshape(-1, 1) for row in y]
    return [(x.reshape(-1, 1), t) for x, t in zip(X, targets)]


def _count(data):
    return len(data[0]) if examples.is_array_form(data) else len(data)

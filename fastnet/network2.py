"""A drop-in for network2.py whose training runs in compiled BLAS kernels.

Change ``import network2`` to ``from fastnet import network2`` and a script
keeps working: the same names, arguments, printed lines, return values, JSON
files and use of the random generators, so the same seeds give the same run
(up to floating-point summation order).

Besides network2's lists of ``(x, y)`` column pairs, data may be given as a
tuple of arrays ``(X, y)``: ``X`` of shape ``(n, sizes[0])``, ``y`` either
integer labels of shape ``(n,)`` or target rows of shape ``(n, sizes[-1])``.
Training runs in float64 by default; ``SGD(..., dtype=np.float32)`` trains in
float32 (about twice as fast, to float32 precision).

Validation lives here: the kernels in ``fastnet._kernels.training`` trust
every shape and value they are given.
"""
import json
import numbers
import operator
import os
import random
import tempfile

import numpy as np
from scipy.special import expit

from fastnet._kernels import training as _kernels
from fastnet.threads import kernel_threads


#### Costs

class QuadraticCost:

    kernel_id = _kernels.QUADRATIC

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` for desired output ``y``: 0.5 * ||a - y||^2."""
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta^L."""
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:

    kernel_id = _kernels.CROSS_ENTROPY

    @staticmethod
    def fn(a, y):
        """The cross-entropy cost; nan_to_num turns 0*log(0) = nan into 0."""
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta^L; sigma'(z) cancels out for this cost."""
        return a - y


_COSTS = {"CrossEntropyCost": CrossEntropyCost, "QuadraticCost": QuadraticCost}


#### The network

class Network:

    def __init__(self, sizes, cost=CrossEntropyCost, *, random_state=None):
        """A fully-connected sigmoid network with ``sizes[l]`` neurons in layer l.

        Layer 0 is the input.  Weights and biases start as
        ``default_weight_initializer`` makes them: drawn from np.random, as
        network2 does, or from ``random_state`` (a seed or a
        np.random.RandomState) when it is given, leaving np.random untouched.
        """
        self.sizes = _check_sizes(sizes)
        self.num_layers = len(self.sizes)
        _cost_kernel_id(cost)
        self.default_weight_initializer(random_state)
        self.cost = cost
        self._data_cache = {}

    def default_weight_initializer(self, random_state=None):
        """Gaussian weights with standard deviation 1/sqrt(fan-in); Gaussian biases.

        All biases are drawn first, layer by layer, then all weights.
        """
        self._draw_parameters(random_state, scale_by_fan_in=True)

    def large_weight_initializer(self, random_state=None):
        """Gaussian weights and biases with standard deviation 1, drawn in the same order."""
        self._draw_parameters(random_state, scale_by_fan_in=False)

    def _draw_parameters(self, random_state, scale_by_fan_in):
        generator = _normal_generator(random_state)
        self.biases = [generator.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [generator.randn(y, x) / (np.sqrt(x) if scale_by_fan_in else 1)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def feedforward(self, a):
        """The network's output for input column ``a`` (or several columns side by side)."""
        a = np.asarray(a, dtype=np.float64)
        if a.ndim not in (1, 2) or a.shape[0] != self.sizes[0]:
            raise ValueError("feedforward expects a column of shape ({}, 1), got shape {}"
                             .format(self.sizes[0], a.shape))
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + (b if a.ndim == 2 else np.ravel(b)))
        return a

    def outputs(self, X, dtype=None):
        """The output layer's activations for every row of ``X``: shape (n, sizes[-1]).

        The batch form of ``feedforward``, computed by the compiled kernel.
        """
        dtype = _check_dtype(dtype)
        X = _as_inputs(X, self.sizes[0], dtype, "X")
        return self._outputs(X, self._packed_parameters(dtype))

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0,
            evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
            monitor_training_cost=False, monitor_training_accuracy=False,
            *, dtype=None, progress=None, quiet=False, monitor_learning_speed=None,
            shuffle_with=None):
        """Train with mini-batch stochastic gradient descent and L2 regularisation.

        Exactly network2's SGD: every epoch shuffles ``training_data`` in place
        with ``random.shuffle``, steps through it in mini-batches, prints
        ``Epoch j training complete`` and the monitors that are switched on,
        and the four monitor lists are returned.  fastnet's extras, all
        keyword-only:

        - ``dtype``: np.float64 (default) or np.float32, the training precision;
        - ``progress``: a callable given the number of mini-batches just
          finished (e.g. a tqdm bar's ``update``); the epoch then runs in
          chunks, so Ctrl-C lands between chunks with the weights consistent;
        - ``quiet``: print nothing;
        - ``monitor_learning_speed``: data (as for ``learning_speed``); after
          every epoch the hidden layers' learning speeds on it are recorded,
          and a fifth list of them is returned;
        - ``shuffle_with``: a ``random.Random`` to shuffle with instead of the
          module-level ``random`` that network2 uses.
        """
        epochs = _check_count(epochs, "epochs", minimum=0)
        mini_batch_size = _check_count(mini_batch_size, "mini_batch_size", minimum=1)
        eta = _check_real(eta, "eta")
        lmbda = _check_real(lmbda, "lmbda")
        dtype = _check_dtype(dtype)
        if progress is not None and not callable(progress):
            raise TypeError("progress must be a callable taking a number of mini-batches")
        if shuffle_with is None:
            shuffle_with = random
        elif not isinstance(shuffle_with, random.Random):
            raise TypeError("shuffle_with must be a random.Random, got {!r}".format(shuffle_with))
        cost_id = _cost_kernel_id(self.cost)
        train = self._examples(training_data, dtype, "training_data")
        n = train.n
        if n == 0:
            raise ValueError("training_data is empty")
        if evaluation_data is not None:
            evaluation = self._examples(evaluation_data, dtype, "evaluation_data")
        elif monitor_evaluation_cost or monitor_evaluation_accuracy:
            raise ValueError("monitoring the evaluation cost or accuracy needs evaluation_data")
        if monitor_learning_speed is not None:
            speed_examples = self._examples(monitor_learning_speed, dtype,
                                            "monitor_learning_speed")
        # With one mini-batch per epoch on the very examples monitored (the
        # chapter's setting), each step's bias gradient is the speed before
        # that step, i.e. after the previous epoch: the kernel hands it over.
        reuse_steps = (monitor_learning_speed is not None and speed_examples is train
                       and mini_batch_size >= n)
        say = (lambda *args: None) if quiet else print
        n_batches = -(-n // mini_batch_size)
        chunk = n_batches if progress is None else max(1, n_batches // 100)
        batch_size = min(mini_batch_size, n)    # what the kernel allocates room for

        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []
        learning_speeds = []
        params = self._packed_parameters(dtype)
        step_bias_sums = np.zeros_like(params) if reuse_steps else None
        try:
            for j in range(epochs):
                order = train.shuffle(shuffle_with)
                if step_bias_sums is not None:
                    step_bias_sums[:] = 0
                with kernel_threads():
                    for first in range(0, n_batches, chunk):
                        stop = min(first + chunk, n_batches)
                        _kernels.sgd_epoch(train.X, train.targets, order, params, self._sizes,
                                           cost_id, batch_size, eta, lmbda, first, stop,
                                           step_bias_sums)
                        if progress is not None:
                            progress(stop - first)
                if step_bias_sums is not None and j > 0:
                    learning_speeds.append(self._speeds_from(step_bias_sums / n))
                self._set_parameters(params)
                say("Epoch %s training complete" % j)
                if monitor_training_cost:
                    cost = self._total_cost(train, lmbda, params)
                    training_cost.append(cost)
                    say("Cost on training data: {}".format(cost))
                if monitor_training_accuracy:
                    accuracy = self._accuracy(train, params)
                    training_accuracy.append(accuracy)
                    say("Accuracy on training data: {} / {}".format(accuracy, n))
                if monitor_evaluation_cost:
                    cost = self._total_cost(evaluation, lmbda, params)
                    evaluation_cost.append(cost)
                    say("Cost on evaluation data: {}".format(cost))
                if monitor_evaluation_accuracy:
                    accuracy = self._accuracy(evaluation, params)
                    evaluation_accuracy.append(accuracy)
                    say("Accuracy on evaluation data: {} / {}".format(accuracy, evaluation.n))
                if monitor_learning_speed is not None and step_bias_sums is None:
                    learning_speeds.append(self._learning_speed(speed_examples, params))
                say()
        finally:
            # Ctrl-C between chunks still leaves the finished mini-batches' weights.
            self._set_parameters(params)
        if step_bias_sums is not None and epochs > 0:
            learning_speeds.append(self._learning_speed(speed_examples, params))
        monitors = (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy)
        if monitor_learning_speed is not None:
            return monitors + (learning_speeds,)
        return monitors

    def backprop(self, x, y):
        """The gradient ``(nabla_b, nabla_w)`` of the cost C_x of one example.

        ``x`` is an input column, ``y`` the desired output column (or an int label).
        """
        x = _as_matrix(x, self.sizes[0], np.float64, "x").reshape(1, -1)
        target = _target_row(y, self.sizes[-1], "y").reshape(1, -1)
        examples = _Examples(x, _as_matrix(target, self.sizes[-1], np.float64, "y"))
        return self._mean_gradients(examples, self._packed_parameters(np.float64))

    def gradients(self, data, dtype=None):
        """The mean over ``data`` of every example's gradient: ``(nabla_b, nabla_w)``.

        ``nabla_b[l]`` averages dC_x/db over the examples, the chapter's measure
        of how fast each neuron of layer l+1 learns.
        """
        dtype = _check_dtype(dtype)
        examples = self._examples(data, dtype, "data")
        if examples.n == 0:
            raise ValueError("data is empty")
        return self._mean_gradients(examples, self._packed_parameters(dtype))

    def learning_speed(self, data, dtype=None):
        """The learning speed ||delta^l|| of every hidden layer, as the chapter defines it.

        delta^l is dC/db^l averaged over the examples in ``data``.
        """
        dtype = _check_dtype(dtype)
        examples = self._examples(data, dtype, "data")
        if examples.n == 0:
            raise ValueError("data is empty")
        return self._learning_speed(examples, self._packed_parameters(dtype))

    def accuracy(self, data, convert=False):
        """How many examples of ``data`` the network classifies right.

        ``convert`` is accepted for network2's sake; the label format (int
        labels or one-hot columns) is read off the data itself.
        """
        examples = self._examples(data, np.float64, "data")
        return self._accuracy(examples, self._packed_parameters(np.float64))

    def total_cost(self, data, lmbda, convert=False):
        """Mean cost over ``data`` plus the L2 term 0.5*(lmbda/n)*sum ||w||^2.

        ``convert`` is accepted for network2's sake; the label format is read
        off the data itself.
        """
        lmbda = _check_real(lmbda, "lmbda")
        examples = self._examples(data, np.float64, "data")
        if examples.n == 0:
            raise ValueError("data is empty")
        return self._total_cost(examples, lmbda, self._packed_parameters(np.float64))

    def save(self, filename):
        """Write network2's JSON: sizes, weights, biases and the cost's name.

        The file is written to a temporary name beside it and then renamed,
        so a crash never leaves half a file behind.
        """
        data = {"sizes": list(self.sizes),
                "weights": [np.asarray(w).tolist() for w in self.weights],
                "biases": [np.asarray(b).tolist() for b in self.biases],
                "cost": str(self.cost.__name__)}
        _write_atomically(filename, json.dumps(data))

    #### Internals: conversion, packing and the kernel calls

    @property
    def _sizes(self):
        return np.asarray(self.sizes, dtype=np.intc)

    def _packed_parameters(self, dtype):
        """Check weights and biases and pack them, layer by layer, into one flat array."""
        sizes = _check_sizes(self.sizes)
        if len(self.weights) != len(sizes) - 1 or len(self.biases) != len(sizes) - 1:
            raise ValueError("a network with sizes {} needs {} weight matrices and bias "
                             "vectors, got {} and {}".format(sizes, len(sizes) - 1,
                                                             len(self.weights),
                                                             len(self.biases)))
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            n_in, n_out = sizes[l], sizes[l + 1]
            w = _as_numeric(w, "weights[{}]".format(l))
            b = _as_numeric(b, "biases[{}]".format(l))
            if w.shape != (n_out, n_in):
                raise ValueError("weights[{}] must have shape {}, got {}"
                                 .format(l, (n_out, n_in), w.shape))
            if b.shape not in ((n_out, 1), (n_out,)):
                raise ValueError("biases[{}] must have shape {}, got {}"
                                 .format(l, (n_out, 1), b.shape))
        params = _pack(self.weights, self.biases, dtype)
        if not np.isfinite(params).all():
            raise ValueError("the weights or biases contain NaN or infinity")
        return params

    def _set_parameters(self, params):
        """Unpack the flat array into fresh float64 ``weights`` and ``biases`` lists."""
        weights, biases = _unpack(params, self.sizes)
        self.weights = [w.astype(np.float64) for w in weights]
        self.biases = [b.astype(np.float64) for b in biases]

    def _examples(self, data, dtype, what):
        """``data`` as arrays, converted and checked once, then reused while unchanged.

        A network2 list is reused while it holds the same pairs; arrays while
        the same array objects are passed.  Reuse also carries on the row
        order, so several SGD calls shuffle like one call of as many epochs.
        """
        if isinstance(data, list):
            key = ("list", id(data), np.dtype(dtype).str)
            build = _ListExamples
        elif isinstance(data, tuple) and len(data) == 2:
            key = ("arrays", id(data[0]), id(data[1]), np.dtype(dtype).str)
            build = _ArrayExamples
        else:
            raise TypeError("{} must be a list of (x, y) pairs or a tuple of arrays (X, y), "
                            "got {}".format(what, type(data).__name__))
        cache = self.__dict__.setdefault("_data_cache", {})
        cached = cache.get(key)
        if cached is None or not cached.matches(data):
            cached = build(data, self.sizes, dtype, what)
            if len(cache) >= 4:
                cache.clear()
            cache[key] = cached
        return cached

    def __getstate__(self):
        """Pickle and copy a network without the data it has converted and cached."""
        state = self.__dict__.copy()
        state["_data_cache"] = {}
        return state

    def _outputs(self, X, params):
        outputs = np.empty((X.shape[0], self.sizes[-1]), dtype=params.dtype)
        if X.shape[0]:
            with kernel_threads():
                _kernels.feedforward(X, params, self._sizes, outputs)
        return outputs

    def _accuracy(self, examples, params):
        correct = 0
        for rows in _blocks(examples.n):
            predictions = np.argmax(self._outputs(examples.X[rows], params), axis=1)
            correct += int(np.count_nonzero(predictions == examples.labels[rows]))
        return correct

    def _total_cost(self, examples, lmbda, params):
        cost = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            for rows in _blocks(examples.n):
                outputs = self._outputs(examples.X[rows], params)
                cost += float(self.cost.fn(outputs, examples.targets[rows]))
        weights, _ = _unpack(params, self.sizes)
        regulariser = sum(np.linalg.norm(w) ** 2 for w in weights)
        return cost / examples.n + 0.5 * (lmbda / examples.n) * float(regulariser)

    def _gradient_sums(self, examples, params):
        sums = np.zeros_like(params)
        with kernel_threads():
            _kernels.accumulate_gradients(examples.X, examples.targets, params, self._sizes,
                                          _cost_kernel_id(self.cost), sums)
        return sums

    def _mean_gradients(self, examples, params):
        weights, biases = _unpack(self._gradient_sums(examples, params) / examples.n,
                                  self.sizes)
        return biases, weights

    def _learning_speed(self, examples, params):
        return self._speeds_from(self._gradient_sums(examples, params) / examples.n)

    def _speeds_from(self, mean_gradient):
        """||delta^l|| of every hidden layer, from a mean gradient in the flat layout."""
        _, biases = _unpack(mean_gradient, self.sizes)
        return [float(np.linalg.norm(b)) for b in biases[:-1]]


def load(filename):
    """Rebuild a Network from a JSON file written by ``save`` (fastnet's or network2's).

    Like network2, this constructs ``Network(sizes, cost)`` first, which draws
    the default initial weights from np.random, then overwrites them.
    """
    try:
        with open(filename, "r") as f:
            data = json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError("{} is not a network2 JSON file: {}".format(filename, error)) from None
    if not isinstance(data, dict) or not {"sizes", "weights", "biases", "cost"} <= set(data):
        raise ValueError("{} is not a network2 file: it needs the keys sizes, weights, "
                         "biases and cost".format(filename))
    if data["cost"] not in _COSTS:
        raise ValueError("{}: unknown cost {!r}; expected one of {}"
                         .format(filename, data["cost"], sorted(_COSTS)))
    net = Network(data["sizes"], cost=_COSTS[data["cost"]])
    try:
        net.weights = [np.array(w, dtype=np.float64) for w in data["weights"]]
        net.biases = [np.array(b, dtype=np.float64) for b in data["biases"]]
    except (TypeError, ValueError) as error:
        raise ValueError("{}: weights or biases are not numeric arrays: {}"
                         .format(filename, error)) from None
    try:
        net._packed_parameters(np.float64)
    except ValueError as error:
        raise ValueError("{}: {}".format(filename, error)) from None
    return net


#### Module-level helpers

def vectorized_result(j, size=10):
    """A ``(size, 1)`` one-hot column with 1.0 in position j: a digit as the network's target."""
    e = np.zeros((size, 1))
    e[j] = 1.0
    return e


def sigmoid(z):
    """The sigmoid 1/(1+exp(-z)), computed without overflow (scipy's expit)."""
    return expit(z)


def sigmoid_prime(z):
    """The derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


#### Data as arrays

class _Examples:
    """Inputs ``X`` (n, n0), target rows ``targets`` (n, nL) and class ``labels`` (n,)."""

    def __init__(self, X, targets, labels=None):
        self.X = X
        self.targets = targets
        self.labels = np.argmax(targets, axis=1) if labels is None else labels
        self.n = X.shape[0]


class _ArrayExamples(_Examples):
    """Data given as arrays ``(X, y)``, which are never reordered.

    ``order[k]`` is the row of ``X`` that network2's list would hold at
    position k after the epochs so far, starting from the arrays' own order.
    """

    def __init__(self, data, sizes, dtype, what):
        X, y = data
        self.source = (X, y, np.shape(X), np.shape(y))
        X = _as_inputs(X, sizes[0], dtype, what + " inputs X")
        y = np.asarray(y)
        targets = _targets_from(y, X.shape[0], sizes[-1], dtype, what + " labels y")
        super().__init__(X, targets, y.astype(np.intp) if y.ndim == 1 else None)
        self.order = np.arange(self.n, dtype=np.intp)

    def matches(self, data):
        """Whether ``data`` holds the very arrays (of the same shapes) seen before.

        Values changed in place inside those arrays are not noticed.
        """
        X, y, X_shape, y_shape = self.source
        return (isinstance(X, np.ndarray) and isinstance(y, np.ndarray)
                and data[0] is X and data[1] is y
                and X.shape == X_shape and y.shape == y_shape)

    def shuffle(self, generator):
        """The epoch's row order: network2 shuffles the same list every epoch."""
        self.order = self.order[_shuffled_positions(self.n, generator)]
        return self.order


class _ListExamples(_Examples):
    """A network2 list converted to arrays once, and the order its pairs are in now.

    ``order[k]`` is the row of ``X`` holding the pair now at ``data[k]``.
    """

    def __init__(self, data, sizes, dtype, what):
        n0, n_out = sizes[0], sizes[-1]
        xs = [pair[0] if isinstance(pair, tuple) and len(pair) == 2 else None for pair in data]
        ys = [pair[1] if isinstance(pair, tuple) and len(pair) == 2 else None for pair in data]
        X = _stack_columns(xs, n0, dtype, keep_float32=True)
        if _all_labels(ys):
            targets = _targets_from(np.array(ys, dtype=np.int64), len(ys), n_out, dtype,
                                    what + " labels")
        else:
            targets = _stack_columns(ys, n_out, dtype)
        if X is None or targets is None:
            X, targets = _convert_pair_by_pair(data, n0, n_out, dtype, what)
        _check_finite(X, what + " inputs")
        _check_finite(targets, what + " labels")
        super().__init__(X, targets)
        self.data = data
        self.snapshot = list(data)
        self.order = np.arange(len(data), dtype=np.intp)

    def matches(self, data):
        """Whether ``data`` still holds the very pairs, in the order, last seen."""
        return len(data) == len(self.snapshot) and all(map(operator.is_, data, self.snapshot))

    def shuffle(self, generator):
        """Shuffle the caller's list in place, exactly as network2's random.shuffle does."""
        permutation = _shuffled_positions(self.n, generator)
        shuffled = list(map(self.snapshot.__getitem__, permutation.tolist()))
        self.data[:] = shuffled
        self.snapshot = shuffled
        self.order = self.order[permutation]
        return self.order


def _shuffled_positions(n, generator):
    """The permutation ``generator.shuffle`` would apply to a list of length n.

    ``generator`` is the ``random`` module or a ``random.Random``; its state
    advances exactly as that shuffle would advance it.  random.shuffle draws
    the same numbers for any list of a given length, so the permutation is
    all that matters.  CPython's generator is MT19937, which NumPy has too:
    NumPy draws the 32-bit words, the kernel replays shuffle's use of them,
    and the generator is moved on by as many words.  Any other state format
    falls back to shuffling a Python list.
    """
    version, internal, gauss_next = generator.getstate()
    if version != 3 or len(internal) != 625 or n < 2 or n > 2 ** 31:
        positions = list(range(n))
        generator.shuffle(positions)
        return np.array(positions, dtype=np.intp)
    start = {"bit_generator": "MT19937",
             "state": {"key": np.array(internal[:624], dtype=np.uint32), "pos": internal[624]}}
    words = np.random.MT19937()
    wanted = 2 * n + 64          # each draw is accepted with probability > 1/2
    while True:
        words.state = start
        positions = np.arange(n, dtype=np.intp)
        used = _kernels.shuffle_positions(words.random_raw(wanted), positions)
        if used >= 0:
            break
        wanted *= 2
    words.state = start
    words.random_raw(used)
    end = words.state["state"]
    generator.setstate((version, tuple(end["key"].tolist()) + (int(end["pos"]),), gauss_next))
    return positions


def _stack_columns(columns, height, dtype, keep_float32=False):
    """Stack ndarray columns of shape (height, 1) as rows, or None if any is not one.

    With ``keep_float32``, columns that are all float32 stay float32.
    """
    shape = (height, 1)
    if not all(isinstance(c, np.ndarray) and c.shape == shape and c.dtype.kind in "biuf"
               for c in columns):
        return None
    if keep_float32 and columns and all(c.dtype == np.float32 for c in columns):
        dtype = np.float32
    if not columns:
        return np.empty((0, height), dtype=dtype)
    return np.stack(columns, dtype=dtype).reshape(len(columns), height)


def _all_labels(ys):
    return all(isinstance(y, numbers.Integral) and not isinstance(y, bool) for y in ys)


def _convert_pair_by_pair(data, n0, n_out, dtype, what):
    """The slow, forgiving conversion, which names the first pair that is wrong."""
    X = np.empty((len(data), n0), dtype=dtype)
    targets = np.zeros((len(data), n_out), dtype=dtype)
    for k, pair in enumerate(data):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError("{}[{}] must be an (x, y) pair".format(what, k))
        x, y = pair
        x = _as_numeric(x, "{}[{}] x".format(what, k))
        if x.size != n0 or x.ndim > 2 or (x.ndim == 2 and x.shape[1] != 1):
            raise ValueError("{}[{}]: x must be a column of shape ({}, 1), got {}"
                             .format(what, k, n0, x.shape))
        X[k] = x.ravel()
        targets[k] = _target_row(y, n_out, "{}[{}] y".format(what, k))
    return X, targets


def _target_row(y, n_out, what):
    """One example's target row from an int label or a target column."""
    if isinstance(y, numbers.Integral) or (isinstance(y, np.ndarray) and y.ndim == 0
                                           and y.dtype.kind in "iu"):
        label = int(y)
        if not 0 <= label < n_out:
            raise ValueError("{}: label {} is out of range 0..{}".format(what, label, n_out - 1))
        row = np.zeros(n_out)
        row[label] = 1.0
        return row
    y = _as_numeric(y, what)
    if y.size != n_out or y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise ValueError("{} must be an int label or a column of shape ({}, 1), got shape {}"
                         .format(what, n_out, y.shape))
    return y.ravel()


def _targets_from(y, n, n_out, dtype, what):
    """Target rows (n, n_out) from int labels (n,) or target rows (n, n_out)."""
    if y.ndim == 1 or y.ndim == 0:
        if y.dtype.kind not in "iu":
            raise TypeError("{} must be integer class labels, got dtype {}".format(what, y.dtype))
        y = y.reshape(-1)
        if y.shape[0] != n:
            raise ValueError("{} has {} labels for {} examples".format(what, y.shape[0], n))
        if n and (y.min() < 0 or y.max() >= n_out):
            raise ValueError("{}: labels must lie in 0..{}, found {}..{}"
                             .format(what, n_out - 1, y.min(), y.max()))
        targets = np.zeros((n, n_out), dtype=dtype)
        targets[np.arange(n), y] = 1
        return targets
    if y.ndim == 2 and y.shape == (n, n_out):
        return _as_matrix(y, n_out, dtype, what)
    raise ValueError("{} must have shape ({},) of int labels or ({}, {}) of target rows, "
                     "got {}".format(what, n, n, n_out, y.shape))


def _as_numeric(a, what):
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError("{} must be a numeric array, got dtype {}".format(what, a.dtype))
    return a


def _as_matrix(X, width, dtype, what):
    """X as a C-contiguous (n, width) array of dtype with finite values (no copy if it is one)."""
    X = _as_numeric(X, what)
    if X.ndim == 2 and X.shape[1] == 1 and X.shape[0] == width:
        X = X.reshape(1, width)          # a single network2 column
    if X.ndim != 2 or X.shape[1] != width:
        raise ValueError("{} must have shape (n, {}), got {}".format(what, width, X.shape))
    X = np.ascontiguousarray(X, dtype=dtype)
    _check_finite(X, what)
    return X


def _input_dtype(example, dtype):
    """The precision to keep inputs in: their own if float32 or float64, else ``dtype``.

    The kernels convert input rows to the network's precision as they read
    them, so float32 images train a float64 network without a float64 copy.
    """
    kept = getattr(example, "dtype", None)
    return kept.type if kept in (np.dtype(np.float32), np.dtype(np.float64)) else dtype


def _as_inputs(X, width, dtype, what):
    """Input rows as a C-contiguous (n, width) float32 or float64 array, finite."""
    return _as_matrix(X, width, _input_dtype(np.asarray(X), dtype), what)


def _check_finite(a, what):
    """Raise if ``a`` holds NaN or infinity, in one pass and without a temporary as large as a.

    A sum is finite exactly when no element is NaN or infinite, unless
    finite elements overflow it; only then are the elements checked one block
    at a time.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if a.size == 0 or np.isfinite(a.sum(dtype=np.float64)):
            return
    flat = a.reshape(-1)
    for start in range(0, flat.size, 1 << 20):
        if not np.isfinite(flat[start:start + (1 << 20)]).all():
            raise ValueError("{} contain NaN or infinity".format(what))


def _blocks(n, rows=8192):
    """Slices of at most `rows` rows covering 0..n, to bound temporary memory."""
    return [slice(start, min(start + rows, n)) for start in range(0, n, rows)]


def _pack(weights, biases, dtype=np.float64):
    """The kernels' flat layout: layer by layer, the weights row by row, then the biases."""
    return np.concatenate([part for w, b in zip(weights, biases)
                           for part in (np.ravel(w), np.ravel(b))]).astype(dtype, copy=False)


def _unpack(params, sizes):
    """Views of a flat parameter array as (weights, biases) lists in network2's shapes."""
    weights, biases, offset = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(params[offset:offset + n_out * n_in].reshape(n_out, n_in))
        offset += n_out * n_in
        biases.append(params[offset:offset + n_out].reshape(n_out, 1))
        offset += n_out
    return weights, biases


#### Argument checks

def _check_sizes(sizes):
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError("sizes must be a list of layer widths, e.g. [784, 30, 10]") from None
    if len(sizes) < 2:
        raise ValueError("sizes needs at least two layers (input and output), got {}"
                         .format(sizes))
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError("sizes must hold integers, got {!r}".format(s))
        if s < 1:
            raise ValueError("every layer needs at least one neuron, got sizes {}".format(sizes))
        if s > 2 ** 30:
            raise ValueError("layer width {} is too large".format(s))
    return [int(s) for s in sizes]


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("{} must be an integer, got {!r}".format(name, value))
    if value < minimum:
        raise ValueError("{} must be at least {}, got {}".format(name, minimum, value))
    if value > 2 ** 31 - 1:
        raise ValueError("{} is too large: {}".format(name, value))
    return int(value)


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("{} must be a real number, got {!r}".format(name, value))
    if not np.isfinite(value):
        raise ValueError("{} must be finite, got {}".format(name, value))
    return float(value)


def _normal_generator(random_state):
    """np.random itself (network2's choice), or a RandomState for a seed or a RandomState."""
    if random_state is None:
        return np.random
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.RandomState(random_state)
    raise TypeError("random_state must be None, an int seed or a np.random.RandomState, "
                    "got {!r}".format(random_state))


def _check_dtype(dtype):
    if dtype is None:
        return np.float64
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError("dtype must be float64 or float32, got {!r}".format(dtype)) from None
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError("dtype must be float64 or float32, got {}".format(dtype))
    return dtype.type


def _cost_kernel_id(cost):
    """The kernels know network2's two costs, by class (or by name for network2's own)."""
    kernel_id = getattr(cost, "kernel_id", None)
    if kernel_id is None:
        known = _COSTS.get(getattr(cost, "__name__", None))
        if known is None:
            raise ValueError("cost must be CrossEntropyCost or QuadraticCost, got {!r}"
                             .format(cost))
        kernel_id = known.kernel_id
    return kernel_id


def _write_atomically(filename, text):
    """Write text to filename via a temporary file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(filename))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".fastnet-", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)   # what open(filename, "w") would have given
        with os.fdopen(handle, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, filename)
    except BaseException:
        os.unlink(temporary)
        raise

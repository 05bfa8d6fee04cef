"""The NumPy reference: network2's maths, one example at a time, written to be read.

This module is the oracle for fastnet's tests and the baseline for its
benchmarks.  It follows the book's network2.py line by line, in the same
arithmetic order: a mini-batch's gradient is the sum of per-example gradients
from ``backprop``, and the update is

    w <- (1 - eta*lmbda/n) * w - (eta/m) * nabla_w
    b <- b - (eta/m) * nabla_b

It is deliberately unoptimised.  It accepts only network2's data format: lists
of ``(x, y)`` pairs of column vectors.

It imports nothing from fastnet: the costs, activations and initial weights
are written out again here rather than taken from ``fastnet.costs`` or
``fastnet.activations``, so that the oracle is independent, and a mistake in
fastnet's own formulas shows up as a disagreement instead of being repeated
on both sides of every test.

Beyond network2, as fastnet's kernels: the hidden layers' activation may be
sigmoid, tanh or ReLU, and the output layer sigmoid or softmax (with the
log-likelihood cost); ``ACTIVATIONS`` holds each function with its derivative.
"""
import json
import random
import sys

import numpy as np


class QuadraticCost:

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` for desired output ``y``: 0.5 * ||a - y||^2."""
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta^L."""
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:

    @staticmethod
    def fn(a, y):
        """The cross-entropy cost; nan_to_num turns 0*log(0) = nan into 0."""
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta^L; sigma'(z) cancels out for this cost."""
        return a - y


class LogLikelihoodCost:

    @staticmethod
    def fn(a, y):
        """-ln a_y for a one-hot y (the cost of a softmax output layer)."""
        return -np.sum(np.nan_to_num(y * np.log(a)))

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta^L for softmax outputs: a - y."""
        return a - y


class Network:

    def __init__(self, sizes, cost=CrossEntropyCost, activation="sigmoid", output="sigmoid"):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.default_weight_initializer()
        self.cost = cost
        self.hidden, self.hidden_prime = ACTIVATIONS[activation]
        self.output = softmax if output == "softmax" else sigmoid

    def layer_activation(self, layer, z):
        """a = f(z) for layer ``layer`` (0: the first layer after the input)."""
        if layer == len(self.weights) - 1:
            return self.output(z)
        return self.hidden(z)

    def default_weight_initializer(self):
        """Gaussian weights with standard deviation 1/sqrt(fan-in); Gaussian biases."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def large_weight_initializer(self):
        """Gaussian weights and biases with standard deviation 1."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def glorot_weight_initializer(self):
        """Gaussian weights of variance 2/(n_in + n_out), drawn layer by layer; zero biases."""
        self.weights = [np.random.randn(y, x) * np.sqrt(2.0 / (x + y))
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self.biases = [np.zeros((y, 1)) for y in self.sizes[1:]]

    def he_weight_initializer(self):
        """Gaussian weights of variance 2/n_in, drawn layer by layer; zero biases."""
        self.weights = [np.random.randn(y, x) * np.sqrt(2.0 / x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self.biases = [np.zeros((y, 1)) for y in self.sizes[1:]]

    def feedforward(self, a):
        """The network's output for input column ``a``."""
        for layer, (b, w) in enumerate(zip(self.biases, self.weights)):
            a = self.layer_activation(layer, np.dot(w, a) + b)
        return a

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0,
            evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
            monitor_training_cost=False, monitor_training_accuracy=False):
        """Mini-batch stochastic gradient descent, printing and returning the monitors."""
        n = len(training_data)
        if evaluation_data:
            n_data = len(evaluation_data)
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []
        for j in range(epochs):
            random.shuffle(training_data)
            mini_batches = [training_data[k:k + mini_batch_size]
                            for k in range(0, n, mini_batch_size)]
            for mini_batch in mini_batches:
                self.update_mini_batch(mini_batch, eta, lmbda, len(training_data))
            print("Epoch %s training complete" % j)
            if monitor_training_cost:
                cost = self.total_cost(training_data, lmbda)
                training_cost.append(cost)
                print("Cost on training data: {}".format(cost))
            if monitor_training_accuracy:
                accuracy = self.accuracy(training_data, convert=True)
                training_accuracy.append(accuracy)
                print("Accuracy on training data: {} / {}".format(accuracy, n))
            if monitor_evaluation_cost:
                cost = self.total_cost(evaluation_data, lmbda, convert=True)
                evaluation_cost.append(cost)
                print("Cost on evaluation data: {}".format(cost))
            if monitor_evaluation_accuracy:
                accuracy = self.accuracy(evaluation_data)
                evaluation_accuracy.append(accuracy)
                print("Accuracy on evaluation data: {} / {}".format(accuracy, n_data))
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """One gradient step on one mini-batch, with L2 weight decay."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [(1 - eta * (lmbda / n)) * w - (eta / len(mini_batch)) * nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb
                       for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        """The gradient (nabla_b, nabla_w) of the cost C_x of one example."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for layer, (b, w) in enumerate(zip(self.biases, self.weights)):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = self.layer_activation(layer, z)
            activations.append(activation)
        delta = self.cost.delta(zs[-1], activations[-1], y)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for layer in range(2, self.num_layers):
            z = zs[-layer]
            sp = self.hidden_prime(z)
            delta = np.dot(self.weights[-layer + 1].transpose(), delta) * sp
            nabla_b[-layer] = delta
            nabla_w[-layer] = np.dot(delta, activations[-layer - 1].transpose())
        return nabla_b, nabla_w

    def accuracy(self, data, convert=False):
        """How many examples the network classifies right; convert=True: one-hot labels."""
        if convert:
            results = [(np.argmax(self.feedforward(x)), np.argmax(y)) for (x, y) in data]
        else:
            results = [(np.argmax(self.feedforward(x)), y) for (x, y) in data]
        return sum(int(x == y) for (x, y) in results)

    def total_cost(self, data, lmbda, convert=False):
        """Mean cost over ``data`` plus the L2 term; convert=True: int labels."""
        cost = 0.0
        for x, y in data:
            a = self.feedforward(x)
            if convert:
                y = vectorized_result(y, len(a))
            cost += self.cost.fn(a, y) / len(data)
        cost += 0.5 * (lmbda / len(data)) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        return cost

    def save(self, filename):
        """Write sizes, weights, biases and the cost's name as network2's JSON."""
        data = {"sizes": self.sizes,
                "weights": [w.tolist() for w in self.weights],
                "biases": [b.tolist() for b in self.biases],
                "cost": str(self.cost.__name__)}
        with open(filename, "w") as f:
            json.dump(data, f)


def load(filename):
    """Rebuild a Network from a file written by ``save``."""
    with open(filename, "r") as f:
        data = json.load(f)
    cost = getattr(sys.modules[__name__], data["cost"])
    net = Network(data["sizes"], cost=cost)
    net.weights = [np.array(w) for w in data["weights"]]
    net.biases = [np.array(b) for b in data["biases"]]
    return net


def vectorized_result(j, size=10):
    """A one-hot column with 1.0 in position j."""
    e = np.zeros((size, 1))
    e[j] = 1.0
    return e


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """The derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


def tanh_prime(z):
    """The derivative of tanh: 1 - tanh(z)^2."""
    return 1 - np.tanh(z) ** 2


def relu(z):
    """max(0, z), elementwise."""
    return np.maximum(z, 0)


def relu_prime(z):
    """1 where z > 0, else 0 (the derivative at 0 is taken to be 0)."""
    return (z > 0).astype(float)


def softmax(z):
    """exp(z_j) / sum_k exp(z_k) over the column; shifting z by its max avoids overflow."""
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_prime),
               "tanh": (np.tanh, tanh_prime),
               "relu": (relu, relu_prime)}

"""What each layer computes, and how a network's first weights are drawn.

network2's networks are sigmoid throughout.  Chapter 5 of the book explains
why deep sigmoid networks learn slowly in their early layers, and points at
the remedies this module names:

- the hidden layers' activation: ``"sigmoid"`` (network2's), ``"tanh"`` or
  ``"relu"`` (max(0, z));
- the output layer: ``"sigmoid"`` (network2's) or ``"softmax"``, which goes
  with ``LogLikelihoodCost`` (C = -ln a_y, the book's chapter 3);
- the initial weights (``INITIALISERS``): network2's ``"default"``, N(0, 1/n_in),
  and ``"large"``, N(0, 1), both with N(0, 1) biases; ``"glorot"`` (Glorot and
  Bengio 2010), N(0, 2/(n_in + n_out)), and ``"he"`` (He et al. 2015),
  N(0, 2/n_in), both with zero biases, as their papers have them.

Every activation is computed by the compiled kernels (the ``Activation``
enum); this module checks the names a user gives and maps them there.
"""
from collections import namedtuple

import numpy as np

from fastnet._kernels.training import Activation, Cost
from fastnet.costs import sigmoid

HIDDEN = {"sigmoid": Activation.SIGMOID, "tanh": Activation.TANH, "relu": Activation.RELU}
OUTPUTS = {"sigmoid": Activation.SIGMOID, "softmax": Activation.SOFTMAX}
INITIALISERS = ("default", "large", "glorot", "he")


class Layers(namedtuple("Layers", "hidden output")):
    """The kernels' activations of a network: one for its hidden layers, one for its output.

    Held as plain ints (the ``Activation`` values): the kernels take those
    about 0.5 us faster per argument than the enum objects, which counts in
    the per-example calls.
    """


DEFAULT = Layers(int(Activation.SIGMOID), int(Activation.SIGMOID))     # network2's


def check_choice(value, name, choices):
    """``value`` if it is one of ``choices`` (strings), else a ValueError naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError("{} must be one of {}, got {!r}"
                         .format(name, ", ".join(repr(c) for c in choices), value))
    return value


def kernel_layers(activation, output, cost_kind):
    """The kernels' ``Layers`` for these names, checking that the output suits the cost.

    Softmax and the log-likelihood cost go together: with them the output
    error is a - y.  network2's two costs assume a sigmoid output layer.
    """
    check_choice(activation, "activation", tuple(HIDDEN))
    check_choice(output, "output", tuple(OUTPUTS))
    if output == "softmax" and cost_kind != Cost.LOG_LIKELIHOOD:
        raise ValueError("output='softmax' needs cost=LogLikelihoodCost (the cost -ln a_y "
                         "whose output error is a - y); got the cost {}"
                         .format(cost_kind.name))
    if output == "sigmoid" and cost_kind == Cost.LOG_LIKELIHOOD:
        raise ValueError("cost=LogLikelihoodCost needs output='softmax'; "
                         "a sigmoid output layer goes with CrossEntropyCost or QuadraticCost")
    return Layers(int(HIDDEN[activation]), int(OUTPUTS[output]))


# NumPy forms for analyses outside the kernels: each activation, and its
# derivative written in terms of a = f(z), as the kernels compute it.
NUMPY_FUNCTIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1 - a)),      # scipy's expit: no overflow
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
}


def draw_parameters(sizes, init, generator):
    """``(weights, biases)`` in network2's shapes for the initialiser ``init``.

    network2's two initialisers draw every bias first, layer by layer, then
    every weight, so the same seed gives network2's very numbers.  Glorot
    and He draw only the weights, layer by layer; their biases are zero.
    """
    check_choice(init, "init", INITIALISERS)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    if init in ("default", "large"):
        biases = [generator.randn(n_out, 1) for _, n_out in pairs]
        weights = [generator.randn(n_out, n_in) / (np.sqrt(n_in) if init == "default" else 1)
                   for n_in, n_out in pairs]
        return weights, biases
    scale = {"glorot": lambda n_in, n_out: np.sqrt(2.0 / (n_in + n_out)),
             "he": lambda n_in, n_out: np.sqrt(2.0 / n_in)}[init]
    weights = [generator.randn(n_out, n_in) * scale(n_in, n_out) for n_in, n_out in pairs]
    biases = [np.zeros((n_out, 1)) for _, n_out in pairs]
    return weights, biases

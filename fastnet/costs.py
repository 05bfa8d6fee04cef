"""network2's two cost functions (and the log-likelihood for softmax outputs), and which
output error the kernels compute for each.

A cost is a class with static methods ``fn(a, y)`` (the cost of output ``a``
for desired output ``y``) and ``delta(z, a, y)`` (the output layer's error).
The kernels compute ``delta`` themselves; ``kind`` tells them which one.
"""
import numpy as np

from fastnet._kernels.training import Cost


def sigmoid(z):
    """The sigmoid 1/(1+exp(-z)), computed without overflow (scipy's expit).

    SciPy's special functions take a third of a second to import, so they
    are imported at the first call: training (all in the kernels) never
    needs them.
    """
    from scipy.special import expit
    return expit(z)


def sigmoid_prime(z):
    """The derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


class QuadraticCost:

    kind = Cost.QUADRATIC

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` for desired output ``y``: 0.5 * ||a - y||^2."""
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta^L."""
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:

    kind = Cost.CROSS_ENTROPY

    @staticmethod
    def fn(a, y):
        """The cross-entropy cost; nan_to_num turns 0*log(0) = nan into 0."""
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta^L; sigma'(z) cancels out for this cost."""
        return a - y


class LogLikelihoodCost:
    """The cost -ln a_y of a softmax output layer (not in network2; the book's network3).

    Use it with ``Network(..., output="softmax")``.
    """

    kind = Cost.LOG_LIKELIHOOD

    @staticmethod
    def fn(a, y):
        """-sum y ln a, which is -ln a_y for a one-hot y; nan_to_num turns 0*log(0) into 0."""
        return -np.sum(np.nan_to_num(y * np.log(a)))

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta^L for softmax outputs: a - y."""
        return a - y


COSTS = {"CrossEntropyCost": CrossEntropyCost, "QuadraticCost": QuadraticCost,
         "LogLikelihoodCost": LogLikelihoodCost}


def cost_by_name(name, what="cost"):
    """The cost class a saved file names ("CrossEntropyCost", "QuadraticCost", ...)."""
    if not isinstance(name, str) or name not in COSTS:
        raise ValueError("{}: unknown cost {!r}; expected one of {}"
                         .format(what, name, sorted(COSTS)))
    return COSTS[name]


def cost_kind(cost):
    """The kernels' Cost for a cost class: fastnet's, or network2's own by its name."""
    kind = getattr(cost, "kind", None)
    if isinstance(kind, Cost):
        return kind
    name = getattr(cost, "__name__", None)
    if isinstance(name, str) and name in COSTS:
        return COSTS[name].kind
    raise TypeError("cost must be CrossEntropyCost, QuadraticCost or LogLikelihoodCost, "
                    "got {!r}".format(cost))

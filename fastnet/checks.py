"""Argument checks shared by fastnet's modules.

Each returns the value in the form the rest of fastnet uses (a plain int,
a float, a NumPy scalar type) or raises a TypeError/ValueError that names the
argument and says what is wrong.  The kernels trust what passes these checks.
"""
import numbers

import numpy as np

from fastnet.limits import MAX_PARAMETERS, parameter_count

# The widest layer fastnet accepts; a weight matrix of two such layers would
# not fit in any memory anyway, and sizes stay C ints in the kernels.
MAX_LAYER_WIDTH = 2 ** 30
# Counts (epochs, mini-batch sizes) are C ints in the kernels.
MAX_COUNT = 2 ** 31 - 1
# Seeds of np.random.RandomState and random.Random that round-trip exactly.
SEED_LIMIT = 2 ** 32


def check_sizes(sizes):
    """``sizes`` as a list of ints: at least two layers, each of 1 .. 2**30 neurons,
    and at most ``MAX_PARAMETERS`` weights and biases in all."""
    if isinstance(sizes, np.ndarray) and sizes.ndim == 1:
        sizes = sizes.tolist()
    if isinstance(sizes, (str, bytes, bytearray, dict, set, frozenset, np.ndarray)):
        raise TypeError("sizes must be a list of layer widths, e.g. [784, 30, 10], got {}"
                        .format(_described(sizes)))
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
        if s > MAX_LAYER_WIDTH:
            raise ValueError("layer width {} is too large (at most 2**30)".format(s))
    sizes = [int(s) for s in sizes]
    parameters = parameter_count(sizes)
    if parameters > MAX_PARAMETERS:
        raise ValueError("sizes {} would have {:,} weights and biases; at most {:,} are allowed"
                         .format(sizes, parameters, MAX_PARAMETERS))
    return sizes


def _described(value):
    if isinstance(value, np.ndarray):
        return "an array of shape {}".format(value.shape)
    return "a {}".format(type(value).__name__)


def check_count(value, name, minimum, maximum=MAX_COUNT):
    """A whole number (Python or NumPy int, not bool) in minimum .. maximum, as an int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("{} must be an integer, got {!r}".format(name, value))
    if value < minimum:
        raise ValueError("{} must be at least {}, got {}".format(name, minimum, value))
    if value > maximum:
        raise ValueError("{} must be at most {}, got {}".format(name, maximum, value))
    return int(value)


def check_real(value, name):
    """A finite real number (not bool), as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("{} must be a real number, got {!r}".format(name, value))
    if not np.isfinite(value):
        raise ValueError("{} must be finite, got {}".format(name, value))
    return float(value)


def check_seed(seed, name="seed"):
    """A seed for np.random.RandomState and random.Random: an int in 0 .. 2**32-1."""
    return check_count(seed, name, 0, SEED_LIMIT - 1)


def check_seeds(seeds):
    """A non-empty list of distinct seeds (see ``check_seed``), e.g. from range(5)."""
    return _distinct([check_seed(s) for s in _listed(seeds, "seeds", "integers, e.g. range(5)")],
                     "seeds", "seed")


def check_depths(depths):
    """A non-empty list of distinct hidden-layer counts, each at least 1."""
    listed = _listed(depths, "depths", "hidden-layer counts, e.g. (2, 3, 4)")
    return _distinct([check_count(d, "depth", 1) for d in listed], "depths", "depth")


def _listed(values, name, what):
    try:
        return list(values)
    except TypeError:
        raise TypeError("{} must be a list of {}".format(name, what)) from None


def _distinct(values, name, one):
    if not values:
        raise ValueError("{} must hold at least one {}".format(name, one))
    if len(set(values)) != len(values):
        raise ValueError("{} must be distinct, got {}".format(name, values))
    return values


def check_dtype(dtype):
    """A precision, of training or of loaded images: np.float64 (for None) or np.float32."""
    if dtype is None:
        return np.float64
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError("dtype must be float64 or float32, got {!r}".format(dtype)) from None
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError("dtype must be float64 or float32, got {}".format(dtype))
    return dtype.type


def real_array(a, what):
    """``a`` as a NumPy array of a real numeric dtype (bool allowed), or a TypeError naming it."""
    try:
        a = np.asarray(a)
    except (TypeError, ValueError) as error:
        raise TypeError("{} is not a numeric array: {}".format(what, error)) from None
    if a.dtype.kind not in "biuf":
        raise TypeError("{} must be a real numeric array, got dtype {}".format(what, a.dtype))
    return a


def normal_generator(random_state):
    """np.random itself (network2's choice) for None, else a np.random.RandomState.

    ``random_state`` may be a seed (0 .. 2**32-1) or a RandomState.
    """
    if random_state is None:
        return np.random
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.RandomState(check_seed(random_state, "random_state"))
    raise TypeError("random_state must be None, an int seed or a np.random.RandomState, "
                    "got {!r}".format(random_state))


def json_numbers(value):
    """``value`` (a network file's weights or biases): nested lists of JSON numbers.

    Strings such as "0.1" and booleans, which NumPy would turn into numbers, are
    refused with a TypeError.
    """
    if type(value) is not list:
        raise TypeError("weights and biases must be lists, got {}".format(type(value).__name__))
    if set(map(type, value)) <= {int, float}:
        return value
    for item in value:
        if type(item) not in (int, float, list):
            raise TypeError("weights and biases must hold numbers, got {!r}".format(item))
        if type(item) is list:
            json_numbers(item)
    return value

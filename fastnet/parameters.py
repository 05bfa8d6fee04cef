"""All of a network's weights and biases in one flat array, as the kernels read them.

The layout is layer by layer: the weights of layer l row by row (an
``(n_{l+1}, n_l)`` matrix), then its ``n_{l+1}`` biases.  ``Parameters`` owns
such an array and hands out network2's lists as views of it, so a Network's
``weights`` and ``biases`` *are* the packed memory: changing them in place
needs no repacking, and checking that they are still the same arrays, of the
same shapes, is enough to know the packed copy is current.
"""
import functools

import numpy as np

from fastnet._kernels.identity import same_items
from fastnet.checks import real_array


def layer_shapes(sizes):
    """network2's shapes: ``[(n_{l+1}, n_l), ...]`` for weights, ``[(n_{l+1}, 1), ...]`` for biases."""
    weights = [(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [(n_out, 1) for n_out in sizes[1:]]
    return weights, biases


def unpack(flat, sizes):
    """Views of a flat array in the packed layout as network2's ``(weights, biases)`` lists."""
    weights, biases, offset = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(flat[offset:offset + n_out * n_in].reshape(n_out, n_in))
        offset += n_out * n_in
        biases.append(flat[offset:offset + n_out].reshape(n_out, 1))
        offset += n_out
    return weights, biases


def unpack_apart(flat, sizes):
    """Like ``unpack``, but keeping a few of the arrays does not keep all of ``flat`` alive.

    network2's backprop returns separate arrays, and scripts keep some of
    them: the book's generate_gradient.py keeps the bias gradients of 1,000
    calls.  Views of one flat gradient would keep every call's whole
    gradient alive (1,000 x 198 KB there), so here the largest weight
    matrix stays a view of ``flat`` (nearly all of it) and every other array
    is a view of one small copy of the rest.
    """
    (start, stop), weight_plan, bias_plan = _apart_plan(tuple(sizes))
    # One NumPy call per array where it can be (this runs once per backprop call): the
    # rest is one copy (a slice when the largest weights come first), the biases are
    # row slices of it as a column.
    rest = flat[stop:].copy() if start == 0 else np.concatenate((flat[:start], flat[stop:]))
    column = rest.reshape(-1, 1)
    weights = [(flat if big else rest)[a:b].reshape(shape) for big, a, b, shape in weight_plan]
    biases = [column[a:b] for a, b, _ in bias_plan]
    return weights, biases


@functools.lru_cache(maxsize=64)
def _apart_plan(sizes):
    """Where each array of ``unpack_apart`` lies: in flat (the largest weights) or in the rest."""
    offset, largest = 0, (0, 0)
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if n_out * n_in > largest[1] - largest[0]:
            largest = (offset, offset + n_out * n_in)
        offset += n_out * n_in + n_out
    start, stop = largest

    def in_rest(at):
        return at - (stop - start) if at >= stop else at

    weight_plan, bias_plan, offset = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if offset == start:
            weight_plan.append((True, start, stop, (n_out, n_in)))
        else:
            weight_plan.append((False, in_rest(offset), in_rest(offset) + n_out * n_in,
                                (n_out, n_in)))
        offset += n_out * n_in
        bias_plan.append((in_rest(offset), in_rest(offset) + n_out, (n_out, 1)))
        offset += n_out
    return largest, weight_plan, bias_plan


def parameter_count(sizes):
    return sum(n_out * n_in + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


class Parameters:
    """A flat float64 or float32 array of parameters, with network2's views of it.

    ``flat``: the packed array; ``weights``, ``biases``: lists of views in
    network2's shapes; ``sizes``: the layer widths as a list, and
    ``kernel_sizes`` as the C ints the kernels take.
    """

    def __init__(self, sizes, flat):
        self.sizes = list(sizes)
        self.kernel_sizes = np.array(self.sizes, dtype=np.intc)
        self.flat = flat
        self.weights, self.biases = unpack(flat, self.sizes)
        self._weight_shapes, self._bias_shapes = layer_shapes(self.sizes)

    @classmethod
    def pack(cls, sizes, weights, biases, dtype=np.float64):
        """Check ``weights``/``biases`` against ``sizes`` and copy them into a new flat array.

        Each must be a real numeric array of network2's shape (a bias may
        also be flat, ``(n,)``).  Raises ValueError/TypeError naming the
        offending entry.
        """
        weight_shapes, bias_shapes = layer_shapes(sizes)
        layers = len(weight_shapes)
        if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
            raise TypeError("weights and biases must be lists of arrays, got {} and {}"
                            .format(type(weights).__name__, type(biases).__name__))
        if len(weights) != layers or len(biases) != layers:
            raise ValueError("weights and biases: a network with sizes {} needs {} weight "
                             "matrices and {} bias vectors, got {} and {}".format(
                                 sizes, layers, layers, len(weights), len(biases)))
        checked = []
        for l in range(layers):
            w = real_array(weights[l], "weights[{}]".format(l))
            b = real_array(biases[l], "biases[{}]".format(l))
            if w.shape != weight_shapes[l]:
                raise ValueError("weights[{}] must have shape {}, got {}"
                                 .format(l, weight_shapes[l], w.shape))
            if b.shape not in (bias_shapes[l], bias_shapes[l][:1]):
                raise ValueError("biases[{}] must have shape {}, got {}"
                                 .format(l, bias_shapes[l], b.shape))
            checked.append((w, b))
        # Only now, with every shape known to match, is memory set aside.
        packed = cls(sizes, np.empty(parameter_count(sizes), dtype=dtype))
        for l, (w, b) in enumerate(checked):
            packed.weights[l][...] = w
            packed.biases[l][...] = b.reshape(bias_shapes[l])
        return packed

    def describes(self, sizes, weights, biases):
        """Whether ``weights``/``biases`` still hold exactly this object's views.

        Identity checks only: our views stay alive here, so their ids are
        theirs alone, and values changed in place are in ``flat`` already.
        """
        if type(weights) is not list or type(biases) is not list:     # rare: tuples, others
            if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
                return False
            weights, biases = list(weights), list(biases)
        # This runs before every per-example call: the identity test is compiled.
        return (same_items(weights, self.weights) and same_items(biases, self.biases)
                and sizes == self.sizes)

    def copy(self, dtype=None):
        """A new Parameters with its own flat array (in ``dtype``, default the same)."""
        return Parameters(self.sizes, self.flat.astype(dtype or self.flat.dtype, copy=True))

    def is_finite(self):
        return bool(np.isfinite(self.flat).all())

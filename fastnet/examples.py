"""Training and evaluation data, checked and converted into the arrays the kernels read.

fastnet takes data in two forms:

- network2's: any iterable of ``(x, y)`` pairs -- a list, a tuple, a zip
  object, a generator (read once).  ``x`` is an input column ``(n0, 1)``
  (or flat ``(n0,)``); ``y`` a target column ``(nL, 1)`` or an int label.
- arrays: a tuple ``(X, y)`` whose ``X`` is a NumPy array of shape
  ``(n, n0)``; ``y`` holds ``n`` int labels or ``(n, nL)`` target rows.

The rule that tells them apart: data is the array form exactly when it is a
tuple of two items whose first is a 2-d NumPy array.  A pair is never a 2-d
array (it is a tuple), so a 2-tuple of pairs is always read as pairs.

Data is read as it is at every call, as network2 reads it; nothing is
cached.  Arrays that are already C-contiguous float32 or float64 are used in
place, whatever the training precision (the kernels convert rows as they
read them), and their finiteness is checked in one pass.  A list of pairs is
gathered into one array per call, one memcpy per column (or one concatenation);
but for SGD, whose kernel checks the inputs as it reads them, a list of
aligned, native float columns of one dtype and shape is not copied at all:
the kernel reads each column where it lies, through a table of their
addresses (``InputColumns``), and the array is only made if something else
asks for it (a monitor of the training cost, say).
"""
import numbers
import operator

import numpy as np

from fastnet._kernels.columns import column_addresses, copy_columns, gather_rows
from fastnet.checks import real_array

FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))
FLOAT32_MAX = float(np.finfo(np.float32).max)


class InputColumns:
    """Input rows left where they lie: network2's columns, and the address of each one's values.

    ``columns`` is fastnet's own list of the arrays (so they live as long as
    this does, and an ndarray's values never move); ``column_addresses`` has
    checked that each holds ``width`` aligned, native values of ``dtype``.
    """

    def __init__(self, columns, addresses, dtype, width):
        self.columns, self.addresses, self.dtype, self.width = columns, addresses, dtype, width
        self.n = len(columns)

    def stacked(self):
        """The rows in one new (n, width) array, as the copying path would have made it."""
        X = np.empty((self.n, self.width), dtype=self.dtype)
        gather_rows(self.addresses, X)
        return X


class Examples:
    """``X`` (n, n0) input rows, ``targets`` (n, nL) target rows, ``labels`` (n,) classes.

    ``X`` is C-contiguous float32 or float64 and finite; ``targets`` is in the
    training precision.  ``pairs`` is the caller's list when the data came as
    one (SGD shuffles it in place, as network2 does), else None.
    Examples made ``with_labels`` (int labels) have one-hot targets, made only
    if asked for: SGD takes the labels instead.  Made from ``InputColumns``
    (``columns``, X None), ``X`` is stacked from them at its first use; the
    SGD kernel reads the columns themselves (``kernel_inputs``).
    """

    def __init__(self, X, targets, labels=None, pairs=None, columns=None):
        self._X = X
        self._columns = columns
        self._targets = targets
        self._labels = labels
        self.pairs = pairs
        self.n = X.shape[0] if X is not None else columns.n

    @classmethod
    def with_labels(cls, X, labels, n_out, dtype, pairs=None, columns=None):
        """Examples whose targets are the one-hot rows (n_out wide, in ``dtype``) of ``labels``."""
        examples = cls(X, None, labels, pairs, columns)
        examples.n_out, examples.dtype = n_out, np.dtype(dtype)
        return examples

    @property
    def X(self):
        if self._X is None:
            self._X = self._columns.stacked()
        return self._X

    @property
    def input_dtype(self):
        """The dtype the inputs are stored in (float32 or float64)."""
        return self._X.dtype if self._X is not None else self._columns.dtype

    def kernel_inputs(self):
        """``(inputs, addresses)`` for the SGD kernel: input row r is ``inputs[r]``, or,
        if addresses is not None, the values at ``addresses[r]``, of the dtype and
        width of ``inputs``, then an empty array."""
        if self._X is None:
            columns = self._columns
            return np.empty((0, columns.width), dtype=columns.dtype), columns.addresses
        return self._X, None

    @property
    def targets(self):
        if self._targets is None:
            self._targets = one_hot(self._labels, self.n_out, self.dtype)
        return self._targets

    @property
    def labels(self):
        if self._labels is None:
            self._labels = np.argmax(self._targets, axis=1)
        return self._labels

    def kernel_targets(self):
        """``(rows, index)``: example k's target is ``rows[index[k]]``, or ``rows[k]`` if
        index is None.  For one-hot targets not made yet (Examples ``with_labels``), rows
        is the identity and index the labels; else the targets themselves and None.
        """
        if self._targets is None:
            return np.eye(self.n_out, dtype=self.dtype), self._labels
        return self._targets, None


def is_array_form(data):
    """Whether ``data`` is a tuple ``(X, y)`` of arrays rather than an iterable of pairs."""
    return (isinstance(data, tuple) and len(data) == 2
            and isinstance(data[0], np.ndarray) and data[0].ndim == 2)


def convert(data, sizes, dtype, what, check_inputs=True):
    """``data`` in either form, checked against ``sizes`` and converted: an ``Examples``.

    ``check_inputs=False`` leaves the finiteness of the inputs unchecked, for
    a caller whose kernel checks them as it reads them (SGD's first epoch).
    """
    if is_array_form(data):
        return _from_arrays(data[0], data[1], sizes, dtype, what, check_inputs)
    return _from_pairs(data, sizes, dtype, what, check_inputs)


def input_rows(X, width, dtype, what, check=True):
    """Input rows as a C-contiguous (n, width) float32/float64 array, checked to be finite.

    Float32/float64 inputs keep their precision (no copy if C-contiguous);
    others are converted to ``dtype``.  A float64 input for a float32 network
    must fit in float32.  A single network2 column ``(width, 1)`` is one row.
    """
    X = real_array(X, what)
    if X.shape == (width, 1):
        X = X.reshape(1, width)
    if X.ndim != 2 or X.shape[1] != width:
        raise ValueError("{} must have shape (n, {}), got {}".format(what, width, X.shape))
    keep = X.dtype if X.dtype in FLOAT_TYPES else np.dtype(dtype)
    X = kernel_ready(X, keep)
    if check:
        check_finite(X, what, fits_float32=(dtype == np.float32 and X.dtype == np.float64))
    return X


def kernel_ready(a, dtype):
    """``a`` as C-contiguous, aligned values of ``dtype`` in native byte order.

    The kernels read raw buffers: a big-endian array would be read as wrong
    numbers, and an unaligned one (a view one byte into a buffer) with
    misaligned loads, which are undefined behaviour in C.  Such arrays are
    copied; the others are returned as they are.
    """
    return np.require(a, np.dtype(dtype).newbyteorder("="), ["C_CONTIGUOUS", "ALIGNED"])


def target_rows_from(y, n, n_out, dtype, what):
    """Target rows (n, n_out) and None, or None and labels (n,), from target rows or int labels."""
    y = real_array(y, what)
    if y.ndim == 1:
        labels = class_labels(y, n_out, what)
        if labels.shape[0] != n:
            raise ValueError("{} has {} labels for {} examples".format(what, labels.shape[0], n))
        return None, labels
    if y.shape != (n, n_out):
        raise ValueError("{} must have shape ({},) of int labels or ({}, {}) of target rows, "
                         "got {}".format(what, n, n, n_out, y.shape))
    targets = kernel_ready(y, dtype)
    check_finite(targets, what, fits_float32=(dtype == np.float32 and y.dtype == np.float64))
    return targets, None


def class_labels(y, n_out, what):
    """Integer labels in 0 .. n_out-1 as an intp array."""
    if y.dtype.kind not in "iu":
        raise TypeError("{} must be integer class labels, got dtype {}".format(what, y.dtype))
    if y.size and (y.min() < 0 or y.max() >= n_out):
        raise ValueError("{}: labels must lie in 0..{}, found {}..{}"
                         .format(what, n_out - 1, y.min(), y.max()))
    return y.astype(np.intp)


def one_hot(labels, n_out, dtype):
    targets = np.zeros((labels.shape[0], n_out), dtype=dtype)
    targets[np.arange(labels.shape[0]), labels] = 1
    return targets


def check_finite(a, what, fits_float32=False):
    """Raise if ``a`` holds NaN or infinity (or, with ``fits_float32``, values float32 can't hold).

    One pass and no temporary as large as ``a``: a sum is finite exactly when
    no element is NaN or infinite, unless finite elements overflow it; only
    then are the elements checked one block at a time.
    """
    if a.size == 0:
        return
    if fits_float32:
        low, high = float(a.min()), float(a.max())
        if np.isfinite(low) and np.isfinite(high) and max(-low, high) <= FLOAT32_MAX:
            return
        if np.isfinite(low) and np.isfinite(high):
            raise ValueError("{} hold values up to {:g}, beyond float32's range: train in "
                             "float64 or rescale the data".format(what, max(-low, high)))
        raise ValueError("{} contain NaN or infinity".format(what))
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):
            return
    flat = a.reshape(-1)
    for start in range(0, flat.size, 1 << 20):
        if not np.isfinite(flat[start:start + (1 << 20)]).all():
            raise ValueError("{} contain NaN or infinity".format(what))


# ---------------------------------------------------------------------------
# The two forms

def _from_arrays(X, y, sizes, dtype, what, check_inputs):
    X = input_rows(X, sizes[0], dtype, what + " inputs X", check_inputs)
    targets, labels = target_rows_from(y, X.shape[0], sizes[-1], dtype, what + " labels y")
    if targets is None:
        return Examples.with_labels(X, labels, sizes[-1], dtype)
    return Examples(X, targets)


def _from_pairs(data, sizes, dtype, what, check_inputs):
    n0, n_out = sizes[0], sizes[-1]
    if isinstance(data, (str, bytes, dict, np.ndarray)) or not hasattr(data, "__iter__"):
        raise TypeError("{} must be an iterable of (x, y) pairs or a tuple of arrays (X, y), "
                        "got {}".format(what, type(data).__name__))
    pairs = data if isinstance(data, (list, tuple)) else list(data)
    if set(map(type, pairs)) <= {tuple, list} and set(map(len, pairs)) <= {2}:
        # Tuples or lists of two: split by C loops (map), not a Python loop of unpackings.
        xs, ys = list(map(_FIRST, pairs)), list(map(_SECOND, pairs))
    else:
        try:
            xs = [x for x, _ in pairs]
            ys = [y for _, y in pairs]
        except (TypeError, ValueError):
            xs = ys = None
    # SGD's kernel checks the inputs as it reads them (check_inputs False): it can
    # read the columns where they lie.
    columns = _input_columns(xs, n0) if not check_inputs else None
    X = _stack_columns(xs, n0) if columns is None else None
    labels = targets = None
    if ys is not None and _all_int_labels(ys):
        labels = _int_labels(ys, n_out, what + " labels")
    elif ys is not None:
        targets = _stack_columns(ys, n_out)
    if (X is None and columns is None) or (targets is None and labels is None):
        try:
            X, targets = _pair_by_pair(pairs, n0, n_out, dtype, what)
        except (TypeError, ValueError):
            meant = _meant_array_form(data, n0, what)
            if meant is None:
                raise
            raise ValueError(meant) from None
        labels, columns = None, None
    if X is not None and X.dtype not in FLOAT_TYPES:
        X = X.astype(dtype)
    if check_inputs:
        check_finite(X, what + " inputs",
                     fits_float32=(dtype == np.float32 and X.dtype == np.float64))
    shuffled = pairs if isinstance(pairs, list) and pairs is data else None
    if labels is not None:
        return Examples.with_labels(X, labels, n_out, dtype, shuffled, columns)
    targets = targets.astype(dtype, copy=False)
    check_finite(targets, what + " labels")
    return Examples(X, targets, None, shuffled, columns)


_DTYPE, _SHAPE = operator.attrgetter("dtype"), operator.attrgetter("shape")
_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)


def _addresses(columns, height):
    """``(addresses, dtype)`` of NumPy columns that all share the first one's real dtype
    (the very dtype object) and shape, ``(height, 1)`` or ``(height,)``, C-contiguous
    and aligned: one C pass (``column_addresses``).  None for any other list."""
    first = columns[0] if columns else None
    if type(first) is not np.ndarray or first.dtype.kind not in "biuf":
        return None
    addresses = np.empty(len(columns), dtype=np.intp)
    if not column_addresses(columns, np.ndarray, first.dtype, first.ndim, height, addresses):
        return None
    return addresses, first.dtype


def _input_columns(columns, height):
    """``InputColumns`` of the columns, if the kernels can read them in place (native
    float32 or float64, as ``_addresses`` checks them); else None."""
    if columns is None:
        return None
    found = _addresses(columns, height)
    if found is None or found[1] not in FLOAT_TYPES:
        return None
    return InputColumns(columns, found[0], found[1], height)


def _stack_columns(columns, height):
    """NumPy columns of one shape ``(height, 1)`` or ``(height,)`` and a real dtype,
    stacked as rows (one concatenation); None if they are not all such columns.

    The checks are set-wide C passes (the types, the lengths); concatenation
    then refuses columns of unequal rank or width, and its result's dtype
    says whether every column was real.  A mix of real dtypes is promoted,
    as one array of them would be.
    """
    if columns is None:
        return None
    if not columns:
        return np.empty((0, height))
    # The usual list (aligned columns sharing one dtype object and shape): one C pass
    # that checks them and finds their values, then a memcpy each.
    found = _addresses(columns, height)
    if found is not None:
        stacked = np.empty((len(columns), height), dtype=found[1])
        gather_rows(found[0], stacked)
        return stacked
    if set(map(type, columns)) != {np.ndarray}:
        return None
    # Other lists of one dtype and shape (unaligned or byte-swapped columns, equal dtypes
    # that are distinct objects) are copied by one memcpy per column, after set-wide
    # checks that run in C (attrgetter through map); the rest is concatenated.
    dtypes = set(map(_DTYPE, columns))
    if len(dtypes) == 1 and set(map(_SHAPE, columns)) in ({(height, 1)}, {(height,)}):
        dtype, = dtypes
        if dtype.kind in "biuf":
            stacked = np.empty((len(columns), height), dtype=dtype)
            if copy_columns(columns, stacked):
                return stacked
    try:
        if set(map(len, columns)) != {height}:
            return None
        stacked = np.concatenate(columns, axis=0)
    except (TypeError, ValueError):    # 0-d arrays; ranks or trailing shapes that differ
        return None
    if stacked.dtype.kind not in "biuf" or stacked.shape not in (
            (len(columns) * height, 1), (len(columns) * height,)):
        return None
    return stacked.reshape(len(columns), height)


def _all_int_labels(ys):
    types = set(map(type, ys))
    return bool(types) and all(issubclass(t, numbers.Integral) and not issubclass(t, bool)
                               for t in types)


def _int_labels(ys, n_out, what):
    try:
        labels = np.fromiter(ys, dtype=np.int64, count=len(ys))
    except OverflowError:
        raise ValueError("{}: a label is out of range 0..{}".format(what, n_out - 1)) from None
    return class_labels(labels, n_out, what)


def _meant_array_form(data, n0, what):
    """What is wrong with ``data`` if it looks like a try at the array form (X, y)
    rather than a list of pairs; None if it does not."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        return None
    X, y = data
    needs = ("{} in the array form must be a tuple (X, y) with X a NumPy array of shape "
             "(n, {}) and y n labels or (n, outputs) target rows".format(what, n0))
    if isinstance(X, np.ndarray):
        if isinstance(data, list) and X.ndim == 2:
            return needs + "; got a list [X, y]: pass the tuple (X, y)"
        got = "; got X of shape {}".format(X.shape)
        if X.ndim > 2:
            got += ": flatten the images first, e.g. X.reshape(len(X), -1)"
        return needs + got
    if (isinstance(X, list) and len(X) != 2 and hasattr(y, "__len__") and len(X) == len(y)
            and all(isinstance(row, (list, tuple, np.ndarray)) for row in X[:1])):
        return needs + "; got X as a list of {} rows: pass np.asarray(rows)".format(len(X))
    return None


def _pair_by_pair(pairs, n0, n_out, dtype, what):
    """The slow, forgiving conversion, which names the first pair that is wrong."""
    X = np.empty((len(pairs), n0), dtype=dtype)
    targets = np.empty((len(pairs), n_out), dtype=dtype)
    for k, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError("{}[{}] must be an (x, y) pair".format(what, k))
        X[k] = input_column(pair[0], n0, "{}[{}] x".format(what, k))
        targets[k] = target_row(pair[1], n_out, "{}[{}] y".format(what, k))
    return X, targets


def one_input(x, width, what):
    """One input column ``(width, 1)`` (or flat ``(width,)``) as C-contiguous float values.

    A C-contiguous float32/float64 column is returned as it is.  This is the
    per-call path of ``feedforward`` and ``backprop``, kept to a few
    attribute checks: the one-example kernels take any C-contiguous buffer
    of the right length, and check the values' finiteness as they read them.
    """
    # (``flags`` is a new object at every access: read once.)
    if (type(x) is np.ndarray and x.shape in ((width, 1), (width,)) and x.dtype.char in "fd"
            and x.dtype.isnative and (flags := x.flags).c_contiguous and flags.aligned):
        return x
    return kernel_ready(input_column(x, width, what), np.float64)


def one_target(y, n_out, what):
    """One example's target, an int label or a column, as n_out C-contiguous float64 values."""
    if (type(y) is np.ndarray and y.shape in ((n_out, 1), (n_out,)) and y.dtype.char == "d"
            and y.dtype.isnative and (flags := y.flags).c_contiguous and flags.aligned):
        return y
    return kernel_ready(target_row(y, n_out, what), np.float64)


def input_column(x, n0, what):
    """One input ``x``, a column ``(n0, 1)`` or flat ``(n0,)``, as a flat array."""
    x = real_array(x, what)
    if x.shape not in ((n0, 1), (n0,)):
        raise ValueError("{} must be a column of shape ({}, 1), got shape {}"
                         .format(what, n0, x.shape))
    return x.reshape(n0)


def target_row(y, n_out, what):
    """One example's target as a flat float64 row, from an int label or a target column."""
    if isinstance(y, numbers.Integral) and not isinstance(y, bool):
        if not 0 <= y < n_out:
            raise ValueError("{}: label {} is out of range 0..{}".format(what, y, n_out - 1))
        row = np.zeros(n_out)
        row[int(y)] = 1.0
        return row
    y = real_array(y, what)
    if y.ndim == 0 and y.dtype.kind in "iu":
        return target_row(int(y), n_out, what)
    if y.shape not in ((n_out, 1), (n_out,)):
        raise ValueError("{} must be an int label or a column of shape ({}, 1), got shape {}"
                         .format(what, n_out, y.shape))
    return y.reshape(n_out)

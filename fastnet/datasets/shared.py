"""Chapter 6's data: network3's ``load_data_shared`` and the book's expanded training set.

network3 keeps its data in Theano shared variables; scripts only ask them
for their array, ``x.get_value(borrow=True)`` or ``x.eval()``.  A
``SharedValue`` answers both, holding a NumPy array.

``expand_mnist`` writes what the book's ``expand_mnist.py`` writes,
``mnist_expanded.pkl.gz``: each training image followed by its four
one-pixel shifts (down, up, right, left; the row or column shifted in is
zero), the 250,000 pairs shuffled with Python's ``random.shuffle``, then the
validation and test parts unchanged.  It is stored as ``mnist.pkl.gz`` is,
three pairs of arrays, so ``load_data_shared`` reads it through the same
bounded unpickler.
"""
import gzip
import os
import pickle
import random

import numpy as np

from fastnet.checks import check_dtype
from fastnet.datasets.book_pickle import MAX_PICKLE_BYTES, read_pickle
from fastnet.datasets.formats import (DataNotFoundError, IMAGE_SHAPE, N_PIXELS, N_TEST, N_TRAIN,
                                      N_VAL)
from fastnet.datasets.search import BOOK_PATH, PORT_PATH, load_mnist
from fastnet.files import write_atomically

SHIFTS = 4                               # down, up, right, left
EXPANDED_TRAIN = N_TRAIN * (1 + SHIFTS)  # 250,000 training images
# The expanded pickle in float64 (the largest a reader may ask for), with room to spare.
MAX_EXPANDED_BYTES = 2 * ((EXPANDED_TRAIN + N_VAL + N_TEST) * (N_PIXELS + 1) * 8) + \
    MAX_PICKLE_BYTES


class SharedValue:
    """An array answering what scripts ask of a Theano shared variable."""

    def __init__(self, value):
        self.value = np.asarray(value)

    def get_value(self, borrow=False):
        """The array: itself with ``borrow=True``, else a copy."""
        return self.value if borrow else self.value.copy()

    def set_value(self, value, borrow=False):
        """Replace the array (with a copy unless ``borrow=True``), keeping its dtype."""
        value = np.asarray(value, dtype=self.value.dtype)
        self.value = value if borrow else value.copy()

    def eval(self):
        """The array itself, as evaluating a Theano expression gives it."""
        return self.value

    def __repr__(self):
        return "SharedValue({} array of shape {})".format(self.value.dtype, self.value.shape)


def load_data_shared(filename="../data/mnist.pkl.gz", dtype=np.float32):
    """network3's data: ``[(x, y), (x, y), (x, y)]`` of SharedValue, for training,
    validation and test.

    Each x holds the images as an (n, 784) array of ``dtype``, each y the labels
    as int32.  ``filename`` is the book's pickle, its expanded one (250,000
    training images), or a folder holding the four IDX files or the pickle.
    A ``mnist.pkl.gz`` that is not there is looked for as ``mnist_loader``
    looks (``../data/mnist.pkl.gz``, ``./mnist.pkl.gz``, ``$FASTNET_DATA``, the
    cache, a download); so is None.  Any other missing file is an error: a
    missing ``mnist_expanded.pkl.gz`` must not become the plain training set.
    """
    dtype = check_dtype(dtype)
    path = "" if filename is None else os.fspath(filename)
    if os.path.isfile(path):
        parts = read_pickle(path, dtype=dtype, max_bytes=MAX_EXPANDED_BYTES,
                            training_counts=(N_TRAIN, EXPANDED_TRAIN))
    elif os.path.isdir(path):
        parts = load_mnist(path, dataset="mnist", dtype=dtype)
    elif path == "" or os.path.basename(path) == PORT_PATH:
        places = tuple(dict.fromkeys(p for p in (path, BOOK_PATH, PORT_PATH) if p))
        parts = load_mnist(dataset="mnist", dtype=dtype, book_files=places)
    else:
        hint = (" (`fastnet expand --out {}` writes it)".format(path)
                if os.path.basename(path) == "mnist_expanded.pkl.gz" else "")
        raise DataNotFoundError("{}: no such file{}".format(path, hint))
    return [(SharedValue(x), SharedValue(y.astype(np.int32))) for x, y in parts]


def shifted_images(images):
    """Each of the (n, 784) ``images`` followed by its four one-pixel shifts.

    The result has 5n rows: image i at row 5i, then shifted down, up, right
    and left, the row or column shifted in filled with zeros.
    """
    images = np.asarray(images)
    n = images.shape[0]
    square = images.reshape((n,) + IMAGE_SHAPE)
    out = np.zeros((n, 1 + SHIFTS) + IMAGE_SHAPE, dtype=images.dtype)
    out[:, 0] = square
    out[:, 1, 1:, :] = square[:, :-1, :]     # down
    out[:, 2, :-1, :] = square[:, 1:, :]     # up
    out[:, 3, :, 1:] = square[:, :, :-1]     # right
    out[:, 4, :, :-1] = square[:, :, 1:]     # left
    return out.reshape(n * (1 + SHIFTS), N_PIXELS)


def expand_training(images, labels, rng=random):
    """The expanded training pair: ``shifted_images`` and their labels, shuffled.

    The order is the one ``rng.shuffle`` (Python's ``random`` by default, as
    the book) gives a list of the 5n pairs.
    """
    expanded = shifted_images(images)
    order = list(range(expanded.shape[0]))
    rng.shuffle(order)
    order = np.array(order, dtype=np.intp)
    return expanded[order], np.repeat(np.asarray(labels), 1 + SHIFTS)[order]


def expand_mnist(out="../data/mnist_expanded.pkl.gz", source=None, rng=random,
                 compresslevel=1):
    """Write the book's ``mnist_expanded.pkl.gz`` to ``out`` from MNIST at ``source``.

    ``source`` is read as ``load_data_shared`` reads it; None searches as
    ``fastnet.datasets.load_mnist`` does.  The file is replaced
    atomically: a failed or interrupted run leaves no half-written file.
    Returns the number of training pairs written.
    """
    parts = [(x.get_value(borrow=True), y.get_value(borrow=True).astype(np.int64))
             for x, y in load_data_shared(source)]
    (images, labels), validation, test = parts
    training = expand_training(images, labels, rng)

    def write(f):
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=compresslevel, mtime=0) as z:
            pickle.dump((training, validation, test), z, protocol=4)

    write_atomically(out, write)
    return training[0].shape[0]

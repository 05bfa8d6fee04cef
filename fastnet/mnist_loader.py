"""Drop-in for the book's ``mnist_loader`` module.

    from fastnet import mnist_loader
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()

Called with no argument, it looks in this order, relative to the working
directory, and takes the first that holds the data:

  1. ``../data/mnist.pkl.gz`` (``BOOK_PATH``): where the book's loader opens
     it; the book's scripts run from ``src/`` or ``fig/``, with the data in
     ``data/`` beside them.
  2. ``./mnist.pkl.gz`` (``PORT_PATH``): where the most used Python 3 port
     (DeepLearningPython) and its notebook keep it.
  3. the folders in ``$FASTNET_DATA``, then the per-user cache, then a
     download from the public mirrors, as ``fastnet.datasets.search``
     describes.

The book's own place comes first so that its scripts get the book's file
whatever else is around; the user's files come before fastnet's cache and
the network.  If the data is nowhere, the error names every place looked
at.  A ``path`` (a folder with the four MNIST IDX files, gzip'd or not, or the
book's ``mnist.pkl.gz`` itself) is used instead of any search.  Both routes
give the same float32 arrays (pixel bytes / 256).

For the fast array form, without 70,000 little column arrays, use
``fastnet.datasets.load_mnist``.
"""

import numpy as np

from fastnet.datasets import load_mnist
from fastnet.datasets.search import BOOK_PATH, PORT_PATH

__all__ = ["load_data", "load_data_wrapper", "vectorized_result", "BOOK_PATH", "PORT_PATH"]


def load_data(path=None):
    """Return ``(training_data, validation_data, test_data)``.

    Each is a pair ``(images, labels)``: images a float32 array of shape
    (N, 784) with values in [0, 1), labels an int64 array of shape (N,);
    N is 50,000, 10,000 and 10,000.  Without ``path``: ``BOOK_PATH``, then
    ``PORT_PATH``, then the search of ``fastnet.datasets.load_mnist``."""
    return load_mnist(path, dataset="mnist", dtype=np.float32,
                      book_files=(BOOK_PATH, PORT_PATH))


def load_data_wrapper(path=None):
    """Return ``(training_data, validation_data, test_data)`` as lists of pairs.

    training_data: 50,000 pairs ``(x, y)``, x a (784, 1) column of pixels and
    y the (10, 1) one-hot column of the digit.  validation_data and test_data:
    10,000 pairs each, x as above and y the digit, an ``np.int64`` as the
    book's loader gives (an element of the label array).  These are real lists
    (``len()`` works), as network2's SGD expects."""
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = load_data(path)
    training_data = [(x.reshape(784, 1), vectorized_result(y)) for x, y in zip(tr_x, tr_y)]
    validation_data = [(x.reshape(784, 1), y) for x, y in zip(va_x, va_y)]
    test_data = [(x.reshape(784, 1), y) for x, y in zip(te_x, te_y)]
    return training_data, validation_data, test_data


def vectorized_result(j):
    """A (10, 1) column of zeros with 1.0 in row ``j``: the network's target
    output for digit ``j``."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e

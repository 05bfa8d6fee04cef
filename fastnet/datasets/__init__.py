"""Load MNIST and Fashion-MNIST as NumPy arrays.

    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load_mnist()

X arrays have shape (N, 784), are C-contiguous, and hold pixel bytes divided by
256 -- exactly the values of the book's ``mnist.pkl.gz``, so every source below
gives identical arrays.  y arrays are int64 labels 0..9.  N is 50,000 / 10,000 /
10,000: training is the first 50,000 of the 60,000 training images, validation
the last 10,000 of them, test the 10,000 test images, all in file order.

Accepted sources: the four IDX files (``train-images-idx3-ubyte`` and friends),
gzip'd or not; the book's ``mnist.pkl.gz`` (or an uncompressed ``mnist.pkl``).
``read_idx`` and ``read_pickle`` read one file alone; ``download`` fills the
cache, opening URLs with the ``opener`` it is given (``urllib``'s by default).
Every problem with a file is a DataFormatError naming it.

One module per concern:
  formats      the files, shapes and known SHA-256 of each dataset; the errors
  idx          IDX files, read piece by piece within what the header promises
  book_pickle  the book's pickle, through an unpickler that knows only the
               opcodes of arrays, tuples and lists, and runs few of them
  downloads    verified downloads into the per-user cache
  search       where ``load_mnist`` looks, in order, and ``load_mnist`` itself
  shared       chapter 6's ``load_data_shared`` (network3's shared values) and
               ``expand_mnist``, the book's expanded training set
"""

from fastnet.datasets.downloads import (
    DEFAULT_TIMEOUT, MIRRORS, USER_AGENT, default_cache_dir, download)
from fastnet.datasets.formats import (
    CONTENT_SHA256, DATASETS, EXPECTED_SHAPES, GZIP_MAGIC, IDX_FILES, IMAGE_SHAPE, N_CLASSES,
    N_PIXELS, N_TEST, N_TRAIN, N_VAL, NAMES, PICKLE_NAMES, READ_CHUNK, ChecksumError,
    DataFormatError, DataNotFoundError)
from fastnet.datasets.idx import IDX_UBYTE, MAX_IDX_BYTES, TRAILING_LIMIT, read_idx
from fastnet.datasets.search import DEBIAN_DIRS, SUBDIRS, load_mnist

__all__ = [
    "load_mnist", "download", "read_idx", "read_pickle", "default_cache_dir",
    "DataFormatError", "ChecksumError", "DataNotFoundError",
    "MIRRORS", "CONTENT_SHA256", "DEBIAN_DIRS",
    "load_data_shared", "SharedValue", "expand_mnist",
]

# Imported when first asked for: loading the IDX files (fastnet train) needs neither
# the pickle reader nor chapter 6's helpers, and each import is paid by every command.
_LATER = {"MAX_PICKLE_BYTES": "book_pickle", "read_pickle": "book_pickle",
          "EXPANDED_TRAIN": "shared", "SharedValue": "shared", "expand_mnist": "shared",
          "expand_training": "shared", "load_data_shared": "shared",
          "shifted_images": "shared"}


def __getattr__(name):
    if name not in _LATER:
        raise AttributeError("module {!r} has no attribute {!r}".format(__name__, name))
    import importlib

    value = getattr(importlib.import_module("fastnet.datasets." + _LATER[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LATER))

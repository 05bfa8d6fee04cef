"""Where ``load_mnist`` looks for the data, in order (the first that holds it wins).

  1. ``path``, if given: a directory, or a pickle file.  Nothing else is tried.
  2. the pickle files in ``book_files``, for MNIST, in order (``mnist_loader``
     names the book's ``../data/mnist.pkl.gz`` and the port's ``./mnist.pkl.gz``).
  3. the directories in the environment variable ``FASTNET_DATA``
     (several may be joined with ``os.pathsep``); in each, the dataset may sit
     in the directory itself or in a sub-directory ``mnist/`` (``fashion-mnist/``
     or ``fashion/`` for Fashion-MNIST).
  4. for Fashion-MNIST, Debian's package ``dataset-fashion-mnist``
     (``DEBIAN_DIRS``: ``/usr/share/datasets/fashion-mnist``).
  5. the per-user cache: ``$FASTNET_CACHE``, else ``$XDG_CACHE_HOME/fastnet``,
     else ``~/.cache/fastnet``; one sub-directory per dataset.
  6. a download into that cache from the public mirrors (``MIRRORS``, or the
     base URLs in the environment variable ``FASTNET_MIRRORS``).

A folder holds the data if it has the four IDX files (gzip'd or not) or, for
MNIST, the book's pickle.  The cache is checked at every use: its IDX files
must have their known SHA-256 (hashing them adds a fraction to the load).  A
changed file is deleted, with a warning, and downloaded again (with
``download=False``: refused, with the way out in the message).  Files in a
folder you name (``path``, ``FASTNET_DATA``) are yours and are checked for
shape and values only.

Gzip'd image files, wherever they are found, are inflated once into the cache's
folder ``inflated/<dataset>`` (about 55 MB for MNIST) and read back from there
afterwards: inflating the training images takes three times as long as finding
the copy (the SHA-256 of the gzip'd file) and reading it back (with its CRC-32).
A cache that cannot be written is not an error: the files are inflated each time.
"""

import os
import warnings

import numpy as np

from fastnet.checks import check_dtype
from fastnet.datasets import downloads   # load_mnist's argument "download" hides the function
from fastnet.datasets.downloads import DEFAULT_TIMEOUT, default_cache_dir
from fastnet.datasets.formats import (
    IDX_FILES, NAMES, PICKLE_NAMES, ChangedFile, DataFormatError, DataNotFoundError,
    WrongDataset, check_dataset)
from fastnet.datasets.idx import load_idx

# Where system packages put the files (read at every call).
DEBIAN_DIRS = {
    "mnist": [],
    "fashion": ["/usr/share/datasets/fashion-mnist"],
}

# Sub-directories of a FASTNET_DATA directory that may hold each dataset.
# Where the book's loaders open its pickle, relative to the working directory (its
# scripts run from src/ or fig/, the data in data/ beside them), and where the most
# used Python 3 port (DeepLearningPython) and its notebook keep it: the folder itself.
BOOK_PATH = os.path.join("..", "data", "mnist.pkl.gz")
PORT_PATH = "mnist.pkl.gz"

# The cache's sub-folder of inflated copies (one sub-folder per dataset in it).
INFLATED = "inflated"

SUBDIRS = {"mnist": ["", "mnist"], "fashion": ["fashion-mnist", "fashion", ""]}


def _idx_files(directory):
    """The four IDX paths in ``directory`` (plain or .gz), or None if any is missing."""
    files = {}
    for role, name in IDX_FILES.items():
        for candidate in (name + ".gz", name):
            p = os.path.join(directory, candidate)
            if os.path.isfile(p):
                files[role] = p
                break
        else:
            return None
    return files


def _inflated_folder(cache_dir, dataset):
    """Where the inflated copies of gzip'd image files are kept: beside the downloads."""
    return os.path.join(cache_dir or default_cache_dir(), INFLATED, dataset)


def _pickle_file(directory):
    for name in PICKLE_NAMES:
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    return None


def _load_from_dir(directory, dataset, dtype, verify=False, test_images=True, cache_dir=None):
    """Load from a directory holding the IDX files or (for MNIST) the pickle;
    return None if it holds neither.  ``verify``, ``test_images``: see ``idx.load_idx``."""
    files = _idx_files(directory)
    if files is not None:
        return load_idx(files, dataset, dtype, verify, test_images,
                        inflated=_inflated_folder(cache_dir, dataset))
    if dataset == "mnist":
        p = _pickle_file(directory)
        if p is not None:
            return _read_pickle(p, dtype)
    return None


def _places(dataset):
    """The folders searched before the cache, in order: those of FASTNET_DATA
    (each with its sub-folders for ``dataset``), then the system's."""
    places = []
    for d in os.environ.get("FASTNET_DATA", "").split(os.pathsep):
        if d:
            d = os.path.expanduser(d)
            places += [os.path.join(d, sub) if sub else d for sub in SUBDIRS[dataset]]
    return places + list(DEBIAN_DIRS[dataset])


def _load_from_path(path, dataset, dtype, test_images=True, cache_dir=None):
    """Load from the folder or pickle file the caller named; nothing else is tried."""
    name = NAMES[dataset]
    base = os.path.basename(path)
    if base in IDX_FILES.values() or base[:-3] in IDX_FILES.values():
        path = os.path.dirname(path) or "."  # one of the four files: use its folder
    if os.path.isfile(path):
        return _read_pickle(path, dtype)
    if not os.path.isdir(path):
        raise DataNotFoundError("{}: {}".format(path, "not a file or folder (a device, a FIFO "
                                "or a socket)" if os.path.exists(path) else
                                "no such file or directory"))
    try:
        data = _load_from_dir(path, dataset, dtype, test_images=test_images,
                              cache_dir=cache_dir)
    except WrongDataset as e:
        raise DataFormatError(path, str(e)) from None
    if data is None:
        raise DataNotFoundError(
            "{}: no {} files there (expected {} or their .gz{})".format(
                path, name, ", ".join(IDX_FILES.values()),
                ", or mnist.pkl.gz" if dataset == "mnist" else ""))
    return data


def load_mnist(path=None, dataset="mnist", dtype=np.float32, *, download=True,
               mirrors=None, cache_dir=None, timeout=DEFAULT_TIMEOUT, progress=None,
               opener=None, book_files=(), test_images=True):
    """Return ``(X_train, y_train), (X_val, y_val), (X_test, y_test)``.

    path: a directory with the four IDX files (gzip'd or not) or ``mnist.pkl.gz``,
        or the pickle file itself.  When given, nothing else is searched.
    dataset: "mnist" or "fashion" (Fashion-MNIST, same layout).
    dtype: np.float32 (as the book's pickle) or np.float64, for the X arrays.
    download: if False, never go to the network.
    mirrors: base URLs to download from, instead of $FASTNET_MIRRORS or
        ``MIRRORS[dataset]``.
    cache_dir: instead of ``default_cache_dir()``.
    timeout: seconds to wait on a silent mirror before trying the next.
    progress: None shows a download progress bar when stderr is a terminal
        (with tqdm, if installed); True always, False never.
    opener: what opens a download's URL (see ``download``); default
        ``urllib.request.urlopen``.
    book_files: pickle files (the book's ``mnist.pkl.gz``) tried in order
        before the folders, for MNIST only; each one missing is named in the
        error if the data is found nowhere.
    test_images: False leaves the test images of IDX files unread (X_test is then
        None; the labels are read all the same): for a caller that uses only the
        training and validation images, 63 MB of float64 less to make.  The
        book's pickle holds all three sets in one file and always gives them.

    Raises DataFormatError (a ValueError) for a bad file, DataNotFoundError
    (a FileNotFoundError) when the data is nowhere and cannot be downloaded.
    """
    check_dataset(dataset)
    dtype = check_dtype(dtype)
    name = NAMES[dataset]

    if path is not None:
        return _load_from_path(os.path.expanduser(os.fspath(path)), dataset, dtype,
                               test_images, cache_dir)

    looked = []
    for book_file in book_files:
        if dataset != "mnist":
            raise ValueError("book_files: the book's pickle holds MNIST, not " + name)
        book_file = os.path.expanduser(os.fspath(book_file))
        if os.path.isfile(book_file):
            return _read_pickle(book_file, dtype)
        looked.append("{} ({})".format(os.path.abspath(book_file), "not a file" if
                                       os.path.exists(book_file) else "missing"))
    cache = os.path.join(cache_dir or default_cache_dir(), dataset)
    places = _places(dataset) + [cache]
    if not os.environ.get("FASTNET_DATA"):
        looked.append("FASTNET_DATA (not set)")
    for place in places:
        if not os.path.isdir(place):
            looked.append(place + " (missing)")
            continue
        try:
            # The cache holds downloads: their SHA-256 is checked at every use.
            data = _load_from_dir(place, dataset, dtype, verify=place == cache,
                                  test_images=test_images, cache_dir=cache_dir)
        except WrongDataset as e:
            looked.append("{} ({})".format(place, e))
            continue
        except ChangedFile as e:
            if not download:
                raise DataFormatError(e.path, e.problem + "; delete it and fastnet will "
                                      "download it again") from None
            warnings.warn("{}; deleted it, downloading it again".format(e), stacklevel=2)
            _unlink(e.path)
            looked.append("{} (held a changed file)".format(place))
            break
        except DataFormatError as e:
            if place != cache:
                raise
            raise DataFormatError(e.path, e.problem + "; delete it and fastnet will "
                                  "download it again") from None
        if data is not None:
            return data
        looked.append(place)
    where = "looked in " + ", ".join(looked)
    how = ("point fastnet at the files with --data PATH or the environment variable "
           "FASTNET_DATA=PATH (a folder with the four IDX files{})".format(
               " or mnist.pkl.gz" if dataset == "mnist" else ""))
    if not download:
        raise DataNotFoundError("no {} files found: {}; {}".format(name, where, how))
    for _ in IDX_FILES:  # each round replaces one changed file that was in the cache
        try:
            downloads.download(dataset, cache_dir=cache_dir, mirrors=mirrors,
                               timeout=timeout, progress=progress, opener=opener)
        except DataNotFoundError as e:
            raise DataNotFoundError("no {} files found: {}; download failed: {}; {}".format(
                name, where, e, how)) from None
        try:
            data = _load_from_dir(cache, dataset, dtype, verify=True, test_images=test_images,
                                  cache_dir=cache_dir)
        except ChangedFile as e:
            warnings.warn("{}; deleted it, downloading it again".format(e), stacklevel=2)
            _unlink(e.path)
            continue
        if data is None:  # pragma: no cover - download() guarantees the files
            raise DataNotFoundError("{}: download finished but files are missing".format(
                cache))
        return data
    raise DataFormatError(cache, "the cache keeps holding changed files")  # pragma: no cover


def _read_pickle(path, dtype):
    from fastnet.datasets.book_pickle import read_pickle   # only for a pickle

    return read_pickle(path, dtype)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass

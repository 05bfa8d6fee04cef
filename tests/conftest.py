"""Shared fixtures and hooks: the real MNIST files (see tests/helpers.py), the ``mnist``
marker, and which fastnet the tests import."""
import gzip
import importlib.machinery
import sys
from pathlib import Path

import numpy as np
import pytest

from .helpers import MNIST_DIR, need_mnist

# Fixtures that read MNIST: tests using them are marked ``mnist`` automatically.
MNIST_FIXTURES = ("mnist_train", "mnist_validation")

ROOT = Path(__file__).resolve().parents[1]
_root_shadows_fastnet = False   # the root's unbuilt fastnet/ would hide the installed one


def _without_root(paths):
    return [p for p in paths if Path(p or ".").resolve() != ROOT]


def _use_installed_fastnet():
    """Import the installed fastnet rather than the repository's unbuilt ``fastnet/``.

    ``python -m pytest`` puts the current folder, and pytest the repository root
    (the parent of this package), first on sys.path, where the source folder would
    shadow the installed fastnet unless its kernels are built in place.  Importing
    the installed one here, with the root off sys.path, caches it in sys.modules
    for every test module.  If none is installed, the path is left alone and the
    source folder's ImportError says what to do.
    """
    global _root_shadows_fastnet
    kernels = ROOT / "fastnet" / "_kernels"
    built = [p for suffix in importlib.machinery.EXTENSION_SUFFIXES
             for p in kernels.glob("training" + suffix)]
    if built or not kernels.is_dir() or "fastnet" in sys.modules:
        return      # built in place, no source tree here (e.g. a copy of tests/), or imported
    saved = list(sys.path)
    sys.path[:] = _without_root(sys.path)
    try:
        import fastnet  # noqa: F401
    except ModuleNotFoundError as error:
        sys.path[:] = saved
        if error.name != "fastnet":
            raise
    else:
        _root_shadows_fastnet = True


_use_installed_fastnet()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "mnist: needs the real MNIST files; skipped without them, failed without "
                   "them when FASTNET_REQUIRE_DATA=1")


def pytest_collection_modifyitems(items):
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in MNIST_FIXTURES):
            item.add_marker(pytest.mark.mnist)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("mnist") is not None:
        need_mnist()


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """BLAS on one thread for the session: the reference implementations' tiny NumPy
    products are many times slower on two OpenBLAS threads with some NumPy releases."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session", autouse=True)
def _root_off_sys_path():
    """Importing and setting up the test package put the root back on sys.path: take it
    off for the run, so that subprocesses handed this sys.path import the installed
    fastnet too."""
    if _root_shadows_fastnet:
        sys.path[:] = _without_root(sys.path)


def _read_idx(name, header):
    need_mnist()
    return np.frombuffer(gzip.decompress((MNIST_DIR / name).read_bytes()), dtype=np.uint8,
                         offset=header)


@pytest.fixture(scope="session")
def mnist_train():
    """The first 50,000 training images (n, 784) float64 scaled by 1/256, and int labels."""
    images = _read_idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    labels = _read_idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    X = images[:50000] / 256.0
    X.setflags(write=False)
    return X, labels[:50000]


@pytest.fixture(scope="session")
def mnist_validation():
    """The last 10,000 training images: network2's validation data, as arrays."""
    images = _read_idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    labels = _read_idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    X = images[50000:] / 256.0
    X.setflags(write=False)
    return X, labels[50000:]

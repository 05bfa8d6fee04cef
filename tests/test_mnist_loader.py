"""fastnet.mnist_loader returns exactly the book's structures, from the real files."""

import gzip
import pickle
import shutil

import numpy as np
import pytest

from fastnet import mnist_loader

from .helpers import MNIST_DIR as DATA

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def wrapped():
    return mnist_loader.load_data_wrapper(DATA)


def test_load_data():
    tr, va, te = mnist_loader.load_data(str(DATA))
    for (images, labels), n in zip((tr, va, te), (50000, 10000, 10000)):
        assert images.shape == (n, 784) and images.dtype == np.float32
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert 0 <= images.min() and images.max() < 1
    assert list(tr[1][:5]) == [5, 0, 4, 1, 9]


def test_load_data_uses_fastnet_data(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTNET_DATA", str(DATA))
    monkeypatch.setenv("FASTNET_CACHE", str(tmp_path))
    tr, _, _ = mnist_loader.load_data()
    assert tr[0].shape == (50000, 784)


def test_wrapper_structures(wrapped):
    training, validation, test = wrapped
    assert type(training) is list and type(validation) is list and type(test) is list
    assert (len(training), len(validation), len(test)) == (50000, 10000, 10000)
    x, y = training[0]
    assert x.shape == (784, 1) and y.shape == (10, 1)
    assert y.dtype == np.float64 and y[5, 0] == 1.0 and y.sum() == 1.0
    assert [int(np.argmax(y)) for _, y in training[:5]] == [5, 0, 4, 1, 9]
    for data in (validation, test):
        x, y = data[0]
        assert x.shape == (784, 1) and np.issubdtype(x.dtype, np.floating)
        # the book's loader zips the label array: y is an np.int64, not a Python int
        assert type(y) is np.int64
    assert [y for _, y in test[:5]] == [7, 2, 1, 0, 4]


def test_wrapper_matches_load_data(wrapped):
    (tr_x, tr_y), (va_x, va_y), _ = mnist_loader.load_data(DATA)
    training, validation, _ = wrapped
    for i in (0, 1234, 49999):
        assert np.array_equal(training[i][0].ravel(), tr_x[i])
        assert np.array_equal(training[i][1], mnist_loader.vectorized_result(tr_y[i]))
    assert np.array_equal(validation[-1][0].ravel(), va_x[-1]) and validation[-1][1] == va_y[-1]


def test_vectorized_result():
    e = mnist_loader.vectorized_result(3)
    assert e.shape == (10, 1) and e.dtype == np.float64
    assert e[3, 0] == 1.0 and e.sum() == 1.0


@pytest.fixture(scope="module")
def book_layout(tmp_path_factory):
    """The book's folders: src/ (where its scripts run) and data/mnist.pkl.gz,
    a pickle of the real images whose validation labels are shifted by one, so
    that the test can tell which route was taken."""
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = mnist_loader.load_data(DATA)
    root = tmp_path_factory.mktemp("book")
    (root / "src").mkdir()
    (root / "data").mkdir()
    triple = ((tr_x, tr_y), (va_x, (va_y + 1) % 10), (te_x, te_y))
    with gzip.open(root / "data" / "mnist.pkl.gz", "wb", compresslevel=1) as f:
        pickle.dump(triple, f, protocol=2)
    return root, va_y


def test_no_argument_looks_where_the_book_does_first(book_layout, monkeypatch, tmp_path):
    root, va_y = book_layout
    monkeypatch.setenv("FASTNET_DATA", str(DATA))   # found second, if at all
    monkeypatch.setenv("FASTNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(root / "src")
    _, (_, y), _ = mnist_loader.load_data()
    assert np.array_equal(y, (va_y + 1) % 10)       # the book's file, not FASTNET_DATA's
    from fastnet import network3
    _, (_, y), _ = network3.load_data_shared()
    assert np.array_equal(y.get_value(), (va_y + 1) % 10)
    _, validation, _ = mnist_loader.load_data_wrapper()
    assert validation[0][1] == (va_y[0] + 1) % 10 and type(validation[0][1]) is np.int64
    # From anywhere else, the documented search.
    monkeypatch.chdir(root)
    _, (_, y), _ = mnist_loader.load_data()
    assert np.array_equal(y, va_y)


@pytest.fixture(scope="module")
def port_layout(tmp_path_factory, book_layout):
    """The port's folder: mnist.pkl.gz in the folder the scripts run in, its
    validation labels shifted by two (the book's file, beside it in
    ../data, by one)."""
    book_root, va_y = book_layout
    (tr_x, tr_y), (va_x, _), (te_x, te_y) = mnist_loader.load_data(DATA)
    root = tmp_path_factory.mktemp("port")
    triple = ((tr_x, tr_y), (va_x, (va_y + 2) % 10), (te_x, te_y))
    with gzip.open(root / "mnist.pkl.gz", "wb", compresslevel=1) as f:
        pickle.dump(triple, f, protocol=2)
    return root


def test_no_argument_finds_the_ports_file_in_the_working_directory(
        book_layout, port_layout, monkeypatch, tmp_path):
    book_root, va_y = book_layout
    monkeypatch.setenv("FASTNET_DATA", str(DATA))   # after the port's file
    monkeypatch.setenv("FASTNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(port_layout)
    assert mnist_loader.PORT_PATH == "mnist.pkl.gz"
    _, (_, y), _ = mnist_loader.load_data()
    assert np.array_equal(y, (va_y + 2) % 10)       # the port's file, not FASTNET_DATA's
    _, validation, _ = mnist_loader.load_data_wrapper()
    assert validation[0][1] == (va_y[0] + 2) % 10
    # network3's load_data_shared, with its default or the port's "mnist.pkl.gz", finds it too.
    from fastnet import network3
    for args in ((), ("mnist.pkl.gz",)):
        _, (_, y), _ = network3.load_data_shared(*args)
        assert np.array_equal(y.get_value(), (va_y + 2) % 10) and y.get_value().dtype == np.int32
    # A missing expanded file is an error, never the plain training set in its place.
    with pytest.raises(FileNotFoundError, match="mnist_expanded.pkl.gz: no such file.*fastnet expand"):
        network3.load_data_shared("../data/mnist_expanded.pkl.gz")
    # With both layouts at once, the book's ../data/mnist.pkl.gz comes first.
    both = book_root / "src" / "mnist.pkl.gz"
    shutil.copyfile(port_layout / "mnist.pkl.gz", both)
    try:
        monkeypatch.chdir(book_root / "src")
        _, (_, y), _ = mnist_loader.load_data()
        assert np.array_equal(y, (va_y + 1) % 10)
    finally:
        both.unlink()


def test_failed_search_leaves_no_folders_behind(monkeypatch, tmp_path):
    """Nothing anywhere, no network: a clear error, and no empty
    ~/.cache/fastnet/mnist created on the way."""
    home = tmp_path / "home"
    (home / "work" / "src").mkdir(parents=True)
    for name in ("FASTNET_DATA", "FASTNET_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FASTNET_MIRRORS", "http://127.0.0.1:9/")  # connection refused
    monkeypatch.chdir(home / "work" / "src")
    with pytest.raises(FileNotFoundError) as info:
        mnist_loader.load_data()
    message = str(info.value)
    assert "no MNIST files found" in message
    assert sorted(p.name for p in home.iterdir()) == ["work"]
    # Every place, in the order looked at: the book's, the port's, the
    # environment variable, the cache, then the download.
    places = [str(home / "work" / "data" / "mnist.pkl.gz") + " (missing)",
              str(home / "work" / "src" / "mnist.pkl.gz") + " (missing)",
              "FASTNET_DATA (not set)", str(home / ".cache" / "fastnet" / "mnist") + " (missing)",
              "download failed"]
    at = [message.find(p) for p in places]
    assert -1 not in at and at == sorted(at), (places, message)

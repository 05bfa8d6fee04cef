"""fastnet.datasets on the real MNIST files (and Fashion-MNIST where installed)."""

import gzip
import io
import os
import pickle
import pickletools
import re
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from fastnet import datasets
from fastnet.datasets import DataFormatError, DataNotFoundError, load_mnist
from fastnet.datasets.book_pickle import ArrayUnpickler

from .helpers import MNIST_DIR as DATA, same_fastnet_env

FASHION = Path(datasets.DEBIAN_DIRS["fashion"][0])
NAMES = list(datasets.IDX_FILES.values())

pytestmark = pytest.mark.mnist


@pytest.fixture(autouse=True)
def no_outside_data(monkeypatch, tmp_path):
    """Keep the user's environment and cache out of every test."""
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    monkeypatch.delenv("FASTNET_MIRRORS", raising=False)
    monkeypatch.setenv("FASTNET_CACHE", str(tmp_path / "empty-cache"))


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(DATA)


@pytest.fixture(scope="module")
def raw_uint8():
    """The four files as uint8 arrays, read independently of fastnet."""
    out = {}
    for name in NAMES:
        data = gzip.decompress((DATA / (name + ".gz")).read_bytes())
        offset = 16 if "images" in name else 8
        out[name] = np.frombuffer(data, np.uint8, offset=offset)
    return out


# The names fastnet.datasets offers, wherever in the package each one lives.
PUBLIC_NAMES = [
    "CONTENT_SHA256", "ChecksumError", "DATASETS", "DEBIAN_DIRS", "DEFAULT_TIMEOUT",
    "DataFormatError", "DataNotFoundError", "EXPECTED_SHAPES", "GZIP_MAGIC", "IDX_FILES",
    "IDX_UBYTE", "IMAGE_SHAPE", "MAX_IDX_BYTES", "MAX_PICKLE_BYTES", "MIRRORS", "NAMES",
    "N_CLASSES", "N_PIXELS", "N_TEST", "N_TRAIN", "N_VAL", "PICKLE_NAMES", "READ_CHUNK",
    "SUBDIRS", "TRAILING_LIMIT", "USER_AGENT", "default_cache_dir", "download", "load_mnist",
    "read_idx", "read_pickle", "load_data_shared", "SharedValue", "expand_mnist",
    "EXPANDED_TRAIN", "expand_training", "shifted_images",
]


def test_public_names():
    assert [n for n in PUBLIC_NAMES if not hasattr(datasets, n)] == []
    assert set(datasets.__all__) <= set(PUBLIC_NAMES)
    for error in (DataFormatError, DataNotFoundError, datasets.ChecksumError):
        assert error.__module__ == "fastnet.datasets"   # as tracebacks show it
    assert (datasets.N_PIXELS, datasets.N_CLASSES) == (784, 10)
    assert (datasets.N_TRAIN, datasets.N_VAL, datasets.N_TEST) == (50000, 10000, 10000)


def test_shapes_dtypes_and_layout(mnist):
    for (X, y), n in zip(mnist, (50000, 10000, 10000)):
        assert X.shape == (n, 784) and X.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert X.flags.c_contiguous and y.flags.c_contiguous
        assert 0.0 <= X.min() and X.max() < 1.0
        assert set(np.unique(y)) == set(range(10))


def test_first_labels_and_split(mnist, raw_uint8):
    (Xtr, ytr), (Xva, yva), (Xte, yte) = mnist
    assert list(ytr[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(yte[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    labels = raw_uint8["train-labels-idx1-ubyte"]
    assert np.array_equal(ytr, labels[:50000]) and np.array_equal(yva, labels[50000:])
    images = raw_uint8["train-images-idx3-ubyte"].reshape(60000, 784)
    # bytes / 256, exactly, as in the book's pickle
    assert np.array_equal(Xtr * 256, images[:50000]) and np.array_equal(Xva * 256, images[50000:])
    assert np.array_equal(Xte * 256, raw_uint8["t10k-images-idx3-ubyte"].reshape(10000, 784))
    assert Xtr.max() == np.float32(255 / 256)


def test_float64(mnist):
    data = load_mnist(DATA, dtype=np.float64)
    for (X, y), (X32, y32) in zip(data, mnist):
        assert X.dtype == np.float64 and X.flags.c_contiguous
        assert np.array_equal(X, X32) and np.array_equal(y, y32)
    with pytest.raises(ValueError, match="dtype must be float64 or float32, got int32"):
        load_mnist(DATA, dtype=np.int32)
    with pytest.raises(TypeError, match="dtype must be float64 or float32"):
        load_mnist(DATA, dtype="no such type")
    with pytest.raises(ValueError, match="dataset"):
        load_mnist(DATA, dataset="cifar")


def test_uncompressed_idx(tmp_path, mnist, raw_uint8):
    for name in NAMES:
        (tmp_path / name).write_bytes(gzip.decompress((DATA / (name + ".gz")).read_bytes()))
    for a, b in zip(load_mnist(tmp_path), mnist):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(datasets.read_idx(tmp_path / NAMES[1]), raw_uint8[NAMES[1]])


@pytest.fixture(scope="module")
def book_pickle(tmp_path_factory, raw_uint8):
    """mnist.pkl.gz laid out as the book's: a gzip'd pickle of the triple."""
    images = raw_uint8["train-images-idx3-ubyte"].reshape(60000, 784).astype(np.float32) / 256
    labels = raw_uint8["train-labels-idx1-ubyte"].astype(np.int64)
    test_x = raw_uint8["t10k-images-idx3-ubyte"].reshape(10000, 784).astype(np.float32) / 256
    test_y = raw_uint8["t10k-labels-idx1-ubyte"].astype(np.int64)
    triple = ((images[:50000], labels[:50000]), (images[50000:], labels[50000:]), (test_x, test_y))
    path = tmp_path_factory.mktemp("book") / "mnist.pkl.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        pickle.dump(triple, f, protocol=4)  # Python 2's format: see test_python2_pickle_...
    return path


def test_pickle_and_idx_give_identical_arrays(book_pickle, mnist):
    data = load_mnist(book_pickle)
    for (X, y), (X2, y2) in zip(data, mnist):
        assert X.dtype == X2.dtype == np.float32 and y.dtype == np.int64
        assert X.flags.c_contiguous
        assert np.array_equal(X, X2) and np.array_equal(y, y2)
    (X, y), _, _ = datasets.read_pickle(book_pickle, dtype=np.float64)
    assert X.dtype == np.float64 and np.array_equal(X, mnist[0][0])
    with pytest.raises(ValueError, match="dtype"):
        datasets.read_pickle(book_pickle, dtype=np.int8)


def test_pickle_found_in_a_folder(book_pickle, mnist):
    # The folder holds the pickle and nothing else, and a named path is the
    # only place looked at: the arrays can only have come from the pickle.
    assert sorted(p.name for p in book_pickle.parent.iterdir()) == [book_pickle.name]
    for (X, y), (X2, y2) in zip(load_mnist(book_pickle.parent), mnist):
        assert np.array_equal(X, X2) and np.array_equal(y, y2)
    with pytest.raises(DataNotFoundError, match="no Fashion-MNIST files there"):
        load_mnist(book_pickle.parent, dataset="fashion")  # the pickle is MNIST's


def _py2_array_pickle(array):
    """Pickle bytes the way Python 2's cPickle (protocol 2) writes an ndarray:
    numpy.core globals and the data as a byte string (BINSTRING)."""
    def short(s):
        return b"U" + bytes([len(s)]) + s

    dtype = (b"cnumpy\ndtype\n" + short(array.dtype.str[1:].encode()) + b"K\x00K\x01\x87R"
             + b"(K\x03" + short(b"<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    shape = b"(" + b"".join(b"J" + struct.pack("<i", d) for d in array.shape) + b"t"
    data = array.tobytes()
    return (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nK\x00\x85"
            + short(b"b") + b"\x87R(K\x01" + shape + dtype + b"\x89"
            + b"T" + struct.pack("<i", len(data)) + data + b"tb.")


def test_python2_pickle_of_arrays_loads():
    array = (np.arange(12, dtype=np.float32) / 256).reshape(3, 4)
    raw = _py2_array_pickle(array)
    pickletools.dis(raw, out=io.StringIO())  # well-formed
    got = ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    assert got.dtype == np.float32 and np.array_equal(got, array)


def test_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"cos\nsystem\n(S'echo hacked'\ntR.")
    with pytest.raises(DataFormatError, match="refusing to load os.system"):
        load_mnist(path)


def test_pickle_with_wrong_layout(tmp_path):
    path = tmp_path / "mnist.pkl"
    path.write_bytes(pickle.dumps(((np.zeros((5, 784), np.float32), np.zeros(5, np.int64)),) * 3))
    with pytest.raises(DataFormatError, match=r"mnist.pkl: the training part has shapes"):
        load_mnist(path)


# --- broken files --------------------------------------------------------------------------

def _folder_with(tmp_path, name, content, gz=False):
    """A folder with the real files linked in, and ``name`` replaced by ``content``."""
    for other in NAMES:
        if other != name:
            (tmp_path / (other + ".gz")).symlink_to(DATA / (other + ".gz"))
    target = tmp_path / (name + (".gz" if gz else ""))
    target.write_bytes(gzip.compress(content) if gz else content)
    return target


def _real(name):
    return gzip.decompress((DATA / (name + ".gz")).read_bytes())


def test_truncated_gzip_names_the_file(tmp_path):
    name = "t10k-images-idx3-ubyte"
    target = _folder_with(tmp_path, name, b"")
    target.rename(tmp_path / (name + ".gz"))
    (tmp_path / (name + ".gz")).write_bytes((DATA / (name + ".gz")).read_bytes()[:100000])
    with pytest.raises(DataFormatError, match="t10k-images-idx3-ubyte.gz: gzip data is truncated"):
        load_mnist(tmp_path)


def test_truncated_idx_names_the_file(tmp_path):
    name = "t10k-labels-idx1-ubyte"
    target = _folder_with(tmp_path, name, _real(name)[:5000])
    with pytest.raises(DataFormatError, match="truncated") as info:
        load_mnist(tmp_path)
    assert str(target) in str(info.value) and isinstance(info.value, ValueError)


def test_bad_magic(tmp_path):
    content = b"\x00\x00\x0d\x01" + _real("train-labels-idx1-ubyte")[4:]
    _folder_with(tmp_path, "train-labels-idx1-ubyte", content, gz=True)
    with pytest.raises(DataFormatError, match="train-labels-idx1-ubyte.gz: bad IDX magic number"):
        load_mnist(tmp_path)


def test_wrong_count_and_trailing_bytes(tmp_path):
    labels = _real("t10k-labels-idx1-ubyte")
    short = struct.pack(">II", 0x801, 9000) + labels[8:9008]
    (tmp_path / "a").mkdir()
    _folder_with(tmp_path / "a", "t10k-labels-idx1-ubyte", short)
    with pytest.raises(DataFormatError, match="expected 10000 labels, found 9000"):
        load_mnist(tmp_path / "a")
    (tmp_path / "b").mkdir()
    _folder_with(tmp_path / "b", "t10k-labels-idx1-ubyte", labels + b"\x00\x00")
    with pytest.raises(DataFormatError, match="2 unexpected bytes after the data"):
        load_mnist(tmp_path / "b")


def test_images_with_wrong_shape(tmp_path):
    images = _real("t10k-images-idx3-ubyte")
    wrong = struct.pack(">IIII", 0x803, 10000, 784, 1) + images[16:]
    _folder_with(tmp_path, "t10k-images-idx3-ubyte", wrong)
    with pytest.raises(DataFormatError, match="expected 28x28 images"):
        load_mnist(tmp_path)


# --- where data is looked for --------------------------------------------------------------

def test_explicit_path_missing_or_empty(tmp_path):
    with pytest.raises(DataNotFoundError, match="no such file or directory"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError, match="no MNIST files there"):
        load_mnist(tmp_path)


def test_explicit_path_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNET_DATA", str(DATA))
    with pytest.raises(DataNotFoundError):
        load_mnist(tmp_path / "nowhere")


def test_environment_variable(tmp_path, monkeypatch, mnist):
    parent = tmp_path / "data"
    parent.mkdir()
    (parent / "mnist").symlink_to(DATA)  # a sub-folder "mnist" is found too
    monkeypatch.setenv("FASTNET_DATA", os.pathsep.join([str(tmp_path / "missing"), str(parent)]))
    (X, y), _, _ = load_mnist(download=False)
    assert np.array_equal(X, mnist[0][0])


def test_cache_dir(tmp_path, monkeypatch, mnist):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist").symlink_to(DATA)
    monkeypatch.setenv("FASTNET_CACHE", str(cache))
    assert datasets.default_cache_dir() == str(cache)
    (X, y), _, _ = load_mnist(download=False)
    assert np.array_equal(y, mnist[0][1])


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("FASTNET_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert datasets.default_cache_dir() == str(tmp_path / "fastnet")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert datasets.default_cache_dir() == str(tmp_path / ".cache" / "fastnet")


def test_nothing_found_offline_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNET_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(download=False)
    message = str(info.value)
    assert "FASTNET_DATA" in message and "--data" in message
    assert str(tmp_path) in message and "empty-cache" in message
    assert "\n" not in message


def test_mnist_is_not_taken_for_fashion(tmp_path, monkeypatch):
    monkeypatch.setitem(datasets.DEBIAN_DIRS, "fashion", [])   # an installed copy is not used
    monkeypatch.setenv("FASTNET_DATA", str(DATA))
    with pytest.raises(DataNotFoundError, match="holds MNIST files, not Fashion-MNIST"):
        load_mnist(dataset="fashion", download=False)
    with pytest.raises(DataFormatError, match="holds MNIST files, not Fashion-MNIST"):
        load_mnist(DATA, dataset="fashion")


# --- Fashion-MNIST ---------------------------------------------------------------------------

needs_fashion = pytest.mark.skipif(
    not all((FASHION / (n + ".gz")).is_file() for n in NAMES),
    reason="Fashion-MNIST not installed in {} (apt-get install dataset-fashion-mnist)"
    .format(FASHION))


@needs_fashion
def test_fashion_from_debian_package(mnist):
    (Xtr, ytr), (Xva, yva), (Xte, yte) = load_mnist(dataset="fashion", download=False)
    assert Xtr.shape == (50000, 784) and Xva.shape == (10000, 784) and Xte.shape == (10000, 784)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert list(ytr[:10]) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert list(yte[:10]) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert 0.0 <= Xtr.min() and Xtr.max() < 1.0
    assert not np.array_equal(Xte, mnist[2][0])
    # and MNIST files are not taken for Fashion-MNIST, nor the other way round
    with pytest.raises(DataFormatError, match="holds Fashion-MNIST files, not MNIST"):
        load_mnist(FASHION)


@needs_fashion
def test_fashion_via_environment(tmp_path, monkeypatch):
    (tmp_path / "fashion-mnist").symlink_to(FASHION)
    monkeypatch.setitem(datasets.DEBIAN_DIRS, "fashion", [])   # found through FASTNET_DATA
    monkeypatch.setenv("FASTNET_DATA", str(tmp_path))
    (_, y), _, _ = load_mnist(dataset="fashion", dtype=np.float64, download=False)
    assert list(y[:3]) == [9, 0, 0]


def test_path_to_one_of_the_files_means_its_folder(mnist):
    (_, y), _, _ = load_mnist(DATA / "train-labels-idx1-ubyte.gz")
    assert np.array_equal(y, mnist[0][1])


def test_bad_file_in_the_cache_says_how_to_recover(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "mnist").mkdir(parents=True)
    _folder_with(cache / "mnist", "t10k-labels-idx1-ubyte", b"\x00\x00\x08\x01", gz=True)
    monkeypatch.setenv("FASTNET_CACHE", str(cache))
    with pytest.raises(DataFormatError, match="truncated.*delete it and fastnet will download"):
        load_mnist(download=False)


# --- hostile files: bounded reading, headers, pickle contents --------------------------------

def _bomb_members(count, size=1 << 20):
    """``count`` gzip members of ``size`` zero bytes each: a few KB that inflate to
    count * size bytes (a gzip reader must read every member)."""
    return gzip.compress(b"\0" * size, compresslevel=9) * count


def test_gzip_bomb_idx_is_refused_with_bounded_memory(tmp_path):
    """A 4 MB labels file that inflates to 4 GiB: refused once it passes what
    its header promises, with a few MB of memory and in well under a second."""
    import tracemalloc
    labels = _real("t10k-labels-idx1-ubyte")
    target = _folder_with(tmp_path, "t10k-labels-idx1-ubyte", b"")
    target.unlink()
    bomb = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bomb.write_bytes(gzip.compress(labels) + _bomb_members(4096))
    assert bomb.stat().st_size < 5 << 20
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DataFormatError, match="more than the 10,008 bytes its IDX header "
                                                  "promises") as info:
            datasets.read_idx(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2
    assert peak < 8 << 20, peak
    assert str(bomb) in str(info.value)
    with pytest.raises(DataFormatError, match="t10k-labels-idx1-ubyte.gz: holds more than"):
        load_mnist(tmp_path)


def test_idx_header_promising_too_much(tmp_path):
    """Dimensions whose product overflows 64 bits, or that promise more than the
    reader's bound, are refused from the header alone."""
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(struct.pack(">IIIII", 0x804, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                                 0xFFFFFFFF) + b"\0" * 100)
    with pytest.raises(DataFormatError, match="promises 4294967295x4294967295x4294967295x"
                                              "4294967295 = .* bytes, more than"):
        datasets.read_idx(path)
    # An empty array, but with dimensions numpy cannot even describe (found by fuzzing).
    path.write_bytes(struct.pack(">IIIII", 0x804, 0, 8788, 438512, 2393416034))
    with pytest.raises(DataFormatError, match="dimensions 0x8788x438512x2393416034 are larger"):
        datasets.read_idx(path)
    small = tmp_path / "small-idx1-ubyte"
    small.write_bytes(struct.pack(">II", 0x801, 2000) + b"\0" * 2000)
    with pytest.raises(DataFormatError, match="more than the 1,000 this reader accepts"):
        datasets.read_idx(small, max_bytes=1000)
    assert datasets.read_idx(small, max_bytes=2000).shape == (2000,)
    # Through load_mnist the expected shape is checked before anything is read.
    huge = struct.pack(">IIII", 0x803, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    (tmp_path / "f").mkdir()
    _folder_with(tmp_path / "f", "train-images-idx3-ubyte", huge)
    with pytest.raises(DataFormatError, match="train-images-idx3-ubyte: expected 28x28 images"):
        load_mnist(tmp_path / "f")


def test_folder_or_unreadable_file_is_named(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(DataFormatError, match="dir: is a folder, not a file"):
        datasets.read_idx(tmp_path / "dir")
    with pytest.raises(DataFormatError, match="cannot read"):
        datasets.read_idx(tmp_path / "missing")
    (tmp_path / "fifo-dir").mkdir()
    (tmp_path / "fifo-dir" / "mnist.pkl").mkdir()  # a folder with the pickle's name
    with pytest.raises(DataNotFoundError, match="no MNIST files there"):
        load_mnist(tmp_path / "fifo-dir")


def _small_triple(images=None, labels=None, part=1):
    """A triple with the book's shapes, zeros, and ``part`` changed."""
    parts = []
    for i, n in enumerate((50000, 10000, 10000)):
        X = np.zeros((n, 784), np.float32)
        y = np.zeros(n, np.int64)
        if i == part:
            X = X if images is None else images(X)
            y = y if labels is None else labels(y)
        parts.append((X, y))
    return tuple(parts)


def _with(index, value):
    def change(a):
        a = a.copy()
        a[index] = value
        return a
    return change


@pytest.mark.parametrize("labels, dtype, found", [
    (_with(7, -1), np.int64, "-1 at position 7"),
    (_with(3, 3.7), np.float64, "3.7 at position 3"),
    (_with(0, 10), np.int64, "10 at position 0"),
    (_with(5, np.nan), np.float64, "nan at position 5"),
])
def test_pickle_labels_are_range_checked(tmp_path, labels, dtype, found):
    path = tmp_path / "mnist.pkl.gz"
    triple = _small_triple(labels=lambda y: labels(y.astype(dtype)))
    with gzip.open(path, "wb", compresslevel=1) as f:
        pickle.dump(triple, f, protocol=2)
    with pytest.raises(DataFormatError) as info:
        load_mnist(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": the validation labels must be whole numbers 0..9")
    assert found in message


def test_pickle_whole_float_labels_are_accepted(tmp_path):
    path = tmp_path / "mnist.pkl"
    path.write_bytes(pickle.dumps(_small_triple(labels=lambda y: (y + 3).astype(np.float32))))
    (_, _), (_, y), _ = load_mnist(path)
    assert y.dtype == np.int64 and set(y) == {3}


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_pickle_non_finite_images_are_refused(tmp_path, value):
    path = tmp_path / "mnist.pkl"
    path.write_bytes(pickle.dumps(_small_triple(images=_with((9, 100), value), part=2)))
    with pytest.raises(DataFormatError, match=r"mnist.pkl: the test images contain NaN or "
                                              r"infinity"):
        load_mnist(path)


def test_pickle_of_object_arrays_is_refused(tmp_path):
    path = tmp_path / "mnist.pkl"
    triple = _small_triple()
    triple = (triple[0], (triple[1][0], triple[1][1].astype(object)), triple[2])
    path.write_bytes(pickle.dumps(triple))
    with pytest.raises(DataFormatError, match="refusing to load|not numbers"):
        load_mnist(path)


def test_pickle_bomb_is_refused(tmp_path):
    """A gzip'd pickle inflating past its bound stops there (the bound is made
    small here so that the test is fast; load_mnist's is MAX_PICKLE_BYTES)."""
    assert datasets.MAX_PICKLE_BYTES == 512 << 20
    path = tmp_path / "mnist.pkl.gz"
    # BINBYTES8 claiming 8 GiB, then 64 MiB of zeros in 1 MiB gzip members.
    head = gzip.compress(b"\x80\x04\x8e" + struct.pack("<Q", 8 << 30))
    path.write_bytes(head + _bomb_members(64))
    with pytest.raises(DataFormatError, match=r"mnist.pkl.gz: (holds more than 4,194,304 bytes"
                                              r"|not a readable MNIST pickle \(it asks for)"):
        datasets.read_pickle(path, max_bytes=4 << 20)
    # A pickle that is simply too long for the bound, without any trick.
    path.write_bytes(gzip.compress(pickle.dumps(b"\1" * (5 << 20))))
    with pytest.raises(DataFormatError, match="holds more than 4,194,304 bytes of pickle data"):
        datasets.read_pickle(path, max_bytes=4 << 20)
    # Within the default bound it is read, and refused only for what it holds.
    with pytest.raises(DataFormatError, match="expected a pickled triple"):
        load_mnist(path)


def test_corrupt_or_truncated_gzip_pickle(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    data = gzip.compress(pickle.dumps(_small_triple()), compresslevel=1)
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(DataFormatError, match="mnist.pkl.gz: gzip data is truncated"):
        load_mnist(path)
    path.write_bytes(data[:20] + bytes(b ^ 0x55 for b in data[20:200]) + data[200:])
    with pytest.raises(DataFormatError, match="mnist.pkl.gz: (gzip data is corrupt|not a "
                                              "readable MNIST pickle)"):
        load_mnist(path)


# --- the cache is re-checked against the known SHA-256 ---------------------------------------

def test_changed_file_in_the_cache_is_refused_offline(tmp_path, monkeypatch):
    """One label changed in a cached file (still a valid IDX file): refused by
    its SHA-256, with the file named and the way out said."""
    cache = tmp_path / "cache"
    (cache / "mnist").mkdir(parents=True)
    labels = bytearray(_real("t10k-labels-idx1-ubyte"))
    labels[8] = (labels[8] + 1) % 10
    target = _folder_with(cache / "mnist", "t10k-labels-idx1-ubyte", bytes(labels), gz=True)
    monkeypatch.setenv("FASTNET_CACHE", str(cache))
    with pytest.raises(DataFormatError) as info:
        load_mnist(download=False)
    message = str(info.value)
    assert message.startswith(str(target) + ": SHA-256 of the contents is")
    assert "the cached file is corrupt or was changed" in message
    assert "delete it and fastnet will download it again" in message
    assert target.exists()  # offline: nothing is deleted
    # The same files outside the cache are the user's own: used as they are.
    (X, y), _, (_, y_test) = load_mnist(cache / "mnist")
    assert y_test[0] == labels[8]


# Found by the fuzz test at 10,000 examples: NumPy's reconstructors given an
# object dtype with a made-up state; the old unpickler let it through and
# Python died with a segfault.
CRASHING_PICKLE = (
    b"\x80\x05\x95\x08\x01\x00\x00\x00\x00\x00\x00]\x94(\x8c\x13numpy._core.numeric\x94\x8c"
    b"\x0b_frombuffer\x94\x93\x94(\x96\x0c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02U3\x94\x89"
    b"\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNK\x0cK\x04K\x08t\x94b)\x8c\x01C\x94t\x94R\x94}"
    b"\x94\x8c\x02\xc2\x80\x94NsG\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray"
    b"\x94\x8c\x0c_reconstruct\x94\x93\x94h\x05\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b"
    b"\x94\x87\x94R\x94(K\x01K\x01K\x01\x86\x94h\x07\x8c\x02O8\x94\x89\x88\x87\x94R\x94(K\x03"
    b"\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t\x94b\x89]\x94t\x94b\x86\x94e.")


def _load_in_a_subprocess(path):
    import subprocess
    import sys
    code = ("import sys; from fastnet import datasets\n"
            "try:\n    datasets.load_mnist(sys.argv[1])\n"
            "except datasets.DataFormatError as e:\n    print(e)\n")
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60, cwd=str(path.parent), env=same_fastnet_env())


def test_crafted_pickle_cannot_crash_python(tmp_path):
    path = tmp_path / "mnist.pkl"
    path.write_bytes(CRASHING_PICKLE)
    r = _load_in_a_subprocess(path)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.startswith(str(path) + ": not a readable MNIST pickle (refusing to load")


@pytest.mark.parametrize("state", [
    b"NNNK\x0cK\x04K\x08t",                        # made-up item size, alignment, flags
    b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t",     # every flag, as an object dtype has
])
def test_dtype_with_a_made_up_state_is_refused(tmp_path, state):
    """The BUILD step of a dtype is checked: plain number types have exactly
    one form of state, (3, byte order, None, None, None, -1, -1, 0)."""
    raw = _py2_array_pickle(np.zeros(3, np.float32))
    good = b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"
    assert raw.count(good) == 1
    path = tmp_path / "mnist.pkl"
    path.write_bytes(raw.replace(good, state))
    r = _load_in_a_subprocess(path)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert "refusing to load a dtype with the state" in r.stdout, r.stdout


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_the_unpickler_reads_plain_arrays_in_every_protocol(protocol):
    obj = (np.arange(6, dtype=np.float32).reshape(2, 3), np.int64(3), np.float64(2.5),
           [np.zeros(2, bool)], np.asfortranarray(np.arange(6.0).reshape(2, 3)),
           np.arange(3, dtype=">i2"))
    raw = pickle.dumps(obj, protocol=protocol)
    got = ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    expected = pickle.loads(raw)
    for a, b in zip(got, expected):
        assert type(a) is type(b)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b)
    assert got[1] == 3 and got[2] == 2.5 and got[3][0].dtype == bool
    with pytest.raises(pickle.UnpicklingError, match="refusing to load dtype .O8."):
        ArrayUnpickler(io.BytesIO(pickle.dumps(np.array([1, "a"], object), protocol=protocol)),
                       encoding="latin1").load()


def test_book_files_are_looked_at_first_and_for_mnist_only(tmp_path, book_pickle, mnist):
    missing = tmp_path / "nothing" / "mnist.pkl.gz"
    (X, y), _, _ = load_mnist(book_files=[missing, book_pickle], download=False)
    assert np.array_equal(X, mnist[0][0]) and np.array_equal(y, mnist[0][1])
    with pytest.raises(DataNotFoundError,
                       match=re.escape(str(missing)) + r" \(missing\), FASTNET_DATA"):
        load_mnist(book_files=[missing], download=False)
    with pytest.raises(ValueError, match="book_files: the book's pickle holds MNIST"):
        load_mnist(dataset="fashion", book_files=[book_pickle])


# Inflated copies of gzip'd image files, kept in the cache.

def _copies(cache):
    folder = cache / "inflated" / "mnist"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _folder_of_real_files(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in NAMES:
        (folder / (name + ".gz")).write_bytes((DATA / (name + ".gz")).read_bytes())
    return folder


def _same(a, b):
    return all(np.array_equal(x, y) for (X, y_), (X2, y2) in zip(a, b)
               for x, y in ((X, X2), (y_, y2)))


def test_inflated_copy_is_made_and_read_back(tmp_path, monkeypatch, mnist, raw_uint8):
    import hashlib
    import zlib

    cache = tmp_path / "cache"
    monkeypatch.setenv("FASTNET_CACHE", str(cache))
    folder = _folder_of_real_files(tmp_path)
    assert _same(load_mnist(folder), mnist)
    copies = _copies(cache)
    # The two image files (the label files are too small to be worth a copy).
    assert [p.name.split(".")[0] for p in copies] == ["t10k-images-idx3-ubyte",
                                                      "train-images-idx3-ubyte"]
    for copy in copies:
        stem, key, crc = copy.name.split(".")
        gz = (folder / (stem + ".gz")).read_bytes()
        assert key == hashlib.sha256(gz).hexdigest()
        assert copy.read_bytes() == gzip.decompress(gz)
        assert crc == "{:08x}".format(zlib.crc32(copy.read_bytes()))
    # Read back without inflating anything bigger than a label file.
    real = zlib.decompressobj

    def small_only(*args):
        inflater = real(*args)

        class Small:
            unconsumed_tail = property(lambda self: inflater.unconsumed_tail)
            unused_data = property(lambda self: inflater.unused_data)
            eof = property(lambda self: inflater.eof)

            def decompress(self, data, room):
                out = inflater.decompress(data, room)
                assert not out.startswith(b"\0\0\x08\x03"), "an image file was inflated"
                return out
        return Small()
    monkeypatch.setattr(zlib, "decompressobj", small_only)
    assert _same(load_mnist(folder, dtype=np.float64), mnist)
    assert _copies(cache) == copies


def test_inflated_copy_that_changed_is_not_used(tmp_path, monkeypatch, mnist):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FASTNET_CACHE", str(cache))
    folder = _folder_of_real_files(tmp_path)
    load_mnist(folder, test_images=False)
    [copy] = _copies(cache)
    content = bytearray(copy.read_bytes())
    content[1000] ^= 0xFF                       # one pixel of the first image
    copy.write_bytes(bytes(content))
    assert _same(load_mnist(folder), mnist)
    assert [p.name for p in _copies(cache)][1] == copy.name   # written again, whole
    assert copy.read_bytes()[1000] == content[1000] ^ 0xFF
    copy.write_bytes(bytes(content[:-5]))       # truncated
    assert _same(load_mnist(folder), mnist)


def test_inflated_copy_follows_the_file(tmp_path, monkeypatch, raw_uint8):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FASTNET_CACHE", str(cache))
    folder = _folder_of_real_files(tmp_path)
    load_mnist(folder, test_images=False)
    [old] = _copies(cache)
    # The same folder with other images: the copy of the old ones must not be used.
    name = "train-images-idx3-ubyte"
    content = bytearray(gzip.decompress((folder / (name + ".gz")).read_bytes()))
    content[16:16 + 784] = bytes(range(256)) * 3 + bytes(16)
    (folder / (name + ".gz")).write_bytes(gzip.compress(bytes(content), compresslevel=1))
    (X, _), _, _ = load_mnist(folder, test_images=False)
    assert np.array_equal(X[0] * 256, list(range(256)) * 3 + [0] * 16)
    assert np.array_equal(X[1:] * 256, raw_uint8[name].reshape(60000, 784)[1:50000])
    [new] = _copies(cache)
    assert new.name != old.name and new.read_bytes() == bytes(content)


def test_unwritable_cache_only_costs_time(tmp_path, monkeypatch, mnist):
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    monkeypatch.setenv("FASTNET_CACHE", str(blocker))
    assert _same(load_mnist(_folder_of_real_files(tmp_path)), mnist)
    assert blocker.read_bytes() == b""

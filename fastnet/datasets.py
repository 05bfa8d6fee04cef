"""Load MNIST and Fashion-MNIST as NumPy arrays.

    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load_mnist()

X arrays have shape (N, 784), are C-contiguous, and hold pixel bytes divided by
256 -- exactly the values of the book's ``mnist.pkl.gz``, so every route below
gives identical arrays.  y arrays are int64 labels 0..9.  N is 50,000 / 10,000 /
10,000: training is the first 50,000 of the 60,000 training images, validation
the last 10,000 of them, test the 10,000 test images, all in file order.

Accepted sources
  * the four IDX files (``train-images-idx3-ubyte`` and friends), gzip'd or not;
  * the book's ``mnist.pkl.gz`` (or an uncompressed ``mnist.pkl``).

Where the data is looked for, in order (the first that holds it wins)
  1. ``path``, if given: a directory, or a pickle file.  Nothing else is tried.
  2. the directories in the environment variable ``FASTNET_DATA``
     (several may be joined with ``os.pathsep``); in each, the dataset may sit
     in the directory itself or in a sub-directory ``mnist/`` (``fashion-mnist/``
     or ``fashion/`` for Fashion-MNIST).
  3. for Fashion-MNIST, Debian's package ``dataset-fashion-mnist``
     (``/usr/share/datasets/fashion-mnist``).
  4. the per-user cache: ``$FASTNET_CACHE``, else ``$XDG_CACHE_HOME/fastnet``,
     else ``~/.cache/fastnet``; one sub-directory per dataset.
  5. a download into that cache from the public mirrors (``MIRRORS``, or the
     base URLs in the environment variable ``FASTNET_MIRRORS``).

Downloads: each file streams into a temporary file inside the cache directory
(``fastnet.files.write_atomically``), is checked on the way, and only then
takes its real name, so a failed or killed download never leaves a
half-written file under a real name (a killed one leaves a hidden temporary
that the next write into the folder removes).  The check is the SHA-256 of the
*uncompressed* IDX bytes (``CONTENT_SHA256``): the IDX contents are the same
everywhere, while the gzip wrappers differ from one copy to another.  A mirror
may also be given as ``(base_url, {file name: sha256 of the downloaded
file})``, and then the downloaded bytes are checked against that table as
well.  A mirror that fails (timeout, HTTP error, bad checksum, short transfer,
a file that inflates past what its header promises) is moved to the back of
the list and the next one is tried.  A download that fails removes the cache
folders it created, if they are still empty.

The cache is checked at every use: its IDX files must have their known
SHA-256 (about 0.06 s on top of a 0.25 s load).  A changed file is deleted,
with a warning, and downloaded again (with ``download=False``: refused, with
the way out in the message).  Files in a folder you name (``path``,
``FASTNET_DATA``) are yours and are checked for shape and values only.

Hostile files: nothing is ever inflated whole.  An IDX file is read piece by
piece and refused as soon as it holds more than its header promises (or its
header promises the wrong shape, or more than ``MAX_IDX_BYTES``); the book's
pickle is read through a bound of ``MAX_PICKLE_BYTES`` by an unpickler that
builds nothing but arrays, and its parts are checked (shapes, finite images,
whole-number labels 0..9).  Every problem is a DataFormatError naming the file.
"""

import codecs
import gzip
import hashlib
import os
import pickle
import sys
import urllib.error
import urllib.request
import warnings
import zlib

import numpy as np

from fastnet.files import write_atomically

__all__ = [
    "load_mnist", "download", "read_idx", "default_cache_dir",
    "DataFormatError", "ChecksumError", "DataNotFoundError",
    "MIRRORS", "CONTENT_SHA256", "DEBIAN_DIRS",
]

DATASETS = ("mnist", "fashion")
NAMES = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}

# The four files of the IDX layout, keyed by role.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
PICKLE_NAMES = ("mnist.pkl.gz", "mnist.pkl")

# SHA-256 of the uncompressed IDX files.  MNIST's match the canonical MD5s
# published with the dataset; Fashion-MNIST's are those of Debian's package.
CONTENT_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

# Base URLs; each serves "<name>.gz" for the four IDX names.
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}

# Where system packages put the files.
DEBIAN_DIRS = {
    "mnist": [],
    "fashion": ["/usr/share/datasets/fashion-mnist"],
}

# Sub-directories of a FASTNET_DATA directory that may hold each dataset.
SUBDIRS = {"mnist": ["", "mnist"], "fashion": ["fashion-mnist", "fashion", ""]}

N_TRAIN, N_VAL, N_TEST = 50000, 10000, 10000
IMAGE_SHAPE = (28, 28)
DEFAULT_TIMEOUT = 30.0
IDX_UBYTE = 0x08
GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 1 << 16
# Bounds on what a file may inflate to.  The largest real file, MNIST's
# training images, is 47,040,016 bytes; the book's pickle about 220 MB (440 MB
# if someone stored it in float64).
MAX_IDX_BYTES = 1 << 30
MAX_PICKLE_BYTES = 512 << 20
TRAILING_LIMIT = 1 << 20   # extra bytes counted (for the message) before giving up
# What each of the four files must hold.
EXPECTED_SHAPES = {
    "train_images": (N_TRAIN + N_VAL,) + IMAGE_SHAPE, "train_labels": (N_TRAIN + N_VAL,),
    "test_images": (N_TEST,) + IMAGE_SHAPE, "test_labels": (N_TEST,),
}
USER_AGENT = "fastnet (Python urllib; MNIST loader)"


class DataFormatError(ValueError):
    """A data file exists but is not what it should be (truncated, corrupt,
    wrong shape).  ``path`` names the file."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__("{}: {}".format(path, problem))


class ChecksumError(DataFormatError):
    """A downloaded file's SHA-256 differs from the known one."""


class DataNotFoundError(FileNotFoundError):
    """The dataset is nowhere to be found and could not be downloaded."""

    def __str__(self):
        return self.args[0] if self.args else "data not found"


# ---------------------------------------------------------------------------
# Reading files
#
# Every file is read through _IdxStream (IDX files) or _BoundedReader (the
# pickle), piece by piece: a gzip file is never inflated whole, and nothing
# is inflated past what the file can legitimately hold, so a small file that
# would inflate to gigabytes (a "gzip bomb") is refused after a few bytes.


class _IdxStream:
    """Checks and collects an IDX file of unsigned bytes fed to it in pieces.

    The pieces are the file's raw bytes, gzip'd or not (judged by the first
    two bytes).  As soon as the header has arrived its dimensions are checked
    (against ``dims`` if given, else against ``max_bytes``), and from then on
    no more than the header promises is accepted.  ``finish()`` returns the
    uint8 array (``keep=True``); ``sha256`` is the digest of the uncompressed
    bytes, header included (``digest=True``).  Problems raise DataFormatError
    naming ``where``.
    """

    def __init__(self, where, dims=None, max_bytes=None, keep=True, digest=True):
        self.where = where
        self.dims = dims
        self.max_bytes = MAX_IDX_BYTES if max_bytes is None else max_bytes
        self.keep = keep
        self.gzipped = None
        self._pending = b""       # raw bytes held until gzip or not can be told
        self._inflater = None
        self._raw = 0
        self._header = bytearray()
        self._header_size = None
        self._shape = None
        self._total = None        # uncompressed size the header promises
        self._size = 0            # uncompressed bytes seen
        self._body = None
        self._hash = hashlib.sha256() if digest else None

    def _fail(self, problem):
        raise DataFormatError(self.where, problem)

    def feed(self, raw):
        self._raw += len(raw)
        limit = (self._total if self._total is not None else self.max_bytes)
        if self._raw > limit + limit // 64 + (1 << 20):
            self._fail("{:,} bytes already, more than an IDX file of its header's size "
                       "can take".format(self._raw))
        if self.gzipped is None:
            raw = self._pending + raw
            if len(raw) < 2:
                self._pending = raw
                return
            self._pending = b""
            self.gzipped = raw[:2] == GZIP_MAGIC
        if not self.gzipped:
            self._content(raw)
            return
        data = raw
        while data:
            if self._inflater is None:
                self._inflater = zlib.decompressobj(31)   # one gzip member
            room = READ_CHUNK
            if self._total is not None:
                room = min(room, max(1, self._total + TRAILING_LIMIT - self._size + 1))
            try:
                out = self._inflater.decompress(data, room)
            except zlib.error as e:
                self._fail("gzip data is corrupt ({})".format(e))
            self._content(out)
            if self._inflater.eof:           # a member ended; another may follow
                data = self._inflater.unused_data
                self._inflater = None
                if data and not data.strip(b"\0"):
                    break                    # zero padding after the last member
            else:
                data = self._inflater.unconsumed_tail

    def _content(self, data):
        if not data:
            return
        if self._header_size is None or len(self._header) < self._header_size:
            take = (self._header_size or 4) - len(self._header)
            self._header += data[:take]
            data = data[take:]
            if self._header_size is None and len(self._header) == 4:
                self._read_magic()
                return self._content(data)
            if self._header_size is not None and len(self._header) == self._header_size:
                self._read_dims()
            if not data:
                return
        end = self._size + len(data)
        if end > self._total + TRAILING_LIMIT:
            self._fail("holds more than the {:,} bytes its IDX header promises "
                       "(a corrupt file, or one built to exhaust memory)".format(self._total))
        useful = data[:max(0, self._total - self._size)]
        if useful:
            if self._hash is not None:
                self._hash.update(useful)
            if self._body is not None:
                self._body += useful   # grows with what arrives, not with what is promised
        self._size = end

    def _read_magic(self):
        zero, code, ndim = int.from_bytes(self._header[:2], "big"), self._header[2], \
            self._header[3]
        if zero != 0 or code != IDX_UBYTE or not 1 <= ndim <= 4:
            self._fail("bad IDX magic number 0x{} (expected 0x0000080N: unsigned bytes, "
                       "N dimensions)".format(bytes(self._header).hex()))
        self._header_size = 4 + 4 * ndim

    def _read_dims(self):
        h = self._header
        shape = tuple(int.from_bytes(h[4 + 4 * i: 8 + 4 * i], "big")
                      for i in range(h[3]))
        body = nonzero = 1
        for d in shape:          # Python ints: no overflow, however large the header says
            body *= d
            nonzero *= max(d, 1)
        if self.dims is not None:
            self.dims(shape, self.where)
        if body > self.max_bytes:
            self._fail("the IDX header promises {} = {:,} bytes, more than the {:,} this "
                       "reader accepts".format("x".join(map(str, shape)), body, self.max_bytes))
        if nonzero > self.max_bytes:   # an empty array may not have absurd dimensions either
            self._fail("the IDX header's dimensions {} are larger than the {:,} bytes this "
                       "reader accepts".format("x".join(map(str, shape)), self.max_bytes))
        self._shape = shape
        self._total = self._header_size + body
        self._size = self._header_size
        if self._hash is not None:
            self._hash.update(bytes(h))
        if self.keep:
            self._body = bytearray()

    def finish(self):
        """Check that the file ended where its header says; return the array (or None)."""
        if self.gzipped is None:
            self.gzipped = False
            self._content(self._pending)
        elif self._inflater is not None:
            self._fail("gzip data is truncated")
        if self._header_size is None or len(self._header) < self._header_size:
            if self._header_size is None:
                self._fail("too short to be an IDX file ({} bytes)".format(len(self._header)))
            self._fail("IDX header is truncated")
        if self._size < self._total:
            self._fail("truncated: header promises {} items but only {} of {} bytes are there"
                       .format("x".join(map(str, self._shape)), self._size, self._total))
        if self._size > self._total:
            self._fail("{} unexpected bytes after the data".format(self._size - self._total))
        if self._body is None:
            return None
        return np.frombuffer(self._body, dtype=np.uint8).reshape(self._shape)

    @property
    def sha256(self):
        return self._hash.hexdigest()


def _open(path):
    """Open ``path`` for reading bytes; a failure is a DataFormatError naming it."""
    try:
        return open(path, "rb")
    except IsADirectoryError:
        raise DataFormatError(path, "is a folder, not a file") from None
    except OSError as e:
        raise DataFormatError(path, "cannot read: {}".format(e.strerror or e)) from e


def _read_idx(path, dims=None, max_bytes=None, digest=False):
    """Read one IDX file through _IdxStream; return the stream (array in ``.array``)."""
    stream = _IdxStream(path, dims, max_bytes, digest=digest)
    with _open(path) as f:
        try:
            for chunk in iter(lambda: f.read(READ_CHUNK), b""):
                stream.feed(chunk)
        except OSError as e:
            raise DataFormatError(path, "cannot read: {}".format(e.strerror or e)) from e
    stream.array = stream.finish()
    return stream


def read_idx(path, max_bytes=None):
    """Read one IDX file of unsigned bytes (gzip'd or not) into a uint8 array.

    The magic number, the dimensions and the file size are checked, and a file
    that holds (or inflates to) more than its header promises is refused as
    soon as it does, as is a header that promises more than ``max_bytes``
    (default ``MAX_IDX_BYTES``, 1 GiB).  A bad file raises DataFormatError
    naming it."""
    return _read_idx(path, max_bytes=max_bytes).array


def _expect_images(count):
    def check(shape, path):
        if len(shape) != 3 or shape[1:] != IMAGE_SHAPE:
            raise DataFormatError(
                path, "expected 28x28 images, found an array of shape {}".format(shape))
        if shape[0] != count:
            raise DataFormatError(path, "expected {} images, found {}".format(count, shape[0]))
    return check


def _expect_labels(count):
    def check(shape, path):
        if len(shape) != 1:
            raise DataFormatError(
                path, "expected a 1-D label file, found shape {}".format(shape))
        if shape[0] != count:
            raise DataFormatError(path, "expected {} labels, found {}".format(count, shape[0]))
    return check


def _check_label_values(labels, path):
    if labels.size and labels.max() > 9:
        raise DataFormatError(path, "labels must be 0..9, found {}".format(int(labels.max())))


def _scale(images, dtype):
    """uint8 (N, 28, 28) -> dtype (N, 784), bytes / 256 (exact in float32)."""
    out = images.reshape(len(images), -1).astype(dtype)
    out *= dtype(1.0 / 256)
    return out


def _identify(digest):
    """Name the known dataset one of whose label files has this SHA-256, or None."""
    for name, table in CONTENT_SHA256.items():
        if digest in (table["train-labels-idx1-ubyte"], table["t10k-labels-idx1-ubyte"]):
            return name
    return None


class _WrongDataset(Exception):
    """Internal: the files are a different known dataset than the one asked for."""


class _Altered(DataFormatError):
    """Internal: a file in the cache whose SHA-256 is not the known one."""


def _load_idx(files, dataset, dtype, verify=False):
    """Load the split from the four IDX paths in ``files`` (keyed by role).

    ``verify``: compare every file's SHA-256 with ``CONTENT_SHA256`` (used for
    the cache, which holds downloaded files; a user's own folder is only
    checked for shape and values, as a folder of modified files may be meant).
    """
    streams = {}
    for role in ("train_labels", "test_labels", "train_images", "test_images"):
        shape = EXPECTED_SHAPES[role]
        check = _expect_labels(shape[0]) if "labels" in role else _expect_images(shape[0])
        # Label files are hashed to tell MNIST from Fashion-MNIST (cheap).
        streams[role] = _read_idx(files[role], dims=check, digest=verify or "labels" in role)
        if "labels" in role:
            found = _identify(streams[role].sha256)
            if found is not None and found != dataset:
                raise _WrongDataset("holds {} files, not {}".format(
                    NAMES[found], NAMES[dataset]))
        if verify:
            expected = CONTENT_SHA256[dataset][IDX_FILES[role]]
            if streams[role].sha256 != expected:
                raise _Altered(files[role], "SHA-256 of the contents is {}, not {}'s {}: "
                               "the cached file is corrupt or was changed".format(
                                   streams[role].sha256, NAMES[dataset], expected))
    for role in ("train_labels", "test_labels"):
        _check_label_values(streams[role].array, files[role])

    X = _scale(streams["train_images"].array, dtype)
    y = streams["train_labels"].array.astype(np.int64)
    # Row slices of a C-contiguous array are C-contiguous.
    return ((X[:N_TRAIN], y[:N_TRAIN]),
            (X[N_TRAIN:], y[N_TRAIN:]),
            (_scale(streams["test_images"].array, dtype),
             streams["test_labels"].array.astype(np.int64)))


def _refuse(what):
    raise pickle.UnpicklingError("refusing to load {}".format(what))


def _plain_dtype(dtype):
    """``dtype`` if it is a plain number type (bool, int, uint, float), else refuse."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf" or dtype.hasobject \
            or dtype.fields is not None or dtype.subdtype is not None:
        _refuse("an array of dtype {}".format(dtype))
    return dtype


def _new_dtype(spec, align=False, copy=False):
    """numpy.dtype, for plain number types only."""
    if not isinstance(spec, (str, bytes)):
        _refuse("a dtype built from {}".format(type(spec).__name__))
    spec = spec.decode("latin1") if isinstance(spec, bytes) else spec
    try:
        # copy=True (as pickles ask) gives a fresh dtype: the BUILD step that
        # follows must not change NumPy's shared instance of the type.
        return _plain_dtype(np.dtype(spec, bool(align), bool(copy)))
    except TypeError:
        _refuse("dtype {!r}".format(spec))


def _new_empty_array(subtype, shape, typecode):
    """numpy's _reconstruct: an empty ndarray that BUILD then fills."""
    if subtype is not np.ndarray:
        _refuse("an array of type {!r}".format(subtype))
    return np.ndarray.__new__(np.ndarray, (0,), "b")


def _array_from_buffer(buffer, dtype, shape, order):
    """numpy's _frombuffer (protocol 5 arrays), checked."""
    dtype = _plain_dtype(dtype)
    if not isinstance(buffer, (bytes, bytearray)) or not _is_shape(shape) \
            or order not in ("C", "F"):
        _refuse("a malformed array")
    count = 1
    for d in shape:
        count *= d
    if count * dtype.itemsize != len(buffer):
        _refuse("an array whose data does not fit its shape")
    return np.frombuffer(buffer, dtype).reshape(shape, order=order)


def _is_shape(shape):
    return isinstance(shape, tuple) and all(type(d) is int and d >= 0 for d in shape)


def _scalar(dtype, data):
    """numpy's scalar (a pickled NumPy number), checked."""
    dtype = _plain_dtype(dtype)
    if isinstance(data, str):   # Python 2's byte string, read as latin-1 text
        data = data.encode("latin1")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        _refuse("a malformed NumPy scalar")
    return np.frombuffer(data, dtype)[0]


class _ArrayUnpickler(pickle._Unpickler):
    """Unpickles NumPy arrays of plain numbers, tuples and lists, and refuses
    anything else, so that a stray or crafted pickle can neither run code nor
    crash the process.  Handles the book's Python 2 pickle.

    NumPy's own reconstructors trust their arguments (a pickle that hands them
    an object dtype, or a dtype state with made-up sizes and flags, crashes
    Python), so every global is replaced by a checking function, and the
    BUILD step (``__setstate__``) is allowed only on the objects those return,
    with states of the expected form.  This is the pure-Python unpickler,
    whose BUILD can be intercepted; the book's pickle is a handful of large
    byte strings, so it is no slower.
    """

    ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"): _new_empty_array,
        ("numpy._core.multiarray", "scalar"): _scalar,
        ("numpy._core.numeric", "_frombuffer"): _array_from_buffer,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _new_dtype,
        ("_codecs", "encode"): codecs.encode,
    }

    def find_class(self, module, name):
        # Old pickles (the book's among them) say numpy.core; NumPy 2 says numpy._core.
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        found = self.ALLOWED.get((module, name))
        if found is None:
            _refuse("{}.{}".format(module, name))
        return found

    def load_build(self):
        state = self.stack[-1]
        target = self.stack[-2]
        if isinstance(target, np.dtype):
            # (3, byte order, subarray, names, fields, elsize, alignment, flags)
            if not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3
                    and state[1] in ("<", ">", "|", "=") and state[2:5] == (None,) * 3
                    and state[5:] == (-1, -1, 0)):
                _refuse("a dtype with the state {!r}".format(state)[:200])
        elif type(target) is np.ndarray and target.shape == (0,) and target.dtype == "b":
            # (version, shape, dtype, is Fortran order, data bytes); Python 2
            # wrote the data as a byte string, which arrives here as latin-1 text.
            if isinstance(state, tuple) and len(state) == 5 and isinstance(state[4], str):
                state = self.stack[-1] = state[:4] + (state[4].encode("latin1"),)
            if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1
                    and _is_shape(state[1]) and isinstance(state[3], bool)
                    and isinstance(state[4], (bytes, bytearray))):
                _refuse("an array with a malformed state")
            _plain_dtype(state[2])
        else:
            _refuse("the state of a {}".format(type(target).__name__))
        super().load_build()

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BUILD[0]] = load_build


class _BoundedReader:
    """A file-like reader that refuses to deliver more than ``limit`` bytes:
    what the unpickler reads the book's pickle through, so a pickle that
    inflates (or claims an object) past the limit is refused, not loaded."""

    def __init__(self, f, limit, path):
        self.f, self.left, self.limit, self.path = f, limit, limit, path

    def _take(self, n):
        if n is None or n < 0 or n > self.left:
            return self.left + 1   # one byte more than allowed shows whether there is more
        return n

    def _count(self, data):
        if len(data) > self.left:
            raise DataFormatError(self.path, "holds more than {:,} bytes of pickle data, more "
                                  "than the MNIST triple needs (a corrupt file, or one built "
                                  "to exhaust memory)".format(self.limit))
        self.left -= len(data)
        return data

    def read(self, n=-1):
        return self._count(self.f.read(self._take(n)))

    def readline(self, n=-1):
        return self._count(self.f.readline(self._take(n)))

    def readinto(self, buffer):
        with memoryview(buffer) as view:
            data = self.read(len(view))
            view[:len(data)] = data
        return len(data)


def _load_pickle(path, dtype):
    """Load the book's pickle: a (gzip'd) pickle of three (images, labels) pairs.

    Read through a bounded reader (``MAX_PICKLE_BYTES``) and an unpickler that
    builds nothing but arrays; then every part is checked: shapes, finite
    images, whole-number labels 0..9."""
    with _open(path) as f:
        gzipped = f.read(2) == GZIP_MAGIC
        f.seek(0)
        source = gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f
        try:
            triple = _ArrayUnpickler(_BoundedReader(source, MAX_PICKLE_BYTES, path),
                                     encoding="latin1").load()
        except DataFormatError:
            raise
        except EOFError as e:
            raise DataFormatError(path, "gzip data is truncated" if gzipped and
                                  "Compressed file ended" in str(e) else
                                  "not a readable MNIST pickle (it ends too early)") from e
        except (zlib.error, gzip.BadGzipFile) as e:
            raise DataFormatError(path, "gzip data is corrupt ({})".format(e)) from e
        except MemoryError:
            raise DataFormatError(path, "not a readable MNIST pickle (it asks for more memory "
                                  "than there is)") from None
        except RecursionError:
            raise DataFormatError(path, "not a readable MNIST pickle (nested too deeply)") \
                from None
        except Exception as e:
            raise DataFormatError(path, "not a readable MNIST pickle ({})".format(e)) from e
    counts = (N_TRAIN, N_VAL, N_TEST)
    if not (isinstance(triple, (tuple, list)) and len(triple) == 3):
        raise DataFormatError(path, "expected a pickled triple (training, validation, test)")
    out = []
    for part, count, what in zip(triple, counts, ("training", "validation", "test")):
        if not (isinstance(part, (tuple, list)) and len(part) == 2):
            raise DataFormatError(path, "the {} part is not an (images, labels) pair".format(what))
        images, labels = part
        if not (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)):
            raise DataFormatError(path, "the {} part is not a pair of arrays".format(what))
        if images.shape != (count, 784) or labels.shape != (count,):
            raise DataFormatError(
                path, "the {} part has shapes {} and {}, expected ({}, 784) and ({},)"
                .format(what, images.shape, labels.shape, count, count))
        out.append((_checked_images(images, dtype, path, what),
                    _checked_labels(labels, path, what)))
    return tuple(out)


def _checked_images(images, dtype, path, what):
    if images.dtype.kind not in "fiu":
        raise DataFormatError(path, "the {} images are of dtype {}, not numbers".format(
            what, images.dtype))
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        raise DataFormatError(path, "the {} images contain NaN or infinity".format(what))
    return np.ascontiguousarray(images, dtype=dtype)


def _checked_labels(labels, path, what):
    if labels.dtype.kind not in "fiu":
        raise DataFormatError(path, "the {} labels are of dtype {}, not numbers".format(
            what, labels.dtype))
    bad = ~np.isin(labels, np.arange(10))
    if bad.any():
        raise DataFormatError(path, "the {} labels must be whole numbers 0..9, found {!r} at "
                              "position {}".format(what, labels[bad][0].item(),
                                                   int(np.argmax(bad))))
    return np.ascontiguousarray(labels, dtype=np.int64)


# ---------------------------------------------------------------------------
# Finding files

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


def _pickle_file(directory):
    for name in PICKLE_NAMES:
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    return None


def _load_from_dir(directory, dataset, dtype, verify=False):
    """Load from a directory holding the IDX files or (for MNIST) the pickle;
    return None if it holds neither.  ``verify``: see ``_load_idx``."""
    files = _idx_files(directory)
    if files is not None:
        return _load_idx(files, dataset, dtype, verify)
    if dataset == "mnist":
        p = _pickle_file(directory)
        if p is not None:
            return _load_pickle(p, dtype)
    return None


def default_cache_dir():
    """$FASTNET_CACHE, else $XDG_CACHE_HOME/fastnet, else ~/.cache/fastnet."""
    if os.environ.get("FASTNET_CACHE"):
        return os.environ["FASTNET_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fastnet")


def _check_dataset(dataset):
    if dataset not in DATASETS:
        raise ValueError("dataset must be one of {}, not {!r}".format(
            ", ".join(repr(d) for d in DATASETS), dataset))


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError("dtype must be float32 or float64, not {}".format(dt))
    return dt.type


def load_mnist(path=None, dataset="mnist", dtype=np.float32, *, download=True,
               mirrors=None, cache_dir=None, timeout=DEFAULT_TIMEOUT, progress=None):
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

    Raises DataFormatError (a ValueError) for a bad file, DataNotFoundError
    (a FileNotFoundError) when the data is nowhere and cannot be downloaded.
    """
    _check_dataset(dataset)
    dtype = _check_dtype(dtype)
    name = NAMES[dataset]

    if path is not None:
        path = os.path.expanduser(os.fspath(path))
        base = os.path.basename(path)
        if base in IDX_FILES.values() or base[:-3] in IDX_FILES.values():
            path = os.path.dirname(path) or "."  # one of the four files: use its folder
        if os.path.isfile(path):
            return _load_pickle(path, dtype)
        if not os.path.isdir(path):
            raise DataNotFoundError("{}: no such file or directory".format(path))
        try:
            data = _load_from_dir(path, dataset, dtype)
        except _WrongDataset as e:
            raise DataFormatError(path, str(e)) from None
        if data is None:
            raise DataNotFoundError(
                "{}: no {} files there (expected {} or their .gz{})".format(
                    path, name, ", ".join(IDX_FILES.values()),
                    ", or mnist.pkl.gz" if dataset == "mnist" else ""))
        return data

    places = []
    for d in os.environ.get("FASTNET_DATA", "").split(os.pathsep):
        if d:
            d = os.path.expanduser(d)
            places += [os.path.join(d, sub) if sub else d for sub in SUBDIRS[dataset]]
    places += DEBIAN_DIRS[dataset]
    cache = os.path.join(cache_dir or default_cache_dir(), dataset)
    places.append(cache)

    looked = [] if os.environ.get("FASTNET_DATA") else ["FASTNET_DATA (not set)"]
    for place in places:
        if not os.path.isdir(place):
            looked.append(place + " (missing)")
            continue
        try:
            # The cache holds downloads: their SHA-256 is checked at every use.
            data = _load_from_dir(place, dataset, dtype, verify=place == cache)
        except _WrongDataset as e:
            looked.append("{} ({})".format(place, e))
            continue
        except _Altered as e:
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
            _download(dataset, cache_dir=cache_dir, mirrors=mirrors, timeout=timeout,
                      progress=progress)
        except DataNotFoundError as e:
            raise DataNotFoundError("no {} files found: {}; download failed: {}; {}".format(
                name, where, e, how)) from None
        try:
            data = _load_from_dir(cache, dataset, dtype, verify=True)
        except _Altered as e:
            warnings.warn("{}; deleted it, downloading it again".format(e), stacklevel=2)
            _unlink(e.path)
            continue
        if data is None:  # pragma: no cover - download() guarantees the files
            raise DataNotFoundError("{}: download finished but files are missing".format(
                cache))
        return data
    raise DataFormatError(cache, "the cache keeps holding changed files")  # pragma: no cover


# ---------------------------------------------------------------------------
# Downloading

def _progress_bar(total, url, desc, progress):
    """A tqdm bar (or None) for downloading ``total`` bytes from ``url``."""
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: a plain line instead of a bar
        print("fastnet: downloading {} ...".format(url), file=sys.stderr, flush=True)
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, leave=False)


def _fetch(url, folder, name, shape, content_sha256, file_sha256, timeout, progress):
    """Download one IDX file from ``url`` into ``folder``, checking it on the way.

    The bytes stream into a temporary file (``fastnet.files.write_atomically``)
    and through an _IdxStream, which inflates them piece by piece and refuses
    content past what the header promises; the file takes its real name only
    after its checks pass: the header's dimensions (``shape``), the SHA-256 of
    the contents, and the SHA-256 of the file itself if the mirror gives one.
    It is stored as ``name.gz`` if it came gzip'd, else as ``name``.  Raises
    OSError (urllib's errors, timeouts, a short transfer) or DataFormatError."""
    # Some servers turn away urllib's default User-Agent.
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        read = getattr(response, "read1", response.read)  # read1: whatever has arrived
        first = b""
        while len(first) < 2:   # enough to tell gzip'd from plain
            chunk = read(READ_CHUNK)
            if not chunk:
                break
            first += chunk
        gzipped = first[:2] == GZIP_MAGIC
        check = _IdxStream(url, _expect_labels(shape[0]) if len(shape) == 1
                           else _expect_images(shape[0]), keep=False)
        whole = hashlib.sha256()

        def write(out):
            bar = _progress_bar(length, url, name, progress)
            received = 0
            try:
                chunk = first
                while chunk:
                    out.write(chunk)
                    whole.update(chunk)
                    check.feed(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                    chunk = read(READ_CHUNK)
            finally:
                if bar is not None:
                    bar.close()
            if length is not None and received != length:
                raise OSError("transfer cut short: got {} of {} bytes".format(received, length))
            if file_sha256 is not None and whole.hexdigest() != file_sha256:
                raise ChecksumError(url, "SHA-256 of the download does not match the "
                                    "mirror's table")
            check.finish()
            if content_sha256 is not None and check.sha256 != content_sha256:
                raise ChecksumError(url, "SHA-256 mismatch: got {}, expected {}".format(
                    check.sha256, content_sha256))

        write_atomically(os.path.join(folder, name + (".gz" if gzipped else "")), write)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _split_mirror(mirror):
    """A mirror is a base URL, or (base URL, {file name: sha256 of that file})."""
    if isinstance(mirror, str):
        base, table = mirror, {}
    else:
        base, table = mirror
    return (base if base.endswith("/") else base + "/"), dict(table)


def download(dataset="mnist", cache_dir=None, mirrors=None, timeout=DEFAULT_TIMEOUT,
             progress=None):
    """Fetch the four IDX files of ``dataset`` into ``<cache_dir>/<dataset>``.

    ``mirrors`` defaults to the base URLs in the environment variable
    FASTNET_MIRRORS (separated by spaces or commas), else ``MIRRORS[dataset]``.
    Files already in the cache are kept.  Each file is tried on every mirror in
    turn; a mirror that failed is tried last for the following files.  Every
    file is verified before it is renamed into place.  Returns the directory;
    raises DataNotFoundError listing each mirror's failure if a file cannot be had.
    """
    _check_dataset(dataset)
    if mirrors is None:
        mirrors = os.environ.get("FASTNET_MIRRORS", "").replace(",", " ").split() \
            or MIRRORS[dataset]
    mirrors = [_split_mirror(m) for m in mirrors]
    if not mirrors:
        raise DataNotFoundError("no download mirrors given")
    target = os.path.join(cache_dir or default_cache_dir(), dataset)
    created = _make_folders(target)
    try:
        if not os.access(target, os.W_OK | os.X_OK):
            raise DataNotFoundError("cannot write to the cache folder {}".format(target))
        roles = {name: role for role, name in IDX_FILES.items()}
        # Small label files first: a bad mirror shows itself before the big downloads.
        for name in sorted(IDX_FILES.values(), key=lambda n: "images" in n):
            if os.path.isfile(os.path.join(target, name + ".gz")) or \
                    os.path.isfile(os.path.join(target, name)):
                continue
            failures = []
            for mirror in list(mirrors):
                base, table = mirror
                url = base + name + ".gz"
                try:
                    _fetch(url, target, name, EXPECTED_SHAPES[roles[name]],
                           CONTENT_SHA256[dataset].get(name), table.get(name + ".gz"),
                           timeout, progress)
                    break
                except (OSError, ValueError) as e:
                    failures.append("{}: {}".format(url, _describe(e)))
                    mirrors.remove(mirror)
                    mirrors.append(mirror)
            else:
                raise DataNotFoundError("could not download {}.gz ({})".format(
                    name, "; ".join(failures)))
    except BaseException:
        _remove_empty_folders(created)
        raise
    return target


def _make_folders(folder):
    """``os.makedirs(folder)``; return the folders it created, deepest first."""
    created = []
    f = os.path.abspath(folder)
    while not os.path.isdir(f):
        created.append(f)
        parent = os.path.dirname(f)
        if parent == f:
            break
        f = parent
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        _remove_empty_folders(created)
        raise DataNotFoundError("cannot create the cache folder {}: {}".format(
            folder, e.strerror or e)) from None
    return created


def _remove_empty_folders(folders):
    """Remove those of ``folders`` (deepest first) that are empty: a failed
    download leaves no empty cache folders behind."""
    for f in folders:
        try:
            os.rmdir(f)
        except OSError:
            return


_download = download  # load_mnist's argument "download" hides the name there


def _describe(error):
    """A short, one-line description of a download failure."""
    if isinstance(error, urllib.error.HTTPError):
        return "HTTP {} {}".format(error.code, error.reason)
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return "timed out"
        return str(reason)
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, DataFormatError):
        return error.problem
    return str(error) or type(error).__name__

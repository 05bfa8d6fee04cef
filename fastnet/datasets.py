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

Downloads: each file is fetched into a temporary file inside the cache
directory, checked, and only then renamed into place with ``os.replace``, so a
failed or killed download never leaves a half-written file under a real name.
The check is the SHA-256 of the *uncompressed* IDX bytes (``CONTENT_SHA256``):
the IDX contents are the same everywhere, while the gzip wrappers differ from
one copy to another.  A mirror may also be given as ``(base_url, {file name:
sha256 of the downloaded file})``, and then the downloaded bytes are checked
against that table as well.  A mirror that fails (timeout, HTTP error, bad
checksum, short transfer) is moved to the back of the list and the next one is
tried.
"""

import gzip
import hashlib
import io
import os
import pickle
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

import numpy as np

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
PART_PREFIX = ".part-"
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

def _read_bytes(path):
    """Return the file's bytes, gunzipped if it is gzip'd (judged by content)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataFormatError(path, "cannot read: {}".format(e.strerror or e)) from e
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except EOFError as e:
            raise DataFormatError(path, "gzip data is truncated") from e
        except (OSError, zlib.error) as e:
            raise DataFormatError(path, "gzip data is corrupt ({})".format(e)) from e
    return raw


def _parse_idx(data, path):
    """Turn IDX bytes into a uint8 array, checking the header and the size."""
    if len(data) < 4:
        raise DataFormatError(path, "too short to be an IDX file ({} bytes)".format(len(data)))
    zero, dtype_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or dtype_code != IDX_UBYTE or not 1 <= ndim <= 4:
        raise DataFormatError(
            path, "bad IDX magic number 0x{} (expected 0x0000080N: unsigned bytes, N dimensions)"
            .format(data[:4].hex()))
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(path, "IDX header is truncated")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) < expected:
        raise DataFormatError(
            path, "truncated: header promises {} items but only {} of {} bytes are there"
            .format("x".join(map(str, dims)), len(data), expected))
    if len(data) > expected:
        raise DataFormatError(
            path, "{} unexpected bytes after the data".format(len(data) - expected))
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path):
    """Read one IDX file of unsigned bytes (gzip'd or not) into a uint8 array.

    The magic number, the dimensions and the file size are checked; a bad file
    raises DataFormatError naming it."""
    return _parse_idx(_read_bytes(path), path)


def _check_images(images, count, path):
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataFormatError(
            path, "expected 28x28 images, found an array of shape {}".format(images.shape))
    if images.shape[0] != count:
        raise DataFormatError(path, "expected {} images, found {}".format(count, images.shape[0]))


def _check_labels(labels, count, path):
    if labels.ndim != 1:
        raise DataFormatError(
            path, "expected a 1-D label file, found shape {}".format(labels.shape))
    if labels.shape[0] != count:
        raise DataFormatError(path, "expected {} labels, found {}".format(count, labels.shape[0]))
    if labels.size and labels.max() > 9:
        raise DataFormatError(path, "labels must be 0..9, found {}".format(int(labels.max())))


def _scale(images, dtype):
    """uint8 (N, 28, 28) -> dtype (N, 784), bytes / 256 (exact in float32)."""
    out = images.reshape(len(images), -1).astype(dtype)
    out *= dtype(1.0 / 256)
    return out


def _identify(label_bytes):
    """Name the known dataset whose label file has exactly these bytes, or None."""
    digest = hashlib.sha256(label_bytes).hexdigest()
    for name, table in CONTENT_SHA256.items():
        if digest in (table["train-labels-idx1-ubyte"], table["t10k-labels-idx1-ubyte"]):
            return name
    return None


class _WrongDataset(Exception):
    """Internal: the files are a different known dataset than the one asked for."""


def _load_idx(files, dataset, dtype):
    """Load the split from the four IDX paths in ``files`` (keyed by role)."""
    label_bytes = {}
    for role in ("train_labels", "test_labels"):
        label_bytes[role] = _read_bytes(files[role])
        found = _identify(label_bytes[role])
        if found is not None and found != dataset:
            raise _WrongDataset("holds {} files, not {}".format(NAMES[found], NAMES[dataset]))
    train_labels = _parse_idx(label_bytes["train_labels"], files["train_labels"])
    test_labels = _parse_idx(label_bytes["test_labels"], files["test_labels"])
    _check_labels(train_labels, N_TRAIN + N_VAL, files["train_labels"])
    _check_labels(test_labels, N_TEST, files["test_labels"])
    train_images = read_idx(files["train_images"])
    test_images = read_idx(files["test_images"])
    _check_images(train_images, N_TRAIN + N_VAL, files["train_images"])
    _check_images(test_images, N_TEST, files["test_images"])

    X = _scale(train_images, dtype)
    y = train_labels.astype(np.int64)
    # Row slices of a C-contiguous array are C-contiguous.
    return ((X[:N_TRAIN], y[:N_TRAIN]),
            (X[N_TRAIN:], y[N_TRAIN:]),
            (_scale(test_images, dtype), test_labels.astype(np.int64)))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and tuples, and refuses anything else, so a
    stray pickle cannot run code.  Handles the book's Python 2 pickle."""

    ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"), ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        # Old pickles (the book's among them) say numpy.core; NumPy 2 says numpy._core.
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError("refusing to load {}.{}".format(module, name))
        if module.startswith("numpy._core") and not hasattr(np, "_core"):  # NumPy 1.x
            module = "numpy.core" + module[len("numpy._core"):]
        return super().find_class(module, name)


def _load_pickle(path, dtype):
    """Load the book's pickle: a (gzip'd) pickle of three (images, labels) pairs."""
    raw = _read_bytes(path)
    try:
        triple = _ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as e:
        raise DataFormatError(path, "not a readable MNIST pickle ({})".format(e)) from e
    counts = (N_TRAIN, N_VAL, N_TEST)
    if not (isinstance(triple, (tuple, list)) and len(triple) == 3):
        raise DataFormatError(path, "expected a pickled triple (training, validation, test)")
    out = []
    for part, count, what in zip(triple, counts, ("training", "validation", "test")):
        if not (isinstance(part, (tuple, list)) and len(part) == 2):
            raise DataFormatError(path, "the {} part is not an (images, labels) pair".format(what))
        images, labels = np.asarray(part[0]), np.asarray(part[1])
        if images.shape != (count, 784) or labels.shape != (count,):
            raise DataFormatError(
                path, "the {} part has shapes {} and {}, expected ({}, 784) and ({},)"
                .format(what, images.shape, labels.shape, count, count))
        out.append((np.ascontiguousarray(images, dtype=dtype),
                    np.ascontiguousarray(labels, dtype=np.int64)))
    return tuple(out)


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


def _load_from_dir(directory, dataset, dtype):
    """Load from a directory holding the IDX files or (for MNIST) the pickle;
    return None if it holds neither."""
    files = _idx_files(directory)
    if files is not None:
        return _load_idx(files, dataset, dtype)
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
            data = _load_from_dir(place, dataset, dtype)
        except _WrongDataset as e:
            looked.append("{} ({})".format(place, e))
            continue
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
    try:
        _download(dataset, cache_dir=cache_dir, mirrors=mirrors, timeout=timeout,
                  progress=progress)
    except DataNotFoundError as e:
        raise DataNotFoundError("no {} files found: {}; download failed: {}; {}".format(
            name, where, e, how)) from None
    data = _load_from_dir(cache, dataset, dtype)
    if data is None:  # pragma: no cover - download() guarantees the files
        raise DataNotFoundError("{}: download finished but files are missing".format(cache))
    return data


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


def _fetch(url, dest_dir, timeout, progress, desc):
    """Download ``url`` into a new temporary file in ``dest_dir``; return its path.

    The caller renames it into place or deletes it.  Raises OSError (including
    urllib's URLError/HTTPError and socket timeouts) on failure."""
    # Some servers turn away urllib's default User-Agent.
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    fd, tmp = tempfile.mkstemp(prefix=PART_PREFIX, dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            bar = _progress_bar(length, url, desc, progress)
            received = 0
            read = getattr(response, "read1", response.read)  # read1: whatever has arrived
            try:
                while True:
                    chunk = read(1 << 16)
                    if not chunk:
                        break
                    out.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
            if length is not None and received != length:
                raise OSError("transfer cut short: got {} of {} bytes".format(received, length))
        return tmp
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove_stale_parts(directory, age=3600.0):
    """Delete temporary files that a killed download left over an hour ago."""
    now = time.time()
    for entry in os.scandir(directory):
        if entry.name.startswith(PART_PREFIX):
            try:
                if now - entry.stat().st_mtime > age:
                    os.unlink(entry.path)
            except OSError:
                pass


def _verify(tmp, name, expected_content, expected_file, url):
    """Check a downloaded file; raise ChecksumError or DataFormatError.

    Returns whether the file is gzip'd (a mirror may serve the plain IDX file)."""
    with open(tmp, "rb") as f:
        raw = f.read()
    if expected_file is not None and hashlib.sha256(raw).hexdigest() != expected_file:
        raise ChecksumError(url, "SHA-256 of the download does not match the mirror's table")
    gzipped = raw[:2] == b"\x1f\x8b"
    if gzipped:
        try:
            content = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise DataFormatError(url, "download is not valid gzip data ({})".format(e)) from e
    else:
        content = raw
    digest = hashlib.sha256(content).hexdigest()
    if expected_content is not None and digest != expected_content:
        raise ChecksumError(url, "SHA-256 mismatch: got {}, expected {}".format(
            digest, expected_content))
    _parse_idx(content, url)  # structure check (also for unknown hashes)
    return gzipped


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
    try:
        os.makedirs(target, exist_ok=True)
    except OSError as e:
        raise DataNotFoundError("cannot create the cache folder {}: {}".format(
            target, e.strerror or e)) from None
    if not os.access(target, os.W_OK | os.X_OK):
        raise DataNotFoundError("cannot write to the cache folder {}".format(target))
    _remove_stale_parts(target)

    # Small label files first: a bad mirror shows itself before the big downloads.
    for name in sorted(IDX_FILES.values(), key=lambda n: "images" in n):
        if os.path.isfile(os.path.join(target, name + ".gz")) or \
                os.path.isfile(os.path.join(target, name)):
            continue
        failures = []
        for mirror in list(mirrors):
            base, table = mirror
            url = base + name + ".gz"
            tmp = None
            try:
                tmp = _fetch(url, target, timeout, progress, name)
                gzipped = _verify(tmp, name, CONTENT_SHA256[dataset].get(name),
                                  table.get(name + ".gz"), url)
                os.replace(tmp, os.path.join(target, name + (".gz" if gzipped else "")))
                tmp = None
                break
            except (OSError, ValueError) as e:
                failures.append("{}: {}".format(url, _describe(e)))
                mirrors.remove(mirror)
                mirrors.append(mirror)
            finally:
                if tmp is not None:
                    _unlink(tmp)
        else:
            raise DataNotFoundError("could not download {}.gz ({})".format(
                name, "; ".join(failures)))
    return target


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

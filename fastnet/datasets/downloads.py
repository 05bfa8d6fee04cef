"""Downloads into the per-user cache, checked on the way.

Each file streams into a temporary file inside the cache directory
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
"""

import hashlib
import os
import sys

from fastnet.datasets.formats import (
    CONTENT_SHA256, EXPECTED_SHAPES, GZIP_MAGIC, IDX_FILES, READ_CHUNK, ChecksumError,
    DataFormatError, DataNotFoundError, check_dataset)
from fastnet.datasets.idx import IdxStream, expect
from fastnet.files import write_atomically

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
DEFAULT_TIMEOUT = 30.0
USER_AGENT = "fastnet (Python urllib; MNIST loader)"


def default_cache_dir():
    """$FASTNET_CACHE, else $XDG_CACHE_HOME/fastnet, else ~/.cache/fastnet."""
    if os.environ.get("FASTNET_CACHE"):
        return os.environ["FASTNET_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fastnet")


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


def _fetch(url, folder, name, *, shape, content_sha256, file_sha256, timeout, progress,
           opener):
    """Download one IDX file from ``url`` into ``folder``, checking it on the way.

    The bytes stream into a temporary file (``fastnet.files.write_atomically``)
    and through an IdxStream, which inflates them piece by piece and refuses
    content past what the header promises; the file takes its real name only
    after its checks pass: the header's dimensions (``shape``), the SHA-256 of
    the contents, and the SHA-256 of the file itself if the mirror gives one.
    It is stored as ``name.gz`` if it came gzip'd, else as ``name``.  Raises
    OSError (urllib's errors, timeouts, a short transfer) or DataFormatError."""
    import urllib.request   # here, not at the top: every load_mnist imports this module

    # Some servers turn away urllib's default User-Agent.
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with opener(request, timeout=timeout) as response:
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
        check = IdxStream(url, expect(shape), keep=False)
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


def _split_mirror(mirror):
    """A mirror is a base URL, or (base URL, {file name: sha256 of that file})."""
    if isinstance(mirror, str):
        base, table = mirror, {}
    else:
        base, table = mirror
    return (base if base.endswith("/") else base + "/"), dict(table)


def download(dataset="mnist", cache_dir=None, mirrors=None, timeout=DEFAULT_TIMEOUT,
             progress=None, *, opener=None):
    """Fetch the four IDX files of ``dataset`` into ``<cache_dir>/<dataset>``.

    ``mirrors`` defaults to the base URLs in the environment variable
    FASTNET_MIRRORS (separated by spaces or commas), else ``MIRRORS[dataset]``.
    Files already in the cache are kept.  Each file is tried on every mirror in
    turn; a mirror that failed is tried last for the following files.  Every
    file is verified before it is renamed into place.  Returns the directory;
    raises DataNotFoundError listing each mirror's failure if a file cannot be had.

    ``opener`` opens a URL: it is called as ``opener(request, timeout=seconds)``
    and returns a response as ``urllib.request.urlopen`` (the default) does;
    ``urllib.request.build_opener(...).open`` gives proxies or authentication.
    """
    check_dataset(dataset)
    if opener is None:
        import urllib.request

        opener = urllib.request.urlopen
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
                    _fetch(url, target, name, shape=EXPECTED_SHAPES[roles[name]],
                           content_sha256=CONTENT_SHA256[dataset].get(name),
                           file_sha256=table.get(name + ".gz"), timeout=timeout,
                           progress=progress, opener=opener)
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


def _describe(error):
    """A short, one-line description of a download failure."""
    import urllib.error   # cheap once a download has imported urllib.request

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

"""IDX files: the format MNIST and Fashion-MNIST are published in.

An IDX file of unsigned bytes is a header -- two zero bytes, the type code
0x08, the number of dimensions N, then N big-endian 32-bit sizes -- followed
by the bytes of the array in C order.  The files may be gzip'd (in one gzip
member or several).

Hostile files: nothing is ever inflated whole.  A file is read piece by piece
and refused as soon as it holds more than its header promises (or its header
promises the wrong shape, or more than ``MAX_IDX_BYTES``), so a small file
that would inflate to gigabytes (a "gzip bomb") is refused after a few bytes.
Every problem is a DataFormatError naming the file.
"""

import hashlib
import os
import zlib

import numpy as np

from fastnet.datasets.formats import (
    CONTENT_SHA256, EXPECTED_SHAPES, GZIP_MAGIC, IDX_FILES, IMAGE_SHAPE, N_TRAIN, NAMES,
    READ_CHUNK, ChangedFile, DataFormatError, WrongDataset, open_data_file)

IDX_UBYTE = 0x08
# Bound on what a file may inflate to.  The largest real file, MNIST's
# training images, is 47,040,016 bytes.
MAX_IDX_BYTES = 1 << 30
TRAILING_LIMIT = 1 << 20   # extra bytes counted (for the message) before giving up


class IdxStream:
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

    @property
    def header(self):
        """The IDX header's bytes (magic number and dimensions), as far as they arrived."""
        return bytes(self._header)


def _read_idx(path, dims=None, max_bytes=None, digest=False):
    """Read one IDX file through IdxStream; return its uint8 array and, with
    ``digest``, the SHA-256 of its contents (else None)."""
    stream = IdxStream(path, dims, max_bytes, digest=digest)
    _feed_file(stream, path)
    array = stream.finish()
    return array, (stream.sha256 if digest else None)


# Gzip'd files whose contents are at least this large are inflated once into the cache
# and read from there afterwards (the training images: 0.16 s to inflate, 0.05 s to read
# back, their checksum included); smaller ones inflate faster than they are looked up.
INFLATED_MIN_BYTES = 1 << 20


def _read_idx_through(folder, path, dims, digest):
    """``_read_idx`` of a gzip'd file through its inflated copy in ``folder``.

    A copy is named ``<file name>.<SHA-256 of the gzip'd file>.<CRC-32 of the copy>``:
    found under the digest of the file as it is now, and read back only if its CRC
    matches, it is the file's contents (a changed file has another digest, and its
    old copy is replaced).  A copy that fails either check is deleted and the file
    inflated again.  Nothing is kept when ``folder`` cannot be written; the file is
    then read as if there were no cache.
    """
    key = _gzip_digest(path)
    if key is None:
        return _read_idx(path, dims, digest=digest)
    prefix = "{}.{}.".format(os.path.basename(path)[:-len(".gz")], key)
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for name in names:
        if name.startswith(prefix):
            found = _read_copy(os.path.join(folder, name), name[len(prefix):], dims, digest)
            if found is not None:
                return found
    stream = IdxStream(path, dims, digest=digest)
    _feed_file(stream, path)
    array = stream.finish()
    _keep_copy(folder, prefix, names, stream.header, array)
    return array, (stream.sha256 if digest else None)


def _gzip_digest(path):
    """The SHA-256 of a gzip'd file worth an inflated copy, else None."""
    h = hashlib.sha256()
    with open_data_file(path) as f:
        try:
            first = f.read(READ_CHUNK)
            if first[:2] != GZIP_MAGIC or os.fstat(f.fileno()).st_size > MAX_IDX_BYTES:
                return None
            h.update(first)
            for chunk in iter(lambda: f.read(READ_CHUNK), b""):
                h.update(chunk)
        except OSError as e:
            raise DataFormatError(path, "cannot read: {}".format(e.strerror or e)) from e
    return h.hexdigest()


def _read_copy(copy, crc, dims, digest):
    """The array and digest read from an inflated copy whose CRC-32 is ``crc``, or None
    (and the copy deleted) if it is not that copy any more."""
    stream = IdxStream(copy, dims, digest=digest)
    total = 0
    try:
        with open(copy, "rb") as f:
            for chunk in iter(lambda: f.read(READ_CHUNK), b""):
                total = zlib.crc32(chunk, total)
                stream.feed(chunk)
        array = stream.finish()
        if stream.gzipped or "{:08x}".format(total) != crc:
            raise DataFormatError(copy, "changed since it was written")
    except (OSError, DataFormatError):
        _remove(copy)
        return None
    return array, (stream.sha256 if digest else None)


def _keep_copy(folder, prefix, names, header, array):
    """Write the inflated copy (header then ``array``'s bytes) if ``array`` is large
    enough, in place of the copies of the file's earlier versions."""
    if array.nbytes < INFLATED_MIN_BYTES:
        return
    from fastnet.files import write_atomically   # only when a copy is made

    copy = "{}{:08x}".format(prefix, zlib.crc32(array, zlib.crc32(header)))
    stem = prefix.split(".", 1)[0] + "."
    try:
        os.makedirs(folder, exist_ok=True)
        write_atomically(os.path.join(folder, copy),
                         lambda f: (f.write(header), f.write(array)))
    except (OSError, ValueError):
        return             # a read-only or full cache: the next run inflates it again
    for name in names:
        if name.startswith(stem) and name != copy:
            _remove(os.path.join(folder, name))


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _feed_file(stream, path):
    with open_data_file(path) as f:
        try:
            for chunk in iter(lambda: f.read(READ_CHUNK), b""):
                stream.feed(chunk)
        except OSError as e:
            raise DataFormatError(path, "cannot read: {}".format(e.strerror or e)) from e


def read_idx(path, max_bytes=None):
    """Read one IDX file of unsigned bytes (gzip'd or not) into a uint8 array.

    The magic number, the dimensions and the file size are checked, and a file
    that holds (or inflates to) more than its header promises is refused as
    soon as it does, as is a header that promises more than ``max_bytes``
    (default ``MAX_IDX_BYTES``, 1 GiB).  A bad file raises DataFormatError
    naming it."""
    return _read_idx(path, max_bytes=max_bytes)[0]


def expect(shape):
    """The check of an IDX header's dimensions against ``shape``, one of
    ``EXPECTED_SHAPES``: called with the dimensions and the file's name, it
    raises DataFormatError unless they are that many images or labels."""
    return _expect_labels(shape[0]) if len(shape) == 1 else _expect_images(shape[0])


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
    """uint8 (N, 28, 28) -> dtype (N, 784), bytes / 256 (exact in float32).

    One pass that writes each float once: the ufunc converts the bytes as it
    reads them, with no float copy of the images in between.  The factor is a
    Python float (exact in either precision): given as a NumPy scalar, NumPy
    2.4 takes a path about ten times slower for the same values (0.55 s
    against 0.05 s of CPU for the 60,000 training images in float64).
    """
    return np.multiply(images.reshape(len(images), -1), 1.0 / 256, dtype=dtype)


def _identify(digest):
    """Name the known dataset one of whose label files has this SHA-256, or None."""
    for name, table in CONTENT_SHA256.items():
        if digest in (table["train-labels-idx1-ubyte"], table["t10k-labels-idx1-ubyte"]):
            return name
    return None


def load_idx(files, dataset, dtype, verify=False, test_images=True, inflated=None):
    """Load the split from the four IDX paths in ``files`` (keyed by role).

    ``verify``: compare every file's SHA-256 with ``CONTENT_SHA256`` (used for
    the cache, which holds downloaded files; a user's own folder is only
    checked for shape and values, as a folder of modified files may be meant).
    ``test_images=False``: the test images are not read, and X_test is None.
    ``inflated``: a folder where gzip'd image files are kept inflated, to be
    read from there the next time (see ``_read_idx_through``); None: no copies.
    """
    arrays, digests = {}, {}
    roles = ("train_labels", "test_labels", "train_images") + (("test_images",) if test_images
                                                               else ())
    for role in roles:
        # Label files are hashed to tell MNIST from Fashion-MNIST (cheap).
        dims, digest = expect(EXPECTED_SHAPES[role]), verify or "labels" in role
        if inflated is not None and "images" in role and files[role].endswith(".gz"):
            arrays[role], digests[role] = _read_idx_through(inflated, files[role], dims, digest)
        else:
            arrays[role], digests[role] = _read_idx(files[role], dims=dims, digest=digest)
        if "labels" in role:
            found = _identify(digests[role])
            if found is not None and found != dataset:
                raise WrongDataset("holds {} files, not {}".format(
                    NAMES[found], NAMES[dataset]))
        if verify:
            expected = CONTENT_SHA256[dataset][IDX_FILES[role]]
            if digests[role] != expected:
                raise ChangedFile(files[role], "SHA-256 of the contents is {}, not {}'s {}: "
                                  "the cached file is corrupt or was changed".format(
                                      digests[role], NAMES[dataset], expected))
    for role in ("train_labels", "test_labels"):
        _check_label_values(arrays[role], files[role])

    X = _scale(arrays["train_images"], dtype)
    y = arrays["train_labels"].astype(np.int64)
    # Row slices of a C-contiguous array are C-contiguous.
    return ((X[:N_TRAIN], y[:N_TRAIN]),
            (X[N_TRAIN:], y[N_TRAIN:]),
            (_scale(arrays["test_images"], dtype) if test_images else None,
             arrays["test_labels"].astype(np.int64)))

"""The book's ``mnist.pkl.gz``: a gzip'd pickle of three (images, labels) pairs.

A pickle can name any function for the unpickler to call, so a stray or
crafted file could run code, and a few bytes of it can ask for many objects
(a 15 KB file of "new empty list" opcodes makes millions of lists).  This one
is read through ``ArrayUnpickler``, which knows only the opcodes that arrays,
tuples and lists need, builds nothing but NumPy arrays of plain numbers,
tuples and lists, and stops at ``MAX_PICKLE_OPCODES`` opcodes; and through a
bound of ``MAX_PICKLE_BYTES`` on what the file may inflate to and on the array
data built from it.  Then every part is checked (shapes, finite images,
whole-number labels 0..9).  Every problem is a DataFormatError naming the file.
"""

import codecs
import gzip
import pickle
import pickletools
import re
import reprlib
import zlib

import numpy as np

from fastnet.checks import check_dtype
from fastnet.datasets.formats import (
    GZIP_MAGIC, N_CLASSES, N_PIXELS, N_TEST, N_TRAIN, N_VAL, DataFormatError, open_data_file)

# The book's pickle is about 220 MB (440 MB if someone stored it in float64).
MAX_PICKLE_BYTES = 512 << 20
# The book's pickle is about 160 opcodes (six arrays, four tuples).  Every
# opcode builds at most one small object besides the data it reads, so this
# bounds the stack, the memo and every container to well under a few MB.
MAX_PICKLE_OPCODES = 10_000
# Longest line a text opcode (INT, LONG, FLOAT, PUT, GET, GLOBAL) may have:
# longer numbers or names are no part of an array pickle, and parsing a
# number of millions of digits takes minutes.
MAX_TEXT_LINE = 256

# What arrays, tuples and lists pickle to, in any protocol.  Dictionaries,
# sets, objects built by NEWOBJ or INST, extension codes, persistent ids and
# out-of-band buffers are not in the book's pickle.
BOOK_OPCODES = (
    "PROTO FRAME STOP MARK POP POP_MARK "
    "NONE NEWTRUE NEWFALSE INT BININT BININT1 BININT2 LONG LONG1 LONG4 FLOAT BINFLOAT "
    "STRING BINSTRING SHORT_BINSTRING UNICODE BINUNICODE SHORT_BINUNICODE BINUNICODE8 "
    "BINBYTES SHORT_BINBYTES BINBYTES8 BYTEARRAY8 "
    "EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST LIST APPEND APPENDS "
    "GLOBAL STACK_GLOBAL REDUCE BUILD "
    "PUT BINPUT LONG_BINPUT MEMOIZE GET BINGET LONG_BINGET").split()
_TEXT_LINE_OPCODES = ("INT", "LONG", "FLOAT", "PUT", "GET", "GLOBAL")

# A NumPy dtype as pickles name it: kind and size ("f4", "i8", "b1").
_DTYPE_SPEC = re.compile(r"[biuf](1|2|4|8|16)\Z")
_short_repr = reprlib.Repr()
_short_repr.maxlevel, _short_repr.maxtuple, _short_repr.maxstring = 3, 8, 40


class Refused(pickle.UnpicklingError):
    """What this unpickler will not build; its message is for the user."""


def _refuse(what):
    raise Refused("refusing to load {}".format(what))


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
    if not _DTYPE_SPEC.match(spec):
        _refuse("dtype {}".format(_short_repr.repr(spec)))
    try:
        # copy=True (as pickles ask) gives a fresh dtype: the BUILD step that
        # follows must not change NumPy's shared instance of the type.
        return _plain_dtype(np.dtype(spec, bool(align), bool(copy)))
    except TypeError:
        _refuse("dtype {!r}".format(spec))


def _latin1_bytes(text, encoding="latin1"):
    """codecs.encode as pickles of bytes in protocols 0-2 use it: text to latin-1 bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        _refuse("codecs.encode of {} with {}".format(
            type(text).__name__, _short_repr.repr(encoding)))
    return codecs.encode(text, "latin1")


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


class ArrayUnpickler(pickle._Unpickler):
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

    What a pickle may build is bounded too: only ``BOOK_OPCODES`` are known,
    at most ``max_opcodes`` of them run, and the array data built (which a
    pickle could ask for again and again from one memoized string) may not
    pass ``max_bytes``.
    """

    ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"): _new_empty_array,
        ("numpy._core.multiarray", "scalar"): _scalar,
        ("numpy._core.numeric", "_frombuffer"): _array_from_buffer,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _new_dtype,
        ("_codecs", "encode"): _latin1_bytes,
    }
    # What REDUCE may call: the checking functions (np.ndarray only as an
    # argument of _reconstruct; called, it would allocate any shape asked).
    CALLABLE = tuple(f for f in ALLOWED.values() if f is not np.ndarray)

    def __init__(self, file, *, max_bytes=MAX_PICKLE_BYTES, max_opcodes=MAX_PICKLE_OPCODES,
                 **kwargs):
        super().__init__(file, **kwargs)
        self.max_bytes, self.max_opcodes = max_bytes, max_opcodes

    def load(self):
        self.opcodes_left = self.max_opcodes
        self.bytes_left = self.max_bytes
        return super().load()

    def find_class(self, module, name):
        # Old pickles (the book's among them) say numpy.core; NumPy 2 says numpy._core.
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        found = self.ALLOWED.get((module, name))
        if found is None:
            _refuse("{}.{}".format(module, name))
        return found

    def _take_bytes(self, n):
        self.bytes_left -= n
        if self.bytes_left < 0:
            _refuse("a pickle whose arrays hold more than {:,} bytes".format(self.max_bytes))

    def load_reduce(self):
        func = self.stack[-2] if len(self.stack) >= 2 else None
        if not any(func is f for f in self.CALLABLE):
            _refuse("a call of {}".format(_short_repr.repr(func)))
        super().load_reduce()
        result = self.stack[-1]
        if isinstance(result, (bytes, np.ndarray)):
            self._take_bytes(result.nbytes if isinstance(result, np.ndarray) else len(result))

    def load_build(self):
        state = self.stack[-1]
        target = self.stack[-2]
        if isinstance(target, np.dtype):
            # (3, byte order, subarray, names, fields, elsize, alignment, flags)
            if not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3
                    and state[1] in ("<", ">", "|", "=") and state[2:5] == (None,) * 3
                    and state[5:] == (-1, -1, 0)):
                _refuse("a dtype with the state {}".format(_short_repr.repr(state)))
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
            self._take_bytes(len(state[4]))
        else:
            _refuse("the state of a {}".format(type(target).__name__))
        super().load_build()


def _dispatch_table():
    """Every byte to what it does: the known opcodes counted against the
    budget (text ones with a short line), the rest refused by name."""
    names = {op.code.encode("latin1")[0]: op.name for op in pickletools.opcodes}
    own = {pickle.BUILD[0]: ArrayUnpickler.load_build,
           pickle.REDUCE[0]: ArrayUnpickler.load_reduce}
    table = {}
    for code in range(256):
        name = names.get(code)
        if name in BOOK_OPCODES:
            table[code] = _counted(own.get(code, pickle._Unpickler.dispatch[code]),
                                   name in _TEXT_LINE_OPCODES)
        else:
            table[code] = _refusal(code, name)
    return table


def _counted(handler, text_line):
    """``handler``, run only while the opcode budget lasts."""
    def run(self):
        self.opcodes_left -= 1
        if self.opcodes_left < 0:
            _refuse("a pickle of more than {:,} opcodes (the book's has about 160: a corrupt "
                    "file, or one built to exhaust memory)".format(self.max_opcodes))
        if not text_line:
            return handler(self)
        readline = self.readline
        self.readline = lambda: _short_line(readline())
        try:
            return handler(self)
        finally:
            self.readline = readline
    return run


def _short_line(line):
    if len(line) > MAX_TEXT_LINE:
        _refuse("a text opcode with a line of {:,} bytes".format(len(line)))
    return line


def _refusal(code, name):
    def refuse(self):
        if name is None:
            raise Refused("byte 0x{:02x} is not a pickle opcode".format(code))
        _refuse("the opcode {} (the book's pickle holds only arrays, tuples and "
                "lists)".format(name))
    return refuse


ArrayUnpickler.dispatch = _dispatch_table()


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


def read_pickle(path, dtype=np.float32, max_bytes=None, training_counts=(N_TRAIN,)):
    """Read the book's pickle (gzip'd or not) into the triple of ``load_mnist``:
    ``(X_train, y_train), (X_val, y_val), (X_test, y_test)``, X arrays of
    ``dtype`` (float32 or float64), y arrays int64.  The training part holds
    one of ``training_counts`` images (the book's 50,000 unless told).

    It is read through a bound of ``max_bytes`` (default ``MAX_PICKLE_BYTES``,
    512 MiB) and an unpickler that builds nothing but arrays; then every part
    is checked: shapes, finite images, whole-number labels 0..9.  A bad file
    raises DataFormatError naming it."""
    dtype = check_dtype(dtype)
    limit = MAX_PICKLE_BYTES if max_bytes is None else max_bytes
    with open_data_file(path) as f:
        gzipped = f.read(2) == GZIP_MAGIC
        f.seek(0)
        source = gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f
        try:
            triple = ArrayUnpickler(_BoundedReader(source, limit, path), max_bytes=limit,
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
        except Refused as e:
            raise DataFormatError(path, "not a readable MNIST pickle ({})".format(
                _short_repr.repr(str(e))[1:-1] if len(str(e)) > 300 else e)) from e
        except Exception as e:
            # The pickle machinery's own words (an empty stack, a memo index)
            # describe its insides, not the file.
            raise DataFormatError(path, "not a readable MNIST pickle (its opcodes do not "
                                  "build a value: the file is corrupt)") from e
    if not (isinstance(triple, (tuple, list)) and len(triple) == 3):
        raise DataFormatError(path, "expected a pickled triple (training, validation, test)")
    out = []
    parts = ("training", "validation", "test")
    for part, count, what in zip(triple, (None, N_VAL, N_TEST), parts):
        if not (isinstance(part, (tuple, list)) and len(part) == 2):
            raise DataFormatError(path, "the {} part is not an (images, labels) pair".format(what))
        images, labels = part
        if not (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)):
            raise DataFormatError(path, "the {} part is not a pair of arrays".format(what))
        if count is None:
            count = images.shape[0] if images.shape[:1] in [(c,) for c in training_counts] \
                else training_counts[0]
        if images.shape != (count, N_PIXELS) or labels.shape != (count,):
            raise DataFormatError(
                path, "the {} part has shapes {} and {}, expected ({}, {}) and ({},)"
                .format(what, images.shape, labels.shape, count, N_PIXELS, count))
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
    bad = ~np.isin(labels, np.arange(N_CLASSES))
    if bad.any():
        raise DataFormatError(path, "the {} labels must be whole numbers 0..9, found {!r} at "
                              "position {}".format(what, labels[bad][0].item(),
                                                   int(np.argmax(bad))))
    return np.ascontiguousarray(labels, dtype=np.int64)

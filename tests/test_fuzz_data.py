"""Property tests of fastnet.datasets on hostile bytes: corrupt, truncated,
oversized or bomb-like IDX files (gzip'd or not) and pickles.

The rule: a file is loaded with exactly the shape its header states, or
refused with a DataFormatError (a ValueError) naming it; nothing else, and no
crash (each input runs in the sandbox worker of tests/fuzzing.py).
"""
import gzip
import pickle
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .fuzzing import FUZZ, Sandbox


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox()
    yield box
    box.close()


def _refused_naming(result, name):
    """True if the result is a DataFormatError naming the file; fails on anything else."""
    if result[0] == "ok":
        return False
    _, kind, message, mro, _ = result
    assert "DataFormatError" in mro, "{}: {}".format(kind, message)
    assert name in message, message
    return True


@st.composite
def wrapped(draw, content):
    """``content`` as stored: plain, gzip'd, in several gzip members, truncated,
    with flipped bytes or with junk after it."""
    how = draw(st.sampled_from(["plain", "gzip", "gzip", "members", "truncate", "flip",
                                "junk"]))
    if how in ("gzip", "truncate", "flip", "junk"):
        data = gzip.compress(content, compresslevel=draw(st.integers(0, 9)))
    elif how == "members":
        cut = draw(st.integers(0, len(content)))
        data = gzip.compress(content[:cut]) + gzip.compress(content[cut:])
    else:
        data = content
    if how == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif how == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    elif how == "junk":
        data += draw(st.binary(max_size=20))
    return data


@st.composite
def idx_files(draw):
    """An IDX file: a header with a valid or broken magic number, dimensions
    from tiny to overflowing, and a body that fits, falls short or runs over;
    sometimes a zero-filled body far longer than the header promises."""
    ndim = draw(st.integers(0, 5))
    code = draw(st.sampled_from([0x08] * 6 + [0x09, 0x0D, 0x00]))
    zero = draw(st.sampled_from([0] * 8 + [1, 0xFFFF]))
    dims = draw(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 2 ** 32 - 1)),
                         min_size=ndim, max_size=ndim))
    header = struct.pack(">HBB", zero, code, ndim) + b"".join(struct.pack(">I", d)
                                                              for d in dims)
    size = int(np.prod(dims, dtype=object)) if dims else 0
    if size <= 4096 and draw(st.booleans()):
        body = bytes(draw(st.binary(min_size=size, max_size=size)))
        body = body[:draw(st.integers(0, len(body)))] if draw(st.booleans()) else body
    else:
        body = draw(st.binary(max_size=64))
    if draw(st.integers(0, 9)) == 0:
        body += b"\0" * (2 << 20)            # a bomb: 2 MiB past the 1 MiB bound
    cut = draw(st.one_of(st.none(), st.integers(0, len(header))))
    content = header[:cut] + body if cut is not None else header + body
    return draw(wrapped(content)), (dims if cut is None else None)   # a cut header: unknown


@FUZZ
@given(idx_files())
def test_idx_files_load_as_their_header_says_or_are_refused(sandbox, file):
    content, dims = file
    result = sandbox.call("load_data_file", content, "t10k-labels-idx1-ubyte")
    if _refused_naming(result, "t10k-labels-idx1-ubyte"):
        return
    assert result[1]["dtype"] == "uint8"
    assert dims is None or list(result[1]["shape"]) == dims


arrays = st.builds(
    lambda dtype, shape: np.zeros(shape, dtype=dtype),
    st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_, np.complex64,
                     object, "U3"]),
    st.lists(st.integers(0, 3), max_size=3).map(tuple))
leaves = st.one_of(arrays, st.integers(), st.floats(), st.text(max_size=3), st.none(),
                   st.binary(max_size=3))
structures = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=2), inner, max_size=2)), max_leaves=8)


@st.composite
def pickle_files(draw):
    """A pickle of random arrays, numbers and containers (shaped like the book's
    triple or not), in any protocol, possibly with bytes flipped or cut."""
    if draw(st.booleans()):
        parts = tuple((draw(arrays), draw(arrays)) for _ in range(3))
        obj = parts if draw(st.booleans()) else draw(structures)
    else:
        obj = draw(structures)
    data = pickle.dumps(obj, protocol=draw(st.integers(0, pickle.HIGHEST_PROTOCOL)))
    if draw(st.booleans()) and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1:]
    return draw(wrapped(data))


@FUZZ
@given(pickle_files())
def test_pickles_are_refused_with_a_clear_error(sandbox, content):
    """None of these has the book's shapes, so each must be refused, cleanly."""
    result = sandbox.call("load_data_file", content, "mnist.pkl.gz")
    assert _refused_naming(result, "mnist.pkl.gz"), result


@FUZZ
@given(st.binary(max_size=200), st.sampled_from(["mnist.pkl", "t10k-images-idx3-ubyte"]))
def test_random_bytes_are_refused(sandbox, content, name):
    result = sandbox.call("load_data_file", content, name)
    assert _refused_naming(result, name) or len(content) >= 8, result

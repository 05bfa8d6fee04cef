"""The book's pickle reader builds only what the book's pickle needs.

A few KB of pickle opcodes can ask for gigabytes of objects (each "new empty
list" byte is a list of about 70 bytes), so a bound on the bytes read is not
enough.  Each hostile file here is refused in a child process, which reports
the time the refusal took and how much its peak memory grew; then the real
MNIST, pickled as the book's file is (Python 2's cPickle, protocol 2), loads
bit for bit as the IDX files do.
"""
import gzip
import io
import json
import pickle
import pickletools
import struct
import subprocess
from pathlib import Path
import sys

import numpy as np
import pytest

from fastnet import datasets
from fastnet.datasets.book_pickle import MAX_PICKLE_OPCODES, ArrayUnpickler

from .helpers import MNIST_DIR, same_fastnet_env

# The peak memory is VmHWM of /proc/self/status (Linux): unlike getrusage's
# ru_maxrss, it starts afresh in the child and is not the parent's peak.
PEAK_KB = """
def peak_kb():
    try:
        with open("/proc/self/status") as f:
            return int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
    except (OSError, StopIteration):
        return None
"""

MEASURE = """
import json, sys, time
""" + PEAK_KB + """
from fastnet import datasets
before = peak_kb()
start = time.perf_counter()
try:
    datasets.read_pickle(sys.argv[1])
    message = "loaded"
except datasets.DataFormatError as e:
    message = str(e)
seconds = time.perf_counter() - start
grown = None if before is None else peak_kb() - before
print(json.dumps({"seconds": seconds, "grown_kb": grown, "message": message}))
"""


def _measure(path, timeout=120):
    """Read ``path`` in a fresh Python; its seconds, peak-memory growth and message."""
    # Started in the file's folder, so that it imports the installed fastnet (in the
    # repository root Python would import the source folder first).
    r = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                       text=True, timeout=timeout, cwd=str(Path(path).parent),
                       env=same_fastnet_env())
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


N = 15_000_000   # bytes of opcodes in each bomb: about 15 KB once gzip'd

BOMBS = {
    # 15 million empty lists: the file of the report, 1.2 GB and 56 s before.
    "empty lists": b"\x80\x02" + b"]" * N,
    # lists nested millions deep: N-1 APPENDs put each list into the one below.
    "nested lists": b"\x80\x02" + b"]" * (N // 2) + b"a" * (N // 2 - 1) + b".",
    # a tuple in a tuple in a tuple ...
    "nested tuples": b"\x80\x02)" + b"\x85" * N + b".",
    # one list under millions of memo keys
    "huge memo": b"\x80\x04]" + b"\x94" * N + b".",
    # millions of MARKs: each one a new stack
    "mark flood": b"\x80\x02" + b"(" * N,
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_opcode_bombs_are_refused_in_milliseconds_and_a_few_mb(tmp_path, name):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(BOMBS[name], compresslevel=9))
    assert path.stat().st_size < 100_000
    got = _measure(path)
    assert got["message"].startswith(str(path) + ": not a readable MNIST pickle (refusing to "
                                     "load a pickle of more than 10,000 opcodes"), got
    print("{}: {:.1f} ms, peak memory +{} KB".format(name, got["seconds"] * 1e3,
                                                    got["grown_kb"]))
    assert got["seconds"] < 1.0, got
    if got["grown_kb"] is not None:   # measured where /proc is (Linux)
        assert got["grown_kb"] < 8 << 10, got


@pytest.mark.parametrize("opcode, name", [
    (b"}", "EMPTY_DICT"), (b"\x8f", "EMPTY_SET"), (b"\x81", "NEWOBJ"), (b"2", "DUP"),
    (b"\x82", "EXT1"), (b"Q", "BINPERSID"), (b"\x97", "NEXT_BUFFER")])
def test_opcodes_arrays_do_not_need_are_refused_by_name(opcode, name):
    raw = b"\x80\x05]" + opcode + b"\x00" * 8 + b"."
    with pytest.raises(pickle.UnpicklingError, match="the opcode " + name):
        ArrayUnpickler(io.BytesIO(raw)).load()


def test_the_array_data_built_is_bounded_too():
    """The data of every array built counts against max_bytes, as what is read
    does: one memoized byte string could otherwise be made into any number of
    arrays, each a copy (big-endian data is swapped into one)."""
    a = np.arange(1000, dtype=">f8")
    raw = pickle.dumps([a.copy() for _ in range(20)], protocol=4)
    got = ArrayUnpickler(io.BytesIO(raw), max_bytes=160_000).load()
    assert len(got) == 20 and np.array_equal(got[-1], a)
    assert got[-1].dtype == pickle.loads(raw)[-1].dtype
    with pytest.raises(pickle.UnpicklingError, match="arrays hold more than 159,999 bytes"):
        ArrayUnpickler(io.BytesIO(raw), max_bytes=159_999).load()


def test_a_call_of_ndarray_is_refused():
    """np.ndarray is allowed as _reconstruct's argument only: called, it would
    allocate whatever shape the pickle names."""
    raw = b"\x80\x02cnumpy\nndarray\n(J\x00\x00\x00\x40\x85tR."
    with pytest.raises(pickle.UnpicklingError, match="refusing to load a call of"):
        ArrayUnpickler(io.BytesIO(raw)).load()


def test_a_long_number_in_a_text_opcode_is_refused():
    raw = b"I" + b"9" * 100_000 + b"\n."
    with pytest.raises(pickle.UnpicklingError, match="a text opcode with a line of 100,001"):
        ArrayUnpickler(io.BytesIO(raw)).load()


def test_a_refused_state_is_named_briefly(tmp_path):
    """A dtype state that is a tuple of itself sixty times over (2**60 leaves
    from 120 opcodes) is named in a short message, not written out."""
    dag = b"Nq\x000" + b"h\x00h\x00\x86q\x000" * 60 + b"h\x00"
    raw = (b"\x80\x02cnumpy\ndtype\nU\x02f4K\x00K\x01\x87R" + dag + b"b.")
    with pytest.raises(pickle.UnpicklingError, match=r"a dtype with the state \(\(\(") as info:
        ArrayUnpickler(io.BytesIO(raw)).load()
    assert len(str(info.value)) < 300


# --- the real MNIST as the book's file holds it ------------------------------------------------

def _py2_pickle_parts(triple):
    """The byte pieces of ``triple`` pickled as Python 2's cPickle (protocol 2)
    wrote the book's file: numpy.core globals, one memo entry per object
    (BINPUT), repeated globals and dtypes fetched back (BINGET), array data as
    byte strings (BINSTRING)."""
    memo = {}

    def put(key, body):
        memo[key] = len(memo)
        return body + b"q" + bytes([memo[key]])

    def once(key, body):
        return b"h" + bytes([memo[key]]) if key in memo else put(key, body)

    def short(s):
        return b"U" + bytes([len(s)]) + s

    def array(a):
        # Built in the order of the bytes, so that memo numbers come in order.
        head = once("reconstruct", b"cnumpy.core.multiarray\n_reconstruct\n")
        head += once("ndarray", b"cnumpy\nndarray\n") + b"K\x00\x85"
        head = put(id(a), head + once("b", short(b"b")) + b"\x87R")
        shape = put(("shape", id(a)), b"".join(b"J" + struct.pack("<i", d)
                                              for d in a.shape) + {1: b"\x85", 2: b"\x86"}[a.ndim])
        spec = a.dtype.str[1:].encode()
        if ("dtype", spec) in memo:
            dtype = once(("dtype", spec), b"")
        else:
            dtype = once("dtype", b"cnumpy\ndtype\n") + short(spec) + b"K\x00K\x01\x87"
            dtype = put(("dtype", spec), put(("args", spec), dtype) + b"R")
            state = b"(K\x03" + once("<", short(b"<"))
            dtype += put(("state", spec), state + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
                                               b"K\x00t") + b"b"
        data = a.tobytes()
        yield head + b"(K\x01" + shape + dtype + b"\x89T" + struct.pack("<i", len(data))
        yield data
        yield b"tb"

    yield b"\x80\x02"
    for images, labels in triple:
        yield from array(images)
        yield from array(labels)
        yield b"\x86"
    yield b"\x87."


@pytest.mark.mnist
def test_the_book_pickle_loads_bit_for_bit(tmp_path):
    raw = {}
    for name in datasets.IDX_FILES.values():
        data = gzip.decompress((MNIST_DIR / (name + ".gz")).read_bytes())
        raw[name] = np.frombuffer(data, np.uint8, offset=16 if "images" in name else 8)
    images = raw["train-images-idx3-ubyte"].reshape(60000, 784).astype(np.float32) / 256
    labels = raw["train-labels-idx1-ubyte"].astype(np.int64)
    test_x = raw["t10k-images-idx3-ubyte"].reshape(10000, 784).astype(np.float32) / 256
    test_y = raw["t10k-labels-idx1-ubyte"].astype(np.int64)
    triple = ((images[:50000], labels[:50000]), (images[50000:], labels[50000:]),
              (test_x, test_y))
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        for piece in _py2_pickle_parts(triple):
            f.write(piece)
    with gzip.open(path, "rb") as f:
        head = f.read(4096)
    assert head.startswith(b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\n")
    # the standard unpickler agrees that the file is what it should be
    with gzip.open(path, "rb") as f:
        expected = pickle.load(f, encoding="latin1")
        f.seek(0)
        opcodes = sum(1 for _ in pickletools.genops(f))
    assert opcodes < MAX_PICKLE_OPCODES // 20
    got = _measure(path, timeout=300)
    assert got["message"] == "loaded", got
    print("the book's pickle: {} opcodes, {:.2f} s, peak memory +{} KB".format(
        opcodes, got["seconds"], got["grown_kb"]))
    loaded = datasets.read_pickle(path)
    for (X, y), (X0, y0), (X1, y1) in zip(loaded, triple, expected):
        assert X.dtype == np.float32 and y.dtype == np.int64
        assert X.tobytes() == X0.tobytes() == X1.tobytes()
        assert y.tobytes() == y0.tobytes() == y1.tobytes()


# --- every way in to the reader meets the same bound --------------------------------------------

ROUTES = """
import json, os, sys, time
""" + PEAK_KB + """
import contextlib, gzip, io
from fastnet import cli, datasets, mnist_loader
route, path = sys.argv[1], sys.argv[2]
before = peak_kb()
start = time.perf_counter()
err = io.StringIO()
if route == "load_mnist":
    try:
        datasets.load_mnist(path)
        outcome = "loaded"
    except datasets.DataFormatError as e:
        outcome = str(e)
elif route == "load_data":
    try:
        mnist_loader.load_data(path)
        outcome = "loaded"
    except datasets.DataFormatError as e:
        outcome = str(e)
elif route == "load_data()":   # no argument: finds ./mnist.pkl.gz, as the ports' scripts do
    os.chdir(os.path.dirname(path))
    try:
        mnist_loader.load_data()
        outcome = "loaded"
    except datasets.DataFormatError as e:
        outcome = str(e)
else:                          # a command: its exit code and what it printed
    out = os.path.join(os.path.dirname(path), "out-" + route)
    argv = {"train": ["train", "--epochs", "1", "--limit", "10"],
            "sweep": ["sweep", "--epochs", "1", "--limit", "10", "--seeds", "1", "--no-plots",
                      "--out", out],
            "speed": ["speed", "--quick", "--no-plots", "--out", out],
            "remedies": ["remedies", "--quick", "--no-plots", "--out", out]}[route]
    # A first run on a small corrupt pickle imports what the command imports, so that
    # what is measured is the reading of the bomb.
    corrupt = os.path.join(os.path.dirname(path), "corrupt.pkl.gz")
    with open(corrupt, "wb") as f:
        f.write(gzip.compress(b"\\x80\\x02\\x85."))
    with contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(argv + ["--data", corrupt, "--quiet"]) == 1
    before = peak_kb()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err):
        code = cli.main(argv + ["--data", path, "--quiet"])
    outcome = "exit {}: {}".format(code, err.getvalue())
seconds = time.perf_counter() - start
grown = None if before is None else peak_kb() - before
print(json.dumps({"seconds": seconds, "grown_kb": grown, "outcome": outcome}))
"""


@pytest.mark.parametrize("route", ["load_mnist", "load_data", "load_data()", "train", "sweep",
                                   "speed", "remedies"])
def test_every_way_to_the_book_pickle_refuses_the_bomb_as_fast(tmp_path, route):
    """The report's 15 KB file of empty lists, through load_mnist,
    mnist_loader.load_data (given the file, or finding it in the working
    folder) and every command's --data: refused by the opcode bound, in well
    under a second and a few MB, not after gigabytes."""
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(BOMBS["empty lists"], compresslevel=9))
    r = subprocess.run([sys.executable, "-c", ROUTES, route, str(path)], capture_output=True,
                       text=True, timeout=120, cwd=str(tmp_path), env=same_fastnet_env())
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout)
    refused = str(path) + ": not a readable MNIST pickle (refusing to load a pickle of more " \
                          "than 10,000 opcodes"
    if route in ("train", "sweep", "speed", "remedies"):
        assert got["outcome"].startswith("exit 1: fastnet {}: error: {}".format(route, refused)), got
        assert got["outcome"].count("\n") == 1, got
    elif route == "load_data()":   # named as it was found: the working folder's file
        assert got["outcome"].startswith(refused.replace(str(path), "mnist.pkl.gz")), got
    else:
        assert got["outcome"].startswith(refused), got
    assert got["seconds"] < 1.0, got
    if got["grown_kb"] is not None:
        assert got["grown_kb"] < 8 << 10, got

"""Shared test helpers: where the real MNIST files are, and what to do without them.

MNIST is read from $FASTNET_TEST_DATA, else ../shared/data/mnist beside the
repository.  Tests that need it carry the ``mnist`` marker (tests using the
``mnist_train``/``mnist_validation`` fixtures get it automatically): without the
files they are skipped, saying why, or, with FASTNET_REQUIRE_DATA=1 (as in this
project's CI), they fail, so that a CI run can never pass by skipping them.
"""
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("FASTNET_TEST_DATA", REPO.parent / "shared" / "data" / "mnist"))
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
REQUIRE_DATA = os.environ.get("FASTNET_REQUIRE_DATA", "") not in ("", "0")

# Tests that send POSIX signals (SIGINT to a child process, SIGKILL), which Windows lacks.
posix_signals = pytest.mark.skipif(sys.platform == "win32",
                                   reason="sends POSIX signals (SIGINT/SIGKILL) to a child "
                                          "process; Windows has no such signals")


def mnist_missing():
    """Why the MNIST files cannot be used, or None if all four are there."""
    missing = [name for name in MNIST_FILES if not (MNIST_DIR / name).is_file()]
    if not missing:
        return None
    return ("MNIST not found: {} missing in {} (set FASTNET_TEST_DATA to the folder holding "
            "the four MNIST IDX .gz files)".format(", ".join(missing), MNIST_DIR))


def need_mnist():
    """Skip the current test without MNIST, or fail it when FASTNET_REQUIRE_DATA=1."""
    reason = mnist_missing()
    if reason is None:
        return
    if REQUIRE_DATA:
        pytest.fail("FASTNET_REQUIRE_DATA=1 but " + reason, pytrace=False)
    pytest.skip(reason)


def first_training_images(n):
    """The first n MNIST training images, scaled by 1/256 as the book's loader does, and
    their labels (int64), read straight from the IDX files."""
    import gzip

    def read(name, header):
        return np.frombuffer(gzip.decompress((MNIST_DIR / name).read_bytes()), dtype=np.uint8,
                             offset=header)

    images = read("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:n] / 256.0
    return images, read("train-labels-idx1-ubyte.gz", 8)[:n].astype(np.int64)


def as_network2_list(X, labels, one_hot=True):
    """network2's list form: (column x, one-hot column y) or (column x, int label)."""
    data = []
    for x, label in zip(X, labels):
        if one_hot:
            y = np.zeros((10, 1))
            y[label] = 1.0
        else:
            y = int(label)
        data.append((x.reshape(784, 1).copy(), y))
    return data


def runnable(level):
    """A pytest param for kernel `level`, skipped (saying why) where the CPU lacks it."""
    from fastnet import dispatch
    lacking = dispatch.LEVELS.index(level) > dispatch.LEVELS.index(dispatch.supported())
    return pytest.param(level, marks=pytest.mark.skipif(
        lacking, reason="this CPU does not run the {} kernels (best: {})".format(
            level, dispatch.supported())))


def unaligned(a):
    """A copy of ``a`` in a buffer one byte off alignment."""
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)
    view = raw[1:].view(a.dtype).reshape(a.shape)
    view[...] = a
    assert not view.flags.aligned
    return view


def seed(s):
    """Seed both generators, as network2 scripts do."""
    random.seed(s)
    np.random.seed(s)


def max_abs_diff(a_list, b_list):
    """The largest |a - b| over pairs of arrays (weights, biases, gradients) as a float."""
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
               for a, b in zip(a_list, b_list))


def same_fastnet_env(base=None):
    """An environment in which a child Python imports the fastnet this test imported.

    Start the child outside the source tree too (``cwd``): Python puts the
    folder it starts in first on ``sys.path``, so from the repository root
    it would import the unbuilt sources instead of an installed fastnet.
    """
    import fastnet

    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = str(Path(fastnet.__file__).resolve().parents[1])
    return env


def interrupt_command(argv, cwd, after, wait=0.0, timeout=60):
    """Run ``fastnet ARGV`` in a child Python on the imported fastnet, press Ctrl-C
    (SIGINT) once a line of its output starts with ``after`` and ``wait`` seconds
    have passed, and return ``(exit code, the output after that line, stderr)``."""
    import signal
    import subprocess
    import time

    import fastnet

    env = {k: v for k, v in os.environ.items() if k not in ("FASTNET_DATA", "PYTHONPATH")}
    env["PYTHONPATH"] = str(Path(fastnet.__file__).resolve().parents[1])
    # Python started from a background job may inherit an ignored SIGINT: restore it.
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from fastnet import cli; sys.exit(cli.main(sys.argv[1:]))")
    p = subprocess.Popen([sys.executable, "-c", code, *map(str, argv)], env=env, cwd=str(cwd),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stdout:
            if line.startswith(after):
                break
        time.sleep(wait)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
    return p.returncode, stdout, stderr

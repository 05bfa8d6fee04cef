"""BLAS is held to fastnet.threads.BLAS_THREADS threads from the first kernel call on."""
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from fastnet import network2, threads

from .helpers import same_fastnet_env

# threadpoolctl can neither see nor limit Apple Accelerate (see fastnet.threads).
pytestmark = pytest.mark.skipif(threads.scipy_blas_is_accelerate(),
                                reason="SciPy's BLAS is Apple Accelerate, which threadpoolctl "
                                       "cannot see or limit")


def blas_threads():
    return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})


def test_the_test_session_holds_blas_to_one_thread():
    """conftest's session limit: with NumPy 1.25's OpenBLAS on two threads the
    reference implementations' tiny products made the suite 10-25 times slower.
    It holds every BLAS the process has loaded (NumPy's and SciPy's), whether or
    not a fastnet kernel has run yet."""
    assert blas_threads() == [1]


def test_kernels_run_with_one_blas_thread_and_keep_the_limit():
    rng = np.random.RandomState(0)
    X, y = rng.rand(200, 6), rng.randint(3, size=200)
    net = network2.Network([6, 5, 3], random_state=0)
    seen = []
    net.SGD((X, y), 1, 10, 0.1, quiet=True, progress=lambda done: seen.append(blas_threads()))
    assert seen and all(s == [threads.BLAS_THREADS] for s in seen)
    assert blas_threads() == [threads.BLAS_THREADS]


PARALLEL_RUNS = """
import threading
import numpy as np
from threadpoolctl import threadpool_info
from fastnet import network2

def blas_threads():
    return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})

rng = np.random.RandomState(1)
X, y = rng.rand(2000, 6), rng.randint(3, size=2000)
seen, started, release = [], threading.Event(), threading.Event()

def train(wait):
    net = network2.Network([6, 5, 3], random_state=2)
    def progress(done):
        if wait:
            started.set()
            release.wait(timeout=10)   # hold this run open while the other one runs
        seen.append(blas_threads())
    net.SGD((X, y), 1, 10, 0.1, quiet=True, progress=progress)

slow = threading.Thread(target=train, args=(True,))
slow.start()
started.wait(timeout=10)
train(False)                           # starts and ends while the slow run is inside a kernel
after_quick = blas_threads()
release.set()
slow.join()
assert after_quick == [1], after_quick
assert all(s == [1] for s in seen), seen
assert blas_threads() == [1], blas_threads()
print("ok")
"""


def test_parallel_runs_share_the_limit_and_it_outlives_them():
    # A fresh interpreter: OpenBLAS ignores a thread count set from a second thread
    # once the main thread has set one, which earlier tests in this process do.
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(PARALLEL_RUNS)],
                            capture_output=True, text=True, timeout=120, env=same_fastnet_env(),
                            cwd=Path(__file__).resolve().parent)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr


SEQUENTIAL_AND_PARALLEL = """
import random, threading
import numpy as np
from fastnet import network2

rng = np.random.RandomState(1)
X, y = rng.rand(600, 100), rng.randint(10, size=600)

def train(mini_batch_size, dtype, out, key):
    net = network2.Network([100, 60, 10], random_state=2)
    net.SGD((X, y), 2, mini_batch_size, 0.5, lmbda=0.1, quiet=True, dtype=dtype,
            shuffle_with=random.Random(7))
    out[key] = net.weights + net.biases

# Mini-batches over 256 rows and the full batch: products that BLAS serves.
runs = [(300, np.float64), (600, np.float32), (300, np.float32), (600, np.float64)]
one_after_another, in_threads = {}, {}
for key, run in enumerate(runs):
    train(*run, one_after_another, key)
workers = [threading.Thread(target=train, args=(*run, in_threads, key))
           for key, run in enumerate(runs)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
differ = [runs[key] for key in one_after_another
          if not all(np.array_equal(a, b) for a, b in zip(one_after_another[key], in_threads[key]))]
print("differ", differ)
"""


@pytest.mark.parametrize("kernel", ["blas", None])
def test_runs_in_parallel_threads_equal_the_same_runs_one_after_the_other(kernel):
    import os
    env = same_fastnet_env()
    env.pop("FASTNET_KERNEL", None)
    if kernel is not None:
        env["FASTNET_KERNEL"] = kernel
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(SEQUENTIAL_AND_PARALLEL)],
                            capture_output=True, text=True, timeout=120, env=env,
                            cwd=Path(__file__).resolve().parent)
    assert result.returncode == 0, result.stderr
    assert "differ []" in result.stdout, result.stdout

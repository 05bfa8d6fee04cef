"""BLAS is held to fastnet.threads.BLAS_THREADS threads while kernels run, then released."""
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from fastnet import network2, threads

# threadpoolctl can neither see nor limit Apple Accelerate (see fastnet.threads).
pytestmark = pytest.mark.skipif(threads.scipy_blas_is_accelerate(),
                                reason="SciPy's BLAS is Apple Accelerate, which threadpoolctl "
                                       "cannot see or limit")


def blas_threads():
    return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})


def test_kernels_run_with_one_blas_thread_and_restore_the_setting():
    rng = np.random.RandomState(0)
    X, y = rng.rand(200, 6), rng.randint(3, size=200)
    net = network2.Network([6, 5, 3], random_state=0)
    before = blas_threads()
    seen = []
    net.SGD((X, y), 1, 10, 0.1, quiet=True, progress=lambda done: seen.append(blas_threads()))
    assert seen and all(s == [threads.BLAS_THREADS] for s in seen)
    assert blas_threads() == before


PARALLEL_RUNS = """
import threading
import numpy as np
from threadpoolctl import threadpool_info
from fastnet import network2

def blas_threads():
    return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})

rng = np.random.RandomState(1)
X, y = rng.rand(2000, 6), rng.randint(3, size=2000)
before = blas_threads()
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
assert blas_threads() == before, (blas_threads(), before)
print("ok")
"""


def test_parallel_runs_share_the_limit_until_the_last_one_ends():
    # A fresh interpreter: OpenBLAS ignores a thread count set from a second thread
    # once the main thread has set one, which earlier tests in this process do.
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(PARALLEL_RUNS)],
                            capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parent)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr

"""How many threads BLAS may use while fastnet's kernels run.

fastnet's matrices are small (a mini-batch of 10 rows against a 30 x 784
weight matrix), and OpenBLAS's threads cost more than they give on them: on
the 2-core development machine, accuracy over 10,000 images took 0.023 s
with one BLAS thread and 0.16 s with two, and an epoch of 1,000 images in one
mini-batch 4.3 ms against 11.8 ms.  On a busy machine, or with several
networks training in parallel threads, BLAS threads oversubscribe the cores
and it gets far worse.  So while a kernel runs, BLAS is held to
``BLAS_THREADS`` threads (threadpoolctl does the holding); the limit is
lifted again when the last running kernel call returns.

Set ``fastnet.threads.BLAS_THREADS`` to another number to change that, or to
None to leave BLAS's own setting alone.
"""
import threading
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

BLAS_THREADS = 1

_lock = threading.Lock()
_running = 0          # kernel calls in progress, in all threads
_limiter = None       # threadpoolctl's record of the limits to restore
_blas = None          # the BLAS libraries of this process, found once


@contextmanager
def kernel_threads():
    """Hold BLAS to ``BLAS_THREADS`` threads for the duration of the block.

    Counted across threads, so that parallel training runs share one limit
    and the first to finish does not lift it under the others.
    """
    global _running, _limiter, _blas
    with _lock:
        if _running == 0 and BLAS_THREADS is not None:
            if _blas is None:
                _blas = ThreadpoolController().select(user_api="blas")
            _limiter = _blas.limit(limits=BLAS_THREADS)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None

"""How many threads BLAS may use while fastnet's kernels run.

fastnet's matrices are small (a mini-batch of 10 rows against a 30 x 784
weight matrix), and OpenBLAS's threads cost more than they give on them: a
second thread has too little work to share and waits for a core that
another process may hold (``python -m benchmarks`` measures one against two
in its thread probe).  On a busy machine, or with several networks training
in parallel threads, BLAS threads oversubscribe the cores.  So from the
first kernel call on, BLAS is held to ``BLAS_THREADS`` threads (threadpoolctl
does the holding) for the rest of the process.

The limit is not lifted between calls: OpenBLAS's thread count is one setting
for the whole process, and a kernel in one Python thread may start while
another thread lifts or sets it, so that some of its products run on two
threads and round differently.  Held once and kept, every product of every
thread runs on the same number of threads, and parallel runs give the same
numbers as the same runs one after the other.

Set ``fastnet.threads.BLAS_THREADS`` to another number to change that, or to
None to leave BLAS's own setting alone.
"""
import functools
import threading
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

BLAS_THREADS = 1

_lock = threading.Lock()
_held = None          # the limit in force, or None before the first kernel call
_limiter = None       # threadpoolctl's record of the limits BLAS had before
_blas = None          # the BLAS libraries of this process, found once


def hold_blas_threads():
    """Hold BLAS to ``BLAS_THREADS`` threads from here on (None: BLAS's own setting).

    Called by every kernel call; sets the limit only when ``BLAS_THREADS`` differs
    from the limit in force, so its cost after the first call is one comparison.
    """
    global _held, _limiter, _blas
    limit = BLAS_THREADS
    if limit == _held:
        return
    with _lock:
        if limit == _held:
            return
        if _blas is None:
            _blas = ThreadpoolController().select(user_api="blas")
        if limit is None:
            _limiter.restore_original_limits()
        elif _limiter is None:
            _limiter = _blas.limit(limits=limit)
        else:
            _blas.limit(limits=limit)
        _held = limit


@contextmanager
def kernel_threads():
    """Hold BLAS to ``BLAS_THREADS`` threads (kept afterwards) while the block runs."""
    hold_blas_threads()
    with accelerate_threads(BLAS_THREADS):   # Apple's BLAS, which threadpoolctl cannot see
        yield


# Apple Accelerate (macOS) ---------------------------------------------------------------
#
# SciPy's macOS wheels for macOS 14 and later call Apple Accelerate's BLAS (older macOS
# gets OpenBLAS).  threadpoolctl has no controller for Accelerate: it does not list it,
# and a limit set through it silently changes nothing.  Accelerate reads
# VECLIB_MAXIMUM_THREADS once, when it loads, and from macOS 15 on has
# BLASSetThreading(), which makes BLAS single- or multi-threaded for the calling thread
# only.

_ACCELERATE = "/System/Library/Frameworks/Accelerate.framework/Accelerate"
_ACCELERATE_SINGLE_THREADED = 1          # BLAS_THREADING_SINGLE_THREADED (vecLib thread_api.h)
_accelerate_warned = False


@functools.lru_cache(maxsize=1)
def scipy_blas_is_accelerate():
    """True if SciPy, so fastnet's kernels, calls Apple Accelerate's BLAS (looked up once)."""
    import sys
    if sys.platform != "darwin":
        return False
    import scipy
    try:
        blas = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        return False
    return str(blas).lower() == "accelerate"


def _accelerate_threading_api():
    """Accelerate's (BLASGetThreading, BLASSetThreading), or None before macOS 15."""
    import ctypes
    try:
        library = ctypes.CDLL(_ACCELERATE)
        get, set_ = library.BLASGetThreading, library.BLASSetThreading
    except (OSError, AttributeError):
        return None
    get.restype, get.argtypes = ctypes.c_uint, []
    set_.restype, set_.argtypes = ctypes.c_int, [ctypes.c_uint]
    return get, set_


@contextmanager
def accelerate_threads(limit):
    """Hold Apple Accelerate's BLAS to one thread in this thread while the block runs.

    What threadpoolctl cannot do when SciPy's BLAS is Accelerate (see above).  With
    ``limit == 1`` and macOS 15 or later, BLASSetThreading makes BLAS single-threaded
    for the calling thread, and the previous setting is restored afterwards; as the
    setting is per thread, enter this in every thread that calls a kernel.  Before
    macOS 15 nothing can be changed in a running process: a RuntimeWarning (once) says
    to start Python with VECLIB_MAXIMUM_THREADS=1 instead.  Accelerate has no "at most
    N threads" setting, so other limits (and None) leave it to decide.  Yields whether
    Accelerate is held to one thread inside the block; elsewhere (OpenBLAS, MKL, ...) it does nothing
    and yields False.
    """
    import warnings
    global _accelerate_warned
    if limit != 1 or not scipy_blas_is_accelerate():
        yield False
        return
    api = _accelerate_threading_api()
    if api is None:
        if not _accelerate_warned:
            _accelerate_warned = True
            warnings.warn("SciPy calls Apple Accelerate, whose threads threadpoolctl cannot "
                          "limit and which, before macOS 15, cannot be limited once loaded: "
                          "fastnet.threads.BLAS_THREADS has no effect. Start Python with "
                          "VECLIB_MAXIMUM_THREADS=1 to run BLAS on one thread.",
                          RuntimeWarning, stacklevel=3)
        yield False
        return
    get, set_ = api
    previous = get()
    held = previous == _ACCELERATE_SINGLE_THREADED or set_(_ACCELERATE_SINGLE_THREADED) == 0
    try:
        yield held
    finally:
        if previous != _ACCELERATE_SINGLE_THREADED:
            set_(previous)

"""Which kernels compute fastnet's products: hand-written tiles, or BLAS.

At the small shapes of the book's networks (mini-batches of 10, layers of 30),
the kernels of ``fastnet/_kernels/tiles.c`` beat a BLAS call: they keep a tile
of sums in vector registers, read a mini-batch's rows where they lie, and fetch
the next mini-batch's rows while this one updates the weights.  They are built
for two instruction sets and picked at run time from what the CPU has:

    "avx512"   x86-64-v4: AVX-512 (32 vector registers)
    "avx2"     x86-64-v3: AVX2 and FMA
    "blas"     neither (older x86-64, ARM) or asked for: every product goes to BLAS

Blocks of more than ``tile_rows()`` rows (256: mini-batches of more, such as
the chapter's 1,000-image batches) go to BLAS, which wins there for wide layers.

The environment variable ``FASTNET_KERNEL`` (one of the names above) picks the
kernels when fastnet starts; ``use`` and ``using`` change them afterwards, for
every thread (a call already running keeps the kernels it started with).  A
level the CPU lacks falls back to the best one it has.
"""
import contextlib
import os
import warnings

import numpy as np

from fastnet._kernels import training as _training

LEVELS = ("blas", "avx2", "avx512")
ENVIRONMENT_VARIABLE = "FASTNET_KERNEL"


def supported():
    """The best kernels this CPU runs: "avx512", "avx2" or "blas"."""
    return LEVELS[_training.simd_supported()]


def current():
    """The kernels in use: "avx512", "avx2" or "blas"."""
    return LEVELS[_training.simd_level()]


def use(name):
    """Use the kernels `name` ("avx512", "avx2" or "blas"), or the best the CPU has
    below it; returns the name of those now in use."""
    if name not in LEVELS:
        raise ValueError("kernels must be one of {}, not {!r}".format(", ".join(LEVELS), name))
    return LEVELS[_training.simd_use(LEVELS.index(name))]


@contextlib.contextmanager
def using(name):
    """``with using("blas"): ...`` runs the block with those kernels, then restores the ones before."""
    before = current()
    use(name)
    try:
        yield current()
    finally:
        use(before)


def tile_rows():
    """Blocks of at most this many rows go to the tile kernels."""
    return _training.tile_rows()


def fma_flops(name, dtype, rounds):
    """Run `rounds` of 16 independent register-only fused multiply-add chains with the
    vectors of `name` ("avx512" or "avx2") in `dtype` (float64 or float32), and return the
    floating-point operations done; time the call for the machine's peak rate.  0 when the
    CPU lacks that instruction set."""
    if name not in LEVELS[1:]:
        raise ValueError("fma_flops needs 'avx512' or 'avx2', not {!r}".format(name))
    single = np.dtype(dtype) == np.float32
    if not single and np.dtype(dtype) != np.float64:
        raise ValueError("dtype must be float64 or float32, not {}".format(np.dtype(dtype)))
    return _training.fma_chain(LEVELS.index(name), single, int(rounds))


def _apply_environment():
    wanted = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if not wanted:
        return
    if wanted not in LEVELS:
        warnings.warn("{}={!r} is not one of {}; using {}".format(
            ENVIRONMENT_VARIABLE, wanted, ", ".join(LEVELS), current()), RuntimeWarning)
        return
    use(wanted)


_apply_environment()

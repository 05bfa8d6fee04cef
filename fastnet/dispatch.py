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
the chapter's 1,000-image batches) go to BLAS, whose packing pays off there.
Measured on an AVX-512 machine (OpenBLAS 0.3.30), time with tiles / time with
BLAS: an SGD epoch of [784,30,10] 0.40 at mini-batch 16, 0.67 at 200;
[784,1000,10] 0.80 at 100, 0.95 at 256, but 1.22 at 1000; 256-row blocks of
inference 0.61-0.97.

The environment variable ``FASTNET_KERNEL`` (one of the names above) picks the
kernels when fastnet starts; ``use`` and ``using`` change them afterwards, for
every thread.  The level in use is held here, and ``fastnet.engine`` passes
it to each kernel call (``level_for``), so a call already running keeps the
kernels it started with.  A level the CPU lacks falls back to the best one
it has.
"""
import contextlib
import os
import warnings

from fastnet._kernels import simd

LEVELS = ("blas", "avx2", "avx512")
ENVIRONMENT_VARIABLE = "FASTNET_KERNEL"

_SUPPORTED = simd.supported()
_level = _SUPPORTED             # the level in use, as an index into LEVELS
_tile_rows = 256


def supported():
    """The best kernels this CPU runs: "avx512", "avx2" or "blas"."""
    return LEVELS[_SUPPORTED]


def current():
    """The kernels in use: "avx512", "avx2" or "blas"."""
    return LEVELS[_level]


def use(name):
    """Use the kernels `name` ("avx512", "avx2" or "blas"), or the best the CPU has
    below it; returns the name of those now in use."""
    global _level
    if name not in LEVELS:
        raise ValueError("kernels must be one of {}, not {!r}".format(", ".join(LEVELS), name))
    _level = min(LEVELS.index(name), _SUPPORTED)
    return current()


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
    return _tile_rows


def set_tile_rows(rows):
    """Send blocks of more than `rows` rows to BLAS (for measuring where tiles and BLAS
    cross over); returns the value before."""
    global _tile_rows
    old, _tile_rows = _tile_rows, max(int(rows), 0)
    return old


def level_for(rows):
    """The kernels' level for blocks of at most `rows` rows: the one in use, or 0 (BLAS)
    for blocks larger than ``tile_rows()``."""
    return _level if rows <= _tile_rows else 0


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

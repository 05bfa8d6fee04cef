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

How the kernels walk their work is a table of parameters per microarchitecture
family, as BLIS keeps one block-size table per CPU (``TABLES``): how long a
stretch of a sum is kept in the L1 cache (``dot_chunk``, ``axpy_chunk``, in
vectors), how many columns of tiles share it (``dot_block``), whether the
first layer's forward takes its wide register tiles (``columns_wide``), where the next mini-batch's
rows are fetched to while this one computes, in each precision
(``prefetch_double``, ``prefetch_float``: None, "L1" or "L2"), and how
many rows still go to the tiles rather than BLAS (``tile_rows``).  None of
these changes the order in which any sum is taken, so every table gives the
same numbers, bit for bit; they change only the speed.  The register tiles
themselves are fixed per instruction set, when the kernels are compiled
(tiles_isa_*.h).  The table is chosen from the CPU's vendor, family and model
(CPUID) and the kernels in use (``table_for``), never by timing, so a machine
always picks the same one: an Intel AVX-512 CPU asked for the avx2 kernels
walks them by the row of Intel's AVX2 cores, whose parameters suit 256-bit
code, not by its AVX-512 row; a Zen 4 keeps its own row, measured at both
levels, and a Zen 5 takes the generic avx2 row, as when its AVX-512 is hidden.
``FASTNET_TABLE`` names a table for
measurement, and ``use_table``/``using_table`` change it afterwards; a table
so named stays when the kernels change.
"""
import contextlib
import os
import warnings

from fastnet._kernels import simd, training

LEVELS = ("blas", "avx2", "avx512")
ENVIRONMENT_VARIABLE = "FASTNET_KERNEL"
TABLE_VARIABLE = "FASTNET_TABLE"

# The parameters of the generic row, and of the rows measured on no CPU of their own.
_ZEN5 = dict(dot_chunk=24, dot_block=2, axpy_chunk=4, columns_chunk=0, columns_wide=False,
             prefetch_double="L1", prefetch_float="L1", tile_rows=256)
# Zen 4 runs AVX-512 on 256-bit units.  There the next float64 mini-batch fetched into L2
# rather than L1 makes AVX2-level epochs 3% faster and AVX-512 ones no slower (A/B, 21
# interleaved repeats, twice); no other variant of chunks, blocks or prefetch moved either
# level beyond 1-2% of noise.
_ZEN4 = dict(_ZEN5, prefetch_double="L2")
# Zen 2's 32 KB L1 does not hold a float64 mini-batch's 63 KB of inputs beside the work on
# this one: fetching the next one early costs float64 epochs 3-4%; float32 (31 KB) gains 10%.
# Cutting the column forms' sums into stretches (columns_chunk 32-128) measured 5-10% slower.
_ZEN2 = dict(dot_chunk=24, dot_block=2, axpy_chunk=4, columns_chunk=0, columns_wide=False,
             prefetch_double=None, prefetch_float="L1", tile_rows=256)
# Intel Xeon (family 6 model 207: two 512-bit FMA units per core) asks twice the operands per
# cycle of Zen 4's 256-bit units: the first layer's float64 forward in 6 x 4 tiles, reading B's
# rows whole and in order, took 0.72-0.80 of the time of the 10 x 2 tiles (the forward alone,
# in a C harness over a shuffled 50,000-row array, interleaved pairs); whole epochs took
# 0.96-0.99.  No prefetch placement or chunk beat the noise of that host, whose FMA peak
# itself moved between 70 and 101 GFLOP/s from one minute to the next.
_SKX = dict(_ZEN5, columns_wide=True)
# The same Xeon at the avx2 level (its cores are those of Intel's AVX2 clients since Alder
# Lake): the column forms' sums cut into stretches of 128 rows, and the next mini-batch
# fetched by the hardware alone in float64, into L2 in float32, took 0.91-0.92 (float64,
# twice) and 0.94 (float32, once) of the time of the zen2 row's walk (whole epochs,
# variants interleaved in one process, 7 repeats).  On the AVX-512 level the same
# stretches measured 1-2% slower, so the skx row keeps whole sums.
_INTEL_AVX2 = dict(_ZEN2, columns_chunk=128, prefetch_double=None, prefetch_float="L2")
PREFETCH = (None, "L1", "L2")      # where the next mini-batch's rows are fetched to

# One row per microarchitecture family: its instruction set, parameters and where they
# were measured (benchmarks/RESULTS.md has the numbers).
TABLES = {
    "zen5": dict(_ZEN5, isa="avx512", family="AMD Zen 5 (AVX-512)",
                 measured="tuned on AMD EPYC Zen 5 (2 cores, KVM)"),
    "zen4": dict(_ZEN4, isa="avx512", family="AMD Zen 4 (AVX-512 on 256-bit units)",
                 measured="tuned on AMD EPYC Zen 4, family 25 model 17 (2 cores, KVM), "
                          "from the zen5 row"),
    "zen2": dict(_ZEN2, isa="avx2", family="AMD Zen 2 and Zen 3 (AVX2)",
                 measured="tuned on AMD EPYC Zen 2, family 23 model 49 (2 cores, KVM)"),
    "skx": dict(_SKX, isa="avx512", family="Intel AVX-512 servers (Skylake-SP to Granite Rapids)",
                measured="tuned on Intel Xeon, family 6 model 207 (2 cores, KVM), from the zen5 row"),
    "icl": dict(_ZEN5, isa="avx512", family="Intel AVX-512 clients (Ice Lake, Tiger Lake, Rocket Lake)",
                measured="copy of zen5; not yet measured on that CPU"),
    "haswell": dict(_INTEL_AVX2, isa="avx2",
                    family="Intel AVX2 (Haswell to Raptor Lake, Meteor Lake), and Intel's "
                           "AVX-512 CPUs running the avx2 kernels",
                    measured="tuned on Intel Xeon, family 6 model 207 (2 cores, KVM), at the "
                             "avx2 level; not yet measured on an AVX2-only CPU"),
    "generic-avx512": dict(_ZEN5, isa="avx512", family="any other CPU with AVX-512",
                           measured="copy of zen5"),
    "generic-avx2": dict(_ZEN2, isa="avx2", family="any other CPU with AVX2 and FMA",
                         measured="copy of zen2"),
    "generic": dict(_ZEN5, isa="blas", family="no AVX2 (older x86-64, ARM): BLAS only",
                    measured="only tile_rows is read"),
}

# Intel family 6 models with AVX-512 (those not listed take the AVX2 row).
_INTEL_AVX512_SERVER = {0x55, 0x6A, 0x6C, 0x8F, 0xCF, 0xAD, 0xAE}
_INTEL_AVX512_CLIENT = {0x66, 0x7D, 0x7E, 0x8C, 0x8D, 0xA7}
# AMD family 25 (0x19) models that are Zen 4 (the rest are Zen 3).
_ZEN4_MODELS = set(range(0x10, 0x20)) | set(range(0x60, 0x80)) | set(range(0xA0, 0xB0))

_SUPPORTED = simd.supported()
_level = _SUPPORTED             # the level in use, as an index into LEVELS
_table = None                   # the name of the table in use (set below)
_table_named = False            # whether FASTNET_TABLE or use_table chose it
_tile_rows = 256


def supported():
    """The best kernels this CPU runs: "avx512", "avx2" or "blas"."""
    return LEVELS[_SUPPORTED]


def current():
    """The kernels in use: "avx512", "avx2" or "blas"."""
    return LEVELS[_level]


def current_index():
    """The kernels in use as the number the compiled kernels take (an index into LEVELS)."""
    return _level


def use(name):
    """Use the kernels `name` ("avx512", "avx2" or "blas"), or the best the CPU has
    below it, walked by their table for this CPU unless one was named (``use_table``,
    FASTNET_TABLE); returns the name of the kernels now in use."""
    global _level
    if name not in LEVELS:
        raise ValueError("kernels must be one of {}, not {!r}".format(", ".join(LEVELS), name))
    _level = min(LEVELS.index(name), _SUPPORTED)
    if not _table_named and _table is not None:
        wanted = chosen_table()
        if wanted != _table:
            _walk_by(wanted)
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


def table_for(vendor, family, model, level):
    """The name of the table for a CPU: its CPUID vendor string ("GenuineIntel",
    "AuthenticAMD"), display family and model, and the level of the kernels that will
    run (a name of LEVELS).  A family's row needs its instruction set; otherwise the
    generic row of the level."""
    name = None
    if vendor == "GenuineIntel" and family == 6 and level == "avx2":
        # 256-bit code on any Intel core: one row, measured on a Xeon's cores at this level.
        return "haswell"
    if vendor == "AuthenticAMD" and family == 0x19 and model in _ZEN4_MODELS and level == "avx2":
        return "zen4"          # its row was measured at both levels (see _ZEN4)
    if vendor == "AuthenticAMD":
        if family == 0x17 or (family == 0x19 and model not in _ZEN4_MODELS):
            name = "zen2"
        elif family == 0x19:
            name = "zen4"
        elif family == 0x1A:
            name = "zen5"
    elif vendor == "GenuineIntel" and family == 6:
        name = ("skx" if model in _INTEL_AVX512_SERVER else
                "icl" if model in _INTEL_AVX512_CLIENT else "haswell")
    if name is not None and LEVELS.index(TABLES[name]["isa"]) > LEVELS.index(level):
        name = None            # e.g. AVX-512 switched off by the OS or the hypervisor
    if name is None:
        name = {"avx512": "generic-avx512", "avx2": "generic-avx2"}.get(level, "generic")
    return name


def cpu():
    """This CPU as CPUID reports it: {"vendor", "family", "model"}."""
    vendor, family, model = simd.cpu()
    return {"vendor": vendor, "family": family, "model": model}


def chosen_table():
    """The table this CPU gets for the kernels in use when none is named (FASTNET_TABLE,
    ``use_table``)."""
    here = cpu()
    return table_for(here["vendor"], here["family"], here["model"], current())


def table():
    """The name of the table in use."""
    return _table


def table_values(name=None):
    """The parameters of table `name` (default: the one in use), as a new dict."""
    name = _table if name is None else name
    if name not in TABLES:
        raise ValueError("{} must be one of {}, not {!r}".format(
            TABLE_VARIABLE, ", ".join(sorted(TABLES)), name))
    return dict(TABLES[name])


def use_table(name):
    """Walk the kernels' work by table `name` from now on, whatever kernels run (and send
    blocks of more than its tile_rows to BLAS); returns the name of the table before."""
    global _table_named
    old = _walk_by(name)
    _table_named = True
    return old


def _walk_by(name):
    """Hand table `name`'s parameters to the kernels; returns the name of the table before."""
    global _table
    values = table_values(name)
    training.set_tuning(values["dot_chunk"], values["dot_block"], values["axpy_chunk"],
                        values["columns_chunk"], values["columns_wide"],
                        PREFETCH.index(values["prefetch_double"]),
                        PREFETCH.index(values["prefetch_float"]))
    set_tile_rows(values["tile_rows"])
    old, _table = _table, name
    return old


@contextlib.contextmanager
def using_table(name):
    """``with using_table("zen4"): ...`` runs the block with that table, then restores the one
    before (and whether it was named or follows the kernels)."""
    global _table_named
    named = _table_named
    before = use_table(name)
    try:
        yield name
    finally:
        _walk_by(before)
        _table_named = named


def info():
    """What runs: the CPU, the kernels' level and the table, with its parameters."""
    return dict(cpu(), supported=supported(), kernels=current(), table=table(),
                chosen_table=chosen_table(), tile_rows=tile_rows(),
                parameters=table_values())


def _apply_environment():
    wanted = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if not wanted:
        return
    if wanted not in LEVELS:
        warnings.warn("{}={!r} is not one of {}; using {}".format(
            ENVIRONMENT_VARIABLE, wanted, ", ".join(LEVELS), current()), RuntimeWarning)
        return
    use(wanted)


def _apply_table_environment():
    wanted = os.environ.get(TABLE_VARIABLE, "").strip().lower()
    if wanted:
        use_table(wanted)
    else:
        _walk_by(chosen_table())


_apply_environment()
_apply_table_environment()

"""The kernel tables of fastnet.dispatch: one per microarchitecture family, chosen by CPUID
and the kernels in use.

Every table must give the same numbers (its parameters change how the kernels walk
their work, never the order of a sum): each one this CPU runs trains to the NumPy
reference's float64 numbers and to the default table's, bit for bit.  The choice
depends only on the CPU and the kernels, so it is the same in every process; it follows
the kernels when they change, unless FASTNET_TABLE or use_table named a table, and
FASTNET_TABLE names another or fails, saying which names there are.
"""
import io
import os
import subprocess
import sys
from contextlib import redirect_stdout

import numpy as np
import pytest

from fastnet import dispatch, network2, reference

from .helpers import as_network2_list, max_abs_diff, same_fastnet_env, seed

HERE = os.path.dirname(os.path.abspath(__file__))

ROUND_OFF = 1e-10
RUNNABLE = [name for name, row in dispatch.TABLES.items()
            if dispatch.LEVELS.index(row["isa"]) <= dispatch.LEVELS.index(dispatch.supported())]
# A row whose parameters differ from every real row's in each way the kernels read them:
# short stretches of every sum, one column of tiles per stretch, fetching into L2.
ODD_ROW = dict(dispatch.TABLES["generic-avx2"], dot_chunk=3, dot_block=1, axpy_chunk=1,
               columns_chunk=7, columns_wide=True, prefetch_double="L2", prefetch_float=None)


@pytest.fixture
def odd_row():
    dispatch.TABLES["test-odd"] = ODD_ROW
    try:
        yield "test-odd"
    finally:
        del dispatch.TABLES["test-odd"]


def data(n=120, inputs=784, seed_=3):
    rng = np.random.default_rng(seed_)
    return rng.random((n, inputs)), rng.integers(0, 10, n)


def train(sizes, X, y, mini_batch_size, table, dtype=np.float64):
    seed(5)
    net = network2.Network(sizes, network2.CrossEntropyCost)
    with dispatch.using_table(table):
        net.SGD((X, y), 2, mini_batch_size, 0.3, 2.0, quiet=True, dtype=dtype)
        out = net.feedforward(X[:5].T)
    return [*net.weights, *net.biases, out]


def reference_run(sizes, X, y, mini_batch_size):
    seed(5)
    ref = reference.Network(sizes, reference.CrossEntropyCost)
    with redirect_stdout(io.StringIO()):
        ref.SGD(as_network2_list(X, y), 2, mini_batch_size, 0.3, 2.0)
    return [*ref.weights, *ref.biases]


@pytest.mark.parametrize("sizes, mini_batch_size", [([784, 30, 10], 10), ([784, 13, 7, 10], 7),
                                                     ([784, 21, 10], 1)])
def test_every_table_this_cpu_runs_trains_to_the_reference_and_to_the_default(
        sizes, mini_batch_size, odd_row):
    X, y = data()
    expected = reference_run(sizes, X, y, mini_batch_size)
    default = {d: train(sizes, X, y, mini_batch_size, dispatch.table(), d)
               for d in (np.float64, np.float32)}
    assert max_abs_diff(default[np.float64][:-1], expected) <= ROUND_OFF
    for name in RUNNABLE + [odd_row]:
        for dtype in (np.float64, np.float32):
            got = train(sizes, X, y, mini_batch_size, name, dtype)
            for a, b in zip(got, default[dtype]):
                assert np.array_equal(a, b), (name, np.dtype(dtype).name)


def test_using_table_restores_the_table_and_its_tile_rows(odd_row):
    before, rows = dispatch.table(), dispatch.tile_rows()
    ODD_ROW["tile_rows"] = 3
    try:
        with dispatch.using_table(odd_row):
            assert dispatch.table() == odd_row and dispatch.tile_rows() == 3
            assert dispatch.info()["parameters"]["dot_chunk"] == 3
    finally:
        ODD_ROW["tile_rows"] = dispatch.TABLES["generic-avx2"]["tile_rows"]
    assert dispatch.table() == before and dispatch.tile_rows() == rows


def test_the_cpu_chooses_its_table_the_same_way_in_every_process():
    here = dispatch.cpu()
    assert dispatch.chosen_table() == dispatch.table_for(here["vendor"], here["family"],
                                                         here["model"], dispatch.current())
    env = {k: v for k, v in os.environ.items() if k != dispatch.TABLE_VARIABLE}
    if os.environ.get(dispatch.TABLE_VARIABLE) is None:
        assert dispatch.table() == dispatch.chosen_table()
    code = "from fastnet import dispatch; print(dispatch.table(), dispatch.chosen_table())"
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], env=same_fastnet_env(env),
                             cwd=str(HERE), capture_output=True, text=True,
                             check=True).stdout.split()
        assert out == [dispatch.chosen_table()] * 2


@pytest.mark.parametrize("vendor, family, model, level, table", [
    ("AuthenticAMD", 23, 49, "avx2", "zen2"),             # EPYC 7002 (Rome), Zen 2
    ("AuthenticAMD", 25, 0x01, "avx2", "zen2"),           # EPYC 7003 (Milan), Zen 3
    ("AuthenticAMD", 25, 0x11, "avx512", "zen4"),         # EPYC 9004 (Genoa), Zen 4
    ("AuthenticAMD", 25, 0x11, "avx2", "zen4"),           # the same at the avx2 level
    ("AuthenticAMD", 26, 0x02, "avx512", "zen5"),         # Zen 5
    ("AuthenticAMD", 26, 0x02, "avx2", "generic-avx2"),   # Zen 5 with AVX-512 hidden
    ("GenuineIntel", 6, 0x55, "avx512", "skx"),           # Skylake-SP, Cascade Lake
    ("GenuineIntel", 6, 0x8F, "avx512", "skx"),           # Sapphire Rapids
    ("GenuineIntel", 6, 0x7E, "avx512", "icl"),           # Ice Lake client
    ("GenuineIntel", 6, 0xCF, "avx2", "haswell"),         # Emerald Rapids at the avx2 level
    ("GenuineIntel", 6, 0x9A, "avx2", "haswell"),         # Alder Lake
    ("GenuineIntel", 6, 0x3C, "avx2", "haswell"),         # Haswell
    ("GenuineIntel", 6, 0x1A, "blas", "generic"),         # Nehalem: no AVX2
    ("CentaurHauls", 7, 0x1B, "avx2", "generic-avx2"),
    ("", 0, 0, "blas", "generic"),                        # not x86-64
])
def test_cpuid_picks_the_row_of_the_family(vendor, family, model, level, table):
    assert dispatch.table_for(vendor, family, model, level) == table


@pytest.mark.skipif(os.environ.get(dispatch.TABLE_VARIABLE), reason="FASTNET_TABLE names the table")
def test_the_table_follows_the_kernels_unless_one_was_named():
    here = dispatch.cpu()
    before = dispatch.table()
    for level in dispatch.LEVELS[:dispatch.LEVELS.index(dispatch.supported()) + 1]:
        with dispatch.using(level):
            assert dispatch.table() == dispatch.chosen_table() == dispatch.table_for(
                here["vendor"], here["family"], here["model"], level)
    assert dispatch.table() == before
    with dispatch.using_table("generic-avx2"):
        with dispatch.using("blas"):
            assert dispatch.table() == "generic-avx2"
    assert dispatch.table() == before
    with dispatch.using("blas"):                # and it follows them again afterwards
        assert dispatch.table() == "generic"


def test_fastnet_kernel_picks_the_table_of_those_kernels():
    env = {k: v for k, v in os.environ.items() if k != dispatch.TABLE_VARIABLE}
    env[dispatch.ENVIRONMENT_VARIABLE] = "blas"
    code = "from fastnet import dispatch; print(dispatch.current(), dispatch.table())"
    out = subprocess.run([sys.executable, "-c", code], env=same_fastnet_env(env),
                         cwd=str(HERE), capture_output=True, text=True, check=True).stdout
    assert out.split() == ["blas", "generic"]


def test_every_row_names_its_instruction_set_and_where_it_was_measured():
    keys = set(dispatch.TABLES["zen2"])
    for name, row in dispatch.TABLES.items():
        assert set(row) == keys, name
        assert row["isa"] in dispatch.LEVELS and row["measured"] and row["family"]
        assert row["prefetch_double"] in dispatch.PREFETCH and row["prefetch_float"] in dispatch.PREFETCH


def run_with_table(value):
    env = same_fastnet_env(dict(os.environ, **{dispatch.TABLE_VARIABLE: value}))
    return subprocess.run([sys.executable, "-c", "from fastnet import dispatch; print(dispatch.table())"],
                          env=env, cwd=str(HERE), capture_output=True, text=True)


def test_fastnet_table_picks_a_table_for_measurement():
    proc = run_with_table("Generic-AVX2 ")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["generic-avx2"]


def test_an_unknown_fastnet_table_fails_naming_the_tables():
    proc = run_with_table("zen9")
    assert proc.returncode != 0
    assert "FASTNET_TABLE must be one of" in proc.stderr and "zen2" in proc.stderr
    assert "'zen9'" in proc.stderr

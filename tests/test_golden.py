"""The same seeds give the same numbers as the recorded build (tests/golden_results.py).

The tile kernels are fastnet's own code, so at their levels the trained weights
and biases and the accuracies must match bit for bit.  BLAS products round as
the BLAS library and the kernel it picked for this CPU do: with the recorded one
everything must match bit for bit too; with another one the BLAS level's results
must lie within 1e-10 (float64) or 1e-3 (float32) of the recorded ones.  The cost
monitors go through BLAS at every level (their blocks of rows are BLAS products),
so with another BLAS kernel they must lie within a few units of the last place
(the file was recorded with OpenBLAS's Haswell kernel; on this Zen 4 OpenBLAS
picks SkylakeX, and with OPENBLAS_CORETYPE=Haswell every value matches bit for bit).
Where OpenBLAS can be told to use the recorded kernel on this CPU (an AVX-512 CPU
runs the Haswell kernel), a child Python does so and every case must match bit for bit.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastnet import dispatch, network2

from . import golden_results as golden
from .helpers import same_fastnet_env

SAVED = np.load(golden.TARGET)
RECORDED_LEVELS = sorted({name.split("/")[1] for name in SAVED.files if name.startswith("sha256/")},
                         key=dispatch.LEVELS.index)
RUNNABLE = dispatch.LEVELS[:dispatch.LEVELS.index(dispatch.supported()) + 1]


@pytest.fixture(scope="module")
def mnist_1200():
    return golden.mnist_slice()


def test_the_file_records_every_case_at_the_tile_level_of_this_development_cpu():
    # The recording machine ran AVX2; a level missing here means the file was cut short.
    assert "avx2" in RECORDED_LEVELS and "blas" in RECORDED_LEVELS
    per_level = len(golden.CASES) * len(golden.MINI_BATCHES) * 2
    assert sum(n.startswith("sha256/") for n in SAVED.files) == per_level * len(RECORDED_LEVELS)


@pytest.mark.parametrize("level", [lv for lv in RECORDED_LEVELS if lv in RUNNABLE])
@pytest.mark.parametrize("activation, output, cost", golden.CASES)
@pytest.mark.parametrize("mode", list(golden.MINI_BATCHES))
def test_same_seeds_give_the_recorded_results(mnist_1200, level, activation, output, cost, mode):
    X, y = mnist_1200
    same_blas = str(SAVED["blas_core"]) == golden.blas_core()
    with dispatch.using(level):
        for dtype in (np.float64, np.float32):
            name = golden.case_name(level, activation, output, cost, mode, dtype)
            now = golden.train(network2, activation, output, cost,
                               golden.MINI_BATCHES[mode], dtype, X, y)
            saved = SAVED["values/" + name]
            assert golden.digest(saved) == str(SAVED["sha256/" + name]), name   # the file
            if same_blas:
                worst = float(np.max(np.abs(now - saved)))
                assert golden.digest(now) == str(SAVED["sha256/" + name]), (name, worst)
            elif level != "blas":
                costs = golden.cost_positions(now)
                rest = np.ones(len(now), dtype=bool)
                rest[costs] = False
                assert np.array_equal(now[rest], saved[rest]), name
                np.testing.assert_allclose(now[costs], saved[costs], err_msg=name, atol=0,
                                           rtol=1e-13 if dtype == np.float64 else 1e-5)
            else:
                # float32: a ReLU's kink moves a few outputs by 1e-4 (tile against BLAS, recorded).
                bound = 1e-10 if dtype == np.float64 else 1e-3
                assert np.max(np.abs(now - SAVED["values/" + name])) <= bound, name


# The recorded BLAS kernels that a CPU with this level also runs (OpenBLAS's names).
RUNS_THE_KERNEL = {"Haswell": ("avx2", "avx512"), "SkylakeX": ("avx512",),
                   "Zen": ("avx2", "avx512")}

BIT_FOR_BIT = """
import json, sys
import numpy as np
from fastnet import dispatch, network2
sys.path.append(sys.argv[1])                 # the repository, after the fastnet under test
from tests import golden_results as golden
saved = np.load(golden.TARGET)
X, y = golden.mnist_slice()
levels = [lv for lv in json.loads(sys.argv[2])]
differ = []
for level in levels:
    with dispatch.using(level):
        for activation, output, cost in golden.CASES:
            for mode, size in golden.MINI_BATCHES.items():
                for dtype in (np.float64, np.float32):
                    name = golden.case_name(level, activation, output, cost, mode, dtype)
                    now = golden.train(network2, activation, output, cost, size, dtype, X, y)
                    if golden.digest(now) != str(saved["sha256/" + name]):
                        differ.append(name)
print(json.dumps({"blas": golden.blas_core(), "differ": differ}))
"""


def test_the_recorded_blas_kernel_gives_the_recorded_results_bit_for_bit(mnist_1200, tmp_path):
    recorded = str(SAVED["blas_core"])
    if recorded == golden.blas_core():
        pytest.skip("this CPU picks the recorded BLAS kernel: the cases above are bit for bit")
    library, _, kernel = recorded.rpartition(" ")
    if golden.blas_core().rpartition(" ")[0] != library:
        pytest.skip("another BLAS library or version than the recorded {}: only its kernel "
                    "could be chosen".format(library))
    if not library.startswith("openblas") or dispatch.supported() not in RUNS_THE_KERNEL.get(
            kernel, ()):
        pytest.skip("this CPU cannot run the recorded BLAS kernel ({})".format(recorded))
    env = same_fastnet_env(dict(os.environ, OPENBLAS_CORETYPE=kernel))
    levels = [lv for lv in RECORDED_LEVELS if lv in RUNNABLE]
    repo = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", BIT_FOR_BIT, str(repo), json.dumps(levels)],
                       env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["blas"] == recorded, out["blas"]
    assert out["differ"] == []

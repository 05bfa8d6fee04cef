"""The kernels load scipy.linalg.cython_blas without the rest of scipy.linalg, and
scipy.linalg imported afterwards (or before) is whole, with that module attached."""
import os
import subprocess
import sys

import pytest

from .helpers import same_fastnet_env

HERE = os.path.dirname(os.path.abspath(__file__))

TRAIN = """
import random
import numpy as np
random.seed(0)
import fastnet
net = fastnet.Network([4, 3, 2], random_state=1)
X = np.random.RandomState(0).rand(20, 4)
net.SGD((X, np.arange(20) % 2), 1, 5, 0.5, quiet=True)
print(net.weights[0].sum())
"""

CHECK = """
import sys
import scipy.linalg
import scipy.linalg.cython_blas
from scipy.linalg import cython_blas
assert scipy.linalg.cython_blas is sys.modules["scipy.linalg.cython_blas"] is cython_blas
assert hasattr(cython_blas, "__pyx_capi__") and "dgemm" in cython_blas.__pyx_capi__
assert abs(scipy.linalg.det([[2.0, 0.0], [0.0, 3.0]]) - 6.0) < 1e-12
"""


def run(code):
    out = subprocess.run([sys.executable, "-c", code], env=same_fastnet_env(), cwd=HERE,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_training_imports_no_scipy_linalg_package():
    out = run(TRAIN + "print(sorted(m for m in sys.modules if m.startswith('scipy.linalg')))"
              .replace("print(sorted", "import sys; print(sorted"))
    assert out.splitlines()[-1] == "['scipy.linalg.cython_blas']"


@pytest.mark.parametrize("scipy_first", [False, True])
def test_scipy_linalg_imported_later_or_before_is_whole(scipy_first):
    before = "import scipy.linalg\n" if scipy_first else ""
    first = run(before + TRAIN + CHECK).split()[0]
    # The same training with the usual import of all of scipy.linalg gives the same numbers.
    assert first == run("import scipy.linalg\n" + TRAIN).split()[0]

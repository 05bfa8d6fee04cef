"""fastnet's benchmark suite: speed and numerical agreement against the NumPy reference and peers.

Run ``python -m benchmarks`` from the repository root (``--quick`` for a smoke run,
``--json PATH`` for every raw timing, ``--markdown PATH`` for the table).  See
``benchmarks/README.md`` for the cases and what each number means.
"""
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

SCHEMA = "fastnet-benchmarks/1"


def _use_installed_fastnet():
    """Import the installed fastnet, not the repository's unbuilt ``fastnet/`` folder.

    ``python -m benchmarks`` runs in the repository root, which Python puts first on
    sys.path, so ``import fastnet`` would find the source folder, whose kernels are
    not compiled unless built in place.  Then the root is taken off sys.path (this
    package's own modules are found through its ``__path__``).  If no other fastnet
    is installed, the path is left alone and the source folder's ImportError says
    what to do.
    """
    root = Path(__file__).resolve().parents[1]
    kernels = root / "fastnet" / "_kernels"
    built = [p for suffix in importlib.machinery.EXTENSION_SUFFIXES
             for p in kernels.glob("training" + suffix)]
    if built or not kernels.is_dir() or "fastnet" in sys.modules:
        return      # built in place, no source tree here, or already imported
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != root]
    if importlib.util.find_spec("fastnet") is None:
        sys.path[:] = saved


_use_installed_fastnet()

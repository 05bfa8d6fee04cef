"""fastnet's compiled kernels (one extension module per .pyx here), built by ``pip install``.

Importing this package checks that they are built.  Python started in the
repository root imports the source folder ``fastnet/`` (the current folder
comes first on sys.path) instead of the installed package, and the source
folder holds no compiled module unless it was built in place: say so, and what
to do, instead of failing later with "cannot import name 'training'".
"""
import importlib.machinery
from pathlib import Path


def _missing_modules():
    """The modules of this folder not compiled (training, and every .pyx found here)."""
    here = Path(__file__).resolve().parent
    names = {"training"} | {p.stem for p in here.glob("*.pyx")}
    return sorted(name for name in names
                  if not any(here.joinpath(name + suffix).is_file()
                             for suffix in importlib.machinery.EXTENSION_SUFFIXES))


def _missing_kernels_message():
    root = Path(__file__).resolve().parents[2]
    if not (root / "setup.py").is_file() or not (root / "pyproject.toml").is_file():
        return ("fastnet is installed at {} without its compiled kernels (fastnet/_kernels/"
                "training.*): reinstall it, e.g. `pip install --force-reinstall fastnet`."
                .format(root / "fastnet"))
    return (
        "fastnet's compiled kernels are not built in {fastnet}: Python imported this "
        "source folder instead of an installed fastnet (Python puts the folder it starts in "
        "first on sys.path, so this happens when it starts in {root}).\n"
        "  - To use the installed fastnet (`pip install .`), run Python from any other "
        "folder, e.g. `cd ..` (the `fastnet` command, `pytest` and `python -m benchmarks` "
        "work from here too).\n"
        "  - To work on this source tree itself, build the kernels in place: "
        "`pip install -e .` (or `python setup.py build_ext --inplace`)."
    ).format(fastnet=root / "fastnet", root=root)


if _missing_modules():
    raise ImportError(_missing_kernels_message())

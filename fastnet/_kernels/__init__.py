"""fastnet's compiled kernels (one extension module per .pyx here), built by ``pip install``.

Importing this package checks that they are built.  Python started in the
repository root imports the source folder ``fastnet/`` (the current folder
comes first on sys.path) instead of the installed package, and the source
folder holds no compiled module unless it was built in place: say so, and what
to do, instead of failing later with "cannot import name 'training'".
"""
import importlib.machinery
import importlib.util
import sys
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


# The kernels cimport BLAS from scipy.linalg.cython_blas, so loading them imports that
# module, and importing it the usual way first imports all of scipy.linalg (0.2-0.3 s of
# CPU, half of it array-API and f2py modules the kernels never use).  So the finder below
# loads that one extension module on its own, just before the first kernel module needs
# it.  It is registered under its name only until scipy.linalg itself is imported: then
# the entry is taken out again, so that the package's import attaches the module to it as
# usual (a Cython module hands back the same module object when it is imported again).

_CYTHON_BLAS = "scipy.linalg.cython_blas"
_NEEDS_BLAS = ("fastnet._kernels.training", "fastnet._kernels.twins")


class _CythonBlasAlone:
    """A meta-path finder that finds nothing: it only acts as imports go by."""

    loaded = False

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name in _NEEDS_BLAS and not cls.loaded:
            cls.loaded = True
            _load_cython_blas_alone()
        elif name == "scipy.linalg":
            if sys.modules.get(_CYTHON_BLAS) is not None and cls.loaded:
                del sys.modules[_CYTHON_BLAS]
            _remove_finder()
        return None


def _load_cython_blas_alone():
    if "scipy.linalg" in sys.modules or _CYTHON_BLAS in sys.modules:
        _remove_finder()
        return
    try:
        scipy = importlib.util.find_spec("scipy")
        folder = Path(scipy.submodule_search_locations[0]) / "linalg"
        path = next(folder / ("cython_blas" + suffix)
                    for suffix in importlib.machinery.EXTENSION_SUFFIXES
                    if (folder / ("cython_blas" + suffix)).is_file())
        spec = importlib.util.spec_from_file_location(_CYTHON_BLAS, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_CYTHON_BLAS] = module
        spec.loader.exec_module(module)
    except Exception:       # any surprise: the usual import (all of scipy.linalg) runs instead
        sys.modules.pop(_CYTHON_BLAS, None)
        _remove_finder()


def _remove_finder():
    try:
        sys.meta_path.remove(_CythonBlasAlone)
    except ValueError:
        pass


if "scipy.linalg" not in sys.modules:
    sys.meta_path.insert(0, _CythonBlasAlone)

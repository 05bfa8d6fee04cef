"""Build fastnet's Cython kernels; the metadata lives in pyproject.toml.

The extension makes no NumPy C-API call (typed memoryviews and a Python-level
``import numpy`` only), so NumPy is not needed to build it; SciPy is, for the
``scipy.linalg.cython_blas`` declarations it cimports.

Rebuilds are incremental: the C file is regenerated only when what Cython
reads changes (the .pyx/.pxd sources, SciPy's cython_blas.pxd, the Cython
version or this file), and setuptools recompiles only a C file newer than the
built module in build/.  So the README's second ``pip install`` reuses the
first one's build instead of compiling again.  ``rm -rf build`` forces a full
rebuild.
"""
import hashlib
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
KERNELS = Path("fastnet", "_kernels")
PYX = KERNELS / "training.pyx"
# The tile kernels' test twins (tests, benchmarks): a module of their own, off the hot path.
TWINS_PYX = KERNELS / "twins.pyx"
# Hand-written C compiled beside the generated module: the tile kernels and their dispatch.
TILES = [str(KERNELS / "tiles.c")]
TILES_HEADERS = [str(p) for p in sorted(KERNELS.glob("tiles*.h"))]
STAMP = Path("build", "cython-inputs.sha256")


def cython_inputs_digest():
    """A digest of everything that decides the generated C file."""
    import Cython
    import scipy.linalg

    blas_pxd = Path(scipy.linalg.__file__).parent / "cython_blas.pxd"
    digest = hashlib.sha256(Cython.__version__.encode())
    sources = [p for p in HERE.joinpath(KERNELS).iterdir()
               if p.suffix in (".pyx", ".pxd", ".pxi", ".h")]
    for path in sorted(sources) + [blas_pxd, HERE / "setup.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class BuildKernels(build_ext):
    """Cythonize when needed, then compile with flags for the compiler in use."""

    def run(self):
        from Cython.Build import cythonize

        c_files = [HERE / pyx.with_suffix(".c") for pyx in (PYX, TWINS_PYX)]
        stamp = HERE / STAMP
        digest = cython_inputs_digest()
        fresh = all(c.is_file() for c in c_files) and stamp.is_file() and stamp.read_text() == digest
        if not fresh:
            cythonize([Extension("fastnet._kernels.training", [str(PYX)]),
                       Extension("fastnet._kernels.twins", [str(TWINS_PYX)])], force=True,
                      compiler_directives={"language_level": "3"})
            stamp.parent.mkdir(exist_ok=True)
            stamp.write_text(digest)
        for ext in self.extensions:
            ext.sources = [str(Path(s).with_suffix(".c")) if s.endswith(".pyx") else s
                           for s in ext.sources]
        super().run()

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            compile_args, link_args = ["/O2"], []
        else:
            # -g0: no debug info (most of a 2.5 MB module); -s: strip the symbol table too.
            compile_args = ["-O3", "-g0"]
            link_args = ["-s"] if sys.platform.startswith("linux") else []
        for ext in self.extensions:
            ext.extra_compile_args = compile_args + ext.extra_compile_args
            ext.extra_link_args = link_args + ext.extra_link_args
        super().build_extensions()


setup(
    ext_modules=[Extension("fastnet._kernels.training", [str(PYX)] + TILES,
                           include_dirs=[str(KERNELS)], depends=TILES_HEADERS),
                 Extension("fastnet._kernels.twins", [str(TWINS_PYX)] + TILES,
                           include_dirs=[str(KERNELS)], depends=TILES_HEADERS)],
    cmdclass={"build_ext": BuildKernels},
)

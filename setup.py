"""Build fastnet's Cython kernels; the metadata lives in pyproject.toml.

Each ``.pyx`` of fastnet/_kernels is its own extension module, listed in
``MODULES`` with the hand-written C it links: the tile kernels of tiles.c
for the modules that call them.  Adding a module is one line there.  The
extensions make no NumPy C-API call (typed memoryviews and a Python-level
``import numpy``); only ``columns`` includes NumPy's headers, for their
inline accessors of an array's fields (``NUMPY_HEADERS``), so NumPy is needed
to build, as SciPy is, for the ``scipy.linalg.cython_blas`` declarations the
kernels cimport.

Rebuilds are incremental: a module's C file (in build/cython) is regenerated
only when what Cython reads for it changes (its .pyx, the shared .pxd/.h
sources, SciPy's cython_blas.pxd, the Cython version or this file), and
setuptools recompiles only a C file newer than the built module.  So the
README's second ``pip install`` reuses the first one's build instead of
compiling again.  ``rm -rf build`` forces a full rebuild.
"""
import hashlib
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
KERNELS = Path("fastnet", "_kernels")
# Hand-written C compiled beside a generated module: the tile kernels and their dispatch.
TILES = [str(KERNELS / "tiles.c")]
TILES_HEADERS = [str(p) for p in sorted(KERNELS.glob("tiles*.h"))]
# The convolutional layers' kernels (chapter 6), which also call the tile kernels.
CONV = TILES + [str(KERNELS / "conv_kernels.c")]
CONV_HEADERS = [str(p) for p in sorted(KERNELS.glob("conv*.h"))]

# The compiled modules of fastnet._kernels, each with the hand-written C it links.
MODULES = {
    "training": TILES,         # the entry points: SGD epochs, gradient sums, outputs, rows
    "workspace": [],           # the buffers of one call
    "shuffle": [],             # random.shuffle, replayed
    "simd": TILES,             # what the CPU runs
    "identity": [],            # same_items, for fastnet.parameters
    "columns": [],             # the list path's columns, for fastnet.examples
    "twins": TILES,            # the tile kernels and BLAS wrappers one by one, for tests
    "conv": CONV,              # convolution and pooling, for fastnet.network3
}

GENERATED = Path("build", "cython")

# The modules that include NumPy's headers (ndarraytypes.h's accessors only, no
# C-API call, so no import_array): ``columns`` reads 50,000 arrays' addresses.
NUMPY_HEADERS = {"columns"}


def include_dirs(name):
    dirs = [str(KERNELS)]
    if name in NUMPY_HEADERS:
        import numpy
        dirs.append(numpy.get_include())
    return dirs


def define_macros(name):
    # The API of NumPy 1.7 on: the accessors are inline functions, not macros over
    # the deprecated direct fields.
    return [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")] if name in NUMPY_HEADERS else []


def shared_inputs_digest():
    """A digest of what every module's generated C depends on besides its own .pyx."""
    import Cython
    import scipy.linalg

    blas_pxd = Path(scipy.linalg.__file__).parent / "cython_blas.pxd"
    digest = hashlib.sha256(Cython.__version__.encode())
    sources = [p for p in HERE.joinpath(KERNELS).iterdir() if p.suffix in (".pxd", ".pxi", ".h")]
    for path in sorted(sources) + [blas_pxd, HERE / "setup.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest


def module_digest(shared, name):
    digest = shared.copy()
    digest.update((HERE / KERNELS / (name + ".pyx")).read_bytes())
    return digest.hexdigest()


def generated_c(name):
    return GENERATED / KERNELS / (name + ".c")


class BuildKernels(build_ext):
    """Cythonize the modules that need it, then compile with flags for the compiler in use."""

    def run(self):
        from Cython.Build import cythonize

        shared = shared_inputs_digest()
        for name in MODULES:
            c_file, stamp = HERE / generated_c(name), HERE / GENERATED / (name + ".sha256")
            digest = module_digest(shared, name)
            if not (c_file.is_file() and stamp.is_file() and stamp.read_text() == digest):
                cythonize([Extension("fastnet._kernels." + name, [str(KERNELS / (name + ".pyx"))],
                                     include_dirs=include_dirs(name))],
                          force=True, build_dir=str(GENERATED),
                          compiler_directives={"language_level": "3"})
                stamp.write_text(digest)
        for ext in self.extensions:
            ext.sources = [str(generated_c(Path(s).stem)) if s.endswith(".pyx") else s
                           for s in ext.sources]
        super().run()

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            compile_args, link_args = ["/O2"], []
        else:
            # -g0: no debug info (most of a large module); -s: strip the symbol table too.
            compile_args = ["-O3", "-g0"]
            link_args = ["-s"] if sys.platform.startswith("linux") else []
        for ext in self.extensions:
            ext.extra_compile_args = compile_args + ext.extra_compile_args
            ext.extra_link_args = link_args + ext.extra_link_args
        super().build_extensions()


setup(
    ext_modules=[Extension("fastnet._kernels." + name, [str(KERNELS / (name + ".pyx"))] + c,
                           include_dirs=include_dirs(name),
                           define_macros=define_macros(name),
                           depends=(TILES_HEADERS + (CONV_HEADERS if name == "conv" else [])
                                    if c else []))
                 for name, c in MODULES.items()],
    cmdclass={"build_ext": BuildKernels},
)

"""Build fastnet's Cython kernels; the metadata lives in pyproject.toml."""
import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

kernels = [
    Extension(
        "fastnet._kernels.training",
        ["fastnet/_kernels/training.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O3"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
]

setup(ext_modules=cythonize(kernels, compiler_directives={"language_level": "3"}))

# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""What tiles.c finds the CPU runs.

Which level is in use is fastnet.dispatch's: it passes the level to every
kernel call (each compiled module links its own copy of tiles.c, so a level
held in C would be one per module).
"""
from ._tiles cimport fastnet_cpu_signature, fastnet_simd_supported


def supported():
    """The best tiles.c level this CPU supports: 0 none (BLAS only), 1 AVX2+FMA, 2 AVX-512."""
    return fastnet_simd_supported()


def cpu():
    """CPUID's (vendor, display family, display model): ("AuthenticAMD", 23, 49) for a Zen 2
    EPYC; ("", 0, 0) on CPUs other than x86-64."""
    cdef char vendor[13]
    cdef int family, model
    fastnet_cpu_signature(vendor, &family, &model)
    return vendor.decode("ascii", "replace"), family, model

"""fastnet: fast, faithful CPU training of the sigmoid networks of Nielsen's network2.py.

``from fastnet import network2`` replaces ``import network2``; the same names
are available here at the top level.
"""
# First: in an unbuilt source tree this raises an ImportError that says what to do.
from fastnet import _kernels  # noqa: F401
from fastnet.network2 import (CrossEntropyCost, LogLikelihoodCost, Network, QuadraticCost,
                              load, sigmoid, sigmoid_prime, vectorized_result)

__version__ = "0.1.0"

__all__ = ["Network", "CrossEntropyCost", "QuadraticCost", "LogLikelihoodCost", "load",
           "vectorized_result", "sigmoid", "sigmoid_prime"]

"""fastnet: fast, faithful CPU training of the sigmoid networks of Nielsen's network2.py.

``from fastnet import network2`` replaces ``import network2``; the same names
are available here at the top level.  They are imported on first use, so that
``import fastnet.cli`` (the command line) starts in milliseconds and a Ctrl-C
at startup meets the command's handler instead of an import of NumPy.
"""
import importlib
import sys


def _started_as_command():
    """True while ``python -m fastnet ...`` imports this package, before its __main__ runs."""
    argv = getattr(sys, "orig_argv", None)
    if argv is not None and "-m" in argv[:-1]:
        target = argv[argv.index("-m") + 1]
        if target != "fastnet" and not target.startswith("fastnet."):
            return False
    return sys.argv[:1] == ["-m"]


# First, and cheap: in an unbuilt source tree this raises an ImportError that says what to do.
try:
    from fastnet import _kernels  # noqa: F401
except ImportError as error:
    if not _started_as_command():
        raise
    # A command prints its error, not a traceback of the import that found it.
    sys.exit(str(error))

__version__ = "0.1.0"

__all__ = ["Network", "CrossEntropyCost", "QuadraticCost", "LogLikelihoodCost", "load",
           "vectorized_result", "sigmoid", "sigmoid_prime"]


def __getattr__(name):
    if name in __all__:
        from fastnet import network2
        return getattr(network2, name)
    if name in ("network", "network2", "datasets", "mnist_loader", "speed", "files", "threads",
                "reference", "cli", "sweep", "remedies", "sklearn", "activations", "dispatch",
                "network3", "network3_reference", "convolution"):
        return importlib.import_module("fastnet." + name)
    raise AttributeError("module 'fastnet' has no attribute {!r}".format(name))


def __dir__():
    return sorted(set(globals()) | set(__all__))

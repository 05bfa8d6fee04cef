"""Bounds on a network that the API and the command line share.

Kept free of NumPy, so that the command line can check its arguments
before it imports anything heavy.
"""

# Weights and biases a network may have: 160 MB per float64 copy, and training
# keeps several copies (parameters, gradients, workspaces).  A larger network
# would fail deep in NumPy with a MemoryError, or take the machine's memory.
MAX_PARAMETERS = 20_000_000


def parameter_count(sizes):
    """The number of weights and biases of a network of layer widths ``sizes``."""
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))

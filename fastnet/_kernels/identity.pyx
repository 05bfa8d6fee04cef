# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The identity test that fastnet.parameters runs before every per-example call."""


def same_items(list a, list b):
    """Whether lists a and b hold the same objects in the same order (by identity).

    fastnet.parameters asks this before every per-example call, to know that
    net.weights/net.biases still hold its views; at a few items, a Python
    expression for it costs about as much as the call's arithmetic.
    """
    cdef Py_ssize_t i, n = len(a)
    if len(b) != n:
        return False
    for i in range(n):
        if <object> a[i] is not <object> b[i]:
            return False
    return True

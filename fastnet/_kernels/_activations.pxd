# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The activations and the output error, elementwise over blocks of rows.

Each activation is a pair: the forward function f of z, and its derivative
written in terms of the activation a = f(z) itself, which is what backprop
keeps (so no buffer of z values is needed):

    sigmoid: sigma'(z) = a (1 - a)     tanh: 1 - a^2     ReLU: 1 if a > 0 else 0

The derivative of softmax is not elementwise; with the log-likelihood cost
the output error is simply a - y (output_error), and softmax is never a
hidden layer's activation.
"""
from cython cimport floating
from libc.math cimport exp, expf, fabs, fabsf, tanh, tanhf

from .training cimport Activation, Cost, QUADRATIC, RELU, SIGMOID, TANH


cdef inline floating sigmoid(floating z) noexcept nogil:
    """1 / (1 + exp(-z)), in a form whose exp never overflows.

    With e = exp(-|z|):  sigmoid(z) = 1/(1+e) for z >= 0 and e/(1+e) for z < 0.
    Both sides are computed and one is selected, which compiles without a
    branch: the sign of z is random, and a mispredicted branch per neuron
    cost more than the arithmetic.
    """
    cdef floating e, s
    if floating is float:
        e = expf(-fabsf(z))
    else:
        e = exp(-fabs(z))
    s = 1 / (1 + e)
    return s if z >= 0 else e * s


cdef inline floating tanh_forward(floating z) noexcept nogil:
    if floating is float:
        return tanhf(z)
    else:
        return tanh(z)


cdef inline floating relu_forward(floating z) noexcept nogil:
    return z if z > 0 else 0


# The derivatives are returned in double: Cython writes the 1 in 1 - a as 1.0,
# so a float32 network takes delta * a (1 - a) in double and rounds once, and
# the BLAS path's float32 results depend on that rounding (tests/test_golden.py
# holds them to it).  The tile kernels take the sigmoid's slope in the
# network's own precision, vectorised: times_sigmoid_slope.

cdef inline double sigmoid_backward(floating a) noexcept nogil:
    return a * (1 - a)


cdef inline double tanh_backward(floating a) noexcept nogil:
    return 1 - a * a


cdef inline double relu_backward(floating a) noexcept nogil:
    return 1 if a > 0 else 0


cdef inline void softmax_rows(floating* z, const floating* biases, Py_ssize_t m,
                       Py_ssize_t n) noexcept nogil:
    """Each row of z <- softmax(z + b): exp(z_j - max z) / sum_k exp(z_k - max z).

    Subtracting the row's largest value keeps exp from overflowing and does
    not change the result.
    """
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating largest, total
    for i in range(m):
        row = z + i * n
        for j in range(n):
            row[j] = row[j] + biases[j]
        largest = row[0]
        for j in range(1, n):
            if row[j] > largest:
                largest = row[j]
        total = 0
        for j in range(n):
            if floating is float:
                row[j] = expf(row[j] - largest)
            else:
                row[j] = exp(row[j] - largest)
            total = total + row[j]
        for j in range(n):
            row[j] = row[j] / total


cdef inline void activate(Activation kind, floating* z, const floating* biases, Py_ssize_t m,
                   Py_ssize_t n) noexcept nogil:
    """z <- f(z + b) over a block of m rows of n neurons (the forward half of each pair).

    One loop per activation, chosen once per block, so each stays a plain
    loop the compiler can vectorise.
    """
    cdef Py_ssize_t i, j
    if kind == SIGMOID:
        for i in range(m):
            for j in range(n):
                z[i * n + j] = sigmoid(z[i * n + j] + biases[j])
    elif kind == TANH:
        for i in range(m):
            for j in range(n):
                z[i * n + j] = tanh_forward(z[i * n + j] + biases[j])
    elif kind == RELU:
        for i in range(m):
            for j in range(n):
                z[i * n + j] = relu_forward(z[i * n + j] + biases[j])
    else:
        softmax_rows(z, biases, m, n)


cdef inline void times_derivative(Activation kind, floating* deltas, const floating* a,
                           Py_ssize_t count) noexcept nogil:
    """deltas *= f'(z), from the activations a = f(z) (the backward half of each pair)."""
    cdef Py_ssize_t i
    if kind == SIGMOID:
        for i in range(count):
            deltas[i] = deltas[i] * sigmoid_backward(a[i])
    elif kind == TANH:
        for i in range(count):
            deltas[i] = deltas[i] * tanh_backward(a[i])
    else:
        for i in range(count):
            deltas[i] = deltas[i] * relu_backward(a[i])


cdef inline void output_error(Cost cost, const floating* a, const floating* targets,
                       Py_ssize_t count, floating* deltas) noexcept nogil:
    """delta^L = a - y (cross-entropy; log-likelihood after softmax), times
    sigma'(z) = a (1 - a) for the quadratic cost."""
    cdef Py_ssize_t i
    cdef floating d
    for i in range(count):
        d = a[i] - targets[i]
        if cost == QUADRATIC:
            d = d * a[i] * (1 - a[i])
        deltas[i] = d

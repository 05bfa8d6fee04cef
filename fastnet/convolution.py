"""Convolution and max-pooling for ``fastnet.network3``: the kernel contract, in NumPy.

``fastnet.network3`` calls four functions and nothing else for its
convolutional layers.  Compiled versions live in ``fastnet._kernels.conv``
when that module is built; the NumPy versions here compute the same thing
and are used otherwise (and on CPUs without the compiled kernels).
``kernels()`` says which set is in use.

The contract (every array C-contiguous and of one dtype, float32 or float64;
outputs are preallocated by the caller and overwritten):

- ``conv_forward(x, w, z)``: x (m, C, H, W), w (F, C, fh, fw) and
  z (m, F, H-fh+1, W-fw+1).  A true convolution, as Theano's ``conv2d``:
  z[n, f, i, j] = sum over c, p, q of x[n, c, i+p, j+q] * w[f, c, fh-1-p, fw-1-q].
- ``conv_backward(x, w, dz, dw, dx)``: dw gets d(cost)/dw summed over the
  mini-batch; dx gets d(cost)/dx, or is None to skip it (the first layer).
- ``pool_forward(z, b, ph, pw, act, a, where)``: a = act(max over each
  non-overlapping ph x pw window + b[f]), shape (m, F, H//ph, W//pw) (rows and
  columns that do not fill a window are dropped); ``where`` (int32) is the
  index p*pw + q of each window's first maximum in row-major order.
- ``pool_backward(da, a, where, act, dz, db, ph=0, pw=0)``: delta = da * act'(a),
  with the derivative read off the activation a; db = delta summed over n, i, j; dz
  is zero except at each window's maximum, which gets delta.  Without ``ph``, ``pw``
  the window size is read off the shapes as (H // rows, W // cols), which is the pool
  size unless the dropped edge has ``rows`` (or ``cols``) entries or more (an 11-row
  convolution pooled by 4 into 2 rows reads as 5): ``fastnet.network3`` always gives them.

Activation codes: LINEAR=0, SIGMOID=1, TANH=2, RELU=3.

The NumPy forms are the textbook fast ones: the convolution unrolls the input
into columns (im2col, a strided view copied once) so that one matrix product
per example does the work in BLAS; pooling compares the ph*pw strided views of
each window's entries instead of looping over windows.
"""
import os
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

LINEAR, SIGMOID, TANH, RELU = 0, 1, 2, 3
ACTIVATION_CODES = {"linear": LINEAR, "sigmoid": SIGMOID, "tanh": TANH, "ReLU": RELU}

# FASTNET_CONV=numpy forces the NumPy kernels even when the compiled ones are built (for
# comparing the two, or working round a problem in the compiled ones).
CONV_VARIABLE = "FASTNET_CONV"

# conv_backward's filter gradient is one BLAS product from this many entries per column
# (input maps x filter area) up, and one per example below (measured on chapter 6's layers:
# 25 entries favour the per-example products, 500 the single one).
SINGLE_PRODUCT_ENTRIES = 100


#### Convolution

def _columns(x, fh, fw):
    """A read-only strided view (m, C, fh, fw, oh, ow) of x: entry [n, c, p, q, i, j] is
    x[n, c, i+p, j+q].  Copying it gives im2col's matrix without a Python loop."""
    m, c, h, w = x.shape
    sn, sc, sh, sw = x.strides
    return as_strided(x, shape=(m, c, fh, fw, h - fh + 1, w - fw + 1),
                      strides=(sn, sc, sh, sw, sh, sw), writeable=False)


def _flipped_matrix(w):
    """The filters rotated by 180 degrees, as an (F, C*fh*fw) matrix: a true convolution is
    a cross-correlation with the rotated filter, which im2col's product computes."""
    f = w.shape[0]
    return np.ascontiguousarray(w[:, :, ::-1, ::-1]).reshape(f, -1)


class _Scratch(threading.local):
    """Work arrays reused from call to call: network3 calls these thousands of times per
    epoch with the same few shapes, and allocating megabytes per call would cost as much
    as the arithmetic on small images.  One set per thread, so that two networks trained
    in two threads never share a work array."""

    def __init__(self):
        self.arrays = {}

    def get(self, name, shape, dtype):
        key = (name, shape, np.dtype(dtype))
        a = self.arrays.get(key)
        if a is None:
            if len(self.arrays) > 64:     # many shapes seen (many different nets): start afresh
                self.arrays.clear()
            a = self.arrays[key] = np.empty(shape, dtype=dtype)
        return a


_scratch = _Scratch()


def conv_forward(x, w, z):
    """z = the valid-mode true convolution of the images x with the filters w."""
    m, c, h, wd = x.shape
    f, _, fh, fw = w.shape
    oh, ow = h - fh + 1, wd - fw + 1
    cols = _scratch.get("cols", (m, c * fh * fw, oh * ow), x.dtype)
    np.copyto(cols.reshape(m, c, fh, fw, oh, ow), _columns(x, fh, fw))
    # One (F, K) x (K, oh*ow) product per example, written straight into z's layout.
    np.matmul(_flipped_matrix(w), cols, out=z.reshape(m, f, oh * ow))


def conv_backward(x, w, dz, dw, dx):
    """dw = d(cost)/dw summed over the examples; dx = d(cost)/dx unless dx is None."""
    m, c, h, wd = x.shape
    f, _, fh, fw = w.shape
    oh, ow = h - fh + 1, wd - fw + 1
    k = c * fh * fw
    # The gradient of the rotated filters: sum over examples of delta[n] . cols[n]^T.
    if k >= SINGLE_PRODUCT_ENTRIES:
        # As one product: the columns laid out (K, m, P) and delta (F, m, P), so that the sum
        # over the examples is part of the product's inner dimension (one large BLAS call).
        cols = _scratch.get("cols_by_entry", (k, m, oh * ow), x.dtype)
        np.copyto(cols.reshape(c, fh, fw, m, oh, ow),
                  _columns(x, fh, fw).transpose(1, 2, 3, 0, 4, 5))
        delta = _scratch.get("delta_by_filter", (f, m, oh * ow), x.dtype)
        np.copyto(delta, dz.reshape(m, f, oh * ow).transpose(1, 0, 2))
        flipped = _scratch.get("dw_flipped", (f, k), x.dtype)
        np.matmul(delta.reshape(f, m * oh * ow), cols.reshape(k, m * oh * ow).T, out=flipped)
    else:
        # Few entries per column (a first layer's 1 x 5 x 5): the transposing copy above costs
        # more than it saves, so one product per example, then their sum.
        cols = _scratch.get("cols", (m, k, oh * ow), x.dtype)
        np.copyto(cols.reshape(m, c, fh, fw, oh, ow), _columns(x, fh, fw))
        per_example = _scratch.get("dw_per_example", (m, f, k), x.dtype)
        np.matmul(dz.reshape(m, f, oh * ow), cols.transpose(0, 2, 1), out=per_example)
        flipped = per_example.sum(axis=0)
    np.copyto(dw, flipped.reshape(f, c, fh, fw)[:, :, ::-1, ::-1])
    if dx is None:
        return
    # dx[n, c, i+p, j+q] += (rotated filters^T . delta)[n, (c, p, q), (i, j)] for every
    # offset (col2im).  On rows flattened to h*w, the entries of one offset are a contiguous
    # run of oh*w if delta is widened to w columns with zeros: each of the fh*fw adds then
    # runs over long rows instead of ow-long pieces, and the zeros fall harmlessly into the
    # columns the wrap-around reaches (and into fw-1 spare entries past the end).
    wide = _scratch.get("dz_wide", (m, f, oh, wd), x.dtype)
    wide[:, :, :, ow:] = 0
    wide[:, :, :, :ow] = dz
    dcols = _scratch.get("dcols", (m, k, oh * wd), x.dtype)
    np.matmul(_flipped_matrix(w).T, wide.reshape(m, f, oh * wd), out=dcols)
    dcols = dcols.reshape(m, c, fh, fw, oh * wd)
    flat = _scratch.get("dx_flat", (m, c, h * wd + fw - 1), x.dtype)
    flat.fill(0)
    for p in range(fh):
        for q in range(fw):
            start = p * wd + q
            flat[:, :, start:start + oh * wd] += dcols[:, :, p, q]
    np.copyto(dx, flat[:, :, :h * wd].reshape(m, c, h, wd))


#### Max-pooling, bias and activation

def _windows(z, ph, pw):
    """A view (m, F, rows, ph, cols, pw) of the entries of z that fill whole windows."""
    m, f, h, w = z.shape
    rows, cols = h // ph, w // pw
    return z[:, :, :rows * ph, :cols * pw].reshape(m, f, rows, ph, cols, pw)


def apply_activation(act, a):
    """a = act(a), in place, for an activation code."""
    if act == SIGMOID:
        # exp(-a) overflows to inf for very negative a (below -88 in float32); 1/(1+inf) is
        # then the right limit 0, so the warning says nothing useful.
        with np.errstate(over="ignore"):
            np.negative(a, out=a)
            np.exp(a, out=a)
        a += 1
        np.reciprocal(a, out=a)
    elif act == TANH:
        np.tanh(a, out=a)
    elif act == RELU:
        np.maximum(a, 0, out=a)
    elif act != LINEAR:
        raise ValueError("unknown activation code {!r}".format(act))


def activation_derivative(act, a, out):
    """out = act'(z) read off a = act(z): sigmoid a(1-a), tanh 1-a^2, ReLU [a>0], linear 1."""
    if act == SIGMOID:
        np.subtract(1, a, out=out)
        out *= a
    elif act == TANH:
        np.multiply(a, a, out=out)
        np.subtract(1, out, out=out)
    elif act == RELU:
        np.greater(a, 0, out=out)
    elif act == LINEAR:
        out.fill(1)
    else:
        raise ValueError("unknown activation code {!r}".format(act))


def pool_forward(z, b, ph, pw, act, a, where):
    """a = act(max of each window of z + b[f]); where = each window's first maximum."""
    win = _windows(z, ph, pw)
    views = [win[:, :, :, k // pw, :, k % pw] for k in range(ph * pw)]
    np.copyto(a, views[0])
    for view in views[1:]:
        np.maximum(a, view, out=a)
    # Marking the entries equal to the maximum from the last to the first leaves each
    # window's first maximum in row-major order, as np.argmax would name it.
    where.fill(ph * pw - 1)
    equal = _scratch.get("equal", a.shape, np.bool_)
    for k in range(ph * pw - 2, -1, -1):
        np.equal(views[k], a, out=equal)
        np.copyto(where, k, where=equal)
    a += b[None, :, None, None]
    apply_activation(act, a)


def pool_backward(da, a, where, act, dz, db, ph=0, pw=0):
    """db and dz from da = d(cost)/da: delta = da * act'(a) goes to each window's maximum.

    Without ``ph``, ``pw`` the window size is read off the shapes (H // rows,
    W // cols), which is the one pooled with unless an edge of ``rows`` or more
    entries was dropped: give them when it may have been.
    """
    delta = _scratch.get("delta", a.shape, a.dtype)
    activation_derivative(act, a, delta)
    delta *= da
    np.sum(delta, axis=(0, 2, 3), out=db)
    if ph <= 0 or pw <= 0:
        ph, pw = pool_from_shapes(dz.shape, a.shape)
    if dz.shape[2] % ph or dz.shape[3] % pw:
        dz.fill(0)        # the dropped edge rows and columns get no gradient
    win = _windows(dz, ph, pw)
    chosen = _scratch.get("chosen", a.shape, np.bool_)
    for k in range(ph * pw):
        np.equal(where, k, out=chosen)
        np.multiply(delta, chosen, out=win[:, :, :, k // pw, :, k % pw])


def pool_from_shapes(z_shape, a_shape):
    """The window size the contract's pool_backward infers: (H // rows, W // cols)."""
    return z_shape[2] // a_shape[2], z_shape[3] // a_shape[3]


#### Which kernels

class NumPyKernels:
    """The four functions above, as a set (what ``kernels()`` returns without the compiled ones)."""
    name = "numpy"
    conv_forward = staticmethod(conv_forward)
    conv_backward = staticmethod(conv_backward)
    pool_forward = staticmethod(pool_forward)
    pool_backward = staticmethod(pool_backward)


def compiled():
    """``fastnet._kernels.conv`` if it is built, else None."""
    try:
        from fastnet._kernels import conv
    except ImportError:
        return None
    return conv


def kernels():
    """The convolution kernels in use: the compiled module if it is built (and
    FASTNET_CONV is not "numpy"), else the NumPy ones here."""
    if os.environ.get(CONV_VARIABLE, "").strip().lower() != "numpy":
        module = compiled()
        if module is not None and all(hasattr(module, name) for name in (
                "conv_forward", "conv_backward", "pool_forward", "pool_backward")):
            return module
    return NumPyKernels

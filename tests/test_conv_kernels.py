"""The compiled kernels of chapter 6's convolutional layers (fastnet._kernels.conv).

Each kernel is held to a plain NumPy statement of its contract written out below (a
loop over the filter's offsets, a loop over the pooling window's places), at every
level this CPU runs (fastnet.dispatch's "blas", "avx2", "avx512") and in both
precisions: float64 to round-off (ROUND_OFF, relative to the largest value
compared), float32 within its precision (SINGLE).  The shapes hit the kernels'
edges: odd sizes, fh != fw, ph != pw, windows that drop rows and columns, one and
many channels, filter counts off every vector width and register tile, mini-batches
of 1 to 13.  The gradients are also held to finite differences, ties in a pooling
window to its first largest entry, and real MNIST digits go through as images.
"""
import numpy as np
import pytest

from fastnet import dispatch
from fastnet._kernels import conv

from .helpers import first_training_images, need_mnist, runnable

ROUND_OFF = 1e-13      # float64: measured worst about 2e-15 relative to the largest value
SINGLE = 2e-5          # float32: measured worst about 1e-6


LEVELS = [runnable(level) for level in dispatch.LEVELS]
DTYPES = [np.float64, np.float32]
ACTIVATIONS = {conv.LINEAR: "linear", conv.SIGMOID: "sigmoid", conv.TANH: "tanh",
               conv.RELU: "relu"}


#### The contract, in NumPy (float64 throughout)

def convolution(x, w):
    """z[n,f,i,j] = sum over c, p, q of x[n,c,i+p,j+q] * w[f,c,fh-1-p,fw-1-q]."""
    m, _, H, W = x.shape
    F, _, fh, fw = w.shape
    oh, ow = H - fh + 1, W - fw + 1
    z = np.zeros((m, F, oh, ow))
    for p in range(fh):
        for q in range(fw):
            z += np.einsum("ncij,fc->nfij", x[:, :, p:p + oh, q:q + ow], w[:, :, fh - 1 - p, fw - 1 - q])
    return z


def convolution_gradients(x, w, dz):
    """d(cost)/dw (summed over the images) and d(cost)/dx, from d(cost)/dz, by the chain rule
    term by term: z's entry (n, f, i, j) took x[n,c,i+p,j+q] times w[f,c,fh-1-p,fw-1-q]."""
    F, _, fh, fw = w.shape
    oh, ow = dz.shape[2:]
    dw = np.zeros(w.shape)
    dx = np.zeros(x.shape)
    for p in range(fh):
        for q in range(fw):
            dw[:, :, fh - 1 - p, fw - 1 - q] = np.einsum("nfij,ncij->fc", dz, x[:, :, p:p + oh, q:q + ow])
            dx[:, :, p:p + oh, q:q + ow] += np.einsum("nfij,fc->ncij", dz, w[:, :, fh - 1 - p, fw - 1 - q])
    return dw, dx


def activation(act, z):
    if act == conv.SIGMOID:
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-z))
    if act == conv.TANH:
        return np.tanh(z)
    if act == conv.RELU:
        return np.where(z > 0, z, 0.0)
    return z


def slope(act, a):
    """f'(z) from a = f(z)."""
    if act == conv.SIGMOID:
        return a * (1 - a)
    if act == conv.TANH:
        return 1 - a * a
    if act == conv.RELU:
        return (a > 0).astype(float)
    return np.ones_like(a)


def pooling(z, b, ph, pw, act):
    """a = act(max over each window + b[f]) and where = the place p*pw+q of the window's first
    largest entry, one place at a time (a later place wins only if strictly larger)."""
    m, F, H, W = z.shape
    oh, ow = H // ph, W // pw
    best = np.full((m, F, oh, ow), -np.inf)
    where = np.zeros((m, F, oh, ow), dtype=np.int32)
    for p in range(ph):
        for q in range(pw):
            entry = z[:, :, p:oh * ph:ph, q:ow * pw:pw]
            larger = entry > best
            best = np.where(larger, entry, best)
            where = np.where(larger, p * pw + q, where).astype(np.int32)
    return activation(act, best + b[None, :, None, None]), where


def pooling_gradients(da, a, where, act, z_shape, ph, pw):
    delta = da * slope(act, a)
    dz = np.zeros(z_shape)
    oh, ow = a.shape[2:]
    for p in range(ph):
        for q in range(pw):
            dz[:, :, p:oh * ph:ph, q:ow * pw:pw] = np.where(where == p * pw + q, delta, 0.0)
    return dz, delta.sum(axis=(0, 2, 3))


#### Helpers

def relative_error(got, want):
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def tolerance(dtype):
    return ROUND_OFF if dtype == np.float64 else SINGLE


def garbage(shape, dtype):
    """An output buffer full of NaN: anything a kernel does not overwrite shows."""
    return np.full(shape, np.nan, dtype=dtype)


def run_conv(level, x, w, dz, dtype, with_dx=True):
    x, w, dz = (np.ascontiguousarray(v, dtype=dtype) for v in (x, w, dz))
    z = garbage(dz.shape, dtype)
    dw = garbage(w.shape, dtype)
    dx = garbage(x.shape, dtype) if with_dx else None
    conv.check_conv_shapes(x, w, z, dz, dw, dx)
    with dispatch.using(level):
        conv.conv_forward(x, w, z)
        conv.conv_backward(x, w, dz, dw, dx)
    return z, dw, dx


CONV_SHAPES = [
    # m, C, H, W, F, fh, fw
    (10, 1, 28, 28, 20, 5, 5),      # the book's first layer
    (10, 20, 12, 12, 40, 5, 5),     # its second
    (1, 1, 5, 5, 1, 5, 5),          # one output
    (3, 2, 7, 9, 3, 3, 2),          # fh != fw, odd sizes
    (13, 3, 11, 6, 17, 2, 4),       # 17 filters (off every vector and tile), 13 images
    (2, 5, 9, 13, 7, 1, 3),         # a one-row filter
    (4, 1, 30, 31, 6, 7, 1),        # a one-column filter, one channel
    (7, 4, 6, 6, 11, 1, 1),         # 1 x 1 filters
    (5, 20, 12, 12, 40, 3, 3),      # wide outputs in float64 (100 outputs: 12 vectors and a rest)
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("shape", CONV_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_convolution_matches_numpy(level, dtype, shape):
    m, C, H, W, F, fh, fw = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((m, C, H, W))
    w = rng.standard_normal((F, C, fh, fw))
    dz = rng.standard_normal((m, F, H - fh + 1, W - fw + 1))
    z, dw, dx = run_conv(level, x, w, dz, dtype)
    want_dw, want_dx = convolution_gradients(x, w, dz)
    assert relative_error(z, convolution(x, w)) <= tolerance(dtype)
    assert relative_error(dw, want_dw) <= tolerance(dtype)
    assert relative_error(dx, want_dx) <= tolerance(dtype)
    # Without dx (a first layer), the same dw.
    _, dw_alone, _ = run_conv(level, x, w, dz, dtype, with_dx=False)
    assert relative_error(dw_alone, want_dw) <= tolerance(dtype)


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_agrees_with_blas(level):
    """The vector levels and BLAS differ only in the order of their sums."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((10, 20, 12, 12))
    w = rng.standard_normal((40, 20, 5, 5))
    dz = rng.standard_normal((10, 40, 8, 8))
    got = run_conv(level, x, w, dz, np.float64)
    blas = run_conv("blas", x, w, dz, np.float64)
    for mine, theirs in zip(got, blas):
        assert relative_error(mine, theirs) <= ROUND_OFF


@pytest.mark.mnist
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_mnist_digits_through_both_layers(level, dtype):
    """Real digits through the book's two conv-pool layers, forward and back."""
    need_mnist()
    images, _ = first_training_images(13)
    rng = np.random.default_rng(13)
    x = images.reshape(13, 1, 28, 28)
    w1 = rng.normal(0, 0.2, (20, 1, 5, 5))
    b1 = rng.standard_normal(20)
    w2 = rng.normal(0, 0.05, (40, 20, 5, 5))
    b2 = rng.standard_normal(40)
    tol = tolerance(dtype)

    z1, _, _ = run_conv(level, x, w1, np.zeros((13, 20, 24, 24)), dtype)
    want_z1 = convolution(x, w1)
    assert relative_error(z1, want_z1) <= tol
    a1, where1 = pool_with(level, want_z1, b1, 2, 2, conv.SIGMOID, dtype)
    want_a1, want_where1 = pooling(want_z1, b1, 2, 2, conv.SIGMOID)
    assert relative_error(a1, want_a1) <= tol
    if dtype == np.float64:
        assert np.array_equal(where1, want_where1)

    dz2 = rng.standard_normal((13, 40, 8, 8))
    z2, dw2, dx2 = run_conv(level, want_a1, w2, dz2, dtype)
    want_dw2, want_dx2 = convolution_gradients(want_a1, w2, dz2)
    assert relative_error(z2, convolution(want_a1, w2)) <= tol
    assert relative_error(dw2, want_dw2) <= tol
    assert relative_error(dx2, want_dx2) <= tol

    dz1, db1 = unpool_with(level, want_dx2, want_a1, want_where1, conv.SIGMOID, x.shape[:1] + (20, 24, 24),
                           2, 2, dtype)
    want_dz1, want_db1 = pooling_gradients(want_dx2, want_a1, want_where1, conv.SIGMOID,
                                           (13, 20, 24, 24), 2, 2)
    assert np.max(np.abs(dz1 - want_dz1)) <= tol * np.max(np.abs(want_dx2))
    assert np.max(np.abs(db1 - want_db1)) <= tol * np.abs(want_dx2).sum(axis=(0, 2, 3)).max()
    _, dw1, _ = run_conv(level, x, w1, want_dz1, dtype, with_dx=False)
    assert relative_error(dw1, convolution_gradients(x, w1, want_dz1)[0]) <= tol


#### Pooling

def pool_with(level, z, b, ph, pw, act, dtype):
    z, b = np.ascontiguousarray(z, dtype=dtype), np.ascontiguousarray(b, dtype=dtype)
    shape = z.shape[:2] + (z.shape[2] // ph, z.shape[3] // pw)
    a = garbage(shape, dtype)
    where = np.full(shape, -7, dtype=np.int32)
    conv.check_pool_shapes(z, b, ph, pw, act, a, where)
    with dispatch.using(level):
        conv.pool_forward(z, b, ph, pw, act, a, where)
    return a, where


def unpool_with(level, da, a, where, act, z_shape, ph, pw, dtype, give_pool=True):
    da, a = np.ascontiguousarray(da, dtype=dtype), np.ascontiguousarray(a, dtype=dtype)
    where = np.ascontiguousarray(where, dtype=np.int32)
    dz = garbage(z_shape, dtype)
    db = garbage(z_shape[1:2], dtype)
    conv.check_pool_shapes(dz, db, ph, pw, act, a, where, da, dz, db)
    with dispatch.using(level):
        if give_pool:
            conv.pool_backward(da, a, where, act, dz, db, ph, pw)
        else:
            conv.pool_backward(da, a, where, act, dz, db)
    return dz, db


POOL_SHAPES = [
    # m, F, H, W, ph, pw
    (10, 20, 24, 24, 2, 2),     # the book's first layer
    (10, 40, 8, 8, 2, 2),       # its second
    (1, 1, 2, 2, 2, 2),         # one window
    (3, 5, 7, 9, 2, 2),         # a row and a column dropped
    (2, 17, 40, 38, 2, 2),      # rows of 19 windows: a vector and a rest in float32
    (13, 3, 9, 10, 3, 2),       # ph != pw
    (4, 6, 11, 7, 2, 3),        # ph != pw, both dropping edges
    (2, 3, 6, 6, 3, 3),
    (5, 2, 5, 5, 1, 1),         # no pooling at all
    (2, 4, 4, 12, 4, 5),        # wider windows than tall, two columns dropped
    (3, 4, 6, 4, 2, 2),         # rows of 2 windows: a vector spans many rows
    (2, 3, 4, 34, 2, 2),        # rows of 17 windows: a vector and one more in float32
    (2, 3, 5, 35, 2, 2),        # the same with a row and a column dropped
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("act", list(ACTIVATIONS), ids=list(ACTIVATIONS.values()))
@pytest.mark.parametrize("shape", POOL_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_pooling_matches_numpy(level, dtype, act, shape):
    m, F, H, W, ph, pw = shape
    rng = np.random.default_rng(sum(shape) + act)
    z = rng.standard_normal((m, F, H, W)) * 3
    b = rng.standard_normal(F)
    a, where = pool_with(level, z, b, ph, pw, act, dtype)
    want_a, want_where = pooling(z.astype(dtype).astype(np.float64), b.astype(dtype), ph, pw, act)
    assert relative_error(a, want_a) <= tolerance(dtype)
    assert np.array_equal(where, want_where)

    da = rng.standard_normal(a.shape)
    a64 = want_a.astype(dtype).astype(np.float64)
    want_dz, want_db = pooling_gradients(da, a64, want_where, act, z.shape, ph, pw)
    for give_pool in (True, False) if H % ph == 0 and W % pw == 0 else (True,):
        dz, db = unpool_with(level, da, a64, want_where, act, z.shape, ph, pw, dtype, give_pool)
        # The slope from a has a rounding of 1 - a^2 or a (1 - a) in it (the kernels may fuse
        # it), which is eps against da, not against the slope: errors are taken relative to
        # da's largest value, and to the sum of |da| for db.
        scale = np.max(np.abs(da))
        assert np.max(np.abs(dz - want_dz)) <= tolerance(dtype) * scale
        assert np.array_equal(dz == 0, want_dz == 0)
        assert np.max(np.abs(db - want_db)) <= tolerance(dtype) * np.abs(da).sum(axis=(0, 2, 3)).max()


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_activations_at_their_edges(level, dtype):
    """Large, tiny, zero and signed values through each activation, in vectors and a rest."""
    values = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 0.1, -0.1, 0.3465, -0.3466, 0.5,
                       -0.5, 1.0, -1.0, 3.0, -3.0, 10.0, -10.0, 20.0, -20.0, 40.0, -40.0, 90.0,
                       -90.0, 700.0, -700.0, 800.0, -800.0, 1e30, -1e30, 2.5, -7.25, 0.0625])
    z = values.reshape(1, 1, 1, -1)
    b = np.zeros(1)
    for act in ACTIVATIONS:
        a, _ = pool_with(level, z, b, 1, 1, act, dtype)
        want = activation(act, z.astype(dtype).astype(np.float64))
        # Past z = -700 (float32: -86) the sigmoid's e^z stops at e^-700 (e^-86), as the tile
        # kernels' sigmoid does: values below 1e-304 (4.5e-38) where 0 or a subnormal is due.
        floor = 1e-303 if dtype == np.float64 else 5e-38
        error = np.abs(a - want)
        assert np.all(error <= 8 * np.finfo(dtype).eps * np.abs(want) + floor), (
            ACTIVATIONS[act], error.max())


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_ties_pick_the_first_largest_entry(level, dtype):
    """Equal entries in a window: `where` names the first, row by row (np.argmax's choice),
    and the gradient goes there only."""
    windows = [
        [[1, 1], [1, 1]],   # 0
        [[0, 2], [2, 2]],   # 1
        [[0, 1], [3, 3]],   # 2
        [[5, 1], [2, 5]],   # 0
        [[0, 7], [7, 0]],   # 1
        [[-1, -1], [-1, 0]],  # 3
        [[-2, -1], [-1, -1]],  # 1
        [[4, 4], [4, 9]],   # 3
    ]
    # Windows side by side in rows of 8 and 20 windows (a full vector and a rest at each level).
    for per_row in (8, 20):
        count = 2 * per_row
        chosen = [windows[i % len(windows)] for i in range(count)]
        z = np.zeros((1, 1, 4, 2 * per_row))
        for k, window in enumerate(chosen):
            r, c = 2 * (k // per_row), 2 * (k % per_row)
            z[0, 0, r:r + 2, c:c + 2] = window
        want_where = np.array([int(np.argmax(np.array(w).ravel())) for w in chosen]).reshape(1, 1, 2, per_row)
        _, where = pool_with(level, z, np.zeros(1), 2, 2, conv.LINEAR, dtype)
        assert np.array_equal(where, want_where)
        dz, _ = unpool_with(level, np.ones(where.shape), np.ones(where.shape), where, conv.LINEAR,
                            z.shape, 2, 2, dtype)
        assert dz.sum() == count and np.array_equal(np.argwhere(dz != 0), np.argwhere(
            pooling_gradients(np.ones(where.shape), np.ones(where.shape), want_where, conv.LINEAR,
                              z.shape, 2, 2)[0] != 0))
    # A 3 x 2 window with its largest value four times.
    z = np.array([[1.0, 3.0], [3.0, 0.0], [3.0, 3.0]]).reshape(1, 1, 3, 2)
    _, where = pool_with(level, z, np.zeros(1), 3, 2, conv.LINEAR, dtype)
    assert where[0, 0, 0, 0] == 1


#### Finite differences (float64)

def numeric_gradient(cost, values, indices, step=1e-6):
    grads = []
    for index in indices:
        saved = values[index]
        values[index] = saved + step
        up = cost()
        values[index] = saved - step
        down = cost()
        values[index] = saved
        grads.append((up - down) / (2 * step))
    return np.array(grads)


def some_indices(shape, count, rng):
    return [tuple(int(rng.integers(0, s)) for s in shape) for _ in range(count)]


@pytest.mark.parametrize("level", LEVELS)
def test_convolution_gradients_match_finite_differences(level):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 2, 7, 8))
    w = rng.standard_normal((5, 2, 3, 4))
    weights = rng.standard_normal((3, 5, 5, 5))      # cost = sum(weights * z)
    z = np.empty((3, 5, 5, 5))

    def cost():
        with dispatch.using(level):
            conv.conv_forward(x, w, z)
        return float(np.sum(weights * z))

    dw, dx = np.empty(w.shape), np.empty(x.shape)
    with dispatch.using(level):
        conv.conv_backward(x, w, weights, dw, dx)
    w_at, x_at = some_indices(w.shape, 12, rng), some_indices(x.shape, 12, rng)
    assert np.allclose([dw[i] for i in w_at], numeric_gradient(cost, w, w_at), rtol=1e-6, atol=1e-7)
    assert np.allclose([dx[i] for i in x_at], numeric_gradient(cost, x, x_at), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("act", list(ACTIVATIONS), ids=list(ACTIVATIONS.values()))
def test_pooling_gradients_match_finite_differences(level, act):
    rng = np.random.default_rng(17 + act)
    z = rng.standard_normal((2, 3, 6, 7))
    b = rng.standard_normal(3)
    if act == conv.RELU:
        b = b + np.sign(b) * 0.5        # away from ReLU's kink at the step used
    weights = rng.standard_normal((2, 3, 3, 3))      # cost = sum(weights * a)
    a = np.empty((2, 3, 3, 3))
    where = np.empty(a.shape, dtype=np.int32)

    def cost():
        with dispatch.using(level):
            conv.pool_forward(z, b, 2, 2, act, a, where)
        return float(np.sum(weights * a))

    cost()
    dz, db = np.empty(z.shape), np.empty(3)
    with dispatch.using(level):
        conv.pool_backward(weights, a.copy(), where.copy(), act, dz, db, 2, 2)
    z_at = [tuple(i) for i in np.argwhere(dz != 0)[:10]] + some_indices(z.shape, 6, rng)
    assert np.allclose([dz[i] for i in z_at], numeric_gradient(cost, z, z_at), rtol=1e-6, atol=1e-8)
    b_at = [(f,) for f in range(3)]
    assert np.allclose(db, numeric_gradient(cost, b, b_at), rtol=1e-6, atol=1e-8)


#### The checks

def test_check_conv_shapes_names_what_is_wrong():
    x = np.zeros((2, 3, 8, 8))
    w = np.zeros((4, 3, 3, 3))
    z = np.zeros((2, 4, 6, 6))
    conv.check_conv_shapes(x, w, z, z.copy(), w.copy(), x.copy())
    cases = [
        ((x.astype(np.float32), w, z), "float32"),
        ((x, w, z.astype(np.float32)), "float64"),
        ((x[:, :, :, ::-1], w, z), "C-contiguous"),
        ((x, np.zeros((4, 2, 3, 3)), z), "input channels"),
        ((x, np.zeros((4, 3, 9, 3)), None), "larger than the images"),
        ((x, w, np.zeros((2, 4, 6, 5))), "shape"),
        ((x.astype(np.int64), w, z), "float32 or float64"),
        ((x[0], w, z), "dimensions"),
        ((np.zeros((0, 3, 8, 8)), w, None), "empty"),
        (([[1.0]], w, z), "NumPy array"),
        ((x, w, x.reshape(-1)[:288].reshape(2, 4, 6, 6)), "overlaps"),
    ]
    for args, words in cases:
        with pytest.raises(ValueError, match=words):
            conv.check_conv_shapes(*args)
    read_only = w.copy()
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        conv.check_conv_shapes(x, w, dw=read_only)


def test_check_pool_shapes_names_what_is_wrong():
    z = np.zeros((2, 3, 9, 8))
    b = np.zeros(3)
    a = np.zeros((2, 3, 4, 4))
    where = np.zeros(a.shape, dtype=np.int32)
    conv.check_pool_shapes(z, b, 2, 2, conv.RELU, a, where)
    conv.check_pool_shapes(z, b, 2, 2, conv.RELU, a, where, a.copy(), z.copy(), b.copy())
    cases = [
        ((z, np.zeros(4), 2, 2, 0, a, where), "shape"),
        ((z, b, 0, 2, 0, a, where), "pool"),
        ((z, b, 2, 9, 0, a, where), "pool"),
        ((z, b, 2.0, 2, 0, a, where), "whole numbers"),
        ((z, b, 2, 2, 4, a, where), "act"),
        ((z, b, 2, 2, 0, np.zeros((2, 3, 4, 3)), where), "shape"),
        ((z, b, 2, 2, 0, a, where.astype(np.int64)), "int32"),
        ((z, b, 2, 2, 0, a, where + 4, a.copy(), z.copy(), b.copy()), "outside"),
        ((z, b, 2, 2, 0, a, where, a, z.copy(), b.copy()), None),
        ((z, b, 2, 2, 0, a, where, a.copy(), a.reshape(2, 3, 4, 4), b.copy()), "shape"),
    ]
    for args, words in cases:
        if words is None:
            conv.check_pool_shapes(*args)       # da may be a itself: both are only read
            continue
        with pytest.raises(ValueError, match=words):
            conv.check_pool_shapes(*args)


def test_the_calls_refuse_arrays_that_do_not_fit():
    """Called without the checks, the kernels still raise rather than read past an array."""
    x, w, z = np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3)), np.zeros((2, 4, 6, 6))
    with pytest.raises(ValueError, match="do not fit"):
        conv.conv_forward(x, w, np.zeros((2, 4, 6, 5)))
    with pytest.raises(ValueError, match="do not fit"):
        conv.conv_forward(x, np.zeros((4, 2, 3, 3)), z)
    with pytest.raises(ValueError, match="do not fit"):
        conv.conv_backward(x, w, z, np.zeros((4, 3, 3, 2)), None)
    with pytest.raises(ValueError, match="do not fit"):
        conv.conv_backward(x, w, z, w.copy(), np.zeros((2, 3, 8, 9)))
    with pytest.raises(ValueError, match="do not fit"):
        conv.conv_forward(np.zeros((0, 3, 8, 8)), w, np.zeros((0, 4, 6, 6)))
    a, where = np.zeros((2, 4, 3, 3)), np.zeros((2, 4, 3, 3), dtype=np.int32)
    with pytest.raises(ValueError, match="do not fit"):
        conv.pool_forward(z, np.zeros(3), 2, 2, conv.RELU, a, where)
    with pytest.raises(ValueError, match="do not fit"):
        conv.pool_forward(z, np.zeros(4), 3, 2, conv.RELU, a, where)
    with pytest.raises(ValueError, match="do not fit"):
        conv.pool_backward(a, a, np.zeros((2, 4, 2, 3), dtype=np.int32), conv.RELU, z.copy(),
                           np.zeros(4))
    with pytest.raises(ValueError, match="do not fit"):
        conv.pool_backward(a, a, where, conv.RELU, z.copy(), np.zeros(4), 2, 4)
    for args in [(None, w, z), (x, None, z), (x, w, None)]:
        with pytest.raises(TypeError):
            conv.conv_forward(*args)
    with pytest.raises(TypeError):
        conv.pool_forward(z, None, 2, 2, conv.RELU, a, where)
    with pytest.raises((TypeError, ValueError)):
        conv.conv_forward(x.astype(np.float32), w, z)
    with pytest.raises(ValueError):
        conv.conv_forward(x[:, :, :, ::2], w, np.zeros((2, 4, 6, 2)))


@pytest.mark.parametrize("level", LEVELS)
def test_places_outside_the_window_send_nothing(level):
    """A `where` that names no place of its window (not from pool_forward) gives that window
    no gradient, at every window size, instead of a write outside dz."""
    da = np.ones((1, 2, 2, 2))
    where = np.array([[[[0, 7], [-1, 3]], [[1000, 2], [1, -5]]]], dtype=np.int32)
    for ph, pw in ((2, 2), (2, 3)):
        dz = np.full((1, 2, 4, 2 * pw), np.nan)
        db = np.empty(2)
        with dispatch.using(level):
            conv.pool_backward(da, np.ones(da.shape), where, conv.LINEAR, dz, db, ph, pw)
        valid = (where >= 0) & (where < ph * pw)
        assert dz.sum() == valid.sum() and np.all(np.isfinite(dz))
        assert np.array_equal(db, [4.0, 4.0])


def test_activation_codes():
    assert (conv.LINEAR, conv.SIGMOID, conv.TANH, conv.RELU) == (0, 1, 2, 3)

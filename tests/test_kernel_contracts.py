"""Each tile kernel of tiles.c against NumPy, called directly through its twin
(fastnet/_kernels/twins.pyx), at every level this CPU runs, in both precisions.

Hypothesis sweeps the shapes (sizes near multiples of the vector width and of the
register tiles, single rows, short edge tiles), the strides (operands sliced from
larger arrays, so rows start off vector boundaries and ``ld`` exceeds the width),
the masks (a last vector partly in use) and the scalars (beta 0, 1 and others).
Every operand is cut from a larger array: the input's margins hold NaN, so a read
past the block that reaches a result shows as NaN; the output's margins hold a
guard value that must be there, bit for bit, after the call.  Products must match
NumPy to round-off (a bound of (k + 2) ulps of the sum of |terms|); where the order
of operations is fixed (the bias step's sums, the slope) the results must match
NumPy's exactly.

A broken kernel fails the tests named for it: each test exercises one kernel.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnet._kernels import twins

LEVEL_NAMES = {1: "avx2", 2: "avx512"}
LEVELS = [pytest.param(level, id=LEVEL_NAMES[level]) for level in range(1, twins.supported() + 1)]
DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
GUARD = -1234.5     # in every output margin: must be left exactly as it is
SWEEP = settings(max_examples=100, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

pytestmark = pytest.mark.parametrize("dtype", DTYPES)


def near_multiples(largest, steps=(1, 2, 3, 4, 5, 6, 8, 10, 16)):
    """Sizes from 1 to `largest`, favouring those next to multiples of `steps` (vector
    widths and tile sizes), where the edge tiles and masks change."""
    special = sorted({q * s + d for s in steps for q in range(1, largest // s + 1)
                      for d in (-1, 0, 1) if 1 <= q * s + d <= largest})
    return st.one_of(st.integers(1, largest), st.sampled_from(special))


@st.composite
def margins(draw, rows=0):
    """Where a block sits in its larger array: rows above and below (at least `rows`),
    columns left and right.  An output keeps a row of guards above and below, so that a
    write past its first or last row lands in them (and fails the test by name) instead
    of corrupting the heap."""
    return (draw(st.integers(rows, 2)), draw(st.integers(rows, 2)),
            draw(st.integers(0, 5)), draw(st.integers(0, 9)))


def embedded(values, margin, fill):
    """`values` (2-D) placed in a larger array filled with `fill`; returns (whole, view)."""
    top, bottom, left, right = margin
    rows, cols = values.shape
    whole = np.full((top + rows + bottom, left + cols + right), fill, dtype=values.dtype)
    view = whole[top:top + rows, left:left + cols]
    view[...] = values
    return whole, view


def outside(whole, margin, shape):
    """The values of `whole` around its block of `shape` placed at `margin`."""
    top, _, left, _ = margin
    keep = np.ones(whole.shape, dtype=bool)
    keep[top:top + shape[0], left:left + shape[1]] = False
    return whole[keep]


def assert_margins_intact(whole, margin, shape, kernel):
    around = outside(whole, margin, shape)
    assert np.array_equal(around, np.full_like(around, GUARD)), \
        "{} wrote outside its output block".format(kernel)


def assert_close(got, want, scale, terms, dtype, kernel):
    """|got - want| within (terms + 2) ulps of dtype times `scale` (the sum of |terms|)."""
    bound = (terms + 2) * np.finfo(dtype).eps * (scale + np.abs(want)) + np.finfo(dtype).tiny
    err = np.abs(got.astype(np.float64) - want)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), "{}: {} at {} (bound {})".format(kernel, err[worst], worst,
                                                                   bound[worst])


def values(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("level", LEVELS)
@SWEEP
@given(m=near_multiples(50), n=near_multiples(26), k=st.one_of(near_multiples(120),
                                                              st.sampled_from([383, 384, 385, 784])),
       margin_a=margins(), margin_b=margins(), margin_c=margins(rows=1), with_bias=st.booleans(),
       with_prefetch=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_dot_rows(level, dtype, m, n, k, margin_a, margin_b, margin_c, with_bias, with_prefetch,
                  seed):
    rng = np.random.default_rng(seed)
    a, b = values(rng, (m, k), dtype), values(rng, (n, k), dtype)
    bias = values(rng, n, dtype) if with_bias else None
    _, a_view = embedded(a, margin_a, np.nan)
    _, b_view = embedded(b, margin_b, np.nan)
    c_whole, c_view = embedded(np.full((m, n), np.nan, dtype), margin_c, GUARD)
    prefetch = values(rng, (3, 100), dtype) if with_prefetch else None
    twins.dot_rows(level, a_view, b_view, bias, c_view, prefetch)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = a64 @ b64.T + (0 if bias is None else bias.astype(np.float64))
    scale = np.abs(a64) @ np.abs(b64).T + (0 if bias is None else np.abs(bias.astype(np.float64)))
    assert_close(c_view, want, scale, k, dtype, "dot_rows")
    assert_margins_intact(c_whole, margin_c, (m, n), "dot_rows")


@pytest.mark.parametrize("level", LEVELS)
@SWEEP
@given(rows=near_multiples(16), terms=near_multiples(35),
       k=st.one_of(near_multiples(200), st.sampled_from([784])), beta=st.sampled_from([0.0, 1.0, 0.5, -1.25]),
       s_transposed=st.booleans(), margin_s=margins(), margin_b=margins(), margin_c=margins(rows=1),
       with_prefetch=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_axpy_rows(level, dtype, rows, terms, k, beta, s_transposed, margin_s, margin_b, margin_c,
                   with_prefetch, seed):
    rng = np.random.default_rng(seed)
    s, b, c0 = values(rng, (rows, terms), dtype), values(rng, (terms, k), dtype), values(rng, (rows, k), dtype)
    if s_transposed:        # s read down its columns (training's deltas, s_row_step 1)
        _, s_t = embedded(np.ascontiguousarray(s.T), margin_s, np.nan)
        s_view = s_t.T
    else:
        _, s_view = embedded(s, margin_s, np.nan)
    _, b_view = embedded(b, margin_b, np.nan)
    # beta = 0 writes c without reading it: its old values are NaN then.
    c_whole, c_view = embedded(c0 if beta != 0 else np.full_like(c0, np.nan), margin_c, GUARD)
    prefetch = values(rng, (2, 64), dtype) if with_prefetch else None
    twins.axpy_rows(level, s_view, b_view, beta, c_view, prefetch)
    s64, b64, c64 = s.astype(np.float64), b.astype(np.float64), c0.astype(np.float64)
    want = s64 @ b64 + (beta * c64 if beta != 0 else 0)
    scale = np.abs(s64) @ np.abs(b64) + abs(beta) * np.abs(c64)
    assert_close(c_view, want, scale, terms, dtype, "axpy_rows")
    assert_margins_intact(c_whole, margin_c, (rows, k), "axpy_rows")


@pytest.mark.parametrize("level", LEVELS)
@SWEEP
@given(m=near_multiples(25), n=near_multiples(70), k=near_multiples(60),
       scale=st.sampled_from([1.0, 0.999, -2.0]), with_bias=st.booleans(), margin_a=margins(),
       extra_b=st.integers(0, 9), margin_c=margins(rows=1),
       prefetch_width=st.sampled_from([None, "k", 200]), wide=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_rows_times_matrix(level, dtype, m, n, k, scale, with_bias, margin_a, extra_b, margin_c,
                           prefetch_width, wide, seed):
    rng = np.random.default_rng(seed)
    width = twins.padded(n, twins.lanes(level, dtype == np.float32))
    a, b = values(rng, (m, k), dtype), values(rng, (k, n), dtype)
    bias = values(rng, n, dtype) if with_bias else None
    _, a_view = embedded(a, margin_a, np.nan)
    # b's rows padded to whole vectors, the padding and the rest of its stride NaN:
    # read by the kernel, it must not reach a stored output.
    b_whole = np.full((k, width + extra_b), np.nan, dtype)
    b_whole[:, :n] = b
    c_whole, c_view = embedded(np.full((m, n), np.nan, dtype), margin_c, GUARD)
    # Next rows as wide as a's take the kernel's one-line-per-stretch path, others its shares.
    prefetch = (None if prefetch_width is None else
                values(rng, (4, k if prefetch_width == "k" else prefetch_width), dtype))
    twins.columns_wide(wide)        # both register tiles (the same sums, in another order of tiles)
    try:
        twins.rows_times_matrix(level, a_view, b_whole, scale, bias, c_view, prefetch)
    finally:
        twins.columns_wide(False)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = scale * (a64 @ b64) + (0 if bias is None else bias.astype(np.float64))
    bound = abs(scale) * (np.abs(a64) @ np.abs(b64)) + (0 if bias is None else np.abs(bias.astype(np.float64)))
    assert_close(c_view, want, bound, k, dtype, "rows_times_matrix")
    assert_margins_intact(c_whole, margin_c, (m, n), "rows_times_matrix")


@pytest.mark.parametrize("level", LEVELS)
@SWEEP
@given(terms=near_multiples(25), n=near_multiples(70), k=near_multiples(60),
       alpha=st.sampled_from([1.0, -0.3, 2.5]), margin_a=margins(), margin_d=margins(),
       extra_c=st.integers(0, 9), seed=st.integers(0, 2**32 - 1))
def test_rank_update(level, dtype, terms, n, k, alpha, margin_a, margin_d, extra_c, seed):
    rng = np.random.default_rng(seed)
    width = twins.padded(n, twins.lanes(level, dtype == np.float32))
    a, d, c0 = values(rng, (terms, k), dtype), values(rng, (terms, n), dtype), values(rng, (k, n), dtype)
    _, a_view = embedded(a, margin_a, np.nan)
    _, d_view = embedded(d, margin_d, np.nan)
    # c's padding to whole vectors is rewritten: it must come back unchanged, as the rest.
    c_whole = np.full((k + 2, width + extra_c), GUARD, dtype)
    c_view = c_whole[1:k + 1]
    c_view[:, :n] = c0
    twins.rank_update(level, a_view, d_view, alpha, c_view)
    a64, d64, c64 = a.astype(np.float64), d.astype(np.float64), c0.astype(np.float64)
    want = c64 + alpha * (a64.T @ d64)
    scale = np.abs(c64) + abs(alpha) * (np.abs(a64).T @ np.abs(d64))
    assert_close(c_view[:, :n], want, scale, terms, dtype, "rank_update")
    assert_margins_intact(c_whole, (1, 1, 0, width + extra_c - n), (k, n), "rank_update")


def in_guarded_vector(x, left, right):
    whole = np.full(left + x.size + right, GUARD, dtype=x.dtype)
    whole[left:left + x.size] = x
    return whole, whole[left:left + x.size]


def assert_vector_margins(whole, left, count, kernel):
    around = np.concatenate([whole[:left], whole[left + count:]])
    assert np.array_equal(around, np.full_like(around, GUARD)), \
        "{} wrote outside its output".format(kernel)


@pytest.mark.parametrize("level", LEVELS)
@SWEEP
@given(count=near_multiples(140), spread=st.sampled_from([1.0, 10.0, 200.0]),
       left=st.integers(1, 5), right=st.integers(1, 9), specials=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_sigmoid(level, dtype, count, spread, left, right, specials, seed):
    rng = np.random.default_rng(seed)
    z = (spread * rng.standard_normal(count)).astype(dtype)
    if specials:
        z[rng.integers(0, count, 3)] = rng.choice([np.inf, -np.inf, np.nan, 0.0, -0.0], 3)
    whole, view = in_guarded_vector(z, left, right)
    twins.sigmoid(level, view)
    z64 = z.astype(np.float64)
    with np.errstate(over="ignore"):
        want = np.where(z64 >= 0, 1 / (1 + np.exp(-np.abs(z64))),
                        np.exp(-np.abs(z64)) / (1 + np.exp(-np.abs(z64))))
    want[np.isnan(z64)] = np.nan
    got = view.astype(np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want)), "sigmoid: NaN not passed through"
    finite = ~np.isnan(want)
    # A few ulps of the result; far left, the kernel's exp stops where 2^n stays normal
    # (e^-86 in float, e^-700 in double), so it gives at most that instead of less.
    floor = 1e-37 if dtype == np.float32 else 1e-304
    bound = 4 * np.finfo(dtype).eps * np.abs(want[finite]) + floor
    assert np.all(np.abs(got[finite] - want[finite]) <= bound), "sigmoid differs from NumPy"
    assert_vector_margins(whole, left, count, "sigmoid")


@pytest.mark.parametrize("level", LEVELS)
@SWEEP
@given(count=near_multiples(140), left=st.integers(1, 5), right=st.integers(1, 9),
       seed=st.integers(0, 2**32 - 1))
def test_times_sigmoid_slope(level, dtype, count, left, right, seed):
    rng = np.random.default_rng(seed)
    d, a = values(rng, count, dtype), rng.random(count).astype(dtype)
    whole, view = in_guarded_vector(d, left, right)
    _, a_view = in_guarded_vector(a, right, left)
    twins.times_sigmoid_slope(level, view, a_view)
    want = d * (a * (np.ones_like(a) - a))        # the kernel's order, in its precision
    assert np.array_equal(view, want), "times_sigmoid_slope differs from d * (a * (1 - a))"
    assert_vector_margins(whole, left, count, "times_sigmoid_slope")


@pytest.mark.parametrize("level", LEVELS)
@SWEEP
@given(m=near_multiples(20), n=near_multiples(70), alpha=st.sampled_from([-0.03, 1.0, 0.5]),
       beta=st.sampled_from([0.0, 1.0, 0.99]), with_sums=st.booleans(), left=st.integers(0, 5),
       right=st.integers(0, 9), seed=st.integers(0, 2**32 - 1))
def test_bias_step(level, dtype, m, n, alpha, beta, with_sums, left, right, seed):
    rng = np.random.default_rng(seed)
    d, b0, sums0 = values(rng, (m, n), dtype), values(rng, n, dtype), values(rng, n, dtype)
    b_whole, b_view = in_guarded_vector(b0 if beta != 0 else np.full_like(b0, np.nan), left, right)
    s_whole, s_view = in_guarded_vector(sums0, right, left)
    twins.bias_step(level, d, alpha, beta, b_view, s_view if with_sums else None)
    total = d[0].copy()                         # rows added one after another, as the kernel
    for i in range(1, m):
        total = total + d[i]
    step = dtype(alpha) * total
    if beta != 0:
        step = step + dtype(beta) * b0
        # The compiler may fuse a product with the sum (one rounding fewer): an ulp or two.
        size = np.abs(dtype(alpha) * total) + np.abs(dtype(beta) * b0)
        assert np.all(np.abs(b_view - step) <= 2 * np.finfo(dtype).eps * size), \
            "bias_step: b differs from alpha sum_i d + beta b"
    else:
        assert np.array_equal(b_view, step), "bias_step: b differs from alpha sum_i d"
    assert np.array_equal(s_view, sums0 + total if with_sums else sums0), "bias_step: sums differ"
    assert_vector_margins(b_whole, left, n, "bias_step")
    assert_vector_margins(s_whole, right, n, "bias_step")


@pytest.mark.parametrize("level", LEVELS)
@SWEEP
@given(count=near_multiples(140), bad=st.sampled_from([None, np.nan, np.inf, -np.inf]),
       where=st.floats(0, 1, exclude_max=True), left=st.integers(1, 5), right=st.integers(1, 9),
       seed=st.integers(0, 2**32 - 1))
def test_all_finite(level, dtype, count, bad, where, left, right, seed):
    rng = np.random.default_rng(seed)
    x = (1e3 * rng.standard_normal(count)).astype(dtype)
    if bad is not None:
        x[int(where * count)] = bad
    whole = np.full(left + count + right, np.nan, dtype)   # what lies around must not count
    whole[left:left + count] = x
    assert twins.all_finite(level, whole[left:left + count]) == (bad is None)


@pytest.mark.parametrize("level", LEVELS)
def test_fma_chain_counts_its_flops(level, dtype):
    single = dtype == np.float32
    once = twins.fma_chain(level, single, 1000)
    assert once > 0 and twins.fma_chain(level, single, 3000) == 3 * once
    # each round: one fused multiply-add (2 flops) on every lane of each chain's vector
    assert once % (2 * 1000 * twins.lanes(level, single)) == 0
    assert twins.fma_chain(twins.supported() + 1, single, 1000) == 0
    assert twins.fma_chain(level, single, 0) == 0


def test_lanes_are_the_vector_widths(dtype):
    single = dtype == np.float32
    widths = {1: 32, 2: 64}                     # bytes per AVX2 / AVX-512 vector
    for level in range(1, twins.supported() + 1):
        assert twins.lanes(level, single) * np.dtype(dtype).itemsize == widths[level]


def test_twins_refuse_what_the_kernels_cannot_take(dtype):
    a = np.ones((3, 5), dtype)
    with pytest.raises(ValueError, match="level"):
        twins.dot_rows(twins.supported() + 1, a, a, None, np.zeros((3, 3), dtype))
    with pytest.raises(ValueError, match="level"):
        twins.sigmoid(0, np.ones(4, dtype))
    if twins.supported() < 1:
        return
    other = np.float32 if dtype == np.float64 else np.float64
    with pytest.raises(TypeError):
        twins.dot_rows(1, a, a.astype(other), None, np.zeros((3, 3), dtype))
    with pytest.raises(ValueError, match="do not match"):
        twins.dot_rows(1, a, a, None, np.zeros((3, 4), dtype))
    with pytest.raises(ValueError, match="contiguous"):
        twins.dot_rows(1, a[:, ::2], a[:, ::2], None, np.zeros((3, 3), dtype))
    with pytest.raises(ValueError, match="at least"):    # b narrower than its padded width
        twins.rows_times_matrix(1, a, np.ones((5, 3), dtype), 1.0, None, np.zeros((3, 3), dtype))
    with pytest.raises(ValueError, match="writeable"):
        c = np.zeros((3, 3), dtype)
        c.flags.writeable = False
        twins.dot_rows(1, a, a, None, c)

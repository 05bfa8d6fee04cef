"""The list path: network2's pairs gathered into arrays in one pass, the same as pair by pair."""
import numpy as np
import pytest

from fastnet import examples, network2

SIZES = [6, 4, 3]


def _pairs(n, rng, x_shape=(6, 1), dtype=np.float64):
    return [(rng.random(x_shape).astype(dtype), network2.vectorized_result(k % 3, 3))
            for k in range(n)]


def _by_hand(pairs):
    X = np.array([np.ravel(x) for x, _ in pairs])
    T = np.array([np.ravel(y) for _, y in pairs])
    return X, T


@pytest.mark.parametrize("x_shape", [(6, 1), (6,)])
def test_columns_of_one_shape_stack_to_the_rows_pair_by_pair_gives(x_shape):
    pairs = _pairs(20, np.random.default_rng(0), x_shape)
    converted = examples.convert(pairs, SIZES, np.float64, "data")
    X, T = _by_hand(pairs)
    assert np.array_equal(converted.X, X) and np.array_equal(converted.targets, T)
    assert converted.pairs is pairs


def test_views_of_one_base_array_in_any_order_give_their_own_rows():
    base = np.random.default_rng(1).random((30, 6)).astype(np.float32)
    order = np.random.default_rng(2).permutation(30)
    pairs = [(base[k].reshape(6, 1), int(k % 3)) for k in order]
    converted = examples.convert(pairs, SIZES, np.float32, "data")
    assert np.array_equal(converted.X, base[order])
    assert converted.X.dtype == np.float32
    assert np.array_equal(converted.labels, order % 3)


def test_mixed_real_dtypes_keep_their_values():
    rng = np.random.default_rng(3)
    pairs = _pairs(5, rng) + _pairs(5, rng, dtype=np.float32) + \
        [(np.arange(6, dtype=np.uint8).reshape(6, 1), 1)]
    converted = examples.convert(pairs, SIZES, np.float64, "data")
    assert np.array_equal(converted.X[:10], _by_hand(pairs[:10])[0])
    assert np.array_equal(converted.X[10], np.arange(6.0))


def test_widths_that_add_up_still_name_the_wrong_pair():
    # 5 + 7 values are 12 = 2 x 6: one concatenation alone would not see it.
    rng = np.random.default_rng(4)
    pairs = [(rng.random((5, 1)), 0), (rng.random((7, 1)), 1)]
    with pytest.raises(ValueError, match=r"data\[0\] x"):
        examples.convert(pairs, SIZES, np.float64, "data")


@pytest.mark.parametrize("odd", [np.float64(1.0), np.ones((6, 2)), np.ones((6, 1, 1)),
                                 np.array(["a"] * 6).reshape(6, 1)])
def test_an_odd_column_among_good_ones_is_named(odd):
    pairs = _pairs(3, np.random.default_rng(5)) + [(odd, 0)]
    with pytest.raises((ValueError, TypeError), match=r"data\[3\] x"):
        examples.convert(pairs, SIZES, np.float64, "data")

"""Mistakes a user makes often get a message that says what was wanted and what came."""
import json

import numpy as np
import pytest

from fastnet import network2
from fastnet.limits import MAX_PARAMETERS
from fastnet.network2 import Network, load

rng = np.random.RandomState(0)
X, y = rng.rand(8, 4), np.arange(8) % 2


@pytest.mark.parametrize("data, says", [
    ((rng.rand(8, 2, 2), y), "flatten the images"),
    ([X, y], "got a list [X, y]"),
    ((X.tolist(), y), "list of 8 rows"),
    ((list(X), y), "list of 8 rows"),
])
def test_a_try_at_the_array_form_is_told_what_it_needs(data, says):
    with pytest.raises(ValueError) as error:
        Network([4, 3, 2]).SGD(data, 1, 2, 0.1, quiet=True)
    assert "array form must be a tuple (X, y)" in str(error.value)
    assert "(n, 4)" in str(error.value) and says in str(error.value)


def _file(tmp_path, text):
    path = tmp_path / "net.json"
    path.write_text(text)
    return path


def _good(tmp_path):
    Network([2, 2, 1], random_state=0).save(str(tmp_path / "good.json"))
    return json.loads((tmp_path / "good.json").read_text())


@pytest.mark.parametrize("hostile", ["deep", "digits", "overflow"])
def test_load_of_hostile_json_names_the_file(tmp_path, hostile):
    if hostile == "deep":
        text = "[" * 100_000 + "]" * 100_000
    elif hostile == "digits":
        text = json.dumps(_good(tmp_path)).replace("[[[", "[[[" + "1" * 5000 + ", ", 1)
    else:
        data = _good(tmp_path)
        data["weights"][0][0][0] = 10 ** 400
        text = json.dumps(data)
    path = _file(tmp_path, text)
    with pytest.raises(ValueError, match="net.json"):
        load(str(path))


@pytest.mark.parametrize("value", ["0.1", True, None, {}])
def test_load_refuses_weights_that_are_not_numbers(tmp_path, value):
    data = _good(tmp_path)
    data["weights"][0][1][0] = value
    with pytest.raises(ValueError, match="net.json: weights and biases must hold numbers"):
        load(str(_file(tmp_path, json.dumps(data))))
    assert load(str(tmp_path / "good.json")).sizes == [2, 2, 1]


def test_save_errors_name_the_users_path(tmp_path):
    net = Network([2, 2, 1])
    missing = str(tmp_path / "no" / "net.json")
    with pytest.raises(FileNotFoundError) as error:
        net.save(missing)
    assert error.value.filename == missing and ".tmp" not in str(error.value)
    with pytest.raises(IsADirectoryError) as error:
        net.save(str(tmp_path))
    assert error.value.filename == str(tmp_path) and ".tmp" not in str(error.value)


@pytest.mark.parametrize("sizes", [[50000, 50000], [1, 2 ** 29, 1]])
def test_networks_too_big_for_memory_are_refused_with_the_bound(sizes):
    with pytest.raises(ValueError, match="at most {:,} are allowed".format(MAX_PARAMETERS)):
        Network(sizes)


def test_the_command_line_shares_the_bound():
    import argparse
    from fastnet.cli.common import layer_sizes
    assert layer_sizes("784,30,10") == [784, 30, 10]
    with pytest.raises(argparse.ArgumentTypeError, match="{:,}".format(MAX_PARAMETERS)):
        layer_sizes("50000,50000")


@pytest.mark.parametrize("sizes", [b"\x04\x03", {4: 1, 3: 1}, "43", np.array([[4, 3]])])
def test_sizes_that_are_not_a_list_of_widths_are_refused(sizes):
    with pytest.raises(TypeError, match="sizes must be a list of layer widths"):
        Network(sizes)


def test_sizes_as_a_flat_int_array_is_a_list_of_ints():
    net = Network(np.array([4, 3, 2]))
    assert net.sizes == [4, 3, 2] and all(type(s) is int for s in net.sizes)


def _classifier():
    """fastnet.sklearn's estimator, or a skip where scikit-learn (an optional
    dependency, not among cibuildwheel's test-requires) is not installed."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install "
                                          "fastnet[sklearn])")
    from fastnet.sklearn import FastNetClassifier
    return FastNetClassifier


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float32"), "float32"])
def test_sklearn_takes_numpys_float32_as_sklearn_users_write_it(dtype):
    FastNetClassifier = _classifier()
    a = FastNetClassifier(hidden_layer_sizes=(3,), epochs=2, random_state=0, dtype=dtype).fit(X, y)
    b = FastNetClassifier(hidden_layer_sizes=(3,), epochs=2, random_state=0,
                          dtype="float32").fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = FastNetClassifier(hidden_layer_sizes=(3,), epochs=2, random_state=0).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))   # float32 really used


@pytest.mark.parametrize("dtype", [np.float16, "float16", None])
def test_sklearn_refuses_other_dtypes_clearly(dtype):
    FastNetClassifier = _classifier()
    with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32'"):
        FastNetClassifier(dtype=dtype).fit(X, y)


def test_sklearn_random_state_minus_one_is_refused_at_fit_as_sklearn_does():
    FastNetClassifier = _classifier()
    clf = FastNetClassifier(random_state=-1)           # sklearn: no checks in __init__
    with pytest.raises(ValueError, match="random_state must be at least 0"):
        clf.fit(X, y)


def test_total_cost_is_finite_where_network2s_nan_to_num_is():
    from fastnet import reference
    net = Network([3, 2], random_state=0)
    net.weights[0][:] = 1e3
    net.biases[0][:] = 0
    inputs = np.zeros((10, 3))
    inputs[:2] = 1                                     # two examples saturate a wrong output
    labels = np.zeros(10, dtype=int)
    book = reference.Network([3, 2])
    book.weights, book.biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    pairs = [(x.reshape(3, 1), t.reshape(2, 1)) for x, t in zip(inputs, np.eye(2)[labels])]
    with np.errstate(all="ignore"):
        expected = book.total_cost(pairs, 0.1)
    assert np.isfinite(expected)
    assert net.total_cost((inputs, labels), 0.1) == expected

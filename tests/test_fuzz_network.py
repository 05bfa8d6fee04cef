"""Property tests of the public Network API (and fastnet.load) on generated
inputs: shapes, dtypes, non-finite values, labels, sizes, hostile JSON.

Every call runs in the sandbox worker of tests/fuzzing.py, so a segfault
fails the property with its input.  The rule: a call succeeds, or raises a
ValueError or TypeError with a message; nothing else (no OverflowError,
ZeroDivisionError, MemoryError, IndexError, crash).

Cases that need a clear error (huge sizes, odd labels, weights JSON cannot
hold) are also tested one by one below.
"""
import json
import math
import threading

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .fuzzing import FUZZ, Sandbox, clear_error

# The hand-picked hostile cases (empty evaluation data, labels >= 2**63, random_state
# outside [0, 2**32), cost given as a list or dict, feedforward with (n,) biases
# or a short weights list, save of complex or NaN weights, huge values or
# rates) have a test each below.  Left out of the generated cases: outputs of
# a single (sizes[0], 1) column, which is one example by design (its own test).


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox()
    yield box
    box.close()


# --- strategies --------------------------------------------------------------------------------

sizes_st = st.lists(st.integers(1, 6), min_size=2, max_size=4)

FLOAT_DTYPES = [np.float64, np.float32]
ODD_DTYPES = [np.float16, np.int64, np.uint8, np.bool_, np.complex128]



def values(width=64):
    """Finite values, NaN, the infinities and zero, as floats of ``width`` bits: older
    hypothesis releases refuse to put a float64 that float32 cannot hold into a float32 array."""
    return st.one_of(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False, width=width),
                     st.just(np.nan), st.just(np.inf), st.just(-np.inf), st.just(0.0))


@st.composite
def inputs(draw, n0, n=None):
    """An (n, n0) input array, mostly of the right width and a float dtype."""
    n = draw(st.integers(0, 6)) if n is None else n
    width = draw(st.one_of(st.just(n0), st.just(n0), st.just(n0), st.integers(1, 7)))
    dtype = draw(st.sampled_from(FLOAT_DTYPES * 4 + ODD_DTYPES))
    shape = draw(st.sampled_from([(n, width)] * 6 + [(n,), (n, width, 1), (width,)]))
    if np.dtype(dtype).kind in "fc":
        some = values(32 if dtype == np.float32 else 64)
        elements = some.filter(lambda v: np.isfinite(v)) if draw(st.booleans()) else some
        if dtype == np.float16:
            elements = st.sampled_from([0.0, 0.5, -2.0, 1000.0, np.nan, np.inf])
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


@st.composite
def labels(draw, n, n_out):
    kind = draw(st.sampled_from(["int", "int", "float", "onehot", "wrong"]))
    if kind == "int":
        dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8]))
        low = 0 if dtype == np.uint8 else -3
        return draw(hnp.arrays(dtype, (n,), elements=st.integers(low, 12) if draw(st.booleans())
                               else st.integers(0, n_out - 1)))
    if kind == "float":
        return draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from(
            [0.0, 1.0, 2.5, -1.0, np.nan, float(n_out)])))
    if kind == "onehot":
        return np.eye(n_out)[draw(hnp.arrays(np.int64, (n,), elements=st.integers(
            0, n_out - 1)))] if draw(st.booleans()) else draw(hnp.arrays(
                np.float64, (n, n_out), elements=values()))
    return draw(hnp.arrays(np.float64, draw(st.sampled_from([(n, n_out + 1), (n + 1,),
                                                              (n, 1, 1)]))))


@st.composite
def data(draw, sizes, min_n=0):
    """Data for the API: (X, y) arrays, or network2's list of column pairs."""
    n = draw(st.integers(min_n, 6))
    X = draw(inputs(sizes[0], n))
    y = draw(labels(n, sizes[-1]))
    if draw(st.booleans()):
        return (X, y)
    pairs = []
    for i in range(min(len(X), len(y))):
        x = np.asarray(X[i]).reshape(-1, 1) if np.ndim(X[i]) else X[i]
        label = y[i] if np.ndim(y) == 1 else np.asarray(y[i]).reshape(-1, 1)
        as_int = label
        if np.ndim(label) == 0 and np.isfinite(label) and abs(label) < 2 ** 62:
            as_int = int(label)   # (labels >= 2**63: test_label_beyond_int64)
        pairs.append((x, draw(st.sampled_from([label, label, as_int]))))
    return pairs


rates = st.one_of(st.floats(1e-4, 10), st.sampled_from([0.0, -1.0, np.nan, np.inf, 1e3]),
                  st.integers(0, 3), st.just("0.1"), st.just(None))


@st.composite
def parameters(draw, sizes):
    """Replacement weights and biases: right, transposed, short, NaN, int, lists."""
    weights = [np.random.RandomState(0).randn(b, a) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros((b, 1)) for b in sizes[1:]]
    change = draw(st.sampled_from(["none", "none", "transpose", "drop", "nan", "int", "list",
                                   "column", "extra", "scalar", "3d"]))
    l = draw(st.integers(0, len(weights) - 1))
    if change == "transpose":
        weights[l] = weights[l].T
    elif change == "drop":
        return weights[:-1], biases[:-1]
    elif change == "nan":
        weights[l] = weights[l].copy()
        weights[l].flat[0] = draw(st.sampled_from([np.nan, np.inf]))
    elif change == "int":
        weights[l] = weights[l].astype(np.int64)
    elif change == "list":
        weights[l] = weights[l].tolist()
    elif change == "column":
        biases[l] = biases[l].ravel()      # (n,): SGD/outputs/save accept it
    elif change == "extra":
        weights.append(np.zeros((2, 2)))
    elif change == "scalar":
        biases[l] = 0.5
    elif change == "3d":
        weights[l] = weights[l][None]
    return weights, biases


@st.composite
def network_cases(draw):
    sizes = draw(sizes_st)
    case = {"sizes": sizes, "net_kwargs": {"random_state": draw(st.integers(0, 2 ** 32 - 1))}}
    if draw(st.booleans()):
        case["weights"], case["biases"] = draw(parameters(sizes))
    method = draw(st.sampled_from(["SGD", "SGD", "accuracy", "total_cost", "feedforward",
                                   "backprop", "outputs", "save_load", "gradients",
                                   "learning_speed"]))
    case["method"] = method
    if method == "SGD":
        kwargs = {"quiet": True}
        if draw(st.booleans()):
            kwargs["dtype"] = draw(st.sampled_from([np.float32, np.float64, "float16", None]))
        if draw(st.booleans()):
            kwargs["evaluation_data"] = draw(data(sizes, min_n=1))
            for flag in ("monitor_evaluation_cost", "monitor_evaluation_accuracy"):
                kwargs[flag] = draw(st.booleans())
        for flag in ("monitor_training_cost", "monitor_training_accuracy"):
            kwargs[flag] = draw(st.booleans())
        case["args"] = (draw(data(sizes)), draw(st.sampled_from([0, 1, 2, -1, 2.5, True])),
                        draw(st.sampled_from([1, 2, 5, 0, -3, 1.5])), draw(rates))
        kwargs["lmbda"] = draw(rates)
        case["kwargs"] = kwargs
    elif method in ("accuracy", "gradients", "learning_speed"):
        case["args"] = (draw(data(sizes)),)
    elif method == "total_cost":
        case["args"] = (draw(data(sizes)), draw(rates))
    elif method == "outputs":
        case["args"] = (draw(inputs(sizes[0])),)
    elif method == "feedforward":
        x = draw(inputs(sizes[0], 1))
        case["args"] = (x.reshape(-1, 1) if x.ndim == 2 else x,)
    elif method == "backprop":
        x = draw(inputs(sizes[0], 1))
        y = draw(st.one_of(st.integers(-2, 12), st.just(np.int64(1)),
                           hnp.arrays(np.float64, (sizes[-1], 1))))
        case["args"] = (x.reshape(-1, 1) if x.ndim == 2 else x, y)
    return case


def _excluded(case):
    """Generated cases left out: a single column given to outputs() (see above)."""
    if case["method"] == "outputs" and np.shape(case["args"][0]) == (case["sizes"][0], 1) \
            and case["sizes"][0] != 1:
        return True   # taken for one column (see test_outputs_of_a_column_shaped_array)
    return False


def _all_finite(*arrays):
    try:
        return all(np.isfinite(np.asarray(a, dtype=float)).all() for a in arrays)
    except (TypeError, ValueError):
        return False


@FUZZ
@given(network_cases())
def test_network_api_gives_results_or_clear_errors(sandbox, case):
    assume(not _excluded(case))
    result = sandbox.call("network_call", case)
    if clear_error(result):
        return
    summary = result[1]
    sizes = case["sizes"]
    if case["method"] == "save_load":
        assert summary["same"]
    if case["method"] == "feedforward":
        x = case["args"][0]
        assert summary["shape"] == ((sizes[-1], 1) if np.ndim(x) == 2 else (sizes[-1],))
    if case["method"] == "outputs":
        assert summary["shape"] == (len(case["args"][0]), sizes[-1])
    if case["method"] in ("feedforward", "outputs") and _all_finite(case["args"][0]):
        assert summary["finite"]


# --- fastnet.load on hostile files -------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=12)


def sizes_ok(doc):
    return isinstance(doc.get("weights"), list) and doc.get("cost") in (
        "CrossEntropyCost", "QuadraticCost", "Other", 3) and "sizes" in doc


@st.composite
def network_files(draw):
    """Bytes of a file given to fastnet.load: near-valid network2 JSON, or junk."""
    sizes = draw(st.one_of(sizes_st, st.lists(st.integers(-2, 8), max_size=4), json_values))
    doc = {}
    if isinstance(sizes, list) and all(type(s) is int and 0 < s < 9 for s in sizes) \
            and len(sizes) >= 2:
        rng = np.random.RandomState(draw(st.integers(0, 9)))
        doc = {"sizes": sizes,
               "weights": [rng.randn(b, a).tolist() for a, b in zip(sizes[:-1], sizes[1:])],
               "biases": [rng.randn(b, 1).tolist() for b in sizes[1:]],
               "cost": draw(st.sampled_from(["CrossEntropyCost", "QuadraticCost", "Other", 3]))}
    else:
        doc = {"sizes": sizes, "weights": draw(json_values), "biases": draw(json_values),
               "cost": draw(st.sampled_from(["CrossEntropyCost", "QuadraticCost"]))}
    for key in draw(st.lists(st.sampled_from(["sizes", "weights", "biases", "cost"]),
                             max_size=2)):
        how = draw(st.sampled_from(["drop", "junk", "transpose", "nan"]))
        if how == "transpose" and key == "weights" and sizes_ok(doc):
            try:
                doc[key] = [np.asarray(w, dtype=float).T.tolist() for w in doc[key]]
            except (TypeError, ValueError):   # junk weights: leave them as they are
                pass
            continue
        if how == "drop":
            doc.pop(key, None)
        elif how == "junk":
            doc[key] = draw(json_values)
        elif how == "nan":
            doc[key] = [float("nan")]
    text = json.dumps(doc if draw(st.integers(0, 9)) else draw(json_values))
    cut = draw(st.one_of(st.none(), st.integers(0, len(text))))
    return (text if cut is None else text[:cut]).encode("utf-8")


@FUZZ
@given(network_files())
def test_load_gives_a_network_or_a_clear_error_naming_the_file(sandbox, content):
    result = sandbox.call("load_file", content)
    if clear_error(result):
        return
    assert result[1]["sizes"]


# --- network calls that must fail with a clear error, in a worker with bounded memory ---------

def _error(sandbox, case):
    result = sandbox.call("network_call", case)
    assert result[0] == "error", "no error: {}".format(result)
    return result


def test_load_of_huge_sizes_fails_before_allocating(sandbox):
    """82 bytes of JSON asking for [2**30, 2]: a ValueError from the shapes, in a
    worker allowed 1 GiB (not a MemoryError after trying to allocate 16 GiB)."""
    content = json.dumps({"sizes": [2 ** 30, 2], "weights": [[[0.0]]], "biases": [[[0.0]]],
                          "cost": "CrossEntropyCost"}).encode()
    result = sandbox.call("load_file", content)
    assert result[0] == "error" and result[1] == "ValueError", result
    assert "<FILE>" in result[2]


@pytest.mark.parametrize("content, as_folder", [(b'{"sizes": [2, \xff\xfe]}', False),
                                               (b"", True)])
def test_load_of_non_utf8_file_or_folder_is_a_value_error_naming_it(sandbox, content,
                                                                    as_folder):
    result = sandbox.call("load_file", content, as_folder)
    assert result[0] == "error" and "ValueError" in result[3], result
    assert "<FILE>" in result[2], result


def test_feedforward_with_flat_biases_keeps_its_shape(sandbox):
    case = {"sizes": [3, 4, 2], "biases": [np.zeros(4), np.zeros(2)], "method": "feedforward",
            "args": (np.ones((3, 1)),)}
    result = sandbox.call("network_call", case)
    assert result[0] == "ok" and result[1]["shape"] == (2, 1), result


@pytest.mark.parametrize("w", [[np.zeros((4, 3))],
                               [np.zeros((1, 4, 3)), np.zeros((2, 4))]])
def test_feedforward_with_short_or_3d_weights_is_refused(sandbox, w):
    b = [np.zeros((4, 1)), np.zeros((2, 1))][:len(w)]
    _, kind, message, _, _ = _error(sandbox, {"sizes": [3, 4, 2], "weights": w, "biases": b,
                                              "method": "feedforward",
                                              "args": (np.ones((3, 1)),)})
    assert kind == "ValueError" and "weights" in message


def _training_case(X, y, eta=0.5, lmbda=0.0, **kwargs):
    return {"sizes": [X.shape[1], 3, 2], "net_kwargs": {"random_state": 0}, "method": "SGD",
            "args": ((X, y), 2, 2, eta), "kwargs": dict(lmbda=lmbda, quiet=True, **kwargs)}


def _warned_or_refused(result, words):
    if result[0] == "error":
        return "ValueError" in result[3] and any(w in result[2] for w in words)
    return result[1]["weights_finite"] or any(
        any(w in message for w in words) for _, message in result[2])


def test_float32_training_on_huge_inputs_is_not_silent(sandbox):
    X = np.full((4, 3), 1e300)
    result = sandbox.call("network_call", _training_case(X, np.array([0, 1, 0, 1]),
                                                         dtype=np.float32))
    assert _warned_or_refused(result, ("float32", "finite", "overflow")), result


@pytest.mark.parametrize("eta, lmbda", [(1e308, 5.0), (0.5, 1e308)])
def test_rates_that_make_weights_non_finite_are_not_silent(sandbox, eta, lmbda):
    X = np.random.RandomState(0).rand(4, 3)
    result = sandbox.call("network_call", _training_case(X, np.array([0, 1, 0, 1]), eta,
                                                         lmbda))
    assert _warned_or_refused(result, ("epoch",)), result


@pytest.mark.parametrize("cost", [["CrossEntropyCost"], {"a": 1}])
def test_cost_of_the_wrong_type_in_a_file_names_cost(sandbox, cost):
    content = json.dumps({"sizes": [2, 2], "weights": [[[0.0, 0.0], [0.0, 0.0]]],
                          "biases": [[[0.0], [0.0]]], "cost": cost}).encode()
    result = sandbox.call("load_file", content)
    assert result[0] == "error" and result[1] in ("TypeError", "ValueError"), result
    assert "cost" in result[2] and "<FILE>" in result[2], result


def test_empty_evaluation_data_with_cost_monitor(sandbox):
    X = np.random.RandomState(0).rand(4, 3)
    case = _training_case(X, np.array([0, 1, 0, 1]),
                          evaluation_data=(np.zeros((0, 3)), np.zeros(0, np.int64)),
                          monitor_evaluation_cost=True)
    result = sandbox.call("network_call", case)
    assert clear_error(result), result


def test_outputs_of_a_single_column_is_one_row(sandbox):
    """outputs(X) computes a row per row of X; a single network2 column (n0, 1)
    is taken for one example (documented in fastnet.examples.input_rows).  Found by the fuzz test at 10,000 examples."""
    column = sandbox.call("network_call", {"sizes": [2, 1], "method": "outputs",
                                           "args": (np.zeros((2, 1), np.int64),)})
    row = sandbox.call("network_call", {"sizes": [2, 1], "method": "outputs",
                                        "args": (np.zeros((1, 2), np.int64),)})
    assert column[0] == "ok" and column[1]["shape"] == (1, 1), column
    assert column[1] == row[1], (column, row)


def test_label_beyond_int64(sandbox):
    data = [(np.zeros((3, 1)), 2 ** 63)]
    result = sandbox.call("network_call", {"sizes": [3, 2], "method": "accuracy",
                                           "args": (data,)})
    assert result[0] == "error" and result[1] == "ValueError", result


@pytest.mark.parametrize("state", [-1, 2 ** 32])
def test_random_state_out_of_range_names_it(sandbox, state):
    result = sandbox.call("network_call", {"sizes": [2, 2], "net_kwargs": {
        "random_state": state}, "method": "outputs", "args": (np.zeros((1, 2)),)})
    assert result[0] == "error" and "random_state" in result[2], result


@pytest.mark.parametrize("weights", [[np.full((2, 2), 1 + 1j)], [np.full((2, 2), np.nan)],
                                     [], [np.zeros((2, 3))]])
def test_save_of_weights_load_would_refuse(sandbox, weights):
    """save() refuses them naming the weights (rather than json's TypeError for
    complex, or for NaN a file that load() then refuses)."""
    result = sandbox.call("network_call", {"sizes": [2, 2], "weights": weights,
                                           "method": "save_load"})
    assert result[0] == "error" and result[1] in ("ValueError", "TypeError"), result
    assert "weights" in result[2], result


def test_train_with_speeds_checks_weights_and_eta(sandbox):
    transposed = [np.zeros((4, 3)).T, np.zeros((2, 4))]   # weights[0] should be (4, 3)
    result = sandbox.call("train_with_speeds", [3, 4, 2], transposed, 0.1)
    assert result[0] == "error" and result[1] == "ValueError", result
    result = sandbox.call("train_with_speeds", [3, 4, 2], None, math.nan)
    assert result[0] == "error" and result[1] == "ValueError", result


def test_one_network_trained_from_two_threads(tmp_path):
    """Two threads calling SGD on one Network: a clear error, or the same
    weights as the two runs one after the other."""
    import random
    import fastnet
    X = np.random.RandomState(0).rand(20000, 50)
    y = np.arange(20000) % 3

    def run(net, seed, errors):
        try:
            net.SGD((X, y), 3, 5, 0.5, quiet=True, shuffle_with=random.Random(seed))
        except (RuntimeError, ValueError) as e:
            errors.append(e)

    orders = []
    for first, second in ((1, 2), (2, 1)):
        net = fastnet.Network([50, 30, 3], random_state=0)
        run(net, first, [])
        run(net, second, [])
        orders.append(net.weights)
    net = fastnet.Network([50, 30, 3], random_state=0)
    errors = []
    threads = [threading.Thread(target=run, args=(net, seed, errors)) for seed in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        assert len(errors) == 1 and "thread" in str(errors[0])
    else:
        assert any(all(np.array_equal(a, b) for a, b in zip(net.weights, order))
                   for order in orders)

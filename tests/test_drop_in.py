"""The drop-in without surprises: network2's semantics wherever a script can look.

Data is read as it is at every call; the parameters stay packed between calls
but every replacement is noticed; any iterable of pairs is data; return
values have network2's types; and nothing a user does to a Network reaches
the kernels with shapes that do not match.
"""
import json
import random
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import warnings

import numpy as np
import pytest

from fastnet import engine, examples, network2, reference, speed
from fastnet._kernels import twins
from fastnet.parameters import Parameters
from fastnet.shuffling import shuffled_positions

from .helpers import max_abs_diff, same_fastnet_env

ROUND_OFF = 1e-10


def same_start(sizes, seed=0, cost=network2.CrossEntropyCost):
    """A fastnet Network and a reference Network with the same initial parameters."""
    net = network2.Network(sizes, cost=cost, random_state=seed)
    ref = reference.Network(sizes, cost=getattr(reference, cost.__name__))
    ref.weights = [w.copy() for w in net.weights]
    ref.biases = [b.copy() for b in net.biases]
    return net, ref


@pytest.fixture(scope="module")
def small(mnist_train):
    X, y = mnist_train
    return X[:120], y[:120]


def pairs_of(X, y, one_hot=True):
    return [(x.reshape(-1, 1).copy(), network2.vectorized_result(label) if one_hot
             else int(label)) for x, label in zip(X, y)]


# ---------------------------------------------------------------------------
# The shuffle replay and the BLAS wrappers, directly

@pytest.mark.parametrize("n", list(range(41)) + [2 ** k + d for k in range(1, 17)
                                                  for d in (-1, 1)])
def test_shuffle_replay_equals_random_shuffle(n):
    ours, theirs = random.Random(n), random.Random(n)
    theirs.random()                 # a generator part-way through its 624-word block
    ours.random()
    if n % 2:
        theirs.gauss(0, 1)          # and holding a second normal deviate for later
        ours.gauss(0, 1)
    items = list(range(n))
    theirs.shuffle(items)
    assert shuffled_positions(n, ours).tolist() == items
    assert ours.getstate() == theirs.getstate()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta, tb", [(False, False), (False, True), (True, False), (True, True)])
def test_row_major_gemm_wrapper(dtype, ta, tb):
    rng = np.random.RandomState(3)
    m, n, k = 5, 7, 3
    a = rng.randn(*((k, m) if ta else (m, k))).astype(dtype)
    b = rng.randn(*((n, k) if tb else (k, n))).astype(dtype)
    c = rng.randn(m, n).astype(dtype)
    expected = 0.5 * (a.T if ta else a) @ (b.T if tb else b) + 2.0 * c
    twins.blas_gemm(ta, tb, 0.5, a, b, 2.0, c)
    np.testing.assert_allclose(c, expected, rtol=1e-5 if dtype == np.float32 else 1e-13)


def test_blas_wrappers_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes do not match"):
        twins.blas_gemm(False, False, 1.0, np.ones((2, 3)), np.ones((4, 5)), 0.0,
                          np.ones((2, 5)))
    with pytest.raises(ValueError, match="shapes do not match"):
        twins.blas_gemv(False, 1.0, np.ones((2, 3)), np.ones(2), 0.0, np.ones(2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta", [False, True])
def test_row_major_gemv_wrapper(dtype, ta):
    rng = np.random.RandomState(4)
    a = rng.randn(6, 4).astype(dtype)
    x = rng.randn(6 if ta else 4).astype(dtype)
    y = rng.randn(4 if ta else 6).astype(dtype)
    expected = -1.5 * (a.T if ta else a) @ x + 0.25 * y
    twins.blas_gemv(ta, -1.5, a, x, 0.25, y)
    np.testing.assert_allclose(y, expected, rtol=1e-5 if dtype == np.float32 else 1e-13)


# ---------------------------------------------------------------------------
# All of network2: update_mini_batch, per-example calls, containers, types

def test_update_mini_batch_is_network2_s(small):
    X, y = small
    net, ref = same_start([784, 12, 10], seed=5)
    batch = pairs_of(X[:10], y[:10])
    state = random.getstate(), np.random.get_state()[1].copy()
    before = net.weights[0]
    net.update_mini_batch(batch, 0.5, 5.0, 50000)
    ref.update_mini_batch(batch, 0.5, 5.0, 50000)
    assert max_abs_diff(net.weights + net.biases, ref.weights + ref.biases) <= ROUND_OFF
    assert net.weights[0] is not before and not np.array_equal(net.weights[0], before)
    assert random.getstate() == state[0] and np.array_equal(np.random.get_state()[1], state[1])
    with pytest.raises(ValueError, match="mini_batch is empty"):
        net.update_mini_batch([], 0.5, 5.0, 10)


def test_backprop_and_feedforward_per_example_match_the_reference(small):
    X, y = small
    for cost in (network2.CrossEntropyCost, network2.QuadraticCost):
        net, ref = same_start([784, 30, 30, 10], seed=2, cost=cost)
        for x, label in zip(X[:5], y[:5]):
            column = x.reshape(784, 1)
            nabla_b, nabla_w = net.backprop(column, network2.vectorized_result(label))
            want_b, want_w = ref.backprop(column, network2.vectorized_result(label))
            assert [b.shape for b in nabla_b] == [b.shape for b in want_b]
            assert max_abs_diff(nabla_b + nabla_w, want_b + want_w) <= 1e-14
            assert max_abs_diff([net.feedforward(column)], [ref.feedforward(column)]) <= 1e-15
            # float32 columns (the book's loader gives them) are read as they are
            f32 = column.astype(np.float32)
            np.testing.assert_array_equal(net.feedforward(f32),
                                          net.feedforward(f32.astype(np.float64)))
        # The gradient is fresh: changing it changes nothing else.
        nabla_b[0][:] = 7.0
        assert not np.any(net.backprop(column, 3)[0][0] == 7.0)


def test_kept_bias_gradients_do_not_keep_the_weight_gradients_alive(small):
    # generate_gradient.py keeps nabla_b of 1,000 backprop calls; with views of one
    # flat gradient that would hold 1,000 x 198 KB.
    X, y = small
    net = network2.Network([784, 30, 30, 10], random_state=0)
    column, target = X[0].reshape(784, 1), network2.vectorized_result(int(y[0]))
    net.backprop(column, target)
    tracemalloc.start()
    kept = [net.backprop(column, target)[0] for _ in range(300)]
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(kept) == 300
    assert held < 300 * 20_000              # about 1 KB per call, not 198 KB


def test_any_iterable_of_pairs_is_data_and_a_2_tuple_of_pairs_is_pairs(small):
    X, y = small
    net = network2.Network([784, 10, 10], random_state=1)
    listed = pairs_of(X, y, one_hot=False)
    expected = net.accuracy(listed)
    xs, ys = [p[0] for p in listed], [p[1] for p in listed]
    assert net.accuracy(zip(xs, ys)) == expected
    assert net.accuracy(tuple(listed)) == expected
    assert net.accuracy(p for p in listed) == expected
    assert net.accuracy((X, y)) == expected
    two = (listed[0], listed[1])                      # a 2-tuple of pairs: never (X, y)
    assert net.accuracy(two) == net.accuracy(listed[:2])
    assert net.total_cost(two, 0.0) == net.total_cost(listed[:2], 0.0)

    # Training data and evaluation data as tuples give the same run as lists.
    results = []
    for make in (list, tuple):
        trained = network2.Network([784, 10, 10], random_state=1)
        training = make(pairs_of(X[:60], y[:60]))
        monitors = trained.SGD(training, 2, 10, 0.5, evaluation_data=make(listed),
                               monitor_evaluation_accuracy=True, quiet=True,
                               shuffle_with=random.Random(3))
        results.append((trained.weights + trained.biases, monitors[1]))
    assert max_abs_diff(results[0][0], results[1][0]) == 0.0
    assert results[0][1] == results[1][1]


def test_outputs_of_a_single_column_is_one_row(small):
    X, _ = small
    net = network2.Network([784, 10, 10], random_state=1)
    np.testing.assert_array_equal(net.outputs(X[0].reshape(784, 1)), net.outputs(X[:1]))
    assert net.outputs(X[0].reshape(784, 1)).shape == (1, 10)


def test_return_values_have_network2_s_types(small, capsys):
    X, y = small
    net = network2.Network([784, 10, 10], random_state=1)
    evaluation = pairs_of(X[:30], y[:30], one_hot=False)
    cost = net.total_cost(evaluation, 5.0, convert=True)
    assert type(cost) is np.float64
    assert type(net.accuracy(evaluation)) is int
    monitors = net.SGD(pairs_of(X[:60], y[:60]), 1, 10, 0.5, 5.0, evaluation_data=evaluation,
                       monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                       monitor_training_cost=True, monitor_training_accuracy=True)
    assert type(monitors) is tuple and len(monitors) == 4
    assert [type(v[0]) for v in monitors] == [np.float64, int, np.float64, int]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Epoch 0 training complete"
    assert printed[1] == "Cost on training data: {}".format(monitors[2][0])


def test_epochs_print_the_python_3_ports_lines_with_no_blank_line_between(small, capsys):
    X, y = small
    net = network2.Network([784, 10, 10], random_state=1)
    net.SGD((X[:60], y[:60]), 2, 10, 0.5, 5.0, evaluation_data=(X[60:90], y[60:90]),
            monitor_evaluation_accuracy=True)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4 and "" not in printed
    assert printed[0] == "Epoch 0 training complete" and printed[2] == "Epoch 1 training complete"
    assert printed[1].startswith("Accuracy on evaluation data: ") and printed[1].endswith(" / 30")


def port_early_stopping(accuracies, patience):
    """The epochs the Python 3 port trains, written out: it stops once `patience` epochs
    in a row bring no accuracy above the best so far (which starts at 0)."""
    best, without_gain = 0, 0
    for epoch, accuracy in enumerate(accuracies):
        if accuracy > best:
            best, without_gain = accuracy, 0
        else:
            without_gain += 1
        if without_gain == patience:
            return epoch + 1
    return len(accuracies)


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_early_stopping_n_stops_as_the_port_does(mnist_train, patience, capsys):
    X, y = mnist_train
    data, evaluation = (X[:200], y[:200]), (X[200:260], y[200:260])
    full = network2.Network([784, 12, 10], random_state=2)
    _, accuracies, _, _ = full.SGD(data, 12, 10, 2.0, evaluation_data=evaluation,
                                   monitor_evaluation_accuracy=True, quiet=True,
                                   shuffle_with=random.Random(4))
    expected = port_early_stopping(accuracies, patience)
    assert expected < 12 or patience == 3      # the small set plateaus: stopping is exercised
    net = network2.Network([784, 12, 10], random_state=2)
    _, stopped, _, _ = net.SGD(data, 12, 10, 2.0, 0.0, evaluation, False, True,
                               early_stopping_n=patience, shuffle_with=random.Random(4))
    assert stopped == accuracies[:expected]
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2] == "Epoch {} training complete".format(expected - 1)
    # The weights are those after the last epoch trained, as the port leaves them.
    again = network2.Network([784, 12, 10], random_state=2)
    again.SGD(data, expected, 10, 2.0, quiet=True, shuffle_with=random.Random(4))
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, again.weights))


def test_early_stopping_n_zero_changes_nothing_and_needs_an_accuracy(small):
    X, y = small
    runs = []
    for extra in ({}, {"early_stopping_n": 0}):
        net = network2.Network([784, 8, 10], random_state=5)
        net.SGD((X[:100], y[:100]), 2, 10, 0.5, quiet=True, shuffle_with=random.Random(1), **extra)
        runs.append(net.weights)
    assert all(np.array_equal(a, b) for a, b in zip(*runs))
    with pytest.raises(ValueError, match="early_stopping_n needs an accuracy"):
        network2.Network([784, 8, 10]).SGD((X[:10], y[:10]), 2, 10, 0.5, early_stopping_n=2)
    with pytest.raises(ValueError, match="early_stopping_n"):
        network2.Network([784, 8, 10]).SGD((X[:10], y[:10]), 2, 10, 0.5, early_stopping_n=-1,
                                           monitor_training_accuracy=True)


# ---------------------------------------------------------------------------
# The packed parameters: replacements are noticed, shapes always checked

def test_replaced_elements_lists_and_in_place_changes_are_all_seen(small):
    X, y = small
    data = (X[:20], y[:20])
    net, ref = same_start([784, 8, 10], seed=3)
    assert net.accuracy(data) == ref.accuracy(pairs_of(*data), convert=True)
    net.weights[1][:] = 0.5                        # in place, in our packed memory
    ref.weights[1][:] = 0.5
    assert net.total_cost(data, 1.0) == pytest.approx(
        ref.total_cost(pairs_of(*data), 1.0), rel=1e-12)
    replacement = np.full((8, 784), 0.01)
    net.weights[0] = replacement                   # an element replaced
    ref.weights[0] = replacement.copy()
    assert net.total_cost(data, 1.0) == pytest.approx(
        ref.total_cost(pairs_of(*data), 1.0), rel=1e-12)
    replacement[:] = -0.02                         # ... and then changed in place
    ref.weights[0][:] = -0.02
    assert net.total_cost(data, 1.0) == pytest.approx(
        ref.total_cost(pairs_of(*data), 1.0), rel=1e-12)
    net.biases = [np.zeros(8), np.ones(10)]        # a whole list, flat biases
    ref.biases = [np.zeros((8, 1)), np.ones((10, 1))]
    column = X[0].reshape(784, 1)
    assert net.feedforward(column).shape == (10, 1)
    assert max_abs_diff([net.feedforward(column)], [ref.feedforward(column)]) <= 1e-15


def test_edited_sizes_and_shortened_lists_give_errors_not_crashes(tmp_path, small):
    # Each case runs in a child process, so that a crash would fail the test
    # with its output instead of taking the test run down.
    script = textwrap.dedent("""
        import numpy as np
        from fastnet import network2, speed
        X = np.random.RandomState(0).rand(30, 784)
        y = np.arange(30) % 10
        outcomes = []
        def attempt(name, call):
            try:
                call()
                outcomes.append(name + ": no error")
            except (ValueError, TypeError) as error:
                outcomes.append(name + ": " + type(error).__name__)
        net = network2.Network([784, 5, 10])
        net.SGD((X, y), 1, 10, 0.1, quiet=True)
        net.sizes = [1000, 5, 10]                      # a wider input layer
        net.weights[0] = np.zeros((5, 1000))
        attempt("wider sizes, old data", lambda: net.SGD((X, y), 1, 10, 0.1, quiet=True))
        attempt("wider sizes, feedforward", lambda: net.feedforward(X[0].reshape(784, 1)))
        net = network2.Network([784, 5, 10])
        net.sizes = [784, 5, 7, 10]
        attempt("sizes longer than weights", lambda: net.accuracy((X, y)))
        net = network2.Network([784, 5, 10])
        del net.weights[1]
        attempt("shortened weights", lambda: net.feedforward(X[0].reshape(784, 1)))
        net = network2.Network([784, 5, 10])
        net.weights[0] = net.weights[0].T.copy()
        attempt("transposed weights, speeds",
                lambda: speed.train_with_speeds(net, (X, y), 1, 30, 0.1))
        net = network2.Network([784, 5, 10])
        net.weights[0].shape = (784, 5)                # our own view, reshaped in place
        attempt("reshaped view, backprop", lambda: net.backprop(X[0].reshape(784, 1), 1))
        print("|".join(outcomes))
        """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=str(tmp_path), env=same_fastnet_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    outcomes = dict(line.split(": ") for line in run.stdout.strip().split("|"))
    assert outcomes == {
        "wider sizes, old data": "ValueError", "wider sizes, feedforward": "ValueError",
        "sizes longer than weights": "ValueError", "shortened weights": "ValueError",
        "transposed weights, speeds": "ValueError",
        # The kernel reads our packed memory, which a reshaped view still is.
        "reshaped view, backprop": "no error"}


def test_old_references_keep_their_values_as_with_network2(small):
    X, y = small
    net = network2.Network([784, 6, 10], random_state=0)
    kept = net.weights[0]
    copy_of_kept = kept.copy()
    net.SGD((X[:40], y[:40]), 1, 10, 1.0, quiet=True)
    assert net.weights[0] is not kept                   # network2 makes new arrays
    np.testing.assert_array_equal(kept, copy_of_kept)


# ---------------------------------------------------------------------------
# Bad input: clear errors

def test_load_checks_shapes_before_allocating(tmp_path):
    bomb = tmp_path / "bomb.json"
    bomb.write_text(json.dumps({"sizes": [4000000, 2], "weights": [[[0.0]]],
                                "biases": [[[0.0], [0.0]]], "cost": "CrossEntropyCost"}))
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"bomb.json: weights\[0\] must have shape"):
        network2.load(str(bomb))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2 ** 20
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="binary.json.*UTF-8"):
        network2.load(str(binary))
    with pytest.raises(ValueError, match="is a directory"):
        network2.load(str(tmp_path))
    listed_cost = tmp_path / "cost.json"
    listed_cost.write_text(json.dumps({"sizes": [2, 1], "weights": [[[0.0, 0.0]]],
                                       "biases": [[[0.0]]], "cost": ["CrossEntropyCost"]}))
    with pytest.raises(ValueError, match="unknown cost"):
        network2.load(str(listed_cost))


def test_save_refuses_what_json_cannot_hold(tmp_path):
    net = network2.Network([3, 2], random_state=0)
    net.weights[0] = net.weights[0].astype(complex)
    with pytest.raises(TypeError, match=r"weights\[0\] must be a real numeric array"):
        net.save(str(tmp_path / "complex.json"))
    net = network2.Network([3, 2], random_state=0)
    net.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.save(str(tmp_path / "nan.json"))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("call, error, words", [
    (lambda: network2.Network([3, 2], cost=[1]), TypeError, "cost must be"),
    (lambda: network2.Network([3, 2], cost={}), TypeError, "cost must be"),
    (lambda: network2.Network([3, 2], random_state=2 ** 32), ValueError, "random_state"),
    (lambda: network2.Network([3, 2], random_state=-1), ValueError, "random_state"),
    (lambda: network2.Network([3, 2]).accuracy([(np.zeros((3, 1)), 2 ** 63)]), ValueError,
     "out of range"),
    (lambda: network2.Network([3, 2]).SGD([(np.zeros((3, 1)), 1)], 1, 1, 0.1,
                                          evaluation_data=[], monitor_evaluation_cost=True),
     ValueError, "evaluation_data"),
    (lambda: network2.Network([3, 2]).SGD((np.full((2, 3), 1e300), np.array([0, 1])), 1, 1,
                                          0.1, dtype=np.float32, quiet=True),
     ValueError, "float32"),
])
def test_unclear_errors_are_now_clear(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_bad_training_data_leaves_the_network_as_it_was(small):
    X, y = small
    X = X[:50].copy()
    X[37, 100] = np.inf
    net = network2.Network([784, 6, 10], random_state=0)
    before = [w.copy() for w in net.weights]
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.SGD((X, y[:50]), 2, 10, 0.5, quiet=True)
    assert max_abs_diff(net.weights, before) == 0.0


def test_weights_that_stop_being_finite_are_reported_with_their_epoch(small):
    X, y = small
    net = network2.Network([784, 6, 10], random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.SGD((X[:40], y[:40]), 3, 10, 1e308, 1e308, quiet=True)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "stopped being finite in epoch 0" in messages[0]
    assert caught[0].filename == __file__          # it points at the SGD call


def test_the_trainer_reports_non_finite_weights_and_leaves_warning_to_its_caller(small):
    """engine.Trainer says which epoch first left the weights non-finite (once), and
    measures only what it is asked to; it warns nothing itself."""
    X, y = small
    sizes = [784, 6, 10]
    net = network2.Network(sizes, random_state=0)
    params = Parameters.pack(sizes, net.weights, net.biases)
    train = examples.convert((X[:40], y[:40]), sizes, np.float64, "training_data")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with engine.Trainer(params, train, 10, 1e308, 1e308, network2.CrossEntropyCost,
                            monitor=("training_accuracy",)) as trainer:
            reported, measured = [], []
            for _ in range(3):
                reported.append(trainer.train_epoch(random.Random(0)))
                measured.append(trainer.measure())
            trainer.finish()
    assert caught == []
    assert reported == [True, False, False]
    assert [m.training_accuracy for m in measured] == trainer.training_accuracy
    assert all(m.training_cost is None and m.evaluation_accuracy is None for m in measured)


def test_warn_nonfinite_false_trains_the_same_without_a_warning(small):
    """Callers that train in threads (fastnet.remedies) report non-finite weights
    themselves: warn_nonfinite=False gives the same weights, and no warning to filter."""
    X, y = small
    nets = [network2.Network([784, 6, 10], random_state=0) for _ in range(2)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nets[0].SGD((X[:40], y[:40]), 3, 10, 1e308, 1e308, quiet=True, warn_nonfinite=False)
    assert caught == []
    with pytest.warns(RuntimeWarning, match="stopped being finite"):
        nets[1].SGD((X[:40], y[:40]), 3, 10, 1e308, 1e308, quiet=True, warn_nonfinite=True)
    for a, b in zip(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases):
        assert np.array_equal(a, b, equal_nan=True)


def test_one_network_trained_from_two_threads_at_once_is_refused(mnist_train):
    X, y = mnist_train
    net = network2.Network([784, 30, 10], random_state=0)
    started = threading.Event()

    def first_batch_done(_):
        started.set()
        release.wait(30)

    release = threading.Event()
    worker = threading.Thread(target=lambda: net.SGD((X[:5000], y[:5000]), 1, 10, 0.1,
                                                     quiet=True, progress=first_batch_done))
    worker.start()
    assert started.wait(30)
    try:
        with pytest.raises(RuntimeError, match="already being trained"):
            net.SGD((X[:100], y[:100]), 1, 10, 0.1, quiet=True)
    finally:
        release.set()
        worker.join()
    net.SGD((X[:100], y[:100]), 1, 10, 0.1, quiet=True)     # free again afterwards


def test_train_with_speeds_checks_its_arguments(small):
    X, y = small
    net = speed.initial_network([784, 5, 5, 10], 0)
    with pytest.raises(ValueError, match="eta must be finite"):
        speed.train_with_speeds(net, (X, y), 1, 10, float("nan"))


def test_full_batch_descent_leaves_out_all_zero_inputs_exactly(mnist_train):
    # One mini-batch of every example (>= 500): pixels that are zero in every image
    # only decay, and the rest must match network2's arithmetic to round-off.
    X, y = mnist_train
    X, y = X[:600], y[:600]
    zero = ~X.any(axis=0)
    assert zero.sum() > 50
    net, ref = same_start([784, 12, 10], seed=6)
    before = net.weights[0].copy()
    net.SGD(pairs_of(X, y), 3, 600, 0.5, 5.0, quiet=True, threads=2,
            shuffle_with=random.Random(1))
    random.seed(1)
    reference_pairs = pairs_of(X, y)
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        ref.SGD(reference_pairs, 3, 600, 0.5, 5.0)
    assert max_abs_diff(net.weights + net.biases, ref.weights + ref.biases) <= ROUND_OFF
    decay = 1 - 0.5 * 5.0 / 600
    np.testing.assert_array_equal(net.weights[0][:, zero],
                                  before[:, zero] * decay * decay * decay)

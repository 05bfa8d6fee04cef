"""fastnet's compiled Network against the per-example NumPy reference, on real MNIST.

The reference (fastnet.reference) is network2's arithmetic example by example;
fastnet batches it through BLAS, so float64 results may differ by summation
order only: the tolerances below are round-off, not modelling slack.
"""
import io
import json
import random
from contextlib import redirect_stdout

import numpy as np
import pytest

import fastnet
from fastnet import network2, reference

from .helpers import as_network2_list, max_abs_diff, seed

ROUND_OFF = 1e-10


def run_quietly(fn, *args, **kwargs):
    out = io.StringIO()
    with redirect_stdout(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


@pytest.fixture(scope="module")
def first_10000(mnist_train):
    X, y = mnist_train
    return X[:10000], y[:10000]


@pytest.fixture(scope="module")
def validation_1000(mnist_validation):
    X, y = mnist_validation
    return X[:1000], y[:1000]


def test_one_epoch_matches_reference_on_10000_mnist_images(first_10000, validation_1000):
    X, y = first_10000
    Xv, yv = validation_1000
    monitors = dict(monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                    monitor_training_cost=True, monitor_training_accuracy=True)

    seed(7)
    ref = reference.Network([784, 30, 10])
    ref_train = as_network2_list(X, y)
    ref_result, ref_printed = run_quietly(
        ref.SGD, ref_train, 1, 10, 0.1, 5.0,
        evaluation_data=as_network2_list(Xv, yv, one_hot=False), **monitors)
    ref_random, ref_np_random = random.getstate(), np.random.get_state()

    seed(7)
    net = network2.Network([784, 30, 10])
    fast_train = as_network2_list(X, y)
    fast_result, fast_printed = run_quietly(
        net.SGD, fast_train, 1, 10, 0.1, 5.0,
        evaluation_data=as_network2_list(Xv, yv, one_hot=False), **monitors)

    # The same random numbers were drawn from both generators...
    assert random.getstate() == ref_random
    fast_np = np.random.get_state()
    assert fast_np[2:] == ref_np_random[2:] and np.array_equal(fast_np[1], ref_np_random[1])
    # ... the caller's list was shuffled in place the same way ...
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(ref_train, fast_train))
    # ... and the parameters agree to round-off.
    assert max_abs_diff(net.weights, ref.weights) <= ROUND_OFF
    assert max_abs_diff(net.biases, ref.biases) <= ROUND_OFF
    assert all(w.dtype == np.float64 for w in net.weights + net.biases)
    assert [b.shape for b in net.biases] == [(30, 1), (10, 1)]

    eval_cost, eval_acc, train_cost, train_acc = fast_result
    assert eval_acc == ref_result[1] and train_acc == ref_result[3]
    assert all(isinstance(a, int) for a in eval_acc + train_acc)
    np.testing.assert_allclose(eval_cost, ref_result[0], rtol=1e-12)
    np.testing.assert_allclose(train_cost, ref_result[2], rtol=1e-12)
    # The printed lines are network2's, numbers aside (costs may differ in the last digits).
    assert [l.split(":")[0] for l in fast_printed.splitlines()] == \
        [l.split(":")[0] for l in ref_printed.splitlines()]
    assert fast_printed.splitlines()[0] == "Epoch 0 training complete"
    assert "Accuracy on evaluation data: {} / 1000".format(eval_acc[0]) in fast_printed
    assert "Accuracy on training data: {} / 10000".format(train_acc[0]) in fast_printed
    assert fast_printed.endswith(" / 1000\n")      # no empty line after the epoch


def test_five_epochs_still_agree_and_arrays_give_the_same_run(first_10000, validation_1000):
    X, y = first_10000[0][:3000], first_10000[1][:3000]
    Xv, yv = validation_1000

    seed(11)
    ref = reference.Network([784, 30, 10])
    ref_result, _ = run_quietly(ref.SGD, as_network2_list(X, y), 5, 10, 0.5, 5.0,
                                evaluation_data=as_network2_list(Xv, yv, one_hot=False),
                                monitor_evaluation_accuracy=True)

    seed(11)
    net = fastnet.Network([784, 30, 10])
    result, _ = run_quietly(net.SGD, (X, y), 5, 10, 0.5, 5.0, evaluation_data=(Xv, yv),
                            monitor_evaluation_accuracy=True)
    diff = max(max_abs_diff(net.weights, ref.weights), max_abs_diff(net.biases, ref.biases))
    assert diff <= ROUND_OFF
    assert result[1] == ref_result[1]
    assert len(result[1]) == 5 and result[0] == result[2] == result[3] == []


def test_float32_agrees_within_float32_precision(first_10000):
    X, y = first_10000
    seed(3)
    ref = reference.Network([784, 30, 10])
    run_quietly(ref.SGD, as_network2_list(X, y), 1, 10, 0.1, 5.0)
    seed(3)
    net = fastnet.Network([784, 30, 10])
    run_quietly(net.SGD, (X.astype(np.float32), y), 1, 10, 0.1, 5.0, dtype=np.float32)
    diff = max(max_abs_diff(net.weights, ref.weights), max_abs_diff(net.biases, ref.biases))
    # 1,000 updates in float32 (eps 1.2e-7) on weights of size ~0.1-1.
    assert diff < 1e-4
    assert diff > 1e-9  # it really ran in float32
    assert net.accuracy((X, y)) == ref.accuracy(as_network2_list(X, y), convert=True)


@pytest.mark.parametrize("sizes", [[5, 3, 2], [4, 6, 5, 3], [3, 2, 2, 2, 4]])
@pytest.mark.parametrize("cost", [network2.CrossEntropyCost, network2.QuadraticCost])
def test_backprop_matches_finite_differences(sizes, cost):
    rng = np.random.RandomState(sum(sizes))
    net = network2.Network(sizes, cost=cost)
    net.weights = [rng.randn(*w.shape) for w in net.weights]
    net.biases = [rng.randn(*b.shape) for b in net.biases]
    x = rng.rand(sizes[0], 1)
    y = np.zeros((sizes[-1], 1))
    y[rng.randint(sizes[-1])] = 1.0
    nabla_b, nabla_w = net.backprop(x, y)

    def cost_at():
        return cost.fn(net.feedforward(x), y)

    h = 1e-6
    worst = 0.0
    for params, grads in ((net.weights, nabla_w), (net.biases, nabla_b)):
        for p, g in zip(params, grads):
            assert g.shape == p.shape
            for index in np.ndindex(p.shape):
                saved = p[index]
                p[index] = saved + h
                up = cost_at()
                p[index] = saved - h
                down = cost_at()
                p[index] = saved
                worst = max(worst, abs((up - down) / (2 * h) - g[index]))
    assert worst < 1e-7


@pytest.mark.parametrize("cost", [network2.CrossEntropyCost, network2.QuadraticCost])
def test_backprop_and_gradients_match_reference(cost):
    rng = np.random.RandomState(5)
    sizes = [6, 5, 4, 3]
    seed(2)
    net = network2.Network(sizes, cost=cost)
    ref = reference.Network(sizes, cost=getattr(reference, cost.__name__))
    ref.weights = [w.copy() for w in net.weights]
    ref.biases = [b.copy() for b in net.biases]
    X = rng.rand(40, 6)
    labels = rng.randint(3, size=40)
    data = [(x.reshape(6, 1), network2.vectorized_result(l, 3)) for x, l in zip(X, labels)]
    nb, nw = net.backprop(*data[0])
    rb, rw = ref.backprop(*data[0])
    assert max_abs_diff(nb + nw, rb + rw) < 1e-15
    mean_b, mean_w = net.gradients((X, labels))
    sums = [ref.backprop(x, y) for x, y in data]
    ref_b = [sum(s[0][l] for s in sums) / 40 for l in range(3)]
    ref_w = [sum(s[1][l] for s in sums) / 40 for l in range(3)]
    assert max_abs_diff(mean_b + mean_w, ref_b + ref_w) < 1e-15
    speeds = net.learning_speed(data)
    assert speeds == pytest.approx([np.linalg.norm(b) for b in ref_b[:-1]], rel=1e-13)


def test_inference_and_cost_match_reference(first_10000, validation_1000):
    X, y = first_10000[0][:500], first_10000[1][:500]
    Xv, yv = validation_1000
    for cost_name in ("CrossEntropyCost", "QuadraticCost"):
        seed(4)
        net = network2.Network([784, 20, 10], cost=getattr(network2, cost_name))
        ref = reference.Network([784, 20, 10], cost=getattr(reference, cost_name))
        ref.weights, ref.biases = net.weights, net.biases
        train, evaluation = as_network2_list(X, y), as_network2_list(Xv, yv, one_hot=False)
        assert net.accuracy(evaluation) == ref.accuracy(evaluation) == net.accuracy((Xv, yv))
        assert net.accuracy(train, convert=True) == ref.accuracy(train, convert=True)
        assert net.total_cost(train, 5.0) == pytest.approx(ref.total_cost(train, 5.0), rel=1e-12)
        assert net.total_cost(evaluation, 5.0, convert=True) == pytest.approx(
            ref.total_cost(evaluation, 5.0, convert=True), rel=1e-12)
        x = Xv[0].reshape(784, 1)
        np.testing.assert_allclose(net.feedforward(x), ref.feedforward(x), rtol=1e-14)
        np.testing.assert_allclose(net.outputs(Xv[:3]), np.hstack(
            [ref.feedforward(Xv[i].reshape(784, 1)) for i in range(3)]).T, rtol=1e-13)


def test_initialisers_draw_like_network2():
    seed(9)
    ref = reference.Network([7, 5, 3])
    ref.large_weight_initializer()
    seed(9)
    net = network2.Network([7, 5, 3])
    net.large_weight_initializer()
    assert max_abs_diff(net.weights + net.biases, ref.weights + ref.biases) == 0.0
    assert net.num_layers == 3 and net.sizes == [7, 5, 3] and net.cost is network2.CrossEntropyCost


def test_replaced_weights_take_effect_in_the_next_sgd(first_10000):
    X, y = first_10000[0][:200], first_10000[1][:200]
    seed(1)
    net = network2.Network([784, 10, 10])
    ref = reference.Network([784, 10, 10])
    new_weights = [np.full(w.shape, 0.01) for w in net.weights]
    net.weights = [w.copy() for w in new_weights]
    ref.weights = [w.copy() for w in new_weights]
    ref.biases = [b.copy() for b in net.biases]
    seed(2)
    run_quietly(ref.SGD, as_network2_list(X, y), 2, 7, 0.3, 1.0)
    seed(2)
    run_quietly(net.SGD, as_network2_list(X, y), 2, 7, 0.3, 1.0)
    assert max_abs_diff(net.weights + net.biases, ref.weights + ref.biases) <= ROUND_OFF


def test_data_changed_in_place_between_calls_is_read_again(first_10000):
    # network2 reads the data as it is at each call; so does fastnet (no cache).
    X, y = first_10000[0][:100], first_10000[1][:100]
    for make in (lambda: as_network2_list(X, y), lambda: (X.copy(), y.copy())):
        seed(3)
        net = network2.Network([784, 5, 10])
        ref = reference.Network([784, 5, 10])
        ref.weights, ref.biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
        data = make()
        assert net.accuracy(data) == ref.accuracy(as_network2_list(X, y, one_hot=True),
                                                  convert=True)
        if isinstance(data, list):
            data[0] = (np.zeros((784, 1)), data[0][1])
            data[1][0][:] = 0.5                      # a column changed in place
            changed = data
        else:
            data[0][0] = 0.0
            data[0][1] = 0.5
            changed = [(x.reshape(784, 1).copy(), network2.vectorized_result(label))
                       for x, label in zip(data[0], data[1])]
        ref_list = [(x.copy(), t.copy()) for x, t in changed]
        assert net.total_cost(data, 0.0) == pytest.approx(ref.total_cost(ref_list, 0.0),
                                                           rel=1e-12)
        gradients = net.gradients(data)
        expected = [ref.backprop(x, t) for x, t in ref_list]
        mean_b = [sum(e[0][l] for e in expected) / len(expected) for l in range(2)]
        assert max_abs_diff(gradients[0], mean_b) <= ROUND_OFF


def test_json_round_trip_both_ways(tmp_path):
    seed(5)
    net = network2.Network([6, 4, 3], cost=network2.QuadraticCost)
    fast_file, ref_file = tmp_path / "fast.json", tmp_path / "ref.json"
    net.save(str(fast_file))
    ref = reference.Network([6, 4, 3], cost=reference.QuadraticCost)
    ref.weights, ref.biases = net.weights, net.biases
    ref.save(str(ref_file))
    # The very same file contents as network2 writes.
    assert json.loads(fast_file.read_text()) == json.loads(ref_file.read_text())
    assert fast_file.read_text() == ref_file.read_text()
    from_ref = network2.load(str(ref_file))
    to_ref = reference.load(str(fast_file))
    assert from_ref.cost is network2.QuadraticCost and to_ref.cost is reference.QuadraticCost
    assert max_abs_diff(from_ref.weights + from_ref.biases, net.weights + net.biases) == 0.0
    assert max_abs_diff(to_ref.weights + to_ref.biases, net.weights + net.biases) == 0.0
    assert not list(tmp_path.glob(".fastnet-*"))            # no temporary file left behind
    assert fast_file.stat().st_mode & 0o777 == ref_file.stat().st_mode & 0o777


def test_load_draws_initial_weights_like_network2(tmp_path):
    seed(5)
    network2.Network([3, 2]).save(str(tmp_path / "n.json"))
    seed(6)
    reference.load(str(tmp_path / "n.json"))
    after_ref = np.random.get_state()[2]
    seed(6)
    network2.load(str(tmp_path / "n.json"))
    assert np.random.get_state()[2] == after_ref


def test_progress_reports_every_mini_batch_and_interrupt_keeps_weights(first_10000):
    X, y = first_10000[0][:1000], first_10000[1][:1000]
    seen = []
    net = network2.Network([784, 10, 10])
    run_quietly(net.SGD, (X, y), 2, 10, 0.1, progress=seen.append)
    assert sum(seen) == 2 * 100 and len(seen) > 2

    seed(8)
    net = network2.Network([784, 10, 10])
    before = [w.copy() for w in net.weights]
    calls = []

    def interrupt(done):
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_quietly(net.SGD, (X, y), 1, 10, 0.1, progress=interrupt)
    partial = [w.copy() for w in net.weights]
    assert max_abs_diff(partial, before) > 0      # the finished mini-batches were kept
    # ... and they are exactly the first 3 chunks of the same run.
    seed(8)
    again = network2.Network([784, 10, 10])
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        run_quietly(again.SGD, (X, y), 1, 10, 0.1, progress=interrupt)
    assert max_abs_diff(again.weights, partial) == 0.0


def test_quiet_prints_nothing_and_learning_speed_monitor(first_10000, capsys):
    X, y = first_10000[0][:300], first_10000[1][:300]
    net = network2.Network([784, 8, 8, 10])
    result = net.SGD((X, y), 2, 30, 0.1, 1.0, quiet=True, monitor_learning_speed=(X, y))
    assert capsys.readouterr().out == ""
    assert len(result) == 5 and len(result[4]) == 2
    assert result[4][-1] == pytest.approx(net.learning_speed((X, y)), rel=1e-14)


def test_epochs_split_over_several_sgd_calls_follow_each_form_s_rule(first_10000):
    # A network2 list carries its shuffled order from call to call, as network2's
    # does; arrays are never reordered, so every call starts from their own order.
    X, y = first_10000[0][:600], first_10000[1][:600]

    def train(calls, make):
        seed(21)
        net = network2.Network([784, 12, 10])
        data = make()
        for _ in range(calls):
            net.SGD(data if calls == 1 or not callable(data) else data(), 3 // calls, 10, 0.2,
                    2.0, quiet=True)
        return net.weights + net.biases

    one_call = train(1, lambda: as_network2_list(X, y))
    list_split = train(3, lambda: as_network2_list(X, y))
    assert max_abs_diff(one_call, list_split) == 0.0
    assert max_abs_diff(one_call, train(1, lambda: (X, y))) <= ROUND_OFF
    # Arrays in three calls == a list put back in its original order before each call.
    arrays_split = train(3, lambda: (X, y))
    fresh_lists = train(3, lambda: (lambda: as_network2_list(X, y)))
    assert max_abs_diff(arrays_split, fresh_lists) <= ROUND_OFF
    assert max_abs_diff(arrays_split, one_call) > 1e-3


def test_arrays_are_checked_again_when_a_new_array_is_passed(first_10000):
    X, y = first_10000[0][:50], first_10000[1][:50]
    net = network2.Network([784, 5, 10])
    net.SGD((X, y), 1, 10, 0.1, quiet=True)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.SGD((bad, y), 1, 10, 0.1, quiet=True)


def test_random_state_draws_like_seeding_np_random_without_touching_it():
    seed(13)
    expected = network2.Network([9, 4, 3])
    before = np.random.get_state()
    net = network2.Network([9, 4, 3], random_state=13)
    after = np.random.get_state()
    assert before[2] == after[2] and np.array_equal(before[1], after[1])
    assert max_abs_diff(net.weights + net.biases, expected.weights + expected.biases) == 0.0
    with pytest.raises(TypeError, match="random_state"):
        network2.Network([2, 2], random_state="13")


def test_full_batch_learning_speed_monitor_equals_separate_calls(first_10000):
    # The chapter's setting: one mini-batch holding all the monitored examples,
    # where the monitor reads each step's own bias gradient.
    X, y = first_10000[0][:1000], first_10000[1][:1000]
    net = network2.Network([784, 30, 30, 10], random_state=1)
    twin = network2.Network([784, 30, 30, 10], random_state=1)
    data = (X, y)
    speeds = net.SGD(data, 4, 1000, 0.1, 5.0, quiet=True, monitor_learning_speed=data,
                     shuffle_with=random.Random(0))[4]
    separate = []
    generator = random.Random(0)
    for _ in range(4):
        twin.SGD(data, 1, 1000, 0.1, 5.0, quiet=True, shuffle_with=generator)
        separate.append(twin.learning_speed(data))
    assert len(speeds) == 4
    # Equal up to the order in which the 1,000 examples are summed.
    np.testing.assert_allclose(speeds, separate, rtol=1e-12)
    # Each array call starts from the rows' own order: only summation order differs.
    assert max_abs_diff(net.weights, twin.weights) <= 1e-14


def test_pickles_and_copies_hold_the_parameters_only_and_stay_live(first_10000):
    import copy
    import pickle
    X, y = first_10000[0][:2000], first_10000[1][:2000]
    net = network2.Network([784, 10, 10], random_state=0)
    net.SGD((X, y), 1, 10, 0.1, quiet=True)
    restored = pickle.loads(pickle.dumps(net))
    assert len(pickle.dumps(net)) < X.nbytes / 20        # not the 12.5 MB of training data
    assert max_abs_diff(restored.weights + restored.biases, net.weights + net.biases) == 0.0
    assert restored.accuracy((X, y)) == net.accuracy((X, y))
    for other in (restored, copy.deepcopy(net), copy.copy(net)):
        other.weights[-1][:] = 0.0                        # in place, in the copy only
        other.biases[1][:] = 0.0
        assert other.feedforward(X[0].reshape(784, 1)) == pytest.approx(0.5)
        assert net.feedforward(X[0].reshape(784, 1)) != pytest.approx(0.5)


@pytest.mark.parametrize("stored, trained", [(np.float32, np.float64), (np.float64, np.float32)])
def test_inputs_in_the_other_precision_are_converted_exactly_as_they_are_read(
        first_10000, stored, trained):
    X, y = first_10000[0][:2000].astype(stored), first_10000[1][:2000]
    results = []
    for inputs in (X, X.astype(trained)):          # converted by the kernel, or beforehand
        net = network2.Network([784, 20, 10], random_state=4)
        net.SGD((inputs, y), 2, 10, 0.1, 5.0, dtype=trained, quiet=True,
                shuffle_with=random.Random(4))
        results.append((net.weights + net.biases, net.outputs(inputs, dtype=trained),
                        net.gradients((inputs, y), dtype=trained),
                        net.accuracy((inputs, y))))
    (p1, out1, grad1, acc1), (p2, out2, grad2, acc2) = results
    assert max_abs_diff(p1, p2) == 0.0
    assert np.array_equal(out1, out2) and acc1 == acc2
    assert max_abs_diff(grad1[0] + grad1[1], grad2[0] + grad2[1]) == 0.0


def test_network2_lists_of_float32_columns_stay_float32(first_10000):
    from fastnet import examples
    X, y = first_10000[0][:100].astype(np.float32), first_10000[1][:100]
    data = [(x.reshape(784, 1), network2.vectorized_result(l)) for x, l in zip(X, y)]
    assert examples.convert(data, [784, 5, 10], np.float64, "data").X.dtype == np.float32
    data[7] = (data[7][0].astype(np.float64), data[7][1])     # one float64 column: no loss
    converted = examples.convert(data, [784, 5, 10], np.float64, "data")
    assert converted.X.dtype == np.float64
    assert np.array_equal(converted.X, X.astype(np.float64))

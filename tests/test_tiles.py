"""The tile kernels (fastnet/_kernels/tiles.c) at every level this CPU runs, and BLAS.

Every level must train to the per-example NumPy reference's numbers (float64 to
round-off, float32 within its precision), give network2's per-example calls, take
every activation, find NaN in its inputs before it trains on them, and agree
with the all-BLAS path.  Shapes are chosen to hit the kernels' edges: layers
whose widths are not multiples of a vector or a tile, a single row, mini-batches
on both sides of tile_rows().
"""
import io
import os
import random
import subprocess
import sys
import threading
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

from fastnet import dispatch, network2, reference
from fastnet._kernels import training as kernels
from fastnet._kernels.workspace import Workspace

from .helpers import as_network2_list, max_abs_diff, runnable, same_fastnet_env, seed

ROUND_OFF = 1e-10


LEVELS = [runnable(level) for level in dispatch.LEVELS]


@pytest.fixture(scope="module")
def slice_300(mnist_train):
    X, y = mnist_train
    return np.ascontiguousarray(X[:300]), y[:300]


def train(sizes, data, mini_batch_size, level, dtype=np.float64, activation="sigmoid",
          output="sigmoid", cost=network2.CrossEntropyCost, epochs=1, lmbda=2.0):
    seed(5)
    net = network2.Network(sizes, cost, activation=activation, output=output)
    with dispatch.using(level):
        net.SGD(data, epochs, mini_batch_size, 0.3, lmbda, quiet=True, dtype=dtype)
    return net


def reference_run(sizes, X, y, mini_batch_size, activation="sigmoid", output="sigmoid",
                  cost=reference.CrossEntropyCost, lmbda=2.0):
    seed(5)
    ref = reference.Network(sizes, cost, activation=activation, output=output)
    with redirect_stdout(io.StringIO()):
        ref.SGD(as_network2_list(X, y), 1, mini_batch_size, 0.3, lmbda)
    return ref


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("sizes, mini_batch_size", [
    ([784, 30, 10], 10),              # the book's network
    ([784, 13, 7, 10], 7),            # widths off every vector and tile size
    ([784, 30, 10], 1),               # one row per step
    ([784, 21, 10], 41),              # row tiles past the first pass of 8 tiles
    ([784, 9, 10], 257),              # over tile_rows() (256): BLAS, then a short tail batch
    ([784, 21, 10], 13),              # first layer transposed: more rows than a column tile
                                      # holds, 21 outputs off the vectors, a last batch of 1
], ids=["784-30-10/mb10", "784-13-7-10/mb7", "784-30-10/mb1", "784-21-10/mb41",
        "784-9-10/mb257", "784-21-10/mb13"])
def test_an_epoch_matches_the_reference(slice_300, level, sizes, mini_batch_size):
    X, y = slice_300
    ref = reference_run(sizes, X, y, mini_batch_size)
    # network2's list of pairs (rows copied) and the array form (rows read in place).
    for data in (as_network2_list(X, y), (X, y)):
        net = train(sizes, data, mini_batch_size, level)
        worst = max(max_abs_diff(net.weights, ref.weights), max_abs_diff(net.biases, ref.biases))
        assert worst <= ROUND_OFF, worst


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("lmbda", [100.0, 1500.0], ids=["decay-0.9", "decay-minus-0.5"])
def test_a_strong_weight_decay_matches_the_reference(slice_300, level, lmbda):
    """The transposed first layer carries the decay (1 - eta*lmbda/n per step) as a
    scale, folded into its values when the scale leaves [1/2, 2]: here after a few
    steps (0.9 per step), or at every step (-0.5)."""
    X, y = slice_300
    sizes = [784, 30, 10]
    ref = reference_run(sizes, X, y, 10, lmbda=lmbda)
    net = train(sizes, (X, y), 10, level, lmbda=lmbda)
    worst = max(max_abs_diff(net.weights, ref.weights), max_abs_diff(net.biases, ref.biases))
    assert worst <= ROUND_OFF, worst


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("sizes, output, cost, ref_cost", [
    ([784, 20], "sigmoid", network2.CrossEntropyCost, reference.CrossEntropyCost),
    ([784, 16], "softmax", network2.LogLikelihoodCost, reference.LogLikelihoodCost),
], ids=["784-20-sigmoid", "784-16-softmax"])
def test_a_transposed_first_layer_that_is_also_the_output_layer(slice_300, level, sizes, output,
                                                                cost, ref_cost):
    X, y = slice_300
    data = [(x.reshape(-1, 1), network2.vectorized_result(t, sizes[-1])) for x, t in zip(X, y)]
    seed(5)
    ref = reference.Network(sizes, ref_cost, output=output)
    with redirect_stdout(io.StringIO()):
        ref.SGD(data, 1, 10, 0.3, 2.0)
    seed(5)
    net = network2.Network(sizes, cost, output=output)
    with dispatch.using(level):
        net.SGD((X, y), 1, 10, 0.3, 2.0, quiet=True)
    worst = max(max_abs_diff(net.weights, ref.weights), max_abs_diff(net.biases, ref.biases))
    assert worst <= ROUND_OFF, worst


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mini_batch_size, chunks", [(10, False), (10, True), (7, False),
                                                     (300, False)],
                         ids=["mb10", "mb10-in-chunks", "mb7", "whole-set"])
def test_int_labels_train_exactly_as_their_one_hot_rows(slice_300, level, dtype,
                                                        mini_batch_size, chunks):
    """Int labels reach the kernel as labels, each naming a row of the identity (no
    one-hot array of the set is made); one-hot target rows are read from the targets
    themselves.  The same numbers either way, bit for bit.  (21 hidden neurons: the
    first layer transposed in the whole-epoch calls; the calls of one mini-batch in
    chunks keep the usual layout.)"""
    X, y = slice_300
    one_hot = np.eye(10)[y]
    nets = []
    for targets in (y, one_hot):
        seed(5)
        net = network2.Network([784, 21, 10])
        with dispatch.using(level):
            net.SGD((X, targets), 2, mini_batch_size, 0.3, 2.0, quiet=True, dtype=dtype,
                    progress=(lambda k: None) if chunks else None)
        nets.append(net)
    assert max_abs_diff(nets[0].weights, nets[1].weights) == 0
    assert max_abs_diff(nets[0].biases, nets[1].biases) == 0


def test_target_rows_must_give_every_input_row_one():
    sizes = np.array([4, 3, 2], dtype=np.intc)
    params = np.zeros(4 * 3 + 3 + 3 * 2 + 2)
    X, targets = np.zeros((5, 4)), np.eye(2)
    order = np.arange(5, dtype=np.intp)
    work = Workspace(sizes, 2, params.itemsize, 0)
    with pytest.raises(ValueError, match="target_rows"):
        kernels.sgd_epoch(work=work, inputs=X, targets=targets, order=order, params=params,
                          cost=kernels.Cost.CROSS_ENTROPY, mini_batch_size=2, eta=0.1, lmbda=0.0,
                          n=5, first_batch=0, stop_batch=3, target_rows=np.zeros(4, dtype=np.intp))


@pytest.mark.parametrize("level", LEVELS)
def test_float32_agrees_with_float64_within_its_precision(slice_300, level):
    X, y = slice_300
    sizes = [784, 30, 10]
    net64 = train(sizes, (X, y), 10, level)
    # float32 rows read in place, and float64 rows converted as they are read.
    for rows in (X.astype(np.float32), X):
        net32 = train(sizes, (rows, y), 10, level, dtype=np.float32)
        worst = max(max_abs_diff(net32.weights, net64.weights),
                    max_abs_diff(net32.biases, net64.biases))
        assert worst <= 1e-4, worst


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("activation, output, cost, ref_cost", [
    ("tanh", "sigmoid", network2.QuadraticCost, reference.QuadraticCost),
    ("relu", "softmax", network2.LogLikelihoodCost, reference.LogLikelihoodCost),
], ids=["tanh-sigmoid-quadratic", "relu-softmax-loglikelihood"])
def test_every_activation_runs_on_every_level(slice_300, level, activation, output, cost,
                                              ref_cost):
    X, y = slice_300
    sizes = [784, 17, 10]
    ref = reference_run(sizes, X, y, 10, activation, output, ref_cost)
    net = train(sizes, (X, y), 10, level, activation=activation, output=output, cost=cost)
    worst = max(max_abs_diff(net.weights, ref.weights), max_abs_diff(net.biases, ref.biases))
    assert worst <= ROUND_OFF, worst


@pytest.mark.parametrize("level", LEVELS)
def test_per_example_calls_match_the_reference(slice_300, level):
    X, y = slice_300
    sizes = [784, 30, 30, 10]
    seed(8)
    ref = reference.Network(sizes)
    seed(8)
    net = network2.Network(sizes)
    with dispatch.using(level):
        for i in (0, 1, 2):
            x = X[i].reshape(784, 1)
            target = network2.vectorized_result(y[i])
            assert np.max(np.abs(net.feedforward(x) - ref.feedforward(x))) <= ROUND_OFF
            nabla_b, nabla_w = net.backprop(x, target)
            ref_b, ref_w = ref.backprop(x, target)
            assert max_abs_diff(nabla_b + nabla_w, ref_b + ref_w) <= ROUND_OFF


@pytest.mark.parametrize("level", LEVELS)
def test_gradients_match_finite_differences(level):
    """The summed gradient of a small network, through the tile kernels, against
    central differences of the total cost."""
    rng = np.random.default_rng(3)
    sizes = [11, 6, 5, 3]
    X = rng.standard_normal((9, 11))
    y = rng.integers(0, 3, 9)
    seed(2)
    net = network2.Network(sizes)
    data = [(x.reshape(-1, 1), network2.vectorized_result(t, 3)) for x, t in zip(X, y)]
    with dispatch.using(level):
        mean_b, mean_w = net.gradients(data)
        h = 1e-6
        worst = 0.0
        for layer in range(len(sizes) - 1):
            for (i, j) in [(0, 0), (1, 2), (sizes[layer + 1] - 1, sizes[layer] - 1)]:
                w = net.weights[layer]
                keep = w[i, j]
                w[i, j] = keep + h
                up = net.total_cost(data, 0.0)
                w[i, j] = keep - h
                down = net.total_cost(data, 0.0)
                w[i, j] = keep
                worst = max(worst, abs((up - down) / (2 * h) - mean_w[layer][i, j]))
    assert worst <= 1e-8, worst


@pytest.mark.parametrize("level", LEVELS)
def test_tiles_agree_with_blas_on_the_depth_case(slice_300, level):
    X, y = slice_300
    sizes = [784, 30, 30, 30, 30, 10]
    ours = train(sizes, (X, y), 10, level, epochs=2)
    blas = train(sizes, (X, y), 10, "blas", epochs=2)
    assert max(max_abs_diff(ours.weights, blas.weights),
               max_abs_diff(ours.biases, blas.biases)) <= ROUND_OFF


@pytest.mark.parametrize("level", LEVELS)
def test_nan_in_a_row_read_in_place_stops_before_training(slice_300, level):
    X, y = slice_300
    bad = X.copy()
    bad[123, 400] = np.nan
    seed(1)
    net = network2.Network([784, 30, 10])
    before = [w.copy() for w in net.weights]
    with dispatch.using(level), pytest.raises(ValueError, match="NaN or infinity"):
        net.SGD((bad, y), 1, 10, 0.3, quiet=True)
    assert max_abs_diff(net.weights, before) == 0.0
    bad32 = X.astype(np.float32)
    bad32[7, 3] = np.inf
    with dispatch.using(level), pytest.raises(ValueError, match="NaN or infinity"):
        net.SGD((bad32, y), 1, 10, 0.3, quiet=True, dtype=np.float32)
    assert max_abs_diff(net.weights, before) == 0.0


@pytest.mark.parametrize("level", LEVELS)
def test_sums_that_are_not_finite_alone_do_not_stop_training(slice_300, level):
    """The first epoch's input check reads the first layer's sums; when one is not
    finite but the rows are (an overflow, or weights that diverged during the
    epoch), training goes on, as network2's would."""
    X, y = slice_300
    huge = X.copy()
    huge[42] = 1e300                  # finite, but its sums overflow to infinity
    seed(1)
    net = network2.Network([784, 30, 10])
    before = [w.copy() for w in net.weights]
    with dispatch.using(level), np.errstate(all="ignore"):
        net.SGD((huge, y), 1, 10, 0.3, quiet=True)
    assert max_abs_diff(net.weights[1:], before[1:]) > 0      # every mini-batch trained
    seed(1)
    net = network2.Network([784, 30, 10])
    with dispatch.using(level), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # "the weights stopped being finite"
        net.SGD((X, y), 1, 10, 1e308, quiet=True)        # diverges within the epoch
    # It did diverge (how far depends on the order of the sums), and no row was refused.
    assert not all((np.abs(w) < 1e300).all() for w in net.weights)


def test_the_vector_sigmoid_matches_the_scalar_one():
    """The tiles' sigmoid (through a one-layer network's output) against exp's, over
    the whole range, the extremes and NaN included."""
    z = np.concatenate([np.linspace(-40, 40, 4001), [0.0, -0.0, 1e-300, -1e-300, 700, -700,
                                                     745, -745, 1e308, -1e308]])
    net = network2.Network([1, len(z)])
    net.weights[0][:, 0] = z
    net.biases[0][:] = 0.0
    e = np.exp(-np.abs(z))
    expected = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    for level in dispatch.LEVELS:
        with dispatch.using(level):
            got = net.feedforward(np.ones((1, 1))).ravel()
        relative = np.abs(got - expected) / np.maximum(expected, 1e-300)
        # Where exp(-|z|) is below 1e-300 the vector code stops at its clamp (~1e-304).
        assert np.max(relative[expected > 1e-300]) <= 1e-15, level     # a few ulps
        assert np.all(got[expected <= 1e-300] <= 1e-300)
    net.weights[0][3, 0] = np.nan
    for level in dispatch.LEVELS:
        with dispatch.using(level):
            got = net.feedforward(np.ones((1, 1))).ravel()
        assert np.isnan(got[3]) and np.isfinite(np.delete(got, 3)).all()


def test_tile_rows_can_be_set_for_measurement():
    assert dispatch.tile_rows() == 256
    old = dispatch.set_tile_rows(0)       # every block to BLAS, whatever the level
    try:
        assert old == 256 and dispatch.tile_rows() == 0
        assert dispatch.level_for(1) == 0
    finally:
        dispatch.set_tile_rows(old)
    assert dispatch.level_for(256) == dispatch.LEVELS.index(dispatch.current())
    assert dispatch.level_for(257) == 0


def test_dispatch_names_levels_and_clamps_to_the_cpu():
    best = dispatch.supported()
    assert best in dispatch.LEVELS and dispatch.current() in dispatch.LEVELS
    with dispatch.using("blas") as now:
        assert now == "blas" == dispatch.current()
        with dispatch.using("avx512") as inner:
            assert inner == best if best != "blas" else inner == "blas"
        assert dispatch.current() == "blas"
    with pytest.raises(ValueError, match="one of blas, avx2, avx512"):
        dispatch.use("sse9")
    assert dispatch.tile_rows() >= 1


@pytest.mark.parametrize("value, expected", [("blas", "blas"), ("BLAS", "blas"),
                                             ("avx512", None)])
def test_the_environment_variable_picks_the_kernels(tmp_path, value, expected):
    env = same_fastnet_env(dict(os.environ, FASTNET_KERNEL=value))
    code = "from fastnet import dispatch; print(dispatch.current())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    # "avx512" on a CPU without it falls back to the best there is.
    assert result.stdout.strip() == (expected or dispatch.supported())


def test_a_bad_environment_value_warns_and_keeps_the_best(tmp_path):
    env = same_fastnet_env(dict(os.environ, FASTNET_KERNEL="fastest-please"))
    code = "from fastnet import dispatch; print(dispatch.current())"
    result = subprocess.run([sys.executable, "-W", "always", "-c", code], env=env,
                            capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "FASTNET_KERNEL='fastest-please' is not one of" in result.stderr
    assert result.stdout.strip() == dispatch.supported()


def test_changing_kernels_while_another_thread_trains(slice_300):
    """Each call keeps the kernels it started with: switching them back and forth
    from another thread never mixes a half-done call, and the result is right."""
    X, y = slice_300
    sizes = [784, 30, 10]
    ref = reference_run(sizes, X, y, 10)
    seed(5)
    net = network2.Network(sizes)
    stop = threading.Event()
    before = dispatch.current()

    def toggle():
        flip = random.Random(0)
        while not stop.is_set():
            dispatch.use(flip.choice(dispatch.LEVELS))

    switcher = threading.Thread(target=toggle)
    switcher.start()
    try:
        net.SGD((X, y), 1, 10, 0.3, 2.0, quiet=True)
    finally:
        stop.set()
        switcher.join()
        dispatch.use(before)
    assert max(max_abs_diff(net.weights, ref.weights),
               max_abs_diff(net.biases, ref.biases)) <= ROUND_OFF


def trained_with_and_without_progress(X, y, sizes, epochs, mini_batch_size, dtype, level):
    """The weights and biases after the same run twice: whole epochs, then with progress."""
    runs = []
    for progress in (None, lambda done: None):
        seed(5)
        net = network2.Network(sizes)
        with dispatch.using(level):
            net.SGD((X, y), epochs, mini_batch_size, 0.3, 2.0, quiet=True, dtype=dtype,
                    progress=progress, shuffle_with=random.Random(3))
        runs.append(np.concatenate([a.ravel() for a in net.weights + net.biases]))
    return runs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("level", LEVELS)
def test_progress_changes_nothing_on_small_data(slice_300, level, dtype):
    """300 images in mini-batches of 10: progress cuts each epoch into chunks of one
    mini-batch, far fewer than an epoch needs to train its first layer transposed.  The
    workspace keeps the transposed layer from chunk to chunk, so the weights are the same
    bit for bit as with whole epochs (and with mini-batches of 7, the last one short)."""
    X, y = slice_300
    for mini_batch_size in (10, 7):
        whole, chunked = trained_with_and_without_progress(X, y, [784, 30, 10], 2,
                                                           mini_batch_size, dtype, level)
        assert np.array_equal(whole, chunked), mini_batch_size


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_progress_changes_nothing_on_50000_images(mnist_train, dtype):
    """One epoch of the headline run ([784, 30, 10], mini-batch 10), in 100 chunks of 50
    mini-batches or in one call: the same weights, bit for bit."""
    X, y = mnist_train
    whole, chunked = trained_with_and_without_progress(X, y, [784, 30, 10], 1, 10, dtype,
                                                       dispatch.current())
    assert np.array_equal(whole, chunked)

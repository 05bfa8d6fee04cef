"""fastnet.network3 against the NumPy oracle fastnet.network3_reference: the same seeds must
give the same parameters (float64 to round-off, float32 to its precision), the same printed
lines and predictions; plus the drop-in surface (SharedValue parameters, conv.py's way of
calling it) and the clear errors."""
import contextlib
import io
import subprocess
import sys

import numpy as np
import pytest

from fastnet import convolution, network3 as n3, network3_reference as ref

from .helpers import MNIST_DIR, first_training_images, need_mnist, same_fastnet_env


def layers(module, spec, m):
    """The same layers from fastnet.network3 or the reference, from a spec list of
    ("conv", filter_shape, (C, H, W), poolsize, act) / ("fc", n_in, n_out, act, p) /
    ("softmax", n_in, n_out, p)."""
    out = []
    for kind, *args in spec:
        if kind == "conv":
            filter_shape, image, pool, act = args
            out.append(module.ConvPoolLayer(filter_shape, (m,) + image, pool,
                                            getattr(module, act)))
        elif kind == "fc":
            n_in, n_out, act, p = args
            out.append(module.FullyConnectedLayer(n_in, n_out, getattr(module, act), p))
        else:
            n_in, n_out, p = args
            out.append(module.SoftmaxLayer(n_in, n_out, p))
    return out


def pair(spec, m, dtype=np.float64, seed=5):
    """A fastnet net and a reference net from the same np.random seed."""
    np.random.seed(seed)
    theirs = ref.Network(layers(ref, spec, m), m)
    np.random.seed(seed)
    ours = n3.Network(layers(n3, spec, m), m, dtype=dtype)
    return ours, theirs


def two_convs(act, p=0.0):
    """Two conv-pool layers on 12x12 images (the second's 5x5 output drops an edge row and
    column when pooled), an FC layer and the softmax."""
    return [("conv", (3, 1, 3, 3), (1, 12, 12), (2, 2), act),
            ("conv", (4, 3, 2, 2), (3, 5, 5), (2, 2), act),
            ("fc", 16, 9, act, p),
            ("softmax", 9, 10, p)]


CONFIGS = {
    "conv-sigmoid": two_convs("sigmoid"),
    "conv-tanh": two_convs("tanh"),
    "conv-ReLU": two_convs("ReLU"),
    "conv-linear": two_convs("linear"),
    "dropout": two_convs("ReLU", p=0.4),
    "fc-only-dropout": [("fc", 144, 20, "sigmoid", 0.3), ("fc", 20, 15, "tanh", 0.5),
                        ("softmax", 15, 10, 0.2)],
    # 13x13 images, 3x3 filters: an 11x11 convolution pooled 4x4 into 2x2 -- the three
    # dropped rows and columns make H // rows (5) differ from the window size (4).
    "wide-pool-edge": [("conv", (2, 1, 3, 3), (1, 13, 13), (4, 4), "sigmoid"),
                       ("softmax", 8, 10, 0.0)],
    "rect-pool": [("conv", (2, 1, 3, 2), (1, 12, 12), (2, 3), "tanh"),
                  ("conv", (3, 2, 2, 2), (2, 5, 3), (1, 2), "ReLU"),
                  ("softmax", 12, 10, 0.0)],
}


def random_data(n, n_in, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, n_in)), rng.integers(0, 10, n)


def step_both(ours, theirs, x, y, steps, eta, lmbda, num_batches):
    """``steps`` training mini-batches on both nets, through fastnet's own training path."""
    m = ours.mini_batch_size
    params = ours._parameters()
    plan = ours._plan(m, training=True)
    decay = 1.0 - eta * lmbda / num_batches
    for i in range(steps):
        part = slice(i * m, (i + 1) * m)
        theirs.train_mini_batch(x[part], y[part], eta, lmbda, num_batches)
        plan.train(params, x[part].astype(ours.dtype), y[part], eta, decay, ours.dropout_rng)


def differences(ours, theirs):
    """max |difference| over every weight and bias, and the largest parameter change from
    start (so that agreement is not two nets that never moved)."""
    return max(max(np.abs(a.w.get_value() - b.w).max(), np.abs(a.b.get_value() - b.b).max())
               for a, b in zip(ours.layers, theirs.layers))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_float64_agrees_with_the_reference_after_several_mini_batches(name):
    m, spec = 4, CONFIGS[name]
    ours, theirs = pair(spec, m)
    start = [layer.w.copy() for layer in theirs.layers]
    x, y = random_data(8 * m, theirs.layers[0].n_in)
    # Linear layers blow up at the others' rate (the reference too): a smaller step.
    eta = 0.02 if name == "conv-linear" else 0.4
    step_both(ours, theirs, x, y, 8, eta=eta, lmbda=0.9, num_batches=8)
    moved = max(np.abs(layer.w - s).max() for layer, s in zip(theirs.layers, start))
    assert moved > 1e-3
    diff = differences(ours, theirs)
    print("{}: max |difference| after 8 mini-batches {:.1e}".format(name, diff))
    assert diff <= 1e-10


@pytest.mark.parametrize("name", ["conv-sigmoid", "dropout", "wide-pool-edge"])
def test_float32_agrees_to_its_precision(name):
    m, spec = 4, CONFIGS[name]
    ours, theirs = pair(spec, m, dtype=np.float32)
    assert ours.layers[0].w.get_value().dtype == np.float32
    x, y = random_data(8 * m, theirs.layers[0].n_in)
    step_both(ours, theirs, x, y, 8, eta=0.4, lmbda=0.9, num_batches=8)
    diff = differences(ours, theirs)
    print("{} float32: max |difference| after 8 mini-batches {:.1e}".format(name, diff))
    assert diff <= 2e-5


def test_dropout_masks_follow_the_documented_convention():
    """The FC layer's training input is the input times rng.random((m, n_in)) >= p."""
    m = 3
    np.random.seed(2)
    net = n3.Network([n3.FullyConnectedLayer(6, 4, n3.linear, p_dropout=0.5),
                      n3.SoftmaxLayer(4, 10)], m, dtype=np.float64)
    x = np.random.random((m, 6))
    plan = net._plan(m, training=True)
    params = net._parameters()
    plan.steps[0].forward(x, *params[0], net.dropout_rng)
    mask = np.random.default_rng(0).random((m, 6)) >= 0.5
    w, b = params[0]
    np.testing.assert_allclose(plan.steps[0].a, (x * mask) @ w + b, rtol=1e-14)
    # Evaluation: no mask, the product scaled by the kept fraction.
    out = net._plan(m, training=False).steps[0].forward(x, w, b, None)
    np.testing.assert_allclose(out, 0.5 * (x @ w) + b, rtol=1e-14)


def test_construction_draws_what_network3_draws():
    spec = [("conv", (20, 1, 5, 5), (1, 28, 28), (2, 2), "ReLU"),
            ("conv", (40, 20, 5, 5), (20, 12, 12), (2, 2), "ReLU"),
            ("fc", 640, 100, "ReLU", 0.0), ("softmax", 100, 10, 0.5)]
    np.random.seed(7)
    theirs = layers(ref, spec, 10)
    after_reference = np.random.get_state()
    np.random.seed(7)
    net = n3.Network(layers(n3, spec, 10), 10)
    after_ours = np.random.get_state()
    assert after_ours[2] == after_reference[2]
    np.testing.assert_array_equal(after_ours[1], after_reference[1])
    for a, b in zip(net.layers, theirs):
        assert a.w.get_value().dtype == np.float32        # network3's floatX by default
        np.testing.assert_array_equal(a.w.get_value(), b.w.astype(np.float32))
        np.testing.assert_array_equal(a.b.get_value(), b.b.astype(np.float32))
    assert [p.get_value().shape for p in net.params] == [
        (20, 1, 5, 5), (20,), (40, 20, 5, 5), (40,), (640, 100), (100,), (100, 10), (10,)]


def run_sgd(net, *args, **kw):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = net.SGD(*args, **kw)
    assert result is None
    return out.getvalue().splitlines()


MNIST_SPEC = [("conv", (4, 1, 5, 5), (1, 28, 28), (2, 2), "ReLU"),
              ("fc", 4 * 12 * 12, 20, "sigmoid", 0.2),
              ("softmax", 20, 10, 0.2)]


@pytest.fixture(scope="module")
def mnist_small():
    need_mnist()
    x, y = first_training_images(500)
    return (x[:300], y[:300]), (x[300:400], y[300:400]), (x[400:], y[400:])


def test_printed_lines_are_the_references_on_real_mnist(mnist_small):
    training, validation, test = mnist_small
    ours, theirs = pair(MNIST_SPEC, 10)
    theirs_out = io.StringIO()
    with contextlib.redirect_stdout(theirs_out):
        theirs.SGD(training, 3, 10, 0.5, validation, test, lmbda=0.5)
    expected = theirs_out.getvalue().splitlines()
    shared = [(n3.SharedValue(x), n3.SharedValue(y.astype(np.int32))) for x, y in mnist_small]
    lines = run_sgd(ours, shared[0], 3, 10, 0.5, shared[1], shared[2], lmbda=0.5)
    assert lines == expected
    assert lines[0] == "Training mini-batch number 0"
    assert lines[-3:-1] == ["Finished training network.",
                            lines[-2]] and lines[-2].startswith("Best validation accuracy of ")
    # Learning happened: better than chance on the held-out images.
    assert float(lines[-1].split()[-1].rstrip("%")) > 30
    print("\n".join(lines))
    print("max |difference| of the parameters after 3 epochs: {:.1e}".format(
        differences(ours, theirs)))
    assert differences(ours, theirs) <= 1e-10
    for i in range(10):
        np.testing.assert_array_equal(ours.test_mb_predictions(i), theirs.test_mb_predictions(i))


def test_float32_run_prints_the_same_lines_within_one_example(mnist_small):
    training, validation, test = mnist_small
    ours, theirs = pair(MNIST_SPEC, 10, dtype=np.float32)
    with contextlib.redirect_stdout(io.StringIO()) as theirs_out:
        theirs.SGD(training, 2, 10, 0.1, validation, test)
    expected = theirs_out.getvalue().splitlines()
    lines = run_sgd(ours, training, 2, 10, 0.1, validation, test)
    assert len(lines) == len(expected)
    for a, b in zip(lines, expected):
        if a.endswith("%"):
            number = lambda s: float(s.split()[-1].rstrip("%"))  # noqa: E731
            assert a.split()[:-1] == b.split()[:-1]
            assert abs(number(a) - number(b)) <= 1.0 + 1e-9     # one image of 100
        else:
            assert a == b


def test_mini_batch_numbers_are_counted_across_epochs():
    """Lines every 1000 mini-batches, counted across epochs; the best iteration is the
    last mini-batch of the best epoch."""
    spec = [("fc", 20, 8, "tanh", 0.0), ("softmax", 8, 10, 0.0)]
    x, y = random_data(700, 20, seed=3)
    ours, theirs = pair(spec, 1)
    with contextlib.redirect_stdout(io.StringIO()) as theirs_out:
        theirs.SGD((x[:600], y[:600]), 2, 1, 0.05, (x[600:650], y[600:650]), None)
    lines = run_sgd(ours, (x[:600], y[:600]), 2, 1, 0.05, (x[600:650], y[600:650]), None)
    assert lines == theirs_out.getvalue().splitlines()
    assert "Training mini-batch number 1000" in lines
    assert lines[-1].startswith("Best validation accuracy of ")     # no test data: no test line
    assert lines[-1].endswith(" obtained at iteration 599") or \
        lines[-1].endswith(" obtained at iteration 1199")


def test_test_mb_predictions_needs_test_data_and_a_real_mini_batch():
    spec = [("fc", 20, 8, "sigmoid", 0.0), ("softmax", 8, 10, 0.0)]
    ours, _ = pair(spec, 5)
    with pytest.raises(RuntimeError, match="test data"):
        ours.test_mb_predictions(0)
    x, y = random_data(60, 20)
    run_sgd(ours, (x[:40], y[:40]), 1, 5, 0.1, (x[40:50], y[40:50]), (x[50:], y[50:]))
    predictions = ours.test_mb_predictions(1)
    assert predictions.shape == (5,)
    np.testing.assert_array_equal(predictions, ours.predict(x[55:60]))
    with pytest.raises(IndexError, match="2 whole mini-batches"):
        ours.test_mb_predictions(2)


def test_set_value_round_trip_changes_the_network():
    spec = [("fc", 20, 8, "sigmoid", 0.0), ("softmax", 8, 10, 0.0)]
    ours, _ = pair(spec, 5, dtype=np.float32)
    x, y = random_data(10, 20)
    before = ours.predict(x)
    assert (before == 0).all()                        # a zero softmax: every output ties
    w = np.zeros((8, 10))
    w[:, 7] = 1.0
    ours.layers[-1].w.set_value(w)
    got = ours.layers[-1].w.get_value()
    assert got.dtype == np.float32 and np.array_equal(got, w)
    np.testing.assert_array_equal(ours.predict(x), 7)
    # Training updates the SharedValue's own array: get_value(borrow=True) sees it.
    borrowed = ours.layers[0].w.get_value(borrow=True)
    snapshot = borrowed.copy()
    run_sgd(ours, (x, y), 1, 5, 0.5, (x, y), (x, y))
    assert not np.array_equal(borrowed, snapshot)
    assert ours.layers[0].w.get_value(borrow=True) is borrowed
    # eval() is the array too, as Theano's shared variables answer it.
    np.testing.assert_array_equal(ours.layers[0].w.eval(), borrowed)


def test_ensemble_votes_as_conv_py_does():
    x, y = random_data(60, 20)
    rng = np.random.default_rng(8)
    nets = []
    for _ in range(3):
        net = n3.Network([n3.SoftmaxLayer(20, 10)], 5)
        # Random softmax weights: nets that disagree, often three ways (a tie).
        net.layers[0].w.set_value(rng.standard_normal((20, 10)))
        run_sgd(net, (x[:40], y[:40]), 0, 5, 0.5, (x[40:50], y[40:50]), (x[40:], y[40:]))
        nets.append(net)
    # The plurality of each image's predictions, ties to the earliest net's (collections.Counter).
    from collections import Counter
    each = [np.concatenate([net.test_mb_predictions(i) for i in range(4)]) for net in nets]
    assert any(len(set(p)) == 3 for p in zip(*each)) and any(len(set(p)) == 2 for p in zip(*each))
    vote = [Counter(p).most_common(1)[0][0] for p in zip(*each)]
    wrong = [j for j in range(20) if vote[j] != y[40 + j]]
    assert 0 < len(wrong) < 20
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = n3.ensemble(nets)
    assert result == (wrong, [vote[j] for j in wrong])
    assert out.getvalue() == "Accuracy is {:.2%}\n".format(1 - len(wrong) / 20.0)
    with contextlib.redirect_stdout(io.StringIO()):
        assert n3.ensemble(nets, (x[40:], y[40:])) == result
        single = n3.ensemble(nets[:1])
    assert single[0] == [j for j in range(20) if each[0][j] != y[40 + j]]
    other = n3.Network([n3.SoftmaxLayer(20, 10)], 4)
    run_sgd(other, (x[:40], y[:40]), 0, 4, 0.5, (x[40:48], y[40:48]), (x[:40], y[:40]))
    with pytest.raises(ValueError, match="test data differ"):
        n3.ensemble([nets[0], other])


def test_size_and_load_data_shared_are_network3s(tmp_path):
    need_mnist()
    training, validation, test = n3.load_data_shared(str(MNIST_DIR))
    assert n3.size(training) == 50000 and n3.size(validation) == n3.size(test) == 10000
    assert training[0].get_value(borrow=True).dtype == np.float32
    assert training[1].eval().dtype == np.int32


#### Clear errors

def fc_net(m=5):
    np.random.seed(0)
    return n3.Network([n3.FullyConnectedLayer(784, 10), n3.SoftmaxLayer(10, 10)], m)


def conv_net(m=5, image=(1, 28, 28)):
    np.random.seed(0)
    conv = n3.ConvPoolLayer((2, 1, 5, 5), (m,) + image)
    return n3.Network([conv, n3.SoftmaxLayer(conv.n_out, 10)], m)


def sgd_error(net, training, mini_batch_size=5, validation=None):
    data = random_data(20, 784)
    validation = data if validation is None else validation
    with contextlib.redirect_stdout(io.StringIO()):
        net.SGD(training, 1, mini_batch_size, 0.1, validation, data)


def test_bad_data_is_refused_before_training():
    x, y = random_data(20, 784)
    net = conv_net(image=(1, 20, 20))
    with pytest.raises(ValueError, match=r"784 values each .* takes 400 = 1x20x20"):
        sgd_error(net, (x, y))
    net = fc_net()
    before = net.layers[0].w.get_value()
    with pytest.raises(ValueError, match="mini_batch_size 10 differs from the Network's 5"):
        sgd_error(net, (x, y), mini_batch_size=10)
    with pytest.raises(ValueError, match=r"labels must be in 0 \.\. 9 .* found 10"):
        sgd_error(net, (x, np.where(y == 3, 10, y)))
    with pytest.raises(ValueError, match=r"labels must be in 0 \.\. 9 .* found -1"):
        sgd_error(net, (x, y), validation=(x, y - 1))
    with pytest.raises(TypeError, match="labels must be integers"):
        sgd_error(net, (x, y.astype(float)))
    bad = x.copy()
    bad[3, 7] = np.nan
    with pytest.raises(ValueError, match="training_data images contain NaN"):
        sgd_error(net, (bad, y))
    with pytest.raises(ValueError, match="20 images but 19 labels"):
        sgd_error(net, (x, y[:19]))
    with pytest.raises(ValueError, match="fewer than one mini-batch"):
        sgd_error(net, (x[:4], y[:4]))
    with pytest.raises(TypeError, match="pair"):
        sgd_error(net, x)
    np.testing.assert_array_equal(net.layers[0].w.get_value(), before)   # nothing trained


def test_bad_layers_are_refused():
    with pytest.raises(ValueError, match="poolsize"):
        n3.ConvPoolLayer((2, 1, 5, 5), (5, 1, 28, 28), poolsize=(0, 2))
    with pytest.raises(ValueError, match="poolsize must have 2 entries"):
        n3.ConvPoolLayer((2, 1, 5, 5), (5, 1, 28, 28), poolsize=(2, 2, 2))
    with pytest.raises(ValueError, match="poolsize .* larger than the 4x4 output"):
        n3.ConvPoolLayer((2, 1, 5, 5), (5, 1, 8, 8), poolsize=(5, 5))
    with pytest.raises(ValueError, match="expects 3 input feature maps .* has 1"):
        n3.ConvPoolLayer((2, 3, 5, 5), (5, 1, 28, 28))
    with pytest.raises(ValueError, match="larger than the 4x4 images"):
        n3.ConvPoolLayer((2, 1, 5, 5), (5, 1, 4, 4))
    with pytest.raises(ValueError, match="activation_fn must be one of"):
        n3.FullyConnectedLayer(4, 4, activation_fn=np.exp)
    with pytest.raises(ValueError, match="p_dropout"):
        n3.FullyConnectedLayer(4, 4, p_dropout=1.0)
    state = np.random.get_state()
    with pytest.raises(ValueError):
        n3.ConvPoolLayer((2, 1, 5, 5), (5, 1, 28, 28), activation_fn=max)
    assert np.random.get_state()[2] == state[2]            # a refused layer draws nothing
    conv = n3.ConvPoolLayer((2, 1, 5, 5), (5, 1, 28, 28))
    with pytest.raises(ValueError, match="image_shape .* mini-batches of 5, but .* is 10"):
        n3.Network([conv, n3.SoftmaxLayer(288, 10)], 10)
    with pytest.raises(ValueError, match="layer 1 takes 200 inputs but layer 0 gives 288 = 2x12x"):
        n3.Network([conv, n3.SoftmaxLayer(200, 10)], 5)
    with pytest.raises(ValueError, match="last layer, and only it, must be a SoftmaxLayer"):
        n3.Network([n3.FullyConnectedLayer(4, 4)], 5)
    with pytest.raises(TypeError, match="list of layers"):
        n3.Network(n3.SoftmaxLayer(4, 4), 5)
    with pytest.raises(ValueError, match="dtype"):
        n3.Network([n3.SoftmaxLayer(4, 4)], 5, dtype=np.int32)


def test_bad_parameters_are_refused():
    net = fc_net()
    x, y = random_data(20, 784)
    net.layers[0].w.value = np.zeros((10, 784))
    with pytest.raises(ValueError, match=r"layer 0's w has shape \(10, 784\), expected \(784, "):
        sgd_error(net, (x, y))
    net = fc_net()
    w = net.layers[1].w.get_value()
    w[0, 0] = np.inf
    net.layers[1].w.set_value(w)
    with pytest.raises(ValueError, match="layer 1's w contains NaN or infinity"):
        net.predict(x)


#### The kernels against the reference's own convolution and pooling

@pytest.mark.parametrize("single_product", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_kernels_match_the_references_pieces(dtype, single_product, monkeypatch):
    # conv_backward's two forms of the filter gradient (one product, or one per example).
    monkeypatch.setattr(convolution, "SINGLE_PRODUCT_ENTRIES", 0 if single_product else 10 ** 9)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 2, 11, 9))
    w = rng.standard_normal((4, 2, 3, 2))
    z = np.empty((3, 4, 9, 8), dtype=dtype)
    k = convolution.NumPyKernels
    k.conv_forward(x.astype(dtype), w.astype(dtype), z)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(z, ref.convolve(x, w), rtol=tol, atol=tol)
    b = rng.standard_normal(4)
    for act, fn in ((convolution.SIGMOID, ref.sigmoid), (convolution.TANH, ref.tanh),
                    (convolution.RELU, ref.ReLU), (convolution.LINEAR, ref.linear)):
        a = np.empty((3, 4, 4, 2), dtype=dtype)
        where = np.empty(a.shape, dtype=np.int32)
        k.pool_forward(z, b.astype(dtype), 2, 3, act, a, where)
        pooled, expected_where = ref.max_pool(z.astype(np.float64), (2, 3))
        np.testing.assert_array_equal(where, expected_where)
        np.testing.assert_allclose(a, fn(pooled + b[None, :, None, None]), rtol=tol, atol=tol)
        da = rng.standard_normal(a.shape).astype(dtype)
        dz = np.full(z.shape, np.nan, dtype=dtype)
        db = np.empty(4, dtype=dtype)
        k.pool_backward(da, a, where, act, dz, db, 2, 3)   # 8 // 2 columns != 3
        delta = da * ref.derivative(fn, a, a.astype(np.float64))
        np.testing.assert_allclose(db, delta.sum(axis=(0, 2, 3)), rtol=tol, atol=tol)
        np.testing.assert_allclose(dz, ref.unpool(delta, where, z.shape, (2, 3)), rtol=tol,
                                   atol=tol)
    dz = rng.standard_normal(z.shape)
    dw = np.empty(w.shape, dtype=dtype)
    dx = np.full(x.shape, np.nan, dtype=dtype)
    k.conv_backward(x.astype(dtype), w.astype(dtype), dz.astype(dtype), dw, dx)
    grad_w, grad_x = ref.convolve_backward(x, w, dz)
    np.testing.assert_allclose(dw, grad_w, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(dx, grad_x, rtol=tol, atol=tol * 10)
    k.conv_backward(x.astype(dtype), w.astype(dtype), dz.astype(dtype), dw, None)
    np.testing.assert_allclose(dw, grad_w, rtol=tol, atol=tol * 10)


def test_ties_in_a_window_go_to_the_first_maximum():
    z = np.array([[1., 5., 5.], [5., 0., 2.]])[None, None]
    a = np.empty((1, 1, 1, 1))
    where = np.empty(a.shape, dtype=np.int32)
    convolution.pool_forward(z, np.zeros(1), 2, 2, convolution.LINEAR, a, where)
    assert where[0, 0, 0, 0] == 1 and a[0, 0, 0, 0] == 5.0


#### conv.py's way of calling network3

CONV_STYLE_SCRIPT = """
import numpy as np
import network3
from network3 import sigmoid, tanh, ReLU, Network
from network3 import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer
training_data, validation_data, test_data = network3.load_data_shared({data!r})
# A few hundred images, so that the test stays fast.
for x, y in (training_data, validation_data, test_data):
    x.set_value(x.get_value()[:{n}])
    y.set_value(y.get_value()[:{n}])
mini_batch_size = 10

def dbl_conv(activation_fn=sigmoid):
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                      filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                      activation_fn=activation_fn),
        ConvPoolLayer(image_shape=(mini_batch_size, 20, 12, 12),
                      filter_shape=(40, 20, 5, 5), poolsize=(2, 2),
                      activation_fn=activation_fn),
        FullyConnectedLayer(n_in=40*4*4, n_out=100, activation_fn=activation_fn),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    net.SGD(training_data, 1, mini_batch_size, 0.03, validation_data, test_data, lmbda=0.1)
    return net

def double_fc_dropout(p0=0.5, p1=0.5, p2=0.5):
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                      filter_shape=(20, 1, 5, 5), poolsize=(2, 2), activation_fn=ReLU),
        FullyConnectedLayer(n_in=20*12*12, n_out=100, activation_fn=ReLU, p_dropout=p0),
        FullyConnectedLayer(n_in=100, n_out=100, activation_fn=ReLU, p_dropout=p1),
        SoftmaxLayer(n_in=100, n_out=10, p_dropout=p2)], mini_batch_size)
    net.SGD(training_data, 1, mini_batch_size, 0.03, validation_data, test_data)
    return net

nets = [dbl_conv(ReLU), double_fc_dropout()]
print("predictions", list(nets[0].test_mb_predictions(0)))
print("size", network3.size(training_data))
"""


def test_a_conv_py_style_script_runs_through_a_one_line_shim(tmp_path):
    need_mnist()
    (tmp_path / "network3.py").write_text("from fastnet.network3 import *\n")
    (tmp_path / "conv_style.py").write_text(CONV_STYLE_SCRIPT.format(data=str(MNIST_DIR), n=200))
    done = subprocess.run([sys.executable, "conv_style.py"], cwd=str(tmp_path),
                          env=same_fastnet_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines.count("Training mini-batch number 0") == 2
    assert sum(line.startswith("Epoch 0: validation accuracy ") for line in lines) == 2
    assert sum(line.startswith("Corresponding test accuracy of ") for line in lines) == 2
    assert lines[-1] == "size 200"
    assert lines[-2].startswith("predictions [") and len(lines[-2].split(",")) == 10


def test_kernel_choice_and_the_numpy_override(monkeypatch):
    monkeypatch.setenv("FASTNET_CONV", "numpy")
    assert convolution.kernels() is convolution.NumPyKernels
    monkeypatch.delenv("FASTNET_CONV")
    built = convolution.compiled()
    assert convolution.kernels() is (convolution.NumPyKernels if built is None else built)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_kernels_compute_what_the_numpy_ones_do(dtype):
    built = convolution.compiled()
    if built is None:
        pytest.skip("fastnet._kernels.conv is not built in this tree (the NumPy kernels run)")
    rng = np.random.default_rng(4)
    x = rng.random((3, 2, 12, 11)).astype(dtype)
    w = rng.standard_normal((5, 2, 3, 4)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    out = {}
    for k in (built, convolution.NumPyKernels):
        z = np.empty((3, 5, 10, 8), dtype=dtype)
        k.conv_forward(x, w, z)
        a = np.empty((3, 5, 5, 4), dtype=dtype)
        where = np.empty(a.shape, dtype=np.int32)
        k.pool_forward(z, b, 2, 2, convolution.TANH, a, where)
        da = np.ascontiguousarray(a[::-1])
        dz, db = np.empty_like(z), np.empty_like(b)
        k.pool_backward(da, a, where, convolution.TANH, dz, db)
        dw, dx = np.empty_like(w), np.empty_like(x)
        k.conv_backward(x, w, dz, dw, dx)
        out[k] = (z, a, where, dz, db, dw, dx)
    for ours, numpy_one in zip(out[built], out[convolution.NumPyKernels]):
        np.testing.assert_allclose(ours, numpy_one, rtol=tol, atol=tol)


def test_one_thread_at_a_time_and_copies_work():
    import copy
    import pickle
    import threading

    net = fc_net()
    x, y = random_data(20, 784)
    started, release = threading.Event(), threading.Event()

    def slow_training(*args, **kw):
        started.set()
        release.wait(10)

    net._train = slow_training
    worker = threading.Thread(target=lambda: sgd_error(net, (x, y)))
    worker.start()
    try:
        assert started.wait(10)
        with pytest.raises(RuntimeError, match="another thread"):
            net.predict(x)
    finally:
        release.set()
        worker.join(10)
    del net._train
    expected = net.predict(x)                        # free again once the other call ended
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        np.testing.assert_array_equal(twin.predict(x), expected)

"""The network3 reference against first principles: finite differences, scipy's convolution,
the initial draws and the printed lines of a tiny run."""
import contextlib
import io

import numpy as np
import pytest
from scipy.signal import convolve2d

from fastnet import network3_reference as ref

ACTIVATIONS = [ref.sigmoid, ref.tanh, ref.ReLU, ref.linear]


def small_net(activation_fn, p_dropout=0.5, two_convs=False, m=3):
    """A conv-pool layer (or two), an FC layer with dropout and a softmax, on 10x10 images."""
    np.random.seed(5)
    layers = [ref.ConvPoolLayer((3, 1, 3, 3), (m, 1, 10, 10), (2, 2), activation_fn)]
    size = 3 * 4 * 4
    if two_convs:
        layers.append(ref.ConvPoolLayer((4, 3, 2, 2), (m, 3, 4, 4), (2, 2), activation_fn))
        size = 4 * 1 * 1
    layers += [ref.FullyConnectedLayer(size, 7, activation_fn, p_dropout=p_dropout),
               ref.SoftmaxLayer(7, 4, p_dropout=p_dropout)]
    net = ref.Network(layers, m)
    # The softmax starts at zero; random values test its gradient at a general point.
    net.layers[-1].w[:] = np.random.normal(0, 0.5, net.layers[-1].w.shape)
    net.layers[-1].b[:] = np.random.normal(0, 0.5, net.layers[-1].b.shape)
    return net


def batch(m=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((m, 100)), rng.integers(0, 4, m)


def cost_with_masks(net, x, y, lmbda):
    net.dropout_rng = np.random.default_rng(7)
    return net.cost_and_gradients(x, y, lmbda, 5)


@pytest.mark.parametrize("two_convs", [False, True])
@pytest.mark.parametrize("activation_fn", ACTIVATIONS, ids=lambda f: f.__name__)
def test_gradients_match_finite_differences(activation_fn, two_convs):
    net = small_net(activation_fn, two_convs=two_convs)
    x, y = batch()
    lmbda = 0.3
    _, gradients = cost_with_masks(net, x, y, lmbda)
    eps = 1e-6
    for layer, (grad_w, grad_b) in zip(net.layers, gradients):
        for param, grad in ((layer.w, grad_w), (layer.b, grad_b)):
            assert grad.shape == param.shape
            numeric = np.zeros(param.shape)
            for k in np.ndindex(param.shape):
                old = param[k]
                param[k] = old + eps
                up = cost_with_masks(net, x, y, lmbda)[0]
                param[k] = old - eps
                down = cost_with_masks(net, x, y, lmbda)[0]
                param[k] = old
                numeric[k] = (up - down) / (2 * eps)
            scale = max(1e-3, np.abs(numeric).max())
            assert np.abs(numeric - grad).max() <= 1e-6 * scale, (type(layer).__name__, param.shape)


def test_dropout_masks_are_drawn_per_layer_from_the_networks_generator():
    net = small_net(ref.sigmoid, p_dropout=0.4)
    masks = net.draw_masks(3)
    rng = np.random.default_rng(0)
    assert masks[0] is None
    np.testing.assert_array_equal(masks[1], rng.random((3, 48)) >= 0.4)
    np.testing.assert_array_equal(masks[2], rng.random((3, 7)) >= 0.4)


def test_evaluation_scales_the_product_by_the_kept_fraction():
    np.random.seed(3)
    layer = ref.FullyConnectedLayer(5, 4, ref.linear, p_dropout=0.25)
    x = np.random.random((2, 5))
    out, _ = layer.forward(x, evaluating=True)
    np.testing.assert_allclose(out, 0.75 * (x @ layer.w) + layer.b, rtol=1e-14)
    out, _ = layer.forward(x, evaluating=False)
    np.testing.assert_allclose(out, x @ layer.w + layer.b, rtol=1e-14)


def test_convolution_is_scipys_true_convolution():
    rng = np.random.default_rng(2)
    images = rng.random((2, 3, 9, 8))
    w = rng.normal(size=(4, 3, 5, 3))
    out = ref.convolve(images, w)
    assert out.shape == (2, 4, 5, 6)
    for n in range(2):
        for f in range(4):
            expected = sum(convolve2d(images[n, c], w[f, c], mode="valid") for c in range(3))
            np.testing.assert_allclose(out[n, f], expected, rtol=1e-12, atol=1e-12)


def test_pooling_drops_the_edge_and_keeps_the_first_maximum():
    z = np.array([[1., 5., 2.], [3., 5., 0.], [9., 9., 9.]])[None, None]
    pooled, where = ref.max_pool(z, (2, 2))
    assert pooled.shape == (1, 1, 1, 1) and pooled[0, 0, 0, 0] == 5.0
    assert where[0, 0, 0, 0] == 1
    back = ref.unpool(np.array([[[[2.0]]]]), where, z.shape, (2, 2))
    np.testing.assert_array_equal(back[0, 0], [[0, 2, 0], [0, 0, 0], [0, 0, 0]])


def test_layers_draw_from_numpys_global_generator_in_order():
    np.random.seed(11)
    conv = ref.ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), (2, 2))
    fc = ref.FullyConnectedLayer(2880, 100)
    soft = ref.SoftmaxLayer(100, 10)
    np.random.seed(11)
    np.testing.assert_array_equal(conv.w, np.random.normal(0, np.sqrt(1 / 125.0), (20, 1, 5, 5)))
    np.testing.assert_array_equal(conv.b, np.random.normal(0, 1, (20,)))
    np.testing.assert_array_equal(fc.w, np.random.normal(0, np.sqrt(1 / 100.0), (2880, 100)))
    np.testing.assert_array_equal(fc.b, np.random.normal(0, 1, (100,)))
    assert not soft.w.any() and not soft.b.any() and soft.w.shape == (100, 10)


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="derivatives"):
        ref.derivative(np.exp, np.zeros(2), np.zeros(2))


def test_tiny_run_prints_network3s_lines_and_learns():
    rng = np.random.default_rng(4)
    x = rng.random((60, 100))
    y = (x[:, :50].sum(axis=1) > x[:, 50:].sum(axis=1)).astype(np.int64)
    net = small_net(ref.ReLU, p_dropout=0.0, m=10)
    net.layers[-1].w[:] = 0
    net.layers[-1].b[:] = 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = net.SGD((x[:40], y[:40]), 3, 10, 0.1, (x[40:50], y[40:50]), (x[50:], y[50:]),
                         lmbda=0.1)
    assert result is None
    lines = out.getvalue().splitlines()
    assert lines[0] == "Training mini-batch number 0"
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["Epoch 0", "Epoch 1", "Epoch 2"]
    for line in epochs:
        assert line.split("validation accuracy ")[1].endswith("%")
    assert lines[1:3] == [epochs[0], "This is the best validation accuracy to date."]
    assert lines[3].startswith("The corresponding test accuracy is ")
    assert lines[-3] == "Finished training network."
    assert lines[-2].startswith("Best validation accuracy of ")
    assert " obtained at iteration " in lines[-2]
    assert lines[-1].startswith("Corresponding test accuracy of ")
    predictions = net.test_mb_predictions(0)
    assert predictions.shape == (10,) and set(predictions) <= {0, 1, 2, 3}


def test_a_step_lowers_the_cost():
    net = small_net(ref.sigmoid, p_dropout=0.0)
    x, y = batch()
    before = net.cost_and_gradients(x, y, 0.1, 5)[0]
    for _ in range(5):
        net.train_mini_batch(x, y, 0.05, 0.1, 5)
    assert net.cost_and_gradients(x, y, 0.1, 5)[0] < before

"""The NumPy reference: network3's maths (chapter 6), written to be read.

This module is the oracle for ``fastnet.network3``'s tests.  It computes what
the book's Theano program computes -- valid-mode convolution with the filter
rotated, max-pooling before the bias, dropout, a softmax output with the
log-likelihood cost and L2 on the weights -- in float64, with the gradients
written out by hand instead of taken from a symbolic graph.

It shares no code with ``fastnet.network3``: the layers, activations and
training loop are written out again here, so that a mistake in the compiled
network shows up as a disagreement instead of being repeated on both sides
of every test.  It is deliberately unoptimised (a loop over the filter's
offsets, a loop over the layers); a two-conv-layer net trains a few hundred
images a second.

Parameters are plain float64 arrays: ``layer.w`` and ``layer.b``.  Data may be
given as pairs of arrays ``(x, y)`` or as pairs of objects with ``get_value()``
or ``eval()`` (what ``load_data_shared`` returns).

Two choices the book leaves to Theano, made here as ``fastnet.network3``
makes them:
- max-pooling sends a window's gradient to its first largest entry (row by
  row), the one ``np.argmax`` names;
- dropout masks come from ``np.random.default_rng(0)``, created with each
  Network: for every training mini-batch, layer by layer, each layer with
  ``p_dropout > 0`` draws ``rng.random((mini_batch_size, n_in)) >= p_dropout``.
"""
import numpy as np


#### Activation functions and their derivatives

def linear(z):
    """The identity: z."""
    return z


def ReLU(z):
    """The rectified linear unit: max(0, z)."""
    return np.maximum(0.0, z)


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z)."""
    return 1.0 / (1.0 + np.exp(-z))


def tanh(z):
    """The hyperbolic tangent."""
    return np.tanh(z)


def derivative(activation_fn, z, a):
    """The activation's derivative at ``z``, where ``a`` is its value there.

    The function is recognised by name, so that another module's
    ``sigmoid``, ``tanh``, ``ReLU`` or ``linear`` may be given too.
    """
    name = getattr(activation_fn, "__name__", None)
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "ReLU":
        return (z > 0).astype(z.dtype)
    if name == "linear":
        return np.ones_like(z)
    raise ValueError("the reference knows the derivatives of sigmoid, tanh, ReLU and linear, "
                     "not of {!r}".format(activation_fn))


#### Layers

class ConvPoolLayer:

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid):
        """A valid-mode convolution, max-pooling, a bias per filter, then the activation.

        ``filter_shape`` is (filters, input maps, filter height, filter
        width) and ``image_shape`` (mini-batch size, input maps, image height,
        image width).  The weights are Gaussian with variance 1/n_out, where
        n_out = filters * filter area / pool area; the biases standard Gaussian.
        """
        self.filter_shape = tuple(filter_shape)
        self.image_shape = tuple(image_shape)
        self.poolsize = tuple(poolsize)
        self.activation_fn = activation_fn
        self.p_dropout = 0.0
        n_out = self.filter_shape[0] * np.prod(self.filter_shape[2:]) / np.prod(self.poolsize)
        self.w = np.random.normal(loc=0, scale=np.sqrt(1.0 / n_out), size=self.filter_shape)
        self.b = np.random.normal(loc=0, scale=1.0, size=(self.filter_shape[0],))
        self.n_in = int(np.prod(self.image_shape[1:]))

    def forward(self, x, evaluating):
        """The layer's output for the flattened input ``x`` and what backward needs."""
        m = x.shape[0]
        images = x.reshape((m,) + self.image_shape[1:])
        z = convolve(images, self.w)
        pooled, where = max_pool(z, self.poolsize)
        zb = pooled + self.b[None, :, None, None]
        a = self.activation_fn(zb)
        return a.reshape(m, -1), (images, z.shape, where, zb, a)

    def backward(self, delta_out, saved):
        """The gradients of w and b, and of the input, given d(cost)/d(output)."""
        images, z_shape, where, zb, a = saved
        delta = delta_out.reshape(a.shape) * derivative(self.activation_fn, zb, a)
        grad_b = delta.sum(axis=(0, 2, 3))
        delta_z = unpool(delta, where, z_shape, self.poolsize)
        grad_w, grad_images = convolve_backward(images, self.w, delta_z)
        return grad_w, grad_b, grad_images.reshape(images.shape[0], -1)


class FullyConnectedLayer:

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        """``n_in`` inputs to ``n_out`` neurons: activation(inputs . w + b).

        The weights (n_in, n_out) are Gaussian with variance 1/n_out, the
        biases standard Gaussian.  With ``p_dropout`` > 0 each input is kept
        with probability 1 - p_dropout in training, and the product of input
        and weights is scaled by 1 - p_dropout in evaluation.
        """
        self.n_in = n_in
        self.n_out = n_out
        self.activation_fn = activation_fn
        self.p_dropout = p_dropout
        self.w = np.random.normal(loc=0.0, scale=np.sqrt(1.0 / n_out), size=(n_in, n_out))
        self.b = np.random.normal(loc=0.0, scale=1.0, size=(n_out,))

    def weighted_input(self, x, evaluating):
        """z = x . w + b, with the product scaled by 1 - p_dropout in evaluation."""
        product = x @ self.w
        if evaluating:
            product = (1 - self.p_dropout) * product
        return product + self.b

    def forward(self, x, evaluating):
        """The layer's output for the input ``x`` and what backward needs."""
        z = self.weighted_input(x, evaluating)
        a = self.activation_fn(z)
        return a, (x, z, a)

    def backward(self, delta_out, saved):
        """The gradients of w and b, and of the input, given d(cost)/d(output)."""
        x, z, a = saved
        delta = delta_out * derivative(self.activation_fn, z, a)
        return x.T @ delta, delta.sum(axis=0), delta @ self.w.T


class SoftmaxLayer(FullyConnectedLayer):

    def __init__(self, n_in, n_out, p_dropout=0.0):
        """A softmax output layer; its weights and biases start at zero."""
        self.n_in = n_in
        self.n_out = n_out
        self.activation_fn = softmax
        self.p_dropout = p_dropout
        self.w = np.zeros((n_in, n_out))
        self.b = np.zeros((n_out,))

    def forward(self, x, evaluating):
        """The softmax of x . w + b; backward expects d(cost)/d(z) directly."""
        z = self.weighted_input(x, evaluating)
        return softmax(z), (x,)

    def backward(self, delta_z, saved):
        """The gradients of w and b, and of the input, given d(cost)/d(z)."""
        (x,) = saved
        return x.T @ delta_z, delta_z.sum(axis=0), delta_z @ self.w.T


def softmax(z):
    """The softmax of each row, computed after subtracting the row's maximum."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


#### Convolution and pooling, one filter offset at a time

def convolve(images, w):
    """Valid-mode convolution of (m, C, H, W) images with (F, C, fh, fw) filters.

    A true convolution, as Theano's conv2d: each filter rotated by 180
    degrees, so output[n, f, i, j] = sum over c, p, q of
    images[n, c, i + p, j + q] * w[f, c, fh - 1 - p, fw - 1 - q].
    """
    m, _, height, width = images.shape
    filters, _, fh, fw = w.shape
    oh, ow = height - fh + 1, width - fw + 1
    flipped = w[:, :, ::-1, ::-1]
    out = np.zeros((m, filters, oh, ow))
    for p in range(fh):
        for q in range(fw):
            patch = images[:, :, p:p + oh, q:q + ow]
            out += np.einsum("nchw,fc->nfhw", patch, flipped[:, :, p, q])
    return out


def convolve_backward(images, w, delta_z):
    """The gradients of the filters and of the images, given d(cost)/d(convolution)."""
    _, _, fh, fw = w.shape
    oh, ow = delta_z.shape[2:]
    flipped = w[:, :, ::-1, ::-1]
    grad_flipped = np.zeros(w.shape)
    grad_images = np.zeros(images.shape)
    for p in range(fh):
        for q in range(fw):
            patch = images[:, :, p:p + oh, q:q + ow]
            grad_flipped[:, :, p, q] = np.einsum("nchw,nfhw->fc", patch, delta_z)
            grad_images[:, :, p:p + oh, q:q + ow] += np.einsum("nfhw,fc->nchw", delta_z,
                                                               flipped[:, :, p, q])
    return grad_flipped[:, :, ::-1, ::-1], grad_images


def max_pool(z, poolsize):
    """The maximum of each non-overlapping window, and where in its window it is.

    Rows and columns that do not fill a window are dropped.
    """
    m, maps, height, width = z.shape
    ph, pw = poolsize
    rows, cols = height // ph, width // pw
    windows = z[:, :, :rows * ph, :cols * pw].reshape(m, maps, rows, ph, cols, pw)
    windows = windows.transpose(0, 1, 2, 4, 3, 5).reshape(m, maps, rows, cols, ph * pw)
    where = windows.argmax(axis=4)
    return np.take_along_axis(windows, where[..., None], axis=4)[..., 0], where


def unpool(delta, where, z_shape, poolsize):
    """Spread a pooled gradient back onto the entries each window's maximum came from."""
    m, maps, rows, cols = delta.shape
    ph, pw = poolsize
    spread = np.zeros((m, maps, rows, cols, ph * pw))
    np.put_along_axis(spread, where[..., None], delta[..., None], axis=4)
    spread = spread.reshape(m, maps, rows, cols, ph, pw).transpose(0, 1, 2, 4, 3, 5)
    out = np.zeros(z_shape)
    out[:, :, :rows * ph, :cols * pw] = spread.reshape(m, maps, rows * ph, cols * pw)
    return out


#### The network

class Network:

    def __init__(self, layers, mini_batch_size):
        """Chain ``layers``; each takes the previous layer's output as its input."""
        self.layers = list(layers)
        self.mini_batch_size = mini_batch_size
        self.params = [param for layer in self.layers for param in (layer.w, layer.b)]
        self.dropout_rng = np.random.default_rng(0)
        self.test_x = None

    def feedforward(self, x, evaluating=True, masks=None):
        """The output layer's activations for the mini-batch ``x``, and what backward needs."""
        a = np.asarray(x, dtype=np.float64).reshape(x.shape[0], -1)
        saved = []
        for index, layer in enumerate(self.layers):
            if masks is not None and masks[index] is not None:
                a = a * masks[index]
            a, memory = layer.forward(a, evaluating)
            saved.append(memory)
        return a, saved

    def draw_masks(self, m):
        """Fresh dropout masks for one training mini-batch (None where p_dropout is 0)."""
        masks = []
        for layer in self.layers:
            if layer.p_dropout > 0:
                masks.append(self.dropout_rng.random((m, layer.n_in)) >= layer.p_dropout)
            else:
                masks.append(None)
        return masks

    def cost_and_gradients(self, x, y, lmbda, num_training_batches):
        """The cost of one mini-batch on the training path and each layer's (grad_w, grad_b).

        Draws the mini-batch's dropout masks, as a training step does.
        """
        y = np.asarray(y)
        m = x.shape[0]
        masks = self.draw_masks(m)
        output, saved = self.feedforward(x, evaluating=False, masks=masks)
        rows = np.arange(m)
        squares = sum(np.sum(layer.w ** 2) for layer in self.layers)
        cost = -np.mean(np.log(output[rows, y])) + 0.5 * lmbda * squares / num_training_batches
        delta = output.copy()
        delta[rows, y] -= 1.0
        delta /= m
        gradients = []
        for index in reversed(range(len(self.layers))):
            layer = self.layers[index]
            grad_w, grad_b, delta = layer.backward(delta, saved[index])
            if masks[index] is not None:
                delta = delta * masks[index]
            grad_w = grad_w + lmbda * layer.w / num_training_batches
            gradients.append((grad_w, grad_b))
        return cost, gradients[::-1]

    def train_mini_batch(self, x, y, eta, lmbda, num_training_batches):
        """One step of gradient descent on the mini-batch ``x``, ``y``; returns its cost."""
        cost, gradients = self.cost_and_gradients(x, y, lmbda, num_training_batches)
        for layer, (grad_w, grad_b) in zip(self.layers, gradients):
            layer.w -= eta * grad_w
            layer.b -= eta * grad_b
        return cost

    def predict(self, x):
        """The predicted labels of ``x`` on the evaluation path."""
        output, _ = self.feedforward(x, evaluating=True)
        return np.argmax(output, axis=1)

    def accuracy(self, x, y, mini_batch_size):
        """The mean over whole mini-batches of each mini-batch's fraction correct."""
        fractions = []
        for j in range(len(y) // mini_batch_size):
            part = slice(j * mini_batch_size, (j + 1) * mini_batch_size)
            fractions.append(np.mean(self.predict(x[part]) == y[part]))
        return np.mean(fractions)

    def SGD(self, training_data, epochs, mini_batch_size, eta, validation_data, test_data,
            lmbda=0.0):
        """Train by mini-batch gradient descent as network3 does, printing its lines.

        No shuffling; consecutive whole mini-batches; the validation accuracy
        after each epoch, and the test accuracy whenever the validation accuracy
        is at least the best so far.
        """
        training_x, training_y = as_arrays(training_data)
        validation_x, validation_y = as_arrays(validation_data)
        num_training_batches = len(training_y) // mini_batch_size
        if test_data is not None:
            self.test_x, test_y = as_arrays(test_data)
        best_validation_accuracy = 0.0
        best_iteration = 0
        test_accuracy = None
        for epoch in range(epochs):
            for index in range(num_training_batches):
                iteration = num_training_batches * epoch + index
                if iteration % 1000 == 0:
                    print("Training mini-batch number {0}".format(iteration))
                part = slice(index * mini_batch_size, (index + 1) * mini_batch_size)
                self.train_mini_batch(training_x[part], training_y[part], eta, lmbda,
                                      num_training_batches)
                if (iteration + 1) % num_training_batches == 0:
                    validation_accuracy = self.accuracy(validation_x, validation_y,
                                                        mini_batch_size)
                    print("Epoch {0}: validation accuracy {1:.2%}".format(
                        epoch, validation_accuracy))
                    if validation_accuracy >= best_validation_accuracy:
                        print("This is the best validation accuracy to date.")
                        best_validation_accuracy = validation_accuracy
                        best_iteration = iteration
                        if test_data is not None:
                            test_accuracy = self.accuracy(self.test_x, test_y, mini_batch_size)
                            print("The corresponding test accuracy is {0:.2%}".format(
                                test_accuracy))
        print("Finished training network.")
        print("Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
            best_validation_accuracy, best_iteration))
        if test_accuracy is not None:
            print("Corresponding test accuracy of {0:.2%}".format(test_accuracy))

    def test_mb_predictions(self, i):
        """The predicted labels of test mini-batch ``i`` of the test data SGD was given.

        Mini-batches are the Network's ``mini_batch_size`` long, as in network3.
        """
        part = slice(i * self.mini_batch_size, (i + 1) * self.mini_batch_size)
        return self.predict(self.test_x[part])


def as_arrays(pair):
    """The images as float64 and the labels as int of an ``(x, y)`` pair.

    Each may be an array or an object answering ``get_value()`` or ``eval()``.
    """
    x, y = pair
    return (np.asarray(value_of(x), dtype=np.float64),
            np.asarray(value_of(y)).astype(np.int64))


def value_of(thing):
    """The array behind a shared value, or the array itself."""
    if hasattr(thing, "get_value"):
        return thing.get_value()
    if hasattr(thing, "eval"):
        return thing.eval()
    return thing

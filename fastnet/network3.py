"""A drop-in for the book's chapter-6 network3.py (convolutional networks), without Theano.

Change ``import network3`` to ``from fastnet import network3`` (or put a file
``network3.py`` holding ``from fastnet.network3 import *`` beside the book's
``conv.py``) and chapter 6's scripts keep working: the same layers and
arguments, the same initial draws from ``np.random``, the same training loop
(no shuffling, whole consecutive mini-batches, L2 on the weights) and the
same printed lines.

What differs from Theano:
- training runs in float32 by default, as the book's file sets Theano's floatX;
  ``Network(layers, mini_batch_size, dtype=np.float64)`` trains in float64;
- dropout masks come from the Network's own generator,
  ``np.random.default_rng(0)``: for every training mini-batch, layer by
  layer, each layer with ``p_dropout > 0`` draws
  ``rng.random((mini_batch_size, n_in)) >= p_dropout``.  Runs with dropout are
  therefore statistically the book's, not bit for bit;
- the gradients are written out by hand instead of taken from a symbolic graph.

Parameters are ``layer.w`` and ``layer.b``, answering ``get_value()``,
``set_value()`` and ``eval()`` as Theano's shared variables do.

This module validates and orchestrates; the arithmetic is BLAS matrix
products (the fully-connected layers) and the convolution kernels of
``fastnet.convolution`` (compiled when built, else NumPy).
"""
import threading

import numpy as np

from fastnet import convolution, threads
from fastnet.checks import check_count, check_dtype, check_real, real_array
from fastnet.datasets.shared import SharedValue, load_data_shared as _load_data_shared

__all__ = ["Network", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer", "sigmoid", "tanh",
           "ReLU", "linear", "load_data_shared", "size", "ensemble", "SharedValue"]

# The precision the book's file trains in (Theano's floatX there).
floatX = "float32"

# Evaluation (validation and test accuracies) runs many mini-batches per call, about this
# many images at a time: the same per-example result, in fewer and larger matrix products.
EVALUATION_CHUNK = 100


#### Activation functions (plain NumPy functions, usable on arrays by scripts too)

def linear(z):
    """The identity: z."""
    return z


def ReLU(z):
    """The rectified linear unit: max(0, z)."""
    return np.maximum(0.0, z)


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z)."""
    with np.errstate(over="ignore"):       # exp(-z) = inf for very negative z: the limit 0 is right
        return 1.0 / (1.0 + np.exp(-z))


def tanh(z):
    """The hyperbolic tangent."""
    return np.tanh(z)


def activation_code(activation_fn, what="activation_fn"):
    """The kernels' code for an activation function.

    Recognised by name, so that ``np.tanh`` or another module's ``sigmoid``,
    ``tanh``, ``ReLU`` or ``linear`` (the reference's, say) work too.
    """
    name = getattr(activation_fn, "__name__", None)
    if name not in convolution.ACTIVATION_CODES:
        raise ValueError("{} must be one of network3's sigmoid, tanh, ReLU or linear, got {!r}"
                         .format(what, activation_fn))
    return convolution.ACTIVATION_CODES[name]


def _shape(value, length, name):
    """A tuple of ``length`` positive ints, or a clear error naming ``name``."""
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError("{} must be a tuple of {} integers, got {!r}".format(
            name, length, value)) from None
    if len(items) != length:
        raise ValueError("{} must have {} entries, got {!r}".format(name, length, value))
    return tuple(check_count(v, name + " entries", 1) for v in items)


def _dropout(p_dropout):
    p = check_real(p_dropout, "p_dropout")
    if not 0.0 <= p < 1.0:
        raise ValueError("p_dropout must be in [0, 1), got {}".format(p_dropout))
    return p


#### Layers

class ConvPoolLayer:

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid):
        """A convolutional layer followed by max-pooling, a bias per filter and the activation.

        ``filter_shape`` is (filters, input feature maps, filter height, filter
        width); ``image_shape`` is (mini-batch size, input feature maps, image
        height, image width); ``poolsize`` the (y, x) pooling window.  The
        convolution is valid-mode and true (each filter rotated by 180
        degrees, as Theano's conv2d).  Weights ~ N(0, 1/n_out) with n_out =
        filters * filter area / pool area, biases ~ N(0, 1), drawn from
        np.random in that order.
        """
        self.filter_shape = _shape(filter_shape, 4, "filter_shape")
        self.image_shape = _shape(image_shape, 4, "image_shape")
        self.poolsize = _shape(poolsize, 2, "poolsize")
        self.activation_fn = activation_fn
        self.act = activation_code(activation_fn)
        filters, maps, fh, fw = self.filter_shape
        _, in_maps, height, width = self.image_shape
        if maps != in_maps:
            raise ValueError("filter_shape {} expects {} input feature maps but image_shape {} "
                             "has {}".format(self.filter_shape, maps, self.image_shape, in_maps))
        if fh > height or fw > width:
            raise ValueError("the {}x{} filters of filter_shape are larger than the {}x{} images "
                             "of image_shape".format(fh, fw, height, width))
        ph, pw = self.poolsize
        self.conv_shape = (filters, height - fh + 1, width - fw + 1)
        if ph > self.conv_shape[1] or pw > self.conv_shape[2]:
            raise ValueError("poolsize {} is larger than the {}x{} output of the convolution"
                             .format(self.poolsize, *self.conv_shape[1:]))
        self.output_shape = (filters, self.conv_shape[1] // ph, self.conv_shape[2] // pw)
        self.n_in = maps * height * width
        self.n_out = int(np.prod(self.output_shape))
        self.p_dropout = 0.0
        # network3's fan-out: each filter entry feeds filter area / pool area outputs' worth.
        n_out = filters * fh * fw / (ph * pw)
        self.w = SharedValue(np.random.normal(loc=0, scale=np.sqrt(1.0 / n_out),
                                              size=self.filter_shape))
        self.b = SharedValue(np.random.normal(loc=0, scale=1.0, size=(filters,)))
        self.params = [self.w, self.b]


class FullyConnectedLayer:

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        """``n_in`` inputs to ``n_out`` neurons: activation(inputs . w + b).

        Weights (n_in, n_out) ~ N(0, 1/n_out), then biases ~ N(0, 1), from
        np.random.  With ``p_dropout`` > 0, training drops each input with that
        probability and evaluation scales inputs . w by 1 - p_dropout.
        """
        self.n_in = check_count(n_in, "n_in", 1, 2 ** 30)
        self.n_out = check_count(n_out, "n_out", 1, 2 ** 30)
        self.activation_fn = activation_fn
        self.act = activation_code(activation_fn)
        self.p_dropout = _dropout(p_dropout)
        self.w = SharedValue(np.random.normal(loc=0.0, scale=np.sqrt(1.0 / self.n_out),
                                              size=(self.n_in, self.n_out)))
        self.b = SharedValue(np.random.normal(loc=0.0, scale=1.0, size=(self.n_out,)))
        self.params = [self.w, self.b]


class SoftmaxLayer:

    def __init__(self, n_in, n_out, p_dropout=0.0):
        """The softmax output layer (log-likelihood cost); weights and biases start at zero.

        Nothing is drawn from np.random.
        """
        self.n_in = check_count(n_in, "n_in", 1, 2 ** 30)
        self.n_out = check_count(n_out, "n_out", 1, 2 ** 30)
        self.p_dropout = _dropout(p_dropout)
        self.w = SharedValue(np.zeros((self.n_in, self.n_out)))
        self.b = SharedValue(np.zeros((self.n_out,)))
        self.params = [self.w, self.b]


#### The network

class Network:

    def __init__(self, layers, mini_batch_size, dtype=np.float32):
        """Chain ``layers`` (a SoftmaxLayer last) for mini-batches of ``mini_batch_size``.

        ``dtype`` is the training precision: float32 (network3's) or float64.
        The layers' parameters are converted to it.  Dropout masks come from
        this network's own ``np.random.default_rng(0)``.
        """
        if isinstance(layers, (ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer)):
            raise TypeError("layers must be a list of layers, e.g. [FullyConnectedLayer(...), "
                            "SoftmaxLayer(...)]")
        try:
            self.layers = list(layers)
        except TypeError:
            raise TypeError("layers must be a list of layers, got {!r}".format(layers)) from None
        self.mini_batch_size = check_count(mini_batch_size, "mini_batch_size", 1)
        self.dtype = check_dtype(dtype)
        if not self.layers:
            raise ValueError("layers is empty: a network needs at least a SoftmaxLayer")
        for j, layer in enumerate(self.layers):
            if not isinstance(layer, (ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer)):
                raise TypeError("layer {} is a {}, not a ConvPoolLayer, FullyConnectedLayer or "
                                "SoftmaxLayer".format(j, type(layer).__name__))
            if isinstance(layer, SoftmaxLayer) != (j == len(self.layers) - 1):
                raise ValueError("the last layer, and only it, must be a SoftmaxLayer (network3's "
                                 "cost is the softmax's log-likelihood)")
            if isinstance(layer, ConvPoolLayer) and layer.image_shape[0] != self.mini_batch_size:
                raise ValueError("layer {}'s image_shape {} is for mini-batches of {}, but the "
                                 "network's mini_batch_size is {}".format(
                                     j, layer.image_shape, layer.image_shape[0],
                                     self.mini_batch_size))
            if j > 0 and layer.n_in != self.layers[j - 1].n_out:
                before = self.layers[j - 1]
                what = ("{} = {}x{}x{}".format(before.n_out, *before.output_shape)
                        if isinstance(before, ConvPoolLayer) else str(before.n_out))
                raise ValueError("layer {} takes {} inputs but layer {} gives {} outputs".format(
                    j, layer.n_in, j - 1, what))
        for layer in self.layers:
            layer.w.value = np.array(layer.w.value, dtype=self.dtype, order=_w_order(layer))
            layer.b.value = np.ascontiguousarray(layer.b.value, dtype=self.dtype)
        self.params = [param for layer in self.layers for param in layer.params]
        self.dropout_rng = np.random.default_rng(0)
        self._test_x = self._test_y = None
        self._plans = {}

    @property
    def n_in(self):
        return self.layers[0].n_in

    @property
    def n_out(self):
        return self.layers[-1].n_out

    def SGD(self, training_data, epochs, mini_batch_size, eta, validation_data, test_data,
            lmbda=0.0):
        """Train by mini-batch stochastic gradient descent, printing network3's lines.

        No shuffling: the training data is cut into its whole consecutive
        mini-batches (a last partial one is not used).  The cost is the mean
        of -ln(softmax output at the true label) plus 0.5 * lmbda * (sum of the
        squared weights) / num_training_batches.  After each epoch the
        validation accuracy is printed, and the test accuracy whenever the
        validation accuracy is at least the best so far.  Returns None.
        """
        epochs = check_count(epochs, "epochs", 0)
        mini_batch_size = check_count(mini_batch_size, "mini_batch_size", 1)
        if mini_batch_size != self.mini_batch_size:
            raise ValueError("SGD's mini_batch_size {} differs from the Network's {} (network3 "
                             "builds its layers for one size)".format(
                                 mini_batch_size, self.mini_batch_size))
        eta = check_real(eta, "eta")
        lmbda = check_real(lmbda, "lmbda")
        m = mini_batch_size
        training_x, training_y = self._data(training_data, "training_data")
        validation_x, validation_y = self._data(validation_data, "validation_data")
        test = None if test_data is None else self._data(test_data, "test_data")
        num_training_batches = len(training_y) // m
        for name, y in (("training_data", training_y), ("validation_data", validation_y)) + \
                ((("test_data", test[1]),) if test is not None else ()):
            if len(y) < m:
                raise ValueError("{} has {} examples, fewer than one mini-batch of {}".format(
                    name, len(y), m))
        if test is not None:
            self._test_x, self._test_y = test
        with self._in_use(), threads.kernel_threads():
            self._train(training_x, training_y, epochs, m, eta, lmbda, num_training_batches,
                        validation_x, validation_y, test)

    def _train(self, training_x, training_y, epochs, m, eta, lmbda, num_training_batches,
               validation_x, validation_y, test):
        """SGD's loop and lines, after the checks (BLAS held to fastnet's thread count:
        these products are small, and a second BLAS thread waiting for a busy core costs
        many times what it could give)."""
        params = self._parameters()
        plan = self._plan(m, training=True)
        decay = 1.0 - eta * lmbda / num_training_batches
        best_validation_accuracy = 0.0
        best_iteration = 0
        test_accuracy = None
        for epoch in range(epochs):
            for index in range(num_training_batches):
                iteration = num_training_batches * epoch + index
                if iteration % 1000 == 0:
                    print("Training mini-batch number {0}".format(iteration))
                part = slice(index * m, (index + 1) * m)
                plan.train(params, training_x[part], training_y[part], eta, decay,
                           self.dropout_rng)
            validation_accuracy = self._accuracy(params, validation_x, validation_y)
            print("Epoch {0}: validation accuracy {1:.2%}".format(epoch, validation_accuracy))
            if validation_accuracy >= best_validation_accuracy:
                print("This is the best validation accuracy to date.")
                best_validation_accuracy = validation_accuracy
                best_iteration = num_training_batches * (epoch + 1) - 1
                if test is not None:
                    test_accuracy = self._accuracy(params, *test)
                    print("The corresponding test accuracy is {0:.2%}".format(test_accuracy))
        print("Finished training network.")
        print("Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
            best_validation_accuracy, best_iteration))
        if test_accuracy is not None:
            print("Corresponding test accuracy of {0:.2%}".format(test_accuracy))

    def test_mb_predictions(self, i):
        """The predicted labels of mini-batch ``i`` of the test data last given to SGD."""
        if self._test_x is None:
            raise RuntimeError("test_mb_predictions needs test data: call SGD with test_data "
                               "first")
        m = self.mini_batch_size
        batches = self._test_x.shape[0] // m
        i = check_count(i, "i", 0)
        if i >= batches:
            raise IndexError("test mini-batch {} does not exist: the test data has {} whole "
                             "mini-batches".format(i, batches))
        with self._in_use(), threads.kernel_threads():
            return self._predict(self._parameters(), self._test_x[i * m:(i + 1) * m])

    def predict(self, x):
        """The predicted labels of the images ``x`` (n, n_in), any n, on the evaluation path."""
        x = self._images(x, "x")
        with self._in_use(), threads.kernel_threads():
            return self._predict(self._parameters(), x)

    #### Internals

    def _data(self, pair, what):
        """``(x, y)`` of network3 data as arrays: images (n, n_in) of the network's dtype and
        int labels, checked."""
        try:
            x, y = pair
        except (TypeError, ValueError):
            raise TypeError("{} must be a pair (x, y) as load_data_shared gives, got {!r}"
                            .format(what, type(pair).__name__)) from None
        x = self._images(x, what + " images")
        y = real_array(_value(y), what + " labels")
        if y.ndim != 1:
            raise ValueError("{} labels must be one-dimensional, got shape {}".format(
                what, y.shape))
        if y.dtype.kind not in "iu":
            raise TypeError("{} labels must be integers, got dtype {}".format(what, y.dtype))
        if len(y) != x.shape[0]:
            raise ValueError("{} has {} images but {} labels".format(what, x.shape[0], len(y)))
        if len(y) and (y.min() < 0 or y.max() >= self.n_out):
            bad = y[(y < 0) | (y >= self.n_out)][0]
            raise ValueError("{} labels must be in 0 .. {} (the softmax has {} outputs), found {}"
                             .format(what, self.n_out - 1, self.n_out, bad))
        return x, y.astype(np.intp, copy=False)

    def _images(self, x, what):
        x = real_array(_value(x), what)
        if x.ndim < 2:
            raise ValueError("{} must be an (n, {}) array, got shape {}".format(
                what, self.n_in, x.shape))
        if int(np.prod(x.shape[1:])) != self.n_in:
            first = self.layers[0]
            expected = (" = {}x{}x{} (the first layer's image_shape {})".format(
                *first.image_shape[1:], first.image_shape)
                if isinstance(first, ConvPoolLayer) else "")
            raise ValueError("{} have {} values each (shape {}) but the first layer takes {}{}"
                             .format(what, int(np.prod(x.shape[1:])), x.shape, self.n_in, expected))
        x = np.ascontiguousarray(x.reshape(x.shape[0], self.n_in), dtype=self.dtype)
        if not np.isfinite(x).all():
            raise ValueError("{} contain NaN or infinity".format(what))
        return x

    def _parameters(self):
        """Each layer's (w, b) as arrays of the network's dtype in the layout the
        kernels want (``_w_order``), checked.

        The arrays are the SharedValues' own (converted in place if the user
        set values of another dtype or layout), so training updates what
        ``get_value(borrow=True)`` returns and ``set_value`` is seen next call.
        """
        params = []
        for j, layer in enumerate(self.layers):
            pair = []
            for name, shared, shape in (("w", layer.w, _w_shape(layer)), ("b", layer.b,
                                                                          (_filters(layer),))):
                if not isinstance(shared, SharedValue):
                    raise TypeError("layer {}'s {} must be a SharedValue (use {}.set_value)"
                                    .format(j, name, name))
                value = real_array(shared.get_value(borrow=True), "layer {}'s {}".format(j, name))
                if value.shape != shape:
                    raise ValueError("layer {}'s {} has shape {}, expected {}".format(
                        j, name, value.shape, shape))
                order = _w_order(layer) if name == "w" else "C"
                laid_out = value.flags.f_contiguous if order == "F" else value.flags.c_contiguous
                if value.dtype != self.dtype or not laid_out or not value.flags.writeable:
                    value = np.array(value, dtype=self.dtype, order=order)
                    shared.value = value
                if not np.isfinite(value).all():
                    raise ValueError("layer {}'s {} contains NaN or infinity".format(j, name))
                pair.append(value)
            params.append(tuple(pair))
        return params

    def _plan(self, batch, training):
        key = (batch, training)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self.layers, batch, self.dtype, training)
        return plan

    def _predict(self, params, x):
        """Labels of every row of x, computed EVALUATION_CHUNK-ish rows at a time."""
        n = x.shape[0]
        chunk = self.mini_batch_size * max(1, EVALUATION_CHUNK // self.mini_batch_size)
        labels = np.empty(n, dtype=np.int64)
        for start in range(0, n, chunk):
            rows = x[start:start + chunk]
            output = self._plan(rows.shape[0], training=False).evaluate(params, rows)
            labels[start:start + rows.shape[0]] = np.argmax(output, axis=1)
        return labels

    def _accuracy(self, params, x, y):
        """network3's accuracy: the mean over whole mini-batches of each one's fraction correct."""
        m = self.mini_batch_size
        whole = (len(y) // m) * m
        correct = self._predict(params, x[:whole]) == y[:whole]
        return np.mean(np.mean(correct.reshape(-1, m), axis=1))

    def _in_use(self):
        """A guard: the work buffers are the network's own, so one thread at a time."""
        with _GUARD:
            busy = self.__dict__.get("_busy")
            if busy is None:
                busy = self._busy = _Busy()
        return busy

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_plans"] = {}          # work buffers are rebuilt, not pickled
        state.pop("_busy", None)
        return state


_GUARD = threading.Lock()


class _Busy:
    """Refuses a second thread's training or predicting while one runs (they would share
    the network's buffers), instead of mixing their numbers silently."""

    def __init__(self):
        self.lock = threading.Lock()

    def __enter__(self):
        if not self.lock.acquire(blocking=False):
            raise RuntimeError("this Network is training or predicting in another thread; "
                               "use copies of it (copy.deepcopy) to work in parallel")

    def __exit__(self, *exc):
        self.lock.release()


def _w_shape(layer):
    return layer.filter_shape if isinstance(layer, ConvPoolLayer) else (layer.n_in, layer.n_out)


def _w_order(layer):
    """The memory order of a layer's weights in training.

    A dense layer's (n_in, n_out) weights are kept in Fortran order, each
    neuron's weights together: the backward product delta . w^T then reads a
    C-ordered matrix, which BLAS multiplies about three times faster at a
    mini-batch of 10 than the transposed one (and the other two products
    lose nothing).  The values, shape and indexing are the same either way.
    """
    return "C" if isinstance(layer, ConvPoolLayer) else "F"


def _filters(layer):
    return layer.filter_shape[0] if isinstance(layer, ConvPoolLayer) else layer.n_out


def _value(thing):
    """The array behind a SharedValue (or Theano-like object), or the thing itself."""
    if hasattr(thing, "get_value"):
        return thing.get_value(borrow=True)
    if hasattr(thing, "eval"):
        return thing.eval()
    return thing


#### The per-step work, on buffers allocated once per batch size

class _Plan:
    """The buffers and steps of one pass through the layers for ``batch`` examples.

    Training plans hold what backpropagation needs (activations, dropout
    masks, gradients); evaluation plans only the forward buffers.
    """

    def __init__(self, layers, batch, dtype, training):
        self.kernels = convolution.kernels()
        self.rows = np.arange(batch)          # the one-hot places, made once, not per step
        self.steps = []
        for j, layer in enumerate(layers):
            if isinstance(layer, ConvPoolLayer):
                step = _ConvStep(layer, batch, dtype, training, self.kernels, first=(j == 0))
            else:
                step = _DenseStep(layer, batch, dtype, training, first=(j == 0))
            self.steps.append(step)

    def evaluate(self, params, x):
        a = x
        for step, (w, b) in zip(self.steps, params):
            a = step.forward(a, w, b, None)
        return a

    def train(self, params, x, y, eta, decay, rng):
        """One gradient step on the mini-batch x, y (masks drawn from rng, layer by layer)."""
        a = x
        for step, (w, b) in zip(self.steps, params):
            a = step.forward(a, w, b, rng)
        # d(cost)/dz of the softmax for the mean log-likelihood: (output - one-hot) / m.
        delta = self.steps[-1].a
        delta[self.rows[:len(y)], y] -= 1.0
        delta *= 1.0 / len(y)
        for step, (w, b) in zip(reversed(self.steps), reversed(params)):
            delta = step.backward(delta, w, b, eta, decay)


class _DenseStep:
    """A FullyConnectedLayer or the SoftmaxLayer: BLAS products into preallocated arrays."""

    def __init__(self, layer, batch, dtype, training, first):
        self.softmax = isinstance(layer, SoftmaxLayer)
        self.act = None if self.softmax else layer.act
        self.p = layer.p_dropout
        self.training = training
        n_in, n_out = layer.n_in, layer.n_out
        self.a = np.empty((batch, n_out), dtype=dtype)
        if training:
            self.delta = np.empty((batch, n_out), dtype=dtype)
            self.dw = np.empty((n_in, n_out), dtype=dtype, order="F")   # as w (_w_order)
            self.db = np.empty(n_out, dtype=dtype)
            self.dx = None if first else np.empty((batch, n_in), dtype=dtype)
            if self.p > 0:
                # The mask convention: one float64 uniform per input, kept where >= p.
                self.uniform = np.empty((batch, n_in), dtype=np.float64)
                self.mask = np.empty((batch, n_in), dtype=dtype)
                self.dropped = np.empty((batch, n_in), dtype=dtype)

    def forward(self, x, w, b, rng):
        if rng is not None and self.p > 0:
            rng.random(out=self.uniform)
            np.greater_equal(self.uniform, self.p, out=self.mask)
            np.multiply(x, self.mask, out=self.dropped)
            x = self.dropped
        self.x = x
        a = self.a
        np.matmul(x, w, out=a)
        if rng is None and self.p > 0:
            a *= 1.0 - self.p                 # evaluation: the expected share of inputs kept
        a += b
        if self.softmax:
            a -= a.max(axis=1, keepdims=True)
            np.exp(a, out=a)
            a /= a.sum(axis=1, keepdims=True)
        else:
            convolution.apply_activation(self.act, a)
        return a

    def backward(self, delta_out, w, b, eta, decay):
        """Gradients from d(cost)/d(output) (d(cost)/dz for the softmax), then the update.

        Returns d(cost)/d(input), computed with the weights before the update.
        """
        if self.softmax:
            delta = delta_out
        else:
            delta = self.delta
            convolution.activation_derivative(self.act, self.a, delta)
            delta *= delta_out
        np.matmul(self.x.T, delta, out=self.dw)
        np.sum(delta, axis=0, out=self.db)
        dx = self.dx
        if dx is not None:
            np.matmul(delta, w.T, out=dx)
            if self.p > 0:
                dx *= self.mask
        _update(w, b, self.dw, self.db, eta, decay)
        return dx


class _ConvStep:
    """A ConvPoolLayer: the convolution kernels, on (m, C, H, W) views of flat rows."""

    def __init__(self, layer, batch, dtype, training, kernels, first):
        self.k = kernels
        self.act = layer.act
        self.ph, self.pw = layer.poolsize
        self.in_shape = (batch,) + layer.image_shape[1:]
        self.z = np.empty((batch,) + layer.conv_shape, dtype=dtype)
        self.a = np.empty((batch,) + layer.output_shape, dtype=dtype)
        self.where = np.empty(self.a.shape, dtype=np.int32)
        if training:
            self.dz = np.empty(self.z.shape, dtype=dtype)
            self.dw = np.empty(layer.filter_shape, dtype=dtype)
            self.db = np.empty(layer.filter_shape[0], dtype=dtype)
            self.dx = None if first else np.empty(self.in_shape, dtype=dtype)

    def forward(self, x, w, b, rng):
        self.x = x.reshape(self.in_shape)
        self.k.conv_forward(self.x, w, self.z)
        self.k.pool_forward(self.z, b, self.ph, self.pw, self.act, self.a, self.where)
        return self.a.reshape(self.a.shape[0], -1)

    def backward(self, delta_out, w, b, eta, decay):
        self.k.pool_backward(delta_out.reshape(self.a.shape), self.a, self.where, self.act,
                             self.dz, self.db, self.ph, self.pw)
        self.k.conv_backward(self.x, w, self.dz, self.dw, self.dx)
        _update(w, b, self.dw, self.db, eta, decay)
        return None if self.dx is None else self.dx.reshape(self.dx.shape[0], -1)


def _update(w, b, dw, db, eta, decay):
    """w <- w - eta (dw + lmbda w / num_training_batches), computed as decay * w - eta dw;
    b <- b - eta db."""
    if decay != 1.0:
        w *= decay
    dw *= eta
    w -= dw
    db *= eta
    b -= db


#### Module-level helpers, as network3 has them

def load_data_shared(filename="../data/mnist.pkl.gz", dtype=np.float32):
    """network3's data: ``[(x, y), (x, y), (x, y)]`` of SharedValue, for training, validation
    and test (see ``fastnet.datasets.shared.load_data_shared``)."""
    return _load_data_shared(filename, dtype=dtype)


def size(data):
    """The number of examples in ``data``, an ``(x, y)`` pair as load_data_shared gives."""
    return np.shape(_value(data[0]))[0]


def ensemble(nets, test_data=None):
    """A plurality vote of ``nets`` on the test data, as the book's conv.py ``ensemble(nets)``.

    Each net predicts every whole mini-batch of ``test_data``, by default the
    test data its last SGD was given (what ``test_mb_predictions`` reads); the
    most frequent prediction wins, a tie going to the label named by the
    earliest net among those tied.  Prints ``Accuracy is {:.2%}`` and returns
    ``(error_locations, erroneous_predictions)``: the indices of the test
    images the vote gets wrong, and its predictions for them.
    """
    nets = list(nets)
    if not nets:
        raise ValueError("ensemble needs at least one network")
    predictions, truth = [], None
    for net in nets:
        if test_data is not None:
            x, y = net._data(test_data, "test_data")
        elif net._test_x is None:
            raise ValueError("ensemble needs test_data, or nets trained by SGD with test data")
        else:
            x, y = net._test_x, net._test_y
        m = net.mini_batch_size
        whole = (len(y) // m) * m
        if whole == 0:
            raise ValueError("test_data has fewer examples than one mini-batch of {}".format(m))
        if truth is not None and (whole != len(truth) or not np.array_equal(y[:whole], truth)):
            raise ValueError("the nets' test data differ (another set, or another mini-batch "
                             "size), so their predictions cannot be compared image by image")
        truth = y[:whole]
        with net._in_use(), threads.kernel_threads():
            predictions.append(net._predict(net._parameters(), x[:whole]))
    predictions = np.array(predictions)                   # (nets, images)
    rows = np.arange(predictions.shape[1])
    counts = np.zeros((predictions.shape[1], int(predictions.max()) + 1), dtype=np.int64)
    for labels in predictions:
        counts[rows, labels] += 1
    most = counts.max(axis=1)
    vote = predictions[0].copy()
    # The latest net first, so that the earliest net naming a most frequent label has the
    # last word.
    for labels in predictions[::-1]:
        top = counts[rows, labels] == most
        vote[top] = labels[top]
    wrong = np.flatnonzero(vote != truth)
    print("Accuracy is {:.2%}".format(1 - len(wrong) / float(len(truth))))
    return [int(j) for j in wrong], [int(vote[j]) for j in wrong]

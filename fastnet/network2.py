"""A drop-in for network2.py whose training runs in compiled kernels.

Change ``import network2`` to ``from fastnet import network2`` and a script
keeps working: the same names, arguments, printed lines, return values, JSON
files and use of the random generators, so the same seeds give the same run
(up to floating-point summation order).

Besides network2's iterables of ``(x, y)`` pairs, data may be given as a
tuple of arrays ``(X, y)`` (see ``fastnet.examples`` for the rule that tells
the two apart).  Training runs in float64 by default; ``SGD(...,
dtype=np.float32)`` trains in float32 (about twice as fast, to float32
precision).  Beyond network2, keyword-only: ``Network(..., activation="tanh"
or "relu", output="softmax" (with LogLikelihoodCost), init="glorot" or "he")``
(``fastnet.activations``); network2's choices are the defaults.

This module is the API: it validates, delegates, prints and returns
network2's types.  Data checking lives in ``fastnet.examples``, the packed
parameters in ``fastnet.parameters``, the training loop and every kernel call
in ``fastnet.engine``.
"""
import random
import threading
import warnings

import numpy as np

from fastnet import activations, dispatch, engine, examples
from fastnet.checks import (check_count, check_dtype, check_real, check_sizes, json_numbers,
                            normal_generator)
from fastnet.costs import (CrossEntropyCost, LogLikelihoodCost, QuadraticCost,  # noqa: F401
                           cost_by_name, cost_kind, sigmoid, sigmoid_prime)
from fastnet.files import write_atomically
from fastnet.parameters import Parameters, unpack_apart

__all__ = ["Network", "CrossEntropyCost", "QuadraticCost", "LogLikelihoodCost", "load",
           "vectorized_result", "sigmoid", "sigmoid_prime"]


class Network:

    def __init__(self, sizes, cost=CrossEntropyCost, *, activation="sigmoid", output="sigmoid",
                 init="default", random_state=None):
        """A fully-connected network with ``sizes[l]`` neurons in layer l (layer 0: the input).

        network2's network is sigmoid throughout; the keyword-only
        ``activation`` ("sigmoid", "tanh" or "relu") sets the hidden layers'
        activation and ``output`` ("sigmoid" or "softmax", which needs
        ``cost=LogLikelihoodCost``) the output layer's.  ``init`` names the
        initial weights (``fastnet.activations``): "default" (network2's, whatever
        the activation), "large", "glorot" or "he".  They are drawn from
        np.random, as network2 does, or from ``random_state`` (a seed or a
        np.random.RandomState) when it is given, leaving np.random untouched.
        """
        self.sizes = check_sizes(sizes)
        self.num_layers = len(self.sizes)
        activations.kernel_layers(activation, output, cost_kind(cost))
        self.cost = cost
        self.activation = activation
        self.output = output
        activations.check_choice(init, "init", activations.INITIALISERS)
        if init == "default":
            self.default_weight_initializer(random_state)    # as network2 (subclasses too)
        else:
            self._draw_parameters(random_state, init)

    def default_weight_initializer(self, random_state=None):
        """Gaussian weights with standard deviation 1/sqrt(fan-in); Gaussian biases.

        All biases are drawn first, layer by layer, then all weights.
        """
        self._draw_parameters(random_state, "default")

    def large_weight_initializer(self, random_state=None):
        """Gaussian weights and biases with standard deviation 1, drawn in the same order."""
        self._draw_parameters(random_state, "large")

    def glorot_weight_initializer(self, random_state=None):
        """Glorot/Xavier: Gaussian weights of variance 2/(fan-in + fan-out), zero biases.

        Made for tanh layers: it keeps the variance of activations and of
        gradients roughly the same from layer to layer.
        """
        self._draw_parameters(random_state, "glorot")

    def he_weight_initializer(self, random_state=None):
        """He: Gaussian weights of variance 2/fan-in, zero biases; made for ReLU layers."""
        self._draw_parameters(random_state, "he")

    def feedforward(self, a):
        """The network's output for input column ``a`` (or several columns side by side).

        A column ``(n0, 1)`` gives a column ``(nL, 1)``, ``(n0, k)`` gives
        ``(nL, k)`` and a flat ``(n0,)`` a flat ``(nL,)``, in float64.
        """
        column, out_column, _, calls, params = self._row_calls()
        if type(a) is np.ndarray and a.shape == column:
            # network2's column, one example: the per-call path, as short as it can be
            # (one_input's test inline; ``flags`` is a new object at every access).
            if not (a.dtype.char in "fd" and a.dtype.isnative
                    and (flags := a.flags).c_contiguous and flags.aligned):
                a = examples.one_input(a, column[0], "feedforward's input")
            result = np.empty(out_column)
            calls.feedforward(a, result, dispatch.level_for(1))
            return result
        n0 = column[0]
        shape = a.shape if type(a) is np.ndarray else np.shape(a)
        ndim = len(shape)
        if ndim == 2 and shape[0] == n0 and shape[1] != 1:
            rows = examples.input_rows(np.transpose(a), n0, np.float64, "feedforward's input")
            return engine.outputs(params, rows, self._layers()).T
        x = examples.one_input(a, n0, "feedforward's input")
        result = np.empty((params.sizes[-1], 1) if ndim == 2 else params.sizes[-1])
        engine.feedforward_row(params, x, result, self._layers())
        return result

    def outputs(self, X, dtype=None):
        """The output layer's activations for every row of ``X``: shape (n, sizes[-1]).

        The batch form of ``feedforward``, computed by the compiled kernel.
        """
        dtype = check_dtype(dtype)
        params = self._parameters(dtype)
        return engine.outputs(params, examples.input_rows(X, params.sizes[0], dtype, "X"),
                              self._layers())

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0,
            evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
            monitor_training_cost=False, monitor_training_accuracy=False,
            early_stopping_n=0,
            *, dtype=None, progress=None, quiet=False, monitor_learning_speed=None,
            shuffle_with=None, threads=1, warn_nonfinite=True):
        """Train with mini-batch stochastic gradient descent and L2 regularisation.

        Exactly network2's SGD: every epoch shuffles ``training_data`` in place
        with ``random.shuffle``, steps through it in mini-batches, prints
        ``Epoch j training complete`` and the monitors that are switched on,
        and the four monitor lists are returned.  ``early_stopping_n`` (the
        most used Python 3 port's extension): when positive, training stops
        after ``early_stopping_n`` epochs in a row without an accuracy above
        the best so far (the evaluation accuracy, or the training accuracy if
        only that is monitored); 0 trains every epoch.  Arrays ``(X, y)`` are never
        reordered: each call starts from their own row order and shuffles
        that order as network2 would shuffle a list.  fastnet's extras, all
        keyword-only:

        - ``dtype``: np.float64 (default) or np.float32, the training precision;
        - ``progress``: a callable given the number of mini-batches just
          finished (e.g. a tqdm bar's ``update``); the epoch then runs in
          chunks, so Ctrl-C lands between chunks with the weights consistent;
        - ``quiet``: print nothing;
        - ``monitor_learning_speed``: data (as for ``learning_speed``); after
          every epoch the hidden layers' learning speeds on it are recorded,
          and a fifth list of them is returned;
        - ``shuffle_with``: a ``random.Random`` to shuffle with instead of the
          module-level ``random`` that network2 uses;
        - ``threads``: for full-batch descent (one mini-batch holding at least
          500 examples, all of them: the chapter's learning-speed runs), this
          many threads share each step's rows.  The result does not depend on it.

        If the weights stop being finite (a learning rate far too large), a
        RuntimeWarning names the epoch (unless ``warn_nonfinite=False``, for
        callers that report it themselves); training goes on, as network2's does.
        """
        epochs = check_count(epochs, "epochs", minimum=0)
        mini_batch_size = check_count(mini_batch_size, "mini_batch_size", minimum=1)
        eta = check_real(eta, "eta")
        lmbda = check_real(lmbda, "lmbda")
        dtype = check_dtype(dtype)
        threads = check_count(threads, "threads", minimum=1, maximum=256)
        early_stopping_n = check_count(early_stopping_n, "early_stopping_n", minimum=0)
        if early_stopping_n and not (monitor_evaluation_accuracy or monitor_training_accuracy):
            raise ValueError("early_stopping_n needs an accuracy to watch: set "
                             "monitor_evaluation_accuracy (or monitor_training_accuracy)")
        if progress is not None and not callable(progress):
            raise TypeError("progress must be a callable taking a number of mini-batches")
        if shuffle_with is None:
            shuffle_with = random
        elif not isinstance(shuffle_with, random.Random):
            raise TypeError("shuffle_with must be a random.Random, got {!r}".format(shuffle_with))
        layers = self._layers()
        say = (lambda *args: None) if quiet else print
        with _exclusive(self):
            params = self._parameters().copy(dtype)
            # The kernel checks the inputs for NaN/inf as it reads them in the first
            # epoch (a separate pass would cost up to a tenth of an epoch).
            train = examples.convert(training_data, params.sizes, dtype, "training_data",
                                     check_inputs=False)
            n = train.n
            if n == 0:
                raise ValueError("training_data is empty")
            evaluation = None
            if evaluation_data is not None:
                evaluation = examples.convert(evaluation_data, params.sizes, dtype,
                                              "evaluation_data")
            if (monitor_evaluation_cost or monitor_evaluation_accuracy) and \
                    (evaluation is None or evaluation.n == 0):
                raise ValueError("monitoring the evaluation cost or accuracy needs "
                                 "evaluation_data (with at least one example)")
            if epochs == 0 and train.n:
                examples.check_finite(train.X, "training_data inputs")
            speed_examples = None
            if monitor_learning_speed is training_data:
                speed_examples = train
            elif monitor_learning_speed is not None:
                speed_examples = examples.convert(monitor_learning_speed, params.sizes, dtype,
                                                  "monitor_learning_speed")
                if speed_examples.n == 0:
                    raise ValueError("monitor_learning_speed is empty")
            monitor = [name for name, on in (
                ("training_cost", monitor_training_cost),
                ("training_accuracy", monitor_training_accuracy),
                ("evaluation_cost", monitor_evaluation_cost),
                ("evaluation_accuracy", monitor_evaluation_accuracy)) if on]
            keep = True
            try:
                with engine.Trainer(params, train, mini_batch_size, eta, lmbda, self.cost,
                                    layers, threads=threads, evaluation=evaluation,
                                    speed_examples=speed_examples, monitor=monitor) as run:
                    watch = engine.EarlyStopping(early_stopping_n)
                    for j in range(epochs):
                        if run.train_epoch(shuffle_with, progress) and warn_nonfinite:
                            warnings.warn("the weights stopped being finite in epoch {} "
                                          "(eta={}, lmbda={}): the learning rate is far too "
                                          "large".format(j, eta, lmbda), RuntimeWarning,
                                          stacklevel=2)
                        say("Epoch %s training complete" % j)
                        measured = run.measure()
                        _say_measurements(say, measured, train.n,
                                          evaluation.n if evaluation is not None else 0)
                        if watch.stop_after(measured):
                            break
                    run.finish()
            except engine.NonFiniteInputs:
                keep = False              # bad data: the network stays as it was
                raise
            finally:
                # Ctrl-C between chunks leaves the finished mini-batches' weights.
                if keep:
                    self._adopt(params.copy(np.float64) if dtype is not np.float64 else params)
        monitors = (run.evaluation_cost, run.evaluation_accuracy, run.training_cost,
                    run.training_accuracy)
        if monitor_learning_speed is not None:
            return monitors + (run.learning_speeds,)
        return monitors

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """One SGD step on the pairs of ``mini_batch``, as network2's update_mini_batch.

        w <- (1 - eta*lmbda/n) w - (eta/m) sum dC_x/dw and b <- b - (eta/m)
        sum dC_x/db over the m examples; ``n`` is the size of the whole
        training set.  Afterwards ``weights``/``biases`` are new arrays.
        """
        eta = check_real(eta, "eta")
        lmbda = check_real(lmbda, "lmbda")
        n = check_count(n, "n", minimum=1, maximum=2 ** 62)
        with _exclusive(self):
            params = self._parameters().copy()
            batch = examples.convert(mini_batch, params.sizes, np.float64, "mini_batch")
            if batch.n == 0:
                raise ValueError("mini_batch is empty")
            engine.update_mini_batch(params, batch, eta, lmbda, n, cost_kind(self.cost),
                                     self._layers())
            self._adopt(params)

    def backprop(self, x, y):
        """The gradient ``(nabla_b, nabla_w)`` of the cost C_x of one example.

        ``x`` is an input column, ``y`` the desired output column (or an int
        label).  The results are fresh arrays shaped like biases and weights.
        """
        _, _, kind, calls, params = self._row_calls()
        sizes = params.sizes
        x = examples.one_input(x, sizes[0], "x")
        y = examples.one_target(y, sizes[-1], "y")
        gradient = np.empty_like(params.flat)
        calls.backprop(x, y, kind, gradient, dispatch.level_for(1))
        weights, biases = unpack_apart(gradient, sizes)
        return biases, weights

    def gradients(self, data, dtype=None):
        """The mean over ``data`` of every example's gradient: ``(nabla_b, nabla_w)``.

        ``nabla_b[l]`` averages dC_x/db over the examples, the chapter's measure
        of how fast each neuron of layer l+1 learns.
        """
        dtype = check_dtype(dtype)
        params = self._parameters(dtype)
        data = self._nonempty(data, params, dtype, "data")
        return engine.mean_gradients(params, data, cost_kind(self.cost), self._layers())

    def learning_speed(self, data, dtype=None):
        """The learning speed ||delta^l|| of every hidden layer, as the chapter defines it.

        delta^l is dC/db^l averaged over the examples in ``data``.
        """
        dtype = check_dtype(dtype)
        params = self._parameters(dtype)
        data = self._nonempty(data, params, dtype, "data")
        return engine.learning_speeds(params, data, cost_kind(self.cost), self._layers())

    def accuracy(self, data, convert=False):
        """How many examples of ``data`` the network classifies right (an int).

        ``convert`` is accepted for network2's sake; the label format (int
        labels or one-hot columns) is read off the data itself.
        """
        params = self._parameters()
        return engine.accuracy(params, examples.convert(data, params.sizes, np.float64, "data"),
                               self._layers())

    def accuracy_counter(self, data):
        """A callable that returns ``accuracy(data)`` for the network as it is when called.

        ``data`` is converted and checked once, here, instead of at every call:
        for a caller that measures the same data after every epoch and does not
        change it in between (``fastnet train``'s validation images).
        """
        converted = examples.convert(data, self.sizes, np.float64, "data")
        return lambda: engine.accuracy(self._parameters(), converted, self._layers())

    def total_cost(self, data, lmbda, convert=False):
        """Mean cost over ``data`` plus the L2 term 0.5*(lmbda/n)*sum ||w||^2 (np.float64).

        ``convert`` is accepted for network2's sake; the label format is read
        off the data itself.
        """
        lmbda = check_real(lmbda, "lmbda")
        params = self._parameters()
        data = self._nonempty(data, params, np.float64, "data")
        return engine.total_cost(params, data, lmbda, self.cost, self._layers())

    def save(self, filename):
        """Write network2's JSON: sizes, weights, biases and the cost's name.

        A network that is not network2's sigmoid throughout also gets the keys
        ``activation`` and/or ``output`` (only those that differ from
        "sigmoid", so the files of network2's networks stay exactly network2's).
        The book's network2 would load such a file as a sigmoid network and
        compute something else with it: that is the user's risk.

        The file is written to a temporary name beside it and then renamed,
        so a crash never leaves half a file behind.  JSON has no NaN or
        infinity, so weights holding them are refused.
        """
        params = self._parameters()
        if not params.is_finite():
            raise ValueError("the weights or biases contain NaN or infinity, which a JSON "
                             "network file cannot hold")
        data = {"sizes": list(params.sizes),
                "weights": [w.tolist() for w in params.weights],
                "biases": [b.tolist() for b in params.biases],
                "cost": str(self.cost.__name__)}
        layers = self._layers()
        if layers.hidden != activations.DEFAULT.hidden:
            data["activation"] = self.activation
        if layers.output != activations.DEFAULT.output:
            data["output"] = self.output
        import json   # here: every command imports this module, few save

        text = json.dumps(data)
        write_atomically(filename, lambda f: f.write(text.encode()))

    #### The packed parameters

    def _draw_parameters(self, random_state, init):
        generator = normal_generator(random_state)
        sizes = check_sizes(self.sizes)
        weights, biases = activations.draw_parameters(sizes, init, generator)
        self._adopt(Parameters.pack(sizes, weights, biases))

    def _layers(self):
        """The kernels' activations for ``activation``/``output``, checked against the cost.

        Remembered for the names and cost it was made from, so that the
        per-example calls do not check them again every time.
        """
        state = self.__dict__
        activation, output = state.get("activation", "sigmoid"), state.get("output", "sigmoid")
        remembered = state.get("_layers_for")
        # Identity first (the per-example calls come here every time), then equality.
        if remembered is not None and ((remembered[0] is activation and remembered[1] is output
                                        and remembered[2] is self.cost)
                                       or remembered[:3] == (activation, output, self.cost)):
            return remembered[3]
        layers = activations.kernel_layers(activation, output, cost_kind(self.cost))
        self._layers_for = (activation, output, self.cost, layers)
        return layers

    def _row_calls(self):
        """``(input column shape, output column shape, cost kind, engine.row_calls,
        parameters)`` for the parameters and activations as they are now
        (``_parameters`` without the finiteness check, and ``_layers``), made once for
        many per-example calls.

        What ``_parameters`` and ``_layers`` look at is compared by identity with what
        they were when made; any difference goes through them again.
        """
        state = self.__dict__
        held = state.get("_row_calls_for")
        if (held is not None and held[0] is state.get("_packed")
                and held[1] is state.get("activation", "sigmoid")
                and held[2] is state.get("output", "sigmoid") and held[3] is self.cost
                and held[0].describes(self.sizes, self.weights, self.biases)):
            return held[4]
        params = self._parameters(check_finite=False)
        calls = engine.row_calls(params, self._layers())
        made = ((params.sizes[0], 1), (params.sizes[-1], 1), cost_kind(self.cost), calls,
                params)
        # After _layers(), which has checked these against each other.
        state["_row_calls_for"] = (params, state.get("activation", "sigmoid"),
                                   state.get("output", "sigmoid"), self.cost, made)
        return made

    def _adopt(self, params):
        """Make ``weights``/``biases`` new lists of views of ``params`` (float64)."""
        self._packed = params
        self.weights = list(params.weights)
        self.biases = list(params.biases)

    def _parameters(self, dtype=np.float64, check_finite=True):
        """The parameters as they are now, packed: ours if the lists still hold our views.

        Arrays the user has put in their place are checked and packed afresh
        at every call (they are not adopted: the user may still change them).
        Values must be finite.  The per-example calls turn ``check_finite`` off
        for our own views (a pass over them would cost more than the call; as in
        network2, NaN written into them just gives NaN results); replaced
        arrays are always checked, as they are copied anyway.
        """
        packed = self.__dict__.get("_packed")
        if packed is None or not packed.describes(self.sizes, self.weights, self.biases):
            packed = Parameters.pack(check_sizes(self.sizes), self.weights, self.biases)
            check_finite = True         # a copy was made anyway: check it whole
        if check_finite and not packed.is_finite():
            raise ValueError("the weights or biases contain NaN or infinity")
        return packed if dtype is np.float64 else packed.copy(dtype)

    @staticmethod
    def _nonempty(data, params, dtype, what):
        converted = examples.convert(data, params.sizes, dtype, what)
        if converted.n == 0:
            raise ValueError("{} is empty".format(what))
        return converted

    def __getstate__(self):
        """Pickle and copy the public attributes only; the packing is redone on load."""
        state = self.__dict__.copy()
        state.pop("_packed", None)
        state.pop("_busy", None)
        state.pop("_layers_for", None)
        state.pop("_row_calls_for", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("activation", "sigmoid")    # pickled before activations
        self.__dict__.setdefault("output", "sigmoid")
        try:
            self._adopt(Parameters.pack(check_sizes(self.sizes), self.weights, self.biases))
        except (TypeError, ValueError):
            pass          # left as they came; checked again at the next call


def _say_measurements(say, measured, n_train, n_evaluation):
    """network2's lines for the monitors that are on."""
    if measured.training_cost is not None:
        say("Cost on training data: {}".format(measured.training_cost))
    if measured.training_accuracy is not None:
        say("Accuracy on training data: {} / {}".format(measured.training_accuracy, n_train))
    if measured.evaluation_cost is not None:
        say("Cost on evaluation data: {}".format(measured.evaluation_cost))
    if measured.evaluation_accuracy is not None:
        say("Accuracy on evaluation data: {} / {}".format(measured.evaluation_accuracy,
                                                          n_evaluation))


class _exclusive:
    """Training one Network from two threads at once is refused, not silently mixed."""

    _guard = threading.Lock()

    def __init__(self, net):
        self.net = net

    def __enter__(self):
        with self._guard:
            busy = self.net.__dict__.setdefault("_busy", threading.Lock())
        if not busy.acquire(blocking=False):
            raise RuntimeError("this Network is already being trained in another thread; "
                               "train copies of it (copy.deepcopy) to train in parallel")
        self.lock = busy

    def __exit__(self, *exc):
        self.lock.release()


def load(filename):
    """Rebuild a Network from a JSON file written by ``save`` (fastnet's or network2's).

    The file is checked whole before anything is allocated.  Then, like
    network2, this constructs ``Network(sizes, cost)``, which draws the
    default initial weights from np.random, and puts the file's in their place.
    A file without ``activation``/``output`` keys (every network2 file) is a
    sigmoid network.
    """
    import json   # here: every command imports this module, few load

    try:
        with open(filename, "r", encoding="utf-8") as f:
            data = json.load(f)
    except IsADirectoryError:
        raise ValueError("{} is a directory, not a network file".format(filename)) from None
    except UnicodeDecodeError:
        raise ValueError("{} is not a network2 JSON file: it is not UTF-8 text"
                         .format(filename)) from None
    except (ValueError, RecursionError) as error:   # bad JSON, an int of 4,300+ digits, deep nesting
        raise ValueError("{} is not a network2 JSON file: {}".format(
            filename, error if isinstance(error, ValueError) else "it is nested too deeply")) from None
    if not isinstance(data, dict) or not {"sizes", "weights", "biases", "cost"} <= set(data):
        raise ValueError("{} is not a network2 file: it needs the keys sizes, weights, "
                         "biases and cost".format(filename))
    try:
        sizes = check_sizes(data["sizes"])
        cost = cost_by_name(data["cost"])
        activation = data.get("activation", "sigmoid")
        output = data.get("output", "sigmoid")
        activations.kernel_layers(activation, output, cost_kind(cost))
        weights = [np.array(w, dtype=np.float64) for w in json_numbers(data["weights"])]
        biases = [np.array(b, dtype=np.float64) for b in json_numbers(data["biases"])]
        params = Parameters.pack(sizes, weights, biases)
    except (TypeError, ValueError, OverflowError, RecursionError) as error:
        raise ValueError("{}: {}".format(filename, error)) from None
    if not params.is_finite():
        raise ValueError("{}: the weights or biases contain NaN or infinity".format(filename))
    net = Network(sizes, cost=cost, activation=activation, output=output)
    net._adopt(params)
    return net


#### Module-level helpers

def vectorized_result(j, size=10):
    """A ``(size, 1)`` one-hot column with 1.0 in position j: a digit as the network's target."""
    e = np.zeros((size, 1))
    e[j] = 1.0
    return e

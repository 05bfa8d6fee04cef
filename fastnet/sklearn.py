"""A scikit-learn classifier that trains the chapter's networks on fastnet's kernels.

    from fastnet.sklearn import FastNetClassifier
    clf = FastNetClassifier(hidden_layer_sizes=(30,), epochs=30, random_state=0)
    clf.fit(X, y).score(X_test, y_test)

It is an ordinary scikit-learn estimator: it goes into pipelines, grid
searches and cross-validation, takes any class labels (strings too) and any
number of features.  Underneath it is a plain ``fastnet.Network``: ``fit``
builds one with ``sizes = [n_features, *hidden_layer_sizes, n_classes]`` and
calls its ``SGD``, so training runs through exactly the same compiled kernel.

scikit-learn is an optional extra: ``pip install fastnet[sklearn]``.
"""

import numbers
import random

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
except ImportError as error:          # pragma: no cover - exercised in a subprocess
    raise ImportError("fastnet.sklearn needs scikit-learn, which is an optional extra: "
                      "pip install fastnet[sklearn]") from error

from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

try:
    from sklearn.utils.validation import validate_data
    _FINITE_KEYWORD = "ensure_all_finite"
except ImportError:                   # scikit-learn older than 1.6
    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)
    _FINITE_KEYWORD = "force_all_finite"

from fastnet.activations import HIDDEN, INITIALISERS, OUTPUTS, check_choice
from fastnet.checks import MAX_LAYER_WIDTH, check_count, check_real, normal_generator
from fastnet.network2 import CrossEntropyCost, LogLikelihoodCost, Network, QuadraticCost
from fastnet.speed import CHAPTER

__all__ = ["FastNetClassifier"]

_COSTS = {"cross_entropy": CrossEntropyCost, "quadratic": QuadraticCost,
          "log_likelihood": LogLikelihoodCost}
_DTYPES = {"float64": np.float64, "float32": np.float32}

# A RandomState given as random_state also seeds the shuffler: with one of this many seeds.
_SHUFFLE_SEEDS = 2 ** 31 - 1
# The chapter measures learning speeds on its first 1,000 training examples.
_SPEED_EXAMPLES = CHAPTER["speed_examples"]


class FastNetClassifier(ClassifierMixin, BaseEstimator):
    """A sigmoid network trained by network2's mini-batch SGD with L2 regularisation.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(30,)
        Neurons in each hidden layer; ``()`` means no hidden layer.  The
        network's sizes are ``[n_features, *hidden_layer_sizes, n_classes]``:
        one sigmoid output per class, two for a binary problem.
    cost : {"cross_entropy", "quadratic", "log_likelihood"}, default="cross_entropy"
        network2's ``CrossEntropyCost`` or ``QuadraticCost`` (sigmoid outputs),
        or ``LogLikelihoodCost``, which goes with ``output="softmax"``.
    epochs : int, default=30
        Passes over the training data made by ``fit``.
    mini_batch_size : int, default=10
    eta : float, default=0.1
        The learning rate.
    lmbda : float, default=5.0
        The L2 regularisation parameter; as in network2, each step shrinks
        the weights by ``1 - eta*lmbda/n`` with n the number of training
        examples given to ``fit`` (or to this ``partial_fit`` call).
    dtype : {"float64", "float32"}, np.float64 or np.float32, default="float64"
        The precision the kernel trains and predicts in.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the shuffling.  An int ``s`` gives
        exactly the run of network2 after ``np.random.seed(s); random.seed(s)``
        (weights drawn from ``np.random.RandomState(s)``, every epoch shuffled
        by ``random.Random(s)``), but without touching those global
        generators.  None draws fresh seeds from the operating system.
    record_learning_speed : bool, default=False
        After every epoch, record the learning speed ``||delta^l||`` of every
        hidden layer (the chapter's measure) on the first 1,000 training
        examples, in ``learning_speed_``.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The hidden layers' activation (network2's is sigmoid).
    output : {"sigmoid", "softmax"}, default="sigmoid"
        The output layer's activation; softmax needs ``cost="log_likelihood"``.
    init : {"default", "large", "glorot", "he"}, default="default"
        The initial weights (see ``fastnet.activations``); "default" is network2's.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels; output neuron j stands for ``classes_[j]``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on data with string column names (a DataFrame).
    network_ : fastnet.Network
        The trained network; save it with ``network_.save(filename)``.
    learning_speed_ : ndarray of shape (n_epochs, n_hidden_layers)
        Only when ``record_learning_speed`` is true; one row per epoch
        trained (``partial_fit`` adds a row per call).

    Notes
    -----
    ``predict`` picks the most active output neuron, as network2's accuracy
    does.  Sigmoid outputs are independent, so ``predict_proba`` divides
    them by their row sum to make probabilities (softmax outputs already sum to 1).
    ``partial_fit`` is one epoch over the batch it is given.
    """

    def __init__(self, hidden_layer_sizes=(30,), cost="cross_entropy", epochs=30,
                 mini_batch_size=10, eta=0.1, lmbda=5.0, dtype="float64",
                 random_state=None, record_learning_speed=False, activation="sigmoid",
                 output="sigmoid", init="default"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.cost = cost
        self.epochs = epochs
        self.mini_batch_size = mini_batch_size
        self.eta = eta
        self.lmbda = lmbda
        self.dtype = dtype
        self.random_state = random_state
        self.record_learning_speed = record_learning_speed
        self.activation = activation
        self.output = output
        self.init = init

    #### Training

    def fit(self, X, y):
        """Train a freshly initialised network for ``epochs`` epochs on (X, y)."""
        self._check_parameters()
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        classes, labels = np.unique(y, return_inverse=True)
        self._start(X.shape[1], classes)
        self._train(X, labels, self.epochs)
        return self

    def partial_fit(self, X, y, classes=None):
        """Train for one epoch (one pass) over (X, y), continuing from the current weights.

        The first call must name every class in ``classes``; it starts a
        fresh network.  Later calls continue it (and its shuffling stream).
        """
        first_call = not hasattr(self, "network_")
        if classes is not None:
            check_classification_targets(classes)
            classes = np.unique(classes)
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._check_parameters()
        elif classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError("classes={!r} is not the same as on the first call to "
                             "partial_fit, which gave {!r}".format(classes, self.classes_))
        X, y = self._validate(X, y, reset=first_call)
        check_classification_targets(y)
        if first_call:
            self._start(X.shape[1], classes)
        labels = np.searchsorted(self.classes_, y)
        labels = np.minimum(labels, len(self.classes_) - 1)
        unknown = self.classes_[labels] != y
        if unknown.any():
            raise ValueError("y contains labels {} that are not in classes {}"
                             .format(np.unique(y[unknown]).tolist(), self.classes_.tolist()))
        self._train(X, labels, 1)
        return self

    def _start(self, n_features, classes):
        """A new network with network2's default initial weights, drawn from our own generator."""
        if len(classes) < 2:
            raise ValueError("FastNetClassifier needs samples of at least 2 classes in the "
                             "data, but the data contains only one class: {!r}"
                             .format(classes[0] if len(classes) else None))
        sizes = [n_features, *self.hidden_layer_sizes, len(classes)]
        if self.random_state is None:
            weights_rng = np.random.RandomState()          # fresh OS entropy
            shuffler = random.Random()
        elif isinstance(self.random_state, numbers.Integral):
            weights_rng = np.random.RandomState(self.random_state)
            shuffler = random.Random(self.random_state)
        else:
            weights_rng = check_random_state(self.random_state)
            shuffler = None
        # network2's default initializer, drawing from our generator, not np.random.
        network = Network(sizes, _COSTS[self.cost], activation=self.activation,
                          output=self.output, init=self.init, random_state=weights_rng)
        if shuffler is None:
            # The shuffler's seed comes from the caller's RandomState, after the weights;
            # the bound fixes which seed a given state yields, so it stays as it is.
            shuffler = random.Random(int(weights_rng.randint(0, _SHUFFLE_SEEDS)))
        self.classes_ = classes
        self.network_ = network
        self._shuffler = shuffler
        if self.record_learning_speed:
            self.learning_speed_ = np.empty((0, len(self.hidden_layer_sizes)))
        elif hasattr(self, "learning_speed_"):
            del self.learning_speed_

    def _train(self, X, labels, epochs):
        """Run the network's own SGD (the compiled kernel) on arrays."""
        speed_data = None
        if self.record_learning_speed:
            speed_data = (X[:_SPEED_EXAMPLES], labels[:_SPEED_EXAMPLES])
        with _sklearn_errors_for(X, self):
            results = self.network_.SGD((X, labels), epochs, self.mini_batch_size, self.eta,
                                        self.lmbda, dtype=self._dtype(), quiet=True,
                                        monitor_learning_speed=speed_data,
                                        shuffle_with=self._shuffler)
        if self.record_learning_speed:
            n_hidden = len(self.network_.sizes) - 2
            speeds = np.array(results[4], dtype=np.float64).reshape(epochs, n_hidden)
            earlier = getattr(self, "learning_speed_", np.empty((0, n_hidden)))
            self.learning_speed_ = np.vstack([earlier, speeds])

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    #### Prediction

    def predict_proba(self, X):
        """Class probabilities: the output neurons' activations, scaled to sum to 1 per row.

        Sigmoid outputs are independent, not a softmax, so they are divided
        by their row sum (a softmax's already sums to 1); the argmax, and so ``predict``,
        is unchanged.
        """
        outputs = self._outputs(X)
        return outputs / outputs.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The class whose output neuron is most active, as network2's accuracy counts it."""
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]

    def _outputs(self, X):
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        with _sklearn_errors_for(X, self):
            outputs = self.network_.outputs(X, dtype=self._dtype()).astype(np.float64)
        # A sigmoid can round to 0 for every output; share such a row out evenly.
        outputs[outputs.sum(axis=1) == 0] = 1.0
        return outputs

    def _validate(self, X, y="no_validation", reset=True):
        """scikit-learn's validation, giving X as the kernel wants it: C order, our dtype.

        The scan for NaN and infinity is left to the Network, which makes one
        anyway: on an MNIST epoch a second scan would cost as much as 10-20%
        of the training.  ``_sklearn_errors_for`` turns a failure of the
        Network's scan into scikit-learn's own error.
        """
        options = {"dtype": self._dtype(), "order": "C", "reset": reset, _FINITE_KEYWORD: False}
        return validate_data(self, X, y, **options)

    #### Parameters

    def _dtype(self):
        return _DTYPES.get(_dtype_name(self.dtype), np.float64)

    def _check_parameters(self):
        """Reject bad parameter values at fit time (scikit-learn's convention), clearly.

        fastnet's own checks, so that a value fails here as it would in
        ``Network`` and ``SGD``, before any work is done.
        """
        check_choice(self.cost, "cost", tuple(_COSTS))
        check_choice(self.activation, "activation", tuple(HIDDEN))
        check_choice(self.output, "output", tuple(OUTPUTS))
        check_choice(self.init, "init", INITIALISERS)
        if (self.output == "softmax") != (self.cost == "log_likelihood"):
            raise ValueError("output='softmax' and cost='log_likelihood' go together; got "
                             "output={!r} with cost={!r}".format(self.output, self.cost))
        if _dtype_name(self.dtype) not in _DTYPES:
            raise ValueError("dtype must be 'float64' or 'float32' (or np.float64, np.float32), "
                             "got {!r}".format(self.dtype))
        if not isinstance(self.hidden_layer_sizes, (tuple, list)):
            raise ValueError("hidden_layer_sizes must be a tuple of positive ints, e.g. (30,), "
                             "got {!r}".format(self.hidden_layer_sizes))
        for width in self.hidden_layer_sizes:
            check_count(width, "hidden_layer_sizes", 1, MAX_LAYER_WIDTH)
        if not isinstance(self.record_learning_speed, (bool, np.bool_)):
            raise TypeError("record_learning_speed must be True or False, got {!r}"
                            .format(self.record_learning_speed))
        if self.random_state is not None:
            normal_generator(self.random_state)     # raises unless a seed or a RandomState
        check_count(self.epochs, "epochs", 0)
        check_count(self.mini_batch_size, "mini_batch_size", 1)
        check_real(self.eta, "eta")
        check_real(self.lmbda, "lmbda")


def _dtype_name(dtype):
    """"float64" or "float32" for those names, NumPy's types and dtypes; else ``dtype``."""
    if isinstance(dtype, (type, np.dtype)) and dtype in (np.float64, np.float32, float):
        return np.dtype(dtype).name
    return dtype


class _sklearn_errors_for:
    """Re-raise the Network's complaint about NaN or infinity in X as scikit-learn words it."""

    def __init__(self, X, estimator):
        self.X = X
        self.name = type(estimator).__name__

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is not None and issubclass(kind, ValueError):
            # Raises scikit-learn's "Input X contains NaN." if that was the problem.
            assert_all_finite(self.X, estimator_name=self.name, input_name="X")
        return False

"""The things being timed: fastnet, the NumPy reference and the peers, each as a Runner.

A Runner's ``prepare`` does the untimed set-up (seeding, building the network,
slicing the data) and returns a state; ``run(state)`` is the timed work;
``finish(state)`` pulls out what the agreement checks need.  ``n_examples`` is
how many training examples one timed run processes, ``scale_to`` the epoch it
stands for (the reference and some peers time a slice and are scaled per example).
"""
import contextlib
import io
import random
import warnings

import numpy as np

import fastnet
from fastnet import reference


def seed_all(seed):
    """network2's seeding: both generators, before the network is built."""
    random.seed(seed)
    np.random.seed(seed)


def network2_order(n, seed):
    """The row order network2's first epoch visits after ``random.seed(seed)``."""
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)
    return np.array(order, dtype=np.int64)


def network2_initial_parameters(sizes, seed):
    """The weights and biases network2's constructor draws after ``np.random.seed(seed)``."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        net = reference.Network(list(sizes))
    finally:
        np.random.set_state(state)
    return net.weights, net.biases


def as_network2_list(X, y):
    """network2's training list: (x column (784, 1), one-hot column (10, 1)) pairs, float64."""
    X = np.asarray(X, dtype=np.float64)
    return [(X[i].reshape(-1, 1).copy(), fastnet.vectorized_result(int(y[i])))
            for i in range(len(y))]


class Spec:
    """A training workload: sizes, mini-batch size, eta, lmbda and the seed."""

    def __init__(self, sizes, mini_batch_size, eta=0.1, lmbda=5.0, seed=12345):
        self.sizes = list(sizes)
        self.mini_batch_size = mini_batch_size
        self.eta = eta
        self.lmbda = lmbda
        self.seed = seed

    def as_dict(self):
        return {"sizes": self.sizes, "mini_batch_size": self.mini_batch_size, "eta": self.eta,
                "lmbda": self.lmbda, "seed": self.seed}


class Runner:
    impl = "?"
    what = "train"
    note = ""

    def __init__(self, dtype, n_examples, scale_to, n_warm=None, repeats=None, threads=None):
        self.dtype = np.dtype(dtype)
        self.n_examples = n_examples
        self.scale_to = scale_to
        self.n_warm = n_examples if n_warm is None else n_warm
        self.repeats = repeats            # None: the case's number
        self.threads = threads            # set by the case
        self.times = []
        self.warm_times = []
        self.last_state = None

    @property
    def label(self):
        return "{} {}".format(self.impl, self.dtype.name)

    def prepare(self, warm):
        raise NotImplementedError

    def run(self, state):
        raise NotImplementedError

    def finish(self, state):
        return {}


# ---------------------------------------------------------------------------
# Training one epoch

BLAS_KERNELS = "fastnet (BLAS kernels)"


def kernels(name):
    """A context running fastnet with the kernels ``name`` ("blas", "avx2", "avx512"), or
    doing nothing for None (the kernels fastnet picked at start)."""
    if name is None:
        return contextlib.nullcontext()
    from fastnet import dispatch
    return dispatch.using(name)


class FastnetTrain(Runner):
    """One-epoch SGD; ``kernels="blas"`` runs it on the all-BLAS kernel path
    (``fastnet.dispatch.using("blas")``), labelled "fastnet (BLAS kernels)"."""
    impl = "fastnet"
    note = ("one SGD call per timed epoch, including its one pass over the data to check it "
            "(NaN/inf, labels), which a multi-epoch call makes once")

    def __init__(self, spec, X, y, dtype, n_examples, scale_to, kernels=None, **kw):
        super().__init__(dtype, n_examples, scale_to, **kw)
        self.spec = spec
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.y = y
        self.kernels = kernels
        if kernels == "blas":
            self.impl = BLAS_KERNELS

    def prepare(self, warm):
        n = self.n_warm if warm else self.n_examples
        seed_all(self.spec.seed)
        net = fastnet.Network(self.spec.sizes)
        data = (self.X[:n], self.y[:n])
        return net, data

    def run(self, state):
        net, data = state
        s = self.spec
        with kernels(self.kernels):
            net.SGD(data, 1, s.mini_batch_size, s.eta, s.lmbda, dtype=self.dtype, quiet=True)

    def finish(self, state):
        net, _ = state
        return {"weights": net.weights, "biases": net.biases, "net": net}


class ReferenceTrain(Runner):
    impl = "reference"
    note = "network2 verbatim, per example, float64 only"

    def __init__(self, spec, base_list, n_examples, scale_to, **kw):
        super().__init__(np.float64, n_examples, scale_to, **kw)
        self.spec = spec
        self.base_list = base_list

    def prepare(self, warm):
        n = self.n_warm if warm else self.n_examples
        seed_all(self.spec.seed)
        net = reference.Network(list(self.spec.sizes))
        return net, list(self.base_list[:n])

    def run(self, state):
        net, data = state
        s = self.spec
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(data, 1, s.mini_batch_size, s.eta, s.lmbda)

    def finish(self, state):
        net, _ = state
        return {"weights": net.weights, "biases": net.biases}


def sklearn_available():
    try:
        import sklearn  # noqa: F401
        from sklearn.neural_network import MLPClassifier  # noqa: F401
    except Exception as e:
        return None, "scikit-learn not installed ({})".format(e)
    return sklearn.__version__, None


def torch_available():
    try:
        import torch
    except Exception as e:
        return None, "PyTorch not installed ({})".format(e)
    return torch.__version__, None


SKLEARN_MAPPING = (
    "MLPClassifier(activation='logistic', solver='sgd', batch_size=m, learning_rate_init=eta, "
    "learning_rate='constant', momentum=0, nesterovs_momentum=False, alpha=lmbda*m/n, "
    "max_iter=1, shuffle=True): sklearn's step is w -= lr*(sum_x dC_x/dw + alpha*w)/m, so "
    "lr=eta and alpha=lmbda*m/n give network2's w <- (1-eta*lmbda/n)w - (eta/m) sum dC_x/dw; "
    "biases are not decayed in either. Differences: sklearn's output layer is softmax with "
    "mean log-loss (network2: sigmoid outputs, cross-entropy summed over outputs; both give "
    "output error a-y), Glorot-uniform initial weights, its own shuffling, and fit() also "
    "validates the input, binarizes labels and computes the loss of every mini-batch.")

TORCH_MAPPING = (
    "nn.Sequential(Linear, Sigmoid, ..., Linear, Sigmoid) with network2's initial weights; loss "
    "= BCELoss(reduction='sum')(out, one_hot)/m (cross-entropy summed over outputs, averaged "
    "over the mini-batch); optim.SGD(lr=eta, momentum=0) with weight_decay=lmbda/n on the "
    "weights only, biases in a group without decay; network2's shuffle order (computed "
    "outside the timed region); the same update as network2, exactly.")


class SklearnTrain(Runner):
    impl = "scikit-learn"

    def __init__(self, spec, X, y, dtype, n_examples, scale_to, **kw):
        super().__init__(dtype, n_examples, scale_to, **kw)
        self.spec = spec
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.y = y

    def prepare(self, warm):
        from sklearn.neural_network import MLPClassifier
        n = self.n_warm if warm else self.n_examples
        s = self.spec
        clf = MLPClassifier(hidden_layer_sizes=tuple(s.sizes[1:-1]), activation="logistic",
                            solver="sgd", batch_size=s.mini_batch_size,
                            learning_rate="constant", learning_rate_init=s.eta, momentum=0.0,
                            nesterovs_momentum=False, alpha=s.lmbda * s.mini_batch_size / n,
                            max_iter=1, shuffle=True, random_state=s.seed)
        return clf, self.X[:n], self.y[:n]

    def run(self, state):
        from sklearn.exceptions import ConvergenceWarning
        clf, X, y = state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    def finish(self, state):
        clf, _, _ = state
        return {"model": clf, "coef_dtype": str(clf.coefs_[0].dtype)}


class TorchTrain(Runner):
    impl = "pytorch"

    def __init__(self, spec, X, y, dtype, n_examples, scale_to, **kw):
        super().__init__(dtype, n_examples, scale_to, **kw)
        import torch
        self.torch = torch
        self.spec = spec
        self.tdtype = torch.float64 if self.dtype == np.float64 else torch.float32
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=self.dtype))
        self.Y = torch.nn.functional.one_hot(torch.from_numpy(np.asarray(y, dtype=np.int64)),
                                             spec.sizes[-1]).to(self.tdtype)

    def prepare(self, warm):
        torch = self.torch
        n = self.n_warm if warm else self.n_examples
        s = self.spec
        model = make_torch_model(s.sizes, self.tdtype, *network2_initial_parameters(s.sizes, s.seed))
        weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
        biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
        opt = torch.optim.SGD([{"params": weights, "weight_decay": s.lmbda / n},
                               {"params": biases, "weight_decay": 0.0}],
                              lr=s.eta, momentum=0.0)
        order = torch.from_numpy(network2_order(n, s.seed))
        return model, opt, order, n

    def run(self, state):
        torch = self.torch
        model, opt, order, n = state
        m = self.spec.mini_batch_size
        X, Y = self.X[order], self.Y[order]
        bce = torch.nn.functional.binary_cross_entropy
        for k in range(0, n, m):
            xb, yb = X[k:k + m], Y[k:k + m]
            opt.zero_grad(set_to_none=True)
            loss = bce(model(xb), yb, reduction="sum") / xb.shape[0]
            loss.backward()
            opt.step()

    def finish(self, state):
        model = state[0]
        weights = [p.detach().double().numpy().copy() for name, p in model.named_parameters()
                   if name.endswith("weight")]
        biases = [p.detach().double().numpy().reshape(-1, 1).copy()
                  for name, p in model.named_parameters() if name.endswith("bias")]
        return {"weights": weights, "biases": biases, "model": model}


def make_torch_model(sizes, tdtype, weights, biases):
    import torch
    layers = []
    for w, b in zip(weights, biases):
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=tdtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.asarray(w, dtype=np.float64)))
            lin.bias.copy_(torch.from_numpy(np.asarray(b, dtype=np.float64).ravel()))
        layers += [lin, torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers)


# ---------------------------------------------------------------------------
# Inference over a fixed set of images

class CallRunner(Runner):
    """Times ``fn()`` (prepared once); ``scale_to`` = n_examples (nothing is scaled)."""
    what = "infer"

    def __init__(self, impl, op, fn, dtype, n_examples, **kw):
        super().__init__(dtype, n_examples, n_examples, **kw)
        self.impl = impl
        self.op = op
        self.fn = fn

    @property
    def label(self):
        return "{} {} {}".format(self.impl, self.op, self.dtype.name)

    def prepare(self, warm):
        return {}

    def run(self, state):
        state["result"] = self.fn()

    def finish(self, state):
        return {"result": state.get("result")}


# ---------------------------------------------------------------------------
# The ch.5 learning-speed workload

class FastnetSpeedTrain(Runner):
    """``epochs`` epochs on the first examples, mini-batch = all of them, optionally monitoring."""
    what = "learning-speed"
    impl = "fastnet"

    def __init__(self, spec, X, y, dtype, epochs, monitor, **kw):
        n = len(y)
        super().__init__(dtype, n * epochs, n * epochs, **kw)
        self.spec = spec
        self.data = (np.ascontiguousarray(X, dtype=self.dtype), y)
        self.epochs = epochs
        self.monitor = monitor

    @property
    def label(self):
        return "fastnet {} {}".format("monitored" if self.monitor else "unmonitored",
                                      self.dtype.name)

    def prepare(self, warm):
        seed_all(self.spec.seed)
        return {"net": fastnet.Network(self.spec.sizes)}

    def run(self, state):
        s = self.spec
        extra = {"monitor_learning_speed": self.data} if self.monitor else {}
        state["out"] = state["net"].SGD(self.data, self.epochs, s.mini_batch_size, s.eta,
                                        s.lmbda, dtype=self.dtype, quiet=True, **extra)

    def finish(self, state):
        out = state.get("out")
        net = state["net"]
        return {"weights": net.weights, "biases": net.biases,
                "speeds": out[4] if self.monitor and out else None}


class FastnetSpeedModule(FastnetSpeedTrain):
    """``fastnet.speed.train_with_speeds``: the chapter's workload through fastnet's own routine,
    which records the speeds before training and after every epoch (float64 only)."""
    impl = "fastnet.speed"

    def __init__(self, spec, X, y, epochs, **kw):
        super().__init__(spec, X, y, np.float64, epochs, True, **kw)

    @property
    def label(self):
        return "fastnet speed.train_with_speeds float64"

    def run(self, state):
        from fastnet import speed
        s = self.spec
        state["out"] = speed.train_with_speeds(state["net"], self.data, self.epochs,
                                               s.mini_batch_size, s.eta, s.lmbda)

    def finish(self, state):
        out = state.get("out")
        net = state["net"]
        return {"weights": net.weights, "biases": net.biases,
                "speeds": None if out is None else np.asarray(out)[1:].tolist()}


def speed_module_available():
    try:
        from fastnet import speed
    except Exception as e:
        return "fastnet.speed not importable ({})".format(e)
    if not hasattr(speed, "train_with_speeds"):
        return "fastnet.speed has no train_with_speeds"
    return None


def reference_learning_speed(net, data):
    """The book's way: average every example's dC/db from backprop; the norm per hidden layer."""
    sums = [np.zeros(b.shape) for b in net.biases]
    for x, y in data:
        nabla_b, _ = net.backprop(x, y)
        sums = [s + nb for s, nb in zip(sums, nabla_b)]
    return [float(np.linalg.norm(s / len(data))) for s in sums[:-1]]


class ReferenceSpeedTrain(Runner):
    what = "learning-speed"
    impl = "reference"
    note = "per epoch: SGD for one epoch, then the speeds by per-example backprop"

    def __init__(self, spec, base_list, epochs, monitor, **kw):
        n = len(base_list)
        super().__init__(np.float64, n * epochs, n * epochs, **kw)
        self.spec = spec
        self.base_list = base_list
        self.epochs = epochs
        self.monitor = monitor

    @property
    def label(self):
        return "reference {} float64".format("monitored" if self.monitor else "unmonitored")

    def prepare(self, warm):
        seed_all(self.spec.seed)
        return {"net": reference.Network(list(self.spec.sizes)), "data": list(self.base_list)}

    def run(self, state):
        s = self.spec
        net, data = state["net"], state["data"]
        speeds = []
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(self.epochs):
                net.SGD(data, 1, s.mini_batch_size, s.eta, s.lmbda)
                if self.monitor:
                    speeds.append(reference_learning_speed(net, data))
        state["speeds"] = speeds

    def finish(self, state):
        net = state["net"]
        return {"weights": net.weights, "biases": net.biases, "speeds": state.get("speeds")}

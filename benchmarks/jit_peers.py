"""numba and JAX peers: what a user who wants network2's training fast might write instead.

Both train a network with one hidden layer (the headline's [784,30,10]) with network2's
maths: sigmoid neurons, cross-entropy cost (output error ``a - y``), mini-batches in
network2's shuffle order, and the update

    w <- (1 - eta*(lmbda/n)) w - (eta/m) sum_x dC_x/dw,    b <- b - (eta/m) sum_x dC_x/db.

A mini-batch is one matrix: its rows are the examples, so each layer is one product
(summing the per-example gradients by a product reorders network2's sums, which changes
only round-off).  They start from network2's initial weights, as the PyTorch peer does.
Compilation happens in the warm-up run, which trains on the same shapes as the timed ones.
"""

import numpy as np

from benchmarks.impls import Runner, network2_initial_parameters, network2_order

# A bound for the agreement of numba and JAX with the reference: they compute the same
# maths but may order sums differently (BLAS, XLA's fusions); a wrong update still fails by
# orders of magnitude.
TOLERANCE = {"float64": 1e-8, "float32": 1e-3}

NUMBA_MAPPING = (
    "@numba.njit(fastmath=False) over the mini-batches in network2's order: per mini-batch "
    "the rows gathered by fancy indexing, forward a = 1/(1+exp(-(x @ W.T + b))), output error "
    "a - y, hidden error (d @ W2) * a*(1-a), gradients d.T @ a_prev and d.sum(axis=0), then "
    "network2's update with weight decay (1-eta*(lmbda/n)); products by numba's np.dot (BLAS "
    "through SciPy).")

JAX_MAPPING = (
    "jax.jit of one epoch: rows gathered in network2's order and reshaped into mini-batches, "
    "jax.lax.scan over them; per mini-batch jax.grad of the cross-entropy summed over outputs "
    "and examples, written with jax.nn.log_sigmoid (whose gradient is network2's a - y), then "
    "network2's update with weight decay (1-eta*(lmbda/n)). float64 with jax_enable_x64; "
    "jax.block_until_ready inside the timed call.")


def one_hidden_layer(sizes):
    return len(sizes) == 3


def one_hot_rows(y, n_out, dtype):
    return np.eye(n_out, dtype=dtype)[np.asarray(y, dtype=np.int64)]


def initial_parameters(spec, dtype, asarray):
    """network2's initial (W1, b1, W2, b2) for ``spec``, biases flat, through ``asarray``."""
    weights, biases = network2_initial_parameters(spec.sizes, spec.seed)
    return (asarray(weights[0], dtype=dtype), asarray(biases[0].ravel(), dtype=dtype),
            asarray(weights[1], dtype=dtype), asarray(biases[1].ravel(), dtype=dtype))


def trained(W1, b1, W2, b2):
    """What the agreement checks read from a peer's trained (W1, b1, W2, b2)."""
    return {"weights": [W1, W2], "biases": [b1.reshape(-1, 1), b2.reshape(-1, 1)],
            "dtypes": sorted({str(a.dtype) for a in (W1, b1, W2, b2)})}


# ---------------------------------------------------------------------------
# numba

def numba_available():
    try:
        import numba
    except Exception as e:
        return None, "numba not installed ({})".format(e)
    return numba.__version__, None


_NUMBA_EPOCH = None


def numba_epoch():
    """The compiled epoch (built on first use; numba compiles it per dtype on first call)."""
    global _NUMBA_EPOCH
    if _NUMBA_EPOCH is None:
        import numba

        @numba.njit(fastmath=False)
        def epoch(W1, b1, W2, b2, X, Y, order, m, eta, decay):
            # W1 (h, 784), b1 (h,), W2 (10, h), b2 (10,); eta and decay in the weights' dtype.
            one = X.dtype.type(1.0)
            n = order.shape[0]
            for k in range(0, n, m):
                rows = order[k:k + m]
                x = X[rows]
                y = Y[rows]
                a1 = one / (one + np.exp(-(x @ W1.T + b1)))
                a2 = one / (one + np.exp(-(a1 @ W2.T + b2)))
                d2 = a2 - y
                d1 = (d2 @ W2) * (a1 * (one - a1))
                step = eta / X.dtype.type(rows.shape[0])
                W2[:, :] = decay * W2 - step * (d2.T @ a1)
                b2[:] = b2 - step * d2.sum(axis=0)
                W1[:, :] = decay * W1 - step * (d1.T @ x)
                b1[:] = b1 - step * d1.sum(axis=0)

        _NUMBA_EPOCH = epoch
    return _NUMBA_EPOCH


class NumbaTrain(Runner):
    impl = "numba"
    note = "compiled in the warm-up; @njit(fastmath=False), products by np.dot"

    def __init__(self, spec, X, y, dtype, n_examples, scale_to, **kw):
        super().__init__(dtype, n_examples, scale_to, **kw)
        self.spec = spec
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.Y = one_hot_rows(y, spec.sizes[-1], self.dtype)
        self.epoch = numba_epoch()

    def prepare(self, warm):
        n = self.n_warm if warm else self.n_examples
        params = initial_parameters(self.spec, self.dtype, np.ascontiguousarray)
        return params, network2_order(n, self.spec.seed), n

    def run(self, state):
        (W1, b1, W2, b2), order, n = state
        s = self.spec
        self.epoch(W1, b1, W2, b2, self.X, self.Y, order, s.mini_batch_size,
                   self.dtype.type(s.eta), self.dtype.type(1 - s.eta * (s.lmbda / n)))

    def finish(self, state):
        return trained(*state[0])


# ---------------------------------------------------------------------------
# JAX

def jax_available():
    """Import JAX with float64 enabled (jax_enable_x64).

    XLA's CPU backend has its own thread pool, which threadpoolctl cannot limit (nor could
    XLA_FLAGS' intra-op settings in JAX 0.10, tried here); the report gives every row's CPU
    time over wall time, which shows how many cores a row kept busy.
    """
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
    except Exception as e:
        return None, "JAX not installed ({})".format(e)
    return jax.__version__, None


_JAX_EPOCH = None


def jax_epoch():
    """The jitted epoch; the mini-batch size is static, everything else traced."""
    global _JAX_EPOCH
    if _JAX_EPOCH is None:
        import jax
        import jax.numpy as jnp

        def cost(params, x, y):
            W1, b1, W2, b2 = params
            a1 = jax.nn.sigmoid(x @ W1.T + b1)
            z2 = a1 @ W2.T + b2
            # -[y ln a + (1-y) ln(1-a)] with a = sigmoid(z2), summed over outputs and rows.
            return -jnp.sum(y * jax.nn.log_sigmoid(z2) + (1 - y) * jax.nn.log_sigmoid(-z2))

        grad = jax.grad(cost)

        def epoch(params, X, Y, order, eta, decay, m):
            batches = (X[order].reshape(-1, m, X.shape[1]), Y[order].reshape(-1, m, Y.shape[1]))
            step = eta / m

            def one_batch(params, batch):
                g = grad(params, *batch)
                W1, b1, W2, b2 = params
                new = (decay * W1 - step * g[0], b1 - step * g[1],
                       decay * W2 - step * g[2], b2 - step * g[3])
                return new, None

            params, _ = jax.lax.scan(one_batch, params, batches)
            return params

        _JAX_EPOCH = jax.jit(epoch, static_argnames=("m",))
    return _JAX_EPOCH


class JaxTrain(Runner):
    impl = "jax"
    note = "compiled in the warm-up (same shapes as the timed run); jax.jit + lax.scan"

    def __init__(self, spec, X, y, dtype, n_examples, scale_to, **kw):
        super().__init__(dtype, n_examples, scale_to, **kw)
        import jax.numpy as jnp
        self.jnp = jnp
        if n_examples % spec.mini_batch_size or self.n_warm % spec.mini_batch_size:
            raise ValueError("the JAX peer needs whole mini-batches")
        self.spec = spec
        self.X = jnp.asarray(np.ascontiguousarray(X, dtype=self.dtype))
        self.Y = jnp.asarray(one_hot_rows(y, spec.sizes[-1], self.dtype))
        self.epoch = jax_epoch()

    def prepare(self, warm):
        jnp = self.jnp
        n = self.n_warm if warm else self.n_examples
        params = initial_parameters(self.spec, self.dtype, jnp.asarray)
        order = jnp.asarray(network2_order(n, self.spec.seed))
        return {"params": params, "order": order, "n": n}

    def run(self, state):
        import jax
        s = self.spec
        n = state["n"]
        out = self.epoch(state["params"], self.X, self.Y, state["order"],
                         self.dtype.type(s.eta), self.dtype.type(1 - s.eta * (s.lmbda / n)),
                         m=s.mini_batch_size)
        state["out"] = jax.block_until_ready(out)

    def finish(self, state):
        return trained(*(np.asarray(a) for a in state["out"]))


def train_once(cls, spec, X, y, dtype, n):
    """One epoch on the first n examples from network2's seeds, untimed (for agreement)."""
    r = cls(spec, X[:n], y[:n], dtype, n, n)
    state = r.prepare(False)
    r.run(state)
    return r.finish(state)

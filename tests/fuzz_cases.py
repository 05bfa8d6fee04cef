"""What the fuzz tests' sandbox worker runs (see tests/fuzzing.py): calls of
fastnet's public API on generated inputs, returning small summaries."""
import os
import tempfile

import numpy as np

import fastnet
from fastnet import speed


def _finite(arrays):
    return all(np.isfinite(np.asarray(a, dtype=float)).all() for a in arrays)


def network_call(case):
    """Build ``Network(sizes)``, optionally replace its parameters, call one method."""
    net = fastnet.Network(case["sizes"], **case.get("net_kwargs", {}))
    if case.get("weights") is not None:
        net.weights = case["weights"]
    if case.get("biases") is not None:
        net.biases = case["biases"]
    method = case["method"]
    if method == "save_load":
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "net.json")
            net.save(path)
            try:
                back = fastnet.load(path)
            except Exception as e:   # save wrote what load refuses: never acceptable
                raise RuntimeError("load refused what save wrote: {}".format(e)) from None
        return {"same": all(np.array_equal(a, b) for a, b in zip(net.weights, back.weights))
                and back.sizes == list(net.sizes)}
    out = getattr(net, method)(*case.get("args", ()), **case.get("kwargs", {}))
    summary = {"weights_finite": _finite(net.weights) and _finite(net.biases)}
    if method in ("feedforward", "outputs"):
        summary["shape"] = np.shape(out)
        summary["finite"] = bool(np.isfinite(out).all())
    return summary


def load_file(content, as_folder=False):
    """``fastnet.load`` of a file holding ``content`` (bytes); returns the sizes."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "net.json")
        if as_folder:
            os.mkdir(path)
        else:
            with open(path, "wb") as f:
                f.write(content)
        try:
            return {"sizes": list(fastnet.load(path).sizes)}
        except Exception as e:   # the parent checks that the file is named
            e.args = (str(e).replace(path, "<FILE>"),) + e.args[1:]
            raise


def train_with_speeds(sizes, weights, eta):
    """fastnet.speed.train_with_speeds on a small net whose weights are given."""
    net = fastnet.Network(sizes, random_state=0)
    if weights is not None:
        net.weights = weights
    X = np.random.RandomState(0).rand(20, sizes[0])
    y = np.arange(20) % sizes[-1]
    speed.train_with_speeds(net, (X, y), 2, 20, eta, 0.0)
    return {"weights_finite": _finite(net.weights)}


def load_data_file(content, name):
    """Write ``content`` to a file called ``name`` and load it with fastnet.datasets:
    ``read_idx`` for IDX names (bounded at 1 MiB), ``load_mnist`` for a pickle."""
    from fastnet import datasets
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(content)
        if "idx" in name:
            array = datasets.read_idx(path, max_bytes=1 << 20)
            return {"shape": array.shape, "dtype": str(array.dtype)}
        triple = datasets.load_mnist(path)
        return {"shapes": [(x.shape, y.shape) for x, y in triple]}

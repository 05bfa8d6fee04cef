"""The ``chapter6`` case: the book's two-conv-layer net (network3), fastnet against PyTorch.

The net of chapter 6's ``dbl_conv_relu``: ConvPool(20 filters 5x5 on 28x28, pool 2) ->
ConvPool(40 filters 5x5 on 20x12x12, pool 2) -> FC(640, 100) -> Softmax(100, 10), ReLU,
mini-batch 10, eta 0.03, lmbda 0.1.  Timed, interleaved in one run:

- ``fastnet.network3`` in float32 (network3's precision) and float64: one ``SGD`` call of
  one epoch over a slice of the training images (validation on one mini-batch, so that the
  epoch's end costs next to nothing), seconds scaled per example to a 50,000-image epoch;
- PyTorch on the CPU, one thread, float32 and float64: a plain ``nn.Sequential`` loop
  (Conv2d, MaxPool2d, ReLU, ..., Linear), ``cross_entropy`` (mean over the mini-batch),
  ``optim.SGD(lr=eta)`` with weight_decay lmbda / num_training_batches on the weights only,
  starting from network3's initial weights (filters rotated: Conv2d correlates) in the
  same example order;
- network3_reference (float64, NumPy, a loop per filter offset) on a small slice, for scale.

Agreement: after the same mini-batches from the same seed, fastnet and PyTorch against the
reference (float64 to round-off; float32 to float32's precision).
"""
import contextlib
import io

import numpy as np

from fastnet import network3, network3_reference as ref

from benchmarks.cases import agreement_row
from benchmarks.impls import Runner
from benchmarks.timing import summary, time_runners

MINI_BATCH, ETA, LMBDA, SEED = 10, 0.03, 0.1, 12345
EPOCH = 50000
# (filters, input maps, fh, fw), (input maps, h, w): the two conv-pool layers.
CONVS = [((20, 1, 5, 5), (1, 28, 28)), ((40, 20, 5, 5), (20, 12, 12))]
DENSE = [(640, 100), (100, 10)]

MODES = {
    # examples timed per fastnet/PyTorch run, per reference run, warm-up examples, repeats,
    # and the examples of the agreement runs
    "full": {"examples": 5000, "reference": 200, "warmup": 200, "repeats": 3, "agree": 300},
    "quick": {"examples": 200, "reference": 50, "warmup": 50, "repeats": 1, "agree": 100},
}

TORCH_NOTE = ("nn.Sequential(Conv2d(1,20,5), MaxPool2d(2), ReLU, Conv2d(20,40,5), MaxPool2d(2), "
              "ReLU, Flatten, Linear(640,100), ReLU, Linear(100,10)) from network3's initial "
              "weights (filters rotated by 180 degrees, Conv2d being a correlation; the bias "
              "added before the pooling, which commutes with it); cross_entropy averaged over "
              "the mini-batch; optim.SGD(lr=eta, momentum=0) with weight_decay = lmbda / "
              "num_training_batches on the weights only: network3's update exactly")


def flops_per_image():
    """Multiply-add flops of one image's SGD step, from the shapes: forward, weight gradient,
    and the gradient of the input for every layer but the first (elementwise work, pooling
    and the update are not counted).  9.22 MFLOP for this net."""
    total, first = 0, True
    for (f, c, fh, fw), (_, h, w) in CONVS:
        one = 2 * f * c * fh * fw * (h - fh + 1) * (w - fw + 1)
        total += one * (2 if first else 3)
        first = False
    for a, b in DENSE:
        total += 2 * a * b * 3
    return total


def network3_layers(module, m=MINI_BATCH):
    convs = [module.ConvPoolLayer(fs, (m,) + image, (2, 2), module.ReLU) for fs, image in CONVS]
    return convs + [module.FullyConnectedLayer(640, 100, module.ReLU),
                    module.SoftmaxLayer(100, 10)]


def initial_parameters():
    """network3's initial draws after np.random.seed(SEED), float64, leaving np.random alone."""
    state = np.random.get_state()
    np.random.seed(SEED)
    try:
        return [(layer.w, layer.b) for layer in network3_layers(ref)]
    finally:
        np.random.set_state(state)


class Network3Train(Runner):
    impl = "fastnet.network3"
    note = ("one SGD call of one epoch on the slice (its data checks included); the epoch-end "
            "validation is one mini-batch")

    def __init__(self, X, y, dtype, n_examples, n_warm, kernels_name):
        super().__init__(dtype, n_examples, EPOCH, n_warm=n_warm)
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.y = y.astype(np.int32)
        self.note = self.note + "; convolution kernels: " + kernels_name

    def prepare(self, warm, n=None):
        n = n or (self.n_warm if warm else self.n_examples)
        np.random.seed(SEED)
        net = network3.Network(network3_layers(network3), MINI_BATCH, dtype=self.dtype)
        return net, (self.X[:n], self.y[:n])

    def run(self, state):
        net, data = state
        validation = (data[0][:MINI_BATCH], data[1][:MINI_BATCH])
        with contextlib.redirect_stdout(io.StringIO()):
            net.SGD(data, 1, MINI_BATCH, ETA, validation, None, lmbda=LMBDA)

    def finish(self, state):
        net, _ = state
        return {"weights": [layer.w.get_value() for layer in net.layers],
                "biases": [layer.b.get_value() for layer in net.layers]}


class ReferenceTrain(Runner):
    impl = "network3_reference"
    note = "network3's maths in NumPy, float64, a loop over each filter offset"

    def __init__(self, X, y, n_examples, n_warm):
        super().__init__(np.float64, n_examples, EPOCH, n_warm=n_warm)
        self.X, self.y = X, y

    def prepare(self, warm, n=None):
        n = n or (self.n_warm if warm else self.n_examples)
        np.random.seed(SEED)
        return ref.Network(network3_layers(ref), MINI_BATCH), n

    def run(self, state):
        net, n = state
        batches = n // MINI_BATCH
        for i in range(batches):
            part = slice(i * MINI_BATCH, (i + 1) * MINI_BATCH)
            net.train_mini_batch(self.X[part], self.y[part], ETA, LMBDA, batches)

    def finish(self, state):
        net, _ = state
        return {"weights": [layer.w for layer in net.layers],
                "biases": [layer.b for layer in net.layers]}


class TorchConvTrain(Runner):
    impl = "pytorch"
    note = TORCH_NOTE

    def __init__(self, X, y, dtype, n_examples, n_warm):
        super().__init__(dtype, n_examples, EPOCH, n_warm=n_warm)
        import torch
        self.torch = torch
        self.tdtype = torch.float64 if self.dtype == np.float64 else torch.float32
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=self.dtype).reshape(-1, 1, 28, 28))
        self.Y = torch.from_numpy(np.asarray(y, dtype=np.int64))

    def prepare(self, warm, n=None):
        torch = self.torch
        n = n or (self.n_warm if warm else self.n_examples)
        nn = torch.nn
        convs = [nn.Conv2d(fs[1], fs[0], fs[2:], dtype=self.tdtype) for fs, _ in CONVS]
        dense = [nn.Linear(a, b, dtype=self.tdtype) for a, b in DENSE]
        with torch.no_grad():
            for layer, (w, b) in zip(convs + dense, initial_parameters()):
                w = w[:, :, ::-1, ::-1] if w.ndim == 4 else w.T
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
                layer.bias.copy_(torch.from_numpy(b))
        model = nn.Sequential(convs[0], nn.MaxPool2d(2), nn.ReLU(), convs[1], nn.MaxPool2d(2),
                              nn.ReLU(), nn.Flatten(), dense[0], nn.ReLU(), dense[1])
        weights = [layer.weight for layer in convs + dense]
        biases = [layer.bias for layer in convs + dense]
        batches = n // MINI_BATCH
        opt = torch.optim.SGD([{"params": weights, "weight_decay": LMBDA / batches},
                               {"params": biases, "weight_decay": 0.0}], lr=ETA, momentum=0.0)
        return model, opt, n

    def run(self, state):
        torch = self.torch
        model, opt, n = state
        loss_fn = torch.nn.functional.cross_entropy
        for k in range(0, n - n % MINI_BATCH, MINI_BATCH):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(self.X[k:k + MINI_BATCH]), self.Y[k:k + MINI_BATCH])
            loss.backward()
            opt.step()

    def finish(self, state):
        model = state[0]
        layers = [m for m in model if hasattr(m, "weight")]
        weights = []
        for layer in layers:
            w = layer.weight.detach().double().numpy()
            weights.append(w[:, :, ::-1, ::-1] if w.ndim == 4 else w.T)
        return {"weights": weights,
                "biases": [layer.bias.detach().double().numpy() for layer in layers]}


def run_chapter6_case(mode, data, threads, peers, log, fma=None):
    """Time fastnet (float32, float64), PyTorch and the reference, interleaved; then agreement."""
    from fastnet import convolution
    cfg = MODES[mode]
    X, y = data["train"]
    kernels_name = getattr(convolution.kernels(), "name", None) or \
        getattr(convolution.kernels(), "__name__", "?")
    runners = [Network3Train(X, y, np.float32, cfg["examples"], cfg["warmup"], kernels_name),
               Network3Train(X, y, np.float64, cfg["examples"], cfg["warmup"], kernels_name)]
    notes = []
    if peers.get("pytorch"):
        import torch
        for dtype in (np.float32, np.float64):
            runners.append(TorchConvTrain(X, y, dtype, cfg["examples"], cfg["warmup"]))
    else:
        notes.append("No PyTorch row: PyTorch is not installed or --no-peers was given.")
    reference = ReferenceTrain(X, y, cfg["reference"], cfg["reference"] // 2)
    runners.append(reference)
    for r in runners:
        r.threads = threads
    log("case chapter6: two conv-pool layers + FC 100 + softmax, ReLU, mini-batch {}, eta {}, "
        "lmbda {}; {} examples timed per run, scaled to {:,} ({} thread(s))".format(
            MINI_BATCH, ETA, LMBDA, cfg["examples"], EPOCH, threads))
    if peers.get("pytorch"):
        previous = torch.get_num_threads()
        torch.set_num_threads(threads or 1)
    try:
        time_runners(runners, cfg["repeats"], 1, log=log)
        # Agreement: the same slice for everyone, from the same seed.
        n = cfg["agree"]
        finished = {}
        for r in runners:
            state = r.prepare(False, n=n)
            r.run(state)
            finished[r.label] = r.finish(state)
    finally:
        if peers.get("pytorch"):
            torch.set_num_threads(previous)
    flops = flops_per_image()
    rows = [summary(r) for r in runners]
    for row in rows:
        row["gflops"] = flops * row["examples_per_s"] / 1e9
        peak = (fma or {}).get(row["dtype"])
        row["fraction_of_fma_peak"] = row["gflops"] / peak if peak else None
        row["speedup_vs_reference"] = rows[-1]["seconds"] / row["seconds"]
    base = finished[reference.label]
    agreement = [agreement_row("chapter6", r.dtype, n, 1, finished[r.label], base,
                               impl=r.impl, against="network3_reference")
                 for r in runners if r is not reference]
    return {"name": "chapter6", "layers": "ConvPool(20,1,5,5 on 28x28) -> ConvPool(40,20,5,5 on "
            "12x12) -> FC(640,100) -> Softmax(100,10), ReLU", "mini_batch_size": MINI_BATCH,
            "eta": ETA, "lmbda": LMBDA, "examples": cfg["examples"], "epoch": EPOCH,
            "flops_per_image": flops, "threads": threads, "kernels": kernels_name,
            "results": rows, "agreement": agreement, "notes": notes}


def render(case, w):
    """The case's section of the Markdown report."""
    w("### Chapter 6: network3's two-conv-layer net, mini-batch {}, eta {}, lmbda {}".format(
        case["mini_batch_size"], case["eta"], case["lmbda"]))
    w("")
    w("{}. Seconds per {:,}-image epoch, measured on the first {:,} images (the reference on "
      "{:,}) and scaled per image; {:.2f} MFLOP per image forward and backward (from the "
      "shapes); fastnet's convolution kernels: {}.".format(
          case["layers"], case["epoch"], case["examples"],
          next(r["examples_timed"] for r in case["results"] if r["impl"] == "network3_reference"),
          case["flops_per_image"] / 1e6, case["kernels"]))
    w("")
    w("| implementation | threads | s/epoch | fastest | GFLOP/s | % of FMA peak | × reference |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for r in case["results"]:
        share = r.get("fraction_of_fma_peak")
        w("| {} | {} | {:.1f} | {:.1f} | {:.1f} | {} | {:.1f} |".format(
            r["label"], r["threads"], r["seconds"], r["seconds_from_min"], r["gflops"],
            "{:.0f}%".format(100 * share) if share is not None else "-",
            r["speedup_vs_reference"]))
    w("")
    for a in case["agreement"]:
        w("{} {} against network3_reference after {} images ({} mini-batches): max |difference| "
          "{:.1e} in the weights, {:.1e} in the biases (bound {:.0e}).".format(
              a["impl"], a["dtype"], a["examples"], a["examples"] // case["mini_batch_size"],
              a["max_abs_diff_weights"], a["max_abs_diff_biases"], a["tolerance"]))
    for note in case["notes"]:
        w(note)
    if any(r["impl"] == "pytorch" for r in case["results"]):
        w("")
        w("PyTorch: " + TORCH_NOTE + ".")
    w("")

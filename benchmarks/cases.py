"""The benchmark cases: thread probe, gemm peak, training, agreement, inference, learning speed."""
import numpy as np

import fastnet
from fastnet import reference

from benchmarks import impls, jit_peers, machine
from benchmarks.impls import (FastnetSpeedTrain, FastnetTrain, ReferenceSpeedTrain, ReferenceTrain,
                              SklearnTrain, Spec, TorchTrain, seed_all)
from benchmarks.machine import blas_threads, gemm_peak
from benchmarks.timing import summary, time_runners

# Agreement bounds on max |difference| of any weight or bias after the same training from the
# same seeds.  float64 differs from the reference only by summation order (round-off; observed
# ~1e-15..1e-13); float32 carries float32 round-off through thousands of updates (observed
# ~1e-6..1e-5).  Generous enough not to flake, tight enough that a wrong update (a missing
# regularisation factor, a wrong mini-batch split, a shuffle that differs) fails by orders of
# magnitude.  float64's 1e-10 is the tile kernels' bound: round-off only.
TOLERANCE = {"float64": 1e-10, "float32": 1e-3}

# The training cases: name, sizes, mini-batch size, and which thread probe decides their threads.
TRAIN_CASES = [
    {"name": "headline", "sizes": [784, 30, 10], "mb": 10, "probe": "headline", "jit_peers": True},
    {"name": "depth", "sizes": [784, 30, 30, 30, 30, 10], "mb": 10, "probe": "headline"},
    {"name": "width-100", "sizes": [784, 100, 10], "mb": 100, "probe": "width-100"},
    {"name": "width-1000", "sizes": [784, 1000, 10], "mb": 1000, "probe": "width-1000"},
]

MODES = {
    "full": {
        "repeats": 5, "warmup": 1,
        "train_n": 50000,
        # per case: repeats, reference slice (timed, warm-up), peers (slice, warm-up, repeats)
        "headline": {"repeats": 9, "ref": (5000, 500), "peers": (50000, 5000, 5)},
        "depth": {"repeats": 7, "ref": (3000, 300), "peers": None},
        "width-100": {"repeats": 5, "ref": (2000, 200), "peers": None},
        "width-1000": {"repeats": 3, "ref": (2000, 100), "peers": (10000, 2000, 3)},
        "probe": {"n": 10000, "repeats": 5},
        "peak": {"n": 2000, "repeats": 3},
        "infer": {"n": 10000, "repeats": 7, "ref_repeats": 3},
        "speed": {"n": 1000, "epochs": 100, "ref_epochs": 2, "repeats": 5, "ref_repeats": 3},
        "per-call": {"n": 1000, "repeats": 9},
        "fma": {"rounds": 20_000_000, "repeats": 7},
    },
    "quick": {
        "repeats": 1, "warmup": 1,
        "train_n": 2000,
        "headline": {"repeats": 1, "ref": (200, 20), "peers": (2000, 100, 1)},
        "depth": {"repeats": 1, "ref": (200, 20), "peers": None},
        "width-100": {"repeats": 1, "ref": (200, 20), "peers": None},
        "width-1000": {"repeats": 1, "ref": (50, 10), "peers": None},
        "probe": None,
        "peak": {"n": 256, "repeats": 1},
        "infer": {"n": 1000, "repeats": 1, "ref_repeats": 1},
        "speed": {"n": 300, "epochs": 5, "ref_epochs": 1, "repeats": 1, "ref_repeats": 1},
        "per-call": {"n": 100, "repeats": 1},
        "fma": {"rounds": 2_000_000, "repeats": 3},
    },
}


def train_flops_per_example(sizes):
    """GEMM flops of one example's SGD step: forward 2*a*b per layer, weight gradient 2*a*b,
    and the error propagated back into every layer but the input, 2*a*b (elementwise work,
    the bias and the update itself are not counted)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return sum(4 * a * b for a, b in pairs) + sum(2 * a * b for a, b in pairs[1:])


def infer_flops_per_example(sizes):
    return sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))


def max_abs_diff(xs, ys):
    return float(max(np.max(np.abs(np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)))
                     for x, y in zip(xs, ys)))


def agreement_row(case, dtype, examples, epochs, ours, theirs, against="reference",
                  impl="fastnet", tolerance=None):
    dw = max_abs_diff(ours["weights"], theirs["weights"])
    db = max_abs_diff(ours["biases"], theirs["biases"])
    tol = TOLERANCE[np.dtype(dtype).name] if tolerance is None else tolerance
    return {"case": case, "impl": impl, "dtype": np.dtype(dtype).name, "against": against,
            "examples": examples, "epochs": epochs, "max_abs_diff_weights": dw,
            "max_abs_diff_biases": db, "tolerance": tol, "within": max(dw, db) <= tol}


# ---------------------------------------------------------------------------

def measure_peaks(cfg, thread_counts, log):
    rows = []
    for threads in thread_counts:
        for dtype in (np.float64, np.float32):
            row = gemm_peak(cfg["n"], dtype, cfg["repeats"], threads)
            log("  gemm peak {} n={} threads={}: {:.1f} GFLOP/s".format(
                row["dtype"], row["n"], threads, row["gflops"]))
            rows.append(row)
    return rows


def measure_fma_peaks(cfg, log):
    """One core's FMA peak per precision with the best vectors fastnet's tile kernels have
    here, and with AVX2's too where AVX-512 is the best.  Empty for a CPU with neither."""
    info = machine.kernels()
    if info["supported"] == "blas":
        return []
    isas = [info["supported"]] + (["avx2"] if info["supported"] == "avx512" else [])
    # Rows divide by the peak of the vectors the kernels in use have (FASTNET_KERNEL=avx2 on
    # an AVX-512 CPU: AVX2's), or of the best ones when every product goes to BLAS.
    fraction_of = info["current"] if info["current"] in isas else info["supported"]
    rows = []
    for isa in isas:
        for dtype in (np.float64, np.float32):
            row = machine.fma_peak(dtype, isa, cfg["rounds"], cfg["repeats"])
            if row is None:
                continue
            row["used_for_fraction"] = isa == fraction_of
            log("  FMA peak {} {}: {:.1f} GFLOP/s (best {:.1f})".format(
                isa, row["dtype"], row["gflops"], row["best_gflops"]))
            rows.append(row)
    return rows


def fma_by_dtype(fma_rows, key="gflops"):
    return {r["dtype"]: r[key] for r in fma_rows if r["used_for_fraction"] and key in r}


def peak_for(peaks, dtype, threads):
    for row in peaks:
        if row["dtype"] == np.dtype(dtype).name and row["threads"] == threads:
            return row["gflops"]
    return None


def probe_threads(cfg, data, log, margin=0.05):
    """fastnet float64 on a slice at 1 and 2 BLAS threads, interleaved; the choice per probe.

    Two threads are chosen only if their median is more than ``margin`` faster: fewer threads
    are the safer default on a small or shared machine.
    """
    (X, y) = data["train"]
    probes = {}
    for name in ("headline", "width-100", "width-1000"):
        case = next(c for c in TRAIN_CASES if c["name"] == name)
        spec = Spec(case["sizes"], case["mb"])
        runners = []
        for threads in (1, 2):
            r = FastnetTrain(spec, X, y, np.float64, cfg["n"], cfg["n"])
            r.threads = threads
            r.note = "{} thread(s)".format(threads)
            runners.append(r)
        log("thread probe: {} {} mb {} on {} examples".format(name, case["sizes"], case["mb"], cfg["n"]))
        time_runners(runners, cfg["repeats"], warmup=1, log=log)
        s1, s2 = summary(runners[0]), summary(runners[1])
        choice = 2 if s2["median_s"] < (1 - margin) * s1["median_s"] else 1
        probes[name] = {"sizes": case["sizes"], "mini_batch_size": case["mb"],
                        "examples": cfg["n"], "one_thread": s1, "two_threads": s2,
                        "chosen": choice}
        log("  -> {} thread(s)".format(choice))
    return probes


def fastnet_kernel_variants():
    """The fastnet rows of a case: (kernels, label suffix).  None is what fastnet picked at
    start (the tile kernels where the CPU has AVX2 or AVX-512); "blas" is the all-BLAS path,
    run under ``fastnet.dispatch.using("blas")`` in the same run."""
    return [None, "blas"]


def kernels_label(kernels):
    if kernels == "blas":
        return "blas"
    return machine.kernels()["current"]


def ratio_to_blas_kernels(rows, key="seconds", match=("dtype",)):
    """On each default-kernel fastnet row: its time over the BLAS-kernel row's (same dtype,
    same op), measured in the same run; < 1 means the tile kernels are faster."""
    blas = {tuple(r[k] for k in match): r for r in rows if r["impl"] == impls.BLAS_KERNELS}
    for row in rows:
        twin = blas.get(tuple(row[k] for k in match))
        if row["impl"] == "fastnet" and twin is not None:
            row["time_over_blas_kernels"] = row[key] / twin[key]
            if "min_s" in row:
                row["time_over_blas_kernels_from_min"] = row["min_s"] / twin["min_s"]


def fma_peak_for(fma, dtype, threads):
    """The FMA peak that bounds a row: one core's, times the case's threads (fastnet's tile
    kernels use one thread; the GEMM kernels of BLAS may use more)."""
    per_core = (fma or {}).get(np.dtype(dtype).name)
    return per_core * (threads or 1) if per_core else None


PEER_CLASSES = {"scikit-learn": SklearnTrain, "pytorch": TorchTrain,
                "numba": jit_peers.NumbaTrain, "jax": jit_peers.JaxTrain}
JIT_PEERS = ("numba", "jax")


def run_training_case(case, mode, data, threads, peaks, peers, log, fma=None, fma_cpu=None):
    cfg = MODES[mode][case["name"]]
    n = MODES[mode]["train_n"]
    (X, y) = data["train"]
    X32 = data["train32"]
    spec = Spec(case["sizes"], case["mb"])
    ref_n, ref_warm = cfg["ref"]
    runners = [FastnetTrain(spec, Xd, y, dtype, n, 50000, kernels=k)
               for k in fastnet_kernel_variants()
               for dtype, Xd in ((np.float64, X), (np.float32, X32))]
    runners.append(ReferenceTrain(spec, data["train_list"], ref_n, 50000, n_warm=ref_warm))
    if cfg["peers"]:
        peer_n, peer_warm, peer_repeats = cfg["peers"]
        for name, ok in peers.items():
            if not ok:
                continue
            if name in JIT_PEERS and not case.get("jit_peers"):
                continue
            # numba and JAX compile in the warm-up; JAX per shape, so it warms up on the
            # timed size.
            warm = peer_n if name in JIT_PEERS else peer_warm
            for dtype, Xd in ((np.float64, X), (np.float32, X32)):
                runners.append(PEER_CLASSES[name](spec, Xd, y, dtype, peer_n, 50000,
                                                  n_warm=warm, repeats=peer_repeats))
    for r in runners:
        r.threads = threads
    log("case {}: {} mb {} eta {} lmbda {} ({} BLAS thread(s))".format(
        case["name"], spec.sizes, spec.mini_batch_size, spec.eta, spec.lmbda, threads))
    time_runners(runners, cfg["repeats"], MODES[mode]["warmup"], log=log)

    flops = train_flops_per_example(spec.sizes)
    rows = []
    by = {}
    for r in runners:
        row = summary(r)
        row["gflops"] = flops * row["examples_per_s"] / 1e9
        peak = peak_for(peaks, r.dtype, threads)
        row["fraction_of_gemm_peak"] = row["gflops"] / peak if peak else None
        fma_peak = fma_peak_for(fma, r.dtype, threads)
        row["fraction_of_fma_peak"] = row["gflops"] / fma_peak if fma_peak else None
        # The same share in CPU seconds, the row's against the FMA chains': on a machine
        # shared with other work, wall clocks give each whatever share of a core it got.
        cpu_peak = fma_peak_for(fma_cpu, r.dtype, threads)
        if cpu_peak and row["cpu_s"]:
            row["cpu_gflops"] = flops * row["examples_timed"] / float(np.median(row["cpu_s"])) / 1e9
            row["fraction_of_fma_peak_cpu"] = row["cpu_gflops"] / cpu_peak
        if isinstance(r, FastnetTrain):
            row["kernels"] = kernels_label(r.kernels)
        rows.append(row)
        by[(r.impl, r.dtype.name)] = (r, row)
    ref = by[("reference", "float64")][1]
    for row in rows:
        row["speedup_vs_reference"] = ref["seconds"] / row["seconds"]
        row["speedup_vs_reference_from_min"] = ref["seconds_from_min"] / row["seconds_from_min"]
        fast = by.get(("fastnet", row["dtype"]))
        row["fastnet_speedup_over_this"] = row["seconds"] / fast[1]["seconds"] if fast else None
        row["fastnet_speedup_over_this_from_min"] = (
            row["seconds_from_min"] / fast[1]["seconds_from_min"] if fast else None)
    ratio_to_blas_kernels(rows)

    # Accuracy on the validation images after the timed epoch (a sanity check that every
    # implementation trained; the reference trained on its slice only, so it is left out).
    Xv, yv = data["val"]
    Xv, yv = Xv[:MODES[mode]["infer"]["n"]], yv[:MODES[mode]["infer"]["n"]]
    for r, row in by.values():
        st = r.last_state
        if isinstance(r, FastnetTrain):
            row["validation_accuracy"] = st[0].accuracy((Xv, yv))
        elif r.impl == "scikit-learn":
            row["validation_accuracy"] = int(np.count_nonzero(st[0].predict(Xv.astype(r.dtype)) == yv))
        elif r.impl == "pytorch":
            import torch
            with torch.no_grad():
                out = st[0](torch.from_numpy(Xv.astype(r.dtype)))
            row["validation_accuracy"] = int(np.count_nonzero(out.numpy().argmax(axis=1) == yv))
        elif r.impl in JIT_PEERS:
            row["validation_accuracy"] = numpy_accuracy(r.finish(st), Xv, yv)
        else:
            row["validation_accuracy"] = None
        row["validation_examples"] = len(yv)

    # Agreement with the reference: fastnet (both kernel paths), numba and JAX trained
    # exactly as the reference's last timed run (same seeds, same first examples, one epoch).
    ref_result = by[("reference", "float64")][0].finish(by[("reference", "float64")][0].last_state)
    agreement = []
    with blas_threads(threads):
        for k in fastnet_kernel_variants():
            for dtype, Xd in ((np.float64, X), (np.float32, X32)):
                seed_all(spec.seed)
                net = fastnet.Network(spec.sizes)
                with impls.kernels(k):
                    net.SGD((Xd[:ref_n], y[:ref_n]), 1, spec.mini_batch_size, spec.eta,
                            spec.lmbda, dtype=dtype, quiet=True)
                agreement.append(agreement_row(case["name"], dtype, ref_n, 1,
                                               {"weights": net.weights, "biases": net.biases},
                                               ref_result, impl=by[(
                                                   impls.BLAS_KERNELS if k else "fastnet",
                                                   np.dtype(dtype).name)][0].impl))
                agreement[-1]["kernels"] = kernels_label(k)
        for name in JIT_PEERS:
            for dtype, Xd in ((np.float64, X), (np.float32, X32)):
                if (name, np.dtype(dtype).name) not in by:
                    continue
                ours = jit_peers.train_once(PEER_CLASSES[name], spec, Xd, y, dtype, ref_n)
                agreement.append(agreement_row(case["name"], dtype, ref_n, 1, ours, ref_result,
                                               impl=name,
                                               tolerance=jit_peers.TOLERANCE[np.dtype(dtype).name]))
    # PyTorch, numba and JAX got network2's initial weights and order: they should land on
    # fastnet's weights after the timed epoch.
    for peer in ("pytorch",) + JIT_PEERS:
        for dtype in ("float64", "float32"):
            t = by.get((peer, dtype))
            f = by.get(("fastnet", dtype))
            if t and f and t[0].n_examples == f[0].n_examples:
                agreement.append(agreement_row(
                    case["name"], dtype, t[0].n_examples, 1, t[0].finish(t[0].last_state),
                    f[0].finish(f[0].last_state), against="fastnet", impl=peer,
                    tolerance=None if peer == "pytorch" else jit_peers.TOLERANCE[dtype]))
                agreement[-1]["note"] = "{} vs fastnet, same initial weights and order".format(peer)
    for row in agreement:
        log("  agreement {} {} {} vs {}: max|dw| {:.2e} max|db| {:.2e}".format(
            row["case"], row["impl"], row["dtype"], row["against"],
            row["max_abs_diff_weights"], row["max_abs_diff_biases"]))
    for r, row in by.values():
        if r.impl == "scikit-learn":
            row["coef_dtype"] = r.finish(r.last_state)["coef_dtype"]
        if r.impl in JIT_PEERS:
            row["result_dtypes"] = r.finish(r.last_state)["dtypes"]
    return {"name": case["name"], "spec": spec.as_dict(), "threads": threads,
            "epoch_examples": 50000, "train_flops_per_example": flops, "results": rows,
            "agreement": agreement}


def numpy_accuracy(result, X, y):
    """Correct classifications of a sigmoid network given as weights and bias columns."""
    a = np.asarray(X, dtype=np.float64).T
    for w, b in zip(result["weights"], result["biases"]):
        a = 1.0 / (1.0 + np.exp(-(np.asarray(w, dtype=np.float64) @ a + b)))
    return int(np.count_nonzero(a.argmax(axis=0) == y))


def run_inference_case(mode, data, threads, peers, log):
    cfg = MODES[mode]["infer"]
    n = cfg["n"]
    sizes = [784, 30, 10]
    Xv, yv = data["val"]
    Xv, yv = Xv[:n], yv[:n]
    Xv32 = np.ascontiguousarray(Xv, dtype=np.float32)
    (X, y) = data["train"]
    ntrain = MODES[mode]["train_n"]
    with blas_threads(threads):
        seed_all(1)
        net = fastnet.Network(sizes)
        net.SGD((X[:ntrain], y[:ntrain]), 1, 10, 0.1, 5.0, quiet=True)
    ref = reference.Network(sizes)
    ref.weights = [w.copy() for w in net.weights]
    ref.biases = [b.copy() for b in net.biases]
    val_list = [(Xv[i].reshape(-1, 1).copy(), int(yv[i])) for i in range(n)]

    R = impls.CallRunner
    runners = []
    for k in fastnet_kernel_variants():
        impl = impls.BLAS_KERNELS if k else "fastnet"
        runners += [
            R(impl, "accuracy", with_kernels(k, lambda: net.accuracy((Xv, yv))), np.float64, n),
            R(impl, "outputs", with_kernels(k, lambda: net.outputs(Xv)), np.float64, n),
            R(impl, "outputs", with_kernels(k, lambda: net.outputs(Xv32, dtype=np.float32)),
              np.float32, n)]
    n_fastnet = len(runners)
    runners += [
        R("reference", "accuracy", lambda: ref.accuracy(val_list), np.float64, n,
          repeats=cfg["ref_repeats"]),
        R("reference", "outputs", lambda: [ref.feedforward(x) for x, _ in val_list], np.float64, n,
          repeats=cfg["ref_repeats"]),
    ]
    runners[n_fastnet].note = runners[n_fastnet + 1].note = "network2's per-example feedforward"
    if peers.get("pytorch"):
        import torch
        for dtype, Xd in ((np.float64, Xv), (np.float32, Xv32)):
            tdt = torch.float64 if dtype == np.float64 else torch.float32
            model = impls.make_torch_model(sizes, tdt, net.weights, net.biases)
            Xt = torch.from_numpy(Xd)

            def forward(model=model, Xt=Xt):
                with torch.no_grad():
                    return model(Xt).numpy()
            runners.append(R("pytorch", "outputs", forward, dtype, n))
    if peers.get("scikit-learn"):
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        for dtype, Xd in ((np.float64, Xv), (np.float32, Xv32)):
            clf = MLPClassifier(hidden_layer_sizes=(30,), activation="logistic", solver="sgd",
                                max_iter=1, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(Xd[:200], yv[:200])      # then given fastnet's weights
            clf.coefs_ = [w.T.astype(dtype) for w in net.weights]
            clf.intercepts_ = [b.ravel().astype(dtype) for b in net.biases]
            r = R("scikit-learn", "predict", lambda clf=clf, Xd=Xd: clf.predict(Xd), dtype, n)
            r.note = "softmax output layer: same argmax as the sigmoid outputs"
            runners.append(r)
    for r in runners:
        r.threads = threads
    log("case inference: {} on {} validation images ({} BLAS thread(s))".format(sizes, n, threads))
    time_runners(runners, cfg["repeats"], MODES[mode]["warmup"], log=log)

    flops = infer_flops_per_example(sizes)
    ref_outputs = np.hstack([ref.feedforward(x) for x, _ in val_list]).T
    ref_accuracy = ref.accuracy(val_list)
    base = {}
    rows = []
    for r in runners:
        row = summary(r)
        row["op"] = r.op
        row["gflops"] = flops * row["examples_per_s"] / 1e9
        result = r.finish(r.last_state)["result"]
        if r.op == "accuracy":
            row["accuracy"] = int(result)
        elif r.op == "predict":
            row["accuracy"] = int(np.count_nonzero(result == yv))
        else:
            out = np.asarray(result, dtype=np.float64)
            if r.impl == "reference":
                out = np.hstack(result).T
            row["accuracy"] = int(np.count_nonzero(out.argmax(axis=1) == yv))
            row["max_abs_diff_vs_reference_outputs"] = float(np.max(np.abs(out - ref_outputs)))
        rows.append(row)
        if r.impl == "reference":
            base[r.op] = row["seconds"]
    for row in rows:
        ref_s = base.get(row["op"], base.get("outputs"))
        row["speedup_vs_reference"] = ref_s / row["seconds"]
    ratio_to_blas_kernels(rows, match=("op", "dtype"))
    return {"name": "inference", "sizes": sizes, "examples": n, "threads": threads,
            "reference_accuracy": int(ref_accuracy), "results": rows}


def run_learning_speed_case(mode, data, threads, log):
    cfg = MODES[mode]["speed"]
    n = cfg["n"]
    spec = Spec([784, 30, 30, 30, 10], n)
    (X, y) = data["train"]
    X1, y1 = np.ascontiguousarray(X[:n]), y[:n]
    base_list = data["train_list"][:n]
    runners = []
    for dtype in (np.float64, np.float32):
        for monitor in (True, False):
            runners.append(FastnetSpeedTrain(spec, X1, y1, dtype, cfg["epochs"], monitor))
    ref_runners = [ReferenceSpeedTrain(spec, base_list, cfg["ref_epochs"], monitor,
                                       repeats=cfg["ref_repeats"]) for monitor in (True, False)]
    runners += ref_runners
    missing = impls.speed_module_available()
    if missing is None:
        runners.append(impls.FastnetSpeedModule(spec, X1, y1, cfg["epochs"]))
    for r in runners:
        r.threads = threads
    log("case learning-speed: {} on the first {} images, mini-batch {} ({} BLAS thread(s))".format(
        spec.sizes, n, n, threads))
    time_runners(runners, cfg["repeats"], MODES[mode]["warmup"], log=log)
    rows = []
    for r in runners:
        row = summary(r)
        row["monitored"] = r.monitor
        row["epochs_per_run"] = r.epochs
        row["seconds_per_epoch"] = row["median_s"] / r.epochs
        rows.append(row)
    ref_mon = next(x for x in rows if x["impl"] == "reference" and x["monitored"])
    ref_plain = next(x for x in rows if x["impl"] == "reference" and not x["monitored"])
    for row in rows:
        # Overhead against the same library's unmonitored SGD in the same precision.
        family = "reference" if row["impl"] == "reference" else "fastnet"
        twin = next(x for x in rows if x["impl"] == family and x["dtype"] == row["dtype"]
                    and not x["monitored"])
        if row["monitored"]:
            row["monitor_overhead_percent"] = 100.0 * (row["seconds_per_epoch"]
                                                       / twin["seconds_per_epoch"] - 1.0)
            row["overhead_against"] = twin["label"]
        ref = ref_mon if row["monitored"] else ref_plain
        row["speedup_vs_reference"] = ref["seconds_per_epoch"] / row["seconds_per_epoch"]

    # Agreement: the same ref_epochs epochs, monitored, from the same seeds.
    ref_runner = ref_runners[0]
    ref_result = ref_runner.finish(ref_runner.last_state)
    agreement = []
    checks = [(FastnetSpeedTrain(spec, X1, y1, dtype, cfg["ref_epochs"], True), "learning-speed")
              for dtype in (np.float64, np.float32)]
    if missing is None:
        checks.append((impls.FastnetSpeedModule(spec, X1, y1, cfg["ref_epochs"]),
                       "learning-speed (speed.train_with_speeds)"))
    with blas_threads(threads):
        for r, name in checks:
            dtype = r.dtype
            state = r.prepare(False)
            r.run(state)
            ours = r.finish(state)
            row = agreement_row(name, dtype, n, cfg["ref_epochs"], ours, ref_result)
            a = np.asarray(ours["speeds"], dtype=np.float64)
            b = np.asarray(ref_result["speeds"], dtype=np.float64)
            row["max_rel_diff_speeds"] = float(np.max(np.abs(a - b) / np.abs(b)))
            row["speeds_fastnet"] = a.tolist()
            row["speeds_reference"] = b.tolist()
            agreement.append(row)
            log("  agreement learning-speed {}: max|dw| {:.2e} speeds rel {:.2e}".format(
                row["dtype"], row["max_abs_diff_weights"], row["max_rel_diff_speeds"]))
    return {"name": "learning-speed", "spec": spec.as_dict(), "threads": threads,
            "examples": n, "results": rows, "agreement": agreement,
            "notes": [] if missing is None else ["speed.train_with_speeds skipped: " + missing]}


def with_kernels(kernels, fn):
    """``fn`` run with fastnet's kernels ``kernels`` (None: as picked at start)."""
    if kernels is None:
        return fn

    def run():
        with impls.kernels(kernels):
            return fn()
    return run


def run_per_call_case(mode, data, threads, log):
    """network2's per-example calls, one example at a time: what the book's scripts do.

    generate_gradient.py, for one, averages ``backprop(x, y)`` over 1,000
    examples every epoch.  Each runner makes n calls; the report gives
    microseconds per call, the ratio to the reference's (network2's own code)
    and the largest difference of any result from the reference's.
    """
    cfg = MODES[mode]["per-call"]
    n = cfg["n"]
    sizes = [784, 30, 30, 10]
    X, y = data["train"]
    columns = [X[i].reshape(784, 1).copy() for i in range(n)]
    targets = [fastnet.vectorized_result(int(label)) for label in y[:n]]
    net = fastnet.Network(sizes, random_state=2)
    ref = reference.Network(sizes)
    ref.weights = [w.copy() for w in net.weights]
    ref.biases = [b.copy() for b in net.biases]
    R = impls.CallRunner
    runners = []
    models = [("fastnet", net, None), (impls.BLAS_KERNELS, net, "blas"),
              ("reference", ref, None)]
    for impl, model, k in models:
        # As generate_gradient.py does: every call's nabla_b is kept, nabla_w dropped.
        runners.append(R(impl, "backprop", with_kernels(k, lambda m=model: [
            m.backprop(x, t)[0] for x, t in zip(columns, targets)]), np.float64, n))
        runners.append(R(impl, "feedforward", with_kernels(k, lambda m=model: [
            m.feedforward(x) for x in columns]), np.float64, n))
    for r in runners:
        r.threads = threads
        if r.impl == "reference":
            r.note = "network2's own per-example code"
    log("case per-call: {}, {} examples one at a time ({} BLAS thread(s))".format(
        sizes, n, threads))
    time_runners(runners, cfg["repeats"], MODES[mode]["warmup"], log=log)
    results = {(r.impl, r.op): r.finish(r.last_state)["result"] for r in runners}
    # Agreement of whole gradients (nabla_b and nabla_w) on the first 20 examples.
    for impl, model, k in models:
        with impls.kernels(k):
            results[(impl, "backprop")] = [
                model.backprop(x, t) for x, t in zip(columns[:20], targets[:20])]
    rows = []
    for r in runners:
        row = summary(r)
        row["op"] = r.op
        row["microseconds_per_call"] = 1e6 * row["seconds"] / n
        rows.append(row)
    by = {(row["impl"], row["op"]): row for row in rows}
    for row in rows:
        ref_row = by[("reference", row["op"])]
        row["speedup_vs_reference"] = ref_row["seconds"] / row["seconds"]
        ours, theirs = results[(row["impl"], row["op"])], results[("reference", row["op"])]
        if row["op"] == "backprop":
            flat = [(a, b) for (nb, nw), (rb, rw) in zip(ours, theirs)
                    for a, b in zip(nb + nw, rb + rw)]
        else:
            flat = list(zip(ours, theirs))
        row["max_abs_diff_vs_reference"] = max_abs_diff([a for a, _ in flat],
                                                        [b for _, b in flat])
    ratio_to_blas_kernels(rows, match=("op", "dtype"))
    return {"name": "per-call", "sizes": sizes, "examples": n, "threads": threads,
            "results": rows}

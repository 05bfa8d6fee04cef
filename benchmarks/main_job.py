"""Two cases about the work around the epoch rather than the epoch itself.

``main-job``: ``fastnet train`` (the book's chapter-3 run: [784,30,10], 30 epochs,
validation accuracy after each) as a whole process, started the way a user
starts it, against the training seconds it reports itself.  The difference is
everything else: starting Python, imports, loading MNIST and the 30 evaluations.

``list-path``: ``fastnet.network2``'s one-epoch ``SGD`` on network2's list of
50,000 ``(x, y)`` column pairs against the same call on arrays, and the
conversion of that list on its own (``fastnet.examples.convert``, what every
``SGD`` call on a list does first).
"""
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import fastnet
from fastnet import examples, network2

from benchmarks.timing import summary, time_runners
from benchmarks.impls import Runner

MAIN_JOB = {"full": {"epochs": 30, "limit": None, "warmup": 1, "repeats": 3},
            "quick": {"epochs": 1, "limit": 1000, "warmup": 0, "repeats": 1}}
LIST_PATH = {"full": {"n": 50000, "warmup": 1, "repeats": 5},
             "quick": {"n": 2000, "warmup": 0, "repeats": 1}}

_TRAINED = re.compile(r"\(([\d,]+) examples in ([\d.]+) s\)")


def _command(data_path, cfg):
    command = [sys.executable, "-m", "fastnet", "train", "--data", data_path, "--quiet",
               "--epochs", str(cfg["epochs"])]
    if cfg["limit"]:
        command += ["--limit", str(cfg["limit"])]
    return command


def _one_run(command, env, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=3600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError("fastnet train exited with {}: {}".format(
            proc.returncode, proc.stderr.strip()[-500:]))
    found = _TRAINED.search(proc.stdout)
    if found is None:
        raise RuntimeError("fastnet train printed no training seconds: " + proc.stdout[-300:])
    return {"wall_s": wall, "training_s": float(found.group(2)),
            "user_s": after.ru_utime - before.ru_utime,
            "system_s": after.ru_stime - before.ru_stime,
            "examples": int(found.group(1).replace(",", ""))}


def run_main_job_case(mode, data_path, log):
    """``fastnet train`` as a process: wall seconds over the training seconds it prints."""
    cfg = MAIN_JOB[mode]
    command = _command(os.path.abspath(data_path), cfg)
    # The child runs the fastnet this process imported, started outside any source tree.
    package_parent = str(Path(fastnet.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cwd = os.path.dirname(package_parent) or "/"
    log("case main-job: {}".format(" ".join(["fastnet"] + command[3:])))
    warm, runs = [], []
    for phase, count, into in (("warm-up", cfg["warmup"], warm), ("timed", cfg["repeats"], runs)):
        for _ in range(count):
            run = _one_run(command, env, cwd)
            run["ratio"] = run["wall_s"] / run["training_s"]
            into.append(run)
            log("  {:<9} fastnet train {:8.2f} s wall, {:6.2f} s training ({:.2f}x)".format(
                phase, run["wall_s"], run["training_s"], run["ratio"]))

    def median(key):
        return float(np.median([r[key] for r in runs]))

    return {"name": "main-job", "command": ["fastnet"] + command[3:], "epochs": cfg["epochs"],
            "limit": cfg["limit"], "warmup_runs": warm, "runs": runs,
            "median_wall_s": median("wall_s"), "median_training_s": median("training_s"),
            "median_ratio": median("ratio"), "median_user_s": median("user_s"),
            "median_system_s": median("system_s")}


class ListPathRunner(Runner):
    """One ``network2.Network.SGD`` epoch from the book's pairs or from arrays, or the
    pairs' conversion alone."""

    impl = "fastnet"

    def __init__(self, form, pairs, X, y, n, n_warm):
        super().__init__(np.float64, n, n, n_warm=n_warm)
        self.form, self.pairs, self.X, self.y = form, pairs, X, y

    @property
    def label(self):
        return {"pairs": "SGD, one epoch, from the list of pairs",
                "arrays": "SGD, one epoch, from arrays (X, y)",
                "convert": "the list's conversion alone"}[self.form]

    def prepare(self, warm):
        n = self.n_warm if warm else self.n_examples
        random.seed(12345)
        np.random.seed(12345)
        net = network2.Network([784, 30, 10])
        data = (self.X[:n], self.y[:n]) if self.form == "arrays" else self.pairs[:n]
        return {"net": net, "data": data}

    def run(self, state):
        if self.form == "convert":
            state["converted"] = examples.convert(state["data"], [784, 30, 10], np.float64,
                                                  "training_data", check_inputs=False)
        else:
            state["net"].SGD(state["data"], 1, 10, 0.1, lmbda=5.0, quiet=True)

    def finish(self, state):
        return state


def run_list_path_case(mode, data, threads, log):
    """network2's list of pairs against arrays, and the list's conversion, interleaved."""
    cfg = LIST_PATH[mode]
    n = cfg["n"]
    X, y = data["train"]
    X32 = np.ascontiguousarray(X[:n], dtype=np.float32)
    # As the book's mnist_loader.load_data_wrapper gives them: float32 (784, 1) columns
    # and float64 one-hot (10, 1) columns.
    pairs = [(X32[i].reshape(784, 1).copy(), fastnet.vectorized_result(int(y[i])))
             for i in range(n)]
    labels = np.asarray(y[:n], dtype=np.int64)
    n_warm = min(n, 2000)
    runners = [ListPathRunner(form, pairs, X32, labels, n, n_warm)
               for form in ("pairs", "arrays", "convert")]
    for r in runners:
        r.threads = threads
    log("case list-path: {:,} network2 pairs ({} BLAS thread(s))".format(n, threads))
    time_runners(runners, cfg["repeats"], cfg["warmup"], log=log)
    rows = [dict(summary(r), form=r.form) for r in runners]
    by = {row["form"]: row for row in rows}
    pairs_over_arrays = [p / a for p, a in zip(by["pairs"]["times_s"], by["arrays"]["times_s"])]
    return {"name": "list-path", "examples": n, "threads": threads, "results": rows,
            "pairs_over_arrays": float(by["pairs"]["median_s"] / by["arrays"]["median_s"]),
            "pairs_over_arrays_paired_median": float(np.median(pairs_over_arrays))}


def render(res, w):
    job = next((c for c in res["cases"] if c["name"] == "main-job"), None)
    if job:
        w("### Main job: `{}` as a whole process".format(" ".join(job["command"])))
        w("")
        w("| run | wall, s | training, s (its own) | wall / training | user, s | system, s |")
        w("|---|---:|---:|---:|---:|---:|")
        for k, r in enumerate(job["warmup_runs"] + job["runs"]):
            w("| {} | {:.2f} | {:.2f} | {:.2f}× | {:.2f} | {:.2f} |".format(
                "warm-up" if k < len(job["warmup_runs"]) else k - len(job["warmup_runs"]) + 1,
                r["wall_s"], r["training_s"], r["ratio"], r["user_s"], r["system_s"]))
        w("| **median of the timed runs** | {:.2f} | {:.2f} | **{:.2f}×** | {:.2f} | {:.2f} |"
          .format(job["median_wall_s"], job["median_training_s"], job["median_ratio"],
                  job["median_user_s"], job["median_system_s"]))
        w("")
        w("Wall: from the start of the process to its exit (Python, imports, loading MNIST, "
          "{} evaluations of the 10,000 validation images, saving nothing); training: the "
          "seconds the command prints, its SGD calls only. The ratio is taken run by run "
          "(median of the ratios); user and system are the child's CPU seconds.".format(
              job["epochs"]))
        w("")
    lp = next((c for c in res["cases"] if c["name"] == "list-path"), None)
    if lp:
        w("### List path: `fastnet.network2` SGD on network2's list of {:,} pairs".format(
            lp["examples"]))
        w("")
        w("| call | threads | s (median) | spread | × arrays |")
        w("|---|---:|---:|---:|---:|")
        arrays = next(r for r in lp["results"] if r["form"] == "arrays")
        for r in lp["results"]:
            w("| {} | {} | {:.3g} | {:.0%} | {} |".format(
                r["label"], r["threads"] if r["threads"] is not None else "default",
                r["median_s"], r["spread"],
                "{:.2f}×".format(r["median_s"] / arrays["median_s"])))
        w("")
        w("Pairs over arrays: {:.2f}× (ratio of medians), {:.2f}× (median of the paired "
          "ratios). The pairs are float32 (784, 1) and float64 one-hot (10, 1) columns, as "
          "the book's `mnist_loader.load_data_wrapper` gives them; the arrays are the same "
          "float32 images and int labels. One epoch at mini-batch 10, eta 0.1, lmbda 5.0, "
          "interleaved.".format(lp["pairs_over_arrays"], lp["pairs_over_arrays_paired_median"]))
        w("")

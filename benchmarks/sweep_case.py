"""The sweep case: how many training runs per minute ``fastnet.sweep.run_sweep`` gets
through with 1 and with 2 workers, on threads in this process and on a Dask LocalCluster
of worker processes."""
import time

import numpy as np

from benchmarks.machine import blas_threads

MODES = {
    # runs of [784,30,10], mini-batch 10, eta 0.1, lmbda 5.0, accuracy on the validation
    # images after every epoch (as `fastnet sweep` does)
    "full": {"runs": 12, "examples": 50000, "epochs": 2, "validation": 10000, "repeats": 3,
             "warmup": 1},
    "quick": {"runs": 4, "examples": 1000, "epochs": 1, "validation": 1000, "repeats": 1,
              "warmup": 1},
}
WORKERS = (1, 2)


def dask_available():
    """(version, None) or (None, why not)."""
    try:
        import distributed
    except ImportError:
        return None, 'Dask distributed is not installed (pip install "fastnet[dask]")'
    return distributed.__version__, None


def _cpu_seconds(where):
    """CPU seconds used so far by whoever trains: this process, or the Dask workers."""
    client = where.get("client")
    if client is None:
        return time.process_time()
    return sum(client.run(time.process_time).values())


def _grid(cfg):
    from fastnet import sweep
    seeds = cfg["runs"] // 2
    return sweep.grid(sizes=[[784, 30, 10]], eta=[0.1, 0.5], epochs=cfg["epochs"], seeds=seeds)


def run_sweep_case(mode, data, log):
    """Time the same grid of runs on every backend and worker count, interleaved."""
    from fastnet import sweep

    cfg = MODES[mode]
    runs = _grid(cfg)
    (X, y) = data["train32"], data["train"][1]
    training = (X[:cfg["examples"]], y[:cfg["examples"]])
    Xv, yv = data["val"]          # float32 images, as `fastnet sweep` loads them
    validation = (np.ascontiguousarray(Xv[:cfg["validation"]], dtype=np.float32),
                  yv[:cfg["validation"]])
    notes = []
    backends = [("threads", n, {"threads": n}) for n in WORKERS]
    clusters = []
    startup = {}
    version, why = dask_available()
    if why:
        notes.append("Dask LocalCluster rows skipped: " + why)
    else:
        import distributed
        for n in WORKERS:
            t0 = time.perf_counter()
            cluster = sweep.local_cluster(n)
            client = distributed.Client(cluster)
            startup[n] = time.perf_counter() - t0
            clusters.append((cluster, client))
            backends.append(("dask LocalCluster", n, {"client": client}))
    log("case sweep: {} runs of [784,30,10], {} epochs on {:,} images, on {}".format(
        len(runs), cfg["epochs"], cfg["examples"],
        ", ".join("{} x{}".format(name, n) for name, n, _ in backends)))
    times = {(name, n): [] for name, n, _ in backends}
    cores = {(name, n): [] for name, n, _ in backends}
    sending = {(name, n): [] for name, n, _ in backends}
    outcomes = {}
    try:
        # fastnet's kernels hold BLAS to one thread while they run (its default; the worker
        # processes keep that default too), so a worker is one core's worth of work.
        with blas_threads(1):
            for phase, count in (("warm-up", cfg["warmup"]), ("timed", cfg["repeats"])):
                for _ in range(count):
                    for name, n, where in backends:
                        cpu0 = _cpu_seconds(where)
                        started = []
                        t0 = time.perf_counter()
                        results = sweep.run_sweep(
                            runs, training, validation,
                            on_start=lambda _: started.append(time.perf_counter()), **where)
                        elapsed = time.perf_counter() - t0
                        if phase == "timed":
                            times[(name, n)].append(elapsed)
                            sending[(name, n)].append(started[0] - t0)
                            cores[(name, n)].append((_cpu_seconds(where) - cpu0) / elapsed)
                        outcomes[(name, n)] = [r["correct"] for r in results]
                        log("  {:<9} {} x{}: {:.3f} s, {:.0f} runs/min".format(
                            phase, name, n, elapsed, 60 * len(runs) / elapsed))
    finally:
        for cluster, client in clusters:
            client.close()
            cluster.close()

    reference = outcomes[("threads", 1)]
    rows = []
    for name, n, _ in backends:
        t = np.asarray(times[(name, n)])
        median = float(np.median(t))
        rows.append({"backend": name, "workers": n, "runs": len(runs), "times_s": t.tolist(),
                     "median_s": median, "min_s": float(t.min()), "max_s": float(t.max()),
                     "spread": float((t.max() - t.min()) / median),
                     "runs_per_minute": 60.0 * len(runs) / median,
                     "cores_busy": float(np.median(cores[(name, n)])),
                     "data_and_submit_s": float(np.median(sending[(name, n)])),
                     "startup_s": startup.get(n) if name != "threads" else None,
                     "same_accuracies": outcomes[(name, n)] == reference})
    for row in rows:
        one = next(r for r in rows if r["backend"] == row["backend"] and r["workers"] == 1)
        row["speedup_over_1_worker"] = row["runs_per_minute"] / one["runs_per_minute"]
    return {"name": "sweep", "sizes": [784, 30, 10], "mini_batch_size": 10, "eta": [0.1, 0.5],
            "lmbda": 5.0, "epochs": cfg["epochs"], "examples": cfg["examples"],
            "validation_examples": cfg["validation"], "runs": len(runs),
            "blas_threads_per_run": 1, "dask": version, "results": rows, "notes": notes}


def render(case, w):
    """The case's section of the Markdown report, through ``w(line)``."""
    w("### Sweep throughput: {} runs of [784,30,10] ({} epoch(s) on {:,} images, mini-batch {}, "
      "eta {}, lmbda {}, accuracy on {:,} validation images after every epoch)".format(
          case["runs"], case["epochs"], case["examples"], case["mini_batch_size"],
          " and ".join(str(e) for e in case["eta"]), case["lmbda"],
          case["validation_examples"]))
    w("")
    w("| where | workers | seconds per sweep | of which data out | spread | runs/minute | "
      "× 1 worker | cores busy | same accuracies as 1 thread |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in case["results"]:
        w("| {} | {} | {:.2f} | {:.2f} | {:.0f}% | {:.0f} | {:.2f}× | {:.2f} | {} |".format(
            r["backend"], r["workers"], r["median_s"], r["data_and_submit_s"],
            100 * r["spread"], r["runs_per_minute"], r["speedup_over_1_worker"], r["cores_busy"],
            "yes" if r["same_accuracies"] else "**NO**"))
    w("")
    startup = [r for r in case["results"] if r["startup_s"] is not None]
    w("`fastnet.sweep.run_sweep` over the same runs, median of the timed sweeps after a "
      "warm-up, all configurations interleaved round-robin. A sweep's time includes sending "
      "the data to the workers (Dask: `Client.scatter(..., broadcast=True)` once per sweep) "
      "but not starting the cluster{}. Each run's kernels use {} BLAS thread (fastnet's "
      "default), so one worker is one core's work; threads share one process (the kernels "
      "release the GIL), Dask workers are separate processes with 1 thread each. cores busy: "
      "CPU seconds of the training processes (this one, or the Dask workers) per second of "
      "the sweep; with 2 workers it stays well under 2 when other work holds the cores, "
      "and then 2 workers cannot be 2× faster. data out: seconds until the data was on "
      "the workers and the runs submitted.".format(
          "" if not startup else " ({})".format(", ".join(
              "{} worker{}: {:.1f} s".format(r["workers"], "" if r["workers"] == 1 else "s",
                                             r["startup_s"]) for r in startup)),
          case["blas_threads_per_run"]))
    for note in case.get("notes", []):
        w("")
        w(note + ".")
    w("")

"""Sweeps: many training runs over a grid of settings and seeds, on threads or on Dask.

A *run* is a dict of settings: ``sizes``, ``eta``, ``lmbda``, ``mini_batch_size``,
``epochs``, ``seed`` and ``dtype`` (plus any labels the caller adds, such as the
data set; the runner ignores them).  ``train_run`` trains one run with
network2's semantics and records its validation accuracy after every epoch;
``run_sweep`` trains a list of runs, in this process on threads or on a Dask
distributed cluster::

    from fastnet import sweep
    runs = sweep.grid(sizes=[[784, 30, 10], [784, 30, 30, 10]], eta=[0.1, 0.5],
                      epochs=5, seeds=3)
    results = sweep.run_sweep(runs, (X, y), (X_val, y_val))                # threads
    results = sweep.run_sweep(runs, (X, y), (X_val, y_val), cluster=2)     # LocalCluster
    results = sweep.run_sweep(runs, (X, y), (X_val, y_val),
                              scheduler="tcp://10.0.0.5:8786")             # a running cluster
    sweep.summary(results)       # mean and std over seeds for every setting

Why results do not depend on where a run ran: a run with seed ``s`` draws its
initial weights from ``np.random.RandomState(s)`` (exactly network2's
``np.random.seed(s); Network(sizes)``) and shuffles with ``random.Random(s)``,
and touches no other random state.  The kernels do the same arithmetic in
every thread and process, so the same run gives the same accuracies, bit for
bit, on threads, on a LocalCluster and on a remote scheduler (given the same
fastnet build, BLAS library and kind of CPU: OpenBLAS picks its kernels by CPU,
and another kernel may round differently).

On Dask the training and validation arrays are scattered to every worker
once (``Client.scatter(..., broadcast=True)``) and each task gets a reference
to them, not a copy.  A task whose worker dies is rescheduled by the
scheduler on another worker, and a task that raises is retried
(``retries``), so a lost worker loses no run.  The command line is
``fastnet sweep`` (``fastnet sweep --help``); Dask is the optional extra
``pip install "fastnet[dask]"``.
"""
import contextlib
import itertools
import json
import logging
import os
import random
import signal
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as _threads_wait

import numpy as np

from fastnet.checks import check_count, check_seed
from fastnet.datasets import N_CLASSES, N_PIXELS
from fastnet.network2 import CrossEntropyCost, Network
from fastnet.stats import sample_std

__all__ = ["grid", "train_run", "run_sweep", "run_key", "summary", "local_cluster",
           "import_distributed", "Stopped", "DaskMissing", "SWEPT", "TRAINING_KEYS"]

# The settings train_run reads; a run may carry more (labels for the caller).
TRAINING_KEYS = ("sizes", "eta", "lmbda", "mini_batch_size", "epochs", "seed", "dtype")
# Optional settings, with the values a run without them trains with (network2's).
NETWORK_DEFAULTS = {"activation": "sigmoid", "init": "default"}
# The settings that a grid can take several values of.
SWEPT = ("sizes", "eta", "lmbda", "mini_batch_size", "dtype", "activation", "init")

DASK_HINT = 'pip install "fastnet[dask]" (or: pip install "dask[distributed]")'


class Stopped(Exception):
    """Raised inside a run when its ``stop`` event is set (after Ctrl-C)."""


class DaskMissing(ImportError):
    """Dask distributed is needed (for a scheduler or cluster) but not installed."""


# ---------------------------------------------------------------------------
# The grid

def grid(sizes=((N_PIXELS, 30, N_CLASSES),), eta=(0.1,), lmbda=(5.0,), mini_batch_size=(10,),
         dtype=("float64",), epochs=30, seeds=1, first_seed=0, activation=("sigmoid",),
         init=("default",), **labels):
    """Every combination of the given values, once per seed, as a list of runs.

    Seeds are ``first_seed, first_seed + 1, ...`` (``seeds`` of them).  The
    list is ordered slowest first (more layers, then smaller mini-batches), so
    that a pool of workers does not end waiting on one long run.  ``labels``
    (e.g. ``dataset="mnist"``) are copied into every run.  A value given twice
    gives its runs once.
    """
    seeds = check_count(seeds, "seeds", 1)
    first_seed = check_seed(first_seed, "first_seed")
    check_seed(first_seed + seeds - 1, "the last seed (first_seed + seeds - 1)")
    runs = {}                     # by run_key: a value given twice is one run, not two
    for s, e, l, m, d, a, i in itertools.product(sizes, eta, lmbda, mini_batch_size, dtype,
                                                 activation, init):
        for seed in range(first_seed, first_seed + seeds):
            run = {"sizes": [int(n) for n in s], "eta": float(e), "lmbda": float(l),
                   "mini_batch_size": int(m), "epochs": int(epochs), "seed": int(seed),
                   "dtype": np.dtype(d).name, "activation": str(a), "init": str(i)}
            run.update(labels)
            runs.setdefault(run_key(run), run)
    runs = list(runs.values())
    runs.sort(key=lambda r: (-len(r["sizes"]), -sum(r["sizes"]), r["mini_batch_size"]))
    return runs


def run_key(run):
    """A string that names a run's settings (for resuming and grouping)."""
    return json.dumps(run, sort_keys=True)


# ---------------------------------------------------------------------------
# One run

def train_run(run, training, validation, every_epoch=True, progress=None, stop=None, *,
              warn_nonfinite=True):
    """Train one run from its seed and return what happened.

    ``training`` and ``validation`` are ``(X, y)`` arrays.  Returns a dict:
    ``settings`` (the run as given), ``correct`` (validation images right after
    each epoch; only after the last one when ``every_epoch`` is false, and 0
    if the weights are not finite then), ``validation_accuracy`` (the same as
    fractions), ``validation_images``, ``finite`` (whether every trained
    weight and bias is a finite number), ``seconds`` (training and scoring)
    and ``where`` (host, process and worker that ran it).  ``progress(k)`` is
    told of every k finished mini-batches; when ``stop`` (something with
    ``is_set()``) is set the run raises ``Stopped``.  ``warn_nonfinite`` is
    SGD's: False for no RuntimeWarning when the weights stop being finite.
    """
    settings = {k: run[k] for k in TRAINING_KEYS}
    settings.update({k: run.get(k, v) for k, v in NETWORK_DEFAULTS.items()})
    n_val = len(validation[1])
    if n_val == 0:
        raise ValueError("validation data is empty")

    def report(k):
        if stop is not None and stop.is_set():
            raise Stopped()
        if progress is not None:
            progress(k)

    start = time.perf_counter()
    net = Network(settings["sizes"], cost=CrossEntropyCost,
                  activation=settings["activation"], init=settings["init"],
                  random_state=settings["seed"])
    # Without SGD's warning, none from NumPy either as a step overflows (per thread).
    quiet = contextlib.nullcontext() if warn_nonfinite else np.errstate(over="ignore",
                                                                       invalid="ignore")
    with quiet:
        monitors = net.SGD(training, settings["epochs"], settings["mini_batch_size"],
                           settings["eta"], lmbda=settings["lmbda"],
                           evaluation_data=validation if every_epoch else None,
                           monitor_evaluation_accuracy=every_epoch, quiet=True,
                           dtype=np.dtype(settings["dtype"]).type,
                           shuffle_with=random.Random(settings["seed"]), progress=report,
                           warn_nonfinite=warn_nonfinite)
    finite = all(np.isfinite(p).all() for p in net.weights + net.biases)
    if every_epoch:
        correct = [int(c) for c in monitors[1]]
    else:
        correct = [int(net.accuracy(validation)) if finite else 0]
    seconds = time.perf_counter() - start
    return {"settings": dict(run), "correct": correct,
            "validation_accuracy": [c / n_val for c in correct], "validation_images": n_val,
            "finite": bool(finite), "seconds": seconds, "where": _where()}


def _where():
    """Host, process and (on Dask) the worker's address, or the thread's name."""
    where = {"host": socket.gethostname(), "pid": os.getpid(),
             "worker": "thread " + threading.current_thread().name}
    distributed = sys.modules.get("distributed")     # a Dask worker has imported it
    if distributed is not None:
        try:
            where["worker"] = distributed.get_worker().address
        except ValueError:                           # not inside a Dask task
            pass
    return where


def _batches(run, n_training):
    return run["epochs"] * -(-n_training // run["mini_batch_size"])


# ---------------------------------------------------------------------------
# Where runs run: threads in this process, or Dask

class _Threads:
    """Runs on a pool of threads in this process (the kernels release the GIL)."""

    def __init__(self, threads):
        self.threads = threads
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fastnet-sweep")
        self.lock = threading.Lock()
        self.name = "{} thread{} in this process".format(threads, "" if threads == 1 else "s")

    def start(self, training, validation, every_epoch, progress, stop, warn_nonfinite):
        self.args = (training, validation, every_epoch)
        self.warn_nonfinite = warn_nonfinite
        self.stop = stop
        self.progress = None
        if progress is not None:
            def locked(k):
                with self.lock:
                    progress(k)
            self.progress = locked

    def submit(self, run, index):
        training, validation, every_epoch = self.args
        return self.pool.submit(train_run, run, training, validation, every_epoch,
                                self.progress, self.stop, warn_nonfinite=self.warn_nonfinite)

    def wait(self, futures, timeout):
        """(done, not done) once one has finished or ``timeout`` seconds have passed."""
        done, pending = _threads_wait(futures, timeout, return_when=FIRST_COMPLETED)
        return done, pending

    def cancel(self, futures):
        self.stop.set()                       # running runs stop at their next chunk
        for f in futures:
            f.cancel()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    """Runs as tasks on a Dask distributed cluster: ours (a LocalCluster) or one
    reached through its scheduler's address, or a Client the caller made."""

    def __init__(self, scheduler=None, cluster=None, client=None, retries=2):
        distributed = import_distributed()
        self.cluster = None
        self.own_client = client is None
        self.retries = retries
        if client is not None:
            self.client = client
            self.name = "Dask at {}".format(client.scheduler.address)
        elif cluster is not None:
            self.cluster = local_cluster(cluster)
            try:
                self.client = distributed.Client(self.cluster)
            except BaseException:
                self.cluster.close()
                raise
            self.name = "a Dask LocalCluster of {} worker process{}".format(
                cluster, "" if cluster == 1 else "es")
        else:
            self.client = distributed.Client(scheduler, timeout="20s")
            self.name = "Dask at {}".format(scheduler)
        self.distributed = distributed

    def start(self, training, validation, every_epoch, progress, stop, warn_nonfinite):
        # Each worker receives the data once; tasks get references to it.
        self.data = self.client.scatter([training, validation], broadcast=True, hash=False)
        self.every_epoch = every_epoch
        self.warn_nonfinite = warn_nonfinite
        self.tag = uuid.uuid4().hex[:8]

    def submit(self, run, index):
        training, validation = self.data
        return self.client.submit(train_run, run, training, validation, self.every_epoch,
                                  warn_nonfinite=self.warn_nonfinite,
                                  key="fastnet-run-{}-{}".format(index, self.tag),
                                  retries=self.retries, pure=False)

    def wait(self, futures, timeout):
        """(done, not done) once one has finished or ``timeout`` seconds have passed."""
        import asyncio
        try:
            done, pending = self.distributed.wait(list(futures), timeout=timeout,
                                                  return_when="FIRST_COMPLETED")
        # Dask raises asyncio's TimeoutError, which only from Python 3.11 on is the
        # built-in one: on 3.9 and 3.10 it went through and ended every Dask sweep.
        except (TimeoutError, asyncio.TimeoutError):
            return set(), futures
        return set(done), set(pending)

    def cancel(self, futures):
        self.client.cancel(list(futures))

    def close(self):
        try:
            if getattr(self, "data", None):
                self.client.cancel(self.data)
            if self.own_client:
                self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def import_distributed():
    """``distributed``, or DaskMissing saying what to install."""
    try:
        import distributed
    except ImportError:
        raise DaskMissing("Dask distributed is not installed: " + DASK_HINT) from None
    return distributed


def local_cluster(workers):
    """A ``distributed.LocalCluster`` of ``workers`` processes of one thread each on
    127.0.0.1, without a dashboard (its HTTP endpoints on a free port, not 8787).
    ``cluster=N`` sweeps run on one of these; close it when done.

    Its log lines are silenced: a run's error comes back to this process through
    its future and is raised here, and what the workers would log is the noise of
    shutting down (heartbeats to a scheduler that has gone, cancelled tasks).
    """
    distributed = import_distributed()
    # A terminal's Ctrl-C goes to the whole process group.  The worker processes are
    # started with SIGINT ignored (they inherit that), so it reaches only this process,
    # which stops the sweep and closes the cluster, and not the workers, which would
    # each print a KeyboardInterrupt traceback.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=True, host="127.0.0.1",
                                        dashboard_address=None, silence_logs=logging.CRITICAL,
                                        scheduler_kwargs={"dashboard_address": ":0"})
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def default_threads():
    """As many threads as this process may use cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------
# Many runs

def run_sweep(runs, training, validation, *, threads=None, scheduler=None, cluster=None,
              client=None, every_epoch=True, on_result=None, on_start=None, progress=None,
              stop=None, retries=2, warn_nonfinite=True):
    """Train every run; return their results (``train_run``'s dicts) in the order of ``runs``.

    Where: by default on ``threads`` threads in this process (default: one
    per core); with ``cluster=N`` on a new ``distributed.LocalCluster`` of N
    worker processes (closed at the end); with ``scheduler="tcp://HOST:PORT"``
    on that Dask cluster; with ``client=`` on the cluster of a
    ``distributed.Client`` you hold.

    ``on_result(result)`` is called in this thread as each run finishes, so
    the caller can save it at once; ``on_start(description)`` once the
    runs are submitted.  ``progress(k)`` is told of finished mini-batches: as
    they finish on threads, a whole run's at once on Dask.  Setting ``stop``
    (a ``threading.Event``) cancels what has not finished and raises
    ``Stopped``; Ctrl-C does the same and raises KeyboardInterrupt (see
    ``_CtrlC``).  Results already handed to ``on_result`` stay handed.  A
    task whose worker dies is rerun elsewhere by the scheduler; one that
    raises is retried ``retries`` times.  ``warn_nonfinite`` is given to every
    run (``train_run``); each result says whether its weights stayed ``finite``.
    """
    runs = list(runs)
    for run in runs:
        missing = [k for k in TRAINING_KEYS if k not in run]
        if missing:
            raise ValueError("a run needs {}; got {}".format(", ".join(missing), run))
    if sum(x is not None for x in (scheduler, cluster, client)) > 1:
        raise ValueError("give at most one of scheduler, cluster and client")
    if threads is not None and (scheduler, cluster, client) != (None, None, None):
        raise ValueError("threads is for runs in this process; a Dask cluster has its own")
    if cluster is not None and (isinstance(cluster, bool) or int(cluster) != cluster
                                or cluster < 1):
        raise ValueError("cluster must be a number of workers, at least 1, got {!r}"
                         .format(cluster))
    stop = stop if stop is not None else threading.Event()
    if not runs:
        return []
    n_training = len(training[1])
    with _CtrlC(stop) as ctrl_c:
        if scheduler is None and cluster is None and client is None:
            backend = _Threads(threads or default_threads())
        else:
            backend = _Dask(scheduler, cluster, client, retries)
        results = [None] * len(runs)
        futures = {}
        try:
            backend.start(training, validation, every_epoch, progress, stop, warn_nonfinite)
            for i, run in enumerate(runs):
                futures[backend.submit(run, i)] = i
            if on_start is not None:
                on_start(backend.name)
            pending = set(futures)
            while pending:
                # Wake up now and then to notice ``stop`` (set by Ctrl-C, say).
                done, pending = backend.wait(pending, WAKE_SECONDS)
                for future in done:
                    i = futures.pop(future)
                    if stop.is_set() and isinstance(future.exception(), Stopped):
                        continue            # stopped by us: the check below says why
                    results[i] = future.result()
                    if progress is not None and isinstance(backend, _Dask):
                        progress(_batches(runs[i], n_training))
                    if on_result is not None:
                        on_result(results[i])
                if stop.is_set():
                    raise KeyboardInterrupt() if ctrl_c.pressed else Stopped()
        except BaseException:
            try:
                backend.cancel(list(futures))
            except Exception:        # best effort: what stopped the sweep is what to report
                pass
            try:
                backend.close()
            except Exception:
                pass
            raise
        backend.close()
    return results


WAKE_SECONDS = 0.2


class _CtrlC:
    """While a sweep runs in the main thread, Ctrl-C sets ``stop`` instead of raising
    KeyboardInterrupt wherever the main thread happens to be (inside Dask's client
    code, or a ``__del__`` that would swallow it).  The sweep then cancels what is
    left, closes down and raises KeyboardInterrupt itself.  A second Ctrl-C raises
    at once.  A handler other than Python's default (or fastnet.cli's, which raises as it
    does) is left alone."""

    def __init__(self, stop):
        self.stop = stop
        self.pressed = False
        self.previous = None

    def _handle(self, signum, frame):
        if self.pressed:
            raise KeyboardInterrupt()
        self.pressed = True
        self.stop.set()

    def __enter__(self):
        current = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread() and (
                current is signal.default_int_handler
                or getattr(current, "raises_keyboard_interrupt", False)):   # fastnet.cli's
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


# ---------------------------------------------------------------------------
# Summaries

def summary(results):
    """Group results by setting (everything but the seed); mean and std over seeds.

    Returns a list of dicts, in the order settings first appear: ``settings``
    (without ``seed``), ``seeds``, ``final`` (percent after the last epoch, per
    seed), ``mean``, ``std`` (sample standard deviation, 0 for one seed),
    ``curve_mean`` and ``curve_std`` (percent after each epoch) and
    ``seconds`` (mean per run).
    """
    groups = {}
    for r in results:
        settings = {k: v for k, v in r["settings"].items() if k != "seed"}
        groups.setdefault(run_key(settings), (settings, []))[1].append(r)
    rows = []
    for settings, members in groups.values():
        members = sorted(members, key=lambda r: r["settings"]["seed"])
        final = np.array([100.0 * r["validation_accuracy"][-1] for r in members])
        lengths = {len(r["validation_accuracy"]) for r in members}
        curves = (np.array([r["validation_accuracy"] for r in members]) * 100.0
                  if len(lengths) == 1 else final[:, None])
        rows.append({"settings": settings, "seeds": [r["settings"]["seed"] for r in members],
                     "final": final.tolist(), "mean": float(final.mean()),
                     "std": float(sample_std(final)),
                     "curve_mean": curves.mean(axis=0).tolist(),
                     "curve_std": sample_std(curves).tolist(),
                     "seconds": float(np.mean([r["seconds"] for r in members]))})
    return rows

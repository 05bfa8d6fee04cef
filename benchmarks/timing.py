"""Round-robin timing: every runner's repeats are interleaved, so background load hits all alike."""
import time

import numpy as np

from benchmarks.machine import blas_threads


def time_runners(runners, repeats, warmup, log=None):
    """Warm every runner up ``warmup`` times, then time ``repeats`` rounds of each in turn.

    A runner with its own ``repeats`` takes part in that many rounds only.
    Only ``run`` is timed; ``prepare`` (seeding, building the network) is not.
    """
    for r in runners:
        r.times, r.warm_times, r.cpu_times, r.last_state = [], [], [], None
    rounds = max([r.repeats or repeats for r in runners] + [0])
    for phase, count in (("warm-up", warmup), ("timed", rounds)):
        for i in range(count):
            for r in runners:
                if phase == "timed" and i >= (r.repeats or repeats):
                    continue
                with blas_threads(r.threads):
                    state = r.prepare(warm=(phase == "warm-up"))
                    c0 = time.process_time()      # all of this process's threads
                    t0 = time.perf_counter()
                    r.run(state)
                    elapsed = time.perf_counter() - t0
                    cpu = time.process_time() - c0
                if phase == "warm-up":
                    r.warm_times.append(elapsed)
                else:
                    r.times.append(elapsed)
                    r.cpu_times.append(cpu)
                    r.last_state = state
                if log:
                    log("  {:<9} {:<40} {:9.4f} s".format(phase, r.label, elapsed))


def summary(r):
    """Median, spread and the per-example scaling of one runner's timed runs."""
    times = np.asarray(r.times, dtype=float)
    median = float(np.median(times))
    per_example = median / r.n_examples
    return {
        "impl": r.impl,
        "dtype": r.dtype.name,
        "label": r.label,
        "threads": r.threads,
        "times_s": [float(t) for t in times],
        "warmup_times_s": [float(t) for t in r.warm_times],
        "warmup_examples": r.n_warm,
        "median_s": median,
        "min_s": float(times.min()),
        "max_s": float(times.max()),
        "examples_timed": r.n_examples,
        "scaled_to_examples": r.scale_to,
        "scaled": r.n_examples != r.scale_to,
        "seconds": per_example * r.scale_to,
        "seconds_from_min": float(times.min()) / r.n_examples * r.scale_to,
        "spread": float((times.max() - times.min()) / median),
        "cpu_s": [float(c) for c in r.cpu_times],
        # CPU time over wall time: about 1 for one busy thread, up to the cores used.
        "cores_busy": float(np.median(np.asarray(r.cpu_times) / times)) if r.cpu_times else None,
        "examples_per_s": 1.0 / per_example,
        "note": r.note,
    }

"""``python -m benchmarks.activations``: what tanh, ReLU and softmax cost against sigmoid.

One epoch of SGD on the 50,000 MNIST training images (mini-batch 10, eta 0.1,
lmbda 5.0) through ``Network.SGD`` for every hidden activation x output layer,
in float64 and float32.  The configurations take turns, repeat after repeat,
so a change in the machine's load touches them all alike; the report gives
each one's best and median time and its ratio to sigmoid's (network2's) in
the same run.  Options: ``--data PATH``, ``--repeats N`` (default 5),
``--sizes 784,30,10``, ``--quick`` (5,000 images, 2 repeats).
"""
import argparse
import random
import sys
import time

import numpy as np

from benchmarks.data import default_path, load

CONFIGURATIONS = [("sigmoid", "sigmoid"), ("tanh", "sigmoid"), ("relu", "sigmoid"),
                  ("sigmoid", "softmax"), ("relu", "softmax")]


def measure(X, y, sizes, repeats, dtypes=(np.float64, np.float32)):
    """``{(dtype name, activation, output): [seconds per epoch, ...]}``, configurations interleaved."""
    from fastnet import network2
    times = {}
    for dtype in dtypes:
        for r in range(repeats):
            for activation, output in CONFIGURATIONS:
                cost = network2.LogLikelihoodCost if output == "softmax" \
                    else network2.CrossEntropyCost
                net = network2.Network(sizes, cost, activation=activation, output=output,
                                       random_state=0)
                start = time.perf_counter()
                net.SGD((X, y), 1, 10, 0.1, 5.0, quiet=True, dtype=dtype,
                        shuffle_with=random.Random(r))
                times.setdefault((np.dtype(dtype).name, activation, output), []).append(
                    time.perf_counter() - start)
    return times


def report(times, sizes, n):
    lines = ["One epoch of {} on {:,} images, mini-batch 10; best and median of {} repeats, "
             "configurations interleaved.".format(sizes, n, len(next(iter(times.values())))),
             "", "| dtype | hidden | output | best s/epoch | median | × sigmoid (best) |",
             "|---|---|---|---:|---:|---:|"]
    for (dtype, activation, output), values in times.items():
        base = min(times[(dtype, "sigmoid", "sigmoid")])
        lines.append("| {} | {} | {} | {:.3f} | {:.3f} | {:.2f} |".format(
            dtype, activation, output, min(values), float(np.median(values)),
            min(values) / base))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.activations", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=default_path())
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--sizes", default="784,30,10")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    (X, y), _, _ = load(args.data)[0]
    n = 5000 if args.quick else len(y)
    repeats = args.repeats or (2 if args.quick else 5)
    times = measure(X[:n], y[:n], sizes, repeats)
    print(report(times, sizes, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``fastnet sweep``: train a grid of settings over several seeds, on threads or on Dask.

    fastnet sweep --eta 0.05 0.1 0.5 --lmbda 1 5 --epochs 10 --seeds 5
    fastnet sweep --sizes 784,30,10 784,30,30,10 --cluster local:2 --out depth-sweep
    fastnet sweep ... --scheduler tcp://10.0.0.5:8786      # a running Dask cluster

It writes into ``--out DIR``: ``sweep.json`` (every run: its settings, the
validation accuracy after every epoch, its seconds and where it ran),
``sweep.md`` (mean +- std over seeds for every setting) and, when matplotlib
is installed, figures.  ``sweep.json`` is rewritten as each run finishes, and
a rerun with the same ``--out`` skips the runs it already holds, so an
interrupted sweep loses at most the runs that were in flight.
"""
import argparse
import datetime
import itertools
import json
import os
import time

from fastnet.cli.common import (EPOCHS, ETA, LMBDA, MAX_EPOCHS, MAX_ETA, MINI_BATCH_SIZE, SIZES,
                                TRAINING_IMAGES, CtrlC, Failure, UsageError,
                                add_data_and_output, check_chapter_sizes, check_images,
                                check_seeds, check_training, choices, float_in, int_at_least,
                                int_in, layer_sizes, progress_bar, say_unless, where_from_args)
from fastnet.cli.outputs import output_folder, write_figures
from fastnet.files import write_atomically

HELP = "train a grid of hyperparameters over several seeds, on threads or on Dask distributed"

DESCRIPTION = """\
Train every combination of --sizes, --eta, --lmbda, --mini-batch-size, --dtype,
--activation and --init, --seeds times each, with network2's SGD and cross-entropy cost, and record the
validation accuracy after every epoch. Run k of a setting uses seed S+k (S from
--seed): its weights are those of np.random.seed(S+k); Network(sizes), and it
shuffles with random.Random(S+k), so a run gives the same numbers wherever it runs."""

EPILOG = """\
Where the runs run: by default on threads in this process, one per core (--threads N
to choose); --cluster local:N starts a Dask LocalCluster of N worker processes;
--scheduler tcp://HOST:PORT uses a running Dask cluster (start one with
'dask scheduler' and 'dask worker tcp://HOST:PORT' on each machine, with fastnet
installed). Dask is an optional extra: pip install "fastnet[dask]". The training
data is sent to each worker once.

Resuming: sweep.json in --out is rewritten as each run finishes; run the same
command again and the runs it holds are skipped (a sweep.json that is damaged or
holds runs of another grid is refused before any training, and so is a second
sweep into an --out that one is writing). Ctrl-C cancels the runs not
finished and writes what was (on a cluster reached with --scheduler, runs that
have started finish on their workers, and their results are dropped).

Data: --data PATH, else $FASTNET_DATA, the cache folder, or a download (as
'fastnet train'). Figures need matplotlib; without it they are skipped.

example: fastnet sweep --sizes 784,30,10 784,30,30,10 --eta 0.1 0.5 --epochs 5 --seeds 3"""

# ---------------------------------------------------------------------------
# Arguments

def _add_arguments(p):
    # The argument types of 'fastnet train' (fastnet.cli.common), so both commands read
    # values alike.
    names = choices()
    grid = p.add_argument_group("the grid (each takes one or more values; defaults: the book's)")
    grid.add_argument("--sizes", type=layer_sizes, nargs="+", default=[list(SIZES)],
                      metavar="N,N,...", help="networks, input layer first; each must start "
                                               "with 784 and end with 10 (default: 784,30,10)")
    grid.add_argument("--eta", type=float_in(0.0, positive=True, maximum=MAX_ETA), nargs="+",
                      default=[ETA], metavar="RATE",
                      help="learning rates, each at most 1000 (default: 0.1)")
    grid.add_argument("--lmbda", type=float_in(0.0, positive=False), nargs="+",
                      default=[LMBDA], metavar="LAMBDA",
                      help="L2 regularisation parameters; eta*lmbda/n must stay below 1, "
                           "n the training images (default: 5.0)")
    grid.add_argument("--mini-batch-size", type=int_in(1, TRAINING_IMAGES), nargs="+",
                      default=[MINI_BATCH_SIZE],
                      metavar="N", help="mini-batch sizes, each at most 50000 (default: 10)")
    grid.add_argument("--dtype", choices=("float64", "float32"), nargs="+",
                      default=["float64"], help="training precisions (default: float64)")
    grid.add_argument("--activation", choices=names["activation"], nargs="+",
                      default=["sigmoid"], help="hidden layers' activations (default: sigmoid)")
    grid.add_argument("--init", choices=names["init"], nargs="+",
                      default=["default"],
                      help="weight initialisations (default: network2's default)")
    runs = p.add_argument_group("every run")
    runs.add_argument("--epochs", type=int_in(1, MAX_EPOCHS), default=EPOCHS, metavar="N",
                      help="epochs per run (default: 30)")
    runs.add_argument("--seeds", type=int_at_least(1), default=3, metavar="K",
                      help="runs per setting, with seeds S, S+1, ..., S+K-1 (default: 3)")
    runs.add_argument("--seed", type=int_at_least(0), default=0, metavar="S",
                      help="the first seed (default: 0)")
    runs.add_argument("--limit", type=int_at_least(1), metavar="N",
                      help="train on the first N of the 50,000 training images (default: all)")
    where = p.add_argument_group("where the runs run (default: threads in this process)")
    where.add_argument("--threads", type=int_at_least(1), metavar="N",
                       help="threads in this process (default: one per core)")
    where.add_argument("--cluster", metavar="local:N",
                       help="start a Dask LocalCluster of N worker processes on this machine")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="send the runs to the Dask cluster of this scheduler")
    add_data_and_output(p, "sweep", "sweep.json, sweep.md and the figures; runs already in "
                        "its sweep.json are skipped",
                        "no progress bar or per-run lines; only the final summary line",
                        dataset=True)


def add_parser(subparsers):
    """Add ``sweep`` to argparse's subparsers; its default ``run`` runs it."""
    p = subparsers.add_parser("sweep", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    p.set_defaults(run=run)
    return p


# ---------------------------------------------------------------------------
# Running

def _check(args):
    """Every check that needs no data; the output folder, created, and where to run."""
    for sizes in args.sizes:
        check_chapter_sizes(sizes)
    check_images("--limit", args.limit)
    n = args.limit or TRAINING_IMAGES
    # train's bounds, for every run of the grid.
    for sizes, mini_batch_size, eta, lmbda in itertools.product(
            args.sizes, args.mini_batch_size, args.eta, args.lmbda):
        check_training(sizes, mini_batch_size, eta, lmbda, n)
    check_seeds(args.seed, args.seeds)
    if args.threads is not None and (args.cluster or args.scheduler):
        raise UsageError("--threads is for runs in this process; with --{} the workers' "
                         "threads are the cluster's".format(
                             "cluster" if args.cluster else "scheduler"))
    where = where_from_args(args)
    return output_folder(args.out, args.data), where


def run(args):
    """Run the sweep the parsed ``args`` ask for; return the exit code."""
    out, where = _check(args)
    from fastnet import sweep

    n_training = args.limit or TRAINING_IMAGES
    planned = sweep.grid(args.sizes, args.eta, args.lmbda, args.mini_batch_size, args.dtype,
                         epochs=args.epochs, seeds=args.seeds, first_seed=args.seed,
                         activation=args.activation, init=args.init,
                         dataset=args.dataset, training_images=n_training)
    path = os.path.join(out, "sweep.json")
    from fastnet import sweep_record
    try:
        with sweep_record.hold(out):
            return _run(args, out, where, planned, path, sweep_record)
    except sweep_record.Busy:
        raise Failure("another fastnet sweep is writing into {}; wait for it to finish or "
                      "choose another --out".format(out)) from None


def _run(args, out, where, planned, path, sweep_record):
    """The sweep, once ``out`` is held: check sweep.json, train, write."""
    from fastnet import sweep

    n_training = args.limit or TRAINING_IMAGES
    record = _load_record(path, planned, sweep_record)
    done = {sweep.run_key(r["settings"]) for r in record["runs"]}
    todo = [r for r in planned if sweep.run_key(r) not in done]
    say = say_unless(args.quiet)
    record["grid"] = {"sizes": args.sizes, "eta": args.eta, "lmbda": args.lmbda,
                      "mini_batch_size": args.mini_batch_size, "dtype": args.dtype,
                      "activation": args.activation, "init": args.init,
                      "epochs": args.epochs, "seeds": args.seeds, "seed": args.seed,
                      "dataset": args.dataset, "training_images": n_training}
    say("{} runs: {} settings x {} seeds{}".format(
        len(planned), len(planned) // args.seeds, args.seeds,
        "; {} already in {}, {} to train".format(len(planned) - len(todo), path, len(todo))
        if len(todo) < len(planned) else ""))

    start = time.perf_counter()
    with CtrlC("fastnet sweep") as ctrl_c:
        if todo:
            _train(args, todo, len(planned), record, path, where, say)
    interrupted = record["interrupted"] = ctrl_c.interrupted
    written = _write_outputs(out, record, not args.no_plots, say)
    recorded = {sweep.run_key(r["settings"]) for r in record["runs"]}
    finished = sum(sweep.run_key(r) in recorded for r in planned)
    print("{}{} of {} runs done ({:.1f} s); wrote {} to {}".format(
        "Interrupted. " if interrupted else "", finished, len(planned),
        time.perf_counter() - start, ", ".join(written), out), flush=True)
    return ctrl_c.exit_code


def _train(args, todo, total, record, path, where, say):
    """Load the data, train ``todo``, save each result as it arrives."""
    import numpy as np

    from fastnet import datasets, sweep

    try:
        (X, y), validation, _ = datasets.load_mnist(
            args.data, dataset=args.dataset, dtype=np.float32,
            progress=False if args.quiet else None)
    except (datasets.DataFormatError, datasets.DataNotFoundError) as e:
        raise Failure(str(e)) from None
    training = (X[:args.limit], y[:args.limit]) if args.limit else (X, y)

    bar = progress_bar(total, "sweep", "run", args.quiet, initial=total - len(todo),
                       leave=True)
    count = [total - len(todo)]

    def on_start(where_name):
        say("Training {} runs on {} ...".format(len(todo), where_name))

    def on_result(result):
        record["runs"].append(result)
        _save_record(path, record)
        count[0] += 1
        if bar is not None:
            bar.update(1)
        elif not args.quiet:
            print("[{}/{}] {}: {:.2f}% after {} epochs, {:.1f} s on {}".format(
                count[0], total, _label(result["settings"]),
                100 * result["validation_accuracy"][-1], len(result["validation_accuracy"]),
                result["seconds"], result["where"]["worker"]), flush=True)

    try:
        sweep.run_sweep(todo, training, validation, threads=args.threads,
                        on_result=on_result, on_start=on_start, **where)
    except OSError as e:
        if where.get("scheduler"):
            raise Failure("cannot reach the Dask scheduler at {}: {}".format(
                where["scheduler"], e)) from None
        raise
    finally:
        if bar is not None:
            bar.close()


def _label(settings, keys=("sizes", "eta", "lmbda", "mini_batch_size", "dtype", "seed")):
    parts = []
    for k in keys:
        v = settings[k]
        if k == "sizes":
            parts.append("[" + ",".join(map(str, v)) + "]")
        elif k == "dtype":
            parts.append(v)
        else:
            parts.append("{} {}".format({"mini_batch_size": "mb"}.get(k, k), _num(v)))
    # Other activations and initialisations are named; network2's go without saying.
    from fastnet.sweep import NETWORK_DEFAULTS
    parts += [settings[k] for k, default in NETWORK_DEFAULTS.items()
              if settings.get(k, default) != default]
    return " ".join(parts)


def _num(v):
    return "{:g}".format(v) if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------------
# sweep.json

def _load_record(path, planned, sweep_record):
    """The runs already recorded in ``path`` (each one checked, and each one of
    the ``planned`` runs), or a new empty record."""
    from fastnet import __version__

    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    if not os.path.exists(path):
        return {"fastnet_version": __version__, "created": now, "runs": []}
    try:
        record = sweep_record.load(path)
        sweep_record.check_runs(record, planned)
    except (OSError, ValueError) as e:
        raise Failure("{} exists but is not a sweep's record ({}); move it away or choose "
                      "another --out".format(path, e)) from None
    return record


def _save_record(path, record):
    record["updated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    text = json.dumps(record, indent=1, allow_nan=False)
    try:
        write_atomically(path, lambda f: f.write(text.encode()))
    except OSError as e:
        raise Failure("cannot write {}: {}".format(path, e.strerror or e)) from None


# ---------------------------------------------------------------------------
# The report and the figures

def varying(rows):
    """The settings that take more than one value among the summary rows."""
    keys = [k for k in rows[0]["settings"]] if rows else []
    return [k for k in keys if len({json.dumps(r["settings"].get(k)) for r in rows}) > 1]


def report(record):
    """The Markdown report: one row per setting, mean +- std over its seeds."""
    from fastnet import sweep

    rows = sweep.summary(record["runs"])
    lines = ["# fastnet sweep", ""]
    if record.get("interrupted"):
        lines += ["**Interrupted**: only the runs that finished are included.", ""]
    if not rows:
        return "\n".join(lines + ["No run has finished yet.", ""])
    vary = varying(rows)
    same = {k: v for k, v in rows[0]["settings"].items() if k not in vary}
    lines += ["{} runs. The same for every run: {}.".format(
        len(record["runs"]), ", ".join("{} {}".format(k.replace("_", " "), _value(k, v))
                                       for k, v in same.items())), "",
              "Validation accuracy after the last epoch, mean ± standard deviation over "
              "seeds (best first):", ""]
    head = [k.replace("_", " ") for k in vary] + ["seeds", "accuracy", "per seed",
                                                  "s per run"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in sorted(rows, key=lambda r: -r["mean"]):
        cells = [_value(k, row["settings"][k]) for k in vary]
        cells += [str(len(row["seeds"])), "{:.2f}% ± {:.2f}".format(row["mean"], row["std"]),
                  ", ".join("{:.2f}".format(a) for a in row["final"]),
                  "{:.1f}".format(row["seconds"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Every run, with the accuracy after each epoch and where it ran: "
                  "`sweep.json`."]
    if record.get("figures"):
        lines += ["", "Figures: " + ", ".join("`{}`".format(f) for f in record["figures"])
                  + "."]
    if record.get("figures_skipped"):
        lines += ["", "Figures " + record["figures_skipped"] + "."]
    return "\n".join(lines) + "\n"


def _value(key, v):
    if key == "sizes":
        return "[" + ",".join(map(str, v)) + "]"
    return _num(v)


def figures(record):
    """Yield ``(file name, matplotlib Figure)``: accuracy against each swept
    setting (one line per combination of the others), and against epoch."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from fastnet import sweep

    rows = sweep.summary(record["runs"])
    if not rows:
        return
    vary = varying(rows)
    for key in [k for k in vary if k in sweep.SWEPT]:
        values = []
        for r in rows:
            if r["settings"][key] not in values:
                values.append(r["settings"][key])
        if key in ("eta", "lmbda", "mini_batch_size"):
            values.sort()
        elif key == "sizes":                 # shallow to deep, narrow to wide
            values.sort(key=lambda v: (len(v), v))
        others = [k for k in vary if k != key]
        lines = {}
        for r in rows:
            label = ", ".join("{} {}".format(k.replace("_", " "), _value(k, r["settings"][k]))
                              for k in others)
            lines.setdefault(label, []).append(r)
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.subplots()
        for label, members in lines.items():
            members.sort(key=lambda r: values.index(r["settings"][key]))
            ax.errorbar([values.index(r["settings"][key]) for r in members],
                        [r["mean"] for r in members], yerr=[r["std"] for r in members],
                        fmt="o-", capsize=4, label=label or None)
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels([_value(key, v) for v in values])
        ax.set_xlabel(key.replace("_", " "))
        ax.set_ylabel("validation accuracy after the last epoch (%)")
        ax.set_title("Accuracy against {} (mean ± std over seeds)".format(
            key.replace("_", " ")))
        if 1 < len(lines) <= 12:
            ax.legend(fontsize="x-small")
        yield "accuracy_vs_{}.png".format(key), fig
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for r in rows:
        epochs = list(range(1, len(r["curve_mean"]) + 1))
        label = ", ".join("{} {}".format(k.replace("_", " "), _value(k, r["settings"][k]))
                          for k in vary) or None
        mean, std = r["curve_mean"], r["curve_std"]
        (line,) = ax.plot(epochs, mean, label=label)
        ax.fill_between(epochs, [m - s for m, s in zip(mean, std)],
                        [m + s for m, s in zip(mean, std)], color=line.get_color(), alpha=0.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("Accuracy against epoch (mean, band: ± std over seeds)")
    if 1 < len(rows) <= 12:
        ax.legend(fontsize="x-small")
    yield "accuracy_vs_epoch.png", fig


def _write_outputs(out, record, plots, say):
    """Figures (if asked and possible), sweep.json and sweep.md; return the names."""
    try:
        write_figures(out, record, plots, figures, say)
    except OSError as e:
        raise Failure("cannot write the figures into {}: {}".format(
            out, e.strerror or e)) from None
    _save_record(os.path.join(out, "sweep.json"), record)
    text = report(record)
    try:
        write_atomically(os.path.join(out, "sweep.md"), lambda f: f.write(text.encode()))
    except OSError as e:
        raise Failure("cannot write into {}: {}".format(out, e.strerror or e)) from None
    return ["sweep.json", "sweep.md"] + record["figures"]


"""``fastnet speed``: the vanishing-gradient experiments of the book's chapter 5, in one command.

    python -m fastnet speed                 # the whole chapter, about two minutes on 2 cores
    python -m fastnet speed --no-table      # everything but the depth table, a few seconds
    python -m fastnet speed --quick --out /tmp/speed    # a smoke run of a few seconds
    python -m fastnet.speed_cli ...         # the same command on its own

It writes into ``--out DIR``: ``speed.json`` (every number), ``report.md`` (a
short report) and, when matplotlib is installed, PNG figures.  The
experiments are the functions of ``fastnet.speed``.

Exit codes: 0 done, 1 the data could not be loaded or the output not written,
2 bad arguments, 130 stopped by Ctrl-C (what was finished is still written).
"""
import argparse
import os
import sys
import time

from fastnet._cli_common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Failure,
                                 UsageError, int_in, one_line, output_folder,
                                 write_results)

HELP = "reproduce chapter 5's vanishing-gradient experiments (learning speed per layer)"

DESCRIPTION = """\
Reproduce the experiments of chapter 5 of Nielsen's book, with spreads over seeds:
  1. initial learning speed ||delta^l|| of every hidden layer of [784,30,30,10],
     [784,30,30,30,10] and [784,30,30,30,30,10] on the first 1,000 training
     images, mean +- std over --speed-seeds seeds, beside the book's values;
  2. the per-neuron view: average dC/db of the first six neurons of each hidden layer;
  3. learning speed during 500 epochs of training on those 1,000 images
     (mini-batch 1000, eta 0.1, lmbda 5.0), one log-scale figure per depth;
  4. the unstable-gradient view: the factors |w sigma'(z)| along the chain back
     to the first hidden layer, and their product, before and after training;
  5. the depth table: 1 to 4 hidden layers trained 30 epochs on 50,000 images
     (mini-batch 10, eta 0.1, lmbda 5.0), validation accuracy mean +- std over
     --seeds seeds, the seeds running in parallel threads."""

EPILOG = """\
Seeds: run k uses seed S+k (S from --seed); its weights are those of
np.random.seed(S+k); Network(sizes), and it shuffles with random.Random(S+k).

Data: --data PATH, else $FASTNET_DATA, the cache folder, or a download (as
'fastnet train').  Figures need matplotlib (pip install matplotlib); without it
they are skipped and the command says so.  --quick shrinks every experiment to
a smoke run of a few seconds."""

# Settings: the chapter's, and --quick's smoke-run sizes.  An option given on
# the command line wins over both.
FULL = {"speed_seeds": 20, "seeds": 5, "epochs": 500, "speed_images": 1000,
        "table_epochs": 30, "table_images": 50000, "validation_images": 10000,
        "table_depths": (1, 2, 3, 4)}
QUICK = {"speed_seeds": 3, "seeds": 2, "epochs": 20, "speed_images": 200,
         "table_epochs": 1, "table_images": 1000, "validation_images": 1000,
         "table_depths": (1, 2)}
SPEED_DEPTHS = (2, 3, 4)
ETA, LMBDA, WIDTH = 0.1, 5.0, 30
SPEED_MINI_BATCH, TABLE_MINI_BATCH = 1000, 10
NEURONS_SHOWN = 6
# Bounds of the counts (the seeds' range is NumPy's), so that a typo cannot
# ask for a year of work or terabytes of results.
LIMITS = {"seeds": 1000, "speed_seeds": 10000, "epochs": 1000000, "table_epochs": 10000,
          "images": 50000, "workers": 64, "seed": 2 ** 32 - 1}


# ---------------------------------------------------------------------------
# Arguments

def _add_arguments(p):
    what = p.add_argument_group("experiments (defaults: the chapter's; --quick: a smoke run)")
    what.add_argument("--quick", action="store_true",
                      help="tiny versions of every experiment, for tests: a few seconds")
    what.add_argument("--seeds", type=int_in(1, LIMITS["seeds"]), metavar="N",
                      help="seeds per depth in the depth table (default: 5; quick: 2)")
    what.add_argument("--speed-seeds", type=int_in(1, LIMITS["speed_seeds"]), metavar="N",
                      help="seeds for the initial learning speeds; each costs milliseconds "
                           "(default: 20; quick: 3)")
    what.add_argument("--seed", type=int_in(0, LIMITS["seed"]), default=0, metavar="S",
                      help="first seed: runs use S, S+1, ...; the training runs and the "
                           "per-neuron view use S (default: 0)")
    what.add_argument("--epochs", type=int_in(0, LIMITS["epochs"]), metavar="N",
                      help="epochs of the learning-speed-during-training runs "
                           "(default: 500; quick: 20)")
    what.add_argument("--speed-images", type=int_in(1, LIMITS["images"]), metavar="N",
                      help="the first N training images measure and train the learning "
                           "speeds (default: 1000; quick: 200)")
    what.add_argument("--table-epochs", type=int_in(1, LIMITS["table_epochs"]), metavar="N",
                      help="epochs per depth-table run (default: 30; quick: 1)")
    what.add_argument("--table-images", type=int_in(1, LIMITS["images"]), metavar="N",
                      help="train the depth table on the first N of the 50,000 training "
                           "images (default: 50000; quick: 1000)")
    what.add_argument("--activation", choices=("sigmoid", "tanh", "relu"), default="sigmoid",
                      help="the hidden layers' activation (default: sigmoid, the chapter's)")
    what.add_argument("--init", choices=("default", "large", "glorot", "he"), default="default",
                      help="the initial weights (default: network2's N(0, 1/n_in); see "
                           "fastnet.activations)")
    what.add_argument("--no-table", action="store_true",
                      help="skip the depth table (the only slow part)")
    what.add_argument("--workers", type=int_in(1, LIMITS["workers"]), metavar="N",
                      help="threads: the depth table runs this many seeds side by side, "
                           "and the training runs share their work among them (default: 2, "
                           "or 1 on a one-core machine)")
    what.add_argument("--cluster", metavar="local:N",
                      help="run the depth table on a Dask LocalCluster of N worker processes "
                           "(pip install \"fastnet[dask]\")")
    what.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                      help="run the depth table on the Dask cluster of this scheduler")
    io = p.add_argument_group("data and output")
    io.add_argument("--data", metavar="PATH",
                    help="a folder with the four MNIST IDX files or mnist.pkl.gz, or the "
                         "pickle itself (default: search as 'fastnet train' does)")
    io.add_argument("--out", metavar="DIR", default="speed-report",
                    help="folder for speed.json, report.md and the figures; created if "
                         "missing (default: ./speed-report)")
    io.add_argument("--no-plots", action="store_true", help="write no figures")
    io.add_argument("--quiet", action="store_true",
                    help="no progress bars and only the final summary line")


def add_parser(subparsers):
    """Register ``speed`` on an argparse subparsers object; its defaults run ``run``.

    Sets both ``func`` and ``run`` to ``run`` (whichever the main dispatches on).
    """
    p = subparsers.add_parser("speed", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    p.set_defaults(func=run, run=run)
    return p


def main(argv=None):
    """``python -m fastnet.speed_cli``: the same as ``fastnet speed`` (fastnet.cli parses the
    arguments and turns errors and Ctrl-C into exit codes, one line each)."""
    from fastnet.cli import main as fastnet_main      # here: fastnet.cli imports this module
    return fastnet_main(["speed"] + list(sys.argv[1:] if argv is None else argv))


# ---------------------------------------------------------------------------
# Running

def _settings(args):
    """The resolved settings: the command line over --quick's or the chapter's defaults."""
    base = QUICK if args.quick else FULL
    s = dict(base)
    for key in ("speed_seeds", "seeds", "epochs", "speed_images", "table_epochs",
                "table_images"):
        value = getattr(args, key, None)
        if value is not None:
            s[key] = value
    s["seed"] = args.seed
    s["activation"] = getattr(args, "activation", "sigmoid")
    s["init"] = getattr(args, "init", "default")
    s["quick"] = bool(args.quick)
    s["table"] = not args.no_table
    s["plots"] = not args.no_plots
    s["workers"] = args.workers if args.workers is not None else min(2, os.cpu_count() or 1)
    s["table_depths"] = list(s["table_depths"])
    s["speed_depths"] = list(SPEED_DEPTHS)
    s.update(eta=ETA, lmbda=LMBDA, width=WIDTH, speed_mini_batch_size=SPEED_MINI_BATCH,
             table_mini_batch_size=TABLE_MINI_BATCH)
    if s["table_images"] > 50000:
        raise UsageError("--table-images can be at most 50000 (the training images), got {}"
                         .format(s["table_images"]))
    if s["speed_images"] > 50000:
        raise UsageError("--speed-images can be at most 50000 (the training images), got {}"
                         .format(s["speed_images"]))
    if s["seed"] + max(s["seeds"], s["speed_seeds"]) > 2 ** 32:
        raise UsageError("--seed is too large: seeds must stay below 2**32")
    from fastnet.sweep_cli import where_from_args
    s["table_where"] = where_from_args(args)      # {} (threads), {"cluster": N} or {"scheduler": ...}
    return s


def run(args):
    """Run the experiments the parsed ``args`` ask for; return the exit code."""
    prog = "fastnet speed"
    try:
        return _run(args)
    except UsageError as e:
        print("{}: error: {}".format(prog, one_line(e)), file=sys.stderr)
        return EXIT_USAGE
    except Failure as e:
        print("{}: error: {}".format(prog, one_line(e)), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:      # a second Ctrl-C, while the results are being written
        print("{}: interrupted".format(prog), file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args):
    settings = _settings(args)
    out = output_folder(args.out, args.data)

    quiet = args.quiet
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    bars = not quiet and sys.stderr.isatty()

    import threading

    from fastnet import speed, threads

    settings["blas_threads"] = threads.BLAS_THREADS
    results = {"settings": settings, "book": _book_json(speed.BOOK), "timings": {},
               "interrupted": False}
    stop = threading.Event()
    interrupted = False
    try:
        with threads.kernel_threads():   # one limit for all the experiments' threads
            _experiments(args, settings, results, stop, say, bars)
    except (KeyboardInterrupt, speed.Stopped):
        stop.set()
        interrupted = True
        results["interrupted"] = True
        print("\nfastnet speed: interrupted; writing what was finished", file=sys.stderr)

    written = write_results(out, results, settings["plots"], "speed.json", _report, _figures,
                            say)
    print("{}Wrote {} to {}".format("Interrupted. " if interrupted else "",
                                    ", ".join(written), out), flush=True)
    return EXIT_INTERRUPTED if interrupted else EXIT_OK



def _experiments(args, settings, results, stop, say, bars):
    """Run the experiments in order, filling ``results`` as each one finishes."""
    import numpy as np

    from fastnet import datasets, speed

    timings = results["timings"]
    start = time.perf_counter()
    try:
        (X_train, y_train), (X_val, y_val), _ = datasets.load_mnist(
            args.data, dtype=np.float64, progress=None if not args.quiet else False)
    except (datasets.DataFormatError, datasets.DataNotFoundError) as e:
        raise Failure(str(e)) from None
    timings["load_data"] = time.perf_counter() - start
    n_speed = settings["speed_images"]
    speed_data = (X_train[:n_speed], y_train[:n_speed])

    # 1, 2. Initial speeds over seeds, and the per-neuron view.
    seeds = list(range(settings["seed"], settings["seed"] + settings["speed_seeds"]))
    say("Initial learning speeds of {} hidden layers on the first {} training images, "
        "{} seeds ...".format(", ".join(map(str, SPEED_DEPTHS)), n_speed, len(seeds)))
    start = time.perf_counter()
    choice = dict(activation=settings["activation"], init=settings["init"])
    initial = speed.initial_speeds(speed_data, SPEED_DEPTHS, seeds, WIDTH, **choice)
    timings["initial_speeds"] = time.perf_counter() - start
    results["initial_speeds"] = _initial_json(initial, speed.compare_with_book(initial))
    results["neuron_speeds"] = {
        str(d): {"sizes": initial[d]["sizes"], "seed": settings["seed"],
                 "neurons": [layer[:NEURONS_SHOWN]
                             for layer in initial[d]["per_seed"][0]["neurons"]]}
        for d in SPEED_DEPTHS}
    say(_initial_text(results["initial_speeds"]))

    # 3, 4. Speeds during training; the unstable-gradient view before and after.
    epochs = settings["epochs"]
    say("Learning speed during {} epochs of training (mini-batch {}, eta {}, lmbda {}) "
        "...".format(epochs, SPEED_MINI_BATCH, ETA, LMBDA))
    bar = _bar(len(SPEED_DEPTHS) * epochs, "training", "epoch", bars)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        trained = speed.speeds_during_training(
            speed_data, SPEED_DEPTHS, settings["seed"], epochs, SPEED_MINI_BATCH, ETA, LMBDA,
            WIDTH, threads=settings["workers"], progress=bar.update if bar else None,
            stop=stop, **choice)
    finally:
        if bar:
            bar.close()
    timings["speeds_during_training"] = time.perf_counter() - start
    timings["speeds_during_training_cpu"] = time.process_time() - cpu_start
    timings["training_runs_only"] = sum(r["seconds"] for r in trained.values())
    results["speed_during_training"] = {
        str(d): {"sizes": r["sizes"], "seed": r["seed"], "epochs": r["epochs"],
                 "seconds": r["seconds"], "cpu_seconds": r["cpu_seconds"],
                 "speeds": r["speeds"].tolist()}
        for d, r in trained.items()}
    results["unstable_gradient"] = {str(d): r["unstable_gradient"]
                                    for d, r in trained.items()}
    say("  {} runs of {} epochs with per-epoch speeds: {:.2f} s together ({:.2f} s of CPU "
        "time)".format(len(trained), epochs, timings["training_runs_only"],
                       timings["speeds_during_training_cpu"]))
    say(_training_text(results))

    # 5. The depth table.
    if settings["table"]:
        n_table = settings["table_images"]
        n_val = settings["validation_images"]
        table_seeds = list(range(settings["seed"], settings["seed"] + settings["seeds"]))
        depths = settings["table_depths"]
        where = settings["table_where"]
        on = ("a Dask LocalCluster of {} worker process{}".format(
                  where["cluster"], "" if where["cluster"] == 1 else "es")
              if "cluster" in where else
              "the Dask scheduler at {}".format(where["scheduler"]) if "scheduler" in where
              else "{} thread{}".format(settings["workers"],
                                        "" if settings["workers"] == 1 else "s"))
        say("Depth table: {} hidden layers, {} epochs on {} images, {} seeds, on {} ...".format(
            ", ".join(map(str, depths)), settings["table_epochs"], n_table, len(table_seeds),
            on))
        per_epoch = -(-n_table // TABLE_MINI_BATCH)
        bar = _bar(len(depths) * len(table_seeds) * settings["table_epochs"] * per_epoch,
                   "depth table", "batch", bars)
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            table = speed.depth_table((X_train[:n_table], y_train[:n_table]),
                                      (X_val[:n_val], y_val[:n_val]), depths, table_seeds,
                                      settings["table_epochs"], TABLE_MINI_BATCH, ETA, LMBDA,
                                      WIDTH, settings["workers"],
                                      progress=bar.update if bar else None, stop=stop,
                                      **settings["table_where"], **choice)
        except OSError as e:
            if "scheduler" not in where:
                raise
            raise Failure("cannot reach the Dask scheduler at {}: {}".format(
                where["scheduler"], e)) from None
        finally:
            if bar:
                bar.close()
        timings["depth_table"] = time.perf_counter() - start
        timings["depth_table_cpu"] = time.process_time() - cpu_start
        results["depth_table"] = {str(d): row for d, row in table.items()}
        say(_table_text(results))
        say("  {} runs in {:.1f} s ({:.1f} s of CPU time)".format(
            len(depths) * len(table_seeds), timings["depth_table"],
            timings["depth_table_cpu"]))


def _bar(total, description, unit, enabled):
    """A tqdm bar on stderr, or None (tqdm not installed, or not a terminal)."""
    if not enabled or total <= 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, unit=unit, leave=False, file=sys.stderr)


# ---------------------------------------------------------------------------
# Results as JSON and text

def _book_json(book):
    return {"initial_speeds": {str(d): v for d, v in book["initial_speeds"].items()},
            "depth_accuracy": {str(d): v for d, v in book["depth_accuracy"].items()}}


def _initial_json(initial, comparison):
    out = {}
    for d, s in initial.items():
        entry = dict(s)
        entry["book"] = comparison.get(d)
        out[str(d)] = entry
    return out


def _fmt(x):
    return "{:.3g}".format(x)


def _initial_text(initial):
    lines = ["  hidden layers | learning speed per hidden layer, first to last: mean +- std "
             "[book]"]
    for d, s in initial.items():
        cells = []
        for l, (m, sd) in enumerate(zip(s["mean"], s["std"])):
            book = s["book"][l]["book"] if s["book"] else None
            cells.append("{} +- {}{}".format(_fmt(m), _fmt(sd),
                                             "" if book is None else " [{}]".format(book)))
        ratio = s["ratio"]
        lines.append("  {:>13} | {}; last/first {} +- {}".format(
            d, ", ".join(cells), _fmt(ratio["mean"]), _fmt(ratio["std"])))
    return "\n".join(lines)


def _training_text(results):
    lines = []
    for d, r in results["speed_during_training"].items():
        first, last = r["speeds"][0], r["speeds"][-1]
        product = results["unstable_gradient"][d]
        lines.append("  {} hidden: speeds {} -> {} after {} epochs; chain gain to layer 1: "
                     "{} -> {}".format(d, "/".join(map(_fmt, first)), "/".join(map(_fmt, last)),
                                       r["epochs"],
                                       _fmt(product["initial"]["products"]["gain"]),
                                       _fmt(product["trained"]["products"]["gain"])))
    return "\n".join(lines)


def _table_text(results):
    book = results["book"]["depth_accuracy"]
    lines = ["  hidden layers | validation accuracy, mean +- std over seeds [book]"]
    for d, row in results["depth_table"].items():
        lines.append("  {:>13} | {:.2f}% +- {:.2f}{}".format(
            d, row["mean"], row["std"], " [{}%]".format(book[d]) if d in book else ""))
    return "\n".join(lines)


def _report(results):
    """A short Markdown report of every experiment that finished."""
    s = results["settings"]
    lines = ["# Why deep networks are hard to train: learning speed per layer", "",
             "fastnet's reproduction of chapter 5 of Nielsen's *Neural Networks and Deep "
             "Learning*{}.".format(" (**--quick smoke run: tiny sizes, not the chapter's**)"
                                  if s["quick"] else ""), ""]
    if (s.get("activation", "sigmoid"), s.get("init", "default")) != ("sigmoid", "default"):
        lines += ["Hidden layers: **{}**, initial weights: **{}** (not the chapter's sigmoid "
                  "and N(0, 1/n_in); the book's numbers are for those).".format(
                      s["activation"], s["init"]), ""]
    if results.get("interrupted"):
        lines += ["**Interrupted: only the finished experiments are below.**", ""]
    if "initial_speeds" in results:
        lines += ["## Initial learning speed ||delta^l|| per hidden layer", "",
                  "On the first {} training images; mean ± std over {} seeds (from {}); the "
                  "book's single run in brackets.".format(s["speed_images"], s["speed_seeds"],
                                                          s["seed"]), "",
                  "| hidden layers | layer 1 | layer 2 | layer 3 | layer 4 | last / first |",
                  "|---|---|---|---|---|---|"]
        for d, e in results["initial_speeds"].items():
            cells = []
            for l in range(4):
                if l < len(e["mean"]):
                    book = e["book"][l]["book"] if e["book"] else None
                    cells.append("{} ± {}{}".format(_fmt(e["mean"][l]), _fmt(e["std"][l]),
                                                    "" if book is None else
                                                    " [{}]".format(book)))
                else:
                    cells.append("")
            lines.append("| {} | {} | {} ± {} |".format(
                d, " | ".join(cells), _fmt(e["ratio"]["mean"]), _fmt(e["ratio"]["std"])))
        outside = [(d, r["layer"], r["z"]) for d, e in results["initial_speeds"].items()
                   for r in (e["book"] or []) if not r["within_1_std"]]
        lines += ["", "Book values outside mean ± 1 std: {}.".format(
            ", ".join("{} hidden layers, layer {} ({:+.1f} std)".format(*o) for o in outside)
            if outside else "none"), ""]
    if "speed_during_training" in results:
        lines += ["## Learning speed during training", "",
                  "{} epochs on those images, mini-batch {}, eta {}, lmbda {}, seed {}; speeds "
                  "before training and after the last epoch (figures: "
                  "`training_speed_depth*.png`).".format(s["epochs"], s["speed_mini_batch_size"],
                                                         s["eta"], s["lmbda"], s["seed"]), "",
                  "| hidden layers | before | after | seconds |", "|---|---|---|---|"]
        for d, r in results["speed_during_training"].items():
            lines.append("| {} | {} | {} | {:.2f} |".format(
                d, ", ".join(map(_fmt, r["speeds"][0])), ", ".join(map(_fmt, r["speeds"][-1])),
                r["seconds"]))
        lines += ["", "## The unstable gradient", "",
                  "Backpropagation reaches the first hidden layer through one factor per later "
                  "layer. `|w σ'(z)|`: the book's factor, averaged over examples and "
                  "connections; gain: how much each step scales the error vector (geometric "
                  "mean over examples). The product of the gains is how much smaller the first "
                  "hidden layer's error is than the output's.", "",
                  "| hidden layers | when | per step, last layer first: \\|w σ'(z)\\| / gain | "
                  "product of gains |", "|---|---|---|---|"]
        for d, views in results["unstable_gradient"].items():
            for when in ("initial", "trained"):
                v = views[when]
                steps = ", ".join("{}/{}".format(_fmt(st["mean_abs_w_sigma_prime"]),
                                                 _fmt(st["gain"])) for st in v["steps"])
                lines.append("| {} | {} | {} | {} |".format(d, when, steps,
                                                           _fmt(v["products"]["gain"])))
        lines.append("")
    if "depth_table" in results:
        book = results["book"]["depth_accuracy"]
        lines += ["## Depth table", "",
                  "{} epochs on the first {} training images, mini-batch {}, eta {}, lmbda {}; "
                  "accuracy on {} validation images, mean ± std over {} seeds.".format(
                      s["table_epochs"], s["table_images"], s["table_mini_batch_size"], s["eta"],
                      s["lmbda"], s["validation_images"], s["seeds"]), "",
                  "| hidden layers | accuracy | per seed | book |", "|---|---|---|---|"]
        for d, row in results["depth_table"].items():
            lines.append("| {} | {:.2f}% ± {:.2f} | {} | {} |".format(
                d, row["mean"], row["std"], ", ".join("{:.2f}".format(a) for a in row["accuracy"]),
                "{}%".format(book[d]) if d in book else ""))
        lines.append("")
    if results["timings"]:
        lines += ["## Timings (seconds)", ""]
        lines += ["- {}: {:.2f}".format(k.replace("_", " "), v)
                  for k, v in results["timings"].items()]
        lines.append("")
    lines += ["All numbers: `speed.json`."]
    if results.get("figures_skipped"):
        lines += ["", "Figures: {}.".format(results["figures_skipped"])]
    return "\n".join(lines) + "\n"


def _figures(results):
    """Yield ``(file name, matplotlib Figure)`` for every finished experiment."""
    from matplotlib.figure import Figure

    book = results["book"]
    if "initial_speeds" in results:
        initial = results["initial_speeds"]
        fig = Figure(figsize=(9, 4), layout="constrained")
        axes = fig.subplots(1, len(initial), sharey=True, squeeze=False)[0]
        for ax, (d, e) in zip(axes, initial.items()):
            layers = list(range(1, len(e["mean"]) + 1))
            ax.bar(layers, e["mean"], yerr=e["std"], capsize=4, color="tab:blue", alpha=0.7,
                   label="fastnet, mean ± std")
            if d in book["initial_speeds"]:
                ax.plot(layers, book["initial_speeds"][d], "o", color="tab:red",
                        label="book")
            ax.set_yscale("log")
            ax.set_xticks(layers)
            ax.set_xlabel("hidden layer")
            ax.set_title("{} hidden layers".format(d))
        axes[0].set_ylabel("initial learning speed ||δˡ||")
        axes[0].legend(fontsize="small")
        fig.suptitle("Initial learning speed per hidden layer ({} seeds)".format(
            results["settings"]["speed_seeds"]))
        yield "initial_speeds.png", fig
    if "neuron_speeds" in results:
        views = results["neuron_speeds"]
        fig = Figure(figsize=(9, 2.2 * len(views)), layout="constrained")
        axes = fig.subplots(len(views), 1, squeeze=False)[:, 0]
        for ax, (d, v) in zip(axes, views.items()):
            x0 = 0
            for l, values in enumerate(v["neurons"]):
                xs = list(range(x0, x0 + len(values)))
                ax.bar(xs, values, color="C{}".format(l), label="layer {}".format(l + 1))
                x0 += len(values) + 2
            ax.axhline(0, color="black", linewidth=0.5)
            ax.set_xticks([])
            ax.set_ylabel("mean dC/db")
            ax.set_title("{}: first {} neurons of each hidden layer (seed {})".format(
                v["sizes"], NEURONS_SHOWN, v["seed"]), fontsize="medium")
            ax.legend(fontsize="x-small", ncol=len(v["neurons"]))
        yield "neuron_speeds.png", fig
    for d, r in results.get("speed_during_training", {}).items():
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.subplots()
        speeds = list(zip(*r["speeds"]))
        for l, series in enumerate(speeds):
            ax.plot(range(len(series)), series, label="hidden layer {}".format(l + 1))
        ax.set_yscale("log")
        ax.set_xlabel("epochs of training")
        ax.set_ylabel("learning speed ||δˡ||")
        ax.set_title("{}: learning speed during training".format(r["sizes"]))
        ax.legend()
        yield "training_speed_depth{}.png".format(d), fig
    if "unstable_gradient" in results:
        views = results["unstable_gradient"]
        fig = Figure(figsize=(9, 4), layout="constrained")
        axes = fig.subplots(1, len(views), sharey=True, squeeze=False)[0]
        for ax, (d, v) in zip(axes, views.items()):
            for k, when in enumerate(("initial", "trained")):
                steps = v[when]["steps"]
                xs = [i + 0.4 * k for i in range(len(steps))]
                ax.bar(xs, [st["gain"] for st in steps], width=0.4,
                       label="{} (product {})".format(when, _fmt(v[when]["products"]["gain"])))
            ax.set_xticks([i + 0.2 for i in range(len(v["initial"]["steps"]))])
            ax.set_xticklabels(["{}→{}".format(st["from_layer"], st["to_layer"])
                                for st in v["initial"]["steps"]])
            ax.axhline(1.0, color="black", linewidth=0.5)
            ax.set_yscale("log")
            ax.set_xlabel("backprop step (layer → layer)")
            ax.set_title("{} hidden layers".format(d))
            ax.legend(fontsize="x-small")
        axes[0].set_ylabel("gain ||δˡ|| / ||δˡ⁺¹||")
        fig.suptitle("The unstable gradient: how each step back scales the error")
        yield "unstable_gradient.png", fig
    if "depth_table" in results:
        table = results["depth_table"]
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
        depths = [int(d) for d in table]
        ax.errorbar(depths, [row["mean"] for row in table.values()],
                    yerr=[row["std"] for row in table.values()], fmt="s", capsize=5,
                    label="fastnet, mean ± std")
        for d, row in table.items():
            ax.plot([int(d)] * len(row["accuracy"]), row["accuracy"], ".", color="gray")
        known = [int(d) for d in table if d in book["depth_accuracy"]]
        ax.plot(known, [book["depth_accuracy"][str(d)] for d in known], "o", color="tab:red",
                label="book")
        ax.set_xticks(depths)
        ax.set_xlabel("hidden layers")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title("More depth does not help plain SGD")
        ax.legend()
        yield "depth_table.png", fig


if __name__ == "__main__":
    sys.exit(main())

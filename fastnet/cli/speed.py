"""``fastnet speed``: the vanishing-gradient experiments of the book's chapter 5, in one command.

    fastnet speed                   # the whole chapter, about two minutes on 2 cores
    fastnet speed --no-table        # everything but the depth table, a few seconds
    fastnet speed --quick --out /tmp/speed      # a smoke run of a few seconds

It writes into ``--out DIR``: ``speed.json`` (every number), ``report.md`` (a
short report) and, when matplotlib is installed, PNG figures
(``fastnet.cli.speed_report``).  The experiments are the functions of
``fastnet.speed``.  Ctrl-C writes the experiments that finished.
"""
import argparse
import os
import time

from fastnet.cli import speed_report
from fastnet.cli.common import (ETA, LMBDA, MAX_EPOCHS, MAX_SEEDS, MAX_SPEED_SEEDS,
                                MAX_TABLE_EPOCHS, MAX_WORKERS, MINI_BATCH_SIZE,
                                SPEED_MINI_BATCH_SIZE, TRAINING_IMAGES, WIDTH, CtrlC, Failure,
                                add_data_and_output, check_seeds, choices, int_in,
                                progress_bar, say_unless, seed_type, where_from_args)
from fastnet.cli.outputs import output_folder, write_results

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


# ---------------------------------------------------------------------------
# Arguments

def _add_arguments(p):
    what = p.add_argument_group("experiments (defaults: the chapter's; --quick: a smoke run)")
    what.add_argument("--quick", action="store_true",
                      help="tiny versions of every experiment, for tests: a few seconds")
    what.add_argument("--seeds", type=int_in(1, MAX_SEEDS), metavar="N",
                      help="seeds per depth in the depth table (default: 5; quick: 2)")
    what.add_argument("--speed-seeds", type=int_in(1, MAX_SPEED_SEEDS), metavar="N",
                      help="seeds for the initial learning speeds; each costs milliseconds "
                           "(default: 20; quick: 3)")
    what.add_argument("--seed", type=seed_type(), default=0, metavar="S",
                      help="first seed: runs use S, S+1, ...; the training runs and the "
                           "per-neuron view use S (default: 0)")
    what.add_argument("--epochs", type=int_in(0, MAX_EPOCHS), metavar="N",
                      help="epochs of the learning-speed-during-training runs "
                           "(default: 500; quick: 20)")
    what.add_argument("--speed-images", type=int_in(1, TRAINING_IMAGES), metavar="N",
                      help="the first N training images measure and train the learning "
                           "speeds (default: 1000; quick: 200)")
    what.add_argument("--table-epochs", type=int_in(1, MAX_TABLE_EPOCHS), metavar="N",
                      help="epochs per depth-table run (default: 30; quick: 1)")
    what.add_argument("--table-images", type=int_in(1, TRAINING_IMAGES), metavar="N",
                      help="train the depth table on the first N of the 50,000 training "
                           "images (default: 50000; quick: 1000)")
    names = choices()
    what.add_argument("--activation", choices=names["activation"], default="sigmoid",
                      help="the hidden layers' activation (default: sigmoid, the chapter's)")
    what.add_argument("--init", choices=names["init"], default="default",
                      help="the initial weights (default: network2's N(0, 1/n_in); see "
                           "fastnet.activations)")
    what.add_argument("--no-table", action="store_true",
                      help="skip the depth table (the only slow part)")
    what.add_argument("--workers", type=int_in(1, MAX_WORKERS), metavar="N",
                      help="threads: the depth table runs this many seeds side by side, "
                           "and the training runs share their work among them (default: 2, "
                           "or 1 on a one-core machine)")
    what.add_argument("--cluster", metavar="local:N",
                      help="run the depth table on a Dask LocalCluster of N worker processes "
                           "(pip install \"fastnet[dask]\")")
    what.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                      help="run the depth table on the Dask cluster of this scheduler")
    add_data_and_output(p, "speed-report", "speed.json, report.md and the figures",
                        "no progress bars and only the final summary line")


def add_parser(subparsers):
    """Add ``speed`` to argparse's subparsers; its default ``run`` runs it."""
    p = subparsers.add_parser("speed", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    p.set_defaults(run=run)
    return p


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
    s.update(eta=ETA, lmbda=LMBDA, width=WIDTH, speed_mini_batch_size=SPEED_MINI_BATCH_SIZE,
             table_mini_batch_size=MINI_BATCH_SIZE)
    check_seeds(s["seed"], max(s["seeds"], s["speed_seeds"]))
    s["table_where"] = where_from_args(args)   # {} (threads), {"cluster": N} or {"scheduler": .}
    return s


def run(args):
    """Run the experiments the parsed ``args`` ask for; return the exit code."""
    settings = _settings(args)
    out = output_folder(args.out, args.data)
    say = say_unless(args.quiet)

    from fastnet import speed, threads

    settings["blas_threads"] = threads.BLAS_THREADS
    results = {"settings": settings, "book": speed_report.book_json(speed.BOOK), "timings": {},
               "interrupted": False}
    with CtrlC("fastnet speed", stopped=speed.Stopped) as ctrl_c:
        with threads.kernel_threads():   # one limit for all the experiments' threads
            _experiments(args, settings, results, ctrl_c.stop, say)
    results["interrupted"] = ctrl_c.interrupted

    written = write_results(out, results, settings["plots"], "speed.json", speed_report.report,
                            speed_report.figures, say)
    print("{}Wrote {} to {}".format("Interrupted. " if ctrl_c.interrupted else "",
                                    ", ".join(written), out), flush=True)
    return ctrl_c.exit_code


def _experiments(args, settings, results, stop, say):
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
    results["initial_speeds"] = speed_report.initial_json(initial, speed.compare_with_book(initial))
    results["neuron_speeds"] = {
        str(d): {"sizes": initial[d]["sizes"], "seed": settings["seed"],
                 "neurons": [layer[:speed_report.NEURONS_SHOWN]
                             for layer in initial[d]["per_seed"][0]["neurons"]]}
        for d in SPEED_DEPTHS}
    say(speed_report.initial_text(results["initial_speeds"]))

    # 3, 4. Speeds during training; the unstable-gradient view before and after.
    epochs = settings["epochs"]
    say("Learning speed during {} epochs of training (mini-batch {}, eta {}, lmbda {}) "
        "...".format(epochs, SPEED_MINI_BATCH_SIZE, ETA, LMBDA))
    bar = progress_bar(len(SPEED_DEPTHS) * epochs, "training", "epoch", args.quiet)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        trained = speed.speeds_during_training(
            speed_data, SPEED_DEPTHS, settings["seed"], epochs, SPEED_MINI_BATCH_SIZE, ETA, LMBDA,
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
    say(speed_report.training_text(results))

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
        per_epoch = -(-n_table // MINI_BATCH_SIZE)
        runs = len(depths) * len(table_seeds)
        bar = progress_bar(runs * settings["table_epochs"] * per_epoch, "depth table", "batch",
                           args.quiet)
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            table = speed.depth_table((X_train[:n_table], y_train[:n_table]),
                                      (X_val[:n_val], y_val[:n_val]), depths, table_seeds,
                                      settings["table_epochs"], MINI_BATCH_SIZE, ETA, LMBDA,
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
        say(speed_report.table_text(results))
        say("  {} runs in {:.1f} s ({:.1f} s of CPU time)".format(
            len(depths) * len(table_seeds), timings["depth_table"],
            timings["depth_table_cpu"]))


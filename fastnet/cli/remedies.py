"""``fastnet remedies``: the remedies for unstable gradients, measured side by side.

Over a grid of hidden activation (sigmoid, tanh, ReLU) x initial weights
(network2's default, large, Glorot, He) it measures, with the functions of
``fastnet.remedies``: the initial learning speed of every hidden layer (mean
and spread over seeds, for depths up to 8 hidden layers), the speeds during
training, accuracy against depth, and the chapter's one-neuron chain under
vanishing and exploding weights.  It writes ``remedies.json`` (every number),
``report.md`` and, with matplotlib, PNG figures.  Ctrl-C writes the
measurements that finished, and the depth table's finished runs.
"""
import argparse
import os
import time

from fastnet.cli.common import (ETA, LMBDA, MAX_DEPTH, MINI_BATCH_SIZE, SPEED_MINI_BATCH_SIZE,
                                WIDTH, CtrlC, Failure, add_data_and_output, check_images,
                                check_seeds, choices, int_at_least, int_in, say_unless)
from fastnet.cli.outputs import output_folder, write_results

HELP = "measure the remedies for unstable gradients: activations x initialisations"

FULL = {"activations": ["sigmoid", "tanh", "relu"],
        "inits": ["default", "large", "glorot", "he"],
        "speed_depths": [2, 3, 4, 6, 8], "speed_seeds": 10, "speed_images": 1000,
        "train_depth": 4, "epochs": 500,
        "table_depths": [1, 2, 4, 6, 8], "table_seeds": 3, "table_epochs": 10,
        "table_images": 10000, "validation_images": 10000}
QUICK = {"activations": ["sigmoid", "tanh", "relu"], "inits": ["default", "glorot", "he"],
         "speed_depths": [2, 3], "speed_seeds": 2, "speed_images": 200,
         "train_depth": 2, "epochs": 5,
         "table_depths": [1, 2], "table_seeds": 1, "table_epochs": 1,
         "table_images": 500, "validation_images": 500}


def _names(allowed, what):
    def parse(text):
        names = [t.strip() for t in text.split(",") if t.strip()]
        bad = [n for n in names if n not in allowed]
        if bad or not names or len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(
                "expected distinct {} from {}, separated by commas, got {!r}".format(
                    what, ", ".join(allowed), text))
        return names
    return parse


def _depths(text):
    try:
        depths = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("expected depths like 1,2,4, got {!r}".format(text))
    if not depths or min(depths) < 1 or max(depths) > MAX_DEPTH or \
            len(set(depths)) != len(depths):
        raise argparse.ArgumentTypeError("depths must be distinct numbers of hidden layers "
                                         "from 1 to {}, got {!r}".format(MAX_DEPTH, text))
    return depths


def add_parser(subparsers):
    """Add ``remedies`` to argparse's subparsers; its default ``run`` runs it."""
    names = choices()
    p = subparsers.add_parser("remedies", help=HELP, description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("the grid and the experiments (defaults: minutes on 2 cores; "
                             "--quick: seconds)")
    g.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    g.add_argument("--activations", type=_names(names["activation"], "activations"),
                   help="hidden activations, e.g. sigmoid,relu (default: all three)")
    g.add_argument("--inits", type=_names(names["init"], "initialisations"),
                   help="initial weights, e.g. default,he (default: all four)")
    g.add_argument("--speed-depths", type=_depths, metavar="D,D,..",
                   help="hidden layers of the initial-speed networks (default: 2,3,4,6,8)")
    g.add_argument("--speed-seeds", type=int_at_least(2), metavar="N",
                   help="seeds per initial-speed measurement (default: 10)")
    g.add_argument("--epochs", type=int_at_least(0), metavar="N",
                   help="epochs of the speed-during-training runs (default: 500, the chapter's)")
    g.add_argument("--train-depth", type=int_in(1, MAX_DEPTH), metavar="N",
                   help="hidden layers of the speed-during-training runs, at most {} "
                        "(default: 4)".format(MAX_DEPTH))
    g.add_argument("--table-depths", type=_depths, metavar="D,D,..",
                   help="depths of the accuracy table (default: 1,2,4,6,8)")
    g.add_argument("--table-seeds", type=int_at_least(1), metavar="N",
                   help="seeds per depth-table entry (default: 3)")
    g.add_argument("--table-epochs", type=int_at_least(1), metavar="N",
                   help="epochs per depth-table run (default: 10)")
    g.add_argument("--table-images", type=int_at_least(1), metavar="N",
                   help="training images of the depth table (default: 10000)")
    g.add_argument("--no-table", action="store_true", help="skip the depth table")
    g.add_argument("--seed", type=int_at_least(0), default=0, metavar="S",
                   help="first seed (default: 0)")
    g.add_argument("--workers", type=int_at_least(1), metavar="N",
                   help="threads (default: 2, or 1 on a one-core machine)")
    add_data_and_output(p, "remedies-report", "remedies.json, report.md and the figures",
                        "print only the last line")
    p.set_defaults(run=run)
    return p


def _settings(args):
    s = dict(QUICK if args.quick else FULL)
    for key in ("activations", "inits", "speed_depths", "speed_seeds", "epochs", "train_depth",
                "table_depths", "table_seeds", "table_epochs", "table_images"):
        value = getattr(args, key, None)
        if value is not None:
            s[key] = value
    check_images("--table-images", s["table_images"])
    check_seeds(args.seed, max(s["speed_seeds"], s["table_seeds"]))
    s.update(seed=args.seed, quick=bool(args.quick), table=not args.no_table,
             plots=not args.no_plots, eta=ETA, lmbda=LMBDA, width=WIDTH,
             workers=args.workers or min(2, os.cpu_count() or 1),
             choices=[[a, i] for a in s["activations"] for i in s["inits"]])
    return s


def run(args):
    """Run the grid the parsed ``args`` ask for; write the outputs; return the exit code."""
    settings = _settings(args)
    out = output_folder(args.out, args.data)
    started = time.perf_counter()
    results = {"settings": settings, "timings": {}, "interrupted": False}
    with CtrlC("fastnet remedies") as ctrl_c:
        _experiments(args, settings, results, say_unless(args.quiet))
    results["interrupted"] = ctrl_c.interrupted
    results["timings"]["total"] = time.perf_counter() - started

    written = write_results(out, results, settings["plots"], "remedies.json", _report,
                            _figures)
    print("{}Wrote {} to {} in {:.1f} s".format("Interrupted. " if ctrl_c.interrupted else "",
                                                ", ".join(written), out,
                                                results["timings"]["total"]), flush=True)
    return ctrl_c.exit_code


def _experiments(args, settings, results, say):
    """Run the measurements in order, filling ``results`` as each one finishes."""
    import numpy as np

    from fastnet import datasets, remedies

    try:
        (X, y), (X_val, y_val), _ = datasets.load_mnist(args.data, dtype=np.float64,
                                                         progress=False)
    except (datasets.DataFormatError, datasets.DataNotFoundError) as e:
        raise Failure(str(e)) from None
    timings = results["timings"]
    choices = [tuple(c) for c in settings["choices"]]
    seed = settings["seed"]

    t = time.perf_counter()
    results["chain"] = {kind: remedies.chain(kind, seed=seed)
                        for kind in ("vanishing", "exploding")}
    for kind in ("vanishing", "exploding"):
        say(remedies.chain_text(results["chain"][kind]))
    timings["chain"] = time.perf_counter() - t

    speed_data = (X[:settings["speed_images"]], y[:settings["speed_images"]])
    t = time.perf_counter()
    say("Initial learning speeds: {} choices x depths {} x {} seeds".format(
        len(choices), settings["speed_depths"], settings["speed_seeds"]))
    results["initial_speeds"] = remedies.initial_speeds(
        speed_data, choices, settings["speed_depths"],
        range(seed, seed + settings["speed_seeds"]), WIDTH)
    timings["initial_speeds"] = time.perf_counter() - t
    say(_bands_text(results["initial_speeds"]))

    t = time.perf_counter()
    say("Speeds during training: {} hidden layers, {} epochs, each choice".format(
        settings["train_depth"], settings["epochs"]))
    results["training_speeds"] = remedies.training_speeds(
        speed_data, choices, settings["train_depth"], seed, settings["epochs"],
        min(SPEED_MINI_BATCH_SIZE, settings["speed_images"]), ETA, LMBDA, WIDTH,
        settings["workers"])
    timings["training_speeds"] = time.perf_counter() - t

    if settings["table"]:
        t = time.perf_counter()
        say("Accuracy against depth: depths {}, {} seed(s), {} epoch(s) on {} images".format(
            settings["table_depths"], settings["table_seeds"], settings["table_epochs"],
            settings["table_images"]))
        n_val = settings["validation_images"]
        # The runs finished so far, written if Ctrl-C stops the table; the table replaces them.
        finished = results["depth_table_runs"] = []
        table = remedies.depth_table(
            (X[:settings["table_images"]], y[:settings["table_images"]]),
            (X_val[:n_val], y_val[:n_val]), choices, settings["table_depths"],
            range(seed, seed + settings["table_seeds"]), settings["table_epochs"],
            MINI_BATCH_SIZE, ETA, LMBDA, WIDTH, settings["workers"], on_run=finished.append)
        del results["depth_table_runs"]
        results["depth_table"] = table
        timings["depth_table"] = time.perf_counter() - t
        say(_table_text(results["depth_table"]))


# ---------------------------------------------------------------------------
# Text

def _bands_text(initial):
    """How far the first hidden layer is behind the last, per choice and depth."""
    depths = list(next(iter(initial.values())))
    lines = ["last / first hidden layer's initial speed, mean ± std over seeds [min, max]:",
             "| choice | " + " | ".join("{} hidden".format(d) for d in depths) + " |",
             "|---|" + "---:|" * len(depths)]
    for name, per_depth in initial.items():
        cells = []
        for d in depths:
            r = per_depth[d]["ratio"]
            cells.append("{} ± {} [{}, {}]".format(_g(r["mean"]), _g(r["std"]), _g(r["min"]),
                                                  _g(r["max"])))
        lines.append("| {} | {} |".format(name, " | ".join(cells)))
    return "\n".join(lines)


def _headline(initial):
    """Sentences comparing the remedies' bands with network2's sigmoid at each depth."""
    base = initial.get("sigmoid/default")
    lines = ["A ratio far above 1: the first hidden layer learns far more slowly than the last "
             "(vanishing gradient); below 1: faster (exploding)."]
    if base is None:
        return lines
    for name in ("relu/he", "tanh/glorot"):
        if name not in initial:
            continue
        parts = []
        for d, r in initial[name].items():
            b = base[d]["ratio"]
            parts.append("{} hidden: {} ± {} against {} ± {} (geometric means {} vs {})".format(
                d, _g(r["ratio"]["mean"]), _g(r["ratio"]["std"]), _g(b["mean"]), _g(b["std"]),
                _g(r["ratio"]["geomean"]), _g(b["geomean"])))
        lines.append("- **{}** against sigmoid/default, last / first: {}.".format(
            name, "; ".join(parts)))
    return lines


def _table_text(table):
    depths = list(next(iter(table.values())))
    lines = ["validation accuracy (%), mean ± std over seeds:",
             "| choice | " + " | ".join("{} hidden".format(d) for d in depths) + " |",
             "|---|" + "---:|" * len(depths)]
    for name, rows in table.items():
        cells = ["{:.2f} ± {:.2f}{}".format(rows[d]["mean"], rows[d]["std"],
                                             "" if all(rows[d]["finite"]) else " (diverged)")
                 for d in depths]
        lines.append("| {} | {} |".format(name, " | ".join(cells)))
    return "\n".join(lines)


def _g(x):
    return "–" if x is None else "{:.3g}".format(x)


def _report(results):
    """The Markdown report of every measurement that finished."""
    from fastnet.remedies import chain_text

    s = results["settings"]
    lines = ["# Remedies for unstable gradients, measured", "",
             "Generated by `fastnet remedies`{} on {}. Every network has a sigmoid output "
             "layer and the cross-entropy cost (the chapter's); the hidden layers' activation "
             "and the initial weights change. *default* is network2's N(0, 1/n_in) weights "
             "with N(0, 1) biases, *large* N(0, 1) for both, *glorot* N(0, 2/(n_in+n_out)) "
             "and *he* N(0, 2/n_in) with zero biases.".format(
                 " --quick" if s["quick"] else "", results["created"]), ""]
    if results.get("interrupted"):
        lines += ["**Interrupted: only the measurements that finished are below.**", ""]
    if "chain" in results:
        lines += ["## The chain [1, 1, 1, 1, 1]", "",
                  "Each layer's dC/db from the kernel's backprop and from the chapter's product "
                  "σ'(z_j)·w_{j+1}σ'(z_{j+1})···w_4σ'(z_4)·∂C/∂a_4 (quadratic cost, x = 1, "
                  "y = 0).", ""]
        for kind in ("vanishing", "exploding"):
            lines += ["```", chain_text(results["chain"][kind]), "```", ""]
        lines += ["With w = 100 and b_j = -100·a_{j-1}, every z_j = 0 and σ'(0) = 1/4, so "
                  "each step back multiplies dC/db by 100/4 = 25: dC/db_1 = 0.125·25³ = "
                  "1953.125.", ""]
    if "initial_speeds" in results:
        initial = results["initial_speeds"]
        lines += ["## Initial learning speeds", "",
                  "The chapter's speed ||δ^l|| of each hidden layer, averaged over the first {} "
                  "training images, for fresh networks of {} seeds. The band is how far apart "
                  "the first and last hidden layers are: last / first (1 = every layer learns "
                  "equally fast; network2's sigmoid falls behind with depth).".format(
                      s["speed_images"], s["speed_seeds"]), "",
                  _bands_text(initial), ""] + _headline(initial) + [
                  "", "Speeds per layer (mean ± std), first hidden layer first:", ""]
        deepest = max(s["speed_depths"])
        for name, per_depth in initial.items():
            r = per_depth[deepest]
            lines.append("- {} ({} hidden): {}".format(name, deepest, ", ".join(
                "{} ± {}".format(_g(m), _g(d)) for m, d in zip(r["mean"], r["std"]))))
        lines.append("")
    if "training_speeds" in results:
        lines += ["## Speeds during training", "",
                  "{} hidden layers, {} epochs of mini-batch {} on the same images (eta {}, "
                  "lmbda {}), seed {}: speed of each hidden layer at the start and the end."
                  .format(s["train_depth"], s["epochs"],
                          min(SPEED_MINI_BATCH_SIZE, s["speed_images"]), ETA, LMBDA, s["seed"]),
                  "", "| choice | before training | after the last epoch | finite |",
                  "|---|---|---|---|"]
        for name, r in results["training_speeds"].items():
            speeds = r["speeds"]
            lines.append("| {} | {} | {} | {} |".format(
                name, ", ".join(_g(v) for v in speeds[0]), ", ".join(_g(v) for v in speeds[-1]),
                "yes" if r["finite"] else "no"))
        lines.append("")
    if "depth_table" in results or results.get("depth_table_runs"):
        lines += ["## Accuracy against depth", "",
                  "{} epoch(s) of mini-batch {} (eta {}, lmbda {}) on the first {} training "
                  "images, scored on {} validation images.".format(
                      s["table_epochs"], MINI_BATCH_SIZE, ETA, LMBDA, s["table_images"],
                      s["validation_images"]),
                  "A short run: it favours the networks that start learning soonest. Deep "
                  "networks whose early layers start slowly may still be near chance here and "
                  "catch up later (the chapter's sigmoid networks reach about 96.5% with 4 "
                  "hidden layers after 30 epochs on 50,000 images). 0% marks runs whose weights "
                  "stopped being finite.", ""]
        if "depth_table" in results:
            lines.append(_table_text(results["depth_table"]))
        else:
            lines += ["The runs that finished before the table was stopped:", "",
                      "| choice | hidden layers | seed | accuracy |", "|---|---:|---:|---:|"]
            lines += ["| {} | {} | {} | {:.2f}{} |".format(
                r["choice"], r["depth"], r["seed"], r["accuracy"],
                "" if r["finite"] else " (diverged)") for r in results["depth_table_runs"]]
        lines.append("")
    lines += ["## Timings (s)", ""] + ["- {}: {:.1f}".format(k, v)
                                       for k, v in results["timings"].items()]
    if results.get("figures"):
        lines += ["", "## Figures", ""] + ["![{0}]({0})".format(f) for f in results["figures"]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Figures

def _figures(results):
    """Yield ``(file name, matplotlib Figure)`` for every measurement that finished."""
    import numpy as np
    from matplotlib.figure import Figure

    if "chain" in results:
        fig = Figure(figsize=(10, 4))
        for k, kind in enumerate(("vanishing", "exploding")):
            ax = fig.add_subplot(1, 2, k + 1)
            c = results["chain"][kind]
            layers = np.arange(1, len(c["dC_db"]) + 1)
            ax.semilogy(layers, np.abs(c["dC_db"]), "o-", label="|dC/db| (kernel)")
            ax.semilogy(layers, np.abs(c["dC_db_formula"]), "x--", label="chapter's product")
            ax.set_xticks(layers)
            ax.set_xlabel("layer")
            ax.set_title("{} chain [1,1,1,1,1]".format(kind))
            ax.legend()
        yield "chain.png", fig

    # The choices' names, as remedies.choice_name writes them.
    names = ["{}/{}".format(*c) for c in results["settings"]["choices"]]
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    if "initial_speeds" in results:
        initial = results["initial_speeds"]
        fig = Figure(figsize=(3.2 * cols, 2.8 * rows))
        for k, name in enumerate(names):
            ax = fig.add_subplot(rows, cols, k + 1)
            for depth, r in initial[name].items():
                layers = np.arange(1, len(r["mean"]) + 1)
                ax.errorbar(layers, r["mean"], yerr=r["std"], marker="o", label=str(depth))
            ax.set_yscale("log")
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("hidden layer", fontsize=8)
        fig.axes[0].legend(title="hidden layers", fontsize=7)
        fig.tight_layout()
        yield "initial_speeds.png", fig

    if "training_speeds" in results:
        training = results["training_speeds"]
        fig = Figure(figsize=(3.2 * cols, 2.8 * rows))
        for k, name in enumerate(names):
            ax = fig.add_subplot(rows, cols, k + 1)
            speeds = np.asarray(training[name]["speeds"])
            for l in range(speeds.shape[1]):
                ax.plot(np.arange(len(speeds)), speeds[:, l], label="layer {}".format(l + 1))
            ax.set_yscale("log")
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("epoch", fontsize=8)
        fig.axes[0].legend(fontsize=7)
        fig.tight_layout()
        yield "training_speeds.png", fig

    if "depth_table" in results:
        fig = Figure(figsize=(7, 4.5))
        ax = fig.add_subplot(1, 1, 1)
        for name, rows_ in results["depth_table"].items():
            depths = list(rows_)
            ax.errorbar(depths, [rows_[d]["mean"] for d in depths],
                        yerr=[rows_[d]["std"] for d in depths], marker="o", label=name)
        ax.set_xlabel("hidden layers")
        ax.set_ylabel("validation accuracy (%)")
        ax.legend(fontsize=7)
        yield "depth_accuracy.png", fig

"""What ``fastnet speed`` writes and prints: its results as JSON, as text lines,
as a Markdown report and as matplotlib figures."""

NEURONS_SHOWN = 6           # the per-neuron view: the first neurons of each hidden layer


# ---------------------------------------------------------------------------
# Results as JSON and text

def book_json(book):
    return {"initial_speeds": {str(d): v for d, v in book["initial_speeds"].items()},
            "depth_accuracy": {str(d): v for d, v in book["depth_accuracy"].items()}}


def initial_json(initial, comparison):
    out = {}
    for d, s in initial.items():
        entry = dict(s)
        entry["book"] = comparison.get(d)
        out[str(d)] = entry
    return out


def _fmt(x):
    return "{:.3g}".format(x)


def initial_text(initial):
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


def training_text(results):
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


def table_text(results):
    book = results["book"]["depth_accuracy"]
    lines = ["  hidden layers | validation accuracy, mean +- std over seeds [book]"]
    for d, row in results["depth_table"].items():
        lines.append("  {:>13} | {:.2f}% +- {:.2f}{}".format(
            d, row["mean"], row["std"], " [{}%]".format(book[d]) if d in book else ""))
    return "\n".join(lines)


def report(results):
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


def figures(results):
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

